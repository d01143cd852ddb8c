"""Unit tests of the decision table: workload and cluster verdicts, their money, reasons and confidence."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeshift.domain.classify import ClusterUsageSummary
from modeshift.domain.models import (
    Architecture,
    ClusterInventory,
    ClusterVerdictKind,
    ContainerInstanceInfo,
    Goal,
    LaunchMode,
    Pattern,
    PriceQuote,
    TaskDefinitionInfo,
    TaskSize,
    WorkloadFeatures,
    WorkloadVerdict,
    WorkloadVerdictKind,
)
from modeshift.domain.options import PolicyOptions
from modeshift.domain.policy import (
    INTERRUPTIBLE_TAG,
    Ec2Share,
    PricingContext,
    WorkloadSubject,
    advise_cluster,
    advise_workload,
    allocate_cluster_cost,
    assess_cluster,
    interruption_tolerance,
    reserved_units,
)
from modeshift.domain.pricing import load_embedded_catalog

CATALOG = load_embedded_catalog()
REGION = "us-east-1"
PRICES = PricingContext(CATALOG, REGION)
# The same catalog without any ECS Managed Instances fee: the decision between EC2 and Fargate alone, as it is
# wherever AWS's fee for a type is not known (it is published for one type in the embedded catalog).
NO_MANAGED_INSTANCES = PricingContext(
    CATALOG.model_copy(
        update={
            "regions": {
                name: region.model_copy(update={"managed_instances_fee": {}})
                for name, region in CATALOG.regions.items()
            }
        }
    ),
    REGION,
)
X86 = Architecture.X86_64
# Independent of the code's constants on purpose: a month is 730 hours, a vCPU 1024 units, a GiB 1024 MiB.
HOURS = 730.0
# AWS-FACTS, us-east-1 Fargate Windows: vCPU-h + OS licence per vCPU-h, and GB-h.
WINDOWS_VCPU_HOUR_USD = 0.09148 + 0.046
WINDOWS_GB_HOUR_USD = 0.01005

KEEPING = (WorkloadVerdictKind.KEEP, WorkloadVerdictKind.INSUFFICIENT_DATA)
# same launch mode, cheaper shape or fewer tasks
RESHAPES = (WorkloadVerdictKind.RIGHTSIZE, WorkloadVerdictKind.SCALE_IN)
MOVES = (
    WorkloadVerdictKind.MOVE_TO_FARGATE,
    WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT,
    WorkloadVerdictKind.MOVE_TO_EC2,
)


# --------------------------------------------------------------------------- builders


def make_task_definition(
    cpu_units: int | None = 512,
    memory_mib: int | None = 1024,
    *,
    family: str = "web",
    os_family: str = "LINUX",
    architecture: Architecture = X86,
    container_cpu_units: int = 0,
    container_memory_mib: int = 0,
) -> TaskDefinitionInfo:
    return TaskDefinitionInfo(
        arn=f"arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:1",
        family=family,
        revision=1,
        task_cpu_units=cpu_units,
        task_memory_mib=memory_mib,
        container_cpu_units=container_cpu_units,
        container_memory_mib=container_memory_mib,
        architecture=architecture,
        os_family=os_family,
    )


def make_features(
    pattern: Pattern,
    *,
    avg_tasks: float | None,
    peak_tasks: float | None = None,
    coverage: float = 1.0,
    **extra: object,
) -> WorkloadFeatures:
    return WorkloadFeatures(
        pattern=pattern,
        coverage=coverage,
        data_span_hours=24.0 * 14,
        avg_tasks=avg_tasks,
        median_tasks=avg_tasks,
        peak_tasks=avg_tasks if peak_tasks is None else peak_tasks,
        **extra,
    )


def make_subject(
    task_definition: TaskDefinitionInfo,
    mode: LaunchMode,
    *,
    service: str | None = "web",
    desired_count: int = 0,
    tags: Mapping[str, str] | None = None,
    cluster: str = "prod",
) -> WorkloadSubject:
    return WorkloadSubject(
        cluster=cluster,
        workload=service if service is not None else f"family:{task_definition.family}",
        service=service,
        task_definition=task_definition,
        current_mode=mode,
        desired_count=desired_count,
        tags=dict(tags or {}),
    )


def make_share(monthly_cost_usd: float, instance_type: str | None = "m5.large") -> Ec2Share:
    return Ec2Share(
        quote=PriceQuote(monthly_cost_usd=monthly_cost_usd, arithmetic=f"EC2 share: ${monthly_cost_usd:.2f}/month"),
        instance_type=instance_type,
    )


def make_instance(
    n: int,
    instance_type: str | None = "m5.large",
    *,
    lifecycle: str = "on-demand",
    running_tasks: int = 1,
    registered: tuple[int, int] = (2048, 7680),
    remaining: tuple[int, int] = (1024, 3840),
) -> ContainerInstanceInfo:
    return ContainerInstanceInfo(
        arn=f"arn:aws:ecs:us-east-1:123456789012:container-instance/prod/{n:032x}",
        ec2_instance_id=f"i-{n:017x}",
        instance_type=instance_type,
        lifecycle=lifecycle,  # type: ignore[arg-type]
        registered_cpu_units=registered[0],
        registered_memory_mib=registered[1],
        remaining_cpu_units=remaining[0],
        remaining_memory_mib=remaining[1],
        running_tasks_count=running_tasks,
    )


def make_cluster(instances: tuple[ContainerInstanceInfo, ...] = (), name: str = "prod") -> ClusterInventory:
    return ClusterInventory(
        name=name,
        arn=f"arn:aws:ecs:us-east-1:123456789012:cluster/{name}",
        container_instances=instances,
    )


def make_summary(cpu_pct: float | None, memory_pct: float | None, p95_pct: float | None = None) -> ClusterUsageSummary:
    present = [v for v in (cpu_pct, memory_pct) if v is not None]
    binding = max(present) if present else None
    return ClusterUsageSummary(
        cpu_reservation_pct=cpu_pct,
        memory_reservation_pct=memory_pct,
        binding_reservation_pct=binding,
        binding_reservation_p95_pct=p95_pct if p95_pct is not None else binding,
        coverage=1.0 if present else 0.0,
    )


# --------------------------------------------------------------------------- independent arithmetic


def expected_fargate_monthly(
    avg_tasks: float,
    cpu_units: int,
    memory_mib: int,
    *,
    spot: bool = False,
    discount_pct: float = 0.0,
    architecture: Architecture = X86,
) -> float:
    """avg tasks × (vCPU × vCPU-h rate + GiB × GB-h rate) × 730 h × (1 − discount), on catalog rates."""
    rates = CATALOG.fargate_rates(REGION, architecture, spot=spot)
    task_hour = cpu_units / 1024 * rates.vcpu_hour_usd + memory_mib / 1024 * rates.gb_hour_usd
    return avg_tasks * task_hour * HOURS * (1 - discount_pct / 100)


def independent_tasks_per_instance(instance_type: str, cpu_units: int, memory_mib: int) -> int:
    """floor(registered / need) on 97 % of nominal memory, in exact integers (headroom is fleet-level)."""
    shape = CATALOG.instance_shape(instance_type)
    assert shape is not None
    registered_mib = (shape.memory_mib * 97) // 100
    by_cpu = (shape.vcpu * 1024) // cpu_units
    by_memory = registered_mib // memory_mib
    return min(by_cpu, by_memory)


def expected_cheapest_ec2_monthly(
    cpu_units: int,
    memory_mib: int,
    peak_tasks: int,
    *,
    discount_pct: float,
    operator_usd_per_hour: float,
    headroom_pct: int = 10,
) -> float:
    """Cheapest whole-instance fleet over the catalog's x86 types holding the peak, from first principles."""
    best = math.inf
    for instance_type, hourly in CATALOG.regions[REGION].ec2_on_demand.items():
        shape = CATALOG.instance_shape(instance_type)
        # burstable T types are never candidates for a steady load (CPU credits)
        if shape is None or shape.architecture != X86 or instance_type.startswith("t"):
            continue
        per_instance = independent_tasks_per_instance(instance_type, cpu_units, memory_mib)
        if per_instance == 0:
            continue
        # fleet-level headroom: the packed instance count kept at (100 − headroom) % of the fleet
        packed = -(-peak_tasks // per_instance)
        instances = -(-packed * 100 // (100 - headroom_pct))
        best = min(best, instances * (hourly * (1 - discount_pct / 100) + operator_usd_per_hour) * HOURS)
    return best


def cents(value: float) -> float:
    return round(value + 0.0, 2)


def assert_money_consistent(verdict: WorkloadVerdict) -> None:
    assert verdict.monthly_savings_usd == pytest.approx(
        verdict.current_monthly_cost_usd - verdict.recommended_monthly_cost_usd, abs=0.01
    )
    assert 0.0 <= verdict.confidence <= 1.0


# --------------------------------------------------------------------------- 1. EC2 bursty → Fargate


def test_advise_workload_moves_to_fargate_when_ec2_bursty_share_is_much_dearer() -> None:
    subject = make_subject(make_task_definition(512, 1024), LaunchMode.EC2)
    features = make_features(Pattern.BURSTY, avg_tasks=2, peak_tasks=8)

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(), make_share(500.0))

    fargate = expected_fargate_monthly(2, 512, 1024)
    assert verdict.verdict is WorkloadVerdictKind.MOVE_TO_FARGATE
    assert verdict.recommended_mode is LaunchMode.FARGATE
    assert verdict.current_mode is LaunchMode.EC2
    assert verdict.current_monthly_cost_usd == 500.00
    assert verdict.recommended_monthly_cost_usd == cents(fargate)
    assert verdict.monthly_savings_usd == cents(500.0 - cents(fargate))
    assert any(line.startswith("now:") for line in verdict.arithmetic)
    assert any(line.startswith("recommended:") for line in verdict.arithmetic)
    assert any(line.startswith("savings:") for line in verdict.arithmetic)
    assert 0.0 <= verdict.confidence <= 1.0


def test_advise_workload_arithmetic_restates_the_saving_when_moving_to_fargate() -> None:
    subject = make_subject(make_task_definition(512, 1024), LaunchMode.EC2)
    verdict = advise_workload(
        subject,
        make_features(Pattern.BURSTY, avg_tasks=2, peak_tasks=8),
        PRICES,
        PolicyOptions(),
        make_share(500.0),
    )

    savings_line = next(line for line in verdict.arithmetic if line.startswith("savings:"))
    assert f"${verdict.monthly_savings_usd:,.2f}" in savings_line
    assert f"${verdict.recommended_monthly_cost_usd:,.2f}" in savings_line


# --------------------------------------------------------------------------- 2. EC2 steady large → keep


# (task CPU units, MiB, tasks, cluster instance type, EC2 discount %): Fargate dearer than the packed fleet.
EC2_STEADY_LARGE = [
    pytest.param(256, 512, 48, "t3a.medium", 0.0, id="small-tasks-on-t3a-list-price"),
    pytest.param(1024, 2048, 20, "c5.4xlarge", 30.0, id="1vcpu-tasks-on-c5-with-savings-plan"),
]


@pytest.mark.parametrize(("cpu", "memory", "tasks", "instance_type", "ec2_discount"), EC2_STEADY_LARGE)
@pytest.mark.parametrize("goal", [Goal.BALANCED, Goal.PRICE])
def test_advise_workload_keeps_ec2_when_steady_large_and_fargate_dearer_than_packed_ec2(
    cpu: int, memory: int, tasks: int, instance_type: str, ec2_discount: float, goal: Goal
) -> None:
    options = PolicyOptions(goal=goal, ec2_discount_pct=ec2_discount, headroom_pct=10)
    subject = make_subject(make_task_definition(cpu, memory), LaunchMode.EC2)
    features = make_features(Pattern.STEADY, avg_tasks=tasks, peak_tasks=tasks)
    share = 2 * expected_fargate_monthly(tasks, cpu, memory)  # today's share is bloated by idle capacity

    verdict = advise_workload(subject, features, PRICES, options, make_share(share, instance_type))

    # the premise: Fargate costs more than the workload would on well-packed instances of its cluster's type
    per_instance = independent_tasks_per_instance(instance_type, cpu, memory)
    operator = 0.02 if goal is Goal.BALANCED else 0.0
    hourly = CATALOG.ec2_hourly_usd(REGION, instance_type)
    packed = tasks / per_instance / 0.9 * (hourly * (1 - ec2_discount / 100) + operator) * HOURS
    assert expected_fargate_monthly(tasks, cpu, memory) > packed
    assert verdict.verdict is WorkloadVerdictKind.KEEP
    assert verdict.recommended_mode is verdict.current_mode is LaunchMode.EC2
    assert verdict.monthly_savings_usd == 0.0
    assert verdict.current_monthly_cost_usd == verdict.recommended_monthly_cost_usd == cents(share)
    assert verdict.evidence["costs_by_mode"]["ec2_packed"]["monthly_cost_usd"] == pytest.approx(packed, abs=0.01)
    assert any("well-packed" in reason for reason in verdict.reasons)


@pytest.mark.parametrize(("cpu", "memory", "tasks", "instance_type", "ec2_discount"), EC2_STEADY_LARGE)
def test_advise_workload_moves_to_fargate_when_goal_overhead_compares_with_todays_ec2_share(
    cpu: int, memory: int, tasks: int, instance_type: str, ec2_discount: float
) -> None:
    """Observed: with goal=overhead the baseline is today's (idle-laden) share, not the packed fleet."""
    options = PolicyOptions(goal=Goal.OVERHEAD, ec2_discount_pct=ec2_discount)
    subject = make_subject(make_task_definition(cpu, memory), LaunchMode.EC2)
    fargate = expected_fargate_monthly(tasks, cpu, memory)
    share = 2 * fargate

    verdict = advise_workload(
        subject,
        make_features(Pattern.STEADY, avg_tasks=tasks),
        NO_MANAGED_INSTANCES,
        options,
        make_share(share, instance_type),
    )

    assert verdict.verdict is WorkloadVerdictKind.MOVE_TO_FARGATE
    assert verdict.recommended_mode is LaunchMode.FARGATE
    assert verdict.current_monthly_cost_usd == cents(share)
    assert verdict.recommended_monthly_cost_usd == cents(fargate)
    assert verdict.monthly_savings_usd == cents(cents(share) - cents(fargate))


@pytest.mark.parametrize(
    "share_usd",
    [
        pytest.param(725.0, id="saves-about-4-usd"),
        pytest.param(735.0, id="saves-about-14-usd-but-2-pct"),
    ],
)
def test_advise_workload_keeps_ec2_when_real_saving_is_below_threshold_though_packed_estimate_is_dearer(
    share_usd: float,
) -> None:
    """20 × 1 vCPU / 2 GiB on m5.4xlarge: the packed estimate (≈ $822) exceeds today's share, which
    is barely above Fargate (≈ $721); the move must clear the thresholds on what it really saves."""
    subject = make_subject(make_task_definition(1024, 2048), LaunchMode.EC2)
    features = make_features(Pattern.STEADY, avg_tasks=20, peak_tasks=20)

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(), make_share(share_usd, "m5.4xlarge"))

    fargate = expected_fargate_monthly(20, 1024, 2048)
    saving = share_usd - fargate
    assert saving > 0 and (saving < 10.0 or saving / share_usd < 0.10)
    assert verdict.verdict is WorkloadVerdictKind.KEEP
    assert verdict.recommended_mode is LaunchMode.EC2
    assert verdict.monthly_savings_usd == 0.0


