"""Typed values the pure core passes around: inventory, usage series, features, prices and verdicts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # numpy costs ~90 ms of cold start; the ingest handler never needs it
    import numpy as np

HOURS_PER_MONTH = 730.0
CPU_UNITS_PER_VCPU = 1024
MIB_PER_GIB = 1024


class LaunchMode(StrEnum):
    EC2 = "EC2"
    FARGATE = "FARGATE"
    FARGATE_SPOT = "FARGATE_SPOT"
    # ECS Anywhere: the operator's own hardware, registered as `mi-…` instances. Never recommended.
    EXTERNAL = "EXTERNAL"
    # ECS Managed Instances: EC2 instances AWS provisions, patches and scales, for the instance price + a fee.
    MANAGED_INSTANCES = "MANAGED_INSTANCES"


# The modes a verdict may recommend (EXTERNAL is only ever where a workload already is).
RECOMMENDABLE_MODES = (LaunchMode.EC2, LaunchMode.FARGATE, LaunchMode.FARGATE_SPOT, LaunchMode.MANAGED_INSTANCES)
# Modes billed per instance: a workload there pays a share of its cluster's instances.
INSTANCE_MODES = (LaunchMode.EC2, LaunchMode.EXTERNAL, LaunchMode.MANAGED_INSTANCES)


class Goal(StrEnum):
    PRICE = "price"
    OVERHEAD = "overhead"
    BALANCED = "balanced"


class Pattern(StrEnum):
    STEADY = "steady"
    BURSTY = "bursty"
    PERIODIC = "periodic"
    IDLE = "idle"
    INSUFFICIENT_DATA = "insufficient_data"


class Architecture(StrEnum):
    X86_64 = "x86_64"
    ARM64 = "arm64"


class WorkloadVerdictKind(StrEnum):
    KEEP = "keep"
    MOVE_TO_FARGATE = "move_to_fargate"
    MOVE_TO_FARGATE_SPOT = "move_to_fargate_spot"
    MOVE_TO_EC2 = "move_to_ec2"
    MOVE_TO_MANAGED_INSTANCES = "move_to_managed_instances"
    # same launch mode, a cheaper task shape: a smaller size and/or ARM64 (Graviton)
    RIGHTSIZE = "rightsize"
    # idle: what its idle capacity costs, down to one task of the smallest size that holds it
    SCALE_IN = "scale_in"
    INSUFFICIENT_DATA = "insufficient_data"


# Verdicts that change the launch mode.
MOVE_VERDICTS = frozenset(
    {
        WorkloadVerdictKind.MOVE_TO_FARGATE,
        WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT,
        WorkloadVerdictKind.MOVE_TO_EC2,
        WorkloadVerdictKind.MOVE_TO_MANAGED_INSTANCES,
    }
)
# Verdicts that are an action with a saving (a move, a resize or a scale-in).
ACTION_VERDICTS = MOVE_VERDICTS | {WorkloadVerdictKind.RIGHTSIZE, WorkloadVerdictKind.SCALE_IN}


class ClusterVerdictKind(StrEnum):
    KEEP = "keep"
    TUNE_CAPACITY = "tune_capacity"
    MOVE_WORKLOADS_TO_FARGATE = "move_workloads_to_fargate"
    NO_EC2_CAPACITY = "no_ec2_capacity"
    INSUFFICIENT_DATA = "insufficient_data"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- inventory


class TaskSize(_Model):
    """What one task reserves: CPU units (1 vCPU = 1024) and MiB."""

    cpu_units: int = Field(ge=0)
    memory_mib: int = Field(ge=0)
    sized_from: Literal["task", "containers"] = "task"

    @property
    def vcpu(self) -> float:
        return self.cpu_units / CPU_UNITS_PER_VCPU

    @property
    def memory_gib(self) -> float:
        return self.memory_mib / MIB_PER_GIB


class TaskDefinitionInfo(_Model):
    arn: str
    family: str
    revision: int = 0
    task_cpu_units: int | None = None
    task_memory_mib: int | None = None
    container_cpu_units: int = 0
    container_memory_mib: int = 0
    architecture: Architecture = Architecture.X86_64
    os_family: str = "LINUX"
    requires_compatibilities: tuple[str, ...] = ()
    # What ECS itself validated the definition for (`compatibilities`); empty when not reported.
    compatibilities: tuple[str, ...] = ()
    # None: not declared, which means "bridge" for Linux tasks on EC2.
    network_mode: str | None = None
    ipc_mode: str | None = None
    pid_mode: str | None = None
    placement_constraints: tuple[str, ...] = ()
    gpu_count: int = 0
    inference_accelerator_count: int = 0
    # Container-level parameters set (truthy) in any container, e.g. "privileged", "links",
    # "linuxParameters.devices": the facts feasibility rules are written against.
    container_parameters: tuple[str, ...] = ()
    capabilities_added: tuple[str, ...] = ()
    # One entry per volume: "docker", "host" (a host sourcePath), "bind", "efs", "fsx_windows".
    volume_kinds: tuple[str, ...] = ()

    def size(self) -> TaskSize | None:
        """Task-level size when declared, else the sum over containers (EC2 containers-only sizing)."""
        if self.task_cpu_units is not None and self.task_memory_mib is not None:
            return TaskSize(cpu_units=self.task_cpu_units, memory_mib=self.task_memory_mib, sized_from="task")
        cpu = self.task_cpu_units if self.task_cpu_units is not None else self.container_cpu_units
        mem = self.task_memory_mib if self.task_memory_mib is not None else self.container_memory_mib
        if mem <= 0:
            return None
        return TaskSize(cpu_units=cpu, memory_mib=mem, sized_from="containers")

    @property
    def is_windows(self) -> bool:
        return self.os_family.upper().startswith("WINDOWS")


class ContainerInstanceInfo(_Model):
    arn: str
    ec2_instance_id: str | None = None
    instance_type: str | None = None
    lifecycle: Literal["on-demand", "spot"] = "on-demand"
    registered_cpu_units: int = 0
    registered_memory_mib: int = 0
    # None when AWS did not report it (an instance still registering, some agent versions): unknown,
    # never "nothing remaining".
    remaining_cpu_units: int | None = None
    remaining_memory_mib: int | None = None
    running_tasks_count: int = 0
    pending_tasks_count: int = 0
    status: str = "ACTIVE"
    capacity_provider_name: str | None = None

    @property
    def external(self) -> bool:
        """An ECS Anywhere instance (`mi-…`): the operator's own hardware, not EC2."""
        return (self.ec2_instance_id or "").startswith("mi-")


