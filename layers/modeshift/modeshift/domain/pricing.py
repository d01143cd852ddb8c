"""What each launch mode costs: the dated price catalog, valid Fargate sizes and monthly cost arithmetic."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from datetime import date
from importlib import resources
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from modeshift.domain.models import (
    CPU_UNITS_PER_VCPU,
    HOURS_PER_MONTH,
    MIB_PER_GIB,
    Architecture,
    FargateRates,
    PriceQuote,
    TaskSize,
)
from modeshift.errors import PriceNotFoundError

EMBEDDED = "embedded"
PRICE_LIST_API = "price-list-api"

PositiveUsd = Annotated[float, Field(gt=0)]


class TaskTooLargeForFargateError(ValueError):
    """No valid Fargate size offers this much CPU and memory (16 vCPU / 120 GiB at most)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InstanceShape(_Frozen):
    """Nominal size of an EC2 instance type: vCPUs, MiB of memory (before ECS registers less) and CPU."""

    vcpu: int = Field(gt=0)
    memory_mib: int = Field(gt=0)
    architecture: Architecture

    @property
    def cpu_units(self) -> int:
        """ECS registers every vCPU as 1024 CPU units."""
        return self.vcpu * CPU_UNITS_PER_VCPU


class FargateWindowsRates(_Frozen):
    """Windows Fargate (x86 only): USD per vCPU-hour, plus the OS licence per vCPU-hour, plus per GB-hour."""

    vcpu_hour_usd: PositiveUsd
    os_license_vcpu_hour_usd: PositiveUsd
    gb_hour_usd: PositiveUsd


class CatalogSource(_Frozen):
    """Where part of the catalog came from: a public document or file, dated or pinned to a commit."""

    id: str
    title: str
    url: str = ""
    repository: str = ""
    path: str = ""
    commit: str = ""
    date: str = ""
    covers: str = ""


class RegionPrices(_Frozen):
    """One region's USD rates: Fargate and Fargate Spot per architecture, EC2 on-demand per instance-hour.

    The optional rates below are absent where no dated public source gave them; `cell_sources` maps a
    part of the region ("fargate.x86_64", "ec2_on_demand", ...) to the id of its entry in `sources`.
    """

    fargate: dict[Architecture, FargateRates] = Field(default_factory=dict)
    fargate_spot: dict[Architecture, FargateRates] = Field(default_factory=dict)
    ec2_on_demand: dict[str, PositiveUsd] = Field(default_factory=dict)
    fargate_windows: FargateWindowsRates | None = None
    # USD per GB-hour of ephemeral storage configured above the 20 GiB every task gets
    fargate_ephemeral_gb_hour_usd: PositiveUsd | None = None
    # ECS Managed Instances management fee, USD per instance-hour, on top of the EC2 price
    managed_instances_fee: dict[str, PositiveUsd] = Field(default_factory=dict)
    # instance families a dated source shows AWS does not offer in the region ("not offered", which is
    # not "price unknown": a family neither priced nor listed here is simply missing from the catalog)
    ec2_not_offered: tuple[str, ...] = ()
    cell_sources: dict[str, str] = Field(default_factory=dict)


