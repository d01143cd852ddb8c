"""The organization sweep (issue #9, "Performance"): one worker's memory, GetMetricData calls, concurrency, the
largest cluster one worker holds, and the daily cost of the deployed sweep. Prints figures only.

What runs, and what is simulated
- Inventory: moto, in-process. The fleet spans 4 accounts × 2 regions (us-east-1, eu-west-1); clusters of
  `--cluster-size` Fargate services (each its own task definition family, Container Insights on) named
  cluster-000, cluster-001, ... in every account and region, as real organizations reuse names. The home account
  (moto's 123456789012) reads its own clusters; the three members are reached through the real path:
  `AwsClients.assume_role` (moto STS) into the member role. moto grants AssumeRole whether or not the role
  exists or trusts the caller; the bench creates the role in every member account anyway (with the trust
  policy stacksets/member-role.yaml would give), but nothing here proves the trust is checked.
- Metrics: tests/fixtures/fake_cloudwatch.py, which enforces GetMetricData's limits (500 queries, 100,800
  datapoints a page, NextToken paging). Storing 20,000 services × 5 series × 4,032 points would take GBs, so
  `SynthesisedCloudWatch` synthesises a series nobody stored from its key (namespace, metric, dimensions,
  statistic, period): a seeded RNG gives a level, a daily swing and noise (task counts: a constant). Nothing is
  kept, the same key always gives the same values, and the limits apply unchanged. The fake answers every
  botocore CloudWatch client through a `before-call` hook (after request validation and serialisation),
  so the production clients, including the assumed roles', are used as they are. The fake hands back Python
  lists: botocore's parsing of a real response (CBOR, ~20,000 datapoints a service) is NOT in these figures.
- Latency: in-process moto and the fake answer at once; AWS does not. `--latency-ms` (default 40) adds a fixed
  sleep to every AWS call (a botocore `before-call` hook; the sleep releases the GIL, as a socket wait does).
  Part 3 prints results with and without it. One figure for every call is a simplification: a full
  100,800-datapoint GetMetricData page takes longer than a DescribeServices. ListTasks/DescribeTasks are not
  exercised (moto's services start no tasks); a real cluster adds ~2 calls per 100 running tasks.
- Concurrency (part 3): `analyze_scopes` runs clusters on a thread pool of `settings.concurrency` (the CLI).
  With the simulated latency, threads overlap their waits; without it the work is CPU-bound and the GIL
  serialises it. The deployed sweep is not a thread pool: every cluster is its own Lambda invocation (a
  Distributed Map child), so its scaling is bounded by the map's MaxConcurrency (SweepMaxConcurrency, and the
  worker's reserved concurrency) and by GetMetricData's 50 TPS per account and region, not by the GIL.
- Memory: tracemalloc peak (Python and numpy allocations, moto's and the fake's included: they stand in for
  botocore's parsed responses) and RSS growth (peak RSS during the call minus RSS before it; the kernel's peak
  is reset through /proc/self/clear_refs first). A tracemalloc run is separate from the timed run (tracing slows
  Python ~2×).
- Lambda scaling (parts 4, 5): a 1,024 MB function gets 1,024 / 1,769 ≈ 0.58 vCPU (AWS Lambda Developer Guide,
  "Configure Lambda function memory": "At 1,769 MB, a function has the equivalent of one vCPU",
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). The bench assumes one Lambda vCPU is
  as fast as one core of this machine (`--lambda-core-speed` to change), so Lambda time = CPU seconds here ÷
  (0.58 × speed) + AWS calls × latency.

Prices (us-east-1; verified with the search tool on 2026-11-30, each with its source):
- Lambda arm64 $0.0000133334 per GB-s, $0.20 per 1M requests (aws.amazon.com/lambda/pricing; tiers quoted at
  cloudchipr.com/blog/aws-lambda-pricing). Since 2025 the INIT phase of on-demand functions is billed too: the
  bench adds one cold import per concurrent worker.
- Step Functions Standard $0.025 per 1,000 state transitions (aws.amazon.com/step-functions/pricing; $25 per
  million at aws.amazon.com/blogs/compute/building-cost-effective-aws-step-functions-workflows). A Distributed
  Map is charged one state transition per child workflow execution it starts (Step Functions Developer Guide,
  "Transitions in Distributed Map state", docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html).
- Step Functions Express $1.00 per 1M requests and $0.00001667 per GB-s, duration rounded up to 100 ms, memory
  billed in 64 MB chunks (aws.amazon.com/step-functions/pricing).
- S3 Standard PUT $0.005 per 1,000, GET $0.0004 per 1,000 (aws.amazon.com/s3/pricing; c3x.dev/blog/s3-request-
  fees-explained).
- CloudWatch GetMetricData $0.01 per 1,000 metrics requested; up to 5 statistics of one metric count once
  (/work/shared/AWS-FACTS.md; support.site24x7.com "CloudWatch metrics cost calculation").
Free tiers are ignored (they are shared with everything else in the account).

Run: .venv/bin/python bench/bench_sweep.py [--parts 1,2,3,4,5] (--help for the sizes). Defaults follow the issue,
except part 3 (2 clusters of 100 per account×region: 1,600 services) and part 4 (500, 1,000, 2,000 services; add
4,000 with --big-clusters 500,1000,2000,4000, ~5 more minutes) to stay near 10 minutes on 2 cores: the defaults
need ~9 minutes of CPU, and wall time grows with the machine's load (the first and last lines print it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "modeshift")]

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
)
for _name in [k for k in os.environ if k.startswith("MODESHIFT_") or k in ("AWS_PROFILE", "AWS_ENDPOINT_URL")]:
    del os.environ[_name]

import boto3  # noqa: E402
from botocore.handlers import BUILTIN_HANDLERS  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.ecs.models import ecs_backends  # noqa: E402

from modeshift.adapters.cloudwatch import align_window, lower_bound_calls  # noqa: E402
from modeshift.app_sweep import Home, SweepTarget, WorkerRequest, analyze_target, list_targets, merge_sweep  # noqa: E402
from modeshift.aws import AwsClients  # noqa: E402
from modeshift.config import Settings  # noqa: E402
from modeshift.fleet import resolve_scopes  # noqa: E402
from modeshift.service import Scope, analyze_cluster, analyze_scopes  # noqa: E402
from tests.fixtures.fake_cloudwatch import FakeCloudWatch, SeriesKey, _Stored  # noqa: E402
from tests.integration.test_sweep import member_session  # noqa: E402  (credentials inside a member account)

HOME = "123456789012"  # moto's default account: where modeshift runs
MEMBERS = ("210000000001", "210000000002", "210000000003")
REGIONS = ("us-east-1", "eu-west-1")
HOME_REGION = REGIONS[0]
ROLE = "modeshift-member-read"
BUCKET = "modeshift-bench-sweeps"
LOOKBACK_DAYS = 14
PERIOD = 300
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
LAMBDA_VCPU_1024 = 1024 / 1769  # a 1,024 MB function's share of a vCPU
WORKER_MEMORY_MB = 1024
WORKER_TIMEOUT_S = 280  # template.yaml: an EXPRESS child lasts at most 5 minutes
RUNTIME_RESERVE_MB = 250  # the brief's allowance for the runtime and layer imports (the measured import is printed)
LIST_TARGETS_MEMORY_MB = 512
MERGE_MEMORY_MB = 2048
DEFAULT_MAX_CONCURRENCY = 10  # template.yaml SweepMaxConcurrency default
PRICE = SimpleNamespace(
    lambda_gb_s=0.0000133334,
    lambda_request=0.20 / 1e6,
    sfn_transition=0.025 / 1000,
    express_request=1.00 / 1e6,
    express_gb_s=0.00001667,
    s3_put=0.005 / 1000,
    s3_get=0.0004 / 1000,
    metric_requested=0.01 / 1000,
)


# --------------------------------------------------------------------------- the simulated CloudWatch


class _SynthesisedSeries(dict[SeriesKey, _Stored]):
    """The fake's store: what was put is served as put; any other key is synthesised on the window's grid."""

    def __init__(self, fake: FakeCloudWatch, start: datetime, points: int) -> None:
        super().__init__()
        self._fake = fake
        self._start_epoch = int(start.timestamp())
        self._points = points

    def get(self, key: SeriesKey, default: Any = None) -> _Stored:  # type: ignore[override]
        stored = dict.get(self, key)
        if stored is not None:
            return stored
        namespace, metric, dims, stat, period = key
        rng = np.random.default_rng(zlib.crc32(repr(key).encode()))
        points = self._points * PERIOD // period
        if metric == "RunningTaskCount":
            values = np.full(points, float(rng.integers(1, 12)))
        else:
            # The same metric's statistics share a level (seeded without the statistic), as real ones do.
            level_rng = np.random.default_rng(zlib.crc32(repr((namespace, metric, dims)).encode()))
            level, swing = level_rng.uniform(5, 70), level_rng.uniform(0, 0.5)
            t = np.arange(points) * period / 86_400
            values = level * (1 + swing * np.sin(2 * np.pi * t)) + rng.normal(0, 2, points)
            if stat == "Maximum":
                values = values * 1.3 + np.abs(rng.normal(0, 3, points))
            values = np.clip(values, 0, 100)
        return _Stored(self._start_epoch, period, values, self._fake._period_starts(self._start_epoch, period, points))


class SynthesisedCloudWatch(FakeCloudWatch):
    """FakeCloudWatch (same limits, same paging) whose missing series are synthesised from their key."""

    def __init__(self, start: datetime, points: int) -> None:
        super().__init__()
        self._series = _SynthesisedSeries(self, start, points)


@dataclass
class Wire:
    """Every botocore call of the process: counted by operation, delayed by the simulated latency, and
    CloudWatch GetMetricData answered by the fake. Installed in BUILTIN_HANDLERS, so every session has it."""

    fake: SynthesisedCloudWatch
    latency_s: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)
    queries: int = 0  # GetMetricData queries requested (first pages only: a NextToken page repeats them)
    metrics_requested: int = 0  # per call: distinct metrics among its queries (≤ 5 statistics count once)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self) -> None:
        BUILTIN_HANDLERS.insert(0, ("before-parameter-build", self._keep_params))
        BUILTIN_HANDLERS.insert(0, ("before-call", self._before_call))

    @staticmethod
    def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_api_params"] = dict(params)

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        name = model.name
        if self.latency_s:
            time.sleep(self.latency_s)
        with self.lock:
            self.calls[name] += 1
        if model.service_model.service_name != "cloudwatch" or name != "GetMetricData":
            return None
        params = context["bench_api_params"]
        queries = params["MetricDataQueries"]
        distinct = {
            (
                q["MetricStat"]["Metric"]["Namespace"],
                q["MetricStat"]["Metric"]["MetricName"],
                tuple((d["Name"], d["Value"]) for d in q["MetricStat"]["Metric"].get("Dimensions", [])),
            )
            for q in queries
        }
        with self.lock:
            self.metrics_requested += len(distinct)
            if not params.get("NextToken"):
                self.queries += len(queries)
        return SimpleNamespace(status_code=200, headers={}), self.fake.get_metric_data(**params)

    def snapshot(self) -> tuple[Counter[str], int, int]:
        with self.lock:
            return Counter(self.calls), self.queries, self.metrics_requested


# --------------------------------------------------------------------------- the simulated organization


class Organization:
    """Accounts × regions, their ECS clusters (in moto), the member role, and the report bucket."""

    def __init__(self, accounts: Sequence[str], regions: Sequence[str]) -> None:
        self.accounts = list(accounts)
        self.regions = list(regions)
        self.clusters: dict[tuple[str, str], list[tuple[str, int]]] = {}  # scope → (cluster, services)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{HOME}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-bench"}},
                }
            ],
        }
        for account in self.accounts:
            for region in self.regions:
                self.clusters[(account, region)] = []
            if account != HOME:
                member_session(account, HOME_REGION).client("iam").create_role(
                    RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust)
                )
        boto3.client("s3", region_name=HOME_REGION).create_bucket(Bucket=BUCKET)

    @property
    def scopes(self) -> list[tuple[str, str]]:
        return [(a, r) for a in self.accounts for r in self.regions]

    def add_cluster(self, account: str, region: str, name: str, services: int) -> None:
        """A Fargate cluster, Container Insights on, `services` services each with its own task definition.
        Written straight into moto's ECS backend: the bench measures reading the inventory, not writing it."""
        ecs = ecs_backends[account][region]
        ecs.create_cluster(name, cluster_settings=[{"name": "containerInsights", "value": "enabled"}])
        for s in range(services):
            family = f"{name}-svc-{s:04d}"
            cpu, memory = (("256", "512"), ("512", "1024"), ("1024", "2048"), ("2048", "4096"))[s % 4]
            ecs.register_task_definition(
                family,
                [{"name": "app", "image": "nginx", "memory": int(memory)}],
                network_mode="awsvpc",
                requires_compatibilities=["FARGATE"],
                cpu=cpu,
                memory=memory,
            )
            ecs.create_service(name, f"svc-{s:04d}", 1 + s % 4, task_definition_str=family, launch_type="FARGATE")
        self.clusters[(account, region)].append((name, services))

    def service_count(self) -> int:
        return sum(n for names in self.clusters.values() for _, n in names)

    def grow(self, total_services: int, cluster_size: int) -> float:
        """Add clusters round-robin over the scopes until the fleet holds `total_services`; seconds taken."""
        t0 = time.perf_counter()
        scopes = self.scopes
        while self.service_count() < total_services:
            # the scope with the fewest fleet clusters next, in a fixed order
            account, region = min(scopes, key=lambda s: (self._fleet_count(s), scopes.index(s)))
            index = self._fleet_count((account, region))
            size = min(cluster_size, total_services - self.service_count())
            self.add_cluster(account, region, f"cluster-{index:03d}", size)
        return time.perf_counter() - t0

    def _fleet_count(self, scope: tuple[str, str]) -> int:
        return sum(1 for name, _ in self.clusters[scope] if name.startswith("cluster-"))

    def fleet_targets(self) -> list[SweepTarget]:
        return [
            SweepTarget(account=a, region=r, cluster=name)
            for (a, r), names in self.clusters.items()
            for name, _ in names
            if name.startswith("cluster-")
        ]


