"""Seeding toolkit: ECS clusters, services and CloudWatch series written through the real AWS APIs.

Works against any endpoint (the demo's local AWS, moto in tests). Everything goes through boto3 calls
a real account would accept; moto's departures are noted where they shape a call.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np

PERIOD_SECONDS = 300
LOOKBACK_DAYS = 14
SECONDS_PER_DAY = 86_400
PUT_METRIC_DATA_MAX_ITEMS = 1_000  # CloudWatch's limit per PutMetricData call
DEFAULT_SEED = 20_261_101

AWS_ECS = "AWS/ECS"
CONTAINER_INSIGHTS = "ECS/ContainerInsights"

Architecture = Literal["x86_64", "arm64"]
SizedAt = Literal["task", "containers"]


@dataclass(frozen=True, slots=True)
class AwsVpc:
    """Subnets and security groups for awsvpc services (moto crashes without securityGroups)."""

    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]

    def as_network_configuration(self) -> dict[str, Any]:
        return {
            "awsvpcConfiguration": {
                "subnets": list(self.subnets),
                "securityGroups": list(self.security_groups),
                "assignPublicIp": "DISABLED",
            }
        }


@dataclass(frozen=True, slots=True)
class Ec2ClusterSeed:
    name: str
    arn: str
    instance_type: str
    instance_ids: tuple[str, ...]
    container_instance_arns: tuple[str, ...]
    registered_cpu_units: int  # summed over instances, as the endpoint registered them
    registered_memory_mib: int


# --------------------------------------------------------------------------- time grid


@dataclass(frozen=True, slots=True)
class Timeline:
    """A regular grid: point i covers [start + i·period, start + (i+1)·period)."""

    start: datetime
    period_seconds: int
    count: int

    @classmethod
    def ending(cls, now: datetime, days: float = LOOKBACK_DAYS, period_seconds: int = PERIOD_SECONDS) -> Timeline:
        """`days` of periods ending at `now` floored to the period (UTC)."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        epoch = int(now.timestamp())
        end = datetime.fromtimestamp(epoch - epoch % period_seconds, tz=UTC)
        count = round(days * SECONDS_PER_DAY / period_seconds)
        return cls(start=end - timedelta(seconds=count * period_seconds), period_seconds=period_seconds, count=count)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.count * self.period_seconds)

    @property
    def periods_per_day(self) -> float:
        return SECONDS_PER_DAY / self.period_seconds

    def seconds_of_day(self) -> np.ndarray:
        """Seconds since UTC midnight at the start of every period."""
        offset = self.start.hour * 3600 + self.start.minute * 60 + self.start.second
        return (offset + np.arange(self.count) * self.period_seconds) % SECONDS_PER_DAY

    def at(self, index: int) -> datetime:
        return self.start + timedelta(seconds=index * self.period_seconds)


# --------------------------------------------------------------------------- shapes (fixed RNG seed)


def _as_list(values: np.ndarray, running: np.ndarray | None = None) -> list[float | None]:
    out: list[float | None] = [float(v) for v in values.tolist()]
    if running is not None:
        out = [v if on else None for v, on in zip(out, running.tolist(), strict=True)]
    return out


def steady(timeline: Timeline, level: float, noise: float, *, seed: int = DEFAULT_SEED) -> list[float | None]:
    """A level with gaussian noise (relative: noise 0.1 = 10 % of level), never below zero."""
    rng = np.random.default_rng(seed)
    values = level * (1.0 + noise * rng.standard_normal(timeline.count))
    return _as_list(np.clip(values, 0.0, None))


def bursty(
    timeline: Timeline,
    base: float,
    peak: float,
    bursts_per_day: float,
    burst_minutes: float,
    *,
    noise: float = 0.05,
    seed: int = DEFAULT_SEED,
) -> list[float | None]:
    """A base level with bursts to `peak` starting at random times, each lasting `burst_minutes`."""
    rng = np.random.default_rng(seed)
    values = base * (1.0 + noise * rng.standard_normal(timeline.count))
    burst_periods = max(1, math.ceil(burst_minutes * 60 / timeline.period_seconds))
    bursts = rng.poisson(bursts_per_day * timeline.count / timeline.periods_per_day)
    for start in rng.integers(0, timeline.count, size=bursts):
        height = peak * (1.0 + noise * rng.standard_normal())
        values[start : start + burst_periods] = np.maximum(values[start : start + burst_periods], height)
    return _as_list(np.clip(values, 0.0, None))