class CapacityProviderStrategyItem(_Model):
    capacity_provider: str
    weight: int = 0
    base: int = 0


class ServiceInfo(_Model):
    cluster: str
    name: str
    arn: str
    task_definition: TaskDefinitionInfo
    current_mode: LaunchMode
    launch_type: str | None = None
    capacity_provider_strategy: tuple[CapacityProviderStrategyItem, ...] = ()
    desired_count: int = 0
    running_count: int = 0
    tags: dict[str, str] = Field(default_factory=dict)
    scheduling_strategy: Literal["REPLICA", "DAEMON"] = "REPLICA"
    deployment_controller: str = "ECS"
    placement_constraints: tuple[str, ...] = ()
    platform_version: str | None = None
    load_balanced: bool = False
    # Tasks per mode at the desired count, as AWS places a capacity-provider strategy (base, then weight).
    current_mix: dict[LaunchMode, int] = Field(default_factory=dict)

    @property
    def daemon(self) -> bool:
        return self.scheduling_strategy == "DAEMON"


class StandaloneFamilyInfo(_Model):
    """A task family run outside any service (RunTask, scheduled tasks, batch)."""

    cluster: str
    family: str
    task_definition: TaskDefinitionInfo
    current_mode: LaunchMode
    running_count: int = 0


class ClusterInventory(_Model):
    name: str
    arn: str
    container_insights: bool = False
    capacity_providers: tuple[str, ...] = ()
    default_capacity_provider_strategy: tuple[CapacityProviderStrategyItem, ...] = ()
    container_instances: tuple[ContainerInstanceInfo, ...] = ()
    services: tuple[ServiceInfo, ...] = ()
    standalone_families: tuple[StandaloneFamilyInfo, ...] = ()
    # managed scaling's targetCapacity of the cluster's EC2 capacity providers (lowest when several);
    # None when no provider uses managed scaling
    target_capacity_pct: float | None = None
    # capacity providers of type MANAGED_INSTANCES (ECS Managed Instances)
    managed_instances_providers: tuple[str, ...] = ()

    @property
    def has_ec2_capacity(self) -> bool:
        return len(self.container_instances) > 0

    @property
    def has_ec2_capacity_provider(self) -> bool:
        """Whether tasks could be placed on EC2 here without creating capacity first."""
        own = [
            p
            for p in self.capacity_providers
            if p not in ("FARGATE", "FARGATE_SPOT") and p not in self.managed_instances_providers
        ]
        return bool(own) or any(
            not i.external and i.capacity_provider_name not in self.managed_instances_providers
            for i in self.container_instances
        )


