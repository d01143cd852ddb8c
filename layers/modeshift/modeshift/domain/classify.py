"""Workload shape (steady, bursty, periodic, idle, insufficient_data) and cluster reservation from usage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from modeshift.domain.models import (
    ClusterUsage,
    MetricSeries,
    Pattern,
    WorkloadFeatures,
    WorkloadUsage,
)
from modeshift.domain.options import Thresholds

SECONDS_PER_HOUR = 3600
SECONDS_PER_DAY = 86400
# Rows classified together. Bounds every temporary to rows × points × 8 bytes (8 MiB at 256 × 4032)
# so a 10,000-workload fleet never needs gigabytes of scratch; 256 measured fastest of 128 … 1024.
CHUNK_ROWS = 256

_MEDIAN = 0.5
_P95 = 0.95
_P99 = 0.99

# The signals a WorkloadUsage may carry, in the order the activity signal is chosen from: the task count
# first; without it, any utilisation series, because AWS/ECS publishes a datapoint only while tasks run.
_SIGNALS = ("task_count", "cpu_avg_pct", "cpu_max_pct", "memory_avg_pct", "memory_max_pct")
_SIGNAL_LABELS = {
    "task_count": "task count",
    "cpu_avg_pct": "CPU average",
    "cpu_max_pct": "CPU maximum",
    "memory_avg_pct": "memory average",
    "memory_max_pct": "memory maximum",
}

_GAP_NOTE = "a gap counts as inactive because AWS/ECS publishes no datapoint while nothing runs"

# Pattern codes of the vectorised decision, in rule order.
_INSUFFICIENT, _IDLE, _PERIODIC, _BURSTY, _STEADY = range(5)
_PATTERNS = (Pattern.INSUFFICIENT_DATA, Pattern.IDLE, Pattern.PERIODIC, Pattern.BURSTY, Pattern.STEADY)

_Shape = tuple[int, int] | None
_GroupKey = tuple[_Shape, ...]


# --------------------------------------------------------------------------- public API


# Task-count sources that record 0 when nothing runs: a missing period there is missing data.
_EXPLICIT_ZERO_SOURCES = frozenset({"container_insights", "task_ledger"})


def classify_workload(usage: WorkloadUsage, thresholds: Thresholds) -> WorkloadFeatures:
    """Measure one workload's series and name its shape; the same arithmetic as `classify_workloads`."""
    return classify_workloads([usage], thresholds)[0]


def classify_workloads(usages: Sequence[WorkloadUsage], thresholds: Thresholds) -> list[WorkloadFeatures]:
    """Measure many workloads at once and name each one's shape, in input order.

    Workloads whose series have the same lengths and periods are stacked into 2-D arrays and every
    statistic is computed along axis 1, `CHUNK_ROWS` rows at a time.

    Features (all nan-aware: a gap is "no data", never a zero reading):
    - coverage: periods with a datapoint of the activity signal / lookback periods (`expected_periods`,
      or the series length when that is 0), at most 1.
    - data_span_hours: (last present period − first present period + 1) × period / 3600.
    - duty_cycle: active periods / lookback periods. A period is active when its task count datapoint
      is > 0 (without a task count series: when the first utilisation series has a datapoint). For
      Container Insights and task-ledger counts, which hold 0 while nothing runs, the denominator is the periods
      with a datapoint instead: there a gap is missing data, not idle time (same for avg_tasks).
    - avg_tasks: sum of the task counts > 0 / lookback periods, i.e. task-periods observed spread over
      the lookback. A gap adds nothing; it is never a zero reading inside a percentile.
    - median_tasks, p95_tasks over active periods; peak_tasks = max over active periods.
    - peak_to_median = p99 / median of the active task counts (p99 sheds single-period spikes).
    - variability_cv = population standard deviation / mean of the active task counts.
    - cpu_avg_pct = mean, cpu_p95_pct = p95 of the present CPU averages (percent).
    - cpu_peak_to_median = p99 of the present CPU maxima (of the averages when no maximum was
      collected) / median of the present CPU averages; None when that median is 0.
    - memory_avg_pct = mean of the present memory averages; memory_max_pct = max of the present
      memory maxima (of the averages when no maximum was collected), percent.
    - daily_recurrence, hourly_recurrence: sample autocorrelation of the 0/1 activity series at a lag
      of 24 h and 1 h (86400 / period and 3600 / period periods); None when the period does not
      divide the lag, the series is shorter than two lags, or the activity never changes.
    Percentiles interpolate linearly between order statistics (NumPy's default method).

    Pattern, first rule that holds:
    1. insufficient_data: present periods < `min_present_periods` or data span < `min_span_hours`.
    2. idle: CPU p95 < `idle_cpu_p95_pct` (only when CPU data exists).
    3. periodic: duty cycle ≤ `periodic_max_duty_cycle` and the larger of the daily and hourly
       recurrence ≥ `periodic_min_recurrence`.
    4. bursty: task peak-to-median ≥ `bursty_peak_to_median`, or CV ≥ `bursty_cv`, or CPU
       peak-to-median ≥ `bursty_cpu_peak_to_median`, or duty cycle ≤ `bursty_max_duty_cycle` with
       no recurrence reaching `periodic_min_recurrence`.
    5. steady otherwise.
    """
    results: list[WorkloadFeatures | None] = [None] * len(usages)
    groups: dict[_GroupKey, list[int]] = {}
    for index, usage in enumerate(usages):
        groups.setdefault(_group_key(usage), []).append(index)
    for key, indices in groups.items():
        for begin in range(0, len(indices), CHUNK_ROWS):
            chunk = indices[begin : begin + CHUNK_ROWS]
            features = _classify_group([usages[i] for i in chunk], key, thresholds)
            for index, feature in zip(chunk, features, strict=True):
                results[index] = feature
    return [feature for feature in results if feature is not None]