# --------------------------------------------------------------------------- 3. Fargate large steady → EC2


FARGATE_LARGE_STEADY = [
    # 40 × 2 vCPU / 4 GiB: on-demand EC2 with 10 % headroom costs more than Fargate, a Savings Plan tips it
    pytest.param(2048, 4096, 40, 30.0, id="40x2048-with-ec2-savings-plan"),
    pytest.param(256, 512, 40, 50.0, id="40x256-with-ec2-savings-plan"),
]


@pytest.mark.parametrize(("cpu", "memory", "tasks", "ec2_discount"), FARGATE_LARGE_STEADY)
@pytest.mark.parametrize(("goal", "operator_usd_per_hour"), [(Goal.BALANCED, 0.02), (Goal.PRICE, 0.0)])
def test_advise_workload_moves_to_ec2_when_fargate_large_steady_and_price_matters(
    cpu: int, memory: int, tasks: int, ec2_discount: float, goal: Goal, operator_usd_per_hour: float
) -> None:
    options = PolicyOptions(goal=goal, ec2_discount_pct=ec2_discount, headroom_pct=10)
    subject = make_subject(make_task_definition(cpu, memory), LaunchMode.FARGATE)

    verdict = advise_workload(subject, make_features(Pattern.STEADY, avg_tasks=tasks), PRICES, options)

    fargate = expected_fargate_monthly(tasks, cpu, memory)
    ec2 = expected_cheapest_ec2_monthly(
        cpu, memory, tasks, discount_pct=ec2_discount, operator_usd_per_hour=operator_usd_per_hour
    )
    assert verdict.verdict is WorkloadVerdictKind.MOVE_TO_EC2
    assert verdict.recommended_mode is LaunchMode.EC2
    assert verdict.current_monthly_cost_usd == cents(fargate)
    assert verdict.recommended_monthly_cost_usd == cents(ec2)
    assert verdict.monthly_savings_usd == cents(cents(fargate) - cents(ec2))
    assert verdict.monthly_savings_usd >= options.min_savings_usd
    assert not verdict.evidence["costs_by_mode"]["ec2_packing"]["instance_type"].startswith("t")


