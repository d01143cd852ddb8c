"""The decision table as code: features + prices + options -> one costed verdict per workload and cluster."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modeshift.domain.candidates import (
    Candidate,
    Ec2Share,
    PricingContext,
    ShapeCosts,
    enumerate_candidates,
    price_shape,
)
from modeshift.domain.classify import ClusterUsageSummary
from modeshift.domain.feasibility import (
    FeasibilityFacts,
    ModeFeasibility,
    assess_feasibility,
    blocked_reason,
    feasibility_evidence,
    in_words,
    mode_words,
)
from modeshift.domain.models import (
    HOURS_PER_MONTH,
    INSTANCE_MODES,
    RECOMMENDABLE_MODES,
    Alternative,
    Architecture,
    ClusterInventory,
    ClusterVerdict,
    ClusterVerdictKind,
    Goal,
    LaunchMode,
    Pattern,
    PriceQuote,
    TaskDefinitionInfo,
    TaskSize,
    WorkloadFeatures,
    WorkloadVerdict,
    WorkloadVerdictKind,
    architecture_name,
    clamp01,
    round_usd,
)
from modeshift.domain.options import PolicyOptions
from modeshift.domain.pricing import TaskTooLargeForFargateError, fargate_monthly_cost, fargate_size
from modeshift.domain.sizing import Need, measured_need, size_for_mode
from modeshift.errors import PriceNotFoundError

INTERRUPTIBLE_TAG = "modeshift:interruptible"
# `modeshift:arm64=ready` on a service says its image runs on ARM64 (Graviton): only then is ARM recommended.
ARM64_TAG = "modeshift:arm64"
# How ECS Anywhere (`mi-…`) instances are named among a cluster's instance types.
ECS_ANYWHERE_TYPE = "ecs-anywhere"
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


@dataclass(frozen=True)
class WorkloadSubject:
    """Who the verdict is about: identity, size and how it runs today."""

    cluster: str
    workload: str
    service: str | None
    task_definition: TaskDefinitionInfo
    current_mode: LaunchMode
    desired_count: int = 0
    tags: Mapping[str, str] = field(default_factory=dict)
    task_count_source: str = "none"
    daemon: bool = False
    service_placement_constraints: tuple[str, ...] = ()
    platform_version: str | None = None
    cluster_has_ec2_capacity_provider: bool = True
    cluster_has_managed_instances_provider: bool = False
    # tasks per mode today when a strategy splits the workload across modes; {} = all on current_mode
    current_mix: Mapping[LaunchMode, int] = field(default_factory=dict)

    @property
    def standalone(self) -> bool:
        return self.service is None

    def feasibility_facts(self, size: TaskSize | None) -> FeasibilityFacts:
        return FeasibilityFacts(
            task_definition=self.task_definition,
            size=size,
            current_mode=self.current_mode,
            daemon=self.daemon,
            service_placement_constraints=self.service_placement_constraints,
            platform_version=self.platform_version,
            cluster_has_ec2_capacity_provider=self.cluster_has_ec2_capacity_provider,
            cluster_has_managed_instances_provider=self.cluster_has_managed_instances_provider,
        )

    def mix_fractions(self) -> dict[LaunchMode, float]:
        """Share of tasks per mode; one mode at 1.0 unless a strategy splits the workload."""
        total = sum(self.current_mix.values())
        if total <= 0 or len([n for n in self.current_mix.values() if n > 0]) < 2:
            return {self.current_mode: 1.0}
        return {mode: n / total for mode, n in self.current_mix.items() if n > 0}


@dataclass(frozen=True)
class ClusterAssessment:
    """An EC2 cluster's bill and reservation, before any workload is judged."""

    cluster: str
    instance_count: int
    instance_types: dict[str, int]
    idle_instance_count: int
    compute_monthly_usd: float
    operator_monthly_usd: float
    unpriced_types: tuple[str, ...]
    cpu_reservation_pct: float | None
    memory_reservation_pct: float | None
    binding_resource: str | None
    binding_reservation_pct: float | None
    binding_reservation_p95_pct: float | None
    reservation_source: str
    dominant_instance_type: str | None
    arithmetic: tuple[str, ...]

    @property
    def monthly_cost_usd(self) -> float:
        return self.compute_monthly_usd + self.operator_monthly_usd

    @property
    def wasted_monthly_usd(self) -> float | None:
        if self.binding_reservation_pct is None:
            return None
        return self.monthly_cost_usd * max(0.0, 1.0 - self.binding_reservation_pct / 100.0)


# --------------------------------------------------------------------------- helpers


def _pct(part: float, whole: float) -> float:
    return 0.0 if whole <= 0 else 100.0 * part / whole


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def interruption_tolerance(subject: WorkloadSubject, features: WorkloadFeatures) -> tuple[bool, str]:
    """Whether Fargate Spot's 2-minute interruption is assumed acceptable, and why (always an assumption)."""
    tag = subject.tags.get(INTERRUPTIBLE_TAG, "").strip().lower()
    if tag in _FALSE:
        return False, f"tagged {INTERRUPTIBLE_TAG}={tag}"
    if tag in _TRUE:
        return True, f"tagged {INTERRUPTIBLE_TAG}={tag} by its owner"
    if subject.standalone and features.pattern in (Pattern.PERIODIC, Pattern.BURSTY):
        return True, (
            "assumed interruption tolerant because it runs as standalone batch/scheduled tasks; "
            "confirm the job retries after Fargate Spot's 2-minute interruption notice"
        )
    return False, f"not known to tolerate interruption (tag it {INTERRUPTIBLE_TAG}=true if it does)"


def _meets_threshold(savings: float, current: float, options: PolicyOptions) -> bool:
    if savings < options.min_savings_usd or savings <= 0:
        return False
    return _pct(savings, current) >= options.min_savings_pct


def _confidence(features: WorkloadFeatures, savings: float, current: float, penalties: float) -> float:
    """Confidence grows with data coverage and with the margin; estimates subtract fixed penalties."""
    coverage_term = min(1.0, features.coverage / 0.8)
    margin_term = min(1.0, abs(_pct(savings, current)) / 50.0) if current > 0 else 0.0
    return round(clamp01(0.3 + 0.45 * coverage_term + 0.25 * margin_term - penalties), 2)


# --------------------------------------------------------------------------- clusters