# --------------------------------------------------------------------------- usage


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """A regular time series: values[i] covers [start + i*period, start + (i+1)*period).

    NaN means CloudWatch returned no datapoint for that period: "no data", never zero.
    """

    start: datetime
    period_seconds: int
    values: np.ndarray

    def __post_init__(self) -> None:
        if self.period_seconds <= 0:
            raise ValueError("period_seconds must be positive")

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def present(self) -> int:
        import numpy as np

        return int(np.count_nonzero(~np.isnan(self.values)))


TaskCountSource = Literal[
    "container_insights",
    "cpu_samplecount",
    "cpu_samplecount_calibrated",
    "container_insights_memory_reserved",
    "task_ledger",
    "none",
]


@dataclass(frozen=True, slots=True)
class WorkloadUsage:
    """The time series collected for one workload over the lookback (any may be None)."""

    cpu_avg_pct: MetricSeries | None = None
    cpu_max_pct: MetricSeries | None = None
    memory_avg_pct: MetricSeries | None = None
    memory_max_pct: MetricSeries | None = None
    task_count: MetricSeries | None = None
    task_count_source: TaskCountSource = "none"
    # periods observed as a whole (the lookback), so coverage can be computed
    expected_periods: int = 0


@dataclass(frozen=True, slots=True)
class ClusterUsage:
    cpu_reservation_pct: MetricSeries | None = None
    memory_reservation_pct: MetricSeries | None = None
    instance_count: MetricSeries | None = None
    expected_periods: int = 0


class WorkloadFeatures(_Model):
    """What classification measured; every figure that fed the pattern is here, None when unmeasurable."""

    pattern: Pattern
    coverage: float = Field(ge=0.0, le=1.0, description="fraction of lookback periods with a datapoint")
    data_span_hours: float = 0.0
    duty_cycle: float | None = None
    avg_tasks: float | None = None
    median_tasks: float | None = None
    p95_tasks: float | None = None
    peak_tasks: float | None = None
    peak_to_median: float | None = None
    variability_cv: float | None = None
    cpu_avg_pct: float | None = None
    cpu_p95_pct: float | None = None
    cpu_peak_to_median: float | None = None
    memory_avg_pct: float | None = None
    memory_max_pct: float | None = None
    # p99 of the per-period CPU Maximum (percent of the task's CPU): what right-sizing holds CPU to
    cpu_max_p99_pct: float | None = None
    daily_recurrence: float | None = None
    hourly_recurrence: float | None = None
    reasons: tuple[str, ...] = ()


# --------------------------------------------------------------------------- prices


class FargateRates(_Model):
    """USD per vCPU-hour and per GB-hour for one region, architecture and capacity."""

    vcpu_hour_usd: float = Field(gt=0)
    gb_hour_usd: float = Field(gt=0)


class PriceQuote(_Model):
    """A priced amount with the arithmetic a person can check by hand."""

    monthly_cost_usd: float
    arithmetic: str
    source: str = "embedded"


# --------------------------------------------------------------------------- verdicts


def round_usd(value: float) -> float:
    return float(round(value + 0.0, 2))


