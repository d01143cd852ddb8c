"""EcsInventoryReader fed real and AWS-documented ECS responses (tests/fixtures/aws_responses) via botocore's Stubber.

moto never produces these shapes. Where no whole response was found, a test composes one from the
recorded or documented pieces and says exactly what it changed and why; nothing else is altered.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from modeshift.adapters.ecs import EcsInventoryReader
from modeshift.domain.models import CapacityProviderStrategyItem, LaunchMode
from tests.fixtures.recorded import answer as _answer
from tests.fixtures.recorded import response as _response

REGION = "us-east-1"

# Cluster answer for tests where the cluster is not the subject: compose-x's recording (FARGATE_SPOT weight 2 +
# FARGATE weight 1, no Auto Scaling group provider, so the reader makes no DescribeCapacityProviders call).
FARGATE_CLUSTER = "DescribeClusters-composex-default-capacity-provider-strategy.json"
# awscli describe-clusters.rst Example 2: an Auto Scaling group provider and an empty default strategy.
ASG_CLUSTER_NO_DEFAULT = "DescribeClusters-awscli-attachments-empty-strategy.json"
# A real ECS Anywhere managed-instance id, from the AWS CLI output quoted in traefik/traefik#8839.
MANAGED_INSTANCE_ID = "mi-08593f2320b5826a3"


def _identity_only_task_definition(arn: str) -> dict[str, Any]:
    """A DescribeTaskDefinition answer for a definition the fixture library does not hold: only the identity
    the ARN already states (family, revision), so none of the definition's facts are invented."""
    family, _, revision = arn.rsplit("/", 1)[-1].partition(":")
    return {"taskDefinition": {"taskDefinitionArn": arn, "family": family, "revision": int(revision)}}


@pytest.fixture
def clients() -> Iterator[tuple[Any, Any, Stubber, Stubber]]:
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    ecs = boto3.client("ecs", region_name=REGION, **credentials)
    ec2 = boto3.client("ec2", region_name=REGION, **credentials)
    with Stubber(ecs) as ecs_stub, Stubber(ec2) as ec2_stub:
        yield ecs, ec2, ecs_stub, ec2_stub
        # Every queued answer was asked for: the reader made exactly the calls the test expects.
        ecs_stub.assert_no_pending_responses()
        ec2_stub.assert_no_pending_responses()


def _queue_cluster_read(
    clients: tuple[Any, Any, Stubber, Stubber],
    *,
    cluster: dict[str, Any],
    container_instances: dict[str, Any] | None = None,
    ec2_instance_ids: Sequence[str] = (),
    services: dict[str, Any] | None = None,
    service_task_definitions: Sequence[tuple[str, dict[str, Any]]] = (),
    tasks: dict[str, Any] | None = None,
    standalone_task_definitions: Sequence[tuple[str, dict[str, Any]]] = (),
    capacity_providers: tuple[list[str], dict[str, Any] | str] | None = None,
) -> str:
    """Queue the answers one read_cluster gets, in the order ecs.py asks; returns the cluster name to read.

    The List* answers are not fixtures: they list exactly the ARNs of the described items, which is all
    ListContainerInstances/ListServices/ListTasks return. EC2 is asked about `ec2_instance_ids` (checked)
    and answers with no reservations (what the `instance-id` filter returns for instances long terminated);
    EC2's view is not under test here. Task-definition answers are (reference asked for, answer).
    """
    ecs, ec2, ecs_stub, ec2_stub = clients
    name = cluster["clusters"][0]["clusterName"]
    _answer(
        ecs_stub, ecs, "describe_clusters", cluster, {"clusters": [name], "include": ["SETTINGS", "CONFIGURATIONS"]}
    )

    described = (container_instances or {}).get("containerInstances", [])
    arns = [instance["containerInstanceArn"] for instance in described]
    _answer(ecs_stub, ecs, "list_container_instances", {"containerInstanceArns": arns}, {"cluster": name})
    if arns:
        assert container_instances is not None
        params = {"cluster": name, "containerInstances": arns}
        _answer(ecs_stub, ecs, "describe_container_instances", container_instances, params)
    if ec2_instance_ids:
        params = {"Filters": [{"Name": "instance-id", "Values": sorted(ec2_instance_ids)}]}
        _answer(ec2_stub, ec2, "describe_instances", {"Reservations": []}, params)

    service_arns = [service["serviceArn"] for service in (services or {}).get("services", [])]
    _answer(ecs_stub, ecs, "list_services", {"serviceArns": service_arns}, {"cluster": name})
    if service_arns:
        assert services is not None
        params = {"cluster": name, "services": service_arns, "include": ["TAGS"]}
        _answer(ecs_stub, ecs, "describe_services", services, params)
    for reference, answer in service_task_definitions:
        _answer(ecs_stub, ecs, "describe_task_definition", answer, {"taskDefinition": reference})

    task_arns = [task["taskArn"] for task in (tasks or {}).get("tasks", [])]
    _answer(ecs_stub, ecs, "list_tasks", {"taskArns": task_arns}, {"cluster": name, "desiredStatus": "RUNNING"})
    if task_arns:
        assert tasks is not None
        _answer(ecs_stub, ecs, "describe_tasks", tasks, {"cluster": name, "tasks": task_arns})
    for reference, answer in standalone_task_definitions:
        _answer(ecs_stub, ecs, "describe_task_definition", answer, {"taskDefinition": reference})

    if capacity_providers is not None:
        names, providers = capacity_providers
        if isinstance(providers, str):
            ecs_stub.add_client_error(
                "describe_capacity_providers",
                service_error_code=providers,
                service_message="not allowed",
                expected_params={"capacityProviders": names},
            )
        else:
            _answer(ecs_stub, ecs, "describe_capacity_providers", providers, {"capacityProviders": names})
    return str(name)


