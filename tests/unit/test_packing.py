"""Unit tests of packing tasks onto instance types on registered memory."""

from __future__ import annotations

import math
import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modeshift.domain.models import Architecture, TaskSize
from modeshift.domain.packing import (
    cheapest_plan,
    instance_fit,
    plan_for,
    registered_memory_mib,
    tasks_per_instance,
)
from modeshift.domain.pricing import (
    PRICE_LIST_API,
    InstanceShape,
    PriceCatalog,
    RegionPrices,
    load_embedded_catalog,
)
from modeshift.errors import PriceNotFoundError

X86 = Architecture.X86_64
ARM = Architecture.ARM64


def _task(cpu_units: int, memory_mib: int) -> TaskSize:
    return TaskSize(cpu_units=cpu_units, memory_mib=memory_mib)


def _catalog(prices: dict[str, float], shapes: dict[str, tuple[int, int, Architecture]]) -> PriceCatalog:
    return PriceCatalog(
        as_of=date(2026, 1, 1),
        instance_types={
            name: InstanceShape(vcpu=vcpu, memory_mib=mem, architecture=arch)
            for name, (vcpu, mem, arch) in shapes.items()
        },
        regions={"test-1": RegionPrices(ec2_on_demand=prices)},
    )


# --------------------------------------------------------------------------- registered memory


@pytest.mark.parametrize(
    ("nominal", "observed", "expected"),
    [
        (8192, 7985, (7985, False)),
        (3840, 3768, (3768, False)),
        (8192, None, (7946, True)),
        (3840, None, (3724, True)),
        (8192, 0, (7946, True)),
    ],
)
def test_registered_memory_uses_observed_else_estimate_when_asked(
    nominal: int, observed: int | None, expected: tuple[int, bool]
) -> None:
    assert registered_memory_mib(nominal, observed) == expected


@pytest.mark.parametrize(("nominal", "observed"), [(8192, 7985), (3840, 3768)])
def test_registered_memory_estimate_is_conservative_when_aws_figure_is_known(nominal: int, observed: int) -> None:
    estimate, estimated = registered_memory_mib(nominal, None)
    assert estimated
    assert estimate <= observed


def test_registered_memory_raises_when_nominal_is_not_positive_and_nothing_observed() -> None:
    with pytest.raises(ValueError, match="nominal_mib"):
        registered_memory_mib(0, None)


# --------------------------------------------------------------------------- tasks per instance


@pytest.mark.parametrize(
    ("task", "cpu", "memory", "headroom", "tasks", "binding"),
    [
        # registered memory decides: 7985 / 4096 = 1, where nominal 8192 would give 2
        (_task(1024, 4096), 2048, 7985, 0, 1, "memory"),
        (_task(1024, 4096), 2048, 8192, 0, 2, "memory"),
        (_task(512, 512), 2048, 7985, 0, 4, "cpu"),
        (_task(512, 512), 2048, 7985, 10, 3, "cpu"),
        (_task(256, 2048), 2048, 8192, 0, 4, "memory"),
        (_task(256, 2048), 2048, 8192, 10, 3, "memory"),
        # a containers-only EC2 task with no CPU is bound by memory alone
        (_task(0, 1024), 2048, 7985, 0, 7, "memory"),
        (_task(0, 1024), 0, 7985, 0, 7, "memory"),
        (_task(1024, 0), 4096, 7985, 0, 4, "cpu"),
        # 10240 × (1 − 0.9) is 1023.9999… in floating point: still one task of 1024 MiB
        (_task(0, 1024), 2048, 10240, 90, 1, "memory"),
        (_task(4096, 16384), 2048, 7985, 0, 0, "memory"),
        (_task(4096, 1024), 2048, 7985, 0, 0, "cpu"),
    ],
)
def test_tasks_per_instance_counts_binding_resource_when_packed(
    task: TaskSize, cpu: int, memory: int, headroom: float, tasks: int, binding: str
) -> None:
    assert tasks_per_instance(task, cpu, memory, headroom) == tasks
    assert instance_fit(task, cpu, memory, headroom) == (tasks, binding)


@pytest.mark.parametrize("headroom", [-1, 100])
def test_tasks_per_instance_raises_when_headroom_out_of_range(headroom: float) -> None:
    with pytest.raises(ValueError, match="headroom_pct"):
        tasks_per_instance(_task(256, 512), 2048, 7985, headroom)