# --------------------------------------------------------------------------- measuring


def _status_kib(field_name: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field_name} not in /proc/self/status")


@dataclass
class Measured:
    seconds: float
    cpu_seconds: float
    rss_growth_mib: float | None
    peak_mib: float | None
    calls: Counter[str]
    queries: int
    metrics_requested: int


def measure(wire: Wire, run: Callable[[], Any], traced: bool) -> Measured:
    """One call of `run`: wall and CPU time, RSS growth (untraced) or tracemalloc peak (traced), AWS calls."""
    calls0, queries0, metrics0 = wire.snapshot()
    rss_before = None
    if not traced:
        try:
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")  # reset the peak RSS (VmHWM) to the current RSS
            rss_before = _status_kib("VmRSS")
        except OSError:
            rss_before = None
    else:
        tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    run()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = growth = None
    if traced:
        _, peak_bytes = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak = peak_bytes / 2**20
    elif rss_before is not None:
        growth = (_status_kib("VmHWM") - rss_before) / 1024
    calls1, queries1, metrics1 = wire.snapshot()
    return Measured(seconds, cpu, growth, peak, calls1 - calls0, queries1 - queries0, metrics1 - metrics0)


def worker_settings(org: Organization, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "region": HOME_REGION,
        "lookback_days": LOOKBACK_DAYS,
        "metric_period_seconds": PERIOD,
        "member_role_name": ROLE,
        "report_bucket": BUCKET,
        "accounts": tuple(org.accounts),
        "regions": tuple(org.regions),
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def latency(wire: Wire, seconds: float) -> Iterator[None]:
    previous, wire.latency_s = wire.latency_s, seconds
    try:
        yield
    finally:
        wire.latency_s = previous


def fmt_calls(calls: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(calls.items(), key=lambda kv: (-kv[1], kv[0])))


def lambda_seconds(cpu_seconds: float, aws_calls: float, latency_s: float, core_speed: float) -> float:
    """A 1,024 MB Lambda's wall time for work measured here as `cpu_seconds` plus `aws_calls` round trips."""
    return cpu_seconds / (LAMBDA_VCPU_1024 * core_speed) + aws_calls * latency_s


def import_footprint(runs: int = 3) -> tuple[float, float]:
    """RSS (MiB) and seconds of a fresh interpreter importing functions/analyze_cluster/app.py (median of runs)."""
    code = (
        "import importlib.util,time,sys\n"
        "t=time.perf_counter()\n"
        "s=importlib.util.spec_from_file_location('worker_app', sys.argv[1])\n"
        "m=importlib.util.module_from_spec(s); s.loader.exec_module(m)\n"
        "t=time.perf_counter()-t\n"
        "rss=[int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
        "print(rss, t)\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MODESHIFT_")},
        "PYTHONPATH": str(ROOT / "layers" / "modeshift"),
        "POWERTOOLS_SERVICE_NAME": "modeshift",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "modeshift",
        "MODESHIFT_REGION": HOME_REGION,
    }
    rss, secs = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code, str(ROOT / "functions" / "analyze_cluster" / "app.py")],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        rss.append(int(out[0]) / 1024)
        secs.append(float(out[1]))
    return statistics.median(rss), statistics.median(secs)