@pytest.mark.parametrize(("cpu", "memory"), [(2048, 4096), (256, 512), (1024, 2048)])
def test_advise_workload_states_break_even_ec2_discount_that_flips_it_when_list_prices_keep_fargate(
    cpu: int, memory: int
) -> None:
    subject = make_subject(make_task_definition(cpu, memory), LaunchMode.FARGATE)
    features = make_features(Pattern.STEADY, avg_tasks=40)

    at_list = advise_workload(subject, features, PRICES, PolicyOptions())
    needed = at_list.evidence["ec2_discount_pct_needed"]
    with_discount = advise_workload(subject, features, PRICES, PolicyOptions(ec2_discount_pct=needed))
    just_below = advise_workload(subject, features, PRICES, PolicyOptions(ec2_discount_pct=max(0.0, needed - 2)))

    assert at_list.verdict is WorkloadVerdictKind.KEEP
    assert any(f"{needed:g}%" in reason for reason in at_list.reasons)
    assert with_discount.verdict is WorkloadVerdictKind.MOVE_TO_EC2
    assert just_below.verdict is WorkloadVerdictKind.KEEP


def test_advise_workload_keeps_fargate_when_large_steady_on_list_prices_and_ec2_headroom_costs_more() -> None:
    """40 × 2 vCPU / 4 GiB: with 10 % headroom no on-demand fleet beats Fargate at list prices."""
    subject = make_subject(make_task_definition(2048, 4096), LaunchMode.FARGATE)
    options = PolicyOptions(headroom_pct=10)
    verdict = advise_workload(subject, make_features(Pattern.STEADY, avg_tasks=40), PRICES, options)

    ec2 = expected_cheapest_ec2_monthly(2048, 4096, 40, discount_pct=0.0, operator_usd_per_hour=0.02)
    assert ec2 > expected_fargate_monthly(40, 2048, 4096)
    assert verdict.verdict is WorkloadVerdictKind.KEEP
    assert verdict.recommended_mode is LaunchMode.FARGATE


def test_advise_workload_moves_to_ec2_at_list_prices_when_fargate_rounds_memory_up_and_no_headroom() -> None:
    """40 × 2 vCPU / 3 GiB: Fargate bills 4 GiB each, while 8 fit a c5.4xlarge's registered memory."""
    subject = make_subject(make_task_definition(2048, 3072), LaunchMode.FARGATE)
    verdict = advise_workload(subject, make_features(Pattern.STEADY, avg_tasks=40), PRICES, PolicyOptions())

    fargate = expected_fargate_monthly(40, 2048, 4096)  # the smallest valid Fargate size for 2048/3072
    ec2 = expected_cheapest_ec2_monthly(2048, 3072, 40, discount_pct=0.0, operator_usd_per_hour=0.02, headroom_pct=0)
    assert verdict.verdict is WorkloadVerdictKind.MOVE_TO_EC2
    assert verdict.current_monthly_cost_usd == cents(fargate)
    assert verdict.recommended_monthly_cost_usd == cents(ec2)
    assert verdict.evidence["costs_by_mode"]["ec2_packing"]["tasks_per_instance"] >= 2


@pytest.mark.parametrize(("cpu", "memory", "tasks", "ec2_discount"), FARGATE_LARGE_STEADY)
def test_advise_workload_keeps_fargate_with_goal_reason_when_goal_overhead(
    cpu: int, memory: int, tasks: int, ec2_discount: float
) -> None:
    options = PolicyOptions(goal=Goal.OVERHEAD, ec2_discount_pct=ec2_discount)
    subject = make_subject(make_task_definition(cpu, memory), LaunchMode.FARGATE)

    verdict = advise_workload(subject, make_features(Pattern.STEADY, avg_tasks=tasks), NO_MANAGED_INSTANCES, options)

    assert verdict.verdict is WorkloadVerdictKind.KEEP
    assert verdict.recommended_mode is LaunchMode.FARGATE
    assert verdict.monthly_savings_usd == 0.0
    assert verdict.current_monthly_cost_usd == cents(expected_fargate_monthly(tasks, cpu, memory))
    assert any("overhead" in reason for reason in verdict.reasons)