def assess_cluster(
    inventory: ClusterInventory,
    summary: ClusterUsageSummary | None,
    prices: PricingContext,
    options: PolicyOptions,
) -> ClusterAssessment:
    """Price an EC2 cluster's instances and find its binding reservation (the fuller of CPU and memory)."""
    types: Counter[str] = Counter()
    compute = 0.0
    lines: list[str] = []
    unpriced: set[str] = set()
    spot_factor = 1.0 - options.ec2_spot_discount_pct / 100.0
    discount_factor = 1.0 - options.ec2_discount_pct / 100.0
    anywhere_fee = prices.catalog.ecs_anywhere_instance_hour_usd
    managed_fees = 0.0
    unknown_fees: set[str] = set()
    for instance in inventory.container_instances:
        instance_type = ECS_ANYWHERE_TYPE if instance.external else instance.instance_type or "unknown"
        types[instance_type] += 1
        if instance.external:
            if anywhere_fee is None:
                unpriced.add(instance_type)
            else:
                compute += anywhere_fee * HOURS_PER_MONTH
            continue
        try:
            hourly = prices.catalog.ec2_hourly_usd(prices.region, instance_type)
        except PriceNotFoundError:
            unpriced.add(instance_type)
            continue
        factor = spot_factor if instance.lifecycle == "spot" else discount_factor
        compute += hourly * factor * HOURS_PER_MONTH
        if instance.capacity_provider_name in inventory.managed_instances_providers:
            fee = prices.catalog.regions.get(prices.region)
            fee_usd = fee.managed_instances_fee.get(instance_type) if fee is not None else None
            if fee_usd is None:
                unknown_fees.add(instance_type)
            else:
                managed_fees += fee_usd * HOURS_PER_MONTH
    compute += managed_fees
    for instance_type, count in sorted(types.items()):
        if instance_type == ECS_ANYWHERE_TYPE and anywhere_fee is not None:
            lines.append(
                f"{count} × ECS Anywhere instance at {_usd(anywhere_fee)}/h management fee × {HOURS_PER_MONTH:g} h"
                " (your own hardware is not in this figure)"
            )
            continue
        if instance_type in unpriced:
            lines.append(f"{count} × {instance_type}: no price in the catalog, left out of the total")
            continue
        hourly = prices.catalog.ec2_hourly_usd(prices.region, instance_type)
        lines.append(
            f"{count} × {instance_type} at {_usd(hourly)}/h × {HOURS_PER_MONTH:g} h"
            f" × (1 − {options.ec2_discount_pct:g}% discount; Spot instances − {options.ec2_spot_discount_pct:g}%)"
        )
    if managed_fees:
        lines.append(f"ECS Managed Instances management fees: {_usd(managed_fees)}/month")
    if unknown_fees:
        lines.append(
            f"no ECS Managed Instances fee in the catalog for {', '.join(sorted(unknown_fees))}: fee left out "
            "(MODESHIFT_USE_PRICE_LIST_API=true reads it)"
        )
    instance_count = len(inventory.container_instances)
    operator = (
        instance_count * options.operator_cost_per_instance_hour_usd * HOURS_PER_MONTH * options.operator_cost_weight
    )
    if operator:
        lines.append(
            f"operator time: {instance_count} instances × {_usd(options.operator_cost_per_instance_hour_usd)}"
            f"/instance-h × {HOURS_PER_MONTH:g} h = {_usd(operator)}"
        )
    lines.append(
        f"cluster bill: {_usd(compute)} compute + {_usd(operator)} operator = {_usd(compute + operator)}/month"
    )

    cpu_pct, mem_pct, p95, source = _reservation(inventory, summary)
    binding: str | None = None
    binding_pct: float | None = None
    if cpu_pct is not None and mem_pct is not None:
        binding, binding_pct = ("cpu", cpu_pct) if cpu_pct >= mem_pct else ("memory", mem_pct)
    elif cpu_pct is not None:
        binding, binding_pct = "cpu", cpu_pct
    elif mem_pct is not None:
        binding, binding_pct = "memory", mem_pct
    if binding_pct is not None and p95 is None:
        p95 = binding_pct
    idle = sum(1 for i in inventory.container_instances if i.running_tasks_count == 0)
    ec2_types = Counter({t: n for t, n in types.items() if t != ECS_ANYWHERE_TYPE})
    dominant = ec2_types.most_common(1)[0][0] if ec2_types else None
    return ClusterAssessment(
        cluster=inventory.name,
        instance_count=instance_count,
        instance_types=dict(types),
        idle_instance_count=idle,
        compute_monthly_usd=compute,
        operator_monthly_usd=operator,
        unpriced_types=tuple(sorted(unpriced)),
        cpu_reservation_pct=cpu_pct,
        memory_reservation_pct=mem_pct,
        binding_resource=binding,
        binding_reservation_pct=binding_pct,
        binding_reservation_p95_pct=p95,
        reservation_source=source,
        dominant_instance_type=dominant if dominant != "unknown" else None,
        arithmetic=tuple(lines),
    )


def _reservation(
    inventory: ClusterInventory, summary: ClusterUsageSummary | None
) -> tuple[float | None, float | None, float | None, str]:
    if summary is not None and (summary.cpu_reservation_pct is not None or summary.memory_reservation_pct is not None):
        return (
            summary.cpu_reservation_pct,
            summary.memory_reservation_pct,
            summary.binding_reservation_p95_pct,
            "AWS/ECS CPUReservation/MemoryReservation over the lookback",
        )
    # An instance whose remaining resources AWS did not report tells nothing about reservation: leave it
    # out of both sides rather than read it as full.
    known = [
        i
        for i in inventory.container_instances
        if i.remaining_cpu_units is not None and i.remaining_memory_mib is not None
    ]
    registered_cpu = sum(i.registered_cpu_units for i in known)
    registered_mem = sum(i.registered_memory_mib for i in known)
    if registered_cpu <= 0 or registered_mem <= 0:
        return None, None, None, "none"
    used_cpu = registered_cpu - sum(i.remaining_cpu_units or 0 for i in known)
    used_mem = registered_mem - sum(i.remaining_memory_mib or 0 for i in known)
    unknown = len(inventory.container_instances) - len(known)
    source = "container instances' registered vs remaining resources now (no reservation metrics)"
    if unknown:
        source += f"; {unknown} instance(s) reported no remaining resources and are left out"
    return _pct(used_cpu, registered_cpu), _pct(used_mem, registered_mem), None, source


def reserved_units(size: TaskSize, avg_tasks: float, binding_resource: str | None) -> float:
    """Average reservation of the cluster's binding resource (CPU units or MiB) one workload holds."""
    if binding_resource == "memory":
        return avg_tasks * size.memory_mib
    return avg_tasks * size.cpu_units


def allocate_cluster_cost(assessment: ClusterAssessment, reservations: Mapping[str, float]) -> dict[str, Ec2Share]:
    """Split the whole cluster bill, idle capacity included, pro rata to each workload's average reservation.

    Idle capacity exists to host these workloads, so it is charged to them: that is what moving one
    away saves once the capacity provider scales in.
    """
    total = sum(max(0.0, v) for v in reservations.values())
    shares: dict[str, Ec2Share] = {}
    unit = "MiB" if assessment.binding_resource == "memory" else "CPU units"
    for workload, units in reservations.items():
        share = 0.0 if total <= 0 else max(0.0, units) / total
        cost = assessment.monthly_cost_usd * share
        arithmetic = (
            f"EC2 share: {_usd(assessment.monthly_cost_usd)}/month cluster bill × {units:,.0f} of {total:,.0f}"
            f" average reserved {unit} ({share:.1%}) = {_usd(cost)}/month (idle capacity charged pro rata)"
        )
        shares[workload] = Ec2Share(
            quote=PriceQuote(monthly_cost_usd=cost, arithmetic=arithmetic),
            instance_type=assessment.dominant_instance_type,
            binding_resource=assessment.binding_resource,
        )
    return shares


# --------------------------------------------------------------------------- workloads


# A keep forced by feasibility rests on the task definition, not on usage data.
_BLOCKED_CONFIDENCE = 0.9
# Scaling an idle service in rests on a CPU figure alone: never claim more certainty than this.
_SCALE_IN_MAX_CONFIDENCE = 0.6
_FARGATE_MODES = (LaunchMode.FARGATE, LaunchMode.FARGATE_SPOT)


@dataclass
class _Case:
    """Everything one workload's judgement reads, gathered once (the steps below share it)."""

    subject: WorkloadSubject
    features: WorkloadFeatures
    size: TaskSize
    prices: PricingContext
    options: PolicyOptions
    ec2_share: Ec2Share | None
    feasibility: dict[LaunchMode, ModeFeasibility]
    costs: ShapeCosts
    current: PriceQuote
    avg_vcpu: float
    tolerant: bool
    reasons: list[str]
    evidence: dict[str, object]
    penalties: float

    @property
    def large_steady(self) -> bool:
        return self.features.pattern is Pattern.STEADY and self.avg_vcpu >= self.options.large_workload_vcpu


@dataclass(frozen=True)
class _Decision:
    """The decision table's answer at today's task shape: what to do, on which mode, at what cost."""

    kind: WorkloadVerdictKind
    mode: LaunchMode
    target: PriceQuote
    confidence: float


def _accelerated(subject: WorkloadSubject) -> bool:
    td = subject.task_definition
    return td.gpu_count > 0 or td.inference_accelerator_count > 0


def arm64_ready(subject: WorkloadSubject) -> bool:
    """Whether the workload's image is known to run on ARM64: it does today, or its owner tagged it ready."""
    if subject.task_definition.architecture is Architecture.ARM64:
        return True
    return subject.tags.get(ARM64_TAG, "").strip().lower() in ("ready", *_TRUE)