def periodic(
    timeline: Timeline,
    level: float,
    run_minutes: float,
    *,
    daily_at_hour: int | None = None,
    every_hour: bool = False,
    noise: float = 0.05,
    seed: int = DEFAULT_SEED,
) -> list[float | None]:
    """Runs `run_minutes` from each full hour (every_hour) or daily from `daily_at_hour` UTC.

    None where nothing runs: CloudWatch has no datapoint then.
    """
    if (daily_at_hour is None) == (not every_hour):
        raise ValueError("give exactly one of daily_at_hour or every_hour")
    rng = np.random.default_rng(seed)
    seconds = timeline.seconds_of_day()
    if every_hour:
        running = (seconds % 3600) < run_minutes * 60
    else:
        assert daily_at_hour is not None
        since_start = (seconds - daily_at_hour * 3600) % SECONDS_PER_DAY
        running = since_start < run_minutes * 60
    values = np.clip(level * (1.0 + noise * rng.standard_normal(timeline.count)), 0.0, None)
    return _as_list(values, running)


def idle(timeline: Timeline, level: float = 0.3, noise: float = 0.3, *, seed: int = DEFAULT_SEED) -> list[float | None]:
    """Something running but doing almost nothing (CPU a fraction of a percent)."""
    return steady(timeline, level, noise, seed=seed)


def short(timeline: Timeline, values: Sequence[float | None], days: float) -> list[float | None]:
    """Only the last `days` of `values` (a workload created recently): None before it existed."""
    keep = round(days * timeline.periods_per_day)
    cut = max(0, len(values) - keep)
    return [None] * cut + list(values[cut:])


def counts(values: Sequence[float | None]) -> list[float | None]:
    """Round a shape to whole task counts; None stays None."""
    return [None if v is None else float(max(0, round(v))) for v in values]


# --------------------------------------------------------------------------- CloudWatch


def dimensions(**names: str) -> list[dict[str, str]]:
    return [{"Name": name, "Value": value} for name, value in names.items()]


def put_series(
    cloudwatch: Any,
    namespace: str,
    metric_name: str,
    dimensions: Sequence[Mapping[str, str]],
    start: datetime,
    period_seconds: int,
    values: Sequence[float | None],
    sample_counts: Sequence[float | None] | None = None,
    *,
    spreads: Sequence[float] | None = None,
    unit: str | None = None,
) -> int:
    """Write one datapoint per period with StatisticValues; None (or a zero sample count) writes none.

    values[i] is the period's average; Sum = average × SampleCount; Minimum/Maximum sit `spreads[i]`
    (relative, default 0) below/above it. SampleCount defaults to one sample per minute.
    Returns how many datapoints were written, in calls of at most 1,000 items.
    """
    default_samples = max(1.0, period_seconds / 60)
    items: list[dict[str, Any]] = []
    for i, value in enumerate(values):
        samples = default_samples if sample_counts is None else sample_counts[i]
        if value is None or samples is None or samples <= 0:
            continue
        spread = 0.0 if spreads is None else spreads[i]
        item: dict[str, Any] = {
            "MetricName": metric_name,
            "Dimensions": [dict(d) for d in dimensions],
            "Timestamp": start + timedelta(seconds=i * period_seconds),
            "StatisticValues": {
                "SampleCount": float(samples),
                "Sum": float(value) * float(samples),
                "Minimum": max(0.0, float(value) * (1.0 - spread)),
                "Maximum": float(value) * (1.0 + spread),
            },
        }
        if unit is not None:
            item["Unit"] = unit
        items.append(item)
    for first in range(0, len(items), PUT_METRIC_DATA_MAX_ITEMS):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=items[first : first + PUT_METRIC_DATA_MAX_ITEMS])
    return len(items)


def _spreads(count: int, low: float, high: float, seed: int) -> list[float]:
    return np.random.default_rng(seed).uniform(low, high, count).tolist()


def put_service_metrics(
    cloudwatch: Any,
    timeline: Timeline,
    cluster: str,
    service: str,
    tasks: Sequence[float | None],
    cpu_pct: Sequence[float | None],
    memory_pct: Sequence[float | None],
    *,
    container_insights: bool,
    seed: int = DEFAULT_SEED,
) -> int:
    """AWS/ECS CPU/MemoryUtilization at ClusterName+ServiceName; with Container Insights, RunningTaskCount.

    Utilisation SampleCount = tasks × (period / 60): one sample per running task per minute. Periods
    where no task runs (0 or None) have no utilisation datapoint at all. RunningTaskCount reports 0
    while the service exists with no task (None = the service did not exist yet).
    """
    dims = dimensions(ClusterName=cluster, ServiceName=service)
    per_minute = timeline.period_seconds / 60
    samples = [None if n is None or n <= 0 else n * per_minute for n in tasks]
    written = put_series(
        cloudwatch,
        AWS_ECS,
        "CPUUtilization",
        dims,
        timeline.start,
        timeline.period_seconds,
        [v if s else None for v, s in zip(cpu_pct, samples, strict=True)],
        samples,
        spreads=_spreads(timeline.count, 0.05, 0.5, seed),
        unit="Percent",
    )
    written += put_series(
        cloudwatch,
        AWS_ECS,
        "MemoryUtilization",
        dims,
        timeline.start,
        timeline.period_seconds,
        [v if s else None for v, s in zip(memory_pct, samples, strict=True)],
        samples,
        spreads=_spreads(timeline.count, 0.01, 0.1, seed + 1),
        unit="Percent",
    )
    if container_insights:
        written += put_series(
            cloudwatch,
            CONTAINER_INSIGHTS,
            "RunningTaskCount",
            dims,
            timeline.start,
            timeline.period_seconds,
            tasks,
            unit="Count",
        )
    return written