# --------------------------------------------------------------------------- the parts


@dataclass
class SweepFigures:
    """What part 2 measured over the whole fleet, for the cost model (part 5)."""

    services: int
    workers: int
    cpu_seconds: float
    wall_seconds: float
    aws_calls: int
    metrics_requested: int
    s3_puts: int
    s3_gets: int
    list_cpu: float
    list_calls: int
    merge_cpu: float
    merge_calls: int


def part1(org: Organization, wire: Wire, args: argparse.Namespace) -> None:
    print("\n== 1. One worker's peak memory: the same cluster in a small and a large fleet")
    settings = worker_settings(org)
    clients = AwsClients(region=HOME_REGION)
    home = Home(HOME, HOME_REGION)
    org.grow(args.small_fleet, args.cluster_size)
    # The measured cluster: the small fleet's last full cluster in a member account (read through AssumeRole);
    # the warm-up runs another one first (imports, the price catalog, the first clients).
    members = [
        t
        for t in org.fleet_targets()
        if t.account != HOME and dict(org.clusters[(t.account, t.region)])[t.cluster] == args.cluster_size
    ]
    target, warm = members[-1], members[0]

    def worker(t: SweepTarget) -> Callable[[], Any]:
        request = WorkerRequest(run_id="bench-part1", bucket=BUCKET, target=t)

        def run() -> None:
            result = analyze_target(settings, clients, home, request, NOW)
            assert result["workload_count"] == args.cluster_size and not result["error_count"], result

        return run

    rows = []
    for fleet in (args.small_fleet, args.fleet):
        seeded = org.grow(fleet, args.cluster_size)
        measure(wire, worker(warm), traced=False)
        timed = measure(wire, worker(target), traced=False)
        traced = measure(wire, worker(target), traced=True)
        rows.append((fleet, timed, traced))
        print(
            f"fleet {org.service_count():,} services in {len(org.fleet_targets())} clusters "
            f"(seeded +{seeded:.0f} s); worker on {target.account}/{target.region}/{target.cluster} "
            f"({args.cluster_size} services, through AssumeRole): {timed.seconds:.2f} s wall, "
            f"{timed.cpu_seconds:.2f} s CPU; tracemalloc peak {traced.peak_mib:.1f} MiB; RSS growth "
            + (f"{timed.rss_growth_mib:.1f} MiB" if timed.rss_growth_mib is not None else "n/a")
        )
    (_, small_t, small_m), (_, large_t, large_m) = rows
    assert small_m.peak_mib and large_m.peak_mib
    print(
        f"ratio {args.fleet:,} / {args.small_fleet:,} fleet services: tracemalloc peak "
        f"{large_m.peak_mib / small_m.peak_mib:.3f}× (issue bound ≤ 1.1×)"
        + (
            f"; RSS growth {large_t.rss_growth_mib / small_t.rss_growth_mib:.2f}×"
            if small_t.rss_growth_mib and large_t.rss_growth_mib is not None
            else ""
        )
        + f"; wall time {large_t.seconds / small_t.seconds:.2f}×"
    )
    print(f"AWS calls of that worker: {fmt_calls(large_t.calls)}")