def advise_workload(
    subject: WorkloadSubject,
    features: WorkloadFeatures,
    prices: PricingContext,
    options: PolicyOptions,
    ec2_share: Ec2Share | None = None,
) -> WorkloadVerdict:
    """Apply the decision table to one workload, then choose the cheapest shape the chosen mode allows."""
    size = subject.task_definition.size()
    evidence: dict[str, object] = {
        "features": features.model_dump(mode="json"),
        "task_count_source": subject.task_count_source,
        "goal": options.goal.value,
    }
    if not subject.standalone:
        # what a scale-in changes: the change tracker compares it across analyses (domain/changes.py)
        evidence["desired_count"] = subject.desired_count
    reasons: list[str] = list(features.reasons)
    feasibility = assess_feasibility(subject.feasibility_facts(size))
    evidence["feasibility"] = feasibility_evidence(feasibility)
    # Feasibility comes before price: when no other mode can run it, that is the first thing to say.
    blocked = blocked_reason(subject.current_mode, feasibility)
    if blocked is not None:
        reasons.insert(0, blocked)
    if size is None:
        return _verdict(
            subject,
            features,
            WorkloadVerdictKind.INSUFFICIENT_DATA,
            subject.current_mode,
            current=None,
            recommended=None,
            reasons=[
                *reasons,
                "the task definition declares no memory at task or container level: cannot size it",
            ],
            evidence=evidence,
            confidence=0.1,
        )
    evidence["task_size"] = {
        "cpu_units": size.cpu_units,
        "memory_mib": size.memory_mib,
        "sized_from": size.sized_from,
    }
    if size.sized_from == "containers":
        reasons.append(
            f"sized from its containers ({size.cpu_units} CPU units, {size.memory_mib} MiB): "
            "the task definition sets no task-level cpu/memory"
        )
    if features.pattern is Pattern.INSUFFICIENT_DATA:
        # No usage to measure: price today's desired count so the bill is visible, and say it is an estimate.
        estimate = features.model_copy(
            update={"avg_tasks": float(subject.desired_count), "peak_tasks": float(subject.desired_count)}
        )
        snapshot = _current_quote(subject, _price_today(subject, size, estimate, prices, options, ec2_share))
        if snapshot is not None:
            snapshot = PriceQuote(
                monthly_cost_usd=snapshot.monthly_cost_usd,
                arithmetic=f"estimated from today's desired count ({subject.desired_count}): {snapshot.arithmetic}",
            )
        if blocked is not None:
            # Nothing else can run it, so the verdict needs no usage data; only the cost is an estimate.
            return _keep_blocked(subject, features, snapshot, reasons, evidence)
        return _verdict(
            subject,
            features,
            WorkloadVerdictKind.INSUFFICIENT_DATA,
            subject.current_mode,
            current=snapshot,
            recommended=snapshot,
            reasons=[*reasons, "not enough data to judge: keeping the current launch mode"],
            evidence=evidence,
            confidence=round(clamp01(0.1 + 0.2 * features.coverage), 2),
        )

    costs = _price_today(subject, size, features, prices, options, ec2_share)
    evidence["costs_by_mode"] = costs.as_evidence()
    tolerant, tolerance_reason = interruption_tolerance(subject, features)
    evidence["interruption_tolerant"] = tolerant
    evidence["interruption_tolerance_reason"] = tolerance_reason
    penalties = 0.0
    if subject.task_count_source in (
        "cpu_samplecount",
        "cpu_samplecount_calibrated",
        "container_insights_memory_reserved",
    ):
        penalties += 0.1
    if costs.ec2_plan is not None and costs.ec2_plan.memory_estimated:
        penalties += 0.05

    current_quote = _current_quote(subject, costs)
    if blocked is not None:
        return _keep_blocked(subject, features, current_quote, [*reasons, *costs.notes], evidence)
    if current_quote is None:
        return _verdict(
            subject,
            features,
            WorkloadVerdictKind.INSUFFICIENT_DATA,
            subject.current_mode,
            current=None,
            recommended=None,
            reasons=[
                *reasons,
                *costs.notes,
                "cannot price the current launch mode, so no comparison is honest",
            ],
            evidence=evidence,
            confidence=0.1,
        )

    avg_vcpu = (features.avg_tasks or 0.0) * size.vcpu
    evidence["avg_reserved_vcpu"] = round(avg_vcpu, 3)
    case = _Case(
        subject=subject,
        features=features,
        size=size,
        prices=prices,
        options=options,
        ec2_share=ec2_share,
        feasibility=feasibility,
        costs=costs,
        current=current_quote,
        avg_vcpu=avg_vcpu,
        tolerant=tolerant,
        reasons=reasons,
        evidence=evidence,
        penalties=penalties,
    )
    need = measured_need(size, features, options.cpu_headroom_pct, options.memory_headroom_pct)
    if need is not None:
        evidence["right_size"] = {
            "cpu_units_needed": round(need.cpu_units),
            "memory_mib_needed": round(need.memory_mib),
            "arithmetic": need.arithmetic,
        }
    if features.pattern is Pattern.IDLE:
        return _scale_in(case, need)
    from_fargate = subject.current_mode in _FARGATE_MODES
    decision = _advise_from_fargate(case) if from_fargate else _advise_from_ec2(case)
    return _finish(case, decision, need)


def _keep_blocked(
    subject: WorkloadSubject,
    features: WorkloadFeatures,
    quote: PriceQuote | None,
    reasons: Sequence[str],
    evidence: dict[str, object],
) -> WorkloadVerdict:
    """Keep: every other mode has a blocker; the certainty comes from the task definition, not the data."""
    return _verdict(
        subject,
        features,
        WorkloadVerdictKind.KEEP,
        subject.current_mode,
        current=quote,
        recommended=quote,
        reasons=reasons,
        evidence=evidence,
        confidence=_BLOCKED_CONFIDENCE,
    )


def _price_today(
    subject: WorkloadSubject,
    size: TaskSize,
    features: WorkloadFeatures,
    prices: PricingContext,
    options: PolicyOptions,
    ec2_share: Ec2Share | None,
) -> ShapeCosts:
    """Every mode's cost at the shape the workload runs at today."""
    return price_shape(
        size,
        subject.task_definition.architecture,
        is_windows=subject.task_definition.is_windows,
        accelerated=_accelerated(subject),
        features=features,
        prices=prices,
        options=options,
        ec2_share=ec2_share,
        today=True,
    )


def _mode_quote(mode: LaunchMode, costs: ShapeCosts) -> PriceQuote | None:
    if mode in INSTANCE_MODES:
        # capacity billed per instance (EC2, ECS Anywhere, Managed Instances): the share of the cluster's bill
        return costs.ec2_current_share
    if mode is LaunchMode.FARGATE_SPOT:
        return costs.fargate_spot
    return costs.fargate


def _current_quote(subject: WorkloadSubject, costs: ShapeCosts) -> PriceQuote | None:
    """Today's cost; a strategy that splits tasks across modes is priced part by part."""
    fractions = subject.mix_fractions()
    if len(fractions) == 1:
        return _mode_quote(subject.current_mode, costs)
    total = 0.0
    parts: list[str] = []
    for mode, fraction in sorted(fractions.items()):
        quote = _mode_quote(mode, costs)
        if quote is None:
            return None
        tasks = subject.current_mix.get(mode, 0)
        if mode in INSTANCE_MODES:
            # the EC2 share was allocated on the EC2 tasks' reservation alone
            amount = quote.monthly_cost_usd
            parts.append(f"{tasks} {mode.value} task(s): {quote.arithmetic}")
        else:
            amount = quote.monthly_cost_usd * fraction
            parts.append(
                f"{tasks} {mode.value} task(s), {fraction:.0%} of {_usd(quote.monthly_cost_usd)} = {_usd(amount)}"
            )
        total += amount
    mix = ", ".join(f"{subject.current_mix.get(m, 0)} {m.value}" for m in sorted(fractions))
    return PriceQuote(
        monthly_cost_usd=total,
        arithmetic=f"capacity-provider strategy places {mix}: " + "; ".join(parts) + f"; total {_usd(total)}/month",
    )


def _changes_reason(feasibility: Mapping[LaunchMode, ModeFeasibility], mode: LaunchMode) -> str | None:
    changes = feasibility[mode].changes_needed
    if not changes:
        return None
    return f"before moving to {mode_words(mode)}: " + "; ".join(in_words(code) for code in changes)