@pytest.mark.parametrize(("cpu", "memory", "tasks", "ec2_discount"), FARGATE_LARGE_STEADY)
def test_advise_workload_keeps_fargate_when_fargate_discount_is_huge(
    cpu: int, memory: int, tasks: int, ec2_discount: float
) -> None:
    options = PolicyOptions(goal=Goal.PRICE, ec2_discount_pct=ec2_discount, fargate_discount_pct=60.0)
    subject = make_subject(make_task_definition(cpu, memory), LaunchMode.FARGATE)

    verdict = advise_workload(subject, make_features(Pattern.STEADY, avg_tasks=tasks), PRICES, options)

    fargate = expected_fargate_monthly(tasks, cpu, memory, discount_pct=60.0)
    ec2 = expected_cheapest_ec2_monthly(cpu, memory, tasks, discount_pct=ec2_discount, operator_usd_per_hour=0.0)
    assert fargate - ec2 < options.min_savings_usd or (fargate - ec2) / fargate < options.min_savings_pct / 100
    assert verdict.verdict is WorkloadVerdictKind.KEEP
    assert verdict.current_monthly_cost_usd == cents(fargate)


def test_advise_workload_reasons_show_no_negative_dollar_figures_when_goal_overhead_keeps_fargate() -> None:
    """Here EC2 costs more than Fargate: "EC2 would cost … ($-568.23 less)" contradicts itself."""
    subject = make_subject(make_task_definition(2048, 4096), LaunchMode.FARGATE)
    verdict = advise_workload(
        subject, make_features(Pattern.STEADY, avg_tasks=40), PRICES, PolicyOptions(goal=Goal.OVERHEAD)
    )

    assert not [reason for reason in verdict.reasons if re.search(r"\$-|-\$", reason)]


def test_advise_workload_keeps_fargate_when_large_but_bursty() -> None:
    options = PolicyOptions(ec2_discount_pct=30.0)
    subject = make_subject(make_task_definition(2048, 4096), LaunchMode.FARGATE)

    verdict = advise_workload(subject, make_features(Pattern.BURSTY, avg_tasks=40, peak_tasks=120), PRICES, options)

    assert verdict.verdict is WorkloadVerdictKind.KEEP
    assert verdict.recommended_mode is LaunchMode.FARGATE
    assert verdict.monthly_savings_usd == 0.0


def test_advise_workload_moves_to_fargate_with_small_reason_when_ec2_steady_and_small() -> None:
    subject = make_subject(make_task_definition(256, 512), LaunchMode.EC2)

    verdict = advise_workload(
        subject, make_features(Pattern.STEADY, avg_tasks=2), PRICES, PolicyOptions(), make_share(100.0)
    )

    fargate = expected_fargate_monthly(2, 256, 512)
    assert verdict.verdict is WorkloadVerdictKind.MOVE_TO_FARGATE
    assert verdict.recommended_monthly_cost_usd == cents(fargate)
    assert verdict.monthly_savings_usd == cents(100.0 - cents(fargate))
    assert any("small" in reason for reason in verdict.reasons)


# --------------------------------------------------------------------------- 4. Fargate small steady → keep


def test_advise_workload_keeps_fargate_when_small_steady() -> None:
    subject = make_subject(make_task_definition(256, 512), LaunchMode.FARGATE)

    verdict = advise_workload(subject, make_features(Pattern.STEADY, avg_tasks=2), PRICES, PolicyOptions())

    assert verdict.verdict is WorkloadVerdictKind.KEEP
    assert verdict.recommended_mode is LaunchMode.FARGATE
    assert verdict.monthly_savings_usd == 0.0
    assert verdict.current_monthly_cost_usd == cents(expected_fargate_monthly(2, 256, 512))
    assert any("small" in reason for reason in verdict.reasons)


# --------------------------------------------------------------------------- 5./6. Fargate Spot


def test_advise_workload_moves_to_fargate_spot_with_assumption_when_standalone_periodic_on_ec2() -> None:
    subject = make_subject(make_task_definition(1024, 2048, family="nightly"), LaunchMode.EC2, service=None)
    features = make_features(Pattern.PERIODIC, avg_tasks=0.5, peak_tasks=4, duty_cycle=0.1)

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(), make_share(200.0))

    spot = expected_fargate_monthly(0.5, 1024, 2048, spot=True)
    assert verdict.verdict is WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT
    assert verdict.recommended_mode is LaunchMode.FARGATE_SPOT
    assert verdict.service is None
    assert verdict.recommended_monthly_cost_usd == cents(spot)
    assert verdict.monthly_savings_usd == cents(200.0 - cents(spot))
    assert any("assum" in reason for reason in verdict.reasons)
    assert verdict.evidence["interruption_tolerant"] is True


def test_advise_workload_moves_to_plain_fargate_when_fargate_spot_not_allowed() -> None:
    subject = make_subject(make_task_definition(1024, 2048, family="nightly"), LaunchMode.EC2, service=None)
    features = make_features(Pattern.PERIODIC, avg_tasks=0.5, peak_tasks=4, duty_cycle=0.1)

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(allow_fargate_spot=False), make_share(200.0))

    fargate = expected_fargate_monthly(0.5, 1024, 2048)
    assert verdict.verdict is WorkloadVerdictKind.MOVE_TO_FARGATE
    assert verdict.recommended_mode is LaunchMode.FARGATE
    assert verdict.recommended_monthly_cost_usd == cents(fargate)
    assert verdict.monthly_savings_usd == cents(200.0 - cents(fargate))


@pytest.mark.parametrize(
    ("tags", "expected_kind", "expected_mode"),
    [
        pytest.param(
            {INTERRUPTIBLE_TAG: "true"},
            WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT,
            LaunchMode.FARGATE_SPOT,
            id="tagged-true",
        ),
        pytest.param(
            {INTERRUPTIBLE_TAG: " TRUE "},
            WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT,
            LaunchMode.FARGATE_SPOT,
            id="tagged-true-loosely-spelled",
        ),
        pytest.param({}, WorkloadVerdictKind.KEEP, LaunchMode.FARGATE, id="untagged"),
        pytest.param({INTERRUPTIBLE_TAG: "false"}, WorkloadVerdictKind.KEEP, LaunchMode.FARGATE, id="tagged-false"),
    ],
)
def test_advise_workload_chooses_fargate_spot_only_when_fargate_periodic_service_tagged_interruptible(
    tags: dict[str, str], expected_kind: WorkloadVerdictKind, expected_mode: LaunchMode
) -> None:
    subject = make_subject(make_task_definition(1024, 2048), LaunchMode.FARGATE, tags=tags)
    features = make_features(Pattern.PERIODIC, avg_tasks=2, peak_tasks=6, duty_cycle=0.2)

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(), None)

    fargate = expected_fargate_monthly(2, 1024, 2048)
    assert verdict.verdict is expected_kind
    assert verdict.recommended_mode is expected_mode
    assert verdict.current_monthly_cost_usd == cents(fargate)
    if expected_kind is WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT:
        spot = expected_fargate_monthly(2, 1024, 2048, spot=True)
        assert verdict.recommended_monthly_cost_usd == cents(spot)
        assert verdict.monthly_savings_usd == cents(cents(fargate) - cents(spot))
    else:
        assert verdict.monthly_savings_usd == 0.0


@pytest.mark.parametrize("mode", [LaunchMode.EC2, LaunchMode.FARGATE])
@pytest.mark.parametrize("pattern", [Pattern.PERIODIC, Pattern.BURSTY])
@pytest.mark.parametrize("service", ["jobs", None])
def test_advise_workload_never_recommends_spot_when_tagged_interruptible_false(
    mode: LaunchMode, pattern: Pattern, service: str | None
) -> None:
    subject = make_subject(make_task_definition(1024, 2048), mode, service=service, tags={INTERRUPTIBLE_TAG: "false"})
    features = make_features(pattern, avg_tasks=1, peak_tasks=6, duty_cycle=0.2)
    share = make_share(400.0) if mode is LaunchMode.EC2 else None

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(), share)

    assert verdict.verdict is not WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT
    assert verdict.recommended_mode is not LaunchMode.FARGATE_SPOT
    if mode is LaunchMode.EC2:  # the move still happens, on plain Fargate
        assert verdict.verdict is WorkloadVerdictKind.MOVE_TO_FARGATE