def part2(org: Organization, wire: Wire, args: argparse.Namespace) -> SweepFigures:
    print("\n== 2. GetMetricData calls over the whole sweep vs the lower bound summed over workers")
    org.grow(args.fleet, args.cluster_size)
    settings = worker_settings(org)
    clients = AwsClients(region=HOME_REGION)
    home = Home(HOME, HOME_REGION)
    run_id = "bench-sweep"
    points = align_window(NOW, LOOKBACK_DAYS, PERIOD)[2]

    listed = measure(wire, lambda: list_targets(settings, clients, home, run_id), traced=False)
    targets = org.fleet_targets()
    calls = lower = queries = metrics = aws_calls = analysed = 0
    cpu = wall = 0.0
    s3_puts = listed.calls["PutObject"]
    s3_gets = listed.calls["GetObject"]
    per_worker_calls = []
    for target in targets:
        request = WorkerRequest(run_id=run_id, bucket=BUCKET, target=target)
        results: list[dict[str, Any]] = []
        m = measure(
            wire,
            lambda r=request, out=results: out.append(analyze_target(settings, clients, home, r, NOW)),
            traced=False,
        )
        analysed += results[0]["workload_count"]
        gmd = m.calls["GetMetricData"]
        calls += gmd
        lower += lower_bound_calls(m.queries, points)
        queries += m.queries
        metrics += m.metrics_requested
        cpu += m.cpu_seconds
        wall += m.seconds
        aws_calls += sum(m.calls.values())
        s3_puts += m.calls["PutObject"]
        s3_gets += m.calls["GetObject"]
        per_worker_calls.append(gmd)
    state = {"targets": {"run_id": run_id, "bucket": BUCKET}}
    merged = measure(wire, lambda: merge_sweep(settings, clients, home, state, NOW), traced=False)
    s3_puts += merged.calls["PutObject"]
    s3_gets += merged.calls["GetObject"]
    services = org.service_count()
    assert analysed == services, f"{analysed} of {services} services analysed"
    print(
        f"{len(targets)} workers over {services:,} services ({len(org.scopes)} account×region scopes): "
        f"{queries:,} queries of {points} points; GetMetricData calls {calls:,} "
        f"(per worker {min(per_worker_calls)}-{max(per_worker_calls)}), lower bound summed over workers {lower:,}: "
        f"ratio {calls / lower:.3f} (issue bound ≤ 1.1)"
    )
    print(
        f"metrics requested (billed unit): {metrics:,} = {metrics / services:.2f} per service "
        f"({queries / services:.2f} queries a service; up to 5 statistics of one metric in a call count once)"
    )
    print(
        f"worker time here: {wall:.1f} s wall, {cpu:.1f} s CPU for {services:,} services "
        f"({1000 * cpu / services:.2f} s CPU per 1,000); AWS calls {aws_calls:,} ({1000 * aws_calls / services:.0f} "
        f"per 1,000 services); list_targets {listed.cpu_seconds:.2f} s CPU, {sum(listed.calls.values())} calls; "
        f"merge (read {len(targets)} parts, merge, write; no publish) {merged.cpu_seconds:.2f} s CPU, "
        f"{sum(merged.calls.values())} calls"
    )
    return SweepFigures(
        services=services,
        workers=len(targets),
        cpu_seconds=cpu,
        wall_seconds=wall,
        aws_calls=aws_calls,
        metrics_requested=metrics,
        s3_puts=s3_puts,
        s3_gets=s3_gets,
        list_cpu=listed.cpu_seconds,
        list_calls=sum(listed.calls.values()),
        merge_cpu=merged.cpu_seconds,
        merge_calls=sum(merged.calls.values()),
    )