def _blockers_reason(feasibility: Mapping[LaunchMode, ModeFeasibility], mode: LaunchMode) -> str:
    return f"{mode_words(mode)} is ruled out: " + "; ".join(in_words(code) for code in feasibility[mode].blockers)


def _move(
    case: _Case, kind: WorkloadVerdictKind, mode: LaunchMode, target: PriceQuote, extra: float = 0.0
) -> _Decision:
    savings = case.current.monthly_cost_usd - target.monthly_cost_usd
    changes = _changes_reason(case.feasibility, mode)
    if changes:
        case.reasons.append(changes)
    confidence = _confidence(case.features, savings, case.current.monthly_cost_usd, case.penalties + extra)
    return _Decision(kind, mode, target, confidence)


def _stay(case: _Case) -> _Decision:
    return _Decision(
        WorkloadVerdictKind.KEEP,
        case.subject.current_mode,
        case.current,
        _confidence(case.features, 0.0, 0.0, case.penalties),
    )


def _managed_instances_option(case: _Case) -> PriceQuote | None:
    """Managed Instances, when it is a candidate at all: large steady load, a goal that counts operator time."""
    if not case.large_steady or case.options.goal is Goal.PRICE:
        return None
    if not case.feasibility[LaunchMode.MANAGED_INSTANCES].ok:
        return None
    return case.costs.managed_instances


def _advise_from_ec2(case: _Case) -> _Decision:
    subject, features, costs, current, options = case.subject, case.features, case.costs, case.current, case.options
    reasons, feasibility = case.reasons, case.feasibility
    small = case.avg_vcpu < options.small_workload_vcpu
    shape_favours_fargate = features.pattern in (Pattern.BURSTY, Pattern.PERIODIC) or small
    fargate_ok = feasibility[LaunchMode.FARGATE].ok
    spot_ok = feasibility[LaunchMode.FARGATE_SPOT].ok
    use_spot = case.tolerant and options.allow_fargate_spot and costs.fargate_spot is not None and spot_ok
    if case.tolerant and options.allow_fargate_spot and not spot_ok and fargate_ok:
        reasons.append(_blockers_reason(feasibility, LaunchMode.FARGATE_SPOT))
    managed = _managed_instances_option(case) if subject.current_mode is LaunchMode.EC2 else None
    if not use_spot and not fargate_ok and managed is None:
        reasons.insert(0, _blockers_reason(feasibility, LaunchMode.FARGATE))
        return _stay(case)
    target_mode = LaunchMode.FARGATE_SPOT if use_spot else LaunchMode.FARGATE
    target = (costs.fargate_spot if use_spot else costs.fargate) if (use_spot or fargate_ok) else None
    if not use_spot and not fargate_ok:
        reasons.insert(0, _blockers_reason(feasibility, LaunchMode.FARGATE))
    if managed is not None and (target is None or managed.monthly_cost_usd < target.monthly_cost_usd):
        target_mode, target = LaunchMode.MANAGED_INSTANCES, managed
    if target is None:
        reasons.append(f"no Fargate price or size for this task: stays on {subject.current_mode.value}")
        return _stay(case)

    # Steady, non-small load is judged against the EC2 cost it would have on well-packed capacity:
    # its waste is the cluster's to fix (tune capacity). An overhead-conscious goal does not assume
    # anyone will do that tuning, so it compares with today's bill.
    if shape_favours_fargate or options.goal is Goal.OVERHEAD or costs.ec2_packed is None:
        baseline = current
        if shape_favours_fargate:
            why = (
                f"{features.pattern.value} load"
                if features.pattern is not Pattern.STEADY
                else f"small load ({case.avg_vcpu:.2f} vCPU reserved on average < {options.small_workload_vcpu:g})"
            )
            reasons.append(f"{why}: on EC2 it pays for hosts sized for its peaks; Fargate bills per task-second")
    else:
        baseline = costs.ec2_packed
        reasons.append(
            f"steady load of {case.avg_vcpu:.2f} vCPU: compared with its cost on well-packed EC2 "
            f"({_usd(costs.ec2_packed.monthly_cost_usd)}/month), since idle cluster capacity is fixed by tuning"
        )
    margin = baseline.monthly_cost_usd - target.monthly_cost_usd
    savings = current.monthly_cost_usd - target.monthly_cost_usd
    if _meets_threshold(margin, baseline.monthly_cost_usd, options) and _meets_threshold(
        savings, current.monthly_cost_usd, options
    ):
        reasons.append(
            f"{target_mode.value} would cost {_usd(target.monthly_cost_usd)}/month against "
            f"{_usd(current.monthly_cost_usd)}/month now: saves {_usd(savings)}/month"
        )
        if target_mode is LaunchMode.MANAGED_INSTANCES:
            reasons.append("ECS Managed Instances: AWS provisions, patches and scales the hosts (no operator hours)")
        if target_mode is LaunchMode.FARGATE_SPOT:
            reasons.append(f"Fargate Spot: {case.evidence['interruption_tolerance_reason']}")
        return _move(case, _MOVE_KIND[target_mode], target_mode, target)
    reasons.append(
        f"{target_mode.value} would cost {_usd(target.monthly_cost_usd)}/month against "
        f"{_usd(baseline.monthly_cost_usd)}/month on EC2 ({_usd(current.monthly_cost_usd)} today): "
        "below the savings threshold "
        f"({_usd(options.min_savings_usd)} and {options.min_savings_pct:g}%)"
    )
    return _stay(case)


def _advise_from_fargate(case: _Case) -> _Decision:
    subject, features, costs, current, options = case.subject, case.features, case.costs, case.current, case.options
    reasons, feasibility, avg_vcpu = case.reasons, case.feasibility, case.avg_vcpu
    if case.large_steady and costs.ec2_packed is not None and not feasibility[LaunchMode.EC2].ok:
        reasons.append(_blockers_reason(feasibility, LaunchMode.EC2))
    elif case.large_steady and costs.ec2_packed is not None:
        ec2 = costs.ec2_packed
        managed = _managed_instances_option(case)
        savings = current.monthly_cost_usd - ec2.monthly_cost_usd
        if options.goal is Goal.OVERHEAD:
            if managed is not None and _meets_threshold(
                current.monthly_cost_usd - managed.monthly_cost_usd, current.monthly_cost_usd, options
            ):
                reasons.append(
                    f"large steady load ({avg_vcpu:.1f} vCPU) and goal=overhead: ECS Managed Instances would cost "
                    f"{_usd(managed.monthly_cost_usd)}/month against {_usd(current.monthly_cost_usd)}/month on "
                    f"{subject.current_mode.value}, and AWS runs the hosts (no operator hours)"
                )
                return _move(case, WorkloadVerdictKind.MOVE_TO_MANAGED_INSTANCES, LaunchMode.MANAGED_INSTANCES, managed)
            reasons.append(
                f"large steady load ({avg_vcpu:.1f} vCPU), but goal=overhead keeps it on Fargate: "
                f"EC2 would cost {_usd(ec2.monthly_cost_usd)}/month ({_difference(savings)}) and hosts to manage"
            )
            return _stay(case)
        if managed is not None and managed.monthly_cost_usd < ec2.monthly_cost_usd:
            managed_savings = current.monthly_cost_usd - managed.monthly_cost_usd
            if _meets_threshold(managed_savings, current.monthly_cost_usd, options):
                plan = costs.managed_instances_plan
                assert plan is not None
                reasons.append(
                    f"large steady load ({avg_vcpu:.1f} vCPU reserved on average): ECS Managed Instances "
                    f"({plan.instance_type}, {plan.tasks_per_instance} tasks each) cost "
                    f"{_usd(managed.monthly_cost_usd)}/month, less than self-managed EC2 with operator time "
                    f"({_usd(ec2.monthly_cost_usd)}) and {_usd(current.monthly_cost_usd)}/month on "
                    f"{subject.current_mode.value}"
                )
                return _move(case, WorkloadVerdictKind.MOVE_TO_MANAGED_INSTANCES, LaunchMode.MANAGED_INSTANCES, managed)
        if _meets_threshold(savings, current.monthly_cost_usd, options):
            plan = costs.ec2_plan
            assert plan is not None
            reasons.append(
                f"large steady load ({avg_vcpu:.1f} vCPU reserved on average): {plan.instances} × "
                f"{plan.instance_type} ({plan.tasks_per_instance} tasks each) cost {_usd(ec2.monthly_cost_usd)}"
                f"/month against {_usd(current.monthly_cost_usd)}/month on {subject.current_mode.value}"
            )
            reasons.append(
                "run it on an EC2 capacity provider; Savings Plans, Reserved Instances or Spot widen the gap "
                "(set --ec2-discount-pct to what you already get)"
            )
            return _move(case, WorkloadVerdictKind.MOVE_TO_EC2, LaunchMode.EC2, ec2)
        reasons.append(
            f"EC2 would cost {_usd(ec2.monthly_cost_usd)}/month against {_usd(current.monthly_cost_usd)}/month: "
            "below the savings threshold"
        )
        needed = _break_even_ec2_discount(costs, current.monthly_cost_usd, options)
        if needed is not None:
            case.evidence["ec2_discount_pct_needed"] = needed
            reasons.append(
                f"EC2 wins by the threshold with an effective EC2 discount of {needed:g}% or more "
                "(Savings Plans, Reserved Instances): rerun with --ec2-discount-pct if you have one"
            )
    elif features.pattern is Pattern.STEADY:
        reasons.append(
            f"steady but small ({avg_vcpu:.2f} vCPU < {options.large_workload_vcpu:g} vCPU): "
            "EC2 hosts would not pay for their management"
        )
    else:
        reasons.append(f"{features.pattern.value} load suits Fargate: no idle hosts between runs")

    spot_open = feasibility[LaunchMode.FARGATE_SPOT].ok
    if subject.current_mode is LaunchMode.FARGATE and case.tolerant and options.allow_fargate_spot and not spot_open:
        reasons.append(_blockers_reason(feasibility, LaunchMode.FARGATE_SPOT))
    if (
        subject.current_mode is LaunchMode.FARGATE
        and case.tolerant
        and options.allow_fargate_spot
        and costs.fargate_spot is not None
        and spot_open
    ):
        spot = costs.fargate_spot
        savings = current.monthly_cost_usd - spot.monthly_cost_usd
        if _meets_threshold(savings, current.monthly_cost_usd, options):
            reasons.append(
                f"Fargate Spot would cost {_usd(spot.monthly_cost_usd)}/month: saves {_usd(savings)}/month; "
                f"{case.evidence['interruption_tolerance_reason']}"
            )
            return _move(case, WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT, LaunchMode.FARGATE_SPOT, spot, extra=0.1)
    return _stay(case)