class ClusterUsageSummary(BaseModel):
    """An EC2 cluster's reservation over the lookback, percent of registered capacity; None if unmeasured."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu_reservation_pct: float | None = None
    memory_reservation_pct: float | None = None
    cpu_reservation_p95_pct: float | None = None
    memory_reservation_p95_pct: float | None = None
    binding_resource: Literal["cpu", "memory"] | None = None
    binding_reservation_pct: float | None = None
    binding_reservation_p95_pct: float | None = None
    reservation_cv: float | None = None
    avg_instance_count: float | None = None
    max_instance_count: float | None = None
    coverage: float = Field(default=0.0, ge=0.0, le=1.0)
    reasons: tuple[str, ...] = ()


def summarize_cluster_usage(usage: ClusterUsage) -> ClusterUsageSummary:
    """Summarise CPUReservation, MemoryReservation and the instance count over the present periods.

    - cpu/memory_reservation_pct: mean of present datapoints (percent); *_p95_pct their p95.
    - binding_resource: the resource with the higher mean reservation: it fills first and limits
      packing, the other one has slack. Ties go to CPU. With one resource measured, that one.
    - reservation_cv: population std / mean of the binding reservation (None when its mean is 0).
    - avg/max_instance_count: mean and max of the present instance-count datapoints.
    - coverage: periods with a CPU or memory reservation datapoint / lookback periods
      (`expected_periods`, or the longest reservation series when that is 0), at most 1.
    Gaps are left out of every figure: no datapoint means no data, not 0 % reserved.
    """
    reasons: list[str] = []
    cpu = _present_values(usage.cpu_reservation_pct)
    memory = _present_values(usage.memory_reservation_pct)
    cpu_mean, cpu_p95 = _mean_and_p95(cpu)
    memory_mean, memory_p95 = _mean_and_p95(memory)

    binding: Literal["cpu", "memory"] | None = None
    binding_values = np.empty(0)
    if cpu_mean is not None and (memory_mean is None or cpu_mean >= memory_mean):
        binding, binding_values = "cpu", cpu
    elif memory_mean is not None:
        binding, binding_values = "memory", memory
    binding_mean = cpu_mean if binding == "cpu" else memory_mean
    binding_p95 = cpu_p95 if binding == "cpu" else memory_p95

    cv: float | None = None
    if binding_mean is not None and binding_mean > 0:
        cv = float(np.std(binding_values) / binding_mean)

    instances = _present_values(usage.instance_count)
    avg_instances = float(np.mean(instances)) if instances.size else None
    max_instances = float(np.max(instances)) if instances.size else None

    coverage = _cluster_coverage(usage)

    if cpu_mean is None and memory_mean is None:
        reasons.append("no CPU or memory reservation datapoints in the lookback")
    elif binding is not None and binding_mean is not None:
        other_mean = memory_mean if binding == "cpu" else cpu_mean
        if other_mean is None:
            missing = "memory" if binding == "cpu" else "CPU"
            reasons.append(
                f"{_resource_label(binding)} reservation averages {_num(binding_mean)} %; {missing} "
                f"reservation has no datapoints, so {_resource_label(binding)} is taken as binding"
            )
        else:
            other = "memory" if binding == "cpu" else "CPU"
            reasons.append(
                f"{_resource_label(binding)} is the binding resource: its reservation averages "
                f"{_num(binding_mean)} % against {_num(other_mean)} % for {other}, which has slack"
            )
    if instances.size == 0 and usage.instance_count is not None:
        reasons.append("no instance-count datapoints in the lookback")
    if coverage < 1.0 and (cpu.size or memory.size):
        reasons.append(
            f"reservation datapoints cover {_num(coverage * 100)} % of the lookback; gaps are left out, "
            "not read as 0 % reserved"
        )
    return ClusterUsageSummary(
        cpu_reservation_pct=cpu_mean,
        memory_reservation_pct=memory_mean,
        cpu_reservation_p95_pct=cpu_p95,
        memory_reservation_p95_pct=memory_p95,
        binding_resource=binding,
        binding_reservation_pct=binding_mean,
        binding_reservation_p95_pct=binding_p95,
        reservation_cv=cv,
        avg_instance_count=avg_instances,
        max_instance_count=max_instances,
        coverage=coverage,
        reasons=tuple(reasons),
    )


# --------------------------------------------------------------------------- grouping


def _usable(series: MetricSeries | None) -> MetricSeries | None:
    # An empty series carries no more information than a missing one.
    return series if series is not None and len(series) > 0 else None


def _group_key(usage: WorkloadUsage) -> _GroupKey:
    """Length and period of each signal (None when absent): equal keys stack into 2-D arrays."""
    shapes: list[_Shape] = []
    for name in _SIGNALS:
        series = _usable(getattr(usage, name))
        shapes.append(None if series is None else (len(series), series.period_seconds))
    return tuple(shapes)


def _stack(usages: Sequence[WorkloadUsage], name: str) -> np.ndarray:
    # np.stack copies, so the statistics below may overwrite the array in place.
    rows = [getattr(usage, name).values for usage in usages]
    return np.stack(rows).astype(np.float64, copy=False)


# --------------------------------------------------------------------------- array statistics


@dataclass(frozen=True, slots=True)
class _Ranked:
    """Rows sorted ascending; row i holds its `count[i]` values from column `first[i]` on."""

    values: np.ndarray
    count: np.ndarray
    first: np.ndarray


def _sum_and_rank(
    values: np.ndarray, keep: np.ndarray, count: np.ndarray, keep_is_positive: bool
) -> tuple[np.ndarray, _Ranked]:
    """Row sums of the kept values, then each row sorted in place with the kept values in its last columns.

    Fast path: when every kept value is ≥ 0 and everything else is ≤ 0 or NaN, max(value, 0) turns
    what is not kept into 0 (fmax maps NaN to 0) in one vectorised pass: those zeros add nothing to the
    sum and sort below or among the kept values, so the last `count` columns are exactly the kept ones.
    Task counts (`keep_is_positive`: kept means > 0) always qualify, percentages whenever no datapoint
    is negative. Otherwise a masked write puts 0 for the sum, then -inf for the sort. A full sort
    beats np.partition here: NumPy's vectorised sort copes far better with the many repeated values
    (integer counts, runs of gaps) than introselect does.
    """
    if keep_is_positive or not _has_negative(values):
        np.fmax(values, 0.0, out=values)
        sums = values.sum(axis=1)
    else:
        gaps = ~keep
        np.putmask(values, gaps, 0.0)
        sums = values.sum(axis=1)
        np.putmask(values, gaps, -np.inf)
    values.sort(axis=1)
    return sums, _Ranked(values=values, count=count, first=values.shape[1] - count)


def _has_negative(values: np.ndarray) -> bool:
    # fmin skips NaN; an all-NaN array gives NaN, and NaN < 0 is False
    return bool(np.fmin.reduce(values, axis=None) < 0)


def _rank_present(values: np.ndarray, count: np.ndarray) -> _Ranked:
    """Sort each row in place; NaN sorts last, so the `count` present values fill the first columns."""
    values.sort(axis=1)
    return _Ranked(values=values, count=count, first=np.zeros_like(count))


def _quantile(ranked: _Ranked, q: float) -> np.ndarray:
    """Linear-interpolated q-quantile of each row's values (NumPy's default method); NaN when none."""
    values, count = ranked.values, ranked.count
    last_column = values.shape[1] - 1
    position = q * np.maximum(count - 1, 0)
    below = np.floor(position)
    fraction = position - below
    low = np.minimum(ranked.first + below.astype(np.intp), last_column)
    high = np.minimum(low + 1, ranked.first + np.maximum(count - 1, 0))
    rows = np.arange(values.shape[0])
    low_value = values[rows, low]
    high_value = values[rows, np.minimum(high, last_column)]
    with np.errstate(invalid="ignore"):
        result = low_value + (high_value - low_value) * fraction
    result[count == 0] = np.nan
    return result


def _row_max(ranked: _Ranked) -> np.ndarray:
    last = np.minimum(ranked.first + ranked.count - 1, ranked.values.shape[1] - 1)
    result = ranked.values[np.arange(ranked.values.shape[0]), last]
    result[ranked.count == 0] = np.nan
    return result


def _sum_present(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Row sums of the present values; gaps become 0 in place (they add nothing, see `_sum_and_rank`)."""
    if _has_negative(values):
        np.putmask(values, ~present, 0.0)
    else:
        np.fmax(values, 0.0, out=values)
    return values.sum(axis=1)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator where the denominator is > 0, NaN elsewhere."""
    result = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=result, where=denominator > 0)
    return result


def _recurrence(active: np.ndarray, active_count: np.ndarray, lag: int | None) -> np.ndarray:
    """Sample autocorrelation of each 0/1 activity row at `lag` periods; NaN when unmeasurable.

    r = Σ (a_t − m)(a_{t+lag} − m) / Σ (a_t − m)², m the row mean; for 0/1 values both sums reduce to
    counts, so no float copy of the activity is needed. NaN when lag is None, the row is shorter than
    two lags, or the activity never changes (no variance).
    """
    rows, width = active.shape
    result = np.full(rows, np.nan)
    if lag is None or lag < 1 or width < 2 * lag:
        return result
    both = np.count_nonzero(active[:, :-lag] & active[:, lag:], axis=1)
    head = active_count - np.count_nonzero(active[:, width - lag :], axis=1)
    tail = active_count - np.count_nonzero(active[:, :lag], axis=1)
    mean = active_count / width
    numerator = both - mean * (head + tail) + (width - lag) * mean * mean
    denominator = width * mean * (1.0 - mean)
    np.divide(numerator, denominator, out=result, where=denominator > 0)
    return result


def _lag_periods(span_seconds: int, period_seconds: int) -> int | None:
    # A lag is only meaningful as a whole number of periods.
    if period_seconds > span_seconds or span_seconds % period_seconds:
        return None
    return span_seconds // period_seconds


# --------------------------------------------------------------------------- measurement


@dataclass(slots=True)
class _Measured:
    """Every feature of a group of rows as float arrays (NaN = not measurable)."""

    activity_signal: str | None
    present: np.ndarray
    coverage: np.ndarray
    span_hours: np.ndarray
    duty_cycle: np.ndarray
    avg_tasks: np.ndarray
    median_tasks: np.ndarray
    p95_tasks: np.ndarray
    peak_tasks: np.ndarray
    peak_to_median: np.ndarray
    cv: np.ndarray
    cpu_avg: np.ndarray
    cpu_p95: np.ndarray
    cpu_peak_to_median: np.ndarray
    cpu_max_p99: np.ndarray
    memory_avg: np.ndarray
    memory_max: np.ndarray
    daily: np.ndarray
    hourly: np.ndarray


def _measure(usages: Sequence[WorkloadUsage], key: _GroupKey) -> _Measured:
    rows = len(usages)
    shapes = dict(zip(_SIGNALS, key, strict=True))
    missing = np.full(rows, np.nan)
    expected = np.array([usage.expected_periods for usage in usages], dtype=np.float64)

    activity_signal = next((name for name in _SIGNALS if shapes[name] is not None), None)
    measured = _Measured(
        activity_signal=activity_signal,
        present=np.zeros(rows),
        coverage=np.zeros(rows),
        span_hours=np.zeros(rows),
        duty_cycle=missing,
        avg_tasks=missing,
        median_tasks=missing,
        p95_tasks=missing,
        peak_tasks=missing,
        peak_to_median=missing,
        cv=missing,
        cpu_avg=missing,
        cpu_p95=missing,
        cpu_peak_to_median=missing,
        cpu_max_p99=missing,
        memory_avg=missing,
        memory_max=missing,
        daily=missing,
        hourly=missing,
    )
    if activity_signal is None:
        return measured

    width, period = shapes[activity_signal] or (0, 1)
    lookback = np.where(expected > 0, expected, width)

    # ---- activity, coverage, span and recurrence from the activity signal
    activity_values = _stack(usages, activity_signal)
    present = ~np.isnan(activity_values)
    # NaN > 0 is False: a gap is inactive, so is a datapoint saying 0 tasks
    active = activity_values > 0 if activity_signal == "task_count" else present
    present_count = np.count_nonzero(present, axis=1)
    active_count = np.count_nonzero(active, axis=1)
    first = np.argmax(present, axis=1)
    last = width - 1 - np.argmax(present[:, ::-1], axis=1)
    measured.present = present_count.astype(np.float64)
    measured.coverage = np.minimum(present_count / lookback, 1.0)
    measured.span_hours = np.where(present_count > 0, (last - first + 1) * period / SECONDS_PER_HOUR, 0.0)
    # Container Insights publishes RunningTaskCount 0 while a service runs nothing, and the task ledger
    # holds 0 for every hour after it started, so their gaps are "no data" and are left out; for
    # AWS/ECS-derived counts a gap means nothing ran (it publishes nothing then), so it counts as an
    # inactive period of the lookback.
    gaps_unknown = np.array([usage.task_count_source in _EXPLICIT_ZERO_SOURCES for usage in usages])
    if activity_signal == "task_count":
        lookback = np.where(gaps_unknown, np.maximum(present_count, 1), lookback)
    measured.duty_cycle = np.minimum(active_count / lookback, 1.0)
    measured.daily = _recurrence(active, active_count, _lag_periods(SECONDS_PER_DAY, period))
    measured.hourly = _recurrence(active, active_count, _lag_periods(SECONDS_PER_HOUR, period))

    # ---- task counts, over active periods only
    if activity_signal == "task_count":
        tasks = activity_values
        active_float = active_count.astype(np.float64)
        task_sum, ranked_tasks = _sum_and_rank(tasks, active, active_count, keep_is_positive=True)
        measured.avg_tasks = task_sum / lookback
        mean = _ratio(task_sum, active_float)
        # Two-pass variance (exact 0 for a flat series, no cancellation for large counts). The rows are
        # sorted now, which a sum of squares ignores; inactive cells hold 0 and active ones are > 0, so
        # subtracting mean × (cell > 0) leaves the inactive cells at 0.
        deviation = np.multiply(tasks > 0, np.nan_to_num(mean)[:, None])
        np.subtract(tasks, deviation, out=deviation)
        variance = _ratio(np.einsum("ij,ij->i", deviation, deviation), active_float)
        measured.cv = _ratio(np.sqrt(variance), mean)
        measured.median_tasks = _quantile(ranked_tasks, _MEDIAN)
        measured.p95_tasks = _quantile(ranked_tasks, _P95)
        measured.peak_tasks = _row_max(ranked_tasks)
        measured.peak_to_median = _ratio(_quantile(ranked_tasks, _P99), measured.median_tasks)

    # ---- CPU, over present periods only
    if shapes["cpu_avg_pct"] is not None:
        cpu = activity_values if activity_signal == "cpu_avg_pct" else _stack(usages, "cpu_avg_pct")
        cpu_present = present if activity_signal == "cpu_avg_pct" else ~np.isnan(cpu)
        cpu_count = np.count_nonzero(cpu_present, axis=1)
        cpu_sum, ranked_cpu = _sum_and_rank(cpu, cpu_present, cpu_count, keep_is_positive=False)
        measured.cpu_avg = _ratio(cpu_sum, cpu_count.astype(np.float64))
        measured.cpu_p95 = _quantile(ranked_cpu, _P95)
        if shapes["cpu_max_pct"] is not None:
            cpu_max = _stack(usages, "cpu_max_pct")
            ranked_max = _rank_present(cpu_max, np.count_nonzero(~np.isnan(cpu_max), axis=1))
            cpu_max_peak = _quantile(ranked_max, _P99)
            # only a real per-period Maximum sizes CPU: a percentile of averages would hide the peaks
            measured.cpu_max_p99 = cpu_max_peak
        else:
            cpu_max_peak = _quantile(ranked_cpu, _P99)
        measured.cpu_peak_to_median = _ratio(cpu_max_peak, _quantile(ranked_cpu, _MEDIAN))

    # ---- memory, over present periods only
    if shapes["memory_avg_pct"] is not None:
        memory = _stack(usages, "memory_avg_pct")
        memory_present = ~np.isnan(memory)
        # fmax skips NaN without the all-NaN warning of nanmax; taken before the gaps are zeroed
        measured.memory_max = np.fmax.reduce(memory, axis=1)
        memory_count = np.count_nonzero(memory_present, axis=1).astype(np.float64)
        measured.memory_avg = _ratio(_sum_present(memory, memory_present), memory_count)
    if shapes["memory_max_pct"] is not None:
        measured.memory_max = np.fmax.reduce(_stack(usages, "memory_max_pct"), axis=1)
    return measured


# --------------------------------------------------------------------------- decision


@dataclass(frozen=True, slots=True)
class _Decision:
    pattern: np.ndarray
    recurrence: np.ndarray
    recurrent: np.ndarray
    bursty_peak: np.ndarray
    bursty_cv: np.ndarray
    bursty_cpu: np.ndarray
    bursty_intermittent: np.ndarray


def _decide(m: _Measured, t: Thresholds) -> _Decision:
    """Apply the pattern rules to every row at once; comparisons with NaN are False, so unmeasured
    figures never trigger a rule."""
    insufficient = (m.present < t.min_present_periods) | (m.span_hours < t.min_span_hours)
    idle = m.cpu_p95 < t.idle_cpu_p95_pct
    recurrence = np.fmax(m.daily, m.hourly)
    recurrent = recurrence >= t.periodic_min_recurrence
    periodic = (m.duty_cycle <= t.periodic_max_duty_cycle) & recurrent
    bursty_peak = m.peak_to_median >= t.bursty_peak_to_median
    bursty_cv = m.cv >= t.bursty_cv
    bursty_cpu = m.cpu_peak_to_median >= t.bursty_cpu_peak_to_median
    bursty_intermittent = (m.duty_cycle <= t.bursty_max_duty_cycle) & ~recurrent
    bursty = bursty_peak | bursty_cv | bursty_cpu | bursty_intermittent
    pattern = np.select(
        [insufficient, idle, periodic, bursty], [_INSUFFICIENT, _IDLE, _PERIODIC, _BURSTY], default=_STEADY
    )
    return _Decision(
        pattern=pattern,
        recurrence=recurrence,
        recurrent=recurrent,
        bursty_peak=bursty_peak,
        bursty_cv=bursty_cv,
        bursty_cpu=bursty_cpu,
        bursty_intermittent=bursty_intermittent,
    )


# --------------------------------------------------------------------------- reasons and models


def _num(value: float) -> str:
    """Two decimals without trailing zeros, but always one decimal: 6.0, 2.5, 0.04."""
    text = f"{value:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _resource_label(resource: str) -> str:
    return "CPU" if resource == "cpu" else "memory"


def _is(value: float) -> bool:
    return value == value  # False only for NaN


def _opt(value: float) -> float | None:
    return value if value == value else None


def _pattern_reasons(row: dict[str, float], code: int, flags: dict[str, bool], t: Thresholds) -> list[str]:
    """The sentence(s) that justify one row's pattern, each naming the figure and the threshold."""
    if code == _INSUFFICIENT:
        if row["present"] == 0:
            return ["insufficient data: no datapoints in the lookback"]
        reasons = []
        if row["present"] < t.min_present_periods:
            reasons.append(
                f"insufficient data: {int(row['present'])} periods with a datapoint < {t.min_present_periods} required"
            )
        if row["span_hours"] < t.min_span_hours:
            reasons.append(
                f"insufficient data: datapoints span {_num(row['span_hours'])} h < {_num(t.min_span_hours)} h required"
            )
        return reasons
    if code == _IDLE:
        return [f"idle: CPU p95 {_num(row['cpu_p95'])} % < {_num(t.idle_cpu_p95_pct)} %"]
    which = "daily" if not _is(row["hourly"]) or row["daily"] >= row["hourly"] else "hourly"
    if code == _PERIODIC:
        return [
            f"periodic: duty cycle {_num(row['duty_cycle'])} ≤ {_num(t.periodic_max_duty_cycle)} and "
            f"{which} recurrence {_num(row[which])} ≥ {_num(t.periodic_min_recurrence)}"
        ]
    if code == _BURSTY:
        reasons = []
        if flags["peak"]:
            reasons.append(
                f"bursty: peak-to-median task count {_num(row['peak_to_median'])} ≥ {_num(t.bursty_peak_to_median)}"
            )
        if flags["cv"]:
            reasons.append(f"bursty: task-count variation (CV) {_num(row['cv'])} ≥ {_num(t.bursty_cv)}")
        if flags["cpu"]:
            reasons.append(
                f"bursty: CPU peak-to-median {_num(row['cpu_peak_to_median'])} ≥ {_num(t.bursty_cpu_peak_to_median)}"
            )
        if flags["intermittent"]:
            recurrence = (
                f"best recurrence {_num(row['recurrence'])} < {_num(t.periodic_min_recurrence)}"
                if _is(row["recurrence"])
                else "recurrence not measurable"
            )
            reasons.append(
                f"bursty: duty cycle {_num(row['duty_cycle'])} ≤ {_num(t.bursty_max_duty_cycle)} "
                f"without recurrence ({recurrence})"
            )
        return reasons
    checks = []
    if _is(row["peak_to_median"]):
        checks.append(f"peak-to-median task count {_num(row['peak_to_median'])} < {_num(t.bursty_peak_to_median)}")
    if _is(row["cv"]):
        checks.append(f"CV {_num(row['cv'])} < {_num(t.bursty_cv)}")
    if _is(row["cpu_peak_to_median"]):
        checks.append(f"CPU peak-to-median {_num(row['cpu_peak_to_median'])} < {_num(t.bursty_cpu_peak_to_median)}")
    if row["duty_cycle"] > t.bursty_max_duty_cycle:
        checks.append(f"duty cycle {_num(row['duty_cycle'])} > {_num(t.bursty_max_duty_cycle)}")
    else:
        checks.append(
            f"duty cycle {_num(row['duty_cycle'])} ≤ {_num(t.bursty_max_duty_cycle)} but recurrent "
            f"({which} {_num(row[which])} ≥ {_num(t.periodic_min_recurrence)}) with duty cycle > "
            f"{_num(t.periodic_max_duty_cycle)}"
        )
    return ["steady: " + ", ".join(checks)]


