"""Benchmark: moto's GetMetricData against the demo's fast store, 10 metrics × 14 days × 5 minutes.

Part 1 calls both backends in-process on identical data (the store itself). Part 2 times the whole
round trip through a LocalAws server (boto3 → HTTP → moto → fast store → HTTP → boto3).
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

try:
    import modeshift  # noqa: F401
except ImportError:  # not installed with `pip install -e .`: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "modeshift"))

from moto.cloudwatch.models import CloudWatchBackend

from modeshift.demo import seed
from modeshift.demo.fleet import SeedClients
from modeshift.demo.local_aws import LocalAws, fast_get_metric_data

METRICS = 10
DAYS = 14
PERIOD_SECONDS = 300
POINTS = DAYS * 86_400 // PERIOD_SECONDS  # 4032
END = datetime(2026, 11, 29)
START = END - timedelta(days=DAYS)
STATS = ("Average", "Maximum", "SampleCount")


def _dims(i: int) -> list[dict[str, str]]:
    return seed.dimensions(ClusterName="bench", ServiceName=f"svc{i}")


def _queries() -> list[dict]:
    return [
        {
            "Id": f"q{i}_{stat.lower()}",
            "MetricStat": {
                "Metric": {"Namespace": seed.AWS_ECS, "MetricName": "CPUUtilization", "Dimensions": _dims(i)},
                "Period": PERIOD_SECONDS,
                "Stat": stat,
            },
        }
        for i in range(METRICS)
        for stat in STATS
    ]


def _backend() -> CloudWatchBackend:
    backend = CloudWatchBackend("us-east-1", "123456789012")
    for i in range(METRICS):
        values = seed.steady(seed.Timeline(START, PERIOD_SECONDS, POINTS), 40.0, 0.1, seed=i)
        backend.put_metric_data(
            seed.AWS_ECS,
            [
                {
                    "MetricName": "CPUUtilization",
                    "Dimensions": _dims(i),
                    "Timestamp": START + timedelta(seconds=k * PERIOD_SECONDS),
                    "StatisticValues": {"Sum": v * 10, "Minimum": v, "Maximum": v, "SampleCount": 10.0},
                }
                for k, v in enumerate(values)
            ],
        )
    return backend


def main() -> None:
    backend = _backend()
    queries = _queries()
    print(f"{METRICS} metrics × {POINTS} points ({METRICS * POINTS:,} datapoints), {len(queries)} queries")

    started = time.perf_counter()
    fast = fast_get_metric_data(backend, queries, START, END)
    fast_cold = time.perf_counter() - started  # includes building the index
    started = time.perf_counter()
    fast_get_metric_data(backend, queries, START, END)
    fast_warm = time.perf_counter() - started

    one = queries[:1]  # moto's own on a single query: the whole batch would take minutes
    started = time.perf_counter()
    slow = CloudWatchBackend.get_metric_data(backend, one, START, END)
    moto_one = time.perf_counter() - started
    assert slow[0]["values"] == fast[0]["values"] and slow[0]["timestamps"] == fast[0]["timestamps"]

    estimate = moto_one * len(queries)
    print(f"moto original, 1 query:          {moto_one:8.3f} s  (× {len(queries)} ≈ {estimate:.0f} s)")
    print(f"fast store, {len(queries)} queries, cold:   {fast_cold:8.3f} s  (index build included)")
    print(f"fast store, {len(queries)} queries, warm:   {fast_warm:8.3f} s")
    print(f"speed-up per query (moto / fast warm): {moto_one / (fast_warm / len(queries)):,.0f}×")
    print(f"speed-up per query (moto / fast cold): {moto_one / (fast_cold / len(queries)):,.0f}×")

    with LocalAws() as aws:
        clients = SeedClients.from_session(aws.session(), aws.region, aws.endpoint_url)
        started = time.perf_counter()
        written = 0
        for i in range(METRICS):
            values = seed.steady(seed.Timeline(START, PERIOD_SECONDS, POINTS), 40.0, 0.1, seed=i)
            written += seed.put_series(
                clients.cloudwatch, seed.AWS_ECS, "CPUUtilization", _dims(i), START, PERIOD_SECONDS, values
            )
        put_seconds = time.perf_counter() - started
        started = time.perf_counter()
        result = clients.cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=START, EndTime=END)
        http_seconds = time.perf_counter() - started
        returned = sum(len(r["Values"]) for r in result["MetricDataResults"])
    print(f"over HTTP: put {written:,} datapoints in {put_seconds:.2f} s ({written / put_seconds:,.0f}/s)")
    print(f"over HTTP: GetMetricData {len(queries)} queries, {returned:,} values in {http_seconds:.2f} s")


if __name__ == "__main__":
    main()
