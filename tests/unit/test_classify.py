"""Workload classification and cluster reservation summary, on synthetic 14-day five-minute series."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import modeshift.domain.classify as classify_module
from modeshift.domain.classify import (
    ClusterUsageSummary,
    classify_workload,
    classify_workloads,
    summarize_cluster_usage,
)
from modeshift.domain.models import ClusterUsage, MetricSeries, Pattern, WorkloadFeatures, WorkloadUsage
from modeshift.domain.options import Thresholds

START = datetime(2026, 1, 5, tzinfo=UTC)
PERIOD = 300
PER_HOUR = 3600 // PERIOD
PER_DAY = 24 * PER_HOUR
POINTS = 14 * PER_DAY  # 4032
DEFAULTS = Thresholds()
NAN = float("nan")


# --------------------------------------------------------------------------- builders


def series(values: np.ndarray | list[float], period: int = PERIOD) -> MetricSeries:
    return MetricSeries(start=START, period_seconds=period, values=np.asarray(values, dtype=np.float64))


def usage(
    tasks: np.ndarray | None,
    cpu_avg: np.ndarray | None = None,
    cpu_max: np.ndarray | None = None,
    memory_avg: np.ndarray | None = None,
    memory_max: np.ndarray | None = None,
    expected: int = POINTS,
    period: int = PERIOD,
    source: str = "cpu_samplecount",
) -> WorkloadUsage:
    def wrap(values: np.ndarray | None) -> MetricSeries | None:
        return None if values is None else series(values, period)

    return WorkloadUsage(
        task_count=wrap(tasks),
        cpu_avg_pct=wrap(cpu_avg),
        cpu_max_pct=wrap(cpu_max),
        memory_avg_pct=wrap(memory_avg),
        memory_max_pct=wrap(memory_max),
        # AWS/ECS-derived counts by default: a gap there means nothing ran
        task_count_source=source if tasks is not None else "none",
        expected_periods=expected,
    )


def gaps_where_no_tasks(values: np.ndarray, tasks: np.ndarray) -> np.ndarray:
    """Utilisation is published only while tasks run: blank it where the task count is missing."""
    return np.where(np.isnan(tasks), np.nan, values)


def steady(seed: int = 1) -> WorkloadUsage:
    rng = np.random.default_rng(seed)
    tasks = 10 + rng.normal(0, 0.4, POINTS)
    cpu = 45 + rng.normal(0, 3, POINTS)
    return usage(tasks, cpu, cpu * 1.2, 60 + rng.normal(0, 2, POINTS), 70 + rng.normal(0, 2, POINTS))


def bursty(seed: int = 2) -> WorkloadUsage:
    """2 tasks all the time, ten 2-hour bursts to 12 tasks at irregular, non-overlapping times."""
    rng = np.random.default_rng(seed)
    tasks = np.full(POINTS, 2.0)
    slots = rng.choice(POINTS // (4 * PER_HOUR), size=10, replace=False)
    jitter = rng.integers(0, 2 * PER_HOUR, size=10)
    for slot, shift in zip(slots, jitter, strict=True):
        begin = slot * 4 * PER_HOUR + shift
        tasks[begin : begin + 2 * PER_HOUR] = 12.0
    cpu = 30 + rng.normal(0, 2, POINTS)
    return usage(tasks, cpu, cpu * 1.3)


def nightly(seed: int = 3, with_tasks: bool = True) -> WorkloadUsage:
    """One task from 02:00 to 03:00 every day; nothing is published in between."""
    rng = np.random.default_rng(seed)
    minute_of_day = np.arange(POINTS) % PER_DAY
    running = (minute_of_day >= 2 * PER_HOUR) & (minute_of_day < 3 * PER_HOUR)
    tasks = np.where(running, 1.0, np.nan)
    cpu = gaps_where_no_tasks(60 + rng.normal(0, 5, POINTS), tasks)
    return usage(tasks if with_tasks else None, cpu, cpu * 1.2)


def hourly_job(seed: int = 4) -> WorkloadUsage:
    """One task for the first 10 minutes of every hour."""
    rng = np.random.default_rng(seed)
    tasks = np.where(np.arange(POINTS) % PER_HOUR < 2, 1.0, np.nan)
    cpu = gaps_where_no_tasks(50 + rng.normal(0, 5, POINTS), tasks)
    return usage(tasks, cpu, cpu * 1.2)


def idle(seed: int = 5) -> WorkloadUsage:
    rng = np.random.default_rng(seed)
    cpu = 0.3 + rng.normal(0, 0.05, POINTS)
    return usage(np.full(POINTS, 3.0), cpu, cpu * 1.5, np.full(POINTS, 20.0))


def one_day_only() -> WorkloadUsage:
    """Data only for the last day of the lookback (a new service)."""
    base = steady()
    tasks = base.task_count.values.copy()  # type: ignore[union-attr]
    tasks[: POINTS - PER_DAY] = np.nan
    cpu = gaps_where_no_tasks(base.cpu_avg_pct.values, tasks)  # type: ignore[union-attr]
    return usage(tasks, cpu)


def with_random_gaps(share: float = 0.3, seed: int = 6) -> tuple[WorkloadUsage, np.ndarray]:
    """The steady workload with `share` of its periods missing; returns the usage and its gap mask."""
    base = steady()
    gap = np.random.default_rng(seed).random(POINTS) < share
    tasks = np.where(gap, np.nan, base.task_count.values)  # type: ignore[union-attr]
    cpu = np.where(gap, np.nan, base.cpu_avg_pct.values)  # type: ignore[union-attr]
    return usage(tasks, cpu, cpu * 1.2), gap


def intermittent(seed: int = 7) -> WorkloadUsage:
    """10 tasks, running in 40 % of periods picked at random: no daily or hourly rhythm."""
    rng = np.random.default_rng(seed)
    tasks = np.where(rng.random(POINTS) < 0.4, 10.0, np.nan)
    return usage(tasks, gaps_where_no_tasks(np.full(POINTS, 40.0), tasks))


# --------------------------------------------------------------------------- patterns


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (steady, Pattern.STEADY),
        (bursty, Pattern.BURSTY),
        (nightly, Pattern.PERIODIC),
        (hourly_job, Pattern.PERIODIC),
        (idle, Pattern.IDLE),
        (one_day_only, Pattern.INSUFFICIENT_DATA),
        (intermittent, Pattern.BURSTY),
        (lambda: with_random_gaps()[0], Pattern.STEADY),
        (lambda: nightly(with_tasks=False), Pattern.PERIODIC),
    ],
    ids=[
        "steady",
        "bursty",
        "nightly",
        "hourly",
        "idle",
        "one-day",
        "intermittent",
        "gappy-steady",
        "cpu-only",
    ],
)
def test_classify_workload_names_pattern_when_series_has_that_shape(
    build: Callable[[], WorkloadUsage], expected: Pattern
) -> None:
    features = classify_workload(build(), DEFAULTS)
    assert features.pattern is expected, features.reasons


def test_classify_workload_reports_peak_to_median_reason_when_bursts_reach_six_times_the_median() -> None:
    features = classify_workload(bursty(), DEFAULTS)
    assert features.median_tasks == 2.0
    assert features.peak_tasks == 12.0
    assert features.peak_to_median == pytest.approx(6.0)
    assert "bursty: peak-to-median task count 6.0 ≥ 2.5" in features.reasons


def test_classify_workload_measures_daily_recurrence_when_job_runs_nightly() -> None:
    features = classify_workload(nightly(), DEFAULTS)
    assert features.duty_cycle == pytest.approx(1 / 24)
    # one task for one hour a day, spread over the whole lookback
    assert features.avg_tasks == pytest.approx(1 / 24)
    # a perfect daily rhythm over 14 days: (n - lag) / n of the full correlation
    assert features.daily_recurrence == pytest.approx(13 / 14)
    assert features.data_span_hours == pytest.approx(13 * 24 + 1)
    assert any("daily recurrence 0.93 ≥ 0.5" in reason for reason in features.reasons)


def test_classify_workload_measures_hourly_recurrence_when_job_runs_every_hour() -> None:
    features = classify_workload(hourly_job(), DEFAULTS)
    assert features.duty_cycle == pytest.approx(2 / 12)
    assert features.hourly_recurrence is not None and features.hourly_recurrence > 0.99
    assert any("hourly recurrence" in reason for reason in features.reasons)


def test_classify_workload_explains_gaps_as_inactive_when_series_has_gaps() -> None:
    features = classify_workload(nightly(), DEFAULTS)
    assert any("AWS/ECS publishes no datapoint while nothing runs" in reason for reason in features.reasons)


def test_classify_workload_uses_cpu_presence_for_duty_cycle_when_task_count_is_missing() -> None:
    features = classify_workload(nightly(with_tasks=False), DEFAULTS)
    assert features.duty_cycle == pytest.approx(1 / 24)
    assert features.avg_tasks is None and features.peak_to_median is None
    assert any("no task count series" in reason for reason in features.reasons)


def test_classify_workload_keeps_steady_and_ignores_gaps_when_thirty_percent_is_missing() -> None:
    gappy, gap = with_random_gaps(0.3)
    features = classify_workload(gappy, DEFAULTS)
    cpu = gappy.cpu_avg_pct.values  # type: ignore[union-attr]
    assert features.pattern is Pattern.STEADY
    assert features.coverage == pytest.approx(1 - gap.mean())
    assert features.cpu_avg_pct == pytest.approx(np.mean(cpu[~gap]), rel=1e-12)
    # a gap read as 0 % would pull the mean down by about the missing share
    assert features.cpu_avg_pct > np.nan_to_num(cpu).mean() * 1.3
    assert features.cpu_p95_pct == pytest.approx(np.percentile(cpu[~gap], 95), rel=1e-12)
    assert features.median_tasks == pytest.approx(np.median(gappy.task_count.values[~gap]))  # type: ignore[union-attr]


@pytest.mark.parametrize("source", ["container_insights", "task_ledger"])
def test_classify_workload_leaves_gaps_out_of_duty_cycle_when_explicit_zero_source_has_gaps(source: str) -> None:
    # Container Insights and the task ledger record 0 while nothing runs: their gaps are missing data
    gappy, gap = with_random_gaps(0.45)
    tasks = gappy.task_count.values  # type: ignore[union-attr]
    cpu = gappy.cpu_avg_pct.values  # type: ignore[union-attr]
    from_insights = classify_workload(usage(tasks, cpu, cpu * 1.2, source=source), DEFAULTS)
    from_samples = classify_workload(usage(tasks, cpu, cpu * 1.2, source="cpu_samplecount"), DEFAULTS)

    assert from_insights.pattern is Pattern.STEADY
    assert from_insights.duty_cycle == 1.0
    assert from_insights.avg_tasks == pytest.approx(np.mean(tasks[~gap]))
    # the same gaps from AWS/ECS mean "nothing ran": a lower duty cycle and fewer task-hours
    assert from_samples.duty_cycle == pytest.approx(1 - gap.mean())
    assert from_samples.avg_tasks == pytest.approx(np.sum(tasks[~gap]) / POINTS)


def test_classify_workload_counts_zero_task_datapoints_as_inactive_when_service_scales_to_zero() -> None:
    # Container Insights publishes RunningTaskCount = 0 while a service is scaled in: present, not active
    tasks = np.where(np.arange(POINTS) % PER_DAY < PER_DAY // 2, 4.0, 0.0)
    features = classify_workload(usage(tasks, source="container_insights"), DEFAULTS)
    assert features.coverage == 1.0
    assert features.duty_cycle == pytest.approx(0.5)
    assert features.median_tasks == 4.0 and features.peak_to_median == 1.0
    assert features.avg_tasks == pytest.approx(2.0)


def test_classify_workload_says_no_datapoints_when_usage_has_no_series() -> None:
    features = classify_workload(WorkloadUsage(expected_periods=POINTS), DEFAULTS)
    assert features.pattern is Pattern.INSUFFICIENT_DATA
    assert features.coverage == 0.0
    assert any("no datapoints in the lookback" in reason for reason in features.reasons)


def test_classify_workload_says_no_datapoints_when_every_period_is_a_gap() -> None:
    empty = np.full(POINTS, np.nan)
    features = classify_workload(usage(empty, empty.copy()), DEFAULTS)
    assert features.pattern is Pattern.INSUFFICIENT_DATA
    assert features.cpu_avg_pct is None and features.median_tasks is None
    assert any("no datapoints in the lookback" in reason for reason in features.reasons)


def test_classify_workload_names_the_short_span_when_only_one_day_has_data() -> None:
    features = classify_workload(one_day_only(), DEFAULTS)
    assert features.data_span_hours == pytest.approx(24.0)
    assert features.coverage == pytest.approx(1 / 14)
    assert "insufficient data: datapoints span 24.0 h < 72.0 h required" in features.reasons


def test_classify_workload_names_the_count_when_too_few_periods_have_data() -> None:
    tasks = np.full(POINTS, np.nan)
    tasks[:: POINTS // 20][:20] = 5.0  # 20 datapoints spread over 14 days
    features = classify_workload(usage(tasks), DEFAULTS)
    assert features.pattern is Pattern.INSUFFICIENT_DATA
    assert "insufficient data: 20 periods with a datapoint < 36 required" in features.reasons


def test_classify_workload_leaves_recurrence_unmeasured_when_series_is_shorter_than_two_lags() -> None:
    short = nightly().task_count.values[: 2 * PER_DAY - 1]  # type: ignore[union-attr]
    features = classify_workload(usage(short, expected=len(short)), DEFAULTS)
    assert features.daily_recurrence is None
    assert features.hourly_recurrence is not None


def test_classify_workload_leaves_recurrence_unmeasured_when_activity_never_changes() -> None:
    features = classify_workload(steady(), DEFAULTS)
    assert features.daily_recurrence is None and features.hourly_recurrence is None


def test_classify_workload_skips_idle_rule_when_no_cpu_series_exists() -> None:
    features = classify_workload(usage(np.full(POINTS, 4.0)), DEFAULTS)
    assert features.pattern is Pattern.STEADY
    assert features.cpu_p95_pct is None
    assert any("idle test was skipped" in reason for reason in features.reasons)


def test_classify_workload_reports_memory_when_memory_series_exist() -> None:
    memory = np.linspace(10, 50, POINTS)
    memory[::3] = np.nan
    features = classify_workload(usage(np.full(POINTS, 2.0), memory_avg=memory, memory_max=memory + 5), DEFAULTS)
    assert features.memory_avg_pct == pytest.approx(np.nanmean(memory))
    assert features.memory_max_pct == pytest.approx(np.nanmax(memory) + 5)


# --------------------------------------------------------------------------- threshold boundaries

_NEUTRAL = {"bursty_peak_to_median": 1e9, "bursty_cv": 1e9, "bursty_cpu_peak_to_median": 1e9}


@pytest.mark.parametrize(
    ("build", "threshold", "figure", "at_threshold", "past_threshold", "direction", "others"),
    [
        (steady, "min_present_periods", None, Pattern.STEADY, Pattern.INSUFFICIENT_DATA, +1, {}),
        (steady, "min_span_hours", "data_span_hours", Pattern.STEADY, Pattern.INSUFFICIENT_DATA, +1, {}),
        (idle, "idle_cpu_p95_pct", "cpu_p95_pct", Pattern.STEADY, Pattern.IDLE, +1, {}),
        (nightly, "periodic_max_duty_cycle", "duty_cycle", Pattern.PERIODIC, Pattern.STEADY, -1, {}),
        (nightly, "periodic_min_recurrence", "daily_recurrence", Pattern.PERIODIC, Pattern.BURSTY, +1, {}),
        (
            bursty,
            "bursty_peak_to_median",
            "peak_to_median",
            Pattern.BURSTY,
            Pattern.STEADY,
            +1,
            {"bursty_cv": 1e9, "bursty_cpu_peak_to_median": 1e9},
        ),
        (
            bursty,
            "bursty_cv",
            "variability_cv",
            Pattern.BURSTY,
            Pattern.STEADY,
            +1,
            {"bursty_peak_to_median": 1e9, "bursty_cpu_peak_to_median": 1e9},
        ),
        (steady, "bursty_cpu_peak_to_median", "cpu_peak_to_median", Pattern.BURSTY, Pattern.STEADY, +1, {}),
        (intermittent, "bursty_max_duty_cycle", "duty_cycle", Pattern.BURSTY, Pattern.STEADY, -1, _NEUTRAL),
    ],
    ids=["present", "span", "idle", "periodic-duty", "recurrence", "peak", "cv", "cpu-peak", "intermittent"],
)
def test_classify_workload_flips_pattern_exactly_at_threshold_when_figure_crosses_it(
    build: Callable[[], WorkloadUsage],
    threshold: str,
    figure: str | None,
    at_threshold: Pattern,
    past_threshold: Pattern,
    direction: int,
    others: dict[str, float],
) -> None:
    subject = build()
    measured = classify_workload(subject, DEFAULTS)
    if figure is None:  # min_present_periods is an integer: the present count itself
        value: float = subject.task_count.present  # type: ignore[union-attr]
        past: float = value + 1
    else:
        value = getattr(measured, figure)
        past = float(np.nextafter(value, math.inf * direction))
    at = classify_workload(subject, Thresholds(**{**others, threshold: value}))
    beyond = classify_workload(subject, Thresholds(**{**others, threshold: past}))
    assert at.pattern is at_threshold, at.reasons
    assert beyond.pattern is past_threshold, beyond.reasons


# --------------------------------------------------------------------------- batch == scalar


def _fleet() -> list[WorkloadUsage]:
    short = steady().task_count.values[:1000]  # type: ignore[union-attr]
    hourly_period = np.tile([3.0, np.nan, 5.0, 4.0], 24 * 14 // 4)
    return [
        steady(),
        bursty(),
        nightly(),
        hourly_job(),
        idle(),
        one_day_only(),
        with_random_gaps()[0],
        intermittent(),
        nightly(with_tasks=False),
        WorkloadUsage(),
        usage(short, expected=0),
        usage(hourly_period, expected=0, period=3600),
        steady(seed=11),
        bursty(seed=12),
        nightly(seed=13),
    ]


@pytest.mark.parametrize("chunk_rows", [1, 2, 512])
def test_classify_workloads_equals_scalar_path_when_workloads_are_mixed(
    chunk_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = _fleet()
    scalar = [classify_workload(item, DEFAULTS) for item in fleet]
    monkeypatch.setattr(classify_module, "CHUNK_ROWS", chunk_rows)
    batch = classify_workloads(fleet, DEFAULTS)
    assert len(batch) == len(fleet)
    for one, many in zip(scalar, batch, strict=True):
        assert one == many


def test_classify_workloads_keeps_input_order_when_groups_interleave() -> None:
    fleet = _fleet()
    patterns = [features.pattern for features in classify_workloads(fleet, DEFAULTS)]
    assert patterns[:5] == [Pattern.STEADY, Pattern.BURSTY, Pattern.PERIODIC, Pattern.PERIODIC, Pattern.IDLE]
    assert patterns[9] is Pattern.INSUFFICIENT_DATA


def test_classify_workloads_returns_empty_list_when_no_workloads() -> None:
    assert classify_workloads([], DEFAULTS) == []


# --------------------------------------------------------------------------- properties

_task_value = st.one_of(
    st.just(NAN),
    st.just(0.0),
    st.integers(1, 30).map(float),
    st.floats(0.01, 200.0, allow_nan=False),
)
_cpu_value = st.one_of(st.just(NAN), st.floats(0.0, 100.0, allow_nan=False))


@st.composite
def workloads(draw: st.DrawFn) -> WorkloadUsage:
    period = draw(st.sampled_from([60, 300, 3600]))
    length = draw(st.integers(1, 300))
    tasks = draw(st.lists(_task_value, min_size=length, max_size=length))
    cpu = draw(st.one_of(st.none(), st.lists(_cpu_value, min_size=length, max_size=length)))
    expected = draw(st.one_of(st.just(0), st.integers(1, 800)))
    return usage(np.array(tasks), None if cpu is None else np.array(cpu), expected=expected, period=period)


_PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_PROPERTY
@given(workloads())
def test_classify_workload_keeps_fractions_in_unit_interval_when_series_is_arbitrary(
    subject: WorkloadUsage,
) -> None:
    features = classify_workload(subject, DEFAULTS)
    assert 0.0 <= features.coverage <= 1.0
    assert features.duty_cycle is None or 0.0 <= features.duty_cycle <= 1.0
    assert features.duty_cycle is None or features.duty_cycle <= features.coverage
    for recurrence in (features.daily_recurrence, features.hourly_recurrence):
        assert recurrence is None or -1.0 - 1e-9 <= recurrence <= 1.0 + 1e-9


@_PROPERTY
@given(workloads())
def test_classify_workload_matches_numpy_percentiles_when_series_has_gaps(subject: WorkloadUsage) -> None:
    features = classify_workload(subject, DEFAULTS)
    tasks = subject.task_count.values  # type: ignore[union-attr]
    active = tasks[tasks > 0]
    if active.size:
        assert features.median_tasks == pytest.approx(np.median(active), rel=1e-12)
        assert features.p95_tasks == pytest.approx(np.percentile(active, 95), rel=1e-12)
        assert features.peak_tasks == np.max(active)
        assert features.peak_to_median == pytest.approx(np.percentile(active, 99) / np.median(active), rel=1e-12)
        assert features.variability_cv == pytest.approx(np.std(active) / np.mean(active), rel=1e-9, abs=1e-12)
    else:
        assert features.median_tasks is None and features.peak_tasks is None
    if subject.cpu_avg_pct is not None:
        cpu = subject.cpu_avg_pct.values
        present = cpu[~np.isnan(cpu)]
        if present.size:
            assert features.cpu_avg_pct == pytest.approx(np.mean(present), rel=1e-12, abs=1e-12)
            assert features.cpu_p95_pct == pytest.approx(np.percentile(present, 95), rel=1e-12, abs=1e-12)
        else:
            assert features.cpu_avg_pct is None and features.cpu_p95_pct is None


def _scaled(subject: WorkloadUsage, factor: float) -> WorkloadUsage:
    tasks = subject.task_count.values * factor  # type: ignore[union-attr]
    cpu = None if subject.cpu_avg_pct is None else subject.cpu_avg_pct.values
    period = subject.task_count.period_seconds  # type: ignore[union-attr]
    return usage(tasks, cpu, expected=subject.expected_periods, period=period)


@_PROPERTY
@given(workloads(), st.integers(-6, 6))
def test_classify_workload_keeps_shape_exactly_when_task_counts_scale_by_a_power_of_two(
    subject: WorkloadUsage, exponent: int
) -> None:
    # scaling by 2**k is exact in binary floating point, so every ratio must come out bit-identical
    before = classify_workload(subject, DEFAULTS)
    after = classify_workload(_scaled(subject, 2.0**exponent), DEFAULTS)
    assert after.pattern is before.pattern
    assert after.duty_cycle == before.duty_cycle
    assert after.peak_to_median == before.peak_to_median
    assert after.variability_cv == before.variability_cv


def _near(value: float | None, threshold: float) -> bool:
    return value is not None and math.isclose(value, threshold, rel_tol=1e-6)


@_PROPERTY
@given(workloads(), st.floats(0.01, 100.0))
def test_classify_workload_keeps_shape_when_task_counts_scale_by_any_positive_constant(
    subject: WorkloadUsage, factor: float
) -> None:
    before = classify_workload(subject, DEFAULTS)
    # a figure sitting on a threshold may cross it by one rounding step: not a change of shape
    assume(not _near(before.peak_to_median, DEFAULTS.bursty_peak_to_median))
    assume(not _near(before.variability_cv, DEFAULTS.bursty_cv))
    after = classify_workload(_scaled(subject, factor), DEFAULTS)
    assert after.pattern is before.pattern
    assert after.duty_cycle == before.duty_cycle
    if before.peak_to_median is None:
        assert after.peak_to_median is None
    else:
        assert after.peak_to_median == pytest.approx(before.peak_to_median, rel=1e-12)


@_PROPERTY
@given(
    st.lists(st.floats(0.5, 100.0), min_size=40, max_size=300),
    st.lists(st.booleans(), min_size=300, max_size=300),
)
def test_classify_workload_never_drops_cpu_average_below_present_minimum_when_gaps_are_added(
    cpu_values: list[float], gap_flags: list[bool]
) -> None:
    cpu = np.array(cpu_values)
    gap = np.array(gap_flags[: len(cpu)])
    assume(not gap.all())
    gapped = np.where(gap, np.nan, cpu)
    tasks = np.where(gap, np.nan, 2.0)
    full = classify_workload(usage(np.full(len(cpu), 2.0), cpu, expected=len(cpu)), DEFAULTS)
    holed = classify_workload(usage(tasks, gapped, expected=len(cpu)), DEFAULTS)
    present = cpu[~gap]
    assert holed.cpu_avg_pct is not None and full.cpu_avg_pct is not None
    assert holed.cpu_avg_pct >= present.min() * (1 - 1e-12)
    assert holed.cpu_avg_pct == pytest.approx(present.mean(), rel=1e-12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(workloads(), min_size=1, max_size=8))
def test_classify_workloads_equals_scalar_path_when_workloads_are_arbitrary(
    fleet: list[WorkloadUsage],
) -> None:
    assert classify_workloads(fleet, DEFAULTS) == [classify_workload(item, DEFAULTS) for item in fleet]


def test_workload_features_model_accepts_every_classification_when_fleet_is_mixed() -> None:
    for features in classify_workloads(_fleet(), DEFAULTS):
        assert isinstance(features, WorkloadFeatures)
        assert features.reasons, features


# --------------------------------------------------------------------------- cluster summary


def _cluster(
    cpu: np.ndarray | None, memory: np.ndarray | None, instances: np.ndarray | None = None, expected: int = 0
) -> ClusterUsage:
    def wrap(values: np.ndarray | None) -> MetricSeries | None:
        return None if values is None else series(values)

    return ClusterUsage(
        cpu_reservation_pct=wrap(cpu),
        memory_reservation_pct=wrap(memory),
        instance_count=wrap(instances),
        expected_periods=expected,
    )


@pytest.mark.parametrize(
    ("cpu_level", "memory_level", "binding", "binding_pct"),
    [(30.0, 70.0, "memory", 70.0), (80.0, 40.0, "cpu", 80.0), (50.0, 50.0, "cpu", 50.0)],
    ids=["memory-fuller", "cpu-fuller", "tie-goes-to-cpu"],
)
def test_summarize_cluster_usage_names_fuller_resource_binding_when_both_are_measured(
    cpu_level: float, memory_level: float, binding: str, binding_pct: float
) -> None:
    summary = summarize_cluster_usage(_cluster(np.full(POINTS, cpu_level), np.full(POINTS, memory_level)))
    assert summary.binding_resource == binding
    assert summary.binding_reservation_pct == pytest.approx(binding_pct)
    assert summary.binding_reservation_p95_pct == pytest.approx(binding_pct)
    assert summary.reservation_cv == pytest.approx(0.0)
    assert summary.coverage == 1.0
    assert any("binding resource" in reason for reason in summary.reasons)


def test_summarize_cluster_usage_returns_no_figures_when_cluster_has_no_data() -> None:
    summary = summarize_cluster_usage(ClusterUsage(expected_periods=POINTS))
    assert summary == ClusterUsageSummary(
        coverage=0.0, reasons=("no CPU or memory reservation datapoints in the lookback",)
    )


def test_summarize_cluster_usage_returns_no_figures_when_every_period_is_a_gap() -> None:
    gaps = np.full(POINTS, np.nan)
    summary = summarize_cluster_usage(_cluster(gaps, gaps.copy(), gaps.copy(), expected=POINTS))
    assert summary.cpu_reservation_pct is None and summary.memory_reservation_pct is None
    assert summary.binding_resource is None and summary.avg_instance_count is None
    assert summary.coverage == 0.0


def test_summarize_cluster_usage_ignores_gaps_when_reservation_has_missing_periods() -> None:
    cpu = np.full(POINTS, 40.0)
    cpu[: POINTS // 2] = np.nan
    memory = np.full(POINTS, 20.0)
    memory[POINTS // 4 : POINTS // 2] = np.nan
    instances = np.where(np.arange(POINTS) % 2 == 0, 4.0, np.nan)
    instances[10] = 6.0
    summary = summarize_cluster_usage(_cluster(cpu, memory, instances, expected=POINTS))
    assert summary.cpu_reservation_pct == pytest.approx(40.0)
    assert summary.memory_reservation_pct == pytest.approx(20.0)
    assert summary.binding_resource == "cpu"
    assert summary.coverage == pytest.approx(0.75)
    assert summary.max_instance_count == 6.0
    assert summary.avg_instance_count == pytest.approx((4.0 * (POINTS // 2 - 1) + 6.0) / (POINTS // 2))


def test_summarize_cluster_usage_takes_the_measured_resource_as_binding_when_the_other_is_missing() -> None:
    summary = summarize_cluster_usage(_cluster(None, np.linspace(10, 30, POINTS)))
    assert summary.binding_resource == "memory"
    assert summary.cpu_reservation_pct is None
    assert summary.memory_reservation_pct == pytest.approx(20.0)
    assert summary.reservation_cv == pytest.approx(np.std(np.linspace(10, 30, POINTS)) / 20.0)
    assert any("CPU reservation has no datapoints" in reason for reason in summary.reasons)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(st.just(NAN), st.floats(0.0, 100.0)), min_size=1, max_size=200),
    st.lists(st.one_of(st.just(NAN), st.floats(0.0, 100.0)), min_size=1, max_size=200),
)
def test_summarize_cluster_usage_binds_on_higher_mean_when_series_are_arbitrary(
    cpu_values: list[float], memory_values: list[float]
) -> None:
    cpu, memory = np.array(cpu_values), np.array(memory_values)
    summary = summarize_cluster_usage(_cluster(cpu, memory))
    assert 0.0 <= summary.coverage <= 1.0
    means = {name: np.nanmean(v) for name, v in (("cpu", cpu), ("memory", memory)) if not np.isnan(v).all()}
    if not means:
        assert summary.binding_resource is None
        return
    assert summary.binding_resource is not None
    assert means[summary.binding_resource] == pytest.approx(max(means.values()))
    assert summary.binding_reservation_pct == pytest.approx(max(means.values()))