def test_tasks_per_instance_raises_when_task_reserves_nothing() -> None:
    with pytest.raises(ValueError, match="neither"):
        tasks_per_instance(_task(0, 0), 2048, 7985, 0)


@given(
    cpu_units=st.integers(min_value=0, max_value=8192),
    memory_mib=st.integers(min_value=1, max_value=32768),
    registered_cpu=st.integers(min_value=0, max_value=65536),
    registered_memory=st.integers(min_value=0, max_value=262144),
    headroom=st.floats(min_value=0, max_value=99),
)
def test_tasks_per_instance_fits_and_one_more_does_not_when_packed(
    cpu_units: int, memory_mib: int, registered_cpu: int, registered_memory: int, headroom: float
) -> None:
    tasks = tasks_per_instance(_task(cpu_units, memory_mib), registered_cpu, registered_memory, headroom)
    usable = 1 - headroom / 100
    slack = 1e-3
    assert tasks >= 0
    assert tasks * memory_mib <= registered_memory * usable + slack
    assert tasks * cpu_units <= registered_cpu * usable + slack
    one_more_fits_memory = (tasks + 1) * memory_mib <= registered_memory * usable - slack
    one_more_fits_cpu = cpu_units == 0 or (tasks + 1) * cpu_units <= registered_cpu * usable - slack
    assert not (one_more_fits_memory and one_more_fits_cpu)


# --------------------------------------------------------------------------- plans


def test_plan_for_packs_on_registered_not_nominal_memory_when_observed() -> None:
    catalog = load_embedded_catalog()
    task = _task(1024, 4096)
    registered = plan_for(
        task,
        5,
        "m5.large",
        catalog,
        "us-east-1",
        headroom_pct=0,
        observed_registered_memory={"m5.large": 7985},
    )
    nominal = plan_for(
        task,
        5,
        "m5.large",
        catalog,
        "us-east-1",
        headroom_pct=0,
        observed_registered_memory={"m5.large": 8192},
    )
    assert registered is not None and nominal is not None
    assert (registered.tasks_per_instance, registered.instances) == (1, 5)
    assert (nominal.tasks_per_instance, nominal.instances) == (2, 3)
    assert registered.registered_memory_mib == 7985
    assert not registered.memory_estimated
    assert registered.binding_resource == "memory"


def test_plan_for_estimates_registered_memory_when_none_observed() -> None:
    plan = plan_for(_task(1024, 4096), 5, "m5.large", load_embedded_catalog(), "us-east-1", headroom_pct=0)
    assert plan is not None
    assert plan.memory_estimated
    assert plan.registered_memory_mib == 7946
    assert plan.tasks_per_instance == 1


@pytest.mark.parametrize(
    ("peak_tasks", "instances"),
    [(0, 0), (1, 1), (4, 2), (4.2, 3), (7.9, 4), (8, 4)],
)
def test_plan_for_instances_is_ceiling_of_peak_over_tasks_per_instance_when_planned(
    peak_tasks: float, instances: int
) -> None:
    # m5.large: 2048 CPU units, 7946 MiB estimated; 1024/2048 tasks: 2 by CPU, 3 by memory
    plan = plan_for(_task(1024, 2048), peak_tasks, "m5.large", load_embedded_catalog(), "us-east-1", headroom_pct=0)
    assert plan is not None
    assert plan.tasks_per_instance == 2
    assert plan.binding_resource == "cpu"
    assert plan.instances == instances
    assert plan.monthly.monthly_cost_usd == pytest.approx(instances * 0.096 * 730)


def test_plan_for_prices_discount_and_operator_time_when_given() -> None:
    plan = plan_for(
        _task(1024, 2048),
        4,
        "m5.large",
        load_embedded_catalog(),
        "us-east-1",
        headroom_pct=0,
        discount_pct=30,
        operator_cost_per_instance_hour_usd=0.02,
        operator_weight=1.0,
    )
    assert plan is not None
    assert plan.hourly_usd == 0.096
    assert plan.monthly.monthly_cost_usd == pytest.approx(2 * (0.096 * 0.7 + 0.02) * 730)
    assert plan.monthly.source == "embedded"


def test_plan_for_quotes_price_list_source_when_price_was_refreshed() -> None:
    catalog = load_embedded_catalog().with_prices("us-east-1", ec2_on_demand={"m5.large": 0.1})
    plan = plan_for(_task(1024, 2048), 2, "m5.large", catalog, "us-east-1", headroom_pct=0)
    assert plan is not None
    assert plan.monthly.source == PRICE_LIST_API
    assert plan.hourly_usd == 0.1


