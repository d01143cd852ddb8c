"""Pure GetMetricData planning: retention-tier periods, aligned windows, and batches within the limits."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeshift.adapters.cloudwatch import (
    MetricQuery,
    align_window,
    calls_for_batch,
    choose_period,
    lower_bound_calls,
    plan_batches,
)


def _queries(n: int) -> list[MetricQuery]:
    return [
        MetricQuery(f"k{i}", "AWS/ECS", "CPUUtilization", (("ClusterName", "c"),), "Average", 300) for i in range(n)
    ]


def _calls(batches: list[list[MetricQuery]], points: int, max_datapoints: int = 100_800) -> int:
    return sum(calls_for_batch(len(b), points, max_datapoints) for b in batches)


def _optimal_calls(n_queries: int, points: int, max_queries: int, max_datapoints: int) -> int:
    """Reference: fewest calls over every way of cutting n whole queries into requests (dynamic programme)."""
    best = [0] + [math.inf] * n_queries
    for n in range(1, n_queries + 1):
        best[n] = min(
            calls_for_batch(b, points, max_datapoints) + best[n - b] for b in range(1, min(max_queries, n) + 1)
        )
    return int(best[n_queries])


# --------------------------------------------------------------------------- choose_period


@pytest.mark.parametrize(
    ("lookback_days", "preferred", "expected"),
    [
        (14, 300, 300),
        (15, 60, 60),  # last day of the 1-minute tier
        (15.01, 60, 300),  # just past it: 5-minute tier
        (63, 60, 300),  # last day of the 5-minute tier
        (63.01, 300, 3600),  # just past it: hourly tier
        (455, 300, 3600),  # last day of the hourly tier
        (10, 90, 120),  # rounded up to a whole minute
        (30, 400, 600),  # rounded up to a multiple of 5 minutes
        (100, 7200, 7200),  # a coarser preference is kept
        (1, 1, 60),  # sub-minute periods exist only for 3 hours of high-resolution data
    ],
)
def test_choose_period_returns_finest_served_period_when_lookback_is_in_a_tier(
    lookback_days: float, preferred: int, expected: int
) -> None:
    assert choose_period(lookback_days, preferred) == expected


def test_choose_period_defaults_to_five_minutes_when_no_preference_given() -> None:
    assert choose_period(14) == 300


@pytest.mark.parametrize("lookback_days", [455.01, 1000])
def test_choose_period_raises_when_lookback_exceeds_retention(lookback_days: float) -> None:
    with pytest.raises(ValueError, match="455-day retention"):
        choose_period(lookback_days)


@pytest.mark.parametrize(("lookback_days", "preferred"), [(0, 300), (-1, 300), (14, 0)])
def test_choose_period_raises_when_arguments_not_positive(lookback_days: float, preferred: int) -> None:
    with pytest.raises(ValueError):
        choose_period(lookback_days, preferred)


# --------------------------------------------------------------------------- align_window


def test_align_window_floors_end_to_period_when_now_is_mid_period() -> None:
    now = datetime(2026, 3, 10, 12, 7, 41, 123, tzinfo=UTC)
    start, end, periods = align_window(now, 14, 300)
    assert end == datetime(2026, 3, 10, 12, 5, tzinfo=UTC)
    assert start == end - timedelta(days=14)
    assert periods == 14 * 288


def test_align_window_keeps_end_when_now_is_on_a_boundary() -> None:
    now = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
    start, end, periods = align_window(now, 2, 3600)
    assert (start, end, periods) == (datetime(2026, 3, 8, 13, 0, tzinfo=UTC), now, 48)


def test_align_window_returns_utc_when_now_has_another_offset() -> None:
    now = datetime(2026, 3, 10, 14, 7, tzinfo=timezone(timedelta(hours=2)))
    start, end, _ = align_window(now, 1, 300)
    assert end == datetime(2026, 3, 10, 12, 5, tzinfo=UTC)
    assert end.utcoffset() == timedelta(0) and start.utcoffset() == timedelta(0)


def test_align_window_rounds_periods_up_when_lookback_is_not_whole_periods() -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    start, end, periods = align_window(now, 0.01, 300)  # 864 s = 2.88 periods
    assert periods == 3
    assert start == end - timedelta(seconds=900)


def test_align_window_raises_when_now_is_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        align_window(datetime(2026, 3, 10, 12, 0), 14, 300)


# --------------------------------------------------------------------------- plan_batches


@pytest.mark.parametrize(
    ("n_queries", "points", "expected_calls", "expected_lower_bound"),
    [
        (5060, 4032, 203, 203),  # 14 d at 5 min: 25 series fill a page exactly
        (1000, 100, 2, 2),  # query-bound: 500 a call
        (1000, 3000, 30, 30),  # 168 queries span 5 full pages; one-page batches of 33 would need 31
        (819, 615, 6, 5),  # whole queries cannot reach the fractional bound here
        (3, 250_000, 8, 8),  # one series needs several pages; three share the last ones
        (0, 4032, 0, 0),
    ],
)
def test_plan_batches_uses_expected_calls_when_given_fleet_shapes(
    n_queries: int, points: int, expected_calls: int, expected_lower_bound: int
) -> None:
    batches = plan_batches(_queries(n_queries), points)
    assert _calls(batches, points) == expected_calls
    assert lower_bound_calls(n_queries, points) == expected_lower_bound
    assert expected_calls == _optimal_calls(n_queries, points, 500, 100_800)


def test_plan_batches_fills_pages_exactly_when_page_holds_whole_series() -> None:
    batches = plan_batches(_queries(5060), 4032)
    assert [len(b) for b in batches[:-1]] == [25] * 202
    assert len(batches[-1]) == 10


def test_plan_batches_raises_when_points_not_positive() -> None:
    with pytest.raises(ValueError):
        plan_batches(_queries(3), 0)


def test_lower_bound_calls_is_query_bound_when_series_are_short() -> None:
    assert lower_bound_calls(1001, 10) == 3


@settings(max_examples=300, deadline=None)
@given(
    n_queries=st.integers(0, 3000),
    points=st.integers(1, 250_000),
    max_queries=st.integers(1, 500),
    max_datapoints=st.integers(1, 100_800),
)
def test_plan_batches_stays_within_limits_when_shapes_vary(
    n_queries: int, points: int, max_queries: int, max_datapoints: int
) -> None:
    queries = _queries(n_queries)
    batches = plan_batches(queries, points, max_queries, max_datapoints)
    assert all(1 <= len(b) <= max_queries for b in batches)
    assert [q for b in batches for q in b] == queries  # each query exactly once, order kept
    calls = _calls(batches, points, max_datapoints)
    assert calls >= lower_bound_calls(n_queries, points, max_queries, max_datapoints)
    # never worse than one-page batches of min(500, page // points), or one series per request
    per_page = min(max_queries, max_datapoints // points)
    one_page_plan = math.ceil(n_queries / per_page) if per_page else n_queries * math.ceil(points / max_datapoints)
    assert calls <= one_page_plan


@settings(max_examples=300, deadline=None)
@given(n_queries=st.integers(0, 5000), series_per_page=st.integers(1, 2000), max_queries=st.integers(1, 500))
def test_plan_batches_meets_lower_bound_when_page_holds_whole_series(
    n_queries: int, series_per_page: int, max_queries: int
) -> None:
    points = 4032
    max_datapoints = points * series_per_page
    batches = plan_batches(_queries(n_queries), points, max_queries, max_datapoints)
    assert _calls(batches, points, max_datapoints) == lower_bound_calls(n_queries, points, max_queries, max_datapoints)


@settings(max_examples=200, deadline=None)
@given(
    n_queries=st.integers(0, 150),
    points=st.integers(1, 5000),
    max_queries=st.integers(1, 40),
    max_datapoints=st.integers(50, 3000),
)
def test_plan_batches_matches_optimum_when_cutting_whole_queries(
    n_queries: int, points: int, max_queries: int, max_datapoints: int
) -> None:
    batches = plan_batches(_queries(n_queries), points, max_queries, max_datapoints)
    assert _calls(batches, points, max_datapoints) == _optimal_calls(n_queries, points, max_queries, max_datapoints)