class PriceCatalog(_Frozen):
    """A dated set of prices; `api_items` names the cells that came from the Price List API."""

    as_of: date
    source: str = EMBEDDED
    currency: Literal["USD"] = "USD"
    source_note: str = ""
    instance_types: dict[str, InstanceShape] = Field(default_factory=dict)
    regions: dict[str, RegionPrices] = Field(default_factory=dict)
    api_items: frozenset[str] = frozenset()
    # ECS Anywhere's management fee per registered on-premises instance-hour (the hardware is the user's)
    ecs_anywhere_instance_hour_usd: PositiveUsd | None = None
    ecs_anywhere_note: str = ""
    # what each part of the embedded catalog came from (see scripts/build_price_catalog.py)
    sources: tuple[CatalogSource, ...] = ()

    def _region(self, region: str, what: str) -> RegionPrices:
        prices = self.regions.get(region)
        if prices is None:
            raise PriceNotFoundError(
                f"price not in catalog: region {region} has no {what} prices "
                f"(embedded catalog as of {self.as_of.isoformat()})"
            )
        return prices

    def fargate_rates(self, region: str, architecture: Architecture, spot: bool = False) -> FargateRates:
        """USD per vCPU-hour and per GB-hour of Fargate (or Fargate Spot) for a region and architecture."""
        label = "Fargate Spot" if spot else "Fargate"
        prices = self._region(region, label)
        rates = (prices.fargate_spot if spot else prices.fargate).get(Architecture(architecture))
        if rates is None:
            raise PriceNotFoundError(
                f"price not in catalog: no {label} {Architecture(architecture).value} rates for region "
                f"{region} (embedded catalog as of {self.as_of.isoformat()})"
            )
        return rates

    def ec2_hourly_usd(self, region: str, instance_type: str) -> float:
        """On-demand Linux USD per instance-hour; never estimated from another region or type."""
        price = self._region(region, "EC2").ec2_on_demand.get(instance_type)
        if price is None and self.ec2_not_offered(region, instance_type):
            raise PriceNotFoundError(
                f"price not in catalog: {instance_type} is not offered in region {region} "
                f"(AWS offers no {instance_type.partition('.')[0]} there per the catalog's dated source, "
                f"embedded catalog as of {self.as_of.isoformat()})"
            )
        if price is None:
            raise PriceNotFoundError(
                f"price not in catalog: no EC2 on-demand price for {instance_type} in region {region} "
                f"(embedded catalog as of {self.as_of.isoformat()})"
            )
        return price

    def ec2_not_offered(self, region: str, instance_type: str) -> bool:
        """True when a dated source shows the type's family is not offered in the region (no price exists)."""
        prices = self.regions.get(region)
        return prices is not None and instance_type.partition(".")[0] in prices.ec2_not_offered

    def has_ec2_price(self, region: str, instance_type: str) -> bool:
        prices = self.regions.get(region)
        return prices is not None and instance_type in prices.ec2_on_demand

    def instance_shape(self, instance_type: str) -> InstanceShape | None:
        """The catalog's shape, else one derived from the name for m/c/r families only, else None."""
        return self.instance_types.get(instance_type) or derive_instance_shape(instance_type)

    def ec2_types(self, region: str, architecture: Architecture) -> list[str]:
        """Instance types priced in the region whose shape is known and matches the architecture, sorted."""
        prices = self.regions.get(region)
        if prices is None:
            return []
        return sorted(
            instance_type
            for instance_type in prices.ec2_on_demand
            if (shape := self.instance_shape(instance_type)) is not None
            and shape.architecture == Architecture(architecture)
        )

    def fargate_source(self, region: str, architecture: Architecture, spot: bool = False) -> str:
        """Where a Fargate rate came from: "price-list-api" or "embedded"."""
        kind = "fargate_spot" if spot else "fargate"
        key = _item_key(region, kind, Architecture(architecture).value)
        return PRICE_LIST_API if key in self.api_items else EMBEDDED

    def ec2_source(self, region: str, instance_type: str) -> str:
        """Where an EC2 price came from: "price-list-api" or "embedded"."""
        return PRICE_LIST_API if _item_key(region, "ec2", instance_type) in self.api_items else EMBEDDED

    def with_prices(
        self,
        region: str,
        *,
        fargate: Mapping[Architecture, FargateRates] | None = None,
        fargate_spot: Mapping[Architecture, FargateRates] | None = None,
        ec2_on_demand: Mapping[str, float] | None = None,
        instance_types: Mapping[str, InstanceShape] | None = None,
        managed_instances_fee: Mapping[str, float] | None = None,
        source: str = PRICE_LIST_API,
    ) -> PriceCatalog:
        """A copy with these region prices replaced; each replaced cell is recorded under `source`."""
        fargate = dict(fargate or {})
        fargate_spot = dict(fargate_spot or {})
        ec2_on_demand = dict(ec2_on_demand or {})
        fees = dict(managed_instances_fee or {})
        if not (fargate or fargate_spot or ec2_on_demand or instance_types or fees):
            return self
        current = self.regions.get(region, RegionPrices())
        # a copy, so the region keeps its Windows, ephemeral-storage and Managed Instances rates
        updated = current.model_copy(
            update={
                "fargate": {**current.fargate, **fargate},
                "fargate_spot": {**current.fargate_spot, **fargate_spot},
                "ec2_on_demand": {**current.ec2_on_demand, **ec2_on_demand},
                "managed_instances_fee": {**current.managed_instances_fee, **fees},
            }
        )
        keys = {_item_key(region, "fargate", Architecture(arch).value) for arch in fargate}
        keys |= {_item_key(region, "fargate_spot", Architecture(arch).value) for arch in fargate_spot}
        keys |= {_item_key(region, "ec2", instance_type) for instance_type in ec2_on_demand}
        keys |= {_item_key(region, "managed_instances_fee", instance_type) for instance_type in fees}
        api_items = self.api_items | keys if source == PRICE_LIST_API else self.api_items - keys
        return self.model_copy(
            update={
                "regions": {**self.regions, region: updated},
                "instance_types": {**self.instance_types, **(instance_types or {})},
                "api_items": frozenset(api_items),
                "source": PRICE_LIST_API if api_items else self.source,
            }
        )


