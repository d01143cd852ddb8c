"""The knobs of classification and policy, as validated values with documented defaults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from modeshift.domain.models import Goal


class Thresholds(BaseModel):
    """Named thresholds of workload classification (see README, "How workloads are classified")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # data coverage: fewer present periods or a shorter span than this is insufficient_data
    min_present_periods: int = Field(default=36, ge=1)
    min_span_hours: float = Field(default=72.0, ge=0)
    # idle: a workload whose CPU p95 (of the per-period average) stays below this, in percent
    idle_cpu_p95_pct: float = Field(default=2.0, ge=0)
    # periodic: runs at most this share of the time, and recurs (autocorrelation at 1 h or 24 h)
    periodic_max_duty_cycle: float = Field(default=0.6, gt=0, le=1)
    periodic_min_recurrence: float = Field(default=0.5, gt=0, le=1)
    # bursty: task-count peak (p99) over median, or coefficient of variation, at or above these
    bursty_peak_to_median: float = Field(default=2.5, gt=1)
    bursty_cv: float = Field(default=0.5, gt=0)
    # bursty also when CPU p99 of the per-period maximum exceeds this multiple of the median average
    bursty_cpu_peak_to_median: float = Field(default=4.0, gt=1)
    # an intermittent workload (runs less than this share of the time) with no recurrence is bursty
    bursty_max_duty_cycle: float = Field(default=0.6, gt=0, le=1)


class PolicyOptions(BaseModel):
    """What the operator told modeshift about their priorities and discounts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    goal: Goal = Goal.BALANCED
    # operator time per EC2 instance-hour (patching, AMIs, scaling); counted fully for balanced and
    # overhead, not at all for price
    operator_cost_per_instance_hour_usd: float = Field(default=0.02, ge=0)
    ec2_discount_pct: float = Field(default=0.0, ge=0, lt=100)
    fargate_discount_pct: float = Field(default=0.0, ge=0, lt=100)
    # realised discount of EC2 Spot instances against on-demand (AWS-FACTS: ~55-62 % on c5)
    ec2_spot_discount_pct: float = Field(default=55.0, ge=0, lt=100)
    min_savings_usd: float = Field(default=10.0, ge=0)
    min_savings_pct: float = Field(default=10.0, ge=0, le=100)
    # capacity kept free across an EC2 fleet, percent: 100 − the capacity provider's target capacity
    # (ECS managed scaling defaults to a target of 100 %, hence 0)
    headroom_pct: float = Field(default=0.0, ge=0, lt=100)
    # right-sizing headroom above the measured peaks (CPU: p99 of per-period max; memory: observed max)
    cpu_headroom_pct: float = Field(default=20.0, ge=0, le=400)
    memory_headroom_pct: float = Field(default=20.0, ge=0, le=400)
    # a workload reserving fewer vCPUs than this on average is "small"
    small_workload_vcpu: float = Field(default=2.0, ge=0)
    # a steady workload reserving at least this many vCPUs on average is "large"
    large_workload_vcpu: float = Field(default=8.0, ge=0)
    # an EC2 cluster whose binding reservation stays below this percent wastes capacity
    wasteful_reservation_pct: float = Field(default=60.0, gt=0, le=100)
    # Fargate Spot is proposed only for workloads judged interruption tolerant, and only if allowed
    allow_fargate_spot: bool = True
    thresholds: Thresholds = Field(default_factory=Thresholds)

    @property
    def operator_cost_weight(self) -> float:
        return 0.0 if self.goal is Goal.PRICE else 1.0