_MOVE_KIND = {
    LaunchMode.FARGATE: WorkloadVerdictKind.MOVE_TO_FARGATE,
    LaunchMode.FARGATE_SPOT: WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT,
    LaunchMode.EC2: WorkloadVerdictKind.MOVE_TO_EC2,
    LaunchMode.MANAGED_INSTANCES: WorkloadVerdictKind.MOVE_TO_MANAGED_INSTANCES,
}


# --------------------------------------------------------------------------- shapes: size and architecture


def _shapes(case: _Case, need: Need | None) -> list[ShapeCosts]:
    """Today's shape plus every (architecture × right size) worth pricing; Windows stays on x86_64."""
    today = case.size
    sizes = [today]
    if need is not None:
        for mode in (LaunchMode.FARGATE, LaunchMode.EC2):
            fitted = size_for_mode(need, today, mode)
            if fitted is not None and all(fitted != s for s in sizes):
                sizes.append(fitted)
    arch = case.subject.task_definition.architecture
    archs = [arch]
    if not case.subject.task_definition.is_windows:
        archs.append(Architecture.X86_64 if arch is Architecture.ARM64 else Architecture.ARM64)
    shapes = [case.costs]
    for candidate_arch in archs:
        for size in sizes:
            if candidate_arch is arch and size is today:
                continue
            shapes.append(
                price_shape(
                    size,
                    candidate_arch,
                    is_windows=case.subject.task_definition.is_windows,
                    accelerated=_accelerated(case.subject),
                    features=case.features,
                    prices=case.prices,
                    options=case.options,
                    ec2_share=case.ec2_share,
                    today=False,
                )
            )
    return shapes


def _share_resized(case: _Case, candidate: Candidate) -> PriceQuote | None:
    """An instance-billed workload at a smaller reservation: today's share less what the smaller task frees on
    well-packed capacity of the cluster's own type. Counting the freed capacity at packed cost, not at the share's
    idle-inclusive rate, keeps it apart from the cluster's own tuning saving (no saving counted twice)."""
    packed_today = case.costs.quote(candidate.mode)
    if packed_today is None or candidate.quote is None or case.current is not (case.ec2_share and case.ec2_share.quote):
        return None
    freed = packed_today.monthly_cost_usd - candidate.quote.monthly_cost_usd
    if freed <= 0:
        return None
    amount = max(0.0, case.current.monthly_cost_usd - freed)
    return PriceQuote(
        monthly_cost_usd=amount,
        arithmetic=(
            f"{_usd(case.current.monthly_cost_usd)} share − {_usd(freed)} freed on well-packed EC2 "
            f"({_usd(packed_today.monthly_cost_usd)} at today's size − {_usd(candidate.quote.monthly_cost_usd)} at the "
            f"right size: {candidate.quote.arithmetic}) = {_usd(amount)}/month"
        ),
    )


def _allowed(case: _Case, candidate: Candidate) -> bool:
    return candidate.feasibility.ok and candidate.image_ready and candidate.quote is not None


def _best_same_mode(case: _Case, candidates: Sequence[Candidate]) -> Candidate | None:
    """The cheapest allowed reshaping (size and/or architecture) of the workload where it runs now."""
    mode = case.subject.current_mode
    if case.subject.mix_fractions().keys() != {mode}:
        return None  # a split strategy is reshaped one mode at a time by hand, not by a single verdict
    best: Candidate | None = None
    if mode in _FARGATE_MODES:
        reshapes = [c for c in candidates if c.mode is mode and _allowed(case, c) and c.key != _today_key(case, mode)]
        return min(reshapes, key=_cost, default=None)
    # Instance-billed: what a smaller reservation frees of its share (same architecture: same hosts).
    if mode is LaunchMode.EXTERNAL:
        return None  # the operator's own hardware: no catalog price for what a smaller task frees
    packed_mode = LaunchMode.MANAGED_INSTANCES if mode is LaunchMode.MANAGED_INSTANCES else LaunchMode.EC2
    for candidate in candidates:
        if candidate.mode is not packed_mode or candidate.architecture is not case.costs.architecture:
            continue
        quote = _share_resized(case, candidate)
        if quote is None or not candidate.feasibility.ok:
            continue
        reshaped = Candidate(
            mode=mode,
            architecture=candidate.architecture,
            size=candidate.size,
            quote=quote,
            feasibility=candidate.feasibility,
            image_ready=True,
            resized=True,
        )
        if best is None or _cost(reshaped) < _cost(best):
            best = reshaped
    return best


def _best_of_mode(case: _Case, candidates: Sequence[Candidate], mode: LaunchMode) -> Candidate | None:
    allowed = [c for c in candidates if c.mode is mode and _allowed(case, c)]
    return min(allowed, key=_cost, default=None)


def _cost(candidate: Candidate) -> float:
    return candidate.monthly_cost_usd if candidate.monthly_cost_usd is not None else float("inf")


def _today_key(case: _Case, mode: LaunchMode) -> tuple[LaunchMode, Architecture, int, int]:
    billed = case.costs.fargate_size if mode in _FARGATE_MODES and case.costs.fargate_size else case.size
    return (mode, case.costs.architecture, billed.cpu_units, billed.memory_mib)


def _shape_words(candidate: Candidate) -> str:
    arch = "ARM64 (Graviton)" if candidate.architecture is Architecture.ARM64 else "x86_64"
    return f"{candidate.size.cpu_units} CPU units / {candidate.size.memory_mib} MiB on {arch}"


