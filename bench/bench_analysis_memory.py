"""Peak memory (and time) of a full 1,000-service analysis through `modeshift.service.analyze`.

ECS inventory comes from moto (in-process); metrics from a CloudWatch fake that enforces the real
GetMetricData limits (tests/fixtures/fake_cloudwatch.py). 14 days at 300 s: 4,032 points a series.
Prints figures only.
"""

from __future__ import annotations

import os
import resource
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "modeshift")]

os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"})
for name in [k for k in os.environ if k.startswith("MODESHIFT_") or k in ("AWS_PROFILE", "AWS_ENDPOINT_URL")]:
    del os.environ[name]

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from modeshift.adapters.cloudwatch import align_window  # noqa: E402
from modeshift.aws import AwsClients  # noqa: E402
from modeshift.config import Settings  # noqa: E402
from modeshift.service import analyze  # noqa: E402
from tests.fixtures.fake_cloudwatch import FakeCloudWatch  # noqa: E402

SERVICES = 1_000
CLUSTERS = 20
REGION = "us-east-1"
PERIOD = 300
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


class _ListMetricsPaginator:
    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        return [{"Metrics": []}]


class BenchCloudWatch(FakeCloudWatch):
    def get_paginator(self, name: str) -> _ListMetricsPaginator:
        assert name == "list_metrics"
        return _ListMetricsPaginator()


class BenchClients(AwsClients):
    def __init__(self, cloudwatch: BenchCloudWatch) -> None:
        super().__init__(region=REGION)
        self._cloudwatch = cloudwatch

    def client(self, service: str, region: str | None = None) -> Any:
        if service == "cloudwatch":
            return self._cloudwatch
        return super().client(service, region)


def seed(cloudwatch: BenchCloudWatch) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    start, _, points = align_window(NOW, 14, PERIOD)
    rng = np.random.default_rng(7)
    families = [f"app{i}" for i in range(50)]
    for family in families:
        ecs.register_task_definition(
            family=family,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="512",
            memory="1024",
            containerDefinitions=[{"name": "app", "image": "nginx", "memory": 1024}],
        )
    per_cluster = SERVICES // CLUSTERS
    for c in range(CLUSTERS):
        cluster = f"cluster-{c:02d}"
        ecs.create_cluster(clusterName=cluster, settings=[{"name": "containerInsights", "value": "enabled"}])
        for s in range(per_cluster):
            service = f"svc-{s:03d}"
            ecs.create_service(
                cluster=cluster,
                serviceName=service,
                taskDefinition=families[(c * per_cluster + s) % len(families)],
                desiredCount=2,
                launchType="FARGATE",
            )
            dims = (("ClusterName", cluster), ("ServiceName", service))
            level = rng.uniform(5, 80)
            for metric, stat in (
                ("CPUUtilization", "Average"),
                ("CPUUtilization", "Maximum"),
                ("MemoryUtilization", "Average"),
                ("MemoryUtilization", "Maximum"),
            ):
                cloudwatch.put_series("AWS/ECS", metric, dims, stat, start, PERIOD, level + rng.normal(0, 3, points))
            tasks = np.full(points, float(rng.integers(1, 12)))
            cloudwatch.put_series("ECS/ContainerInsights", "RunningTaskCount", dims, "Average", start, PERIOD, tasks)


def main() -> None:
    with mock_aws():
        cloudwatch = BenchCloudWatch()
        t0 = time.perf_counter()
        seed(cloudwatch)
        seeded = time.perf_counter() - t0
        settings = Settings(region=REGION, lookback_days=14)

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        report = analyze(settings, BenchClients(cloudwatch), NOW)
        elapsed = time.perf_counter() - t0
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        calls_untraced = cloudwatch.calls
        tracemalloc.start()
        analyze(settings, BenchClients(cloudwatch), NOW)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    print(f"services: {len(report.workloads)} in {CLUSTERS} clusters; 14 days at {PERIOD} s (seeding {seeded:.1f} s)")
    print(f"analysis time: {elapsed:.1f} s; GetMetricData calls: {calls_untraced}")
    print(f"peak Python allocations during one analysis (tracemalloc): {peak / 2**20:.1f} MiB")
    print(f"process max RSS: {rss_before / 1024:.0f} MiB before, {rss_after / 1024:.0f} MiB after the analysis")


if __name__ == "__main__":
    main()