@pytest.mark.parametrize(
    ("task", "instance_type"),
    [(_task(1024, 4096), "c5.large"), (_task(4096, 1024), "m5.large"), (_task(2048, 8192), "m5.large")],
)
def test_plan_for_returns_none_when_task_does_not_fit_type(task: TaskSize, instance_type: str) -> None:
    # c5.large registers about 3973 MiB, m5.large 2048 CPU units and about 7946 MiB
    plan = plan_for(task, 3, instance_type, load_embedded_catalog(), "us-east-1", headroom_pct=10)
    assert plan is None


@pytest.mark.parametrize(
    ("region", "instance_type", "missing"),
    [
        # AWS does not offer m7a in ap-northeast-2 (the catalog records it); no source gives sa-east-1 m8g
        ("ap-northeast-2", "m7a.large", "m7a.large is not offered in region ap-northeast-2"),
        ("sa-east-1", "m8g.large", "m8g.large in region sa-east-1"),
        ("us-east-1", "c5n.large", "c5n.large has no known shape"),
        # a region with Fargate rates and no EC2 prices, and one the catalog does not list
        ("sa-east-1", "c7gn.large", "c7gn.large in region sa-east-1"),
        ("eu-north-1", "m5.large", "region eu-north-1 has no EC2 prices"),
    ],
)
def test_plan_for_raises_price_not_found_when_type_is_unpriced_or_unknown(
    region: str, instance_type: str, missing: str
) -> None:
    with pytest.raises(PriceNotFoundError, match=re.escape(missing)):
        plan_for(_task(256, 512), 1, instance_type, load_embedded_catalog(), region)


def test_plan_for_raises_when_peak_is_negative() -> None:
    with pytest.raises(ValueError, match="peak_tasks"):
        plan_for(_task(256, 512), -1, "m5.large", load_embedded_catalog(), "us-east-1")


@pytest.mark.parametrize("architecture", [X86, ARM])
def test_cheapest_plan_picks_type_of_task_architecture_when_both_are_priced(
    architecture: Architecture,
) -> None:
    catalog = load_embedded_catalog()
    plan = cheapest_plan(_task(512, 1024), 10, catalog, "us-east-1", architecture, headroom_pct=10)
    assert plan is not None
    shape = catalog.instance_shape(plan.instance_type)
    assert shape is not None
    assert shape.architecture == architecture


def test_cheapest_plan_is_no_dearer_than_any_priced_candidate_when_chosen() -> None:
    catalog = load_embedded_catalog()
    task = _task(1024, 3072)
    best = cheapest_plan(task, 12, catalog, "us-east-1", X86, headroom_pct=10)
    assert best is not None
    for instance_type in catalog.ec2_types("us-east-1", X86):
        other = plan_for(task, 12, instance_type, catalog, "us-east-1", headroom_pct=10)
        if other is not None:
            assert best.monthly.monthly_cost_usd <= other.monthly.monthly_cost_usd


def test_cheapest_plan_skips_unpriced_and_foreign_types_when_candidates_are_given() -> None:
    catalog = load_embedded_catalog()
    plan = cheapest_plan(
        _task(512, 1024),
        4,
        catalog,
        "ap-south-1",
        X86,
        # m7a is not priced in ap-south-1, c6g is ARM, c5n has no known shape
        candidate_types=["m7a.large", "c6g.large", "c5n.large", "c5.xlarge"],
        headroom_pct=0,
    )
    assert plan is not None
    assert plan.instance_type == "c5.xlarge"


@pytest.mark.parametrize(
    ("region", "architecture", "candidates"),
    [
        # eu-north-1 and mars-north-1 are not listed; every listed region prices both architectures
        ("eu-north-1", ARM, None),
        ("us-east-1", X86, ["m6g.large", "c5n.large"]),
        ("us-east-1", ARM, ["c5.large", "m5.large"]),
        ("eu-north-1", X86, None),
        ("mars-north-1", X86, None),
    ],
)
def test_cheapest_plan_returns_none_when_no_priced_candidate_of_architecture(
    region: str, architecture: Architecture, candidates: list[str] | None
) -> None:
    plan = cheapest_plan(_task(256, 512), 3, load_embedded_catalog(), region, architecture, candidates)
    assert plan is None