def _notes(row: dict[str, float], activity_signal: str | None, has_cpu: bool) -> list[str]:
    """How the figures were measured, so a reader can check them by hand."""
    if activity_signal is None or row["present"] == 0:
        return []
    notes = []
    if activity_signal == "task_count":
        notes.append(f"duty cycle counts a period active when its task count datapoint is > 0; {_GAP_NOTE}")
    else:
        notes.append(
            f"no task count series: duty cycle counts a period active when it has a "
            f"{_SIGNAL_LABELS[activity_signal]} datapoint; {_GAP_NOTE}"
        )
    if row["coverage"] < 1.0:
        notes.append(
            f"datapoints cover {_num(row['coverage'] * 100)} % of the lookback; utilisation figures use "
            "present datapoints only, gaps are not read as 0 %"
        )
    if not has_cpu:
        notes.append("no CPU average series: the idle test was skipped")
    return notes


_ROW_FIELDS = (
    "present",
    "coverage",
    "span_hours",
    "duty_cycle",
    "avg_tasks",
    "median_tasks",
    "p95_tasks",
    "peak_tasks",
    "peak_to_median",
    "cv",
    "cpu_avg",
    "cpu_p95",
    "cpu_peak_to_median",
    "cpu_max_p99",
    "memory_avg",
    "memory_max",
    "daily",
    "hourly",
)