def clamp01(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return max(0.0, min(1.0, value))


CpuArchitectureName = Literal["X86_64", "ARM64"]


def architecture_name(architecture: Architecture) -> CpuArchitectureName:
    """The task definition's spelling (`runtimePlatform.cpuArchitecture`) of an architecture."""
    return "ARM64" if architecture is Architecture.ARM64 else "X86_64"


class Alternative(_Model):
    """A candidate the verdict did not choose, with what it would cost and why not (in words)."""

    mode: LaunchMode
    architecture: CpuArchitectureName
    task_size: dict[str, int]
    monthly_cost_usd: float = Field(ge=0)
    changes_needed: tuple[str, ...] = ()
    why_not: str


class WorkloadVerdict(_Model):
    cluster: str
    workload: str
    service: str | None
    task_family: str
    verdict: WorkloadVerdictKind
    current_mode: LaunchMode
    recommended_mode: LaunchMode
    pattern: Pattern
    current_monthly_cost_usd: float
    recommended_monthly_cost_usd: float
    monthly_savings_usd: float
    confidence: float = Field(ge=0.0, le=1.0)
    reasons: tuple[str, ...]
    arithmetic: tuple[str, ...] = ()
    evidence: dict[str, Any] = Field(default_factory=dict)
    # tasks per mode today (a capacity-provider strategy can split a service); {} when unknown
    current_mix: dict[LaunchMode, int] = Field(default_factory=dict)
    # the task shape the recommendation is priced at ({cpu_units, memory_mib}); None when unsized
    recommended_task_size: dict[str, int] | None = None
    recommended_architecture: CpuArchitectureName | None = None
    # the next best candidates (up to 3), cheapest first
    alternatives: tuple[Alternative, ...] = ()
    # where the cluster lives (schema 2.1); None in documents written before a verdict named them
    account: str | None = None
    region: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> WorkloadVerdict:
        """A verdict that cannot be true cannot be built: no negative cost, no saving that is not
        current − recommended, no move to a mode its own feasibility forbids."""
        if self.current_monthly_cost_usd < 0 or self.recommended_monthly_cost_usd < 0:
            raise ValueError("a monthly cost cannot be negative")
        expected = self.current_monthly_cost_usd - self.recommended_monthly_cost_usd
        if abs(self.monthly_savings_usd - expected) > 0.011:
            raise ValueError(
                f"monthly_savings_usd {self.monthly_savings_usd} is not current − recommended ({expected:.2f})"
            )
        kind = self.verdict
        if kind in (WorkloadVerdictKind.KEEP, WorkloadVerdictKind.INSUFFICIENT_DATA):
            if self.recommended_mode is not self.current_mode or self.monthly_savings_usd != 0:
                raise ValueError(f"a {kind.value} verdict recommends the current mode and saves nothing")
        elif kind in (WorkloadVerdictKind.RIGHTSIZE, WorkloadVerdictKind.SCALE_IN):
            if self.recommended_mode is not self.current_mode or self.monthly_savings_usd <= 0:
                raise ValueError(f"a {kind.value} verdict keeps the mode and saves money")
        elif self.recommended_mode is self.current_mode or self.monthly_savings_usd <= 0:
            raise ValueError(f"a {kind.value} verdict changes the mode and saves money")
        elif kind.value != f"move_to_{self.recommended_mode.value.lower()}":
            raise ValueError(f"a {kind.value} verdict cannot recommend {self.recommended_mode.value}")
        if self.recommended_mode is not self.current_mode:
            if self.recommended_mode not in RECOMMENDABLE_MODES:
                raise ValueError(f"{self.recommended_mode.value} is never a recommendation")
            feasibility = self.evidence.get("feasibility")
            if isinstance(feasibility, dict):
                target = feasibility.get(self.recommended_mode.value)
                if not isinstance(target, dict) or not target.get("ok"):
                    blockers = target.get("blockers") if isinstance(target, dict) else None
                    raise ValueError(
                        f"{self.recommended_mode.value} is not feasible for {self.workload}: {blockers or 'unknown'}"
                    )
        return self


class ClusterVerdict(_Model):
    cluster: str
    verdict: ClusterVerdictKind
    instance_count: int
    instance_types: dict[str, int] = Field(default_factory=dict)
    idle_instance_count: int = 0
    monthly_cost_usd: float
    wasted_monthly_cost_usd: float
    cpu_reservation_pct: float | None
    memory_reservation_pct: float | None
    binding_resource: Literal["cpu", "memory"] | None = None
    recommended_instance_count: int | None = None
    monthly_savings_usd: float = 0.0
    confidence: float = Field(ge=0.0, le=1.0, default=0.0)
    reasons: tuple[str, ...]
    arithmetic: tuple[str, ...] = ()
    evidence: dict[str, Any] = Field(default_factory=dict)
    account: str | None = None
    region: str | None = None


class ClusterError(_Model):
    """A cluster (or, with cluster "*", a whole account and region) that could not be analysed."""

    cluster: str
    error: str
    missing_permission: str | None = None
    account: str | None = None
    region: str | None = None