def _item_key(region: str, kind: str, item: str) -> str:
    return f"{region}/{kind}/{item}"


# m = 4 GiB per vCPU, c = 2, r = 8 from generation 5 on; a/i/g name the processor (g = Graviton, arm64)
# and d a local disk, neither of which changes the ratio. Variants such as n, b, z or -flex differ, so
# they are not derived.
_DERIVABLE_TYPE = re.compile(
    r"^(?P<cls>[mcr])(?P<gen>\d+)(?P<proc>[aig]?)d?\.(?P<size>medium|large|xlarge|(?P<mult>\d+)xlarge)$"
)
_GIB_PER_VCPU = {"m": 4, "c": 2, "r": 8}


def derive_instance_shape(instance_type: str) -> InstanceShape | None:
    """Shape from the type name for m/c/r generation ≥ 5 (medium = 1 vCPU, large = 2, Nxlarge = 4N)."""
    match = _DERIVABLE_TYPE.match(instance_type)
    if match is None or int(match["gen"]) < 5:
        return None
    size = match["size"]
    if size == "medium":
        vcpu = 1
    elif size == "large":
        vcpu = 2
    else:
        vcpu = 4 * int(match["mult"] or 1)
    return InstanceShape(
        vcpu=vcpu,
        memory_mib=vcpu * _GIB_PER_VCPU[match["cls"]] * MIB_PER_GIB,
        architecture=Architecture.ARM64 if match["proc"] == "g" else Architecture.X86_64,
    )


@functools.cache
def load_embedded_catalog() -> PriceCatalog:
    """The price catalog shipped with the package (read once; its `as_of` says how old it is)."""
    text = resources.files("modeshift").joinpath("data/price_catalog.json").read_text(encoding="utf-8")
    return PriceCatalog.model_validate({**json.loads(text), "source": EMBEDDED})


# --------------------------------------------------------------------------- Fargate sizes


def _valid_fargate_sizes() -> tuple[tuple[int, int], ...]:
    sizes = [(256, 512), (256, 1024), (256, 2048)]
    # (cpu units, first GiB, last GiB, step GiB) from the Fargate task size table
    for cpu, low, high, step in (
        (512, 1, 4, 1),
        (1024, 2, 8, 1),
        (2048, 4, 16, 1),
        (4096, 8, 30, 1),
        (8192, 16, 60, 4),
        (16384, 32, 120, 8),
    ):
        sizes.extend((cpu, gib * MIB_PER_GIB) for gib in range(low, high + 1, step))
    return tuple(sizes)


VALID_FARGATE_SIZES: tuple[tuple[int, int], ...] = _valid_fargate_sizes()
_VALID_FARGATE_SIZE_SET = frozenset(VALID_FARGATE_SIZES)


def is_valid_fargate_size(cpu_units: int, memory_mib: int) -> bool:
    """True when (CPU units, MiB) is a row of the Fargate task size table."""
    return (cpu_units, memory_mib) in _VALID_FARGATE_SIZE_SET


def fargate_size(cpu_units: int, memory_mib: int, rates: FargateRates | None = None) -> TaskSize:
    """The cheapest valid Fargate size with at least `cpu_units` (1 vCPU = 1024) and `memory_mib`.

    CPU 0 (an EC2 task sized by its containers, with no CPU reserved) counts as the minimum, 256.
    Without `rates` the size with fewest CPU units, then least memory, wins: in the Fargate table a
    lower CPU step never needs more memory than a higher one, so that size is the cheapest at any
    positive rates. Ties in cost go to fewer CPU units.
    """
    if cpu_units < 0 or memory_mib < 0:
        raise ValueError(f"a task size cannot be negative (cpu_units={cpu_units}, memory_mib={memory_mib})")
    covering = [(cpu, mem) for cpu, mem in VALID_FARGATE_SIZES if cpu >= cpu_units and mem >= memory_mib]
    if not covering:
        raise TaskTooLargeForFargateError(
            f"no Fargate size offers {cpu_units} CPU units and {memory_mib} MiB "
            f"(the largest is 16384 CPU units with 122880 MiB)"
        )
    if rates is None:
        cpu, mem = min(covering)
    else:
        cpu, mem = min(
            covering,
            key=lambda size: (
                size[0] / CPU_UNITS_PER_VCPU * rates.vcpu_hour_usd + size[1] / MIB_PER_GIB * rates.gb_hour_usd,
                size,
            ),
        )
    return TaskSize(cpu_units=cpu, memory_mib=mem, sized_from="task")


