"""The decision table as code: features + prices + options -> one costed verdict per workload and cluster."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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
    clamp01,
    round_usd,
)
from modeshift.domain.options import PolicyOptions
from modeshift.domain.packing import PackingPlan, cheapest_plan, plan_for
from modeshift.domain.pricing import (
    PriceCatalog,
    TaskTooLargeForFargateError,
    ec2_monthly_cost,
    fargate_monthly_cost,
    fargate_size,
)
from modeshift.errors import PriceNotFoundError

INTERRUPTIBLE_TAG = "modeshift:interruptible"
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
    load_balanced: bool = False
    cluster_has_ec2_capacity_provider: bool = True
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
            load_balanced=self.load_balanced,
            cluster_has_ec2_capacity_provider=self.cluster_has_ec2_capacity_provider,
        )

    def mix_fractions(self) -> dict[LaunchMode, float]:
        """Share of tasks per mode; one mode at 1.0 unless a strategy splits the workload."""
        total = sum(self.current_mix.values())
        if total <= 0 or len([n for n in self.current_mix.values() if n > 0]) < 2:
            return {self.current_mode: 1.0}
        return {mode: n / total for mode, n in self.current_mix.items() if n > 0}


@dataclass(frozen=True)
class PricingContext:
    catalog: PriceCatalog
    region: str
    # registered memory seen on container instances, by instance type (packing uses it, not nominal)
    observed_registered_memory_mib: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Ec2Share:
    """A workload's share of its EC2 cluster's bill, and the instance type it would pack onto."""

    quote: PriceQuote
    instance_type: str | None


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
        )
    return shares


# --------------------------------------------------------------------------- workloads


@dataclass
class _Costs:
    fargate: PriceQuote | None = None
    fargate_spot: PriceQuote | None = None
    ec2_current_share: PriceQuote | None = None
    ec2_packed: PriceQuote | None = None
    ec2_plan: PackingPlan | None = None
    fargate_size: TaskSize | None = None
    notes: list[str] = field(default_factory=list)

    def as_evidence(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for name, quote in (
            ("fargate", self.fargate),
            ("fargate_spot", self.fargate_spot),
            ("ec2_current_share", self.ec2_current_share),
            ("ec2_packed", self.ec2_packed),
        ):
            if quote is not None:
                out[name] = {
                    "monthly_cost_usd": round_usd(quote.monthly_cost_usd),
                    "arithmetic": quote.arithmetic,
                }
        if self.fargate_size is not None:
            out["fargate_task_size"] = {
                "cpu_units": self.fargate_size.cpu_units,
                "memory_mib": self.fargate_size.memory_mib,
            }
        if self.ec2_plan is not None:
            out["ec2_packing"] = {
                "instance_type": self.ec2_plan.instance_type,
                "tasks_per_instance": self.ec2_plan.tasks_per_instance,
                "binding_resource": self.ec2_plan.binding_resource,
                "registered_memory_mib": self.ec2_plan.registered_memory_mib,
                "registered_memory_estimated": self.ec2_plan.memory_estimated,
            }
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def _price_options(
    subject: WorkloadSubject,
    size: TaskSize,
    features: WorkloadFeatures,
    prices: PricingContext,
    options: PolicyOptions,
    ec2_share: Ec2Share | None,
) -> _Costs:
    costs = _Costs()
    avg_tasks = features.avg_tasks or 0.0
    peak_tasks = features.peak_tasks or 0.0
    arch = subject.task_definition.architecture
    if subject.task_definition.is_windows:
        # Windows Fargate bills differently (OS licence, 1/2/4 vCPU only) and the catalog holds no
        # such rates: no figure is better than a Linux one three times too low.
        costs.notes.append("Windows on Fargate is not in the price catalog: Fargate options not priced")
    else:
        try:
            costs.fargate_size = fargate_size(size.cpu_units, size.memory_mib)
        except TaskTooLargeForFargateError as exc:
            costs.notes.append(f"no Fargate size fits this task: {exc}")
    if costs.fargate_size is not None:
        try:
            rates = prices.catalog.fargate_rates(prices.region, arch)
            costs.fargate = fargate_monthly_cost(
                costs.fargate_size, rates, avg_tasks, options.fargate_discount_pct, label="Fargate"
            )
        except PriceNotFoundError as exc:
            costs.notes.append(str(exc))
        try:
            spot_rates = prices.catalog.fargate_rates(prices.region, arch, spot=True)
            # Savings Plans do not cover Spot, so the Fargate discount does not apply to it.
            costs.fargate_spot = fargate_monthly_cost(
                costs.fargate_size, spot_rates, avg_tasks, 0.0, label="Fargate Spot"
            )
        except PriceNotFoundError as exc:
            costs.notes.append(str(exc))
    if ec2_share is not None:
        costs.ec2_current_share = ec2_share.quote
    # The EC2 option: the workload packed on its cluster's type (EC2 now) or the cheapest type (Fargate now).
    common: dict[str, Any] = {
        "headroom_pct": options.headroom_pct,
        "discount_pct": options.ec2_discount_pct,
        "operator_cost_per_instance_hour_usd": options.operator_cost_per_instance_hour_usd,
        "operator_weight": options.operator_cost_weight,
        "observed_registered_memory": dict(prices.observed_registered_memory_mib),
    }
    plan: PackingPlan | None = None
    if peak_tasks > 0 and not subject.task_definition.is_windows:
        if ec2_share is not None and ec2_share.instance_type:
            try:
                plan = plan_for(size, peak_tasks, ec2_share.instance_type, prices.catalog, prices.region, **common)
            except PriceNotFoundError as exc:
                costs.notes.append(str(exc))
        if plan is None:
            # Burstable T types would need CPU credits a steady load burns through: not candidates.
            candidates = [t for t in prices.catalog.ec2_types(prices.region, arch) if not t.startswith("t")]
            plan = cheapest_plan(size, peak_tasks, prices.catalog, prices.region, arch, candidates, **common)
    if plan is not None:
        costs.ec2_plan = plan
        if ec2_share is not None:
            # On a shared cluster a workload pays for the fraction of instances its peak occupies.
            instances = plan.instances_exact
            costs.ec2_packed = ec2_monthly_cost(
                plan.instance_type,
                plan.hourly_usd,
                instances,
                options.ec2_discount_pct,
                options.operator_cost_per_instance_hour_usd,
                options.operator_cost_weight,
            )
        else:
            costs.ec2_packed = plan.monthly
    return costs


def advise_workload(
    subject: WorkloadSubject,
    features: WorkloadFeatures,
    prices: PricingContext,
    options: PolicyOptions,
    ec2_share: Ec2Share | None = None,
) -> WorkloadVerdict:
    """Apply the decision table to one workload and return its costed verdict."""
    size = subject.task_definition.size()
    evidence: dict[str, object] = {
        "features": features.model_dump(mode="json"),
        "task_count_source": subject.task_count_source,
        "goal": options.goal.value,
    }
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
        snapshot = _current_quote(subject, _price_options(subject, size, estimate, prices, options, ec2_share))
        if snapshot is not None:
            snapshot = PriceQuote(
                monthly_cost_usd=snapshot.monthly_cost_usd,
                arithmetic=f"estimated from today's desired count ({subject.desired_count}): {snapshot.arithmetic}",
            )
        if blocked is not None:
            # Nothing else can run it, so the verdict needs no usage data; only the cost is an estimate.
            return _verdict(
                subject,
                features,
                WorkloadVerdictKind.KEEP,
                subject.current_mode,
                current=snapshot,
                recommended=snapshot,
                reasons=reasons,
                evidence=evidence,
                confidence=_BLOCKED_CONFIDENCE,
            )
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

    costs = _price_options(subject, size, features, prices, options, ec2_share)
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
        return _verdict(
            subject,
            features,
            WorkloadVerdictKind.KEEP,
            subject.current_mode,
            current=current_quote,
            recommended=current_quote,
            reasons=[*reasons, *costs.notes],
            evidence=evidence,
            confidence=_BLOCKED_CONFIDENCE,
        )
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
    if features.pattern is Pattern.IDLE:
        reasons.append(
            "idle: it reserves capacity but barely uses it; the lever is scaling it in or removing it, "
            "not its launch mode"
        )
        return _keep(subject, features, current_quote, reasons, evidence, penalties)

    if subject.current_mode is LaunchMode.EC2:
        return _advise_from_ec2(
            subject,
            features,
            costs,
            current_quote,
            avg_vcpu,
            tolerant,
            options,
            reasons,
            evidence,
            penalties,
            feasibility,
        )
    return _advise_from_fargate(
        subject,
        features,
        costs,
        current_quote,
        avg_vcpu,
        tolerant,
        options,
        reasons,
        evidence,
        penalties,
        feasibility,
    )


# A keep forced by feasibility rests on the task definition, not on usage data.
_BLOCKED_CONFIDENCE = 0.9


def _mode_quote(mode: LaunchMode, costs: _Costs) -> PriceQuote | None:
    if mode in (LaunchMode.EC2, LaunchMode.EXTERNAL):
        # self-managed capacity (EC2 or ECS Anywhere): the workload's share of its cluster's bill
        return costs.ec2_current_share
    if mode is LaunchMode.FARGATE_SPOT:
        return costs.fargate_spot
    return costs.fargate


def _current_quote(subject: WorkloadSubject, costs: _Costs) -> PriceQuote | None:
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
        if mode is LaunchMode.EC2:
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


def _advise_from_ec2(
    subject: WorkloadSubject,
    features: WorkloadFeatures,
    costs: _Costs,
    current: PriceQuote,
    avg_vcpu: float,
    tolerant: bool,
    options: PolicyOptions,
    reasons: list[str],
    evidence: dict[str, object],
    penalties: float,
    feasibility: Mapping[LaunchMode, ModeFeasibility],
) -> WorkloadVerdict:
    small = avg_vcpu < options.small_workload_vcpu
    shape_favours_fargate = features.pattern in (Pattern.BURSTY, Pattern.PERIODIC) or small
    fargate_ok = feasibility[LaunchMode.FARGATE].ok
    spot_ok = feasibility[LaunchMode.FARGATE_SPOT].ok
    use_spot = tolerant and options.allow_fargate_spot and costs.fargate_spot is not None and spot_ok
    if tolerant and options.allow_fargate_spot and not spot_ok and fargate_ok:
        reasons.append(_blockers_reason(feasibility, LaunchMode.FARGATE_SPOT))
    if not use_spot and not fargate_ok:
        reasons.insert(0, _blockers_reason(feasibility, LaunchMode.FARGATE))
        return _keep(subject, features, current, reasons, evidence, penalties)
    target_mode = LaunchMode.FARGATE_SPOT if use_spot else LaunchMode.FARGATE
    target = costs.fargate_spot if use_spot else costs.fargate
    if target is None:
        reasons.append("no Fargate price or size for this task: stays on EC2")
        return _keep(subject, features, current, reasons, evidence, penalties)

    # Steady, non-small load is judged against the EC2 cost it would have on well-packed capacity:
    # its waste is the cluster's to fix (tune capacity). An overhead-conscious goal does not assume
    # anyone will do that tuning, so it compares with today's bill.
    if shape_favours_fargate or options.goal is Goal.OVERHEAD or costs.ec2_packed is None:
        baseline = current
        if shape_favours_fargate:
            why = (
                f"{features.pattern.value} load"
                if features.pattern is not Pattern.STEADY
                else f"small load ({avg_vcpu:.2f} vCPU reserved on average < {options.small_workload_vcpu:g})"
            )
            reasons.append(f"{why}: on EC2 it pays for hosts sized for its peaks; Fargate bills per task-second")
    else:
        baseline = costs.ec2_packed
        reasons.append(
            f"steady load of {avg_vcpu:.2f} vCPU: compared with its cost on well-packed EC2 "
            f"({_usd(costs.ec2_packed.monthly_cost_usd)}/month), since idle cluster capacity is fixed by tuning"
        )
    margin = baseline.monthly_cost_usd - target.monthly_cost_usd
    savings = current.monthly_cost_usd - target.monthly_cost_usd
    if _meets_threshold(margin, baseline.monthly_cost_usd, options) and _meets_threshold(
        savings, current.monthly_cost_usd, options
    ):
        kind = WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT if use_spot else WorkloadVerdictKind.MOVE_TO_FARGATE
        reasons.append(
            f"{target_mode.value} would cost {_usd(target.monthly_cost_usd)}/month against "
            f"{_usd(current.monthly_cost_usd)}/month now: saves {_usd(savings)}/month"
        )
        if use_spot:
            reasons.append(f"Fargate Spot: {evidence['interruption_tolerance_reason']}")
        changes = _changes_reason(feasibility, target_mode)
        if changes:
            reasons.append(changes)
        return _verdict(
            subject,
            features,
            kind,
            target_mode,
            current,
            target,
            reasons,
            evidence,
            _confidence(features, savings, current.monthly_cost_usd, penalties),
        )
    reasons.append(
        f"{target_mode.value} would cost {_usd(target.monthly_cost_usd)}/month against "
        f"{_usd(baseline.monthly_cost_usd)}/month on EC2 ({_usd(current.monthly_cost_usd)} today): "
        "below the savings threshold "
        f"({_usd(options.min_savings_usd)} and {options.min_savings_pct:g}%)"
    )
    return _keep(subject, features, current, reasons, evidence, penalties)


def _advise_from_fargate(
    subject: WorkloadSubject,
    features: WorkloadFeatures,
    costs: _Costs,
    current: PriceQuote,
    avg_vcpu: float,
    tolerant: bool,
    options: PolicyOptions,
    reasons: list[str],
    evidence: dict[str, object],
    penalties: float,
    feasibility: Mapping[LaunchMode, ModeFeasibility],
) -> WorkloadVerdict:
    large_steady = features.pattern is Pattern.STEADY and avg_vcpu >= options.large_workload_vcpu
    if large_steady and costs.ec2_packed is not None and not feasibility[LaunchMode.EC2].ok:
        reasons.append(_blockers_reason(feasibility, LaunchMode.EC2))
    elif large_steady and costs.ec2_packed is not None:
        ec2 = costs.ec2_packed
        savings = current.monthly_cost_usd - ec2.monthly_cost_usd
        if options.goal is Goal.OVERHEAD:
            reasons.append(
                f"large steady load ({avg_vcpu:.1f} vCPU), but goal=overhead keeps it on Fargate: "
                f"EC2 would cost {_usd(ec2.monthly_cost_usd)}/month ({_difference(savings)}) and hosts to manage"
            )
            return _keep(subject, features, current, reasons, evidence, penalties)
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
            changes = _changes_reason(feasibility, LaunchMode.EC2)
            if changes:
                reasons.append(changes)
            return _verdict(
                subject,
                features,
                WorkloadVerdictKind.MOVE_TO_EC2,
                LaunchMode.EC2,
                current,
                ec2,
                reasons,
                evidence,
                _confidence(features, savings, current.monthly_cost_usd, penalties),
            )
        reasons.append(
            f"EC2 would cost {_usd(ec2.monthly_cost_usd)}/month against {_usd(current.monthly_cost_usd)}/month: "
            "below the savings threshold"
        )
        needed = _break_even_ec2_discount(costs, current.monthly_cost_usd, options)
        if needed is not None:
            evidence["ec2_discount_pct_needed"] = needed
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
    if subject.current_mode is LaunchMode.FARGATE and tolerant and options.allow_fargate_spot and not spot_open:
        reasons.append(_blockers_reason(feasibility, LaunchMode.FARGATE_SPOT))
    if (
        subject.current_mode is LaunchMode.FARGATE
        and tolerant
        and options.allow_fargate_spot
        and costs.fargate_spot is not None
        and spot_open
    ):
        spot = costs.fargate_spot
        savings = current.monthly_cost_usd - spot.monthly_cost_usd
        if _meets_threshold(savings, current.monthly_cost_usd, options):
            reasons.append(
                f"Fargate Spot would cost {_usd(spot.monthly_cost_usd)}/month: saves {_usd(savings)}/month; "
                f"{evidence['interruption_tolerance_reason']}"
            )
            return _verdict(
                subject,
                features,
                WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT,
                LaunchMode.FARGATE_SPOT,
                current,
                spot,
                reasons,
                evidence,
                _confidence(features, savings, current.monthly_cost_usd, penalties + 0.1),
            )
    return _keep(subject, features, current, reasons, evidence, penalties)


def _keep(
    subject: WorkloadSubject,
    features: WorkloadFeatures,
    current: PriceQuote,
    reasons: list[str],
    evidence: dict[str, object],
    penalties: float,
) -> WorkloadVerdict:
    return _verdict(
        subject,
        features,
        WorkloadVerdictKind.KEEP,
        subject.current_mode,
        current,
        current,
        reasons,
        evidence,
        _confidence(features, 0.0, 0.0, penalties),
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
    arithmetic = (
        *assessment.arithmetic,
        f"waste: {_usd(assessment.monthly_cost_usd)} × (1 − {binding:.1f}% {assessment.binding_resource} reserved)"
        f" = {_usd(wasted)}/month",
    )
    reasons.append(
        f"{assessment.binding_resource} is the binding resource at {binding:.1f}% reserved on average "
        f"(CPU {assessment.cpu_reservation_pct or 0:.1f}%, memory {assessment.memory_reservation_pct or 0:.1f}%)"
    )
    from_snapshot = assessment.reservation_source.startswith("container")
    measured = base.model_copy(
        update={
            "verdict": ClusterVerdictKind.KEEP,
            "wasted_monthly_cost_usd": round_usd(wasted),
            "confidence": round(clamp01(0.4 + 0.5 * coverage - (0.2 if from_snapshot else 0.0)), 2),
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


def _break_even_ec2_discount(costs: _Costs, current_usd: float, options: PolicyOptions) -> float | None:
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
