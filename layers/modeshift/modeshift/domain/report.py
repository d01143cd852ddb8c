"""The analysis document (the public JSON contract) and its plain-text table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from modeshift.domain.feasibility import STAYS_ON
from modeshift.domain.models import (
    ACTION_VERDICTS,
    ClusterError,
    ClusterVerdict,
    ClusterVerdictKind,
    Goal,
    WorkloadVerdict,
    WorkloadVerdictKind,
    round_usd,
)

# Major on any change to a field's name, type or meaning; minor on additions (1.1: feasibility,
# current_mix, EXTERNAL mode, cluster headroom/daemon evidence).
SCHEMA_VERSION = "1.1"

# verdicts that act, with a saving: moves, right-sizing and scaling in
_MOVES = ACTION_VERDICTS


class PricingInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    as_of: date
    notes: tuple[str, ...] = ()


class Totals(BaseModel):
    model_config = ConfigDict(frozen=True)

    workload_count: int
    cluster_count: int
    current_monthly_cost_usd: float
    recommended_monthly_cost_usd: float
    monthly_savings_usd: float
    workload_savings_usd: float
    cluster_tuning_savings_usd: float
    wasted_monthly_cost_usd: float
    verdict_counts: dict[str, int]
    cluster_verdict_counts: dict[str, int]
    failed_cluster_count: int


class AnalysisReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: str = SCHEMA_VERSION
    generated_at: datetime
    region: str
    lookback_days: int
    goal: Goal
    pricing: PricingInfo
    workloads: tuple[WorkloadVerdict, ...]
    clusters: tuple[ClusterVerdict, ...]
    totals: Totals
    errors: tuple[ClusterError, ...] = ()
    warnings: tuple[str, ...] = ()


def build_report(
    *,
    generated_at: datetime,
    region: str,
    lookback_days: int,
    goal: Goal,
    pricing: PricingInfo,
    workloads: Sequence[WorkloadVerdict],
    clusters: Sequence[ClusterVerdict],
    errors: Sequence[ClusterError] = (),
    warnings: Sequence[str] = (),
) -> AnalysisReport:
    """Assemble the document; totals count a saving once (cluster tuning only where no workload moves)."""
    workload_savings = sum(w.monthly_savings_usd for w in workloads if w.verdict in _MOVES)
    tuning = sum(c.monthly_savings_usd for c in clusters if c.verdict is ClusterVerdictKind.TUNE_CAPACITY)
    current = sum(w.current_monthly_cost_usd for w in workloads)
    totals = Totals(
        workload_count=len(workloads),
        cluster_count=len(clusters),
        current_monthly_cost_usd=round_usd(current),
        recommended_monthly_cost_usd=round_usd(current - workload_savings),
        monthly_savings_usd=round_usd(workload_savings + tuning),
        workload_savings_usd=round_usd(workload_savings),
        cluster_tuning_savings_usd=round_usd(tuning),
        wasted_monthly_cost_usd=round_usd(sum(c.wasted_monthly_cost_usd for c in clusters)),
        verdict_counts=dict(sorted(Counter(w.verdict.value for w in workloads).items())),
        cluster_verdict_counts=dict(sorted(Counter(c.verdict.value for c in clusters).items())),
        failed_cluster_count=len(errors),
    )
    return AnalysisReport(
        generated_at=generated_at,
        region=region,
        lookback_days=lookback_days,
        goal=goal,
        pricing=pricing,
        workloads=tuple(sorted(workloads, key=lambda w: (-w.monthly_savings_usd, w.cluster, w.workload))),
        clusters=tuple(sorted(clusters, key=lambda c: (-c.wasted_monthly_cost_usd, c.cluster))),
        totals=totals,
        errors=tuple(errors),
        warnings=tuple(warnings),
    )


def to_json(report: AnalysisReport) -> str:
    return report.model_dump_json(indent=2)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [fmt(headers), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)]


def _held_reason(verdict: WorkloadVerdict) -> str | None:
    """The "stays on …" reason feasibility put first, when every other mode is blocked."""
    first = verdict.reasons[0] if verdict.reasons else ""
    return first if first.startswith(STAYS_ON) else None


def render_table(report: AnalysisReport) -> str:
    """A readable summary: one row per workload and per cluster, then each move's first reasons."""
    lines = [
        f"modeshift analysis — {report.region}, {report.lookback_days} days, goal {report.goal.value}, "
        f"prices {report.pricing.source} as of {report.pricing.as_of.isoformat()}",
        "",
        "Workloads",
    ]
    rows = [
        [
            w.cluster,
            w.workload,
            w.pattern.value,
            w.current_mode.value,
            w.recommended_mode.value,
            w.verdict.value,
            f"{w.current_monthly_cost_usd:,.2f}",
            f"{w.monthly_savings_usd:,.2f}",
            f"{w.confidence:.2f}",
        ]
        for w in report.workloads
    ]
    lines += _table(
        ["cluster", "workload", "pattern", "now", "advice", "verdict", "$/month", "saves $/mo", "conf"],
        rows,
        right={6, 7, 8},
    )
    lines += ["", "Clusters"]
    crow = [
        [
            c.cluster,
            c.verdict.value,
            str(c.instance_count),
            "-" if c.cpu_reservation_pct is None else f"{c.cpu_reservation_pct:.1f}",
            "-" if c.memory_reservation_pct is None else f"{c.memory_reservation_pct:.1f}",
            f"{c.monthly_cost_usd:,.2f}",
            f"{c.wasted_monthly_cost_usd:,.2f}",
            f"{c.monthly_savings_usd:,.2f}",
        ]
        for c in report.clusters
    ]
    lines += _table(
        ["cluster", "verdict", "hosts", "cpu res %", "mem res %", "$/month", "wasted $/mo", "saves $/mo"],
        crow,
        right={2, 3, 4, 5, 6, 7},
    )
    t = report.totals
    lines += [
        "",
        f"Total: {t.workload_count} workloads costing ${t.current_monthly_cost_usd:,.2f}/month; "
        f"advice saves ${t.monthly_savings_usd:,.2f}/month "
        f"(moves ${t.workload_savings_usd:,.2f}, capacity tuning ${t.cluster_tuning_savings_usd:,.2f}); "
        f"EC2 waste ${t.wasted_monthly_cost_usd:,.2f}/month",
    ]
    actions = [w for w in report.workloads if w.verdict in _MOVES]
    actions_c = [c for c in report.clusters if c.verdict is not ClusterVerdictKind.KEEP and c.monthly_savings_usd > 0]
    if actions or actions_c:
        lines += ["", "Why"]
        for w in actions:
            lines.append(f"- {w.cluster}/{w.workload}: {w.verdict.value}, saves ${w.monthly_savings_usd:,.2f}/month")
            lines += [f"    {reason}" for reason in w.reasons[-2:]]
        for c in actions_c:
            lines.append(f"- cluster {c.cluster}: {c.verdict.value}, saves ${c.monthly_savings_usd:,.2f}/month")
            lines += [f"    {reason}" for reason in c.reasons[-1:]]
    held = [w for w in report.workloads if w.verdict is WorkloadVerdictKind.KEEP and _held_reason(w)]
    if held:
        lines += ["", "Kept where they are (no other mode can run them)"]
        lines += [f"- {w.cluster}/{w.workload}: {_held_reason(w)}" for w in held]
    for err in report.errors:
        missing = f" (missing permission: {err.missing_permission})" if err.missing_permission else ""
        lines.append(f"! cluster {err.cluster} not analysed: {err.error}{missing}")
    for warning in report.warnings:
        lines.append(f"! {warning}")
    lines.append("")
    lines.append("Run with --output json for every verdict's evidence and arithmetic.")
    return "\n".join(lines)
