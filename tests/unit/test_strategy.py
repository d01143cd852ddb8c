"""Capacity-provider strategy placement: each base first, then the rest by weight (AWS's documented rule)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modeshift.domain.models import CapacityProviderStrategyItem, LaunchMode
from modeshift.domain.strategy import dominant_mode, mix_by_mode, place_tasks, strategy_mode


def item(provider: str, weight: int = 0, base: int = 0) -> CapacityProviderStrategyItem:
    return CapacityProviderStrategyItem(capacity_provider=provider, weight=weight, base=base)


# AWS-FACTS / ECS docs: FARGATE base 2 weight 1 + FARGATE_SPOT weight 3 with 6 tasks → 3 Fargate, 3 Spot.
DOCUMENTED = (item("FARGATE", weight=1, base=2), item("FARGATE_SPOT", weight=3))


def test_place_tasks_splits_documented_example_three_and_three_when_six_tasks() -> None:
    assert place_tasks(DOCUMENTED, 6) == {"FARGATE": 3, "FARGATE_SPOT": 3}


def test_place_tasks_fills_base_before_weights_when_four_tasks() -> None:
    # base 2 on FARGATE, the other 2 split 1:3 → 0.5 / 1.5, the odd task to the larger remainder's tie-break
    placed = place_tasks(DOCUMENTED, 4)

    assert placed["FARGATE"] >= 2
    assert placed["FARGATE_SPOT"] >= 1
    assert sum(placed.values()) == 4
    # not "all Spot", which is how a weight-only reading priced it
    assert placed != {"FARGATE": 0, "FARGATE_SPOT": 4}


def test_place_tasks_puts_every_task_on_the_base_when_count_does_not_exceed_it() -> None:
    assert place_tasks(DOCUMENTED, 2) == {"FARGATE": 2, "FARGATE_SPOT": 0}


def test_place_tasks_gives_a_zero_weight_provider_only_its_base_when_others_weigh() -> None:
    strategy = (item("FARGATE", weight=0, base=1), item("FARGATE_SPOT", weight=1))

    assert place_tasks(strategy, 5) == {"FARGATE": 1, "FARGATE_SPOT": 4}


def test_mix_by_mode_adds_up_providers_of_one_mode_when_two_asg_providers() -> None:
    strategy = (item("asg-a", weight=1), item("asg-b", weight=1), item("FARGATE", weight=2))

    assert mix_by_mode(strategy, 8) == {LaunchMode.EC2: 4, LaunchMode.FARGATE: 4}


def test_dominant_mode_prefers_on_demand_when_modes_tie() -> None:
    assert dominant_mode({LaunchMode.FARGATE_SPOT: 3, LaunchMode.FARGATE: 3}) is LaunchMode.FARGATE
    assert dominant_mode({}) is None


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, LaunchMode.FARGATE), (2, LaunchMode.FARGATE), (6, LaunchMode.FARGATE), (10, LaunchMode.FARGATE_SPOT)],
)
def test_strategy_mode_is_the_mode_of_most_tasks_when_counts_vary(count: int, expected: LaunchMode) -> None:
    assert strategy_mode(DOCUMENTED, count) is expected


strategies = st.lists(
    st.builds(
        item,
        st.sampled_from(["FARGATE", "FARGATE_SPOT", "asg-a", "asg-b"]),
        st.integers(0, 1000),
        st.integers(0, 100_000),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda i: i.capacity_provider,
)


@given(strategies, st.integers(0, 5000))
def test_place_tasks_places_every_task_exactly_once_and_honours_bases_for_any_strategy(
    strategy: list[CapacityProviderStrategyItem], count: int
) -> None:
    placed = place_tasks(strategy, count)

    assert sum(placed.values()) == count
    bases: dict[str, int] = {}
    left = count
    for provider in strategy:
        bases[provider.capacity_provider] = min(provider.base, left)
        left -= bases[provider.capacity_provider]
    total_weight = sum(p.weight for p in strategy)
    for provider in strategy:
        beyond_base = placed[provider.capacity_provider] - bases[provider.capacity_provider]
        assert beyond_base >= 0
        if total_weight > 0:
            # beyond the bases, each provider gets its weighted share of the rest, rounded to a neighbour
            share = left * provider.weight / total_weight
            assert math.floor(share) <= beyond_base <= math.ceil(share)
