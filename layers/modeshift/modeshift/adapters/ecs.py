"""Read-only ECS inventory reader: clusters, services, task definitions and their EC2 capacity as models."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

from botocore.exceptions import ClientError

from modeshift.adapters.aws_errors import error_code, translate
from modeshift.domain.models import (
    Architecture,
    CapacityProviderStrategyItem,
    ClusterInventory,
    ContainerInstanceInfo,
    LaunchMode,
    ServiceInfo,
    StandaloneFamilyInfo,
    TaskDefinitionInfo,
)
from modeshift.domain.strategy import dominant_mode, mix_by_mode, mode_of_provider, strategy_mode
from modeshift.errors import AccessDeniedError, AwsCallError, ClusterNotFoundError

# API maxima of the batch describe calls (AWS rejects larger batches).
DESCRIBE_SERVICES_BATCH = 10
DESCRIBE_CONTAINER_INSTANCES_BATCH = 100
DESCRIBE_TASKS_BATCH = 100
# DescribeCapacityProviders names at most 100 providers per call.
DESCRIBE_CAPACITY_PROVIDERS_BATCH = 100
# DescribeInstances filters accept up to 200 values each; 100 keeps every page small.
DESCRIBE_INSTANCES_BATCH = 100

# DescribeTaskDefinition answers these for a revision or family that no longer exists.
_TASK_DEFINITION_GONE_CODES = frozenset({"ClientException", "InvalidParameterException"})

_T = TypeVar("_T")

_SIZE_PATTERN = re.compile(r"^\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[a-z]*)\s*$", re.IGNORECASE)
# Tasks a service scheduler started carry this startedBy, also in older responses that have no `group`.
_SERVICE_STARTED_BY = "ecs-svc/"


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _name_from_arn(arn: str) -> str:
    """Last path segment of an ECS ARN (`…:cluster/NAME`, `…:service/CLUSTER/NAME`); a bare name passes."""
    return arn.rsplit("/", 1)[-1]


def _family_from_task_definition_arn(arn: str) -> tuple[str, int]:
    """`…:task-definition/FAMILY:REV` → (FAMILY, REV); a bare family gives revision 0."""
    family, _, revision = _name_from_arn(arn).partition(":")
    return family, int(revision) if revision.isdigit() else 0


def _mode_of_launch_type(launch_type: str) -> LaunchMode:
    if launch_type == "FARGATE":
        return LaunchMode.FARGATE
    # ECS Anywhere: the operator's own hardware, compared with nothing, priced by its per-instance fee.
    if launch_type == "EXTERNAL":
        return LaunchMode.EXTERNAL
    if launch_type == "MANAGED_INSTANCES":
        return LaunchMode.MANAGED_INSTANCES
    return LaunchMode.EC2


def _strategy(items: Iterable[dict[str, Any]] | None) -> tuple[CapacityProviderStrategyItem, ...]:
    return tuple(
        CapacityProviderStrategyItem(
            capacity_provider=item["capacityProvider"],
            weight=int(item.get("weight", 0)),
            base=int(item.get("base", 0)),
        )
        for item in items or ()
    )


def _parse_size(value: Any, *, per_unit: int) -> int | None:
    """ECS size strings → integers: "256" is already units/MiB; "1 vCPU" and "2 GB" scale by 1024.

    AWS normalises sizes to plain integers on registration, but a local AWS may echo what it was given.
    """
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    match = _SIZE_PATTERN.match(str(value))
    if not match:
        return None
    number = float(match["number"])
    unit = match["unit"].lower()
    if unit in ("", "mb", "mib"):
        return int(number)
    if unit in ("vcpu", "gb", "gib"):
        return int(number * per_unit)
    return None


def _resource_integer(resources: Iterable[dict[str, Any]] | None, name: str) -> int | None:
    """A resource's integer value; None when AWS did not report it (unknown, never zero)."""
    for resource in resources or ():
        if resource.get("name") == name and resource.get("integerValue") is not None:
            return int(resource["integerValue"])
    return None


