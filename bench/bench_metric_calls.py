"""Benchmark: GetMetricData calls versus the lower bound for a 1,000-service fleet, against a limit-enforcing fake."""

from __future__ import annotations

import math
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:
    import modeshift  # noqa: F401
except ImportError:  # not installed with `pip install -e .`: use the source tree
    sys.path.insert(0, str(ROOT / "layers" / "modeshift"))
sys.path.insert(0, str(ROOT))  # for tests.fixtures

from modeshift.adapters.cloudwatch import (  # noqa: E402
    CloudWatchMetricsReader,
    MetricQuery,
    align_window,
    calls_for_batch,
    choose_period,
    lower_bound_calls,
    plan_batches,
)
from tests.fixtures.fake_cloudwatch import FakeCloudWatch  # noqa: E402

SERVICES = 1_000
CLUSTERS = 20
LOOKBACK_DAYS = 14
NOW = datetime(2026, 1, 15, 9, 17, 23, tzinfo=UTC)
PATTERNS = 64  # distinct stored value arrays, shared by reference so the fake's store stays small
GAP_SHARE = 0.1  # periods with no datapoint
SEED = 20_260_115


def fleet_queries(period: int) -> list[MetricQuery]:
    """The queries modeshift issues: 5 per service, 3 per cluster."""
    queries: list[MetricQuery] = []
    for s in range(SERVICES):
        cluster = f"cluster-{s % CLUSTERS:02d}"
        dims = (("ClusterName", cluster), ("ServiceName", f"svc-{s:04d}"))
        for metric in ("CPUUtilization", "MemoryUtilization"):
            for stat in ("Average", "Maximum"):
                queries.append(
                    MetricQuery(f"{cluster}/svc-{s:04d}/{metric}/{stat}", "AWS/ECS", metric, dims, stat, period)
                )
        queries.append(
            MetricQuery(
                f"{cluster}/svc-{s:04d}/tasks", "ECS/ContainerInsights", "RunningTaskCount", dims, "Average", period
            )
        )
    for c in range(CLUSTERS):
        dims = (("ClusterName", f"cluster-{c:02d}"),)
        for namespace, metric in (
            ("AWS/ECS", "CPUReservation"),
            ("AWS/ECS", "MemoryReservation"),
            ("ECS/ContainerInsights", "ContainerInstanceCount"),
        ):
            queries.append(MetricQuery(f"cluster-{c:02d}/{metric}", namespace, metric, dims, "Average", period))
    return queries


def stocked_fake(queries: list[MetricQuery], start: datetime, points: int, gaps: bool) -> FakeCloudWatch:
    rng = np.random.default_rng(SEED)
    patterns = rng.uniform(0, 100, (PATTERNS, points)).round(2)
    if gaps:
        patterns[rng.random((PATTERNS, points)) < GAP_SHARE] = np.nan
    fake = FakeCloudWatch()
    for i, q in enumerate(queries):
        fake.put_series(
            q.namespace, q.metric_name, q.dimensions, q.stat, start, q.period_seconds, patterns[i % PATTERNS]
        )
    return fake


def run(label: str, lookback_days: float, gaps: bool, trace: bool) -> None:
    period = choose_period(lookback_days, 300)
    start, end, points = align_window(NOW, lookback_days, period)
    queries = fleet_queries(period)
    fake = stocked_fake(queries, start, points, gaps)
    reader = CloudWatchMetricsReader(fake)

    if trace:
        tracemalloc.start()
    began = time.perf_counter()
    series = reader.fetch(queries, start, end)
    seconds = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()

    requested = len(queries) * points
    returned = sum(fake.datapoints_per_page)
    planned = sum(calls_for_batch(len(b), points) for b in plan_batches(queries, points))
    bound = lower_bound_calls(len(queries), points)
    mismatched = sum(
        not np.array_equal(
            series[q.key].values,
            fake._series[(q.namespace, q.metric_name, q.dimensions, q.stat, period)].values,
            equal_nan=True,
        )
        for q in queries
    )
    print(f"== {label}: {SERVICES} services, {CLUSTERS} clusters, {lookback_days} days at {period} s")
    print(f"queries                      {len(queries)}")
    print(f"points per query             {points}")
    print(f"datapoints requested         {requested:,}")
    print(f"datapoints returned          {returned:,}")
    print(f"calls made                   {reader.calls_made}")
    print(f"calls planned                {planned}")
    print(f"lower bound                  {bound}  = max(ceil({len(queries)}/500), ceil({requested:,}/100,800))")
    print(f"ratio calls / lower bound    {reader.calls_made / bound:.3f}")
    print(f"one-page batches would use   {math.ceil(len(queries) / min(500, 100_800 // points))} calls")
    print(f"max queries in one call      {max(fake.queries_per_call)}")
    print(f"max datapoints in one page   {max(fake.datapoints_per_page):,}")
    print(f"series differing from store  {mismatched}")
    print(f"fetch wall time              {seconds:.2f} s{' (under tracemalloc)' if trace else ''}")
    if trace:
        result_mib = requested * 8 / 2**20
        print(
            f"fetch peak memory            {peak / 2**20:.1f} MiB (tracemalloc; the result alone {result_mib:.1f} MiB)"
        )


def main() -> None:
    run("14 days, 10 % gaps", LOOKBACK_DAYS, gaps=True, trace=False)
    run("14 days, 10 % gaps, memory traced", LOOKBACK_DAYS, gaps=True, trace=True)
    run("30 days, no gaps", 30, gaps=False, trace=False)


if __name__ == "__main__":
    main()