def _finish(case: _Case, decision: _Decision, need: Need | None) -> WorkloadVerdict:
    """Choose the cheapest allowed shape for the decided mode, name the alternatives, build the verdict."""
    candidates = enumerate_candidates(
        _shapes(case, need),
        case.subject.feasibility_facts(case.size),
        case.feasibility,
        case.size,
        frozenset({case.costs.architecture} | ({Architecture.ARM64} if arm64_ready(case.subject) else set())),
        RECOMMENDABLE_MODES,
    )
    current_cost = case.current.monthly_cost_usd
    kind, mode, target, confidence = decision.kind, decision.mode, decision.target, decision.confidence
    shape = _today_shape(case, mode)
    arithmetic: list[str] = []
    resize = _best_same_mode(case, candidates)
    if kind is WorkloadVerdictKind.KEEP:
        if resize is not None and resize.quote is not None:
            saving = current_cost - resize.quote.monthly_cost_usd
            if _meets_threshold(saving, current_cost, case.options):
                kind, target, shape = WorkloadVerdictKind.RIGHTSIZE, resize.quote, resize
                confidence = _confidence(case.features, saving, current_cost, case.penalties + 0.05)
                case.reasons.append(
                    f"right size: {_shape_words(resize)} holds its measured peaks "
                    f"({_right_size_words(case)}): {_usd(resize.quote.monthly_cost_usd)}/month against "
                    f"{_usd(current_cost)}/month now, saves {_usd(saving)}/month"
                )
                case.reasons.extend(_changes_words(resize))
    elif kind in _MOVE_KIND.values():
        best = _best_of_mode(case, candidates, mode)
        if (
            best is not None
            and best.quote is not None
            and best.quote.monthly_cost_usd < target.monthly_cost_usd - 0.005
        ):
            move_alone = current_cost - target.monthly_cost_usd
            both = current_cost - best.quote.monthly_cost_usd
            resize_alone = (
                f"{_usd(current_cost - resize.quote.monthly_cost_usd)}"
                if resize is not None and resize.quote is not None
                else "nothing measurable"
            )
            arithmetic.append(
                f"parts: the move alone (today's shape on {mode.value}) saves {_usd(move_alone)}/month; the reshape "
                f"alone (staying on {case.subject.current_mode.value}) saves {resize_alone}; "
                f"both save {_usd(both)}/month"
            )
            case.reasons.append(
                f"on {mode_words(mode)} at {_shape_words(best)}: {_usd(best.quote.monthly_cost_usd)}/month"
            )
            case.reasons.extend(_changes_words(best))
            target, shape = best.quote, best
    case.evidence["candidates_considered"] = len(candidates)
    if kind is not WorkloadVerdictKind.KEEP:
        # everything the recommendation needs changed first: its mode's and its shape's (size, architecture)
        case.evidence["changes_needed"] = list(dict.fromkeys(shape.feasibility.changes_needed))
    verdict = _verdict(
        case.subject,
        case.features,
        kind,
        mode,
        case.current,
        target,
        case.reasons,
        case.evidence,
        confidence,
        recommended_size=shape.size,
        recommended_arch=shape.architecture,
        extra_arithmetic=arithmetic,
    )
    alternatives = _alternatives(case, candidates, verdict, shape)
    return verdict.model_copy(update={"alternatives": alternatives}) if alternatives else verdict


def _today_shape(case: _Case, mode: LaunchMode) -> Candidate:
    """The workload's shape today, as the candidate a plain move would run at."""
    billed = case.costs.fargate_size if mode in _FARGATE_MODES and case.costs.fargate_size else case.size
    return Candidate(
        mode=mode,
        architecture=case.costs.architecture,
        size=billed,
        quote=case.current,
        feasibility=case.feasibility.get(mode, ModeFeasibility(ok=True)),
        image_ready=True,
        resized=False,
    )


def _right_size_words(case: _Case) -> str:
    right = case.evidence.get("right_size")
    return str(right["arithmetic"]) if isinstance(right, dict) else "no measurement"


def _changes_words(candidate: Candidate) -> list[str]:
    codes = [c for c in candidate.feasibility.changes_needed if c in ("arm64_image", "task_size")]
    return [f"then: {in_words(code)}" for code in codes]


def _alternatives(
    case: _Case, candidates: Sequence[Candidate], verdict: WorkloadVerdict, chosen: Candidate
) -> tuple[Alternative, ...]:
    """The next best feasible candidates (up to 3), cheapest first, each with why it was not chosen."""
    seen = {chosen.key, _today_key(case, case.subject.current_mode)}
    picked: list[Alternative] = []
    # one alternative per mode, architecture and price: a smaller size that costs the same adds nothing
    priced: set[tuple[LaunchMode, Architecture, float]] = set()
    usable = (c for c in candidates if c.feasibility.ok and c.quote is not None)
    for candidate in sorted(usable, key=lambda c: (_cost(c), c.resized)):
        price_key = (candidate.mode, candidate.architecture, round_usd(_cost(candidate)))
        if candidate.key in seen or price_key in priced:
            continue
        seen.add(candidate.key)
        priced.add(price_key)
        picked.append(
            Alternative(
                mode=candidate.mode,
                architecture=architecture_name(candidate.architecture),
                task_size={"cpu_units": candidate.size.cpu_units, "memory_mib": candidate.size.memory_mib},
                monthly_cost_usd=round_usd(_cost(candidate)),
                changes_needed=candidate.feasibility.changes_needed,
                why_not=_why_not(case, candidate, verdict),
            )
        )
        if len(picked) == 3:
            break
    return tuple(picked)


def _why_not(case: _Case, candidate: Candidate, verdict: WorkloadVerdict) -> str:
    cost = _cost(candidate)
    versus_now = case.current.monthly_cost_usd - cost
    gap = cost - verdict.recommended_monthly_cost_usd
    if not candidate.image_ready:
        against_today = (
            f"would save {_usd(versus_now)}/month against today"
            if versus_now > 0
            else f"would cost {_usd(-versus_now)}/month more than today"
        )
        return (
            f"needs an ARM64 image ({against_today}); tag the "
            f"{'service' if case.subject.service else 'task definition'} {ARM64_TAG}=ready once the image runs on "
            "Graviton"
        )
    if candidate.mode is LaunchMode.FARGATE_SPOT and not case.tolerant:
        return f"Fargate Spot can interrupt tasks: {case.evidence.get('interruption_tolerance_reason')}"
    if not case.options.allow_fargate_spot and candidate.mode is LaunchMode.FARGATE_SPOT:
        return "Fargate Spot is turned off in the settings"
    if candidate.mode is LaunchMode.EC2 and case.options.goal is Goal.OVERHEAD:
        return "goal=overhead: EC2 means hosts to patch and scale"
    if gap >= 0.005:
        return f"costs {_usd(gap)}/month more than the recommendation"
    if verdict.verdict in (WorkloadVerdictKind.KEEP, WorkloadVerdictKind.INSUFFICIENT_DATA):
        return (
            f"saves {_usd(versus_now)}/month on paper, below the savings threshold or against the decision table "
            f"for {case.features.pattern.value} load (see the reasons)"
        )
    return (
        f"cheaper by {_usd(-gap)}/month on paper, but the decision table prefers {verdict.recommended_mode.value} "
        f"for {case.features.pattern.value} load"
    )


# --------------------------------------------------------------------------- idle


