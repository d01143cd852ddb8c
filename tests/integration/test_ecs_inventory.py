"""EcsInventoryReader against moto's ECS and EC2 (and botocore's Stubber where moto cannot fail on cue)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecs.models import ecs_backends
from moto.moto_api import state_manager

from modeshift.adapters.ecs import EcsInventoryReader
from modeshift.domain.models import Architecture, LaunchMode
from modeshift.errors import AccessDeniedError, AwsCallError, ClusterNotFoundError, ThrottledError

pytestmark = pytest.mark.integration

REGION = "us-east-1"
AMI = "ami-12c6146b"  # one of the images moto ships


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def clients(aws_env: None) -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        # moto moves a task one state further (RUNNING → DEACTIVATING → …) each time it is read, even in
        # RunTask's own answer. "manual" progression only advances after `times` DescribeTasks calls
        # (times=-1 advances on every read), so a huge count keeps the test's tasks RUNNING.
        state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**9})
        try:
            yield boto3.client("ecs", region_name=REGION), boto3.client("ec2", region_name=REGION)
        finally:
            state_manager.unset_transition(model_name="ecs::task")


def _calls(client: Any, operation: str) -> list[dict[str, Any]]:
    """Records the parameters of every `operation` call the client makes from now on."""
    seen: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append(dict(params))

    client.meta.events.register(
        f"provide-client-params.{client.meta.service_model.endpoint_prefix}.{operation}", record
    )
    return seen


def _set_service_strategy(cluster: str, service: str, strategy: list[dict[str, Any]] | None) -> None:
    """moto 5.2.5 drops CreateService's capacityProviderStrategy and always answers launchType EC2.

    Put the service's launch settings where real ECS would, straight into moto's backend.
    """
    stored = ecs_backends[DEFAULT_ACCOUNT_ID][REGION].services[f"{cluster}:{service}"]
    stored.launch_type = None
    stored.capacity_provider_strategy = strategy or []


def _ec2_task_definition(ecs: Any, family: str = "worker") -> str:
    response = ecs.register_task_definition(
        family=family,
        containerDefinitions=[
            {"name": "app", "image": "app:1", "cpu": 256, "memory": 512},
            {"name": "sidecar", "image": "envoy:1", "cpu": 128, "memoryReservation": 256},
            {"name": "log", "image": "fluent:1", "memoryReservation": 64},
        ],
        # No requiresCompatibilities: with "EC2" there, moto 5.2.5 wrongly demands a hard `memory` limit
        # on every container and rejects memoryReservation-only containers, which real ECS accepts.
    )
    return response["taskDefinition"]["taskDefinitionArn"]


def _fargate_task_definition(ecs: Any, family: str = "api") -> str:
    response = ecs.register_task_definition(
        family=family,
        containerDefinitions=[{"name": "api", "image": "api:1", "memory": 512}],
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="1024",
        memory="2048",
        runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
    )
    return response["taskDefinition"]["taskDefinitionArn"]


def _register_instance(ecs: Any, ec2: Any, cluster: str, instance_type: str, *, spot: bool = False) -> str:
    """A moto EC2 instance registered as a container instance; moto reads only `instanceId` from the doc."""
    extra: dict[str, Any] = {"InstanceMarketOptions": {"MarketType": "spot"}} if spot else {}
    instance = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, InstanceType=instance_type, **extra)
    instance_id = instance["Instances"][0]["InstanceId"]
    ecs.register_container_instance(
        cluster=cluster,
        instanceIdentityDocument=json.dumps({"instanceId": instance_id, "instanceType": instance_type}),
    )
    return instance_id


# --------------------------------------------------------------------------- clusters


def test_list_cluster_names_returns_names_not_arns_when_clusters_exist(clients):
    ecs, ec2 = clients
    for name in ("alpha", "beta", "gamma"):
        ecs.create_cluster(clusterName=name)

    assert sorted(EcsInventoryReader(ecs, ec2).list_cluster_names()) == ["alpha", "beta", "gamma"]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ([{"name": "containerInsights", "value": "enabled"}], True),
        ([{"name": "containerInsights", "value": "enhanced"}], True),
        ([{"name": "containerInsights", "value": "disabled"}], False),
        ([], False),
    ],
)
def test_read_cluster_reports_container_insights_when_setting_enabled_or_enhanced(clients, settings, expected):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod", settings=settings)

    inventory = EcsInventoryReader(ecs, ec2).read_cluster("prod")

    assert inventory.name == "prod"
    assert inventory.arn.endswith(":cluster/prod")
    assert inventory.container_insights is expected


def test_read_cluster_returns_capacity_providers_and_default_strategy_when_cluster_declares_them(clients):
    ecs, ec2 = clients
    ecs.create_cluster(
        clusterName="prod",
        capacityProviders=["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy=[
            {"capacityProvider": "FARGATE", "weight": 1, "base": 2},
            {"capacityProvider": "FARGATE_SPOT", "weight": 4},
        ],
    )

    inventory = EcsInventoryReader(ecs, ec2).read_cluster("prod")

    assert inventory.capacity_providers == ("FARGATE", "FARGATE_SPOT")
    assert [(s.capacity_provider, s.weight, s.base) for s in inventory.default_capacity_provider_strategy] == [
        ("FARGATE", 1, 2),
        ("FARGATE_SPOT", 4, 0),
    ]


def test_read_cluster_raises_cluster_not_found_when_cluster_unknown(clients):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")

    with pytest.raises(ClusterNotFoundError) as caught:
        EcsInventoryReader(ecs, ec2).read_cluster("nope")
    assert caught.value.cluster == "nope"


def test_read_cluster_raises_cluster_not_found_when_cluster_inactive(clients):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="gone")
    ecs.delete_cluster(cluster="gone")

    with pytest.raises(ClusterNotFoundError):
        EcsInventoryReader(ecs, ec2).read_cluster("gone")


# --------------------------------------------------------------------------- services and task definitions


def test_read_cluster_sizes_fargate_service_from_task_level_and_arm_platform_when_declared(clients):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")
    arn = _fargate_task_definition(ecs)
    ecs.create_service(
        cluster="prod",
        serviceName="api",
        taskDefinition=arn,
        desiredCount=3,
        launchType="FARGATE",
        tags=[{"key": "team", "value": "payments"}, {"key": "env", "value": "prod"}],
    )

    (service,) = EcsInventoryReader(ecs, ec2).read_cluster("prod").services

    assert service.name == "api"
    assert service.cluster == "prod"
    assert service.current_mode is LaunchMode.FARGATE
    assert service.launch_type == "FARGATE"
    assert service.desired_count == 3
    assert service.tags == {"team": "payments", "env": "prod"}
    definition = service.task_definition
    assert definition.arn == arn
    assert (definition.family, definition.revision) == ("api", 1)
    assert (definition.task_cpu_units, definition.task_memory_mib) == (1024, 2048)
    assert definition.architecture is Architecture.ARM64
    assert definition.os_family == "LINUX"
    assert definition.requires_compatibilities == ("FARGATE",)
    size = definition.size()
    assert size is not None and (size.cpu_units, size.memory_mib, size.sized_from) == (1024, 2048, "task")


def test_read_cluster_sums_container_sizes_when_task_definition_has_no_task_level_size(clients):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")
    _ec2_task_definition(ecs)
    ecs.create_service(cluster="prod", serviceName="worker", taskDefinition="worker", desiredCount=2)

    (service,) = EcsInventoryReader(ecs, ec2).read_cluster("prod").services

    definition = service.task_definition
    assert definition.task_cpu_units is None and definition.task_memory_mib is None
    assert definition.container_cpu_units == 256 + 128
    # memory where set, memoryReservation otherwise
    assert definition.container_memory_mib == 512 + 256 + 64
    assert definition.architecture is Architecture.X86_64
    assert service.current_mode is LaunchMode.EC2


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ([{"capacityProvider": "FARGATE_SPOT", "weight": 1}], LaunchMode.FARGATE_SPOT),
        (
            [
                {"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                {"capacityProvider": "FARGATE_SPOT", "weight": 3},
            ],
            LaunchMode.FARGATE_SPOT,
        ),
        (
            [{"capacityProvider": "FARGATE", "weight": 3}, {"capacityProvider": "FARGATE_SPOT", "weight": 1}],
            LaunchMode.FARGATE,
        ),
        (
            [{"capacityProvider": "FARGATE_SPOT", "weight": 2}, {"capacityProvider": "FARGATE", "weight": 2}],
            LaunchMode.FARGATE,
        ),
        ([{"capacityProvider": "asg-provider", "weight": 1}], LaunchMode.EC2),
    ],
    ids=["spot-only", "spot-heavier", "fargate-heavier", "tie", "asg-provider"],
)
def test_read_cluster_takes_service_mode_from_its_strategy_when_service_has_one(clients, strategy, expected):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod", capacityProviders=["FARGATE", "FARGATE_SPOT"])
    ecs.register_task_definition(family="api", containerDefinitions=[{"name": "a", "image": "a", "memory": 512}])
    # six tasks: the base takes its share first, the weights split the rest (one task would all be base)
    ecs.create_service(cluster="prod", serviceName="api", taskDefinition="api", desiredCount=6)
    _set_service_strategy("prod", "api", strategy)

    (service,) = EcsInventoryReader(ecs, ec2).read_cluster("prod").services

    assert service.current_mode is expected
    assert service.launch_type is None
    assert [item.capacity_provider for item in service.capacity_provider_strategy] == [
        item["capacityProvider"] for item in strategy
    ]


def test_read_cluster_uses_cluster_default_strategy_when_service_has_no_launch_type_nor_strategy(clients):
    ecs, ec2 = clients
    ecs.create_cluster(
        clusterName="prod",
        capacityProviders=["FARGATE_SPOT"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
    )
    ecs.register_task_definition(family="api", containerDefinitions=[{"name": "a", "image": "a", "memory": 512}])
    ecs.create_service(cluster="prod", serviceName="api", taskDefinition="api", desiredCount=1)
    _set_service_strategy("prod", "api", None)

    (service,) = EcsInventoryReader(ecs, ec2).read_cluster("prod").services

    assert service.current_mode is LaunchMode.FARGATE_SPOT


@pytest.mark.parametrize(("with_instance", "expected"), [(True, LaunchMode.EC2), (False, LaunchMode.EC2)])
def test_read_cluster_reads_ec2_when_neither_service_nor_cluster_names_a_mode(clients, with_instance, expected):
    """ECS launches such a service with the EC2 launch type, whether or not instances are registered yet."""
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")
    if with_instance:
        _register_instance(ecs, ec2, "prod", "m5.large")
    ecs.register_task_definition(family="api", containerDefinitions=[{"name": "a", "image": "a", "memory": 512}])
    ecs.create_service(cluster="prod", serviceName="api", taskDefinition="api", desiredCount=1)
    _set_service_strategy("prod", "api", None)

    (service,) = EcsInventoryReader(ecs, ec2).read_cluster("prod").services

    assert service.current_mode is expected


@pytest.mark.parametrize(("with_instance", "expected"), [(False, LaunchMode.FARGATE), (True, LaunchMode.EC2)])
def test_read_cluster_reads_fargate_when_reported_ec2_is_impossible_for_fargate_only_definition_without_instances(
    clients, with_instance, expected
):
    # moto reports launchType EC2 for a service created with a FARGATE_SPOT/FARGATE strategy
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")
    if with_instance:
        _register_instance(ecs, ec2, "prod", "m5.large")
    ecs.register_task_definition(
        family="web",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "a", "image": "a", "memory": 512}],
    )
    ecs.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition="web",
        desiredCount=1,
        capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
    )
    reader = EcsInventoryReader(ecs, ec2)

    (service,) = reader.read_cluster("prod").services

    assert service.current_mode is expected
    assert any("read as FARGATE" in warning for warning in reader.warnings) is (expected is LaunchMode.FARGATE)


def test_read_cluster_describes_services_ten_at_a_time_when_cluster_has_more_than_ten(clients):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="big")
    _ec2_task_definition(ecs)
    names = [f"svc-{index:02d}" for index in range(23)]
    for name in names:
        ecs.create_service(cluster="big", serviceName=name, taskDefinition="worker", desiredCount=1)
    describe_services = _calls(ecs, "DescribeServices")
    describe_task_definition = _calls(ecs, "DescribeTaskDefinition")

    inventory = EcsInventoryReader(ecs, ec2).read_cluster("big")

    assert sorted(service.name for service in inventory.services) == names
    assert [len(call["services"]) for call in describe_services] == [10, 10, 3]
    assert all(call["include"] == ["TAGS"] for call in describe_services)
    # 23 services share one task definition: described once, not 23 times
    assert len(describe_task_definition) == 1


def test_read_cluster_keeps_service_with_minimal_task_definition_and_warns_when_definition_unreadable(
    clients,
):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")
    arn = _ec2_task_definition(ecs)
    ecs.create_service(cluster="prod", serviceName="worker", taskDefinition=arn, desiredCount=1)
    # DeleteTaskDefinitions removes the revision for good: DescribeTaskDefinition then fails.
    ecs.deregister_task_definition(taskDefinition=arn)
    ecs.delete_task_definitions(taskDefinitions=[arn])
    reader = EcsInventoryReader(ecs, ec2)

    (service,) = reader.read_cluster("prod").services

    assert service.name == "worker"
    assert (service.task_definition.arn, service.task_definition.family) == (arn, "worker")
    assert service.task_definition.revision == 1
    assert service.task_definition.size() is None
    assert len(reader.warnings) == 1
    assert "service worker" in reader.warnings[0] and arn in reader.warnings[0]


# --------------------------------------------------------------------------- container instances


def test_read_cluster_takes_instance_type_and_lifecycle_from_ec2_when_container_instances_registered(clients):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")
    spot_id = _register_instance(ecs, ec2, "prod", "c5.large", spot=True)
    on_demand_id = _register_instance(ecs, ec2, "prod", "m5.large")
    # EC2 now disagrees with the type the ECS agent recorded at registration: EC2 must win.
    ec2.modify_instance_attribute(InstanceId=on_demand_id, InstanceType={"Value": "m5.xlarge"})

    inventory = EcsInventoryReader(ecs, ec2).read_cluster("prod")

    by_id = {instance.ec2_instance_id: instance for instance in inventory.container_instances}
    assert set(by_id) == {spot_id, on_demand_id}
    assert (by_id[spot_id].instance_type, by_id[spot_id].lifecycle) == ("c5.large", "spot")
    assert (by_id[on_demand_id].instance_type, by_id[on_demand_id].lifecycle) == ("m5.xlarge", "on-demand")
    for instance in inventory.container_instances:
        # moto registers every instance with 4096 CPU units / 7482 MiB whatever its type
        assert (instance.registered_cpu_units, instance.registered_memory_mib) == (4096, 7482)
        assert (instance.remaining_cpu_units, instance.remaining_memory_mib) == (4096, 7482)
        assert instance.status == "ACTIVE"
    assert inventory.has_ec2_capacity


def test_read_cluster_falls_back_to_agent_instance_type_when_ec2_does_not_return_the_instance(clients):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")
    instance_id = _register_instance(ecs, ec2, "prod", "c5.large", spot=True)
    # An EC2 client of another region knows none of these instances, like one long terminated.
    blind_ec2 = boto3.client("ec2", region_name="eu-west-1")

    (instance,) = EcsInventoryReader(ecs, blind_ec2).read_cluster("prod").container_instances

    assert instance.ec2_instance_id == instance_id
    assert instance.instance_type == "c5.large"
    assert instance.lifecycle == "on-demand"


def test_read_cluster_counts_running_tasks_on_instances_when_tasks_placed(clients):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")
    _register_instance(ecs, ec2, "prod", "m5.large")
    _ec2_task_definition(ecs, "nightly")
    ecs.run_task(cluster="prod", taskDefinition="nightly", launchType="EC2", count=2)

    (instance,) = EcsInventoryReader(ecs, ec2).read_cluster("prod").container_instances

    assert instance.running_tasks_count == 2
    # two tasks of 384 CPU units and 832 MiB each were reserved out of 4096 / 7482
    assert (instance.remaining_cpu_units, instance.remaining_memory_mib) == (4096 - 768, 7482 - 1664)


# --------------------------------------------------------------------------- standalone families


def test_read_cluster_lists_run_task_family_as_standalone_when_its_tasks_run_outside_services(clients):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")
    _register_instance(ecs, ec2, "prod", "m5.large")
    _ec2_task_definition(ecs, "nightly")
    ecs.run_task(cluster="prod", taskDefinition="nightly", launchType="EC2", count=2)

    (family,) = EcsInventoryReader(ecs, ec2).read_cluster("prod").standalone_families

    assert (family.cluster, family.family) == ("prod", "nightly")
    assert family.current_mode is LaunchMode.EC2
    assert family.running_count == 2
    assert family.task_definition.container_memory_mib == 832


def test_read_cluster_lists_extra_family_as_standalone_when_no_service_uses_it(clients):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")
    _fargate_task_definition(ecs, "report")
    ecs.register_task_definition(  # a newer revision is the one to size by
        family="report",
        containerDefinitions=[{"name": "r", "image": "r:2", "memory": 512}],
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="2048",
        memory="4096",
    )

    (family,) = EcsInventoryReader(ecs, ec2).read_cluster("prod", extra_families=["report"]).standalone_families

    assert family.family == "report"
    assert family.task_definition.revision == 2
    assert (family.task_definition.task_cpu_units, family.task_definition.task_memory_mib) == (2048, 4096)
    assert family.current_mode is LaunchMode.FARGATE
    assert family.running_count == 0


@pytest.mark.parametrize(("with_instance", "expected"), [(True, LaunchMode.EC2), (False, LaunchMode.FARGATE)])
def test_read_cluster_infers_standalone_mode_from_capacity_when_family_runs_on_both(clients, with_instance, expected):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")
    if with_instance:
        _register_instance(ecs, ec2, "prod", "m5.large")
    ecs.register_task_definition(
        family="batch",
        networkMode="awsvpc",
        requiresCompatibilities=["EC2", "FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "app:1", "memory": 512}],
    )

    (family,) = EcsInventoryReader(ecs, ec2).read_cluster("prod", extra_families=["batch"]).standalone_families

    assert family.current_mode is expected


@pytest.mark.parametrize("with_instance", [True, False])
def test_read_cluster_reads_standalone_family_as_ec2_when_its_definition_is_ec2_only(clients, with_instance):
    """A bridge-mode definition without requiresCompatibilities is EC2-only (`compatibilities` says so)."""
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")
    if with_instance:
        _register_instance(ecs, ec2, "prod", "m5.large")
    _ec2_task_definition(ecs, "batch")

    (family,) = EcsInventoryReader(ecs, ec2).read_cluster("prod", extra_families=["batch"]).standalone_families

    assert family.task_definition.compatibilities  # moto reports them, as AWS does
    assert family.current_mode is LaunchMode.EC2


def test_read_cluster_omits_family_from_standalone_when_a_service_uses_it(clients):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")
    _register_instance(ecs, ec2, "prod", "m5.large")
    _ec2_task_definition(ecs, "worker")
    _ec2_task_definition(ecs, "nightly")
    ecs.create_service(cluster="prod", serviceName="worker", taskDefinition="worker", desiredCount=1)
    # a one-off task of the service's family (a migration, say) is still the service's workload
    ecs.run_task(cluster="prod", taskDefinition="worker", launchType="EC2")

    inventory = EcsInventoryReader(ecs, ec2).read_cluster("prod", extra_families=["worker", "nightly"])

    assert [family.family for family in inventory.standalone_families] == ["nightly"]


def test_read_cluster_skips_extra_family_and_warns_when_family_has_no_task_definition(clients):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")
    reader = EcsInventoryReader(ecs, ec2)

    inventory = reader.read_cluster("prod", extra_families=["vanished"])

    assert inventory.standalone_families == ()
    assert len(reader.warnings) == 1 and "vanished" in reader.warnings[0]


# --------------------------------------------------------------------------- error mapping


def _stubbed_cluster_read(ecs: Any, stubber: Stubber) -> None:
    """Queue the answers a read of an empty-looking cluster gets before it lists services."""
    arn = "arn:aws:ecs:us-east-1:123456789012:cluster/prod"
    stubber.add_response(
        "describe_clusters",
        {"clusters": [{"clusterArn": arn, "clusterName": "prod", "status": "ACTIVE"}], "failures": []},
        {"clusters": ["prod"], "include": ["SETTINGS", "CONFIGURATIONS"]},
    )
    stubber.add_response("list_container_instances", {"containerInstanceArns": []})
    stubber.add_response("list_services", {"serviceArns": ["arn:aws:ecs:us-east-1:123456789012:service/prod/api"]})


def test_read_cluster_raises_access_denied_naming_describe_services_when_describe_services_denied(aws_env):
    ecs = boto3.client("ecs", region_name=REGION)
    ec2 = boto3.client("ec2", region_name=REGION)
    with Stubber(ecs) as stubber:
        _stubbed_cluster_read(ecs, stubber)
        stubber.add_client_error(
            "describe_services", service_error_code="AccessDeniedException", service_message="not allowed"
        )

        with pytest.raises(AccessDeniedError) as caught:
            EcsInventoryReader(ecs, ec2).read_cluster("prod")

    assert caught.value.permission == "ecs:DescribeServices"


def test_list_cluster_names_raises_throttled_when_aws_keeps_throttling(aws_env):
    ecs = boto3.client("ecs", region_name=REGION)
    ec2 = boto3.client("ec2", region_name=REGION)
    with Stubber(ecs) as stubber:
        stubber.add_client_error("list_clusters", service_error_code="ThrottlingException", http_status_code=400)

        with pytest.raises(ThrottledError):
            EcsInventoryReader(ecs, ec2).list_cluster_names()


def test_read_cluster_raises_aws_call_error_with_code_when_failure_is_unexpected(aws_env):
    ecs = boto3.client("ecs", region_name=REGION)
    ec2 = boto3.client("ec2", region_name=REGION)
    with Stubber(ecs) as stubber:
        _stubbed_cluster_read(ecs, stubber)
        stubber.add_client_error("describe_services", service_error_code="ServerException", http_status_code=500)

        with pytest.raises(AwsCallError) as caught:
            EcsInventoryReader(ecs, ec2).read_cluster("prod")

    assert (caught.value.operation, caught.value.code) == ("DescribeServices", "ServerException")


def test_read_cluster_raises_cluster_not_found_when_cluster_deleted_mid_read(aws_env):
    ecs = boto3.client("ecs", region_name=REGION)
    ec2 = boto3.client("ec2", region_name=REGION)
    with Stubber(ecs) as stubber:
        _stubbed_cluster_read(ecs, stubber)
        stubber.add_client_error("describe_services", service_error_code="ClusterNotFoundException")

        with pytest.raises(ClusterNotFoundError):
            EcsInventoryReader(ecs, ec2).read_cluster("prod")


def test_read_cluster_raises_access_denied_naming_ec2_describe_instances_when_ec2_denied(clients):
    ecs, ec2 = clients
    ecs.create_cluster(clusterName="prod")
    _register_instance(ecs, ec2, "prod", "m5.large")
    denied_ec2 = boto3.client("ec2", region_name=REGION)
    with Stubber(denied_ec2) as stubber:
        stubber.add_client_error("describe_instances", service_error_code="UnauthorizedOperation")

        with pytest.raises(AccessDeniedError) as caught:
            EcsInventoryReader(ecs, denied_ec2).read_cluster("prod")

    assert caught.value.permission == "ec2:DescribeInstances"