def _classify_group(usages: Sequence[WorkloadUsage], key: _GroupKey, thresholds: Thresholds) -> list[WorkloadFeatures]:
    measured = _measure(usages, key)
    decision = _decide(measured, thresholds)
    has_cpu = key[_SIGNALS.index("cpu_avg_pct")] is not None
    columns = {name: getattr(measured, name).tolist() for name in _ROW_FIELDS}
    columns["recurrence"] = decision.recurrence.tolist()
    flag_columns = {
        "peak": decision.bursty_peak.tolist(),
        "cv": decision.bursty_cv.tolist(),
        "cpu": decision.bursty_cpu.tolist(),
        "intermittent": decision.bursty_intermittent.tolist(),
    }
    codes = decision.pattern.tolist()
    features: list[WorkloadFeatures] = []
    # One model per workload is the output itself; everything numeric was computed above, per array.
    for i, code in enumerate(codes):
        row = {name: values[i] for name, values in columns.items()}
        flags = {name: values[i] for name, values in flag_columns.items()}
        reasons = _pattern_reasons(row, code, flags, thresholds) + _notes(row, measured.activity_signal, has_cpu)
        features.append(
            WorkloadFeatures(
                pattern=_PATTERNS[code],
                coverage=row["coverage"],
                data_span_hours=row["span_hours"],
                duty_cycle=_opt(row["duty_cycle"]),
                avg_tasks=_opt(row["avg_tasks"]),
                median_tasks=_opt(row["median_tasks"]),
                p95_tasks=_opt(row["p95_tasks"]),
                peak_tasks=_opt(row["peak_tasks"]),
                peak_to_median=_opt(row["peak_to_median"]),
                variability_cv=_opt(row["cv"]),
                cpu_avg_pct=_opt(row["cpu_avg"]),
                cpu_p95_pct=_opt(row["cpu_p95"]),
                cpu_peak_to_median=_opt(row["cpu_peak_to_median"]),
                cpu_max_p99_pct=_opt(row["cpu_max_p99"]),
                memory_avg_pct=_opt(row["memory_avg"]),
                memory_max_pct=_opt(row["memory_max"]),
                daily_recurrence=_opt(row["daily"]),
                hourly_recurrence=_opt(row["hourly"]),
                reasons=tuple(reasons),
            )
        )
    return features


# --------------------------------------------------------------------------- cluster helpers


def _present_values(series: MetricSeries | None) -> np.ndarray:
    if series is None:
        return np.empty(0)
    values = np.asarray(series.values, dtype=np.float64)
    return values[~np.isnan(values)]


def _mean_and_p95(values: np.ndarray) -> tuple[float | None, float | None]:
    if values.size == 0:
        return None, None
    return float(np.mean(values)), float(np.percentile(values, 95))


def _cluster_coverage(usage: ClusterUsage) -> float:
    series = [s for s in (usage.cpu_reservation_pct, usage.memory_reservation_pct) if s is not None]
    if not series:
        return 0.0
    longest = max(len(s) for s in series)
    lookback = usage.expected_periods if usage.expected_periods > 0 else longest
    if lookback <= 0:
        return 0.0
    if len({len(s) for s in series}) == 1:
        # a period counts once whether one or both reservations were published for it
        present = np.zeros(longest, dtype=bool)
        for s in series:
            present |= ~np.isnan(np.asarray(s.values, dtype=np.float64))
        count = int(np.count_nonzero(present))
    else:
        count = max(s.present for s in series)
    return min(count / lookback, 1.0)