def _scale_in(case: _Case, need: Need | None) -> WorkloadVerdict:
    """Idle: what its idle capacity costs, at one task of the smallest size that still holds its memory peak."""
    features, subject, current = case.features, case.subject, case.current
    cpu = features.cpu_p95_pct
    days = features.data_span_hours / 24.0
    idle_words = f"CPU p95 {cpu:.2f} % over {days:.0f} days" if cpu is not None else f"barely used over {days:.0f} days"
    mode = subject.current_mode
    size = (size_for_mode(need, case.size, mode) if need is not None else None) or case.size
    tasks_now = features.avg_tasks or 0.0
    target = _one_task_quote(case, size, tasks_now)
    case.evidence["scale_in_to"] = {
        "tasks": 1,
        "cpu_units": size.cpu_units,
        "memory_mib": size.memory_mib,
        "zero_supported": False,
        "why_not_zero": "modeshift reads no request metrics: whether anything still calls it is for its owner "
        "to check; with no traffic at all, scaling to zero saves the whole current cost",
    }
    savings = None if target is None else current.monthly_cost_usd - target.monthly_cost_usd
    if target is not None and savings is not None and _meets_threshold(savings, current.monthly_cost_usd, case.options):
        case.reasons.append(
            f"idle ({idle_words}): {tasks_now:.2f} tasks on average reserve capacity nobody uses; one task of "
            f"{size.cpu_units} CPU units / {size.memory_mib} MiB would cost {_usd(target.monthly_cost_usd)}/month "
            f"against {_usd(current.monthly_cost_usd)}/month now; if it serves no traffic at all, scale it to zero "
            f"and save all {_usd(current.monthly_cost_usd)}"
        )
        confidence = min(
            _SCALE_IN_MAX_CONFIDENCE, _confidence(features, savings, current.monthly_cost_usd, case.penalties)
        )
        return _verdict(
            subject,
            features,
            WorkloadVerdictKind.SCALE_IN,
            mode,
            current,
            target,
            case.reasons,
            case.evidence,
            confidence,
            recommended_size=size,
            recommended_arch=case.costs.architecture,
        )
    case.reasons.append(
        f"idle ({idle_words}): it reserves capacity but barely uses it; scaling it in saves less than the threshold "
        "at one task, so the lever is removing it if nothing depends on it"
    )
    decision = _stay(case)
    return _verdict(
        subject,
        features,
        decision.kind,
        mode,
        current,
        current,
        case.reasons,
        case.evidence,
        decision.confidence,
        recommended_size=case.size,
        recommended_arch=case.costs.architecture,
    )


def _one_task_quote(case: _Case, size: TaskSize, tasks_now: float) -> PriceQuote | None:
    mode = case.subject.current_mode
    if mode in _FARGATE_MODES:
        if case.subject.task_definition.is_windows:
            return None
        try:
            billed = fargate_size(size.cpu_units, size.memory_mib)
            rates = case.prices.catalog.fargate_rates(
                case.prices.region, case.costs.architecture, spot=mode is LaunchMode.FARGATE_SPOT
            )
        except (PriceNotFoundError, TaskTooLargeForFargateError):
            return None
        discount = case.options.fargate_discount_pct if mode is LaunchMode.FARGATE else 0.0
        return fargate_monthly_cost(billed, rates, 1.0, discount, label=f"{mode_words(mode)}, one task")
    share = case.ec2_share
    if share is None or tasks_now <= 0 or case.current is not share.quote:
        return None
    memory = share.binding_resource == "memory"
    old = (case.size.memory_mib if memory else case.size.cpu_units) * tasks_now
    new = size.memory_mib if memory else size.cpu_units
    if old <= 0:
        return None
    amount = share.quote.monthly_cost_usd * min(1.0, new / old)
    return PriceQuote(
        monthly_cost_usd=amount,
        arithmetic=(
            f"EC2 share at one task: {_usd(share.quote.monthly_cost_usd)} × {new:,} ÷ {old:,.0f} reserved "
            f"{'MiB' if memory else 'CPU units'} = {_usd(amount)}/month (once the capacity provider scales in)"
        ),
    )


def _verdict(
    subject: WorkloadSubject,
    features: WorkloadFeatures,
    kind: WorkloadVerdictKind,
    recommended_mode: LaunchMode,
    current: PriceQuote | None,
    recommended: PriceQuote | None,
    reasons: Sequence[str],
    evidence: dict[str, object],
    confidence: float,
    *,
    recommended_size: TaskSize | None = None,
    recommended_arch: Architecture | None = None,
    extra_arithmetic: Sequence[str] = (),
) -> WorkloadVerdict:
    if current is None:
        # No honest figure: report the cost as unknown in the evidence rather than a silent zero.
        evidence = {**evidence, "cost_known": False}
        current_cost = recommended_cost = 0.0
        arithmetic: tuple[str, ...] = ("cost unknown: not enough data to price this workload",)
    else:
        evidence = {**evidence, "cost_known": True}
        current_cost = round_usd(current.monthly_cost_usd)
        recommended_cost = round_usd((recommended or current).monthly_cost_usd)
        arithmetic = (f"now: {current.arithmetic}",)
        if recommended is not None and recommended is not current:
            arithmetic += (
                f"recommended: {recommended.arithmetic}",
                f"savings: {_usd(current_cost)} − {_usd(recommended_cost)} = {_usd(current_cost - recommended_cost)}"
                "/month",
            )
        arithmetic += tuple(extra_arithmetic)
    size = recommended_size or subject.task_definition.size()
    return WorkloadVerdict(
        cluster=subject.cluster,
        workload=subject.workload,
        service=subject.service,
        task_family=subject.task_definition.family,
        verdict=kind,
        current_mode=subject.current_mode,
        recommended_mode=recommended_mode,
        pattern=features.pattern,
        current_monthly_cost_usd=current_cost,
        recommended_monthly_cost_usd=recommended_cost,
        monthly_savings_usd=round_usd(current_cost - recommended_cost),
        confidence=confidence,
        reasons=tuple(reasons),
        arithmetic=arithmetic,
        evidence=evidence,
        current_mix=dict(subject.current_mix),
        recommended_task_size=None if size is None else {"cpu_units": size.cpu_units, "memory_mib": size.memory_mib},
        recommended_architecture=architecture_name(recommended_arch or subject.task_definition.architecture),
    )


# --------------------------------------------------------------------------- cluster verdict