# --------------------------------------------------------------------------- ECS and EC2


def container_insights_settings(enabled: bool) -> list[dict[str, str]]:
    return [{"name": "containerInsights", "value": "enabled" if enabled else "disabled"}]


def set_container_insights(ecs: Any, cluster: str, enabled: bool) -> None:
    ecs.update_cluster(cluster=cluster, settings=container_insights_settings(enabled))


def create_fargate_cluster(
    ecs: Any,
    name: str,
    *,
    container_insights: bool = False,
    default_strategy: Sequence[Mapping[str, Any]] = (),
) -> str:
    """A cluster with only the FARGATE and FARGATE_SPOT capacity providers; returns its ARN."""
    kwargs: dict[str, Any] = {
        "clusterName": name,
        "settings": container_insights_settings(container_insights),
        "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
    }
    if default_strategy:
        kwargs["defaultCapacityProviderStrategy"] = [dict(item) for item in default_strategy]
    return str(ecs.create_cluster(**kwargs)["cluster"]["clusterArn"])


def ecs_optimized_image_id(ec2: Any, architecture: Architecture = "x86_64") -> str:
    """An Amazon Linux ECS-optimised AMI the endpoint knows (moto ships a catalog of real ones).

    The AMI matters in moto: its `platform` becomes the container instance's ecs.os-type.
    """
    images = ec2.describe_images(
        Owners=["amazon"],
        Filters=[
            {"Name": "name", "Values": ["amzn2-ami-ecs-hvm-*", "al2023-ami-ecs-hvm-*"]},
            {"Name": "architecture", "Values": [architecture]},
        ],
    )["Images"]
    linux = sorted((i for i in images if not i.get("Platform")), key=lambda i: i.get("Name", ""))
    if not linux:
        raise LookupError(f"no Amazon Linux ECS-optimised {architecture} AMI at this endpoint")
    return str(linux[-1]["ImageId"])


def create_ec2_cluster(
    ecs: Any,
    ec2: Any,
    name: str,
    *,
    instance_type: str,
    instance_count: int,
    container_insights: bool = False,
    spot: bool = False,
    architecture: Architecture = "x86_64",
    image_id: str | None = None,
) -> Ec2ClusterSeed:
    """An EC2-backed cluster with `instance_count` instances of `instance_type` registered to it.

    Each instance is launched with ec2.run_instances (spot via InstanceMarketOptions) and registered
    with an instance identity document naming it (moto needs only `instanceId`, and the id must be a
    real instance of its EC2 backend). moto ignores totalResources and registers 4096 CPU / 7482 MiB
    whatever the type: read what was registered from the result, never assume the type's size.
    """
    cluster_arn = str(
        ecs.create_cluster(clusterName=name, settings=container_insights_settings(container_insights))["cluster"][
            "clusterArn"
        ]
    )
    run_kwargs: dict[str, Any] = {
        "ImageId": image_id or ecs_optimized_image_id(ec2, architecture),
        "MinCount": instance_count,
        "MaxCount": instance_count,
        "InstanceType": instance_type,
        "TagSpecifications": [
            {
                "ResourceType": "instance",
                "Tags": [
                    {"Key": "Name", "Value": f"{name}-ecs"},
                    {"Key": "modeshift:lifecycle", "Value": "spot" if spot else "on-demand"},
                ],
            }
        ],
    }
    if spot:
        run_kwargs["InstanceMarketOptions"] = {"MarketType": "spot"}
    instances = ec2.run_instances(**run_kwargs)["Instances"]
    instance_ids = tuple(str(i["InstanceId"]) for i in instances)

    arns: list[str] = []
    cpu_total = memory_total = 0
    ecs_arch = "arm64" if architecture == "arm64" else "x86_64"
    for instance in instances:
        document = {
            "instanceId": instance["InstanceId"],
            "instanceType": instance_type,
            "imageId": instance.get("ImageId"),
            "availabilityZone": instance.get("Placement", {}).get("AvailabilityZone"),
            "region": ec2.meta.region_name,
            "architecture": ecs_arch,
        }
        registered = ecs.register_container_instance(
            cluster=name,
            instanceIdentityDocument=json.dumps(document),
        )["containerInstance"]
        arn = str(registered["containerInstanceArn"])
        arns.append(arn)
        resources = {r["name"]: r.get("integerValue", 0) for r in registered.get("registeredResources", [])}
        cpu_total += int(resources.get("CPU", 0))
        memory_total += int(resources.get("MEMORY", 0))
        # targetId as the full ARN without targetType: real ECS accepts it, and moto rejects an ARN
        # when targetType is given (it then wants the bare id).
        ecs.put_attributes(
            cluster=name,
            attributes=[
                {"name": "ecs.instance-type", "value": instance_type, "targetId": arn},
                {"name": "ecs.cpu-architecture", "value": ecs_arch, "targetId": arn},
            ],
        )
    return Ec2ClusterSeed(
        name=name,
        arn=cluster_arn,
        instance_type=instance_type,
        instance_ids=instance_ids,
        container_instance_arns=tuple(arns),
        registered_cpu_units=cpu_total,
        registered_memory_mib=memory_total,
    )