@pytest.mark.parametrize(
    ("service", "tags", "pattern", "expected"),
    [
        pytest.param(None, {}, Pattern.PERIODIC, True, id="standalone-periodic-assumed"),
        pytest.param(None, {}, Pattern.BURSTY, True, id="standalone-bursty-assumed"),
        pytest.param(None, {}, Pattern.STEADY, False, id="standalone-steady-not-assumed"),
        pytest.param("api", {}, Pattern.PERIODIC, False, id="service-untagged"),
        pytest.param("api", {INTERRUPTIBLE_TAG: "yes"}, Pattern.STEADY, True, id="service-tagged-yes"),
        pytest.param(None, {INTERRUPTIBLE_TAG: "no"}, Pattern.PERIODIC, False, id="standalone-tagged-no"),
    ],
)
def test_interruption_tolerance_follows_tag_then_standalone_shape(
    service: str | None, tags: dict[str, str], pattern: Pattern, expected: bool
) -> None:
    subject = make_subject(make_task_definition(), LaunchMode.FARGATE, service=service, tags=tags)

    tolerant, why = interruption_tolerance(subject, make_features(pattern, avg_tasks=1))

    assert tolerant is expected
    assert why
    if expected and not tags:
        assert "assum" in why


# --------------------------------------------------------------------------- 7./8. insufficient data, idle


def test_advise_workload_estimates_cost_from_desired_count_when_insufficient_data() -> None:
    subject = make_subject(make_task_definition(512, 1024), LaunchMode.FARGATE, desired_count=3)
    features = make_features(Pattern.INSUFFICIENT_DATA, avg_tasks=None, peak_tasks=None, coverage=0.1)

    verdict = advise_workload(subject, features, PRICES, PolicyOptions())

    estimate = expected_fargate_monthly(3, 512, 1024)
    assert verdict.verdict is WorkloadVerdictKind.INSUFFICIENT_DATA
    assert verdict.recommended_mode is verdict.current_mode is LaunchMode.FARGATE
    assert verdict.monthly_savings_usd == 0.0
    assert verdict.current_monthly_cost_usd == verdict.recommended_monthly_cost_usd == cents(estimate)
    assert any("estimate" in line for line in verdict.arithmetic)
    assert verdict.confidence <= 0.5


def test_advise_workload_keeps_current_mode_when_ec2_workload_has_insufficient_data() -> None:
    subject = make_subject(make_task_definition(512, 1024), LaunchMode.EC2, desired_count=3)
    features = make_features(Pattern.INSUFFICIENT_DATA, avg_tasks=None, peak_tasks=None, coverage=0.0)

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(), make_share(900.0))

    assert verdict.verdict is WorkloadVerdictKind.INSUFFICIENT_DATA
    assert verdict.recommended_mode is LaunchMode.EC2
    assert verdict.monthly_savings_usd == 0.0


@pytest.mark.parametrize("mode", [LaunchMode.EC2, LaunchMode.FARGATE])
def test_advise_workload_scales_idle_workload_in_to_one_task_when_four_run_idle(mode: LaunchMode) -> None:
    subject = make_subject(make_task_definition(1024, 2048), mode)
    features = make_features(Pattern.IDLE, avg_tasks=4, peak_tasks=4, cpu_p95_pct=0.5)
    share = make_share(800.0) if mode is LaunchMode.EC2 else None

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(), share)

    # one task instead of four: a quarter of the EC2 share (CPU-bound), or one Fargate task
    one_task = 800.0 / 4 if mode is LaunchMode.EC2 else expected_fargate_monthly(1, 1024, 2048)
    assert verdict.verdict is WorkloadVerdictKind.SCALE_IN
    assert verdict.recommended_mode is mode
    assert verdict.recommended_monthly_cost_usd == cents(one_task)
    assert verdict.confidence <= 0.6
    assert verdict.reasons[-1].startswith("idle (CPU p95 0.50 % over 14 days)")
    assert "scale it to zero" in verdict.reasons[-1]
    assert verdict.evidence["scale_in_to"]["tasks"] == 1


@pytest.mark.parametrize("mode", [LaunchMode.EC2, LaunchMode.FARGATE])
def test_advise_workload_keeps_with_idle_reason_when_one_task_is_all_it_runs(mode: LaunchMode) -> None:
    subject = make_subject(make_task_definition(1024, 2048), mode)
    features = make_features(Pattern.IDLE, avg_tasks=1, peak_tasks=1, cpu_p95_pct=0.5)
    share = make_share(80.0) if mode is LaunchMode.EC2 else None

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(), share)

    assert verdict.verdict is WorkloadVerdictKind.KEEP
    assert verdict.monthly_savings_usd == 0.0
    assert any(reason.startswith("idle (") for reason in verdict.reasons)


# --------------------------------------------------------------------------- 9. savings thresholds


@pytest.mark.parametrize(
    ("excess_usd", "expected"),
    [
        pytest.param(9.99, WorkloadVerdictKind.KEEP, id="just-below-min-usd"),
        pytest.param(10.01, WorkloadVerdictKind.MOVE_TO_FARGATE, id="just-above-min-usd"),
    ],
)
def test_advise_workload_respects_min_savings_usd_when_saving_is_near_the_threshold(
    excess_usd: float, expected: WorkloadVerdictKind
) -> None:
    fargate = expected_fargate_monthly(2, 512, 1024)  # ≈ $36: $10 is well above 10 % of it
    subject = make_subject(make_task_definition(512, 1024), LaunchMode.EC2)
    features = make_features(Pattern.BURSTY, avg_tasks=2, peak_tasks=8)

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(), make_share(fargate + excess_usd))

    assert verdict.verdict is expected
    assert_money_consistent(verdict)
    if expected is WorkloadVerdictKind.KEEP:
        assert verdict.monthly_savings_usd == 0.0
        assert any("threshold" in reason for reason in verdict.reasons)


@pytest.mark.parametrize(
    ("saving_fraction", "expected"),
    [
        pytest.param(0.099, WorkloadVerdictKind.KEEP, id="just-below-min-pct"),
        pytest.param(0.101, WorkloadVerdictKind.MOVE_TO_FARGATE, id="just-above-min-pct"),
    ],
)
def test_advise_workload_respects_min_savings_pct_when_saving_is_near_the_threshold(
    saving_fraction: float, expected: WorkloadVerdictKind
) -> None:
    fargate = expected_fargate_monthly(20, 512, 1024)  # ≈ $360: 10 % of it is far above $10
    share = fargate / (1 - saving_fraction)
    subject = make_subject(make_task_definition(512, 1024), LaunchMode.EC2)
    features = make_features(Pattern.BURSTY, avg_tasks=20, peak_tasks=60)

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(), make_share(share))

    assert share - fargate > 10.0
    assert verdict.verdict is expected
    assert_money_consistent(verdict)


# --------------------------------------------------------------------------- 10. Windows, unsized tasks