def test_cheapest_plan_returns_none_when_region_prices_only_the_other_architecture() -> None:
    """Every embedded region with EC2 prices has both x86 and Graviton rows, so this premise needs its own catalog."""
    catalog = _catalog({"m9.large": 0.1}, {"m9.large": (2, 8192, X86)})
    assert cheapest_plan(_task(256, 512), 3, catalog, "test-1", ARM) is None
    assert cheapest_plan(_task(256, 512), 3, catalog, "test-1", X86) is not None


def test_cheapest_plan_returns_none_when_task_fits_no_candidate() -> None:
    """One MiB more than the largest priced x86 type's nominal memory: nothing listed holds it.

    (16 vCPU / 128 GiB, the task this used to be, fits the .8xlarge memory-optimised types now priced.)
    """
    catalog = load_embedded_catalog()
    largest_mib = max(
        shape.memory_mib
        for instance_type in catalog.ec2_types("us-east-1", X86)
        if (shape := catalog.instance_shape(instance_type)) is not None
    )
    assert cheapest_plan(_task(16384, largest_mib + 1), 1, catalog, "us-east-1", X86) is None
    assert cheapest_plan(_task(16384, 131072), 1, catalog, "us-east-1", X86) is not None


@pytest.mark.parametrize(("peak", "headroom", "expected"), [(4, 0, 2), (4, 10, 3), (8, 10, 5), (8, 50, 8), (3, 10, 3)])
def test_plan_for_keeps_headroom_at_fleet_level_when_tasks_divide_instances_exactly(
    peak: int, headroom: float, expected: int
) -> None:
    # 1024/1024 tasks: an m5.large holds 2 on its 2048 CPU units; per-instance headroom would make it 1
    plan = plan_for(_task(1024, 1024), peak, "m5.large", load_embedded_catalog(), "us-east-1", headroom_pct=headroom)
    assert plan is not None
    assert plan.tasks_per_instance == 2
    assert plan.instances == expected
    assert plan.instances_exact == pytest.approx(peak / 2 / (1 - headroom / 100))


def test_cheapest_plan_prefers_fewer_instances_when_costs_tie() -> None:
    catalog = _catalog(
        {"m9.large": 0.1, "m9.xlarge": 0.2},
        {"m9.large": (2, 8192, X86), "m9.xlarge": (4, 16384, X86)},
    )
    plan = cheapest_plan(_task(1024, 1024), 4, catalog, "test-1", X86, headroom_pct=0)
    assert plan is not None
    assert (plan.instance_type, plan.instances) == ("m9.xlarge", 1)


def test_cheapest_plan_favours_bigger_instances_when_operator_time_costs() -> None:
    catalog = _catalog(
        {"m9.large": 0.1, "m9.xlarge": 0.201},
        {"m9.large": (2, 8192, X86), "m9.xlarge": (4, 16384, X86)},
    )
    task = _task(1024, 1024)
    cheap = cheapest_plan(task, 4, catalog, "test-1", X86, headroom_pct=0)
    with_operator = cheapest_plan(
        task, 4, catalog, "test-1", X86, headroom_pct=0, operator_cost_per_instance_hour_usd=0.02
    )
    without_weight = cheapest_plan(
        task,
        4,
        catalog,
        "test-1",
        X86,
        headroom_pct=0,
        operator_cost_per_instance_hour_usd=0.02,
        operator_weight=0,
    )
    assert cheap is not None and with_operator is not None and without_weight is not None
    assert cheap.instance_type == "m9.large"
    assert with_operator.instance_type == "m9.xlarge"
    assert without_weight.instance_type == "m9.large"


def test_cheapest_plan_uses_observed_registered_memory_when_given() -> None:
    catalog = _catalog(
        {"m9.large": 0.1, "r9.large": 0.13},
        {"m9.large": (2, 8192, X86), "r9.large": (2, 16384, X86)},
    )
    task = _task(512, 4096)
    # an estimated 7946 MiB holds one task per m9.large, so the r9.large wins; an m9.large observed to
    # register 8192 MiB holds two and wins back
    estimated = cheapest_plan(task, 4, catalog, "test-1", X86, headroom_pct=0)
    observed = cheapest_plan(
        task, 4, catalog, "test-1", X86, headroom_pct=0, observed_registered_memory={"m9.large": 8192}
    )
    assert estimated is not None and observed is not None
    assert (estimated.instance_type, estimated.instances) == ("r9.large", 2)
    assert (observed.instance_type, observed.instances) == ("m9.large", 2)
    assert observed.registered_memory_mib == 8192
    assert not observed.memory_estimated
    assert math.isclose(observed.monthly.monthly_cost_usd, 2 * 0.1 * 730)
