"""Benchmark: classify and advise 10,000 synthetic workloads × 4032 five-minute periods against a single NumPy pass.

Advice searches every candidate (mode × architecture × size) of each workload, so its cost is measured with
the classification: the issue's bound is classification + advice within 3× one NumPy pass over the series.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

try:
    import modeshift  # noqa: F401
except ImportError:  # not installed with `pip install -e .`: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "modeshift"))

from modeshift.domain.candidates import Ec2Share, PricingContext
from modeshift.domain.classify import classify_workloads
from modeshift.domain.models import (
    LaunchMode,
    MetricSeries,
    PriceQuote,
    TaskDefinitionInfo,
    WorkloadFeatures,
    WorkloadUsage,
)
from modeshift.domain.options import PolicyOptions, Thresholds
from modeshift.domain.policy import WorkloadSubject, advise_workload
from modeshift.domain.pricing import load_embedded_catalog

WORKLOADS = 10_000
PERIOD_SECONDS = 300
POINTS = 14 * 86_400 // PERIOD_SECONDS  # 4032: 14 days of 5-minute periods
PER_DAY = 86_400 // PERIOD_SECONDS
PER_HOUR = 3_600 // PERIOD_SECONDS
SEED = 20_260_101
REPEATS = 3


def build_fleet(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Task count, CPU avg/max and memory avg/max arrays (workloads × points) of mixed shapes, NaN = gap."""
    shape = (WORKLOADS, POINTS)
    kind = rng.choice(6, size=WORKLOADS, p=[0.35, 0.2, 0.1, 0.1, 0.1, 0.15])
    level = rng.uniform(1, 30, size=(WORKLOADS, 1))
    tasks = np.maximum(np.round(level + rng.normal(0, 0.5, shape)), 1.0)
    period_index = np.arange(POINTS)

    # bursty: 2 h bursts to 6× the level at random times, ~1 in 6 hours
    bursty = kind == 1
    burst_starts = (rng.random((int(bursty.sum()), POINTS)) < 1 / (6 * PER_HOUR)).cumsum(axis=1)
    # a period is in a burst when a burst started within the 2 hours up to it
    in_burst = burst_starts.copy()
    in_burst[:, 2 * PER_HOUR :] -= burst_starts[:, : -2 * PER_HOUR]
    tasks[bursty] = np.where(in_burst > 0, tasks[bursty] * 6, tasks[bursty])

    # nightly job (1 h at 02:00) and hourly job (10 min each hour): nothing published between runs
    nightly = (period_index % PER_DAY >= 2 * PER_HOUR) & (period_index % PER_DAY < 3 * PER_HOUR)
    hourly = period_index % PER_HOUR < 2
    tasks[kind == 2] = np.where(nightly, tasks[kind == 2], np.nan)
    tasks[kind == 3] = np.where(hourly, tasks[kind == 3], np.nan)

    # steady with 30 % random gaps
    gappy = kind == 5
    tasks[gappy] = np.where(rng.random((int(gappy.sum()), POINTS)) < 0.3, np.nan, tasks[gappy])

    cpu_avg = np.clip(rng.uniform(10, 70, size=(WORKLOADS, 1)) + rng.normal(0, 3, shape), 0, 100)
    cpu_avg[kind == 4] = rng.uniform(0.1, 0.5, size=(int((kind == 4).sum()), POINTS))  # idle
    cpu_avg[np.isnan(tasks)] = np.nan
    cpu_max = np.clip(cpu_avg * rng.uniform(1.1, 1.6, shape), 0, 100)
    memory_avg = np.clip(rng.uniform(20, 80, size=(WORKLOADS, 1)) + rng.normal(0, 2, shape), 0, 100)
    memory_avg[np.isnan(tasks)] = np.nan
    memory_max = np.clip(memory_avg + rng.uniform(0, 10, shape), 0, 100)
    return {
        "task_count": tasks,
        "cpu_avg_pct": cpu_avg,
        "cpu_max_pct": cpu_max,
        "memory_avg_pct": memory_avg,
        "memory_max_pct": memory_max,
    }


def as_usages(fleet: dict[str, np.ndarray]) -> list[WorkloadUsage]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        WorkloadUsage(
            **{name: MetricSeries(start, PERIOD_SECONDS, values[row]) for name, values in fleet.items()},
            # gaps mean "nothing ran", as in counts derived from AWS/ECS SampleCount
            task_count_source="cpu_samplecount",
            expected_periods=POINTS,
        )
        for row in range(WORKLOADS)
    ]