def advise_cluster(
    inventory: ClusterInventory,
    assessment: ClusterAssessment | None,
    workload_verdicts: Sequence[WorkloadVerdict],
    options: PolicyOptions,
    coverage: float = 1.0,
) -> ClusterVerdict:
    """One verdict per cluster: its waste, and whether to move workloads out or tune its capacity."""
    if assessment is None or assessment.instance_count == 0:
        return ClusterVerdict(
            cluster=inventory.name,
            verdict=ClusterVerdictKind.NO_EC2_CAPACITY,
            instance_count=0,
            monthly_cost_usd=0.0,
            wasted_monthly_cost_usd=0.0,
            cpu_reservation_pct=None,
            memory_reservation_pct=None,
            confidence=1.0,
            reasons=("no EC2 container instances: Fargate capacity has no hosts to waste",),
        )
    reasons: list[str] = []
    if assessment.unpriced_types:
        reasons.append(
            f"no catalog price for {', '.join(assessment.unpriced_types)}: those instances are left out of the "
            "cost (refresh prices with MODESHIFT_USE_PRICE_LIST_API=true)"
        )
    if assessment.idle_instance_count:
        reasons.append(f"{assessment.idle_instance_count} of {assessment.instance_count} instances run no task now")
    # Every outcome below refines this one; model_copy keeps the fields it does not name.
    base = ClusterVerdict(
        cluster=inventory.name,
        verdict=ClusterVerdictKind.INSUFFICIENT_DATA,
        instance_count=assessment.instance_count,
        instance_types=assessment.instance_types,
        idle_instance_count=assessment.idle_instance_count,
        monthly_cost_usd=round_usd(assessment.monthly_cost_usd),
        wasted_monthly_cost_usd=0.0,
        cpu_reservation_pct=_round_opt(assessment.cpu_reservation_pct),
        memory_reservation_pct=_round_opt(assessment.memory_reservation_pct),
        binding_resource=assessment.binding_resource,  # type: ignore[arg-type]
        confidence=0.1,
        reasons=(*reasons, "no reservation data: cannot measure waste"),
        arithmetic=assessment.arithmetic,
        evidence={
            "reservation_source": assessment.reservation_source,
            "binding_reservation_p95_pct": _round_opt(assessment.binding_reservation_p95_pct),
            "compute_monthly_cost_usd": round_usd(assessment.compute_monthly_usd),
            "operator_monthly_cost_usd": round_usd(assessment.operator_monthly_usd),
            "waste_known": False,
        },
    )
    binding = assessment.binding_reservation_pct
    if binding is None:
        return base
    wasted = assessment.wasted_monthly_usd or 0.0
    if assessment.reservation_source.startswith("container"):
        # A snapshot of the instances now is not a lookback: documented as insufficient_data, whatever it shows.
        return base.model_copy(
            update={
                "reasons": (
                    *reasons,
                    "no CPUReservation/MemoryReservation metrics in the lookback: a snapshot of its container "
                    f"instances now shows {binding:.1f}% {assessment.binding_resource} reserved, which cannot "
                    "measure waste over time",
                ),
                "evidence": {**base.evidence, "snapshot_wasted_monthly_cost_usd": round_usd(wasted)},
            }
        )
    arithmetic = (
        *assessment.arithmetic,
        f"waste: {_usd(assessment.monthly_cost_usd)} × (1 − {binding:.1f}% {assessment.binding_resource} reserved)"
        f" = {_usd(wasted)}/month",
    )
    reasons.append(
        f"{assessment.binding_resource} is the binding resource at {binding:.1f}% reserved on average "
        f"(CPU {assessment.cpu_reservation_pct or 0:.1f}%, memory {assessment.memory_reservation_pct or 0:.1f}%)"
    )
    measured = base.model_copy(
        update={
            "verdict": ClusterVerdictKind.KEEP,
            "wasted_monthly_cost_usd": round_usd(wasted),
            "confidence": round(clamp01(0.4 + 0.5 * coverage), 2),
            "arithmetic": arithmetic,
            "evidence": {**base.evidence, "waste_known": True},
        }
    )
    stuck = _stuck_workloads(workload_verdicts)
    if stuck:
        reasons.append(
            f"{len(stuck)} workload(s) cannot leave this capacity: "
            + "; ".join(f"{name} ({', '.join(codes)})" for name, codes in stuck.items())
        )
        measured = measured.model_copy(
            update={
                "evidence": {
                    **measured.evidence,
                    "workloads_that_cannot_move": {name: list(codes) for name, codes in stuck.items()},
                }
            }
        )
    if binding >= options.wasteful_reservation_pct:
        reasons.append(f"reservation at or above {options.wasteful_reservation_pct:g}%: capacity fits the load")
        return measured.model_copy(update={"reasons": tuple(reasons)})

    movers = [
        v
        for v in workload_verdicts
        if v.verdict in (WorkloadVerdictKind.MOVE_TO_FARGATE, WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT)
    ]
    if movers:
        moved = sum(v.monthly_savings_usd for v in movers)
        reasons.append(
            f"{len(movers)} workload(s) should leave for Fargate ({', '.join(v.workload for v in movers)}), "
            f"saving {_usd(moved)}/month once the capacity provider scales in"
        )
        return measured.model_copy(
            update={
                "verdict": ClusterVerdictKind.MOVE_WORKLOADS_TO_FARGATE,
                "monthly_savings_usd": round_usd(moved),
                "reasons": tuple(reasons),
                "evidence": {**measured.evidence, "counted_in_workload_savings": True},
            }
        )
    peak = assessment.binding_reservation_p95_pct or binding
    headroom_pct, headroom_source = _headroom(inventory, options)
    usable = 1.0 - headroom_pct / 100.0
    # Daemons run one task on every instance: their share of each instance stays whatever the count.
    daemon_pct = _daemon_reservation_pct(inventory, assessment)
    movable_peak = max(0.0, peak - daemon_pct)
    per_instance = usable - daemon_pct / 100.0
    if per_instance <= 0:
        needed = assessment.instance_count
    else:
        needed = max(1, math.ceil(assessment.instance_count * (movable_peak / 100.0) / per_instance - 1e-9))
    evidence_update: dict[str, Any] = {
        "headroom_pct": headroom_pct,
        "headroom_source": headroom_source,
        "daemon_reservation_pct": round(daemon_pct, 1),
    }
    measured = measured.model_copy(update={"evidence": {**measured.evidence, **evidence_update}})
    if needed >= assessment.instance_count:
        reasons.append("its peak reservation needs every instance it has: keep")
        return measured.model_copy(update={"reasons": tuple(reasons)})
    priced = assessment.instance_count - sum(assessment.instance_types.get(t, 0) for t in assessment.unpriced_types)
    instance_cost = assessment.monthly_cost_usd / priced if priced else 0.0
    savings = (assessment.instance_count - needed) * instance_cost
    daemon_note = f", daemons holding {daemon_pct:.1f}% of every instance," if daemon_pct > 0 else ""
    reasons.append(
        f"over-provisioned: {needed} instance(s) would hold its p95 reservation ({peak:.1f}%{daemon_note}) with "
        f"{headroom_pct:g}% headroom ({headroom_source}); lower the Auto Scaling group's minimum or enable managed "
        f"scaling with a target capacity of {100 - headroom_pct:g}%"
    )
    tuned = savings >= options.min_savings_usd
    return measured.model_copy(
        update={
            "verdict": ClusterVerdictKind.TUNE_CAPACITY if tuned else ClusterVerdictKind.KEEP,
            "recommended_instance_count": needed,
            "monthly_savings_usd": round_usd(savings) if tuned else 0.0,
            "reasons": tuple(reasons),
            "arithmetic": (
                *arithmetic,
                f"tuned: ⌈{assessment.instance_count} instances × ({peak:.1f}% p95 reserved − {daemon_pct:.1f}%"
                f" daemons)"
                f" ÷ ({usable:.0%} usable − {daemon_pct:.1f}% daemons)⌉ = "
                f"{needed} instances; saves {assessment.instance_count - needed} × {_usd(instance_cost)}"
                f" = {_usd(savings)}/month",
            ),
        }
    )


def _stuck_workloads(verdicts: Sequence[WorkloadVerdict]) -> dict[str, tuple[str, ...]]:
    """Workloads on this cluster's capacity that no other mode can run, with their blocker codes."""
    stuck: dict[str, tuple[str, ...]] = {}
    for verdict in verdicts:
        if verdict.current_mode not in (LaunchMode.EC2, LaunchMode.EXTERNAL):
            continue
        feasibility = verdict.evidence.get("feasibility")
        if not isinstance(feasibility, dict):
            continue
        others = [f for mode, f in feasibility.items() if mode != verdict.current_mode.value and isinstance(f, dict)]
        if others and not any(f.get("ok") for f in others):
            codes: list[str] = []
            for f in others:
                codes.extend(code for code in f.get("blockers", ()) if code not in codes)
            stuck[verdict.workload] = tuple(codes)
    return stuck


def _headroom(inventory: ClusterInventory, options: PolicyOptions) -> tuple[float, str]:
    """Capacity kept free: 100 − managed scaling's target capacity when the cluster has one, else the setting."""
    if inventory.target_capacity_pct is not None:
        return max(0.0, 100.0 - inventory.target_capacity_pct), (
            f"capacity provider target capacity {inventory.target_capacity_pct:g}%"
        )
    return options.headroom_pct, "headroom setting"


def _daemon_reservation_pct(inventory: ClusterInventory, assessment: ClusterAssessment) -> float:
    """Percent of each instance's binding resource that the cluster's DAEMON services reserve."""
    instances = [i for i in inventory.container_instances if i.registered_cpu_units > 0]
    if not instances:
        return 0.0
    memory = assessment.binding_resource == "memory"
    registered = sum(i.registered_memory_mib if memory else i.registered_cpu_units for i in instances) / len(instances)
    per_instance = 0.0
    for service in inventory.services:
        size = service.task_definition.size()
        if service.daemon and size is not None:
            per_instance += size.memory_mib if memory else size.cpu_units
    return min(100.0, _pct(per_instance, registered))


def _difference(savings: float) -> str:
    return f"{_usd(savings)} less" if savings >= 0 else f"{_usd(-savings)} more"


def _break_even_ec2_discount(costs: ShapeCosts, current_usd: float, options: PolicyOptions) -> float | None:
    """The effective EC2 discount (whole percent) at which the packed EC2 plan clears both thresholds."""
    plan = costs.ec2_plan
    if plan is None or current_usd <= 0:
        return None
    target = min(current_usd - options.min_savings_usd, current_usd * (1 - options.min_savings_pct / 100.0))
    hours = HOURS_PER_MONTH * plan.instances
    operator = options.operator_cost_per_instance_hour_usd * options.operator_cost_weight * hours
    compute_budget = target - operator
    list_compute = plan.hourly_usd * hours
    if compute_budget <= 0 or list_compute <= 0:
        return None
    needed = math.ceil(100.0 * (1.0 - compute_budget / list_compute))
    return float(needed) if 0 < needed < 100 else None


def _round_opt(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