def part3(org: Organization, wire: Wire, args: argparse.Namespace) -> None:
    names = tuple(f"cluster-{i:03d}" for i in range(args.scaling_clusters))
    print(
        f"\n== 3. analyze_scopes wall time with N threads vs N = 1: {', '.join(names)} in each of "
        f"{len(org.scopes)} account×region scopes"
    )
    org.grow(max(org.service_count(), len(org.scopes) * len(names) * args.cluster_size), args.cluster_size)
    base = AwsClients(region=HOME_REGION)
    settings = worker_settings(org, clusters=names)
    scopes, errors = resolve_scopes(settings, base)
    assert not errors, errors
    services = sum(n for scope in org.scopes for name, n in org.clusters[scope] if name in names)
    # Warm-up: each scope's clients are built on first use, once per run of the bench; not timed.
    analyze_scopes(worker_settings(org, clusters=names, concurrency=max(args.concurrency)), scopes, NOW)
    for label, seconds in (("no latency", 0.0), (f"{args.latency_ms:g} ms a call", args.latency_ms / 1000)):
        with latency(wire, seconds):
            walls: dict[int, float] = {}
            for n in args.concurrency:
                run_settings = worker_settings(org, clusters=names, concurrency=n)
                m = measure(wire, lambda s=run_settings: analyze_scopes(s, scopes, NOW), traced=False)
                walls[n] = m.seconds
            base_wall = walls[args.concurrency[0]]
            print(
                f"{label}: {services:,} services in {len(scopes) * len(names)} clusters: "
                + "; ".join(f"N={n} {w:.1f} s ({base_wall / w:.2f}× N={args.concurrency[0]})" for n, w in walls.items())
            )