# --------------------------------------------------------------------------- container instances


def test_container_instance_remaining_resources_are_unknown_when_response_omits_remaining_resources(clients):
    """Recorded: cloud-custodian tests/data/placebo/test_ecs_container_instance_subnet/
    ecs.DescribeContainerInstances_1.json (two EC2 instances with registeredResources, no remainingResources key)."""
    ecs, ec2, _, _ = clients
    name = _queue_cluster_read(
        clients,
        cluster=_response(FARGATE_CLUSTER),
        container_instances=_response("DescribeContainerInstances-c7n-no-remaining-resources.json"),
        ec2_instance_ids=["i-0e4f5b592f9181b24", "i-03a799cab1c1a3dff"],
    )

    instances = EcsInventoryReader(ecs, ec2).read_cluster(name).container_instances

    assert [(i.remaining_cpu_units, i.remaining_memory_mib) for i in instances] == [(None, None), (None, None)]
    assert [(i.registered_cpu_units, i.registered_memory_mib) for i in instances] == [(1024, 982), (1024, 982)]


def test_container_instance_remaining_resources_are_read_when_response_reports_them(clients):
    """Documented: botocore examples-1.json ECS DescribeContainerInstances (remaining 1948 CPU / 3668 MiB of
    2048 / 3768 registered, so remaining cannot be mistaken for registered)."""
    ecs, ec2, _, _ = clients
    name = _queue_cluster_read(
        clients,
        cluster=_response(FARGATE_CLUSTER),
        container_instances=_response("DescribeContainerInstances-botocore-example.json"),
        ec2_instance_ids=["i-807f3249"],
    )

    (instance,) = EcsInventoryReader(ecs, ec2).read_cluster(name).container_instances

    assert (instance.remaining_cpu_units, instance.remaining_memory_mib) == (1948, 3668)
    assert (instance.registered_cpu_units, instance.registered_memory_mib) == (2048, 3768)


def test_container_instance_is_external_and_not_sent_to_ec2_when_its_id_is_a_managed_instance(clients):
    """COMPOSED (no DescribeContainerInstances body with an `mi-` id was found): the documented instance of
    botocore examples-1.json (i-807f3249) beside the documented instance of awscli describe-container-instances.rst
    with only its ec2InstanceId replaced by mi-08593f2320b5826a3, a real ECS Anywhere id quoted in
    traefik/traefik#8839 (where `ec2 describe-instances` rejects it as InvalidInstanceID.Malformed). The service
    model's ContainerInstance.ec2InstanceId says: "For external instances, this value is the Amazon Web Services
    Systems Manager managed instance ID". EC2 must be asked about the i- instance only (checked by the stub)."""
    ecs, ec2, _, _ = clients
    documented = _response("DescribeContainerInstances-botocore-example.json")
    anywhere = _response("DescribeContainerInstances-awscli-example.json")["containerInstances"][0]
    anywhere["ec2InstanceId"] = MANAGED_INSTANCE_ID
    documented["containerInstances"].append(anywhere)
    name = _queue_cluster_read(
        clients, cluster=_response(FARGATE_CLUSTER), container_instances=documented, ec2_instance_ids=["i-807f3249"]
    )

    instances = EcsInventoryReader(ecs, ec2).read_cluster(name).container_instances

    by_id = {instance.ec2_instance_id: instance for instance in instances}
    assert by_id[MANAGED_INSTANCE_ID].external is True
    assert by_id[MANAGED_INSTANCE_ID].instance_type is None
    assert by_id["i-807f3249"].external is False