@pytest.mark.parametrize("mode", [LaunchMode.EC2, LaunchMode.FARGATE])
@pytest.mark.parametrize("service", ["win", None])
def test_advise_workload_never_recommends_fargate_spot_when_task_is_windows(
    mode: LaunchMode, service: str | None
) -> None:
    task = make_task_definition(1024, 2048, os_family="WINDOWS_SERVER_2022_CORE")
    subject = make_subject(task, mode, service=service, tags={INTERRUPTIBLE_TAG: "true"})
    features = make_features(Pattern.PERIODIC, avg_tasks=1, peak_tasks=4, duty_cycle=0.2)
    share = make_share(2000.0) if mode is LaunchMode.EC2 else None

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(), share)

    assert verdict.verdict is not WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT
    assert verdict.recommended_mode is not LaunchMode.FARGATE_SPOT


def test_advise_workload_never_prices_windows_at_linux_fargate_rates_when_moving_to_fargate() -> None:
    """Fargate Windows costs 0.09148 + 0.046 licence per vCPU-h and 0.01005 per GB-h, not Linux rates."""
    task = make_task_definition(1024, 2048, os_family="WINDOWS_SERVER_2022_CORE")
    subject = make_subject(task, LaunchMode.EC2)
    features = make_features(Pattern.BURSTY, avg_tasks=1, peak_tasks=4)

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(), make_share(150.0))

    windows_fargate = 1 * (1 * WINDOWS_VCPU_HOUR_USD + 2 * WINDOWS_GB_HOUR_USD) * HOURS  # ≈ $115
    if verdict.verdict is WorkloadVerdictKind.MOVE_TO_FARGATE:
        assert verdict.recommended_monthly_cost_usd >= cents(windows_fargate)
    else:
        assert verdict.verdict is WorkloadVerdictKind.KEEP
        assert verdict.monthly_savings_usd == 0.0


def test_advise_workload_never_prices_current_windows_fargate_at_linux_rates() -> None:
    task = make_task_definition(1024, 2048, os_family="WINDOWS_SERVER_2022_CORE")
    subject = make_subject(task, LaunchMode.FARGATE)

    verdict = advise_workload(subject, make_features(Pattern.STEADY, avg_tasks=2), PRICES, PolicyOptions())

    windows_fargate = 2 * (1 * WINDOWS_VCPU_HOUR_USD + 2 * WINDOWS_GB_HOUR_USD) * HOURS  # ≈ $230
    if verdict.verdict is WorkloadVerdictKind.INSUFFICIENT_DATA:
        assert verdict.evidence["cost_known"] is False
    else:
        assert verdict.current_monthly_cost_usd >= cents(windows_fargate)


def test_advise_workload_returns_insufficient_data_when_task_definition_declares_no_memory() -> None:
    task = make_task_definition(256, None, container_cpu_units=256, container_memory_mib=0)
    subject = make_subject(task, LaunchMode.EC2, desired_count=2)

    verdict = advise_workload(
        subject,
        make_features(Pattern.BURSTY, avg_tasks=2, peak_tasks=8),
        PRICES,
        PolicyOptions(),
        make_share(300.0),
    )

    assert verdict.verdict is WorkloadVerdictKind.INSUFFICIENT_DATA
    assert verdict.recommended_mode is LaunchMode.EC2
    assert verdict.monthly_savings_usd == 0.0
    assert verdict.evidence["cost_known"] is False
    assert any("memory" in reason for reason in verdict.reasons)


def test_advise_workload_sizes_from_containers_when_task_level_size_missing() -> None:
    task = make_task_definition(None, None, container_cpu_units=300, container_memory_mib=700)
    subject = make_subject(task, LaunchMode.EC2)

    verdict = advise_workload(
        subject,
        make_features(Pattern.BURSTY, avg_tasks=2, peak_tasks=8),
        PRICES,
        PolicyOptions(),
        make_share(300.0),
    )

    # 300 CPU units / 700 MiB rounds up to the 512 / 1024 Fargate size
    assert verdict.verdict is WorkloadVerdictKind.MOVE_TO_FARGATE
    assert verdict.recommended_monthly_cost_usd == cents(expected_fargate_monthly(2, 512, 1024))
    assert verdict.evidence["task_size"]["sized_from"] == "containers"


def test_advise_workload_returns_insufficient_data_when_ec2_workload_has_no_share() -> None:
    subject = make_subject(make_task_definition(512, 1024), LaunchMode.EC2)

    verdict = advise_workload(
        subject, make_features(Pattern.BURSTY, avg_tasks=2, peak_tasks=8), PRICES, PolicyOptions(), None
    )

    assert verdict.verdict is WorkloadVerdictKind.INSUFFICIENT_DATA
    assert verdict.recommended_mode is LaunchMode.EC2
    assert verdict.monthly_savings_usd == 0.0


@pytest.mark.parametrize("share_usd", [500.0, 45.0])
def test_advise_workload_is_more_confident_when_coverage_is_higher(share_usd: float) -> None:
    subject = make_subject(make_task_definition(512, 1024), LaunchMode.EC2)

    def advise(coverage: float) -> WorkloadVerdict:
        features = make_features(Pattern.BURSTY, avg_tasks=2, peak_tasks=8, coverage=coverage)
        return advise_workload(subject, features, PRICES, PolicyOptions(), make_share(share_usd))

    low, high = advise(0.2), advise(1.0)
    assert low.verdict is high.verdict
    assert 0.0 <= low.confidence < high.confidence <= 1.0


# --------------------------------------------------------------------------- 11. properties

FARGATE_SIZES = [(256, 512), (256, 2048), (512, 1024), (1024, 2048), (1024, 8192), (2048, 4096), (4096, 8192)]