def _integer(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0


def _is_set(value: Any) -> bool:
    """Present with a value: False, None and empty collections are "not set"; 0 is set (maxSwap: 0 is a setting)."""
    return value is not None and value is not False and value not in ("", [], {})


def _container_parameters(containers: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    """Names of the parameters set in any container; Linux parameters as `linuxParameters.NAME`."""
    names: set[str] = set()
    for container in containers:
        for key, value in container.items():
            if key == "linuxParameters" and isinstance(value, dict):
                names.update(f"linuxParameters.{sub}" for sub, sub_value in value.items() if _is_set(sub_value))
            elif _is_set(value):
                names.add(key)
    return tuple(sorted(names))


def _volume_kind(volume: dict[str, Any]) -> str:
    if volume.get("dockerVolumeConfiguration"):
        return "docker"
    if volume.get("efsVolumeConfiguration"):
        return "efs"
    if volume.get("fsxWindowsFileServerVolumeConfiguration"):
        return "fsx_windows"
    if (volume.get("host") or {}).get("sourcePath"):
        return "host"
    return "bind"


@contextmanager
def _mapped_errors(permission: str, cluster: str | None = None) -> Iterator[None]:
    """Turn a botocore ClientError from one ECS/EC2 action into the library's own error."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc)[0] == "ClusterNotFoundException" and cluster is not None:
            raise ClusterNotFoundError(cluster) from exc
        raise translate(exc, operation=exc.operation_name, permission=permission) from exc


class EcsInventoryReader:
    """Reads one account-region's ECS inventory through read-only calls, batched at the API maxima.

    Problems with single items (a task definition that cannot be described, a service that vanished
    mid-read) do not fail the read: they are appended to `warnings` with the reason, for the caller to
    report. Access, throttling and unknown-cluster failures raise modeshift errors.
    """

    def __init__(self, ecs_client: Any, ec2_client: Any) -> None:
        self._ecs = ecs_client
        self._ec2 = ec2_client
        self.warnings: list[str] = []
        # Task definitions are immutable per ARN, so one describe per ARN serves every service and read.
        self._task_definitions: dict[str, TaskDefinitionInfo] = {}
        # A bare family resolves to "latest ACTIVE", which can change: cache it only for this reader's life.
        self._latest_by_family: dict[str, TaskDefinitionInfo | None] = {}

    # ------------------------------------------------------------------ clusters

    def list_cluster_names(self) -> list[str]:
        """Names of every cluster in the region (ListClusters, all pages)."""
        names: list[str] = []
        with _mapped_errors("ecs:ListClusters"):
            for page in self._ecs.get_paginator("list_clusters").paginate():
                names.extend(_name_from_arn(arn) for arn in page.get("clusterArns", []))
        return names

    def read_cluster(self, name: str, *, extra_families: Iterable[str] = ()) -> ClusterInventory:
        """Everything modeshift needs to know about one cluster.

        `extra_families` are task families seen elsewhere (Container Insights, the task ledger); those
        no service of this cluster uses are listed as standalone families beside the running ones.
        """
        cluster_name = _name_from_arn(name)
        cluster = self._describe_cluster(cluster_name)
        default_strategy = _strategy(cluster.get("defaultCapacityProviderStrategy"))
        container_instances = self._container_instances(cluster_name)
        has_ec2_capacity = bool(container_instances)
        services = self._services(cluster_name, default_strategy, has_ec2_capacity)
        service_families = {service.task_definition.family for service in services}
        standalone = self._standalone_families(cluster_name, service_families, extra_families, has_ec2_capacity)
        target, managed = self._capacity_providers(cluster_name, cluster.get("capacityProviders") or ())
        if managed:
            services = tuple(self._on_managed_instances(service, managed, default_strategy) for service in services)
        return ClusterInventory(
            name=cluster["clusterName"],
            arn=cluster["clusterArn"],
            container_insights=self._container_insights_on(cluster),
            capacity_providers=tuple(cluster.get("capacityProviders", ())),
            default_capacity_provider_strategy=default_strategy,
            container_instances=container_instances,
            services=services,
            standalone_families=standalone,
            target_capacity_pct=target,
            managed_instances_providers=tuple(sorted(managed)),
        )

    @staticmethod
    def _on_managed_instances(
        service: ServiceInfo, managed: frozenset[str], default_strategy: Sequence[CapacityProviderStrategyItem]
    ) -> ServiceInfo:
        """A service placed through ECS Managed Instances providers runs in that mode, not on self-managed EC2."""
        strategy = service.capacity_provider_strategy or (() if service.launch_type else tuple(default_strategy))
        if not any(item.capacity_provider in managed for item in strategy):
            return service
        overrides = {name: LaunchMode.MANAGED_INSTANCES for name in managed}
        mix = mix_by_mode(strategy, service.desired_count, overrides)
        mode = strategy_mode(strategy, service.desired_count, overrides) or service.current_mode
        return service.model_copy(
            update={"current_mode": mode, "current_mix": mix if len([n for n in mix.values() if n > 0]) > 1 else {}}
        )

    def _capacity_providers(self, cluster_name: str, providers: Sequence[str]) -> tuple[float | None, frozenset[str]]:
        """Managed scaling's target capacity of the cluster's Auto Scaling group providers (the lowest, when
        several keep headroom; None when none scales managed), and which providers are ECS Managed Instances.
        A reader without ecs:DescribeCapacityProviders still analyses the cluster, with the headroom setting
        instead and every non-Fargate provider read as self-managed EC2."""
        names = [name for name in providers if name not in ("FARGATE", "FARGATE_SPOT")]
        if not names:
            return None, frozenset()
        targets: list[float] = []
        managed: set[str] = set()
        try:
            for batch in _chunks(names, DESCRIBE_CAPACITY_PROVIDERS_BATCH):
                with _mapped_errors("ecs:DescribeCapacityProviders", cluster_name):
                    response = self._ecs.describe_capacity_providers(capacityProviders=list(batch))
                for provider in response.get("capacityProviders", []):
                    if provider.get("type") == "MANAGED_INSTANCES" or provider.get("managedInstancesProvider"):
                        managed.add(str(provider.get("name", "")))
                    scaling = (provider.get("autoScalingGroupProvider") or {}).get("managedScaling") or {}
                    if scaling.get("status") == "ENABLED" and scaling.get("targetCapacity") is not None:
                        targets.append(float(scaling["targetCapacity"]))
        except AccessDeniedError as exc:
            self.warnings.append(
                f"cluster {cluster_name}: cannot read its capacity providers ({exc}); "
                "tuning uses the headroom setting instead of their target capacity"
            )
            return None, frozenset()
        return (min(targets) if targets else None), frozenset(managed)

    def _describe_cluster(self, cluster_name: str) -> dict[str, Any]:
        with _mapped_errors("ecs:DescribeClusters", cluster_name):
            response = self._ecs.describe_clusters(clusters=[cluster_name], include=["SETTINGS", "CONFIGURATIONS"])
        clusters = response.get("clusters", [])
        # A deleted cluster lingers as INACTIVE for a while: it has nothing left to advise on.
        if not clusters or clusters[0].get("status") == "INACTIVE":
            raise ClusterNotFoundError(cluster_name)
        return clusters[0]

    @staticmethod
    def _container_insights_on(cluster: dict[str, Any]) -> bool:
        return any(
            setting.get("name") == "containerInsights"
            and str(setting.get("value", "")).lower() in ("enabled", "enhanced")
            for setting in cluster.get("settings", [])
        )

    # ------------------------------------------------------------------ services

    def _services(
        self,
        cluster_name: str,
        default_strategy: tuple[CapacityProviderStrategyItem, ...],
        has_ec2_capacity: bool,
    ) -> tuple[ServiceInfo, ...]:
        arns: list[str] = []
        with _mapped_errors("ecs:ListServices", cluster_name):
            for page in self._ecs.get_paginator("list_services").paginate(cluster=cluster_name):
                arns.extend(page.get("serviceArns", []))

        services: list[ServiceInfo] = []
        for batch in _chunks(arns, DESCRIBE_SERVICES_BATCH):
            with _mapped_errors("ecs:DescribeServices", cluster_name):
                response = self._ecs.describe_services(cluster=cluster_name, services=list(batch), include=["TAGS"])
            for failure in response.get("failures", []):
                self.warnings.append(
                    f"cluster {cluster_name}: service {failure.get('arn')} could not be described "
                    f"({failure.get('reason')}{': ' + failure['detail'] if failure.get('detail') else ''})"
                )
            for raw in response.get("services", []):
                # DRAINING and INACTIVE services are being deleted: no advice can apply to them.
                if raw.get("status", "ACTIVE") != "ACTIVE":
                    continue
                services.append(self._service(cluster_name, raw, default_strategy, has_ec2_capacity))
        return tuple(services)

    def _service(
        self,
        cluster_name: str,
        raw: dict[str, Any],
        default_strategy: tuple[CapacityProviderStrategyItem, ...],
        has_ec2_capacity: bool,
    ) -> ServiceInfo:
        name = raw["serviceName"]
        controller = str((raw.get("deploymentController") or {}).get("type") or "ECS")
        # EXTERNAL and CODE_DEPLOY controllers keep what runs on task sets, not on the service: each launch
        # field comes from the service when it has it, else from the PRIMARY task set.
        task_set = self._primary_task_set(raw) or {}

        def launch_field(key: str) -> Any:
            return raw.get(key) or task_set.get(key) or None

        strategy = _strategy(launch_field("capacityProviderStrategy"))
        launch_type = launch_field("launchType")
        desired = int(raw.get("desiredCount", 0))
        daemon = raw.get("schedulingStrategy") == "DAEMON"
        mix: dict[LaunchMode, int] = {}
        if launch_type:
            mode = _mode_of_launch_type(launch_type)
        elif strategy or default_strategy:
            # No launch type: the service's own strategy, else the cluster's default one, placed as ECS does.
            used = strategy or default_strategy
            mix = mix_by_mode(used, desired)
            mode = strategy_mode(used, desired) or LaunchMode.EC2
        else:
            # Neither launch type nor strategy anywhere: ECS launches it with the EC2 launch type.
            mode = LaunchMode.EC2
        task_definition_arn = launch_field("taskDefinition") or ""
        if task_definition_arn:
            task_definition = self._task_definition(
                task_definition_arn, context=f"cluster {cluster_name}: service {name}"
            )
        else:
            # Nothing to describe (an EXTERNAL controller before its first task set): no size, so the
            # analysis reports insufficient data for it rather than inventing one.
            self.warnings.append(
                f"cluster {cluster_name}: service {name} names no task definition "
                f"(deployment controller {controller}, no PRIMARY or ACTIVE task set)"
            )
            task_definition = TaskDefinitionInfo(arn="", family=name)
        if (
            mode is LaunchMode.EC2
            and not has_ec2_capacity
            and task_definition.requires_compatibilities
            and "EC2" not in task_definition.requires_compatibilities
            and "FARGATE" in task_definition.requires_compatibilities
        ):
            # A Fargate-only task definition in a cluster without instances cannot be running on EC2:
            # the reported launch type is wrong (moto reports EC2 for capacity-provider services).
            mode = strategy_mode(default_strategy, desired) or LaunchMode.FARGATE
            if mode is LaunchMode.EC2:
                mode = LaunchMode.FARGATE
            mix = {}
            self.warnings.append(
                f"cluster {cluster_name}: service {name} reports launch type EC2 but its task "
                f"definition is Fargate-only and the cluster has no instances: read as {mode.value}"
            )
        if len([n for n in mix.values() if n > 0]) < 2:
            mix = {}  # one mode holds every task: current_mode says it all
        return ServiceInfo(
            cluster=cluster_name,
            name=name,
            arn=raw["serviceArn"],
            task_definition=task_definition,
            current_mode=mode,
            launch_type=launch_type,
            capacity_provider_strategy=strategy,
            desired_count=desired,
            running_count=int(raw.get("runningCount", 0)),
            tags={tag["key"]: tag.get("value", "") for tag in raw.get("tags", []) if "key" in tag},
            scheduling_strategy="DAEMON" if daemon else "REPLICA",
            deployment_controller=controller,
            placement_constraints=tuple(
                str(c.get("type", "")) for c in raw.get("placementConstraints") or () if isinstance(c, dict)
            ),
            platform_version=launch_field("platformVersion"),
            load_balanced=bool(launch_field("loadBalancers")),
            current_mix=mix,
        )

    @staticmethod
    def _primary_task_set(raw: dict[str, Any]) -> dict[str, Any] | None:
        """The task set serving traffic (status PRIMARY), else the first ACTIVE one, else None."""
        task_sets = [t for t in raw.get("taskSets") or () if isinstance(t, dict)]
        for status in ("PRIMARY", "ACTIVE"):
            for task_set in task_sets:
                if task_set.get("status") == status:
                    return task_set
        return None

    # ------------------------------------------------------------------ task definitions

    def _task_definition(self, arn: str, *, context: str) -> TaskDefinitionInfo:
        """The described task definition, or a minimal one (recorded in `warnings`) when it cannot be read."""
        cached = self._task_definitions.get(arn)
        if cached is not None:
            return cached
        raw = self._describe_task_definition(arn, context=context)
        if raw is None:
            family, revision = _family_from_task_definition_arn(arn)
            info = TaskDefinitionInfo(arn=arn, family=family, revision=revision)
        else:
            info = self._task_definition_info(raw, context=context)
        self._task_definitions[arn] = info
        return info

    def _latest_task_definition(self, family: str, *, context: str) -> TaskDefinitionInfo | None:
        """The latest ACTIVE revision of a family (DescribeTaskDefinition takes a bare family name)."""
        if family in self._latest_by_family:
            return self._latest_by_family[family]
        raw = self._describe_task_definition(family, context=context)
        info = None
        if raw is not None:
            info = self._task_definitions.get(raw["taskDefinitionArn"]) or self._task_definition_info(
                raw, context=context
            )
            self._task_definitions[info.arn] = info
        self._latest_by_family[family] = info
        return info

    def _describe_task_definition(self, reference: str, *, context: str) -> dict[str, Any] | None:
        try:
            with _mapped_errors("ecs:DescribeTaskDefinition"):
                response = self._ecs.describe_task_definition(taskDefinition=reference)
        except AwsCallError as exc:
            if exc.code not in _TASK_DEFINITION_GONE_CODES:
                raise
            self.warnings.append(f"{context}: task definition {reference} could not be described ({exc.code})")
            return None
        return response["taskDefinition"]

    def _task_definition_info(self, raw: dict[str, Any], *, context: str) -> TaskDefinitionInfo:
        containers = raw.get("containerDefinitions", [])
        platform = raw.get("runtimePlatform") or {}
        task_cpu = _parse_size(raw.get("cpu"), per_unit=1024)
        task_memory = _parse_size(raw.get("memory"), per_unit=1024)
        for field, text, parsed in (
            ("cpu", raw.get("cpu"), task_cpu),
            ("memory", raw.get("memory"), task_memory),
        ):
            if text not in (None, "") and parsed is None:
                arn = raw["taskDefinitionArn"]
                self.warnings.append(f"{context}: task definition {arn} has an unreadable {field} {text!r}")
        return TaskDefinitionInfo(
            arn=raw["taskDefinitionArn"],
            family=raw["family"],
            revision=int(raw.get("revision", 0)),
            task_cpu_units=task_cpu,
            task_memory_mib=task_memory,
            container_cpu_units=sum(int(c.get("cpu") or 0) for c in containers),
            # The hard limit when set, else the soft reservation: what the scheduler reserves per container.
            container_memory_mib=sum(int(c.get("memory") or c.get("memoryReservation") or 0) for c in containers),
            architecture=Architecture.ARM64
            if str(platform.get("cpuArchitecture", "")).upper() == "ARM64"
            else Architecture.X86_64,
            os_family=platform.get("operatingSystemFamily") or "LINUX",
            requires_compatibilities=tuple(raw.get("requiresCompatibilities", ())),
            compatibilities=tuple(raw.get("compatibilities", ())),
            network_mode=raw.get("networkMode") or None,
            ipc_mode=raw.get("ipcMode") or None,
            pid_mode=raw.get("pidMode") or None,
            placement_constraints=tuple(
                str(c.get("type", "")) for c in raw.get("placementConstraints") or () if isinstance(c, dict)
            ),
            gpu_count=sum(
                _integer(requirement.get("value"))
                for c in containers
                for requirement in c.get("resourceRequirements") or ()
                if requirement.get("type") == "GPU"
            ),
            # a container's InferenceAccelerator requirement names one of the task's accelerators: count once
            inference_accelerator_count=max(
                len(raw.get("inferenceAccelerators") or ()),
                sum(
                    1
                    for c in containers
                    for requirement in c.get("resourceRequirements") or ()
                    if requirement.get("type") == "InferenceAccelerator"
                ),
            ),
            container_parameters=_container_parameters(containers),
            capabilities_added=tuple(
                sorted(
                    {
                        str(capability)
                        for c in containers
                        for capability in ((c.get("linuxParameters") or {}).get("capabilities") or {}).get("add") or ()
                    }
                )
            ),
            volume_kinds=tuple(_volume_kind(volume) for volume in raw.get("volumes") or () if isinstance(volume, dict)),
        )

    # ------------------------------------------------------------------ container instances

    def _container_instances(self, cluster_name: str) -> tuple[ContainerInstanceInfo, ...]:
        arns: list[str] = []
        with _mapped_errors("ecs:ListContainerInstances", cluster_name):
            for page in self._ecs.get_paginator("list_container_instances").paginate(cluster=cluster_name):
                arns.extend(page.get("containerInstanceArns", []))

        raw_instances: list[dict[str, Any]] = []
        for batch in _chunks(arns, DESCRIBE_CONTAINER_INSTANCES_BATCH):
            with _mapped_errors("ecs:DescribeContainerInstances", cluster_name):
                response = self._ecs.describe_container_instances(cluster=cluster_name, containerInstances=list(batch))
            raw_instances.extend(response.get("containerInstances", []))
            for failure in response.get("failures", []):
                self.warnings.append(
                    f"cluster {cluster_name}: container instance {failure.get('arn')} could not be described "
                    f"({failure.get('reason')})"
                )

        ec2_details = self._ec2_instances([raw["ec2InstanceId"] for raw in raw_instances if raw.get("ec2InstanceId")])
        return tuple(self._container_instance(raw, ec2_details) for raw in raw_instances)

    def _ec2_instances(self, instance_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """EC2's view of the given instances; ids EC2 does not know (terminated, ECS Anywhere) are absent.

        An `instance-id` filter, unlike `InstanceIds`, returns what exists instead of failing the whole call
        on one unknown id.
        """
        # ECS Anywhere registers managed instances (mi-…), which EC2 has never heard of.
        ids = sorted({instance_id for instance_id in instance_ids if instance_id.startswith("i-")})
        found: dict[str, dict[str, Any]] = {}
        paginator = self._ec2.get_paginator("describe_instances")
        for batch in _chunks(ids, DESCRIBE_INSTANCES_BATCH):
            with _mapped_errors("ec2:DescribeInstances"):
                for page in paginator.paginate(Filters=[{"Name": "instance-id", "Values": list(batch)}]):
                    for reservation in page.get("Reservations", []):
                        for instance in reservation.get("Instances", []):
                            found[instance["InstanceId"]] = instance
        return found

    def _container_instance(self, raw: dict[str, Any], ec2_details: dict[str, dict[str, Any]]) -> ContainerInstanceInfo:
        instance_id = raw.get("ec2InstanceId")
        ec2 = ec2_details.get(instance_id or "", {})
        attributes = {attr["name"]: attr.get("value") for attr in raw.get("attributes", []) if "name" in attr}
        lifecycle: Literal["on-demand", "spot"] = "spot" if ec2.get("InstanceLifecycle") == "spot" else "on-demand"
        return ContainerInstanceInfo(
            arn=raw["containerInstanceArn"],
            ec2_instance_id=instance_id,
            # EC2 is the authority; the agent's attribute still names the type of an instance EC2 forgot.
            instance_type=ec2.get("InstanceType") or attributes.get("ecs.instance-type"),
            lifecycle=lifecycle,
            registered_cpu_units=_resource_integer(raw.get("registeredResources"), "CPU") or 0,
            registered_memory_mib=_resource_integer(raw.get("registeredResources"), "MEMORY") or 0,
            remaining_cpu_units=_resource_integer(raw.get("remainingResources"), "CPU"),
            remaining_memory_mib=_resource_integer(raw.get("remainingResources"), "MEMORY"),
            running_tasks_count=int(raw.get("runningTasksCount", 0)),
            pending_tasks_count=int(raw.get("pendingTasksCount", 0)),
            status=raw.get("status", "ACTIVE"),
            capacity_provider_name=raw.get("capacityProviderName") or None,
        )

    # ------------------------------------------------------------------ standalone tasks

    def _running_tasks(self, cluster_name: str) -> list[dict[str, Any]]:
        arns: list[str] = []
        with _mapped_errors("ecs:ListTasks", cluster_name):
            paginator = self._ecs.get_paginator("list_tasks")
            for page in paginator.paginate(cluster=cluster_name, desiredStatus="RUNNING"):
                arns.extend(page.get("taskArns", []))
        tasks: list[dict[str, Any]] = []
        for batch in _chunks(arns, DESCRIBE_TASKS_BATCH):
            with _mapped_errors("ecs:DescribeTasks", cluster_name):
                response = self._ecs.describe_tasks(cluster=cluster_name, tasks=list(batch))
            tasks.extend(response.get("tasks", []))
        return tasks

    def _standalone_families(
        self,
        cluster_name: str,
        service_families: set[str],
        extra_families: Iterable[str],
        has_ec2_capacity: bool,
    ) -> tuple[StandaloneFamilyInfo, ...]:
        tasks_by_family: dict[str, list[dict[str, Any]]] = {}
        for task in self._running_tasks(cluster_name):
            # Service tasks carry group "service:NAME" (older responses have no group, only startedBy
            # "ecs-svc/…"); RunTask's default group is "family:NAME", and a custom group is still a
            # standalone task, so the family comes from the task definition.
            if str(task.get("group", "")).startswith("service:"):
                continue
            if not task.get("group") and str(task.get("startedBy", "")).startswith(_SERVICE_STARTED_BY):
                continue
            family, _ = _family_from_task_definition_arn(task.get("taskDefinitionArn", ""))
            if family:
                tasks_by_family.setdefault(family, []).append(task)

        families = (set(tasks_by_family) | {family for family in extra_families if family}) - service_families
        standalone: list[StandaloneFamilyInfo] = []
        for family in sorted(families):
            tasks = tasks_by_family.get(family, [])
            context = f"cluster {cluster_name}: standalone family {family}"
            task_definition = self._latest_task_definition(family, context=context)
            if task_definition is None and tasks:
                # Every revision may be deregistered while tasks still run: size from what actually runs.
                task_definition = self._task_definition(tasks[-1]["taskDefinitionArn"], context=context)
            if task_definition is None:
                continue  # nothing to size it by; the warning above says why
            standalone.append(
                StandaloneFamilyInfo(
                    cluster=cluster_name,
                    family=family,
                    task_definition=task_definition,
                    current_mode=self._standalone_mode(tasks, task_definition, has_ec2_capacity),
                    running_count=sum(1 for task in tasks if task.get("lastStatus") == "RUNNING"),
                )
            )
        return tuple(standalone)

    @staticmethod
    def _standalone_mode(
        tasks: Sequence[dict[str, Any]], task_definition: TaskDefinitionInfo, has_ec2_capacity: bool
    ) -> LaunchMode:
        """Where the family's tasks run now (majority), else where its task definition allows it to run."""
        votes: dict[LaunchMode, int] = {}
        for task in tasks:
            if task.get("capacityProviderName"):
                mode = mode_of_provider(task["capacityProviderName"])
            elif task.get("launchType"):
                mode = _mode_of_launch_type(task["launchType"])
            else:
                continue
            votes[mode] = votes.get(mode, 0) + 1
        voted = dominant_mode(votes)
        if voted is not None:
            return voted
        # Nothing runs now: where the task definition can run. `compatibilities` is ECS's own verdict
        # (host networking, say, makes a definition EC2-only whatever it requires).
        compatible = set(task_definition.compatibilities or task_definition.requires_compatibilities)
        if compatible == {"FARGATE"}:
            return LaunchMode.FARGATE
        if compatible == {"EXTERNAL"}:
            return LaunchMode.EXTERNAL
        if compatible and "FARGATE" not in compatible:
            return LaunchMode.EC2
        return LaunchMode.EC2 if has_ec2_capacity else LaunchMode.FARGATE


__all__ = [
    "DESCRIBE_CONTAINER_INSTANCES_BATCH",
    "DESCRIBE_INSTANCES_BATCH",
    "DESCRIBE_SERVICES_BATCH",
    "DESCRIBE_TASKS_BATCH",
    "EcsInventoryReader",
]