# --------------------------------------------------------------------------- task definitions and standalone tasks


def test_standalone_family_mode_is_ec2_when_compatibilities_exclude_fargate_and_nothing_runs(clients):
    """Recorded: cloud-custodian tests/data/placebo/test_ecs_task_def_tags/ecs.DescribeTaskDefinition_1.json
    (networkMode host, compatibilities ["EC2"], no requiresCompatibilities). The cluster is compose-x's
    Fargate-only recording with no container instances, where a definition that says nothing would be read as
    Fargate: ECS's own `compatibilities` verdict must win."""
    ecs, ec2, _, _ = clients
    name = _queue_cluster_read(
        clients,
        cluster=_response(FARGATE_CLUSTER),
        standalone_task_definitions=[("c7n", _response("DescribeTaskDefinition-c7n-host-network-ec2-only.json"))],
    )

    (family,) = EcsInventoryReader(ecs, ec2).read_cluster(name, extra_families=["c7n"]).standalone_families

    assert family.family == "c7n"
    assert family.current_mode is LaunchMode.EC2
    assert family.task_definition.compatibilities == ("EC2",)
    assert family.task_definition.requires_compatibilities == ()
    assert family.task_definition.network_mode == "host"


def test_running_task_is_not_a_standalone_family_when_started_by_service_without_group(clients):
    """Documented: botocore examples-1.json ECS DescribeTasks (startedBy "ecs-svc/9223370608528463088", no `group`).
    No DescribeTaskDefinition is queued: a read that took amazon-ecs-sample for a standalone family would ask for it
    and fail on the unstubbed call."""
    ecs, ec2, _, _ = clients
    name = _queue_cluster_read(
        clients, cluster=_response(FARGATE_CLUSTER), tasks=_response("DescribeTasks-botocore-no-group.json")
    )

    inventory = EcsInventoryReader(ecs, ec2).read_cluster(name)

    assert inventory.standalone_families == ()


def test_standalone_family_mode_is_external_when_its_task_runs_with_launch_type_external(clients):
    """Recorded: 094459/blog orchestrating-hybrid-workflows-with-apache-airflow.md, `aws ecs run-task --launch-type
    EXTERNAL` output (launchType EXTERNAL, group family:apache-airflow, lastStatus PENDING). RunTask's answer is used
    as DescribeTasks' answer: both are {tasks: [Task], failures} over the same Task shape. The library holds no
    apache-airflow definition, so DescribeTaskDefinition answers with its identity only."""
    ecs, ec2, _, _ = clients
    name = _queue_cluster_read(
        clients,
        cluster=_response(FARGATE_CLUSTER),
        tasks=_response("RunTask-blog-launchtype-external.json"),
        standalone_task_definitions=[
            (
                "apache-airflow",
                _identity_only_task_definition("arn:aws:ecs:eu-west-2:704533066374:task-definition/apache-airflow:6"),
            )
        ],
    )

    (family,) = EcsInventoryReader(ecs, ec2).read_cluster(name).standalone_families

    assert family.family == "apache-airflow"
    assert family.current_mode is LaunchMode.EXTERNAL
    assert family.running_count == 0  # its one task is still PENDING


# --------------------------------------------------------------------------- services