def single_numpy_pass(fleet: dict[str, np.ndarray]) -> None:
    """The floor to compare with: mean, max and p95 of CPU and task count, one NumPy call each."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows are expected
        for name in ("cpu_avg_pct", "task_count"):
            values = fleet[name]
            np.nanmean(values, axis=1)
            np.nanmax(values, axis=1)
            np.nanpercentile(values, 95, axis=1)


# Task sizes, instance types and modes the synthetic fleet is spread over (EC2 workloads get a cluster share).
_SIZES = ((256, 512), (512, 1024), (1024, 2048), (2048, 4096), (4096, 8192))
_TYPES = ("m5.xlarge", "c5.2xlarge", "m6i.large", "r5.xlarge")


def build_subjects(rng: np.random.Generator) -> list[tuple[WorkloadSubject, Ec2Share | None]]:
    subjects: list[tuple[WorkloadSubject, Ec2Share | None]] = []
    for index in range(WORKLOADS):
        cpu, memory = _SIZES[int(rng.integers(len(_SIZES)))]
        on_ec2 = bool(rng.random() < 0.5)
        definition = TaskDefinitionInfo(
            arn=f"arn:aws:ecs:us-east-1:123456789012:task-definition/w{index}:1",
            family=f"w{index}",
            revision=1,
            task_cpu_units=cpu,
            task_memory_mib=memory,
            network_mode="awsvpc",
            requires_compatibilities=("EC2", "FARGATE"),
        )
        subject = WorkloadSubject(
            cluster=f"c{index % 50}",
            workload=f"service:w{index}",
            service=f"w{index}",
            task_definition=definition,
            current_mode=LaunchMode.EC2 if on_ec2 else LaunchMode.FARGATE,
            desired_count=2,
            task_count_source="cpu_samplecount",
        )
        share = None
        if on_ec2:
            monthly = float(rng.uniform(50, 3000))
            share = Ec2Share(
                quote=PriceQuote(monthly_cost_usd=monthly, arithmetic="share"),
                instance_type=_TYPES[int(rng.integers(len(_TYPES)))],
                binding_resource="cpu",
            )
        subjects.append((subject, share))
    return subjects


def advise_all(subjects: list[tuple[WorkloadSubject, Ec2Share | None]], features: list[WorkloadFeatures]) -> None:
    prices = PricingContext(load_embedded_catalog(), "us-east-1")
    options = PolicyOptions()
    for (subject, share), feature in zip(subjects, features, strict=True):
        advise_workload(subject, feature, prices, options, share)


def best_of_interleaved(repeats: int, *actions: Callable[[], object]) -> list[float]:
    """Best wall time of each action over `repeats` rounds, alternating them so load spikes hit both."""
    best = [float("inf")] * len(actions)
    for _ in range(repeats):
        for index, action in enumerate(actions):
            began = time.perf_counter()
            action()
            best[index] = min(best[index], time.perf_counter() - began)
    return best


def main() -> None:
    fleet = build_fleet(np.random.default_rng(SEED))
    usages = as_usages(fleet)
    thresholds = Thresholds()
    features = classify_workloads(usages, thresholds)
    counts: dict[str, int] = {}
    for feature in features:
        counts[feature.pattern.value] = counts.get(feature.pattern.value, 0) + 1

    subjects = build_subjects(np.random.default_rng(SEED + 1))

    def classify_and_advise() -> None:
        advise_all(subjects, classify_workloads(usages, thresholds))

    classify_seconds, both_seconds, baseline_seconds = best_of_interleaved(
        REPEATS,
        lambda: classify_workloads(usages, thresholds),
        classify_and_advise,
        lambda: single_numpy_pass(fleet),
    )
    print(f"workloads × points: {WORKLOADS:,} × {POINTS:,} (period {PERIOD_SECONDS} s, seed {SEED})")
    print(f"patterns: {', '.join(f'{name} {count}' for name, count in sorted(counts.items()))}")
    for label, seconds in (
        ("classify_workloads", classify_seconds),
        ("classify + advise", both_seconds),
        ("single NumPy pass", baseline_seconds),
    ):
        rate = WORKLOADS / seconds
        print(f"{label:<19} best of {REPEATS}: {seconds:.3f} s  ({rate:,.0f} workloads/s)")
    print(f"ratio classify / NumPy pass: {classify_seconds / baseline_seconds:.2f}×")
    print(f"ratio classify + advise / NumPy pass: {both_seconds / baseline_seconds:.2f}× (bound: 3×)")


if __name__ == "__main__":
    main()