# --------------------------------------------------------------------------- monthly cost


def _num(value: float) -> str:
    """Enough digits for a person to redo the sum to the cent."""
    return f"{value:.6g}"


def _rate(value: float) -> str:
    return f"{value:.10g}"


def _check_discount(discount_pct: float) -> None:
    if not 0 <= discount_pct < 100:
        raise ValueError(f"discount_pct must be in [0, 100), got {discount_pct}")


def fargate_monthly_cost(
    size: TaskSize,
    rates: FargateRates,
    avg_tasks: float,
    discount_pct: float = 0,
    label: str = "Fargate",
    *,
    source: str = EMBEDDED,
) -> PriceQuote:
    """USD per month = avg tasks × (vCPU × vCPU-hour rate + GiB × GB-hour rate) × 730 h × (1 − discount).

    Fargate bills the task's declared size, and its "GB" are GiB of task memory (memory_mib / 1024).
    """
    if avg_tasks < 0:
        raise ValueError(f"avg_tasks cannot be negative, got {avg_tasks}")
    _check_discount(discount_pct)
    vcpu = size.cpu_units / CPU_UNITS_PER_VCPU
    gib = size.memory_mib / MIB_PER_GIB
    task_hour_usd = vcpu * rates.vcpu_hour_usd + gib * rates.gb_hour_usd
    monthly = avg_tasks * task_hour_usd * HOURS_PER_MONTH * (1 - discount_pct / 100)
    arithmetic = (
        f"{label}: {_num(avg_tasks)} tasks avg × ({_num(vcpu)} vCPU × ${_rate(rates.vcpu_hour_usd)} "
        f"+ {_num(gib)} GB × ${_rate(rates.gb_hour_usd)}) × {_num(HOURS_PER_MONTH)} h "
        f"× (1 − {_rate(discount_pct)}%) = ${monthly:,.2f}/month"
    )
    return PriceQuote(monthly_cost_usd=monthly, arithmetic=arithmetic, source=source)


def ec2_monthly_cost(
    instance_type: str,
    hourly_usd: float,
    instances: float,
    discount_pct: float,
    operator_cost_per_instance_hour_usd: float = 0,
    operator_weight: float = 1.0,
    *,
    source: str = EMBEDDED,
) -> PriceQuote:
    """USD per month = instances × (hourly × (1 − discount) + operator cost × weight) × 730 h.

    The discount (Savings Plans, RIs, Spot) applies to the instance price only, not to operator time.
    """
    if instances < 0 or hourly_usd < 0:
        raise ValueError(f"instances and hourly_usd cannot be negative ({instances}, {hourly_usd})")
    if operator_cost_per_instance_hour_usd < 0 or operator_weight < 0:
        raise ValueError("operator cost and weight cannot be negative")
    _check_discount(discount_pct)
    operator_hour_usd = operator_cost_per_instance_hour_usd * operator_weight
    instance_hour_usd = hourly_usd * (1 - discount_pct / 100) + operator_hour_usd
    monthly = instances * instance_hour_usd * HOURS_PER_MONTH
    operator = (
        f" + ${_rate(operator_cost_per_instance_hour_usd)}/h operator × {_num(operator_weight)}"
        if operator_hour_usd > 0
        else ""
    )
    arithmetic = (
        f"EC2 {instance_type}: {_num(instances)} instances × (${_rate(hourly_usd)}/h × "
        f"(1 − {_rate(discount_pct)}%){operator}) × {_num(HOURS_PER_MONTH)} h = ${monthly:,.2f}/month"
    )
    return PriceQuote(monthly_cost_usd=monthly, arithmetic=arithmetic, source=source)


__all__ = [
    "EMBEDDED",
    "PRICE_LIST_API",
    "VALID_FARGATE_SIZES",
    "CatalogSource",
    "FargateWindowsRates",
    "InstanceShape",
    "PriceCatalog",
    "RegionPrices",
    "TaskTooLargeForFargateError",
    "derive_instance_shape",
    "ec2_monthly_cost",
    "fargate_monthly_cost",
    "fargate_size",
    "is_valid_fargate_size",
    "load_embedded_catalog",
]
