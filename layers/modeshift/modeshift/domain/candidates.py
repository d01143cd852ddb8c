"""The decision space of one workload: every launch mode × CPU architecture × task size, priced.

A candidate is one way the workload could run. Its price comes from the one catalog; its feasibility
from the rules in `feasibility.py` (a candidate with a blocker stays in the list, marked, and is never
chosen). `policy.py` chooses among them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modeshift.domain.feasibility import FeasibilityFacts, ModeFeasibility, candidate_feasibility
from modeshift.domain.models import (
    CPU_UNITS_PER_VCPU,
    HOURS_PER_MONTH,
    MIB_PER_GIB,
    Architecture,
    LaunchMode,
    PriceQuote,
    TaskSize,
    WorkloadFeatures,
    round_usd,
)
from modeshift.domain.options import PolicyOptions
from modeshift.domain.packing import PackingPlan, plan_for, registered_memory_mib
from modeshift.domain.pricing import (
    PriceCatalog,
    TaskTooLargeForFargateError,
    ec2_monthly_cost,
    fargate_monthly_cost,
    fargate_size,
)
from modeshift.errors import PriceNotFoundError

# Fargate runs Windows tasks at 1, 2 or 4 vCPU only (AWS: Fargate Windows task sizes).
_WINDOWS_FARGATE_SIZES = ((1024, 2, 8), (2048, 4, 16), (4096, 8, 30))


@dataclass
class PricingContext:
    catalog: PriceCatalog
    region: str
    # registered memory seen on container instances, by instance type (packing uses it, not nominal)
    observed_registered_memory_mib: Mapping[str, int] = field(default_factory=dict)
    # cheapest packing plans already found, by everything they depend on (many workloads share sizes)
    plan_cache: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Ec2Share:
    """A workload's share of its EC2 cluster's bill, and the instance type it would pack onto."""

    quote: PriceQuote
    instance_type: str | None
    # the cluster resource the share was allocated on ("cpu" or "memory"): what a smaller task frees
    binding_resource: str | None = None


@dataclass
class ShapeCosts:
    """What each mode costs for one task shape (architecture × size)."""

    architecture: Architecture
    size: TaskSize
    fargate: PriceQuote | None = None
    fargate_spot: PriceQuote | None = None
    ec2_current_share: PriceQuote | None = None
    ec2_packed: PriceQuote | None = None
    ec2_plan: PackingPlan | None = None
    managed_instances: PriceQuote | None = None
    managed_instances_plan: PackingPlan | None = None
    fargate_size: TaskSize | None = None
    notes: list[str] = field(default_factory=list)

    def quote(self, mode: LaunchMode) -> PriceQuote | None:
        """This shape's cost on `mode`: on EC2 the well-packed cost (the current share is another figure)."""
        return {
            LaunchMode.FARGATE: self.fargate,
            LaunchMode.FARGATE_SPOT: self.fargate_spot,
            LaunchMode.EC2: self.ec2_packed,
            LaunchMode.MANAGED_INSTANCES: self.managed_instances,
        }.get(mode)

    def as_evidence(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for name, quote in (
            ("fargate", self.fargate),
            ("fargate_spot", self.fargate_spot),
            ("ec2_current_share", self.ec2_current_share),
            ("ec2_packed", self.ec2_packed),
            ("managed_instances", self.managed_instances),
        ):
            if quote is not None:
                out[name] = {"monthly_cost_usd": round_usd(quote.monthly_cost_usd), "arithmetic": quote.arithmetic}
        if self.fargate_size is not None:
            out["fargate_task_size"] = {
                "cpu_units": self.fargate_size.cpu_units,
                "memory_mib": self.fargate_size.memory_mib,
            }
        if self.ec2_plan is not None:
            out["ec2_packing"] = _plan_evidence(self.ec2_plan)
        if self.managed_instances_plan is not None:
            out["managed_instances_packing"] = _plan_evidence(self.managed_instances_plan)
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def _plan_evidence(plan: PackingPlan) -> dict[str, object]:
    return {
        "instance_type": plan.instance_type,
        "tasks_per_instance": plan.tasks_per_instance,
        "binding_resource": plan.binding_resource,
        "registered_memory_mib": plan.registered_memory_mib,
        "registered_memory_estimated": plan.memory_estimated,
    }


@dataclass(frozen=True)
class Candidate:
    """One way to run the workload: a mode at an architecture and size, its price and what it needs."""

    mode: LaunchMode
    architecture: Architecture
    size: TaskSize
    quote: PriceQuote | None
    feasibility: ModeFeasibility
    # the architecture is one the workload's image is known to run (today's, or tagged ready)
    image_ready: bool
    resized: bool

    @property
    def monthly_cost_usd(self) -> float | None:
        return None if self.quote is None else self.quote.monthly_cost_usd

    @property
    def key(self) -> tuple[LaunchMode, Architecture, int, int]:
        return (self.mode, self.architecture, self.size.cpu_units, self.size.memory_mib)


# --------------------------------------------------------------------------- pricing one shape


def fargate_windows_size(cpu_units: int, memory_mib: int) -> TaskSize:
    """The smallest Windows Fargate size (1, 2 or 4 vCPU, 1 GiB steps) holding the task."""
    for cpu, low_gib, high_gib in _WINDOWS_FARGATE_SIZES:
        if cpu >= cpu_units and high_gib * MIB_PER_GIB >= memory_mib:
            gib = max(low_gib, -(-memory_mib // MIB_PER_GIB))
            return TaskSize(cpu_units=cpu, memory_mib=gib * MIB_PER_GIB, sized_from="task")
    raise TaskTooLargeForFargateError(f"no Windows Fargate size offers {cpu_units} CPU units and {memory_mib} MiB")


def managed_instances_monthly_cost(
    instance_type: str, hourly_usd: float, fee_usd: float, instances: float, discount_pct: float
) -> PriceQuote:
    """USD per month = instances × (hourly × (1 − discount) + management fee) × 730 h; no operator time."""
    monthly = instances * (hourly_usd * (1 - discount_pct / 100) + fee_usd) * HOURS_PER_MONTH
    arithmetic = (
        f"Managed Instances {instance_type}: {instances:.6g} instances × (${hourly_usd:.10g}/h × "
        f"(1 − {discount_pct:.10g}%) + ${fee_usd:.10g}/h management fee) × {HOURS_PER_MONTH:g} h "
        f"= ${monthly:,.2f}/month"
    )
    return PriceQuote(monthly_cost_usd=monthly, arithmetic=arithmetic)


def _managed_instances_fee(catalog: PriceCatalog, region: str, instance_type: str) -> float | None:
    prices = catalog.regions.get(region)
    return None if prices is None else prices.managed_instances_fee.get(instance_type)


def _fargate_quotes(
    costs: ShapeCosts, is_windows: bool, avg_tasks: float, prices: PricingContext, options: PolicyOptions
) -> None:
    size, arch = costs.size, costs.architecture
    if is_windows:
        region = prices.catalog.regions.get(prices.region)
        windows_rates = region.fargate_windows if region is not None else None
        if windows_rates is None:
            costs.notes.append(f"no Windows Fargate rates for {prices.region} in the catalog: Fargate not priced")
            return
        try:
            costs.fargate_size = fargate_windows_size(size.cpu_units, size.memory_mib)
        except TaskTooLargeForFargateError as exc:
            costs.notes.append(str(exc))
            return
        vcpu = costs.fargate_size.cpu_units / CPU_UNITS_PER_VCPU
        gib = costs.fargate_size.memory_mib / MIB_PER_GIB
        per_task = (
            vcpu * (windows_rates.vcpu_hour_usd + windows_rates.os_license_vcpu_hour_usd)
            + gib * windows_rates.gb_hour_usd
        )
        monthly = avg_tasks * per_task * HOURS_PER_MONTH * (1 - options.fargate_discount_pct / 100)
        costs.fargate = PriceQuote(
            monthly_cost_usd=monthly,
            arithmetic=(
                f"Fargate Windows: {avg_tasks:.6g} tasks avg × ({vcpu:.6g} vCPU × (${windows_rates.vcpu_hour_usd:.10g}"
                f" + ${windows_rates.os_license_vcpu_hour_usd:.10g} OS licence) + {gib:.6g} GB × "
                f"${windows_rates.gb_hour_usd:.10g}) × "
                f"{HOURS_PER_MONTH:g} h × (1 − {options.fargate_discount_pct:.10g}%) = ${monthly:,.2f}/month"
            ),
        )
        return
    try:
        costs.fargate_size = fargate_size(size.cpu_units, size.memory_mib)
    except TaskTooLargeForFargateError as exc:
        costs.notes.append(f"no Fargate size fits this task: {exc}")
        return
    try:
        rates = prices.catalog.fargate_rates(prices.region, arch)
        costs.fargate = fargate_monthly_cost(
            costs.fargate_size, rates, avg_tasks, options.fargate_discount_pct, label=_label("Fargate", arch)
        )
    except PriceNotFoundError as exc:
        costs.notes.append(str(exc))
    try:
        spot_rates = prices.catalog.fargate_rates(prices.region, arch, spot=True)
        # Savings Plans do not cover Spot, so the Fargate discount does not apply to it.
        costs.fargate_spot = fargate_monthly_cost(
            costs.fargate_size, spot_rates, avg_tasks, 0.0, label=_label("Fargate Spot", arch)
        )
    except PriceNotFoundError as exc:
        costs.notes.append(str(exc))


def _label(name: str, arch: Architecture) -> str:
    return f"{name} ARM64" if arch is Architecture.ARM64 else name


@dataclass(frozen=True)
class _TypeTable:
    """The instance types one search ranks, as arrays: names, CPU units, registered MiB, hourly USD."""

    names: tuple[str, ...]
    cpu_units: Any
    memory_mib: Any
    hourly_usd: Any


def _type_table(prices: PricingContext, arch: Architecture, types: Sequence[str]) -> _TypeTable:
    import numpy as np

    key = ("table", prices.region, arch, tuple(types))
    cached = prices.plan_cache.get(key)
    if isinstance(cached, _TypeTable):
        return cached
    region = prices.catalog.regions.get(prices.region)
    rows: list[tuple[str, int, int, float]] = []
    for instance_type in dict.fromkeys(types):
        shape = prices.catalog.instance_shape(instance_type)
        hourly = region.ec2_on_demand.get(instance_type) if region is not None else None
        if shape is None or shape.architecture != arch or hourly is None:
            continue
        memory, _ = registered_memory_mib(shape.memory_mib, prices.observed_registered_memory_mib.get(instance_type))
        rows.append((instance_type, shape.cpu_units, memory, hourly))
    table = _TypeTable(
        names=tuple(r[0] for r in rows),
        cpu_units=np.array([r[1] for r in rows], dtype=np.float64),
        memory_mib=np.array([r[2] for r in rows], dtype=np.float64),
        hourly_usd=np.array([r[3] for r in rows], dtype=np.float64),
    )
    prices.plan_cache[key] = table
    return table


def _cheapest(
    size: TaskSize,
    peak_tasks: float,
    arch: Architecture,
    prices: PricingContext,
    types: Sequence[str],
    common: dict[str, Any],
) -> PackingPlan | None:
    """`packing.cheapest_plan`, ranked on arrays: the same plan, chosen by the same key (monthly cost, then
    fewer instances, lower hourly price, type name), with only the winner built in full."""
    settings = tuple((k, tuple(sorted(v.items())) if isinstance(v, dict) else v) for k, v in common.items())
    key = (size.cpu_units, size.memory_mib, round(peak_tasks, 6), arch, prices.region, tuple(types), settings)
    if key in prices.plan_cache:
        return prices.plan_cache[key]
    import numpy as np

    table = _type_table(prices, arch, types)
    plan: PackingPlan | None = None
    if table.names and peak_tasks >= 0 and (size.cpu_units > 0 or size.memory_mib > 0):
        epsilon = 1e-9
        with np.errstate(divide="ignore", invalid="ignore"):
            by_memory = np.floor(table.memory_mib / size.memory_mib + epsilon) if size.memory_mib > 0 else np.inf
            by_cpu = np.floor(table.cpu_units / size.cpu_units + epsilon) if size.cpu_units > 0 else np.inf
            fit = np.minimum(by_cpu, by_memory)
            usable = 1 - common["headroom_pct"] / 100
            packed = np.maximum(np.ceil(peak_tasks / fit - epsilon), 0)
            instances = np.maximum(np.ceil(packed / usable - epsilon), 0)
            hour = table.hourly_usd * (1 - common["discount_pct"] / 100) + (
                common["operator_cost_per_instance_hour_usd"] * common["operator_weight"]
            )
            monthly = instances * hour * HOURS_PER_MONTH
        valid = np.flatnonzero(fit > 0)
        if valid.size:
            order = np.lexsort(
                (np.array(table.names)[valid], table.hourly_usd[valid], instances[valid], monthly[valid])
            )
            winner = table.names[int(valid[order[0]])]
            plan = plan_for(size, peak_tasks, winner, prices.catalog, prices.region, **common)
    prices.plan_cache[key] = plan
    return plan


def _steady_types(prices: PricingContext, arch: Architecture) -> list[str]:
    key = ("steady-types", prices.region, arch)
    if key not in prices.plan_cache:
        prices.plan_cache[key] = [t for t in prices.catalog.ec2_types(prices.region, arch) if not t.startswith("t")]
    return list(prices.plan_cache[key])


def price_shape(
    size: TaskSize,
    arch: Architecture,
    *,
    is_windows: bool,
    accelerated: bool = False,
    features: WorkloadFeatures,
    prices: PricingContext,
    options: PolicyOptions,
    ec2_share: Ec2Share | None,
    today: bool,
) -> ShapeCosts:
    """Every mode's cost for one shape. `today` marks the shape the workload runs at now: only it has a
    share of the current cluster, and only on it does the cluster's own instance type stay a candidate."""
    costs = ShapeCosts(architecture=arch, size=size)
    avg_tasks = features.avg_tasks or 0.0
    peak_tasks = features.peak_tasks or 0.0
    _fargate_quotes(costs, is_windows, avg_tasks, prices, options)
    if ec2_share is not None and today:
        costs.ec2_current_share = ec2_share.quote
    if peak_tasks <= 0 or is_windows:
        return costs
    common: dict[str, Any] = {
        "headroom_pct": options.headroom_pct,
        "discount_pct": options.ec2_discount_pct,
        "operator_cost_per_instance_hour_usd": options.operator_cost_per_instance_hour_usd,
        "operator_weight": options.operator_cost_weight,
        "observed_registered_memory": dict(prices.observed_registered_memory_mib),
    }
    plan: PackingPlan | None = None
    own_type = ec2_share.instance_type if ec2_share is not None else None
    own_shape = prices.catalog.instance_shape(own_type) if own_type else None
    if own_type and (today or (own_shape is not None and own_shape.architecture is arch)):
        # The workload packed on its cluster's own type first: what it occupies (or would) there.
        try:
            plan = plan_for(size, peak_tasks, own_type, prices.catalog, prices.region, **common)
        except PriceNotFoundError as exc:
            costs.notes.append(str(exc))
    # Burstable T types would need CPU credits a steady load burns through: not candidates. A task that asks
    # for a GPU or an accelerator fits only accelerated types, which the catalog does not rate: it keeps its
    # cluster's own type and gets no other instance candidate.
    steady_types = _steady_types(prices, arch)
    if accelerated:
        steady_types = []
    if plan is None and steady_types:
        plan = _cheapest(size, peak_tasks, arch, prices, steady_types, common)
    if plan is not None:
        costs.ec2_plan = plan
        if ec2_share is not None:
            # On a shared cluster a workload pays for the fraction of instances its peak occupies.
            costs.ec2_packed = ec2_monthly_cost(
                plan.instance_type,
                plan.hourly_usd,
                plan.instances_exact,
                options.ec2_discount_pct,
                options.operator_cost_per_instance_hour_usd,
                options.operator_cost_weight,
            )
        else:
            costs.ec2_packed = plan.monthly
    _managed_instances_quote(costs, peak_tasks, steady_types, prices, options, common)
    return costs


def _managed_instances_quote(
    costs: ShapeCosts,
    peak_tasks: float,
    types: Sequence[str],
    prices: PricingContext,
    options: PolicyOptions,
    common: dict[str, Any],
) -> None:
    """Managed Instances: the cheapest type AWS publishes a management fee for, packed like EC2, no operator."""
    if not types:
        return
    key = ("with-fee", prices.region, tuple(types))
    if key not in prices.plan_cache:
        prices.plan_cache[key] = [t for t in types if _managed_instances_fee(prices.catalog, prices.region, t)]
    with_fee: list[str] = prices.plan_cache[key]
    if not with_fee:
        costs.notes.append(f"no ECS Managed Instances fee for {prices.region} in the catalog: not priced")
        return
    no_operator = {**common, "operator_cost_per_instance_hour_usd": 0.0}
    best: tuple[float, PackingPlan, PriceQuote] | None = None
    for instance_type in with_fee:
        plan = _cheapest(costs.size, peak_tasks, costs.architecture, prices, (instance_type,), no_operator)
        if plan is None:
            continue
        fee = _managed_instances_fee(prices.catalog, prices.region, instance_type) or 0.0
        # whole instances: a Managed Instances provider is new capacity, not a share of an existing fleet
        instances = float(plan.instances)
        quote = managed_instances_monthly_cost(instance_type, plan.hourly_usd, fee, instances, options.ec2_discount_pct)
        if best is None or quote.monthly_cost_usd < best[0]:
            best = (quote.monthly_cost_usd, plan, quote)
    if best is not None:
        _, costs.managed_instances_plan, costs.managed_instances = best


# --------------------------------------------------------------------------- the candidate set


def enumerate_candidates(
    shapes: Sequence[ShapeCosts],
    facts: FeasibilityFacts,
    by_mode: Mapping[LaunchMode, ModeFeasibility],
    today: TaskSize,
    ready_architectures: frozenset[Architecture],
    modes: Sequence[LaunchMode],
) -> list[Candidate]:
    """One candidate per priced shape and mode (today's shape on today's EC2 share is not one: it is "now")."""
    out: list[Candidate] = []
    for shape in shapes:
        for mode in modes:
            quote = shape.quote(mode)
            billed = shape.fargate_size if mode in (LaunchMode.FARGATE, LaunchMode.FARGATE_SPOT) else shape.size
            if quote is None or billed is None:
                continue
            out.append(
                Candidate(
                    mode=mode,
                    architecture=shape.architecture,
                    size=billed,
                    quote=quote,
                    feasibility=candidate_feasibility(facts, by_mode, mode, shape.architecture, shape.size),
                    image_ready=shape.architecture in ready_architectures,
                    resized=(shape.size.cpu_units, shape.size.memory_mib) != (today.cpu_units, today.memory_mib),
                )
            )
    return out