def _c7n_strategy_service(strategy: list[dict[str, Any]] | None, desired: int | None = None) -> dict[str, Any]:
    """The recorded cloud-custodian DescribeServices (test_ecs_service_update_definition: capacityProviderStrategy
    [FARGATE weight 100 base 0], no launchType) with its strategy replaced (or removed, for None) on the service
    and its PRIMARY deployment, where AWS reports it; with `desired`, desiredCount and runningCount of both are set
    to it, a steady state."""
    response = _response("DescribeServices-c7n-capacity-provider-strategy-no-launchtype.json")
    service = response["services"][0]
    for holder in (service, service["deployments"][0]):
        if strategy is None:
            del holder["capacityProviderStrategy"]
        else:
            holder["capacityProviderStrategy"] = strategy
        if desired is not None:
            holder["desiredCount"] = holder["runningCount"] = desired
    return response


C7N_SERVICE_TASK_DEFINITION = "arn:aws:ecs:us-east-2:644160558196:task-definition/dev-redash-server:75"


@pytest.mark.parametrize(
    ("desired", "mix", "mode"),
    [
        # 2 on FARGATE by base, the other 4 split 1:3 -> 1 FARGATE + 3 FARGATE_SPOT; a 3/3 tie reads as on-demand.
        (6, {LaunchMode.FARGATE: 3, LaunchMode.FARGATE_SPOT: 3}, LaunchMode.FARGATE),
        # 2 by base, 8 split 1:3 -> 2 + 6: most tasks are on Spot.
        (10, {LaunchMode.FARGATE: 4, LaunchMode.FARGATE_SPOT: 6}, LaunchMode.FARGATE_SPOT),
        # The base holds every task: one mode, so no mix beside current_mode.
        (2, {}, LaunchMode.FARGATE),
    ],
)
def test_service_mix_places_base_first_then_weight_when_strategy_has_nonzero_base(clients, desired, mix, mode):
    """COMPOSED (every recorded or documented service response has base 0; non-zero bases appear only in requests):
    the recorded cloud-custodian service (DescribeServices-c7n-capacity-provider-strategy-no-launchtype.json) with
    its strategy replaced by FARGATE base 2 weight 1 + FARGATE_SPOT weight 3 and its desired count set. That strategy
    is the shape of AWS's EC2 Spot Workshops ECS capacity-provider module (base=2, weight=1 on-demand, weight=3
    Spot: "ECS first places 2 tasks ... then splits the remaining tasks ... in 1:3 ratio"), on Fargate's providers;
    the placement rule is the service model's CapacityProviderStrategyItem ("Base satisfaction" then "Weight
    distribution"). The recorded service's task definition is not in the library: answered with its identity only."""
    ecs, ec2, _, _ = clients
    strategy = [
        {"capacityProvider": "FARGATE", "weight": 1, "base": 2},
        {"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0},
    ]
    name = _queue_cluster_read(
        clients,
        cluster=_response(FARGATE_CLUSTER),
        services=_c7n_strategy_service(strategy, desired),
        service_task_definitions=[
            (C7N_SERVICE_TASK_DEFINITION, _identity_only_task_definition(C7N_SERVICE_TASK_DEFINITION))
        ],
    )

    (service,) = EcsInventoryReader(ecs, ec2).read_cluster(name).services

    assert service.current_mix == mix
    assert service.current_mode is mode
    assert service.launch_type is None
    assert service.capacity_provider_strategy == (
        CapacityProviderStrategyItem(capacity_provider="FARGATE", weight=1, base=2),
        CapacityProviderStrategyItem(capacity_provider="FARGATE_SPOT", weight=3, base=0),
    )


EXTERNAL_TASK_SET_DEFINITION = "arn:aws:ecs:us-west-2:123456789012:task-definition/sample-fargate:2"


@pytest.mark.parametrize(
    ("task_set_fixture", "extract"),
    [
        # Realistic: a task set created but not yet made primary. The ECS developer guide (Deploy Amazon ECS
        # services using a third-party controller) says DescribeServices "returns all fields specified for a
        # primary task set" and, with no primary task set, leaves the task set fields off the service.
        ("DescribeTaskSets-awscli-example.json", lambda response: response["taskSets"][0]),
        # Defensive: the same task set after update-service-primary-task-set, status PRIMARY. Per the guide AWS
        # would then also copy its taskDefinition onto the service; the reader must not depend on that.
        ("UpdateServicePrimaryTaskSet-awscli-primary-taskset.json", lambda response: response["taskSet"]),
    ],
    ids=["active-task-set", "primary-task-set"],
)
def test_service_task_definition_comes_from_task_set_when_external_controller_service_names_none(
    clients, task_set_fixture, extract
):
    """COMPOSED (no DescribeServices body whose task definition is only on a task set was found): the documented
    EXTERNAL-controller service of awscli create-service.rst Example 3 (no service-level taskDefinition, taskSets [])
    with the documented task set of awscli describe-task-sets.rst (ACTIVE) or update-service-primary-task-set.rst
    (PRIMARY) placed in its taskSets, as DescribeServices returns task sets for such services (service model,
    Service.taskSets: "Information about a set of Amazon ECS tasks in either an CodeDeploy or an EXTERNAL
    deployment"). The stub checks that DescribeTaskDefinition is asked for the task set's definition; the library
    holds no sample-fargate definition, so it answers with its identity only."""
    ecs, ec2, _, _ = clients
    service = _response("CreateService-awscli-external-deployment-controller.json")["service"]
    service["taskSets"] = [extract(_response(task_set_fixture))]
    name = _queue_cluster_read(
        clients,
        cluster=_response(FARGATE_CLUSTER),
        services={"services": [service], "failures": []},
        service_task_definitions=[
            (EXTERNAL_TASK_SET_DEFINITION, _identity_only_task_definition(EXTERNAL_TASK_SET_DEFINITION))
        ],
    )
    reader = EcsInventoryReader(ecs, ec2)

    (read,) = reader.read_cluster(name).services

    assert read.deployment_controller == "EXTERNAL"
    assert (read.task_definition.arn, read.task_definition.family) == (EXTERNAL_TASK_SET_DEFINITION, "sample-fargate")
    assert read.current_mode is LaunchMode.EC2
    assert reader.warnings == []


def test_service_launch_settings_come_from_primary_task_set_when_code_deploy_service_omits_them(clients):
    """COMPOSED: the recorded CODE_DEPLOY service of cloud-custodian test_ecs_service_taskset_delete
    (DescribeServices-c7n-code-deploy-primary-taskset.json), whose PRIMARY task set carries launchType FARGATE,
    platformVersion 1.4.0 and the task definition, with the copies AWS put on the service itself removed
    (taskDefinition, launchType, platformVersion, platformFamily): the "only on the PRIMARY task set" shape the
    fixture README lists as not found. In compose-x's cluster the default strategy would put the service on
    FARGATE_SPOT; the task set says FARGATE. The definition is answered with its identity only."""
    ecs, ec2, _, _ = clients
    response = _response("DescribeServices-c7n-code-deploy-primary-taskset.json")
    for key in ("taskDefinition", "launchType", "platformVersion", "platformFamily"):
        del response["services"][0][key]
    definition = "arn:aws:ecs:us-east-1:644160558196:task-definition/c7n-test-task-def:2"
    name = _queue_cluster_read(
        clients,
        cluster=_response(FARGATE_CLUSTER),
        services=response,
        service_task_definitions=[(definition, _identity_only_task_definition(definition))],
    )

    (service,) = EcsInventoryReader(ecs, ec2).read_cluster(name).services

    assert service.deployment_controller == "CODE_DEPLOY"
    assert service.task_definition.arn == definition
    assert (service.current_mode, service.launch_type) == (LaunchMode.FARGATE, "FARGATE")
    assert service.platform_version == "1.4.0"
    assert service.load_balanced is True


def test_service_mode_is_external_when_launch_type_external(clients):
    """COMPOSED (the only service response with launchType EXTERNAL found, 094459/blog's UpdateService, was cut
    short with `...` by its author): the recorded CLI-transcript service (DescribeServices-cli-transcript-daemon.json,
    provenance incomplete, see the fixtures README) with launchType "EC2" replaced by "EXTERNAL" on the service and
    its PRIMARY deployment; nothing else. Its DAEMON strategy stays: ECS Anywhere services can be daemons (the AWS
    CDK ExternalService construct takes `daemon: true`). Its definition is answered with its identity only."""
    ecs, ec2, _, _ = clients
    response = _response("DescribeServices-cli-transcript-daemon.json")
    service = response["services"][0]
    service["launchType"] = service["deployments"][0]["launchType"] = "EXTERNAL"
    definition = service["taskDefinition"]
    name = _queue_cluster_read(
        clients,
        cluster=_response(FARGATE_CLUSTER),
        services=response,
        service_task_definitions=[(definition, _identity_only_task_definition(definition))],
    )

    (read,) = EcsInventoryReader(ecs, ec2).read_cluster(name).services

    assert read.current_mode is LaunchMode.EXTERNAL
    assert read.launch_type == "EXTERNAL"


def test_service_is_daemon_when_scheduling_strategy_daemon(clients):
    """Recorded: an `aws ecs describe-services` transcript (DescribeServices-cli-transcript-daemon.json; public
    GitHub text file, repository not identified, see the fixtures README): EC2 service with schedulingStrategy
    DAEMON. Its definition is not in the library: answered with its identity only."""
    ecs, ec2, _, _ = clients
    response = _response("DescribeServices-cli-transcript-daemon.json")
    definition = response["services"][0]["taskDefinition"]
    name = _queue_cluster_read(
        clients,
        cluster=_response(FARGATE_CLUSTER),
        services=response,
        service_task_definitions=[(definition, _identity_only_task_definition(definition))],
    )

    (service,) = EcsInventoryReader(ecs, ec2).read_cluster(name).services

    assert service.scheduling_strategy == "DAEMON"
    assert service.daemon is True
    assert service.current_mode is LaunchMode.EC2


@pytest.mark.parametrize(
    ("cluster_fixture", "capacity_providers", "mode"),
    [
        # compose-x's recording: default FARGATE_SPOT weight 2 + FARGATE weight 1; one task lands on Spot.
        (FARGATE_CLUSTER, None, LaunchMode.FARGATE_SPOT),
        # awscli describe-clusters.rst Example 2: an empty default strategy, so ECS uses the EC2 launch type. Its
        # Auto Scaling group provider makes the reader ask DescribeCapacityProviders; answered with awscli
        # describe-capacity-providers.rst Example 1 (it names MyCapacityProvider, not sampleCapacityProvider: the
        # reader reads every provider in the answer and the target capacity is not under test here).
        (
            ASG_CLUSTER_NO_DEFAULT,
            (["sampleCapacityProvider"], "DescribeCapacityProviders-awscli-managed-scaling.json"),
            LaunchMode.EC2,
        ),
    ],
    ids=["cluster-default-strategy", "no-default-strategy"],
)
def test_service_mode_comes_from_cluster_default_strategy_else_ec2_when_service_names_neither(
    clients, cluster_fixture, capacity_providers, mode
):
    """COMPOSED: the recorded cloud-custodian service (DescribeServices-c7n-capacity-provider-strategy-no-launchtype
    .json) with its capacityProviderStrategy removed, so it names neither a launch type nor a strategy. Real AWS
    reports one of the two (service model: Service.launchType is omitted only for a service created with a
    strategy, and Service.capacityProviderStrategy only for one created with a launch type); local AWS emulators
    do not. The developer guide's rule (cluster-capacity-providers.md): the cluster's default capacity provider
    strategy is used whenever neither is specified."""
    ecs, ec2, _, _ = clients
    providers = None
    if capacity_providers is not None:
        names, fixture = capacity_providers
        providers = (names, _response(fixture))
    name = _queue_cluster_read(
        clients,
        cluster=_response(cluster_fixture),
        services=_c7n_strategy_service(None),
        service_task_definitions=[
            (C7N_SERVICE_TASK_DEFINITION, _identity_only_task_definition(C7N_SERVICE_TASK_DEFINITION))
        ],
        capacity_providers=providers,
    )

    (service,) = EcsInventoryReader(ecs, ec2).read_cluster(name).services

    assert service.launch_type is None
    assert service.capacity_provider_strategy == ()
    assert service.current_mode is mode


# --------------------------------------------------------------------------- capacity providers


def test_cluster_target_capacity_is_managed_scaling_target_when_provider_scales_managed(clients):
    """Documented: awscli describe-clusters.rst Example 2 (cluster with provider sampleCapacityProvider) and awscli
    describe-capacity-providers.rst Example 1 (MyCapacityProvider: managedScaling ENABLED, targetCapacity 100;
    FARGATE and FARGATE_SPOT without autoScalingGroupProvider). The two examples name different providers; the
    stub checks the reader asks for the cluster's own, and it reads every provider in the answer."""
    ecs, ec2, _, _ = clients
    name = _queue_cluster_read(
        clients,
        cluster=_response(ASG_CLUSTER_NO_DEFAULT),
        capacity_providers=(
            ["sampleCapacityProvider"],
            _response("DescribeCapacityProviders-awscli-managed-scaling.json"),
        ),
    )
    reader = EcsInventoryReader(ecs, ec2)

    inventory = reader.read_cluster(name)

    assert inventory.target_capacity_pct == 100.0
    assert reader.warnings == []


def test_cluster_target_capacity_is_none_with_warning_when_describe_capacity_providers_denied(clients):
    """Documented cluster (awscli describe-clusters.rst Example 2); DescribeCapacityProviders answers
    AccessDeniedException, as it does for a role without ecs:DescribeCapacityProviders."""
    ecs, ec2, _, _ = clients
    name = _queue_cluster_read(
        clients,
        cluster=_response(ASG_CLUSTER_NO_DEFAULT),
        capacity_providers=(["sampleCapacityProvider"], "AccessDeniedException"),
    )
    reader = EcsInventoryReader(ecs, ec2)

    inventory = reader.read_cluster(name)

    assert inventory.target_capacity_pct is None
    assert len(reader.warnings) == 1
    assert "capacity providers" in reader.warnings[0] and "sampleCluster" in reader.warnings[0]


def test_service_without_any_task_definition_is_kept_unsized_without_describing_nothing_when_external_has_no_task_set(
    clients,
):
    """Documented as is: the EXTERNAL-controller service of awscli create-service.rst Example 3, before its first
    task set (`taskSets: []`, no service-level taskDefinition). There is nothing to describe: the reader must not
    send DescribeTaskDefinition with an empty reference (the stub would reject the unexpected call)."""
    ecs, ec2, _, _ = clients
    service = _response("CreateService-awscli-external-deployment-controller.json")["service"]
    name = _queue_cluster_read(
        clients, cluster=_response(FARGATE_CLUSTER), services={"services": [service], "failures": []}
    )
    reader = EcsInventoryReader(ecs, ec2)

    (read,) = reader.read_cluster(name).services

    assert read.task_definition.arn == ""
    assert read.task_definition.family == read.name
    assert read.task_definition.size() is None
    assert len(reader.warnings) == 1 and "names no task definition" in reader.warnings[0]


def test_service_on_a_managed_instances_provider_is_read_as_managed_instances_not_ec2(clients):
    """COMPOSED (no recorded or documented DescribeCapacityProviders of an ECS Managed Instances provider was
    found): awscli describe-clusters.rst Example 2's cluster, whose provider sampleCapacityProvider becomes an ECS
    Managed Instances provider in awscli describe-capacity-providers.rst Example 1's answer — its
    autoScalingGroupProvider replaced by `type: MANAGED_INSTANCES` and a `managedInstancesProvider`, the members
    the botocore ECS service model defines for it (the Stubber validates them). The recorded c7n service is
    placed on that provider (6 tasks, weight 1)."""
    ecs, ec2, _, _ = clients
    providers = _response("DescribeCapacityProviders-awscli-managed-scaling.json")
    managed = providers["capacityProviders"][0]
    managed["name"] = "sampleCapacityProvider"
    managed["type"] = "MANAGED_INSTANCES"
    del managed["autoScalingGroupProvider"]
    managed["managedInstancesProvider"] = {
        "infrastructureRoleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRole",
        "instanceLaunchTemplate": {
            "ec2InstanceProfileArn": "arn:aws:iam::123456789012:instance-profile/ecsInstanceRole",
            "networkConfiguration": {"subnets": ["subnet-12345678"], "securityGroups": ["sg-12345678"]},
        },
    }
    name = _queue_cluster_read(
        clients,
        cluster=_response(ASG_CLUSTER_NO_DEFAULT),
        services=_c7n_strategy_service([{"capacityProvider": "sampleCapacityProvider", "weight": 1}], 6),
        service_task_definitions=[
            (C7N_SERVICE_TASK_DEFINITION, _identity_only_task_definition(C7N_SERVICE_TASK_DEFINITION))
        ],
        capacity_providers=(["sampleCapacityProvider"], providers),
    )

    inventory = EcsInventoryReader(ecs, ec2).read_cluster(name)

    (service,) = inventory.services
    assert service.current_mode is LaunchMode.MANAGED_INSTANCES
    assert inventory.managed_instances_providers == ("sampleCapacityProvider",)
    assert inventory.target_capacity_pct is None  # a Managed Instances provider has no managed scaling target
    assert not inventory.has_ec2_capacity_provider
