"""Unit tests of the price catalog, Fargate sizing and monthly cost arithmetic."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modeshift.domain.models import HOURS_PER_MONTH, Architecture, FargateRates, TaskSize
from modeshift.domain.pricing import (
    EMBEDDED,
    PRICE_LIST_API,
    VALID_FARGATE_SIZES,
    InstanceShape,
    PriceCatalog,
    TaskTooLargeForFargateError,
    derive_instance_shape,
    ec2_monthly_cost,
    fargate_monthly_cost,
    fargate_size,
    is_valid_fargate_size,
    load_embedded_catalog,
)
from modeshift.errors import PriceNotFoundError

REQUIRED_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "us-west-1",
    "eu-west-2",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-northeast-1",
    "ap-southeast-2",
    "ap-south-1",
)
X86 = Architecture.X86_64
ARM = Architecture.ARM64
US_EAST_1 = FargateRates(vcpu_hour_usd=0.04048, gb_hour_usd=0.004445)

# --------------------------------------------------------------------------- Fargate sizes


@pytest.mark.parametrize(
    ("cpu_units", "memory_mib", "expected"),
    [
        (256, 512, (256, 512)),
        (0, 0, (256, 512)),
        (0, 1500, (256, 2048)),
        (1, 1, (256, 512)),
        (256, 513, (256, 1024)),
        (256, 2048, (256, 2048)),
        (256, 2049, (512, 3072)),
        (256, 3000, (512, 3072)),
        (257, 512, (512, 1024)),
        (512, 4096, (512, 4096)),
        (512, 4097, (1024, 5120)),
        (1024, 1024, (1024, 2048)),
        (1024, 8192, (1024, 8192)),
        (1024, 9000, (2048, 9216)),
        (2048, 16384, (2048, 16384)),
        (2048, 16385, (4096, 17408)),
        (3000, 1024, (4096, 8192)),
        (4096, 30720, (4096, 30720)),
        (4096, 30721, (8192, 32768)),
        (4096, 31000, (8192, 32768)),
        (8192, 16385, (8192, 20480)),
        (8192, 61440, (8192, 61440)),
        (8192, 61441, (16384, 65536)),
        (16384, 32768, (16384, 32768)),
        (16384, 32769, (16384, 40960)),
        (16384, 122880, (16384, 122880)),
    ],
)
def test_fargate_size_is_smallest_valid_cover_when_request_is_at_a_boundary(
    cpu_units: int, memory_mib: int, expected: tuple[int, int]
) -> None:
    size = fargate_size(cpu_units, memory_mib)
    assert (size.cpu_units, size.memory_mib) == expected


@pytest.mark.parametrize(("cpu_units", "memory_mib"), [(16384, 123000), (16385, 512), (0, 122881)])
def test_fargate_size_raises_when_nothing_fits(cpu_units: int, memory_mib: int) -> None:
    with pytest.raises(TaskTooLargeForFargateError):
        fargate_size(cpu_units, memory_mib)


def test_fargate_size_raises_value_error_when_request_is_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        fargate_size(-1, 512)


def test_valid_fargate_sizes_count_matches_table_when_enumerated() -> None:
    # 3 + 4 + 7 + 13 + 23 + 12 + 12 rows in the Fargate task size table
    assert len(VALID_FARGATE_SIZES) == 74
    assert is_valid_fargate_size(8192, 20480)
    assert not is_valid_fargate_size(8192, 17408)
    assert not is_valid_fargate_size(256, 1536)


_requests = st.tuples(st.integers(min_value=0, max_value=16384), st.integers(min_value=0, max_value=122880))
_rates = st.builds(
    FargateRates,
    vcpu_hour_usd=st.floats(min_value=1e-4, max_value=1.0),
    gb_hour_usd=st.floats(min_value=1e-5, max_value=1.0),
)


@given(_requests)
def test_fargate_size_is_valid_covering_and_minimal_when_request_fits(asked: tuple[int, int]) -> None:
    cpu_units, memory_mib = asked
    size = fargate_size(cpu_units, memory_mib)
    assert is_valid_fargate_size(size.cpu_units, size.memory_mib)
    assert size.cpu_units >= max(cpu_units, 256)
    assert size.memory_mib >= memory_mib
    for cpu, mem in VALID_FARGATE_SIZES:
        covers = cpu >= cpu_units and mem >= memory_mib
        smaller = cpu <= size.cpu_units and mem <= size.memory_mib and (cpu, mem) != (size.cpu_units, size.memory_mib)
        assert not (covers and smaller), f"{(cpu, mem)} is smaller and still covers {asked}"


@given(_requests, _rates)
def test_fargate_size_is_cheapest_cover_when_any_positive_rates_apply(
    asked: tuple[int, int], rates: FargateRates
) -> None:
    cpu_units, memory_mib = asked

    def cost(cpu: int, mem: int) -> float:
        return cpu / 1024 * rates.vcpu_hour_usd + mem / 1024 * rates.gb_hour_usd

    chosen = fargate_size(cpu_units, memory_mib)
    cheapest = min(cost(c, m) for c, m in VALID_FARGATE_SIZES if c >= cpu_units and m >= memory_mib)
    assert cost(chosen.cpu_units, chosen.memory_mib) <= cheapest * (1 + 1e-12)
    assert fargate_size(cpu_units, memory_mib, rates) == chosen


# --------------------------------------------------------------------------- catalog


def test_embedded_catalog_loads_dated_with_every_region_when_read() -> None:
    catalog = load_embedded_catalog()
    # the oldest dated source: the per-region EC2 tables published 2025-04-04
    assert catalog.as_of == date(2025, 4, 4)
    assert catalog.source == EMBEDDED
    assert catalog.currency == "USD"
    # every cell is copied from a dated source; none is derived from another region, size or ratio
    assert "no price is derived" in catalog.source_note.lower()
    assert set(REQUIRED_REGIONS) <= set(catalog.regions)
    for region in REQUIRED_REGIONS:
        assert catalog.fargate_rates(region, X86).vcpu_hour_usd > 0
        assert catalog.fargate_rates(region, X86, spot=True).vcpu_hour_usd > 0


def test_embedded_catalog_is_loaded_once_when_called_twice() -> None:
    assert load_embedded_catalog() is load_embedded_catalog()


@pytest.mark.parametrize(
    ("region", "architecture", "spot", "vcpu", "gb", "source"),
    [
        ("us-east-1", X86, False, 0.04048, 0.004445, "fgcalc"),
        ("us-east-1", ARM, False, 0.03238, 0.00356, "aws-facts"),
        ("us-east-1", X86, True, 0.01288561, 0.00141493, "fgcalc"),
        ("eu-west-1", X86, False, 0.04048, 0.004445, "fgcalc"),
        ("eu-central-1", X86, False, 0.04656, 0.00511, "fgcalc"),
        ("ap-northeast-1", X86, False, 0.05056, 0.00553, "fgcalc"),
        ("ap-southeast-2", X86, False, 0.04856, 0.00532, "fgcalc"),
        ("ap-southeast-2", ARM, False, 0.03885, 0.00426, "aws-facts"),
        ("ap-south-1", X86, False, 0.04256, 0.004655, "fgcalc"),
        ("ap-south-1", ARM, False, 0.02383, 0.00261, "aws-facts"),
        ("sa-east-1", ARM, True, 0.01870297, 0.00205498, "basecode-sa-east-1"),
    ],
)
def test_catalog_fargate_rates_match_their_source_when_region_is_known(
    region: str, architecture: Architecture, spot: bool, vcpu: float, gb: float, source: str
) -> None:
    """AWS-FACTS figures for on-demand x86 and published ARM; Spot is the 2026-09-29 snapshot per region."""
    catalog = load_embedded_catalog()
    rates = catalog.fargate_rates(region, architecture, spot=spot)
    assert (rates.vcpu_hour_usd, rates.gb_hour_usd) == (vcpu, gb)
    cell = f"{'fargate_spot' if spot else 'fargate'}.{architecture.value}"
    assert catalog.regions[region].cell_sources[cell] == source


def test_catalog_spot_rate_is_below_on_demand_with_a_dated_spot_source_when_region_has_spot() -> None:
    """Fargate Spot is a sourced rate per region, not one ratio: each is cheaper than on-demand, names the
    dated source it was copied from, and the discount differs between regions."""
    catalog = load_embedded_catalog()
    sources = {source.id: source for source in catalog.sources}
    ratios: set[float] = set()
    for region, prices in catalog.regions.items():
        assert prices.fargate_spot, region
        for architecture, spot in prices.fargate_spot.items():
            on_demand = catalog.fargate_rates(region, architecture)
            assert spot.vcpu_hour_usd < on_demand.vcpu_hour_usd, (region, architecture)
            assert spot.gb_hour_usd < on_demand.gb_hour_usd, (region, architecture)
            source = sources[prices.cell_sources[f"fargate_spot.{architecture.value}"]]
            assert source.date, source.id
            assert "Fargate Spot" in source.covers, source.id
            ratios.add(round(spot.vcpu_hour_usd / on_demand.vcpu_hour_usd, 2))
    assert len(ratios) > 1
    us_east_1 = catalog.regions["us-east-1"].cell_sources["fargate_spot.x86_64"]
    assert sources[us_east_1].date == "2026-09-29"


@pytest.mark.parametrize(
    ("region", "architecture", "spot"),
    [
        # derived ARM cells (formerly 80 % of x86) were removed: no source publishes them
        ("eu-central-1", ARM, False),
        ("us-west-1", ARM, False),
        ("eu-west-2", ARM, False),
        ("ap-northeast-2", ARM, False),
        ("ap-south-1", ARM, True),
    ],
)
def test_catalog_fargate_rates_raise_naming_region_and_arch_when_missing(
    region: str, architecture: Architecture, spot: bool
) -> None:
    catalog = load_embedded_catalog()
    assert region in catalog.regions
    with pytest.raises(PriceNotFoundError, match=rf"{architecture.value} rates for region {region}\b"):
        catalog.fargate_rates(region, architecture, spot=spot)


@pytest.mark.parametrize("region", ["mars-north-1", "eu-north-1"])
def test_catalog_fargate_rates_raise_naming_region_when_region_is_unknown(region: str) -> None:
    """eu-north-1 is a real region the catalog does not list: never priced from a neighbour."""
    catalog = load_embedded_catalog()
    assert region not in catalog.regions
    for spot in (False, True):
        with pytest.raises(PriceNotFoundError, match=rf"region {region} has no Fargate"):
            catalog.fargate_rates(region, X86, spot=spot)


@pytest.mark.parametrize(
    ("region", "instance_type", "hourly"),
    [
        # AWS-FACTS figures (us-east-1 from Karpenter's generated table, the others from SkyPilot's snapshot)
        ("us-east-1", "m5.large", 0.096),
        ("us-east-1", "m5.4xlarge", 0.768),
        ("us-east-1", "m7i.2xlarge", 0.4032),
        ("us-east-1", "c6g.xlarge", 0.136),
        ("us-east-1", "r7g.large", 0.1071),
        ("us-east-1", "t3a.medium", 0.0376),
        ("us-east-1", "t4g.large", 0.0672),
        ("us-east-2", "m6g.large", 0.077),
        ("eu-west-1", "c5.large", 0.096),
        ("eu-central-1", "c5.xlarge", 0.194),
        ("ap-northeast-1", "c5.2xlarge", 0.428),
        # regions outside us-east-1 now carry SkyPilot's c5, c6a, c6g, c6i, c7g, m6a and m6g rows
        ("ap-south-1", "c5.large", 0.085),
        ("ap-south-1", "c6g.large", 0.0426),
        ("eu-west-1", "m6g.large", 0.086),
        ("eu-west-1", "c7g.xlarge", 0.155),
    ],
)
def test_catalog_ec2_price_matches_its_source_when_priced(region: str, instance_type: str, hourly: float) -> None:
    catalog = load_embedded_catalog()
    assert catalog.has_ec2_price(region, instance_type)
    assert catalog.ec2_hourly_usd(region, instance_type) == pytest.approx(hourly)


@pytest.mark.parametrize(
    ("region", "instance_type"),
    [
        # not offered there (recorded), and missing (no source lists it)
        ("ap-northeast-2", "m7a.large"),
        ("sa-east-1", "m8g.large"),
        ("us-east-1", "x2iedn.32xlarge"),
        ("sa-east-1", "c7gn.large"),
        ("eu-north-1", "m5.large"),
        ("mars-north-1", "m5.large"),
    ],
)
def test_catalog_ec2_price_raises_price_not_found_when_not_in_catalog(region: str, instance_type: str) -> None:
    """An unpriced type in a priced region, a region with no EC2 prices, and regions the catalog lacks."""
    catalog = load_embedded_catalog()
    assert not catalog.has_ec2_price(region, instance_type)
    with pytest.raises(PriceNotFoundError, match="price not in catalog"):
        catalog.ec2_hourly_usd(region, instance_type)


@pytest.mark.parametrize(
    ("instance_type", "vcpu", "memory_mib", "architecture"),
    [
        ("m5.large", 2, 8192, X86),
        ("c6g.4xlarge", 16, 32768, ARM),
        ("r6i.xlarge", 4, 32768, X86),
        ("t3.medium", 2, 4096, X86),
        ("t4g.large", 2, 8192, ARM),
        ("m5.24xlarge", 96, 393216, X86),
        ("c7gd.medium", 1, 2048, ARM),
        ("r7a.8xlarge", 32, 262144, X86),
        ("m8g.large", 2, 8192, ARM),
    ],
)
def test_instance_shape_matches_family_ratio_when_table_or_name_knows_it(
    instance_type: str, vcpu: int, memory_mib: int, architecture: Architecture
) -> None:
    shape = load_embedded_catalog().instance_shape(instance_type)
    assert shape == InstanceShape(vcpu=vcpu, memory_mib=memory_mib, architecture=architecture)


@pytest.mark.parametrize(
    "instance_type",
    [
        "c5n.large",
        "c4.large",
        "m4.large",
        "m7i-flex.large",
        "r5b.large",
        "x2iedn.xlarge",
        "m5.metal",
        "t3.small",
    ],
)
def test_instance_shape_is_none_when_family_ratio_is_not_known(instance_type: str) -> None:
    assert derive_instance_shape(instance_type) is None
    assert load_embedded_catalog().instance_shape(instance_type) is None


@pytest.mark.parametrize(
    ("architecture", "included", "excluded"),
    [(X86, "m5.large", "m6g.large"), (ARM, "t4g.medium", "c5.large")],
)
def test_ec2_types_lists_only_priced_types_of_architecture_when_asked(
    architecture: Architecture, included: str, excluded: str
) -> None:
    types = load_embedded_catalog().ec2_types("us-east-1", architecture)
    assert included in types
    assert excluded not in types
    assert types == sorted(types)


@pytest.mark.parametrize("region", ["eu-north-1", "mars-north-1"])
def test_ec2_types_is_empty_when_region_has_no_ec2_prices(region: str) -> None:
    """Neither region is in the catalog at all (every listed region now has EC2 prices)."""
    catalog = load_embedded_catalog()
    assert region not in catalog.regions or not catalog.regions[region].ec2_on_demand
    assert catalog.ec2_types(region, X86) == []
    assert catalog.ec2_types(region, ARM) == []


def test_with_prices_records_api_items_when_refreshed() -> None:
    """sa-east-1 has embedded Fargate rates and no c7gn prices, so the refresh both replaces and adds cells."""
    catalog = load_embedded_catalog()
    new_rates = FargateRates(vcpu_hour_usd=0.05, gb_hour_usd=0.005)
    refreshed = catalog.with_prices(
        "sa-east-1", fargate={X86: new_rates}, ec2_on_demand={"c7gn.large": 0.09, "c7gn.xlarge": 0.18}
    )
    assert refreshed.source == PRICE_LIST_API
    assert refreshed.fargate_rates("sa-east-1", X86) == new_rates
    assert refreshed.fargate_source("sa-east-1", X86) == PRICE_LIST_API
    assert refreshed.fargate_source("sa-east-1", X86, spot=True) == EMBEDDED
    assert refreshed.fargate_rates("sa-east-1", X86, spot=True) == catalog.fargate_rates("sa-east-1", X86, spot=True)
    assert refreshed.ec2_hourly_usd("sa-east-1", "c7gn.large") == 0.09
    assert refreshed.ec2_source("sa-east-1", "c7gn.large") == PRICE_LIST_API
    assert refreshed.ec2_source("sa-east-1", "c5.large") == EMBEDDED
    assert {"c7gn.large", "c7gn.xlarge"} <= set(refreshed.ec2_types("sa-east-1", ARM))
    # the embedded catalog itself is untouched
    assert catalog.source == EMBEDDED
    assert not catalog.has_ec2_price("sa-east-1", "c7gn.large")


def test_with_prices_marks_embedded_cell_as_api_when_it_is_replaced() -> None:
    catalog = load_embedded_catalog()
    refreshed = catalog.with_prices("ap-south-1", ec2_on_demand={"c5.large": 0.09})
    assert catalog.ec2_source("ap-south-1", "c5.large") == EMBEDDED
    assert refreshed.ec2_source("ap-south-1", "c5.large") == PRICE_LIST_API
    assert refreshed.ec2_hourly_usd("ap-south-1", "c5.large") == 0.09
    assert refreshed.ec2_hourly_usd("ap-south-1", "c5.xlarge") == catalog.ec2_hourly_usd("ap-south-1", "c5.xlarge")
    assert refreshed.ec2_source("ap-south-1", "c5.xlarge") == EMBEDDED


def test_with_prices_returns_same_catalog_when_nothing_is_refreshed() -> None:
    catalog = load_embedded_catalog()
    assert catalog.with_prices("us-east-1") is catalog


def test_with_prices_adds_region_when_catalog_lacks_it() -> None:
    catalog = PriceCatalog(as_of=date(2026, 1, 1))
    refreshed = catalog.with_prices("sa-east-1", ec2_on_demand={"c5.large": 0.131})
    assert refreshed.ec2_hourly_usd("sa-east-1", "c5.large") == 0.131
    with pytest.raises(PriceNotFoundError):
        refreshed.fargate_rates("sa-east-1", X86)


# --------------------------------------------------------------------------- monthly cost

_NUMBER = r"([0-9][0-9,]*(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?)"


def _total(arithmetic: str) -> float:
    match = re.search(r"= \$" + _NUMBER + r"/month$", arithmetic)
    assert match is not None, arithmetic
    return float(match.group(1).replace(",", ""))


def _redo_fargate(arithmetic: str) -> float:
    pattern = (
        rf": {_NUMBER} tasks avg × \({_NUMBER} vCPU × \${_NUMBER} \+ {_NUMBER} GB × \${_NUMBER}\) × "
        rf"{_NUMBER} h × \(1 − {_NUMBER}%\)"
    )
    match = re.search(pattern, arithmetic)
    assert match is not None, arithmetic
    tasks, vcpu, vcpu_rate, gb, gb_rate, hours, discount = (float(g) for g in match.groups())
    return tasks * (vcpu * vcpu_rate + gb * gb_rate) * hours * (1 - discount / 100)


def _redo_ec2(arithmetic: str) -> float:
    match = re.search(
        rf": {_NUMBER} instances × \(\${_NUMBER}/h × \(1 − {_NUMBER}%\)"
        rf"(?: \+ \${_NUMBER}/h operator × {_NUMBER})?\) × {_NUMBER} h",
        arithmetic,
    )
    assert match is not None, arithmetic
    instances, hourly, discount, operator, weight, hours = match.groups()
    operator_hour = float(operator) * float(weight) if operator else 0.0
    return float(instances) * (float(hourly) * (1 - float(discount) / 100) + operator_hour) * float(hours)


@pytest.mark.parametrize(
    ("size", "avg_tasks", "discount_pct", "expected"),
    [
        (TaskSize(cpu_units=512, memory_mib=1024), 2.4, 0, 2.4 * (0.5 * 0.04048 + 1 * 0.004445) * 730),
        (TaskSize(cpu_units=1024, memory_mib=3072), 1.0, 0, (0.04048 + 3 * 0.004445) * 730),
        (TaskSize(cpu_units=256, memory_mib=512), 10, 50, 10 * (0.25 * 0.04048 + 0.5 * 0.004445) * 365),
        (TaskSize(cpu_units=4096, memory_mib=30720), 0, 0, 0.0),
    ],
)
def test_fargate_monthly_cost_matches_formula_when_priced(
    size: TaskSize, avg_tasks: float, discount_pct: float, expected: float
) -> None:
    quote = fargate_monthly_cost(size, US_EAST_1, avg_tasks, discount_pct)
    assert quote.monthly_cost_usd == pytest.approx(expected)
    assert quote.arithmetic.startswith("Fargate: ")
    assert _total(quote.arithmetic) == round(expected, 2)


def test_fargate_monthly_cost_shows_known_example_when_two_point_four_tasks() -> None:
    quote = fargate_monthly_cost(TaskSize(cpu_units=512, memory_mib=1024), US_EAST_1, 2.4, label="Fargate Spot")
    assert quote.arithmetic == (
        "Fargate Spot: 2.4 tasks avg × (0.5 vCPU × $0.04048 + 1 GB × $0.004445) × 730 h × (1 − 0%) = $43.25/month"
    )


_sizes = st.sampled_from(VALID_FARGATE_SIZES).map(lambda s: TaskSize(cpu_units=s[0], memory_mib=s[1]))


@given(
    size=_sizes,
    rates=_rates,
    avg_tasks=st.floats(min_value=0, max_value=500),
    discount_pct=st.floats(min_value=0, max_value=99.9),
)
def test_fargate_arithmetic_reproduces_figure_when_redone_by_hand(
    size: TaskSize, rates: FargateRates, avg_tasks: float, discount_pct: float
) -> None:
    quote = fargate_monthly_cost(size, rates, avg_tasks, discount_pct)
    assert _redo_fargate(quote.arithmetic) == pytest.approx(quote.monthly_cost_usd, rel=1e-4, abs=0.0051)
    assert _total(quote.arithmetic) == pytest.approx(quote.monthly_cost_usd, abs=0.0051)


@given(
    hourly=st.floats(min_value=0.001, max_value=30),
    instances=st.floats(min_value=0, max_value=200),
    discount_pct=st.floats(min_value=0, max_value=99.9),
    operator=st.floats(min_value=0, max_value=1),
    weight=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_ec2_arithmetic_reproduces_figure_when_redone_by_hand(
    hourly: float, instances: float, discount_pct: float, operator: float, weight: float
) -> None:
    quote = ec2_monthly_cost("m5.large", hourly, instances, discount_pct, operator, weight)
    assert _redo_ec2(quote.arithmetic) == pytest.approx(quote.monthly_cost_usd, rel=1e-4, abs=0.0051)
    assert _total(quote.arithmetic) == pytest.approx(quote.monthly_cost_usd, abs=0.0051)


@pytest.mark.parametrize(
    ("instances", "discount_pct", "operator", "weight", "expected"),
    [
        (3, 0, 0, 1.0, 3 * 0.096 * 730),
        (3, 40, 0, 1.0, 3 * 0.096 * 0.6 * 730),
        (2, 0, 0.02, 1.0, 2 * (0.096 + 0.02) * 730),
        (2, 50, 0.02, 1.0, 2 * (0.048 + 0.02) * 730),
        (2, 0, 0.02, 0.0, 2 * 0.096 * 730),
    ],
)
def test_ec2_monthly_cost_discounts_instance_price_only_when_operator_cost_is_set(
    instances: float, discount_pct: float, operator: float, weight: float, expected: float
) -> None:
    quote = ec2_monthly_cost("m5.large", 0.096, instances, discount_pct, operator, weight)
    assert quote.monthly_cost_usd == pytest.approx(expected)
    assert quote.arithmetic.startswith("EC2 m5.large: ")
    assert ("operator" in quote.arithmetic) == (operator * weight > 0)


@pytest.mark.parametrize("discount_pct", [-1, 100, 150])
def test_monthly_cost_raises_when_discount_is_out_of_range(discount_pct: float) -> None:
    with pytest.raises(ValueError, match="discount_pct"):
        fargate_monthly_cost(TaskSize(cpu_units=256, memory_mib=512), US_EAST_1, 1, discount_pct)
    with pytest.raises(ValueError, match="discount_pct"):
        ec2_monthly_cost("m5.large", 0.096, 1, discount_pct)


def test_monthly_cost_carries_source_when_given() -> None:
    quote = fargate_monthly_cost(TaskSize(cpu_units=256, memory_mib=512), US_EAST_1, 1, source=PRICE_LIST_API)
    assert quote.source == PRICE_LIST_API
    assert HOURS_PER_MONTH == 730.0