def create_network(ec2: Any, cidr: str = "10.42.0.0/16") -> AwsVpc:
    """A VPC, one subnet and one security group for awsvpc (Fargate) services."""
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr.replace("0.0/16", "1.0/24"))["Subnet"]["SubnetId"]
    group_id = ec2.create_security_group(GroupName="modeshift-demo", Description="modeshift demo", VpcId=vpc_id)[
        "GroupId"
    ]
    return AwsVpc(subnets=(str(subnet_id),), security_groups=(str(group_id),))


def register_task_definition(
    ecs: Any,
    family: str,
    *,
    cpu_units: int,
    memory_mib: int,
    sized_at: SizedAt = "task",
    architecture: Architecture = "x86_64",
    compatibilities: Sequence[str] = ("EC2",),
    image: str = "public.ecr.aws/docker/library/nginx:stable",
    network_mode: str | None = None,
    gpus: int = 0,
) -> str:
    """A one-container task definition sized at task level, or at container level only (EC2 only).

    `network_mode` defaults to awsvpc for Fargate and to unset (ECS reads bridge) otherwise; `gpus`
    adds a GPU `resourceRequirements` entry to the container (EC2 only: Fargate offers no GPU).
    """
    container: dict[str, Any] = {"name": "app", "image": image, "essential": True}
    if gpus:
        if "FARGATE" in compatibilities:
            raise ValueError("Fargate task definitions cannot ask for a GPU (ECS rejects them)")
        container["resourceRequirements"] = [{"type": "GPU", "value": str(gpus)}]
    kwargs: dict[str, Any] = {
        "family": family,
        "requiresCompatibilities": list(compatibilities),
        "runtimePlatform": {
            "cpuArchitecture": "ARM64" if architecture == "arm64" else "X86_64",
            "operatingSystemFamily": "LINUX",
        },
    }
    if network_mode is not None:
        kwargs["networkMode"] = network_mode
    elif "FARGATE" in compatibilities:
        kwargs["networkMode"] = "awsvpc"
    if sized_at == "task":
        kwargs["cpu"] = str(cpu_units)
        kwargs["memory"] = str(memory_mib)
        container["memory"] = memory_mib  # moto's Fargate RunTask insists on container-level memory
    else:
        if "FARGATE" in compatibilities:
            raise ValueError("Fargate task definitions need a task-level size")
        container["cpu"] = cpu_units
        container["memory"] = memory_mib
    kwargs["containerDefinitions"] = [container]
    return str(ecs.register_task_definition(**kwargs)["taskDefinition"]["taskDefinitionArn"])


def create_service(
    ecs: Any,
    cluster: str,
    name: str,
    task_definition: str,
    *,
    desired_count: int,
    launch_type: str | None = None,
    capacity_provider_strategy: Sequence[Mapping[str, Any]] = (),
    tags: Mapping[str, str] | None = None,
    network: AwsVpc | None = None,
) -> str:
    """A service by launch type or by capacity provider strategy (e.g. FARGATE_SPOT); returns its ARN.

    moto drops capacityProviderStrategy and reports such a service with launchType EC2, and never
    starts its tasks (runningCount stays 0): the metrics carry the running picture.
    """
    if launch_type and capacity_provider_strategy:
        raise ValueError("give launch_type or capacity_provider_strategy, not both (ECS rejects both)")
    kwargs: dict[str, Any] = {
        "cluster": cluster,
        "serviceName": name,
        "taskDefinition": task_definition,
        "desiredCount": desired_count,
    }
    if launch_type:
        kwargs["launchType"] = launch_type
    if capacity_provider_strategy:
        kwargs["capacityProviderStrategy"] = [dict(item) for item in capacity_provider_strategy]
    if tags:
        kwargs["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
    if network is not None:
        kwargs["networkConfiguration"] = network.as_network_configuration()
    return str(ecs.create_service(**kwargs)["service"]["serviceArn"])