@st.composite
def advice_cases(draw: st.DrawFn) -> tuple[WorkloadSubject, WorkloadFeatures, PolicyOptions, Ec2Share | None]:
    cpu, memory = draw(st.sampled_from(FARGATE_SIZES))
    mode = draw(st.sampled_from(list(LaunchMode)))
    service = draw(st.sampled_from(["api", None]))
    tag = draw(st.sampled_from([None, "true", "false"]))
    windows = draw(st.booleans())
    task = make_task_definition(cpu, memory, os_family="WINDOWS_SERVER_2022_CORE" if windows else "LINUX")
    subject = make_subject(
        task,
        mode,
        service=service,
        desired_count=draw(st.integers(0, 50)),
        tags={INTERRUPTIBLE_TAG: tag} if tag else {},
    )
    pattern = draw(st.sampled_from(list(Pattern)))
    avg = draw(st.one_of(st.sampled_from([0.5, 2.0, 20.0, 40.0]), st.floats(0.0, 60.0, allow_nan=False)))
    peak = avg * draw(st.floats(1.0, 5.0, allow_nan=False))
    features = make_features(pattern, avg_tasks=avg, peak_tasks=peak, coverage=draw(st.floats(0.0, 1.0)))
    options = PolicyOptions(
        goal=draw(st.sampled_from(list(Goal))),
        ec2_discount_pct=draw(st.floats(0.0, 70.0)),
        fargate_discount_pct=draw(st.floats(0.0, 70.0)),
        min_savings_usd=draw(st.one_of(st.just(10.0), st.floats(0.01, 100.0))),
        min_savings_pct=draw(st.one_of(st.just(10.0), st.floats(0.0, 50.0))),
        allow_fargate_spot=draw(st.booleans()),
    )
    share = None
    if mode is LaunchMode.EC2 and draw(st.integers(0, 9)) > 0:
        # around the Fargate figure, where thresholds bite, or anywhere
        fargate = expected_fargate_monthly(avg, cpu, memory)
        share = make_share(
            draw(
                st.one_of(
                    st.floats(0.5, 3.0).map(lambda factor: fargate * factor),
                    st.floats(-5.0, 30.0).map(lambda delta: max(0.0, fargate + delta)),
                    st.floats(0.0, 20_000.0),
                )
            ),
            draw(st.sampled_from(["m5.large", "m5.4xlarge", "c5.4xlarge", "t3a.medium", "m5.2xlarge", None])),
        )
    return subject, features, options, share


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(advice_cases())
def test_advise_workload_money_and_modes_are_consistent_for_any_input(
    case: tuple[WorkloadSubject, WorkloadFeatures, PolicyOptions, Ec2Share | None],
) -> None:
    subject, features, options, share = case

    verdict = advise_workload(subject, features, PRICES, options, share)

    assert verdict.monthly_savings_usd == pytest.approx(
        round(verdict.current_monthly_cost_usd - verdict.recommended_monthly_cost_usd, 2), abs=0.01
    )
    assert 0.0 <= verdict.confidence <= 1.0
    assert verdict.reasons
    if verdict.verdict in KEEPING:
        assert verdict.recommended_mode is subject.current_mode
        assert verdict.monthly_savings_usd == 0.0
    elif verdict.verdict in RESHAPES:
        assert verdict.recommended_mode is subject.current_mode
        assert verdict.monthly_savings_usd > 0
    else:
        assert verdict.recommended_mode is not subject.current_mode
        assert verdict.monthly_savings_usd > 0
        assert verdict.monthly_savings_usd >= round(options.min_savings_usd, 2) - 0.01
        assert verdict.monthly_savings_usd >= options.min_savings_pct / 100 * verdict.current_monthly_cost_usd - 0.02
    if subject.task_definition.is_windows or not options.allow_fargate_spot:
        assert verdict.recommended_mode is not LaunchMode.FARGATE_SPOT or subject.current_mode is (
            LaunchMode.FARGATE_SPOT
        )
    if subject.tags.get(INTERRUPTIBLE_TAG) == "false":
        assert verdict.verdict is not WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT


@settings(max_examples=200, deadline=None)
@given(advice_cases())
def test_advise_workload_moves_only_in_directions_the_decision_table_allows(
    case: tuple[WorkloadSubject, WorkloadFeatures, PolicyOptions, Ec2Share | None],
) -> None:
    subject, features, options, share = case

    verdict = advise_workload(subject, features, PRICES, options, share)

    if verdict.verdict is WorkloadVerdictKind.MOVE_TO_EC2:
        # only large, steady load goes to EC2, and never when the operator values low overhead
        assert features.pattern is Pattern.STEADY
        assert options.goal is not Goal.OVERHEAD
        size = subject.task_definition.size()
        assert size is not None
        assert (features.avg_tasks or 0) * size.vcpu >= options.large_workload_vcpu
    if features.pattern is Pattern.INSUFFICIENT_DATA:
        assert verdict.verdict in KEEPING
    if features.pattern is Pattern.IDLE:
        assert verdict.verdict in (*KEEPING, WorkloadVerdictKind.SCALE_IN)


# --------------------------------------------------------------------------- 12. clusters


def test_assess_cluster_prices_instances_from_catalog_when_on_demand_spot_and_unknown_types_mix() -> None:
    options = PolicyOptions(ec2_discount_pct=20.0, ec2_spot_discount_pct=60.0)
    inventory = make_cluster(
        (
            make_instance(1, "m5.large"),
            make_instance(2, "m5.large"),
            make_instance(3, "c5.xlarge", lifecycle="spot"),
            make_instance(4, "x9.mega"),
        )
    )

    assessment = assess_cluster(inventory, make_summary(30.0, 50.0), PRICES, options)

    m5 = CATALOG.ec2_hourly_usd(REGION, "m5.large")
    c5 = CATALOG.ec2_hourly_usd(REGION, "c5.xlarge")
    expected_compute = 2 * m5 * HOURS * (1 - 0.20) + 1 * c5 * HOURS * (1 - 0.60)
    assert assessment.compute_monthly_usd == pytest.approx(expected_compute, abs=0.005)
    assert assessment.instance_count == 4
    assert assessment.instance_types == {"m5.large": 2, "c5.xlarge": 1, "x9.mega": 1}
    assert assessment.unpriced_types == ("x9.mega",)
    assert any("x9.mega" in line and "no price" in line for line in assessment.arithmetic)


def test_assess_cluster_counts_operator_time_unless_goal_is_price() -> None:
    inventory = make_cluster(tuple(make_instance(n, "m5.large") for n in range(3)))

    balanced = assess_cluster(inventory, make_summary(30.0, 50.0), PRICES, PolicyOptions())
    price = assess_cluster(inventory, make_summary(30.0, 50.0), PRICES, PolicyOptions(goal=Goal.PRICE))

    m5 = CATALOG.ec2_hourly_usd(REGION, "m5.large")
    assert balanced.monthly_cost_usd == pytest.approx(3 * (m5 + 0.02) * HOURS, abs=0.005)
    assert price.monthly_cost_usd == pytest.approx(3 * m5 * HOURS, abs=0.005)


@pytest.mark.parametrize(
    ("cpu_pct", "memory_pct", "binding", "binding_pct"),
    [
        pytest.param(30.0, 50.0, "memory", 50.0, id="memory-fuller"),
        pytest.param(70.0, 40.0, "cpu", 70.0, id="cpu-fuller"),
        pytest.param(None, 45.0, "memory", 45.0, id="only-memory-measured"),
        pytest.param(25.0, None, "cpu", 25.0, id="only-cpu-measured"),
    ],
)
def test_assess_cluster_binding_resource_is_the_higher_reservation(
    cpu_pct: float | None, memory_pct: float | None, binding: str, binding_pct: float
) -> None:
    inventory = make_cluster((make_instance(1), make_instance(2)))

    assessment = assess_cluster(inventory, make_summary(cpu_pct, memory_pct), PRICES, PolicyOptions())

    assert assessment.binding_resource == binding
    assert assessment.binding_reservation_pct == pytest.approx(binding_pct)


def test_assess_cluster_reads_registered_vs_remaining_when_no_reservation_metrics() -> None:
    inventory = make_cluster(
        (
            make_instance(1, registered=(2048, 8000), remaining=(1536, 2000)),
            make_instance(2, registered=(2048, 8000), remaining=(2048, 8000), running_tasks=0),
        )
    )

    assessment = assess_cluster(inventory, None, PRICES, PolicyOptions())

    assert assessment.cpu_reservation_pct == pytest.approx(100 * 512 / 4096)
    assert assessment.memory_reservation_pct == pytest.approx(100 * 6000 / 16000)
    assert assessment.binding_resource == "memory"
    assert "registered" in assessment.reservation_source
    assert assessment.idle_instance_count == 1


@pytest.mark.parametrize(
    ("binding", "size", "avg_tasks", "expected"),
    [
        ("cpu", TaskSize(cpu_units=512, memory_mib=2048), 3.0, 1536.0),
        ("memory", TaskSize(cpu_units=512, memory_mib=2048), 3.0, 6144.0),
        (None, TaskSize(cpu_units=256, memory_mib=512), 0.5, 128.0),
    ],
)
def test_reserved_units_counts_the_binding_resource(
    binding: str | None, size: TaskSize, avg_tasks: float, expected: float
) -> None:
    assert reserved_units(size, avg_tasks, binding) == pytest.approx(expected)


