"""The whole decision space: right size, Graviton, ECS Managed Instances, idle scale-in and the alternatives.

Expected figures are recomputed here from the catalog's rates, not read back from the code under test.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeshift.domain.models import Architecture, LaunchMode, Pattern, WorkloadVerdictKind
from modeshift.domain.options import Goal, PolicyOptions
from modeshift.domain.policy import ARM64_TAG, PricingContext, advise_workload
from tests.unit.test_policy import (
    CATALOG,
    HOURS,
    PRICES,
    cents,
    expected_fargate_monthly,
    make_features,
    make_share,
    make_subject,
    make_task_definition,
)

ARM = Architecture.ARM64

# A 4 vCPU / 8 GiB Fargate service that uses 6 % CPU at its busiest minute and 15 % of its memory at most.
OVERSIZED = make_features(
    Pattern.STEADY, avg_tasks=4, cpu_avg_pct=4.0, cpu_p95_pct=5.0, cpu_max_p99_pct=6.0, memory_max_pct=15.0
)


def rates_monthly(tasks: float, cpu_units: int, memory_mib: int, region: str, arch: Architecture) -> float:
    rates = CATALOG.fargate_rates(region, arch)
    return tasks * (cpu_units / 1024 * rates.vcpu_hour_usd + memory_mib / 1024 * rates.gb_hour_usd) * HOURS


# --------------------------------------------------------------------------- right size


def test_advise_workload_rightsizes_fargate_service_to_what_it_uses_when_oversized() -> None:
    subject = make_subject(make_task_definition(4096, 8192), LaunchMode.FARGATE)

    verdict = advise_workload(subject, OVERSIZED, PRICES, PolicyOptions())

    # needs 4096 × 6 % × 1.2 = 295 CPU units and 8192 × 15 % × 1.2 = 1,475 MiB → Fargate 512 / 2048
    assert verdict.verdict is WorkloadVerdictKind.RIGHTSIZE
    assert verdict.recommended_mode is LaunchMode.FARGATE
    assert verdict.recommended_task_size == {"cpu_units": 512, "memory_mib": 2048}
    assert verdict.recommended_architecture == "X86_64"
    assert verdict.current_monthly_cost_usd == cents(expected_fargate_monthly(4, 4096, 8192))
    assert verdict.recommended_monthly_cost_usd == cents(expected_fargate_monthly(4, 512, 2048))
    assert "task_size" in verdict.evidence["changes_needed"]
    assert verdict.evidence["right_size"]["memory_mib_needed"] == round(8192 * 0.15 * 1.2)


def test_advise_workload_keeps_size_when_memory_peak_fills_the_task() -> None:
    busy_memory = OVERSIZED.model_copy(update={"memory_max_pct": 90.0})
    subject = make_subject(make_task_definition(4096, 8192), LaunchMode.FARGATE)

    verdict = advise_workload(subject, busy_memory, PRICES, PolicyOptions())

    # 90 % × 1.2 of 8 GiB is more than 8 GiB: no smaller size holds it, and growing is never a saving
    assert verdict.verdict is WorkloadVerdictKind.KEEP
    assert verdict.recommended_task_size == {"cpu_units": 4096, "memory_mib": 8192}


def test_advise_workload_does_not_rightsize_without_a_memory_peak() -> None:
    no_memory = OVERSIZED.model_copy(update={"memory_max_pct": None})
    subject = make_subject(make_task_definition(4096, 8192), LaunchMode.FARGATE)

    verdict = advise_workload(subject, no_memory, PRICES, PolicyOptions())

    assert verdict.verdict is WorkloadVerdictKind.KEEP
    assert "right_size" not in verdict.evidence


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([(256, 512), (512, 1024), (1024, 2048), (2048, 4096), (4096, 8192), (4096, 30720)]),
    st.floats(0.5, 150.0),
    st.floats(1.0, 100.0),
    st.sampled_from([LaunchMode.FARGATE, LaunchMode.EC2]),
    st.floats(0.5, 20.0),
)
def test_advise_workload_never_sizes_below_memory_peak_plus_headroom_nor_above_today(
    size: tuple[int, int], cpu_peak: float, memory_peak: float, mode: LaunchMode, tasks: float
) -> None:
    cpu, memory = size
    features = make_features(
        Pattern.STEADY, avg_tasks=tasks, cpu_max_p99_pct=cpu_peak, memory_max_pct=memory_peak, cpu_p95_pct=cpu_peak
    )
    share = make_share(5_000.0, "m5.xlarge") if mode is LaunchMode.EC2 else None

    verdict = advise_workload(
        make_subject(make_task_definition(cpu, memory), mode), features, PRICES, PolicyOptions(), share
    )

    recommended = verdict.recommended_task_size
    assert recommended is not None
    resized = recommended != {"cpu_units": cpu, "memory_mib": memory}
    if verdict.recommended_mode is mode and resized:  # a new size where it runs: never below the peak + headroom
        assert recommended["memory_mib"] >= math.floor(memory * memory_peak / 100 * 1.2)
        assert recommended["memory_mib"] <= memory and recommended["cpu_units"] <= max(cpu, 256)
    if verdict.verdict is WorkloadVerdictKind.RIGHTSIZE:
        assert recommended != {"cpu_units": cpu, "memory_mib": memory}
        assert verdict.monthly_savings_usd > 0


def test_advise_workload_rightsizes_ec2_task_by_what_it_frees_on_packed_capacity() -> None:
    subject = make_subject(make_task_definition(2048, 4096), LaunchMode.EC2)
    features = make_features(Pattern.STEADY, avg_tasks=10, peak_tasks=10, cpu_max_p99_pct=20.0, memory_max_pct=20.0)
    options = PolicyOptions()

    verdict = advise_workload(subject, features, PRICES, options, make_share(1_200.0, "m5.xlarge"))

    # needs 2048 × 20 % × 1.2 = 492 → 512 CPU units, 4096 × 20 % × 1.2 = 983 → 1024 MiB (128-unit steps).
    # m5.xlarge: 4 vCPU, 16 GiB (registered ≈ 97 %): today 2 tasks each (CPU), resized 8 (CPU);
    # freed = (10/2 − 10/8) instances × ($0.192 + $0.02 operator) × 730 h
    hourly = CATALOG.ec2_hourly_usd("us-east-1", "m5.xlarge") + options.operator_cost_per_instance_hour_usd
    freed = (10 / 2 - 10 / 8) * hourly * HOURS
    assert verdict.verdict is WorkloadVerdictKind.RIGHTSIZE
    assert verdict.recommended_task_size == {"cpu_units": 512, "memory_mib": 1024}
    assert verdict.monthly_savings_usd == pytest.approx(freed, abs=0.02)
    assert "freed on well-packed EC2" in verdict.arithmetic[1]


def test_advise_workload_shows_each_part_of_a_move_with_a_resize() -> None:
    subject = make_subject(make_task_definition(2048, 4096), LaunchMode.EC2)
    features = make_features(Pattern.BURSTY, avg_tasks=2, peak_tasks=8, cpu_max_p99_pct=20.0, memory_max_pct=20.0)

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(), make_share(900.0, "m5.xlarge"))

    # Fargate at the right size: 512 CPU units / 1024 MiB (not 2048 / 4096 as today)
    both = expected_fargate_monthly(2, 512, 1024)
    move_alone = expected_fargate_monthly(2, 2048, 4096)
    assert verdict.verdict is WorkloadVerdictKind.MOVE_TO_FARGATE
    assert verdict.recommended_task_size == {"cpu_units": 512, "memory_mib": 1024}
    assert verdict.recommended_monthly_cost_usd == cents(both)
    (parts,) = [line for line in verdict.arithmetic if line.startswith("parts:")]
    assert f"the move alone (today's shape on FARGATE) saves ${900 - move_alone:,.2f}/month" in parts
    assert f"both save ${900 - both:,.2f}/month" in parts


# --------------------------------------------------------------------------- Graviton


def test_advise_workload_lists_graviton_as_an_alternative_needing_an_arm64_image_when_not_ready() -> None:
    subject = make_subject(make_task_definition(4096, 8192), LaunchMode.FARGATE)

    verdict = advise_workload(subject, OVERSIZED, PRICES, PolicyOptions())

    assert verdict.recommended_architecture == "X86_64"
    arm = [a for a in verdict.alternatives if a.architecture == "ARM64" and a.mode is LaunchMode.FARGATE]
    assert arm, verdict.alternatives
    assert "arm64_image" in arm[0].changes_needed
    assert ARM64_TAG in arm[0].why_not
    assert arm[0].monthly_cost_usd == cents(rates_monthly(4, 512, 2048, "us-east-1", ARM))


@pytest.mark.parametrize("tags", [{ARM64_TAG: "ready"}, {ARM64_TAG: "true"}])
def test_advise_workload_recommends_graviton_when_the_image_is_tagged_ready(tags: dict[str, str]) -> None:
    subject = make_subject(make_task_definition(4096, 8192), LaunchMode.FARGATE, tags=tags)

    verdict = advise_workload(subject, OVERSIZED, PRICES, PolicyOptions())

    assert verdict.verdict is WorkloadVerdictKind.RIGHTSIZE
    assert verdict.recommended_architecture == "ARM64"
    assert verdict.recommended_monthly_cost_usd == cents(rates_monthly(4, 512, 2048, "us-east-1", ARM))
    assert verdict.evidence["changes_needed"] == ["arm64_image", "task_size"]


def test_advise_workload_prices_graviton_at_the_region_own_rate_not_a_ratio() -> None:
    """ap-south-1 ARM Fargate is 56 % of x86, not 80 %: the alternative uses the published regional rate."""
    prices = PricingContext(CATALOG, "ap-south-1")
    subject = make_subject(make_task_definition(1024, 2048), LaunchMode.FARGATE)
    steady = make_features(Pattern.STEADY, avg_tasks=3, cpu_max_p99_pct=70.0, memory_max_pct=70.0)

    verdict = advise_workload(subject, steady, prices, PolicyOptions())

    (arm,) = [a for a in verdict.alternatives if a.architecture == "ARM64" and a.mode is LaunchMode.FARGATE]
    expected = rates_monthly(3, 1024, 2048, "ap-south-1", ARM)
    assert arm.monthly_cost_usd == cents(expected)
    assert expected < 0.6 * rates_monthly(3, 1024, 2048, "ap-south-1", Architecture.X86_64)


def test_advise_workload_never_offers_arm64_for_a_windows_task() -> None:
    subject = make_subject(make_task_definition(1024, 2048, os_family="WINDOWS_SERVER_2019_CORE"), LaunchMode.EC2)
    features = make_features(Pattern.BURSTY, avg_tasks=1, peak_tasks=4)

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(), make_share(500.0))

    assert verdict.recommended_architecture == "X86_64"
    assert all(a.architecture == "X86_64" for a in verdict.alternatives)


# --------------------------------------------------------------------------- ECS Managed Instances


def test_advise_workload_moves_large_steady_fargate_to_managed_instances_when_goal_overhead() -> None:
    """40 × 2 vCPU / 3 GiB: Fargate bills 4 GiB each; 4 fit a c6a.2xlarge (8 vCPU), the one type with a known
    management fee ($0.037/h): 10 instances × ($0.306 + $0.037) × 730 h, with no operator hours."""
    subject = make_subject(make_task_definition(2048, 3072), LaunchMode.FARGATE)

    verdict = advise_workload(
        subject, make_features(Pattern.STEADY, avg_tasks=40), PRICES, PolicyOptions(goal=Goal.OVERHEAD)
    )

    managed = 10 * (CATALOG.ec2_hourly_usd("us-east-1", "c6a.2xlarge") + 0.037) * HOURS
    assert verdict.verdict is WorkloadVerdictKind.MOVE_TO_MANAGED_INSTANCES
    assert verdict.recommended_mode is LaunchMode.MANAGED_INSTANCES
    assert verdict.recommended_monthly_cost_usd == cents(managed)
    assert verdict.current_monthly_cost_usd == cents(expected_fargate_monthly(40, 2048, 4096))
    assert "managed_instances_capacity_provider" in verdict.evidence["changes_needed"]


def test_advise_workload_prefers_self_managed_ec2_to_managed_instances_when_price_is_the_goal() -> None:
    subject = make_subject(make_task_definition(2048, 3072), LaunchMode.FARGATE)

    verdict = advise_workload(
        subject, make_features(Pattern.STEADY, avg_tasks=40), PRICES, PolicyOptions(goal=Goal.PRICE)
    )

    assert verdict.verdict is WorkloadVerdictKind.MOVE_TO_EC2


def test_advise_workload_never_packs_a_gpu_task_on_instance_types_without_a_gpu() -> None:
    subject = make_subject(make_task_definition(1024, 2048).model_copy(update={"gpu_count": 1}), LaunchMode.EC2)
    features = make_features(Pattern.STEADY, avg_tasks=4, peak_tasks=4, cpu_max_p99_pct=30.0, memory_max_pct=30.0)

    verdict = advise_workload(subject, features, PRICES, PolicyOptions(), make_share(900.0, "m5.xlarge"))

    offered = {(a.mode, a.architecture) for a in verdict.alternatives}
    assert (LaunchMode.MANAGED_INSTANCES, "X86_64") not in offered
    assert (LaunchMode.EC2, "ARM64") not in offered
    assert all(a.mode not in (LaunchMode.FARGATE, LaunchMode.FARGATE_SPOT) for a in verdict.alternatives)


# --------------------------------------------------------------------------- the alternatives


def _alternatives(**options: Any) -> list[Any]:
    subject = make_subject(make_task_definition(4096, 8192), LaunchMode.FARGATE)
    return list(advise_workload(subject, OVERSIZED, PRICES, PolicyOptions(**options)).alternatives)


def test_alternatives_are_at_most_three_feasible_distinct_and_cheapest_first() -> None:
    alternatives = _alternatives()

    assert 1 <= len(alternatives) <= 3
    costs = [a.monthly_cost_usd for a in alternatives]
    assert costs == sorted(costs)
    assert len({(a.mode, a.architecture, a.monthly_cost_usd) for a in alternatives}) == len(alternatives)
    assert all(a.why_not for a in alternatives)


def test_alternatives_say_fargate_spot_is_off_when_settings_forbid_it_or_interruption_is_unknown() -> None:
    spot = [a for a in _alternatives() if a.mode is LaunchMode.FARGATE_SPOT]

    assert spot and "interrupt" in spot[0].why_not


# --------------------------------------------------------------------------- idle


def test_advise_workload_caps_scale_in_confidence_and_names_zero_as_the_owner_s_call() -> None:
    subject = make_subject(make_task_definition(4096, 8192), LaunchMode.FARGATE)
    idle = make_features(Pattern.IDLE, avg_tasks=3, cpu_p95_pct=0.45, cpu_max_p99_pct=1.0, memory_max_pct=10.0)

    verdict = advise_workload(subject, idle, PRICES, PolicyOptions())

    # one task at the smallest size holding 8192 × 10 % × 1.2 = 983 MiB and 49 CPU units → 256 / 1024
    assert verdict.verdict is WorkloadVerdictKind.SCALE_IN
    assert verdict.recommended_task_size == {"cpu_units": 256, "memory_mib": 1024}
    assert verdict.recommended_monthly_cost_usd == cents(expected_fargate_monthly(1, 256, 1024))
    assert verdict.confidence <= 0.6
    assert verdict.evidence["scale_in_to"]["zero_supported"] is False
    assert "CPU p95 0.45 %" in verdict.reasons[-1]


def test_assess_cluster_adds_the_managed_instances_fee_to_instances_of_a_managed_instances_provider() -> None:
    from modeshift.domain.models import ClusterInventory, ContainerInstanceInfo
    from modeshift.domain.policy import assess_cluster

    def instance(n: int, provider: str) -> ContainerInstanceInfo:
        return ContainerInstanceInfo(
            arn=f"arn:aws:ecs:us-east-1:123456789012:container-instance/prod/{n:032x}",
            ec2_instance_id=f"i-{n:017x}",
            instance_type="c6a.2xlarge",
            registered_cpu_units=8192,
            registered_memory_mib=15000,
            remaining_cpu_units=4096,
            remaining_memory_mib=7500,
            capacity_provider_name=provider,
        )

    inventory = ClusterInventory(
        name="prod",
        arn="arn:aws:ecs:us-east-1:123456789012:cluster/prod",
        container_instances=(instance(1, "mi-provider"), instance(2, "asg-provider")),
        managed_instances_providers=("mi-provider",),
    )

    assessment = assess_cluster(inventory, None, PRICES, PolicyOptions(goal=Goal.PRICE))

    hourly = CATALOG.ec2_hourly_usd("us-east-1", "c6a.2xlarge")
    assert assessment.compute_monthly_usd == pytest.approx((2 * hourly + 0.037) * HOURS)
    assert any("Managed Instances management fees" in line for line in assessment.arithmetic)