@dataclass
class BigCluster:
    services: int
    cpu: float
    wall: float
    peak_mib: float
    rss_growth_mib: float | None
    aws_calls: int


def part4(org: Organization, wire: Wire, args: argparse.Namespace) -> tuple[float, float]:
    print("\n== 4. The largest single cluster one 1,024 MB worker holds")
    clients = AwsClients(region=HOME_REGION)
    settings = worker_settings(org)
    scope = Scope(clients=clients, region=HOME_REGION, account=HOME)
    rows: list[BigCluster] = []
    for size in args.big_clusters:
        name = f"big-{size:05d}"
        t0 = time.perf_counter()
        org.add_cluster(HOME, HOME_REGION, name, size)
        seeded = time.perf_counter() - t0
        timed = measure(wire, lambda n=name: analyze_cluster(settings, scope, n, NOW), traced=False)
        traced = measure(wire, lambda n=name: analyze_cluster(settings, scope, n, NOW), traced=True)
        assert traced.peak_mib is not None
        rows.append(
            BigCluster(
                size, timed.cpu_seconds, timed.seconds, traced.peak_mib, timed.rss_growth_mib, sum(timed.calls.values())
            )
        )
        print(
            f"{size:>6,} services (seeded {seeded:.0f} s): {timed.seconds:.1f} s wall, {timed.cpu_seconds:.1f} s CPU; "
            f"tracemalloc peak {traced.peak_mib:.1f} MiB; RSS growth "
            + (f"{timed.rss_growth_mib:.1f} MiB" if timed.rss_growth_mib is not None else "n/a")
            + f"; {sum(timed.calls.values())} AWS calls ({fmt_calls(timed.calls)})"
        )
    n = np.array([r.services for r in rows], dtype=float)
    cpu_b, cpu_a = np.polyfit(n, [r.cpu for r in rows], 1)
    calls_b, calls_a = np.polyfit(n, [r.aws_calls for r in rows], 1)
    mem_b, mem_a = np.polyfit(n, [r.peak_mib for r in rows], 1)
    if all(r.rss_growth_mib is not None for r in rows):
        rss_b, rss_a = np.polyfit(n, [r.rss_growth_mib or 0.0 for r in rows], 1)
    else:
        rss_b, rss_a = mem_b, mem_a
    print(
        f"linear fits: CPU {1000 * cpu_b:.2f} ms a service ({cpu_a:+.2f} s); tracemalloc peak "
        f"{1024 * mem_b:.1f} KiB a service ({mem_a:+.1f} MiB); RSS growth {1024 * rss_b:.1f} KiB a service "
        f"({rss_a:+.1f} MiB); AWS calls {calls_b:.2f} a service ({calls_a:+.0f})"
    )
    import_rss, import_s = import_footprint()
    reserve = max(RUNTIME_RESERVE_MB, import_rss)
    slope, intercept = max((mem_b, mem_a), (rss_b, rss_a))
    by_memory = (WORKER_MEMORY_MB - reserve - intercept) / slope
    latency_s = args.latency_ms / 1000
    per_service_s = cpu_b / (LAMBDA_VCPU_1024 * args.lambda_core_speed) + calls_b * latency_s
    fixed_s = lambda_seconds(cpu_a, calls_a, latency_s, args.lambda_core_speed)
    by_time = (WORKER_TIMEOUT_S - fixed_s) / per_service_s
    print(
        f"worker import (fresh process, functions/analyze_cluster/app.py): {import_rss:.0f} MiB RSS, {import_s:.2f} s; "
        f"reserved for runtime + imports: {reserve:.0f} MB (max of the measured import and {RUNTIME_RESERVE_MB} MB)"
    )
    print(
        f"memory: ({WORKER_MEMORY_MB} - {reserve:.0f} - {intercept:.1f}) MB / {1024 * slope:.1f} KiB a service "
        f"(the larger of the tracemalloc and RSS fits) → {by_memory:,.0f} services"
    )
    print(
        f"time: a 1,024 MB Lambda has {LAMBDA_VCPU_1024:.2f} vCPU; assuming one Lambda vCPU = "
        f"{args.lambda_core_speed:g}× one core here ({platform.processor() or _cpu_model()}) and "
        f"{args.latency_ms:g} ms a call: {1000 * per_service_s:.1f} ms a service ({fixed_s:+.1f} s) → "
        f"{by_time:,.0f} services within the {WORKER_TIMEOUT_S} s worker timeout"
    )
    print(
        f"largest single cluster one worker holds: {min(by_memory, by_time):,.0f} services "
        f"(bound by {'memory' if by_memory < by_time else 'time'})"
    )
    return import_rss, import_s


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def part5(sweep: SweepFigures, import_s: float, args: argparse.Namespace) -> None:
    print("\n== 5. Daily cost of the deployed sweep (one sweep a day: AnalysisSchedule rate(1 day))")
    latency_s = args.latency_ms / 1000
    speed = args.lambda_core_speed
    per_1000_s = 1000 * lambda_seconds(sweep.cpu_seconds, sweep.aws_calls, latency_s, speed) / sweep.services
    cluster_size = sweep.services / sweep.workers
    metrics_per_service = sweep.metrics_requested / sweep.services
    init_s = import_s / (LAMBDA_VCPU_1024 * speed)
    list_s = lambda_seconds(sweep.list_cpu, sweep.list_calls, latency_s, speed) + init_s
    merge_per_1000_s = 1000 * lambda_seconds(sweep.merge_cpu, sweep.merge_calls, latency_s, speed) / sweep.services
    puts_per_worker = (sweep.s3_puts - 4) / sweep.workers  # targets, listing errors, merged, latest
    gets_per_worker = (sweep.s3_gets - 2) / sweep.workers  # targets, listing errors
    cpu_per_1000 = 1000 * sweep.cpu_seconds / sweep.services
    calls_per_1000 = 1000 * sweep.aws_calls / sweep.services
    print(
        f"inputs: worker {per_1000_s:.1f} s per 1,000 services on a 1,024 MB Lambda (CPU {cpu_per_1000:.2f} s "
        f"here ÷ {LAMBDA_VCPU_1024 * speed:.2f} + {calls_per_1000:.0f} calls × {args.latency_ms:g} ms); "
        f"{cluster_size:.0f} services a worker; cold init {init_s:.1f} s × min(workers, MaxConcurrency "
        f"{DEFAULT_MAX_CONCURRENCY}); list_targets {list_s:.1f} s at {LIST_TARGETS_MEMORY_MB} MB; merge "
        f"{merge_per_1000_s:.2f} s per 1,000 services at {MERGE_MEMORY_MB} MB (publishing not included); "
        f"{metrics_per_service:.2f} metrics requested a service; S3 {puts_per_worker:.0f} PUT + "
        f"{gets_per_worker:.0f} GET a worker, + 4 PUT + 2 GET a sweep, + ItemReader 1 GET and ResultWriter ~3 PUT; "
        f"Step Functions: 3 parent "
        f"transitions + 1 per child; Express child: 1 request, worker duration rounded up to 100 ms, one 64 MB chunk"
    )
    for services in (1_000, 20_000):
        workers = math.ceil(services / cluster_size)
        worker_s = per_1000_s * services / 1000
        cold = min(workers, DEFAULT_MAX_CONCURRENCY) * init_s
        merge_s = merge_per_1000_s * services / 1000 + init_s
        lambda_gb_s = (worker_s + cold) * WORKER_MEMORY_MB / 1024 + list_s * LIST_TARGETS_MEMORY_MB / 1024
        lambda_gb_s += merge_s * MERGE_MEMORY_MB / 1024
        lambda_cost = lambda_gb_s * PRICE.lambda_gb_s + (workers + 2) * PRICE.lambda_request
        transitions = 3 + workers
        child_s = math.ceil(10 * (worker_s + cold) / workers) / 10
        express_cost = workers * (PRICE.express_request + child_s * (64 / 1024) * PRICE.express_gb_s)
        sfn_cost = transitions * PRICE.sfn_transition + express_cost
        metric_cost = metrics_per_service * services * PRICE.metric_requested
        puts = workers * puts_per_worker + 4 + 3
        gets = workers * gets_per_worker + 2 + 1
        s3_cost = puts * PRICE.s3_put + gets * PRICE.s3_get
        total = lambda_cost + sfn_cost + metric_cost + s3_cost
        print(
            f"{services:>6,} services ({workers} workers): Lambda {lambda_gb_s:,.0f} GB-s ${lambda_cost:.4f}; "
            f"Step Functions {transitions} transitions + {workers} Express children ${sfn_cost:.4f}; "
            f"GetMetricData {metrics_per_service * services:,.0f} metrics ${metric_cost:.4f}; "
            f"S3 {puts:.0f} PUT + {gets:.0f} GET ${s3_cost:.4f}; total ${total:.4f} a day (${30 * total:.2f} a month)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--parts", default="1,2,3,4,5", help="which parts to run (comma-separated)")
    parser.add_argument("--fleet", type=int, default=20_000, help="services in the large fleet (parts 1, 2, 5)")
    parser.add_argument("--small-fleet", type=int, default=1_000, help="services in the small fleet (part 1)")
    parser.add_argument("--cluster-size", type=int, default=100, help="services per fleet cluster")
    parser.add_argument("--accounts", type=int, default=4, help="accounts (the home account and members)")
    parser.add_argument("--scaling-clusters", type=int, default=2, help="part 3: clusters per account×region")
    parser.add_argument("--concurrency", default="1,4,16", help="part 3: thread pool sizes")
    parser.add_argument("--latency-ms", type=float, default=40.0, help="simulated latency of every AWS call")
    parser.add_argument("--big-clusters", default="500,1000,2000", help="part 4: single-cluster sizes")
    parser.add_argument(
        "--lambda-core-speed", type=float, default=1.0, help="one Lambda vCPU's speed relative to one core here"
    )
    args = parser.parse_args()
    args.concurrency = [int(x) for x in args.concurrency.split(",")]
    args.big_clusters = [int(x) for x in args.big_clusters.split(",")]
    parts = {int(p) for p in args.parts.split(",")}
    if 5 in parts:
        parts |= {2, 4}

    with open("/proc/loadavg") as load:
        print(f"machine: {os.cpu_count()} cores, {_cpu_model()}; load average {' '.join(load.read().split()[:3])}")
    start, _, points = align_window(NOW, LOOKBACK_DAYS, PERIOD)
    wire = Wire(SynthesisedCloudWatch(start, points))
    wire.install()
    t0 = time.perf_counter()
    with mock_aws():
        org = Organization([HOME, *MEMBERS][: args.accounts], REGIONS)
        if 1 in parts:
            part1(org, wire, args)
        sweep = part2(org, wire, args) if 2 in parts else None
        if 3 in parts:
            part3(org, wire, args)
        import_s = part4(org, wire, args)[1] if 4 in parts else 0.0
        if 5 in parts and sweep is not None:
            part5(sweep, import_s, args)
    with open("/proc/loadavg") as load:
        print(
            f"\nbench took {time.perf_counter() - t0:.0f} s wall, {time.process_time():.0f} s CPU; "
            f"load average now {' '.join(load.read().split()[:3])}"
        )


if __name__ == "__main__":
    main()