def test_allocate_cluster_cost_splits_bill_pro_rata_when_reservations_differ() -> None:
    inventory = make_cluster(tuple(make_instance(n, "m5.large") for n in range(4)))
    assessment = assess_cluster(inventory, make_summary(30.0, 20.0), PRICES, PolicyOptions())

    shares = allocate_cluster_cost(assessment, {"api": 1024.0, "worker": 3072.0})

    bill = 4 * (CATALOG.ec2_hourly_usd(REGION, "m5.large") + 0.02) * HOURS
    assert shares["api"].quote.monthly_cost_usd == pytest.approx(bill * 0.25, abs=0.005)
    assert shares["worker"].quote.monthly_cost_usd == pytest.approx(bill * 0.75, abs=0.005)
    assert shares["api"].instance_type == "m5.large"


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), st.floats(0.0, 1e6), min_size=1, max_size=8))
def test_allocate_cluster_cost_shares_sum_to_cluster_bill_for_any_reservations(
    reservations: dict[str, float],
) -> None:
    inventory = make_cluster(tuple(make_instance(n, "c5.xlarge") for n in range(3)))
    assessment = assess_cluster(inventory, make_summary(40.0, 30.0), PRICES, PolicyOptions())

    shares = allocate_cluster_cost(assessment, reservations)

    assert set(shares) == set(reservations)
    assert all(share.quote.monthly_cost_usd >= 0 for share in shares.values())
    if sum(reservations.values()) > 0:
        total = sum(share.quote.monthly_cost_usd for share in shares.values())
        assert total == pytest.approx(assessment.monthly_cost_usd, rel=1e-9)


def test_advise_cluster_reports_no_ec2_capacity_when_cluster_is_fargate_only() -> None:
    inventory = make_cluster(())
    assessment = assess_cluster(inventory, None, PRICES, PolicyOptions())

    verdict = advise_cluster(inventory, assessment, [], PolicyOptions())

    assert verdict.verdict is ClusterVerdictKind.NO_EC2_CAPACITY
    assert verdict.instance_count == 0
    assert verdict.monthly_cost_usd == 0.0
    assert verdict.monthly_savings_usd == 0.0


def test_advise_cluster_tunes_capacity_when_reservation_is_low_and_steady() -> None:
    options = PolicyOptions()
    inventory = make_cluster(tuple(make_instance(n, "m5.large") for n in range(10)))
    assessment = assess_cluster(inventory, make_summary(20.0, 15.0, p95_pct=25.0), PRICES, options)

    verdict = advise_cluster(inventory, assessment, [], options)

    per_instance = (CATALOG.ec2_hourly_usd(REGION, "m5.large") + 0.02) * HOURS
    needed = math.ceil(10 * 0.25 / 0.9)  # p95 reservation over 90 % usable: 3
    assert verdict.verdict is ClusterVerdictKind.TUNE_CAPACITY
    assert verdict.recommended_instance_count == needed
    assert verdict.monthly_savings_usd == pytest.approx(cents((10 - needed) * per_instance), abs=0.01)
    assert verdict.monthly_cost_usd == pytest.approx(cents(10 * per_instance), abs=0.01)
    assert verdict.wasted_monthly_cost_usd == pytest.approx(cents(10 * per_instance * 0.8), abs=0.01)
    assert verdict.binding_resource == "cpu"


def test_advise_cluster_moves_workloads_to_fargate_when_a_workload_should_move() -> None:
    options = PolicyOptions()
    inventory = make_cluster(tuple(make_instance(n, "m5.large") for n in range(4)))
    assessment = assess_cluster(inventory, make_summary(20.0, 15.0), PRICES, options)
    mover = advise_workload(
        make_subject(make_task_definition(512, 1024), LaunchMode.EC2),
        make_features(Pattern.BURSTY, avg_tasks=2, peak_tasks=8),
        PRICES,
        options,
        make_share(200.0),
    )
    assert mover.verdict is WorkloadVerdictKind.MOVE_TO_FARGATE

    verdict = advise_cluster(inventory, assessment, [mover], options)

    assert verdict.verdict is ClusterVerdictKind.MOVE_WORKLOADS_TO_FARGATE
    assert verdict.monthly_savings_usd == mover.monthly_savings_usd
    assert any(mover.workload in reason for reason in verdict.reasons)


@pytest.mark.parametrize("binding_pct", [60.0, 85.0])
def test_advise_cluster_keeps_when_reservation_at_or_above_wasteful_threshold(binding_pct: float) -> None:
    options = PolicyOptions()
    inventory = make_cluster(tuple(make_instance(n, "m5.large") for n in range(4)))
    assessment = assess_cluster(inventory, make_summary(binding_pct, 30.0), PRICES, options)

    verdict = advise_cluster(inventory, assessment, [], options)

    assert verdict.verdict is ClusterVerdictKind.KEEP
    assert verdict.monthly_savings_usd == 0.0
    assert verdict.recommended_instance_count is None


def test_advise_cluster_returns_insufficient_data_when_no_reservation_data() -> None:
    options = PolicyOptions()
    inventory = make_cluster(tuple(make_instance(n, "m5.large", registered=(0, 0), remaining=(0, 0)) for n in range(2)))
    assessment = assess_cluster(inventory, None, PRICES, options)

    verdict = advise_cluster(inventory, assessment, [], options)

    assert verdict.verdict is ClusterVerdictKind.INSUFFICIENT_DATA
    assert verdict.cpu_reservation_pct is None
    assert verdict.memory_reservation_pct is None
    assert verdict.monthly_savings_usd == 0.0
    assert verdict.wasted_monthly_cost_usd == 0.0


def test_advise_cluster_returns_insufficient_data_when_only_a_snapshot_of_its_instances_shows_reservation() -> None:
    # No CPUReservation/MemoryReservation metrics: today's registered-vs-remaining is no lookback, however idle.
    options = PolicyOptions()
    inventory = make_cluster(
        tuple(make_instance(n, "m5.large", registered=(2048, 7680), remaining=(1948, 7580)) for n in range(10))
    )
    assessment = assess_cluster(inventory, None, PRICES, options)

    verdict = advise_cluster(inventory, assessment, [], options)

    assert verdict.verdict is ClusterVerdictKind.INSUFFICIENT_DATA
    assert verdict.monthly_savings_usd == 0.0 and verdict.recommended_instance_count is None
    assert verdict.wasted_monthly_cost_usd == 0.0
    assert verdict.confidence < 0.5
    assert verdict.cpu_reservation_pct == pytest.approx(100 * 100 / 2048, abs=0.1)  # the snapshot is still shown
    assert verdict.evidence["snapshot_wasted_monthly_cost_usd"] > 0
    assert "no CPUReservation/MemoryReservation metrics in the lookback" in verdict.reasons[-1]


def test_advise_cluster_names_unpriced_instance_types_when_catalog_lacks_them() -> None:
    options = PolicyOptions()
    inventory = make_cluster((make_instance(1, "m5.large"), make_instance(2, "x9.mega")))
    assessment = assess_cluster(inventory, make_summary(80.0, 70.0), PRICES, options)

    verdict = advise_cluster(inventory, assessment, [], options)

    m5 = CATALOG.ec2_hourly_usd(REGION, "m5.large")
    assert verdict.monthly_cost_usd == pytest.approx(cents(m5 * HOURS + 2 * 0.02 * HOURS), abs=0.01)
    assert any("x9.mega" in reason for reason in verdict.reasons)
