"""Packing tasks onto EC2 instance types on registered (not nominal) memory, and pricing the result."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

from modeshift.domain.models import HOURS_PER_MONTH, Architecture, PriceQuote, TaskSize
from modeshift.domain.pricing import PriceCatalog, ec2_monthly_cost
from modeshift.errors import PriceNotFoundError

BindingResource = Literal["cpu", "memory"]

# ECS registers less memory than an instance's nominal size (the kernel and the agent keep some):
# m4.large 8192 MiB registers 7985 (97.5 %), c4.large 3840 registers 3768 (98.1 %). Without an
# observed figure, plan on 97 % of nominal, a little below both, so an estimate never over-packs.
ESTIMATED_REGISTERED_MEMORY_FRACTION = 0.97

# Absorbs float noise such as 2047.9999999 usable MiB when 2048 was meant; far below one MiB or task.
_EPSILON = 1e-9


def registered_memory_mib(nominal_mib: int, observed_mib: int | None) -> tuple[int, bool]:
    """MiB ECS registers for an instance type, and whether it is estimated.

    The value a container instance of that type registered, when one was observed; otherwise
    floor(nominal MiB × 0.97).
    """
    if observed_mib is not None and observed_mib > 0:
        return observed_mib, False
    if nominal_mib <= 0:
        raise ValueError(f"nominal_mib must be positive, got {nominal_mib}")
    return math.floor(nominal_mib * ESTIMATED_REGISTERED_MEMORY_FRACTION), True


class InstanceFit(NamedTuple):
    """How many tasks one instance holds, and which resource runs out first."""

    tasks: int
    binding_resource: BindingResource


def instance_fit(
    task: TaskSize, registered_cpu_units: int, registered_memory_mib: int, headroom_pct: float
) -> InstanceFit:
    """Tasks per instance = min over CPU and memory of floor(registered × (1 − headroom %) / task's need).

    A task reserving no CPU (an EC2 task sized by its containers) is bound by memory only; on equal
    counts memory is named as binding.
    """
    if not 0 <= headroom_pct < 100:
        raise ValueError(f"headroom_pct must be in [0, 100), got {headroom_pct}")
    if task.cpu_units <= 0 and task.memory_mib <= 0:
        raise ValueError("a task that reserves neither CPU nor memory cannot be packed")
    usable = 1 - headroom_pct / 100
    by_memory = math.floor(registered_memory_mib * usable / task.memory_mib + _EPSILON) if task.memory_mib > 0 else None
    by_cpu = math.floor(registered_cpu_units * usable / task.cpu_units + _EPSILON) if task.cpu_units > 0 else None
    if by_memory is None or (by_cpu is not None and by_cpu < by_memory):
        return InstanceFit(max(by_cpu or 0, 0), "cpu")
    return InstanceFit(max(by_memory, 0), "memory")


def tasks_per_instance(
    task: TaskSize, registered_cpu_units: int, registered_memory_mib: int, headroom_pct: float
) -> int:
    """How many copies of `task` one instance holds after keeping `headroom_pct` % of each resource free."""
    return instance_fit(task, registered_cpu_units, registered_memory_mib, headroom_pct).tasks


@dataclass(frozen=True, slots=True)
class PackingPlan:
    """Enough instances of one type to hold the peak task count, and what they cost per month."""

    instance_type: str
    instances: int
    tasks_per_instance: int
    binding_resource: BindingResource
    hourly_usd: float
    monthly: PriceQuote
    registered_memory_mib: int
    memory_estimated: bool
    # instances the peak needs with headroom, before rounding up: a workload sharing a cluster pays this
    instances_exact: float = 0.0


def plan_for(
    task: TaskSize,
    peak_tasks: float,
    instance_type: str,
    catalog: PriceCatalog,
    region: str,
    *,
    headroom_pct: float = 10.0,
    discount_pct: float = 0.0,
    operator_cost_per_instance_hour_usd: float = 0.0,
    operator_weight: float = 1.0,
    observed_registered_memory: Mapping[str, int] | None = None,
) -> PackingPlan | None:
    """Instances = ⌈⌈peak tasks ÷ tasks per instance⌉ ÷ (1 − headroom)⌉, at the catalog's on-demand rate.

    Headroom is kept at fleet level, as ECS managed scaling's target capacity keeps it: per-instance
    headroom would lose a whole task slot on every instance that the task size divides exactly.
    None when not even one task fits the type. Raises PriceNotFoundError when the catalog has no price
    or no shape for the type: a plan is never priced on a guess.
    """
    if peak_tasks < 0:
        raise ValueError(f"peak_tasks cannot be negative, got {peak_tasks}")
    shape = catalog.instance_shape(instance_type)
    if shape is None:
        raise PriceNotFoundError(f"instance type {instance_type} has no known shape (vCPU, memory)")
    hourly_usd = catalog.ec2_hourly_usd(region, instance_type)
    observed = (observed_registered_memory or {}).get(instance_type)
    memory_mib, estimated = registered_memory_mib(shape.memory_mib, observed)
    if not 0 <= headroom_pct < 100:
        raise ValueError(f"headroom_pct must be in [0, 100), got {headroom_pct}")
    fit = instance_fit(task, shape.cpu_units, memory_mib, 0.0)
    if fit.tasks == 0:
        return None
    usable = 1 - headroom_pct / 100
    packed = max(math.ceil(peak_tasks / fit.tasks - _EPSILON), 0)
    instances = max(math.ceil(packed / usable - _EPSILON), 0)
    monthly = ec2_monthly_cost(
        instance_type,
        hourly_usd,
        instances,
        discount_pct,
        operator_cost_per_instance_hour_usd,
        operator_weight,
        source=catalog.ec2_source(region, instance_type),
    )
    return PackingPlan(
        instance_type=instance_type,
        instances=instances,
        tasks_per_instance=fit.tasks,
        binding_resource=fit.binding_resource,
        hourly_usd=hourly_usd,
        monthly=monthly,
        registered_memory_mib=memory_mib,
        memory_estimated=estimated,
        instances_exact=peak_tasks / fit.tasks / usable,
    )


def cheapest_plan(
    task: TaskSize,
    peak_tasks: float,
    catalog: PriceCatalog,
    region: str,
    architecture: Architecture,
    candidate_types: Iterable[str] | None = None,
    *,
    headroom_pct: float = 10.0,
    discount_pct: float = 0.0,
    operator_cost_per_instance_hour_usd: float = 0.0,
    operator_weight: float = 1.0,
    observed_registered_memory: Mapping[str, int] | None = None,
) -> PackingPlan | None:
    """The lowest monthly cost plan over priced types of the task's architecture (Linux only).

    Candidates default to every type the catalog prices in the region; a candidate without a price,
    without a known shape or of another architecture is skipped. Ties go to fewer instances, then the
    lower hourly price, then the type name. None when no candidate is priced or fits.
    """
    names = catalog.ec2_types(region, architecture) if candidate_types is None else candidate_types
    if not 0 <= headroom_pct < 100:
        raise ValueError(f"headroom_pct must be in [0, 100), got {headroom_pct}")
    usable = 1 - headroom_pct / 100
    operator_hour = operator_cost_per_instance_hour_usd * operator_weight
    prices = catalog.regions.get(region)
    # Rank every type on the numbers alone; only the winner is built as a full plan with its arithmetic
    # (the ranking key is exactly the one a list of full plans would be sorted by).
    best: tuple[float, int, float, str] | None = None
    for instance_type in dict.fromkeys(names):
        shape = catalog.instance_shape(instance_type)
        if shape is None or shape.architecture != architecture or prices is None:
            continue
        hourly = prices.ec2_on_demand.get(instance_type)
        if hourly is None:
            continue
        observed = (observed_registered_memory or {}).get(instance_type)
        memory_mib, _ = registered_memory_mib(shape.memory_mib, observed)
        fit = instance_fit(task, shape.cpu_units, memory_mib, 0.0).tasks
        if fit == 0:
            continue
        packed = max(math.ceil(peak_tasks / fit - _EPSILON), 0)
        instances = max(math.ceil(packed / usable - _EPSILON), 0)
        monthly = instances * (hourly * (1 - discount_pct / 100) + operator_hour) * HOURS_PER_MONTH
        key = (monthly, instances, hourly, instance_type)
        if best is None or key < best:
            best = key
    if best is None:
        return None
    return plan_for(
        task,
        peak_tasks,
        best[3],
        catalog,
        region,
        headroom_pct=headroom_pct,
        discount_pct=discount_pct,
        operator_cost_per_instance_hour_usd=operator_cost_per_instance_hour_usd,
        operator_weight=operator_weight,
        observed_registered_memory=observed_registered_memory,
    )


__all__ = [
    "ESTIMATED_REGISTERED_MEMORY_FRACTION",
    "BindingResource",
    "InstanceFit",
    "PackingPlan",
    "cheapest_plan",
    "instance_fit",
    "plan_for",
    "registered_memory_mib",
    "tasks_per_instance",
]
