"""Benchmark: the weekly report's change tracking over nine weekly analyses of a large fleet.

Each week 5 % of the workloads switch mode; `track_changes` diffs consecutive analyses and measures every
change (the weekly Lambda runs it twice: with and without this week's analysis, to announce a regression once).
Prints seconds per run and the changes found, no pass/fail.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

try:
    import modeshift  # noqa: F401
except ImportError:  # not installed with `pip install -e .`: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "modeshift"))

from modeshift.domain.changes import track_changes, track_record
from modeshift.domain.models import Goal, LaunchMode, Pattern, WorkloadVerdict, WorkloadVerdictKind
from modeshift.domain.report import AnalysisReport, PricingInfo, build_report

WORKLOADS = 5_000
WEEKS = 9
SWITCH_SHARE = 0.05
START = datetime(2026, 9, 7, 7, 0, tzinfo=UTC)


def _verdict(i: int, mode: LaunchMode) -> WorkloadVerdict:
    cost = 50.0 + (i % 97) * (1.0 if mode is LaunchMode.EC2 else 0.6)
    return WorkloadVerdict(
        cluster=f"cluster-{i % 50}",
        workload=f"service:svc-{i}",
        service=f"svc-{i}",
        task_family=f"svc-{i}",
        verdict=WorkloadVerdictKind.KEEP,
        current_mode=mode,
        recommended_mode=mode,
        pattern=Pattern.STEADY,
        current_monthly_cost_usd=cost,
        recommended_monthly_cost_usd=cost,
        monthly_savings_usd=0.0,
        confidence=0.8,
        reasons=("steady",),
        evidence={
            "features": {"pattern": "steady", "coverage": 1.0, "data_span_hours": 336.0, "avg_tasks": 2 + i % 5},
            "task_size": {"cpu_units": 512, "memory_mib": 1024, "sized_from": "task"},
            "desired_count": 2 + i % 5,
        },
    )


def _weeks() -> list[AnalysisReport]:
    switched = int(WORKLOADS * SWITCH_SHARE)
    docs = []
    for week in range(WEEKS):
        moved = set(range(0, min(WORKLOADS, week * switched)))
        workloads = [_verdict(i, LaunchMode.FARGATE if i in moved else LaunchMode.EC2) for i in range(WORKLOADS)]
        docs.append(
            build_report(
                generated_at=START + timedelta(weeks=week),
                region="us-east-1",
                lookback_days=14,
                goal=Goal.BALANCED,
                pricing=PricingInfo(source="embedded", as_of=date(2026, 1, 15)),
                workloads=workloads,
                clusters=(),
            )
        )
    return docs


def main() -> None:
    docs = _weeks()
    runs = []
    outcomes = ()
    for _ in range(3):
        start = time.perf_counter()
        outcomes = track_changes(docs)
        runs.append(time.perf_counter() - start)
    record = track_record(outcomes)
    print(f"track_changes: {WEEKS} weekly analyses x {WORKLOADS:,} workloads, {len(outcomes):,} changes")
    print(
        f"  best of 3: {min(runs):.2f} s per run ({record.measured_count:,} measured, {record.pending_count} pending)"
    )


if __name__ == "__main__":
    main()
