"""The analysis document (the public JSON contract) and its renderings: a terminal table, CSV and Markdown."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
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
from modeshift.domain.options import Thresholds

# Major on any change to a field's name, type or meaning; minor on additions. 1.1 added feasibility,
# current_mix, the EXTERNAL and MANAGED_INSTANCES modes, the new verdict kinds, recommended shape and
# alternatives, and cluster headroom/daemon evidence. 2.0: totals.monthly_savings_usd (and the savings and
# recommended cost beside it) count confirmed verdicts only; unconfirmed_monthly_savings_usd holds the rest.
# 2.1: `account` and `region` on every workload, cluster and error; `accounts` and `regions` the document covers
# (`region` is "multiple" when it covers more than one).
SCHEMA_VERSION = "2.1"
MULTIPLE_REGIONS = "multiple"

# Verdicts below this confidence are listed but their savings are summed apart (MODESHIFT_CONFIDENCE_FLOOR).
DEFAULT_CONFIDENCE_FLOOR = 0.5

# verdicts that act, with a saving: moves, right-sizing and scaling in
_MOVES = ACTION_VERDICTS


class PricingInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    as_of: date
    notes: tuple[str, ...] = ()


class Totals(BaseModel):
    """The document's sums. Savings count only verdicts at or above `confidence_floor` ("confirmed");
    those below it are listed in `workloads`/`clusters` and summed in `unconfirmed_monthly_savings_usd`."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    workload_count: int
    cluster_count: int
    current_monthly_cost_usd: float
    recommended_monthly_cost_usd: float
    """current_monthly_cost_usd minus workload_savings_usd: the bill once the confirmed workload actions are done."""
    monthly_savings_usd: float
    """Confirmed savings only: workload_savings_usd + cluster_tuning_savings_usd, both counting verdicts whose
    confidence is at least confidence_floor. Savings below the floor are in unconfirmed_monthly_savings_usd."""
    workload_savings_usd: float
    """Confirmed workload actions (moves, right-sizing, scale-in) at or above the confidence floor."""
    cluster_tuning_savings_usd: float
    """Confirmed tune_capacity cluster verdicts at or above the confidence floor."""
    wasted_monthly_cost_usd: float
    verdict_counts: dict[str, int]
    cluster_verdict_counts: dict[str, int]
    failed_cluster_count: int
    unconfirmed_monthly_savings_usd: float = 0.0
    """Savings of action verdicts (workload and tune_capacity) whose confidence is below confidence_floor:
    listed, never added to monthly_savings_usd. 0 in documents written before the floor existed."""
    confidence_floor: float = 0.0
    """The confidence a verdict needs for its saving to count in monthly_savings_usd (0: every verdict counted,
    as in documents written before the floor existed)."""


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
    accounts: tuple[str, ...] = ()
    """Every account the document covers (sorted); () when no verdict names its account."""
    regions: tuple[str, ...] = ()
    """Every region the document covers (sorted); `region` is the one of them, or "multiple"."""


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
    confidence_floor: float = DEFAULT_CONFIDENCE_FLOOR,
    accounts: Sequence[str] = (),
    regions: Sequence[str] = (),
) -> AnalysisReport:
    """Assemble the document; totals count a saving once (cluster tuning only where no workload moves),
    and only from verdicts at or above `confidence_floor` (the rest is summed apart as unconfirmed)."""
    actions = [w for w in workloads if w.verdict in _MOVES]
    tunings = [c for c in clusters if c.verdict is ClusterVerdictKind.TUNE_CAPACITY]
    workload_savings = sum(w.monthly_savings_usd for w in actions if w.confidence >= confidence_floor)
    tuning = sum(c.monthly_savings_usd for c in tunings if c.confidence >= confidence_floor)
    unconfirmed = sum(w.monthly_savings_usd for w in actions if w.confidence < confidence_floor) + sum(
        c.monthly_savings_usd for c in tunings if c.confidence < confidence_floor
    )
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
        unconfirmed_monthly_savings_usd=round_usd(unconfirmed),
        confidence_floor=confidence_floor,
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
        accounts=tuple(sorted(set(accounts))),
        regions=tuple(sorted(set(regions))),
    )


def merge_reports(
    parts: Sequence[AnalysisReport],
    *,
    generated_at: datetime,
    region: str,
    lookback_days: int,
    goal: Goal,
    pricing: PricingInfo,
    errors: Sequence[ClusterError] = (),
    warnings: Sequence[str] = (),
    confidence_floor: float = DEFAULT_CONFIDENCE_FLOOR,
) -> AnalysisReport:
    """One fleet document from per-cluster documents: the verdicts side by side, the totals summed again from
    them (never from the parts' totals), and every part's errors and warnings kept. `region` is the region every
    part shares, or "multiple"; pricing notes are merged, the oldest `as_of` stands for the whole document."""
    regions = {r for p in parts for r in (p.regions or (p.region,)) if r != MULTIPLE_REGIONS} | {
        e.region for e in errors if e.region
    }
    notes = dict.fromkeys(n for p in parts for n in p.pricing.notes)
    notes.update(dict.fromkeys(pricing.notes))
    sources = dict.fromkeys([pricing.source, *(p.pricing.source for p in parts)])
    oldest = min([pricing.as_of, *(p.pricing.as_of for p in parts)])
    return build_report(
        generated_at=generated_at,
        region=next(iter(regions)) if len(regions) == 1 else (region if not regions else MULTIPLE_REGIONS),
        lookback_days=lookback_days,
        goal=goal,
        pricing=PricingInfo(source=" + ".join(sources), as_of=oldest, notes=tuple(notes)),
        workloads=[w for p in parts for w in p.workloads],
        clusters=[c for p in parts for c in p.clusters],
        errors=[*errors, *(e for p in parts for e in p.errors)],
        warnings=list(dict.fromkeys([*warnings, *(w for p in parts for w in p.warnings)])),
        confidence_floor=confidence_floor,
        accounts=[a for p in parts for a in p.accounts] + [e.account for e in errors if e.account],
        regions=sorted(regions),
    )


def to_json(report: AnalysisReport) -> str:
    return report.model_dump_json(indent=2)


# --------------------------------------------------------------------------- words shared by every rendering


def plural(count: int, noun: str) -> str:
    """`1 workload`, `2 workloads`, `1 day`: the count and its noun, agreed."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _unconfirmed(verdict: WorkloadVerdict | ClusterVerdict, report: AnalysisReport) -> bool:
    """An action whose saving the totals hold apart because its confidence is under the floor."""
    acts = (
        verdict.verdict in _MOVES
        if isinstance(verdict, WorkloadVerdict)
        else verdict.verdict is ClusterVerdictKind.TUNE_CAPACITY
    )
    return acts and verdict.monthly_savings_usd > 0 and verdict.confidence < report.totals.confidence_floor


def _title(report: AnalysisReport) -> str:
    return (
        f"modeshift analysis — {report.region}, {plural(report.lookback_days, 'day')}, goal {report.goal.value}, "
        f"prices {report.pricing.source} as of {report.pricing.as_of.isoformat()}"
    )


def _headline(report: AnalysisReport) -> list[str]:
    """The totals in words: what the confirmed advice saves, and the unconfirmed rest apart from it."""
    t = report.totals
    saves = (
        f"Advice saves ${t.monthly_savings_usd:,.2f}/month "
        f"(moves ${t.workload_savings_usd:,.2f}, capacity tuning ${t.cluster_tuning_savings_usd:,.2f})"
    )
    if t.unconfirmed_monthly_savings_usd > 0:
        saves += f"; unconfirmed: ${t.unconfirmed_monthly_savings_usd:,.2f}/month"
    lines = [
        f"Total: {plural(t.workload_count, 'workload')} costing ${t.current_monthly_cost_usd:,.2f}/month; "
        f"EC2 waste ${t.wasted_monthly_cost_usd:,.2f}/month",
        saves,
    ]
    if t.unconfirmed_monthly_savings_usd > 0:
        lines.append(f"* unconfirmed: confidence below {t.confidence_floor:.2f}; listed, not counted in the saving")
    return lines


# --------------------------------------------------------------------------- what insufficient data lacks

_SPAN = re.compile(r"datapoints span ([\d.]+) h < ([\d.]+) h required")
_PERIODS = re.compile(r"(\d+) periods with a datapoint < (\d+) required")
_NO_DATAPOINTS = "no datapoints in the lookback"


def _duration(hours: float) -> str:
    """Whole hours under two days, whole days (rounded up) from there."""
    if hours < 48:
        return f"{max(1, math.ceil(hours - 1e-9))} h"
    return plural(math.ceil(hours / 24 - 1e-9), "day")


def missing_data_note(verdict: WorkloadVerdict, lookback_days: int) -> str:
    """What an insufficient_data workload lacks and when there will be enough, from classification's reasons
    (`datapoints span 24.0 h < 72.0 h required`, `10 periods with a datapoint < 36 required`)."""
    text = " ".join(verdict.reasons)
    lookback_hours = lookback_days * 24
    span = _SPAN.search(text)
    periods = _PERIODS.search(text)
    if _NO_DATAPOINTS in text:
        need = Thresholds().min_span_hours
        return (
            f"no metrics in the last {plural(lookback_days, 'day')}: needs {need:g} h of data, has none; "
            f"enough {_duration(need)} after its metrics start"
        )
    if span is None and periods is None:
        # not a data shortage but something else it cannot judge without (a size, a price): say that
        return verdict.reasons[-1] if verdict.reasons else "not enough data to judge"
    parts: list[str] = []
    wait_hours = 0.0
    if span is not None:
        has, need = float(span.group(1)), float(span.group(2))
        parts.append(f"needs {need:g} h of data, has {has:g} h")
        if need > lookback_hours:
            return (
                f"{parts[0]}, and a {lookback_days}-day lookback holds only {lookback_hours} h: "
                f"look back {plural(math.ceil(need / 24), 'day')} or more"
            )
        wait_hours = need - has
    if periods is not None:
        has_n, need_n = int(periods.group(1)), int(periods.group(2))
        parts.append(f"needs {need_n} periods with a datapoint, has {has_n}")
        features = verdict.evidence.get("features")
        span_hours = features.get("data_span_hours") if isinstance(features, dict) else None
        if not span_hours or has_n <= 0:
            return "; ".join(parts) + ": its metrics are too sparse to say when there will be enough"
        wait_hours = max(wait_hours, (need_n - has_n) * span_hours / has_n)
    return "; ".join(parts) + f": enough in {_duration(wait_hours)} if its metrics keep arriving"


def missing_cluster_data_note(verdict: ClusterVerdict, lookback_days: int) -> str:
    """What an insufficient_data cluster lacks: its reservation metrics (a snapshot of the instances is no lookback)."""
    days = plural(lookback_days, "day")
    if "snapshot_wasted_monthly_cost_usd" in verdict.evidence:
        return (
            f"needs AWS/ECS CPUReservation and MemoryReservation metrics, has none in the last {days} "
            "(only a snapshot of its instances now): enough once CloudWatch holds them; ECS publishes them "
            "every minute for clusters with container instances"
        )
    return (
        f"needs AWS/ECS CPUReservation and MemoryReservation metrics, has none in the last {days}, and its "
        "instances report no registered resources: enough once CloudWatch holds the metrics"
    )


# --------------------------------------------------------------------------- the terminal table


@dataclass(frozen=True)
class _Column:
    header: str
    right: bool = False
    # clipped with "…" down to this many characters when the table is wider than the terminal (0: never)
    clip_min: int = 0
    # dropped, lowest first, when clipping is not enough (0: never); -1: dropped before anything is clipped
    drop_rank: int = 0


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _fit(columns: Sequence[_Column], rows: Sequence[Sequence[str]], width: int | None) -> tuple[list[int], list[int]]:
    """Which columns to show and how wide: everything when width is None; otherwise the least loss that fits,
    dropping a redundant column first, then clipping names, then dropping columns by rank."""
    natural = [len(c.header) for c in columns]
    for row in rows:
        natural = [max(w, len(cell)) for w, cell in zip(natural, row, strict=True)]
    visible = list(range(len(columns)))
    if width is None:
        return visible, natural
    ranks = sorted({c.drop_rank for c in columns if c.drop_rank})
    # (drop every column ranked at or below, may clip); a redundant column goes before any name is clipped
    stages = [(-math.inf, not ranks or ranks[0] > 0), *((float(r), True) for r in ranks)]
    widths = list(natural)
    for level, may_clip in stages:
        visible = [i for i, c in enumerate(columns) if not (c.drop_rank and c.drop_rank <= level)]
        widths = list(natural)
        excess = sum(widths[i] for i in visible) + 2 * (len(visible) - 1) - width
        clippable = [i for i in visible if may_clip and columns[i].clip_min and widths[i] > columns[i].clip_min]
        while excess > 0 and clippable:
            widest = max(clippable, key=lambda i: widths[i] - columns[i].clip_min)
            widths[widest] -= 1
            excess -= 1
            clippable = [i for i in clippable if widths[i] > columns[i].clip_min]
        if excess <= 0:
            break
    return visible, widths


def _table(columns: Sequence[_Column], rows: Sequence[Sequence[str]], width: int | None) -> list[str]:
    visible, widths = _fit(columns, rows, width)

    def fmt(cells: Sequence[str]) -> str:
        out = []
        for i in visible:
            cell = _clip(cells[i], widths[i])
            out.append(cell.rjust(widths[i]) if columns[i].right else cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    return [fmt([c.header for c in columns]), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)]


def _wrap(text: str, width: int | None, indent: str = "") -> list[str]:
    """One line per `width` columns, continuation lines indented two more; one line when width is None."""
    if width is None:
        return [indent + text]
    return textwrap.wrap(
        text,
        width=max(width, len(indent) + 20),
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
    ) or [indent]


def _held_reason(verdict: WorkloadVerdict) -> str | None:
    """The "stays on …" reason feasibility put first, when every other mode is blocked."""
    first = verdict.reasons[0] if verdict.reasons else ""
    return first if first.startswith(STAYS_ON) else None


_WORKLOAD_COLUMNS = (
    _Column("cluster", clip_min=10),
    _Column("workload", clip_min=16),
    _Column("pattern", drop_rank=1),
    _Column("now"),
    # the verdict already names where a move goes: the first column to go on a narrow terminal
    _Column("advice", drop_rank=-1),
    _Column("verdict"),
    _Column("$/month", right=True),
    _Column("saves $/mo", right=True),
    _Column("conf", right=True),
)
_CLUSTER_COLUMNS = (
    _Column("cluster", clip_min=10),
    _Column("verdict"),
    _Column("hosts", right=True),
    _Column("cpu res %", right=True, drop_rank=1),
    _Column("mem res %", right=True, drop_rank=1),
    _Column("$/month", right=True),
    _Column("wasted $/mo", right=True, drop_rank=2),
    _Column("saves $/mo", right=True),
    _Column("conf", right=True),
)


def _savings_cell(amount: float, unconfirmed: bool, marked: bool) -> str:
    # a trailing mark for savings held apart; the others pad so the figures stay aligned
    return f"{amount:,.2f}" + ("*" if unconfirmed else " " if marked else "")


def _cluster_row(c: ClusterVerdict, report: AnalysisReport, marked: bool) -> list[str]:
    """One cluster's cells, the same in the plain table and in Markdown."""
    return [
        c.cluster,
        c.verdict.value,
        str(c.instance_count),
        "-" if c.cpu_reservation_pct is None else f"{c.cpu_reservation_pct:.1f}",
        "-" if c.memory_reservation_pct is None else f"{c.memory_reservation_pct:.1f}",
        f"{c.monthly_cost_usd:,.2f}",
        f"{c.wasted_monthly_cost_usd:,.2f}",
        _savings_cell(c.monthly_savings_usd, _unconfirmed(c, report), marked),
        f"{c.confidence:.2f}",
    ]


def render_table(report: AnalysisReport, width: int | None = None) -> str:
    """A readable summary: one row per workload and per cluster, the totals, each action's last reasons and what
    every insufficient_data verdict lacks. `width` (terminal columns) clips and wraps to fit; None shows all."""
    lines = [*_wrap(_title(report), width), "", "Workloads"]
    marked = any(_unconfirmed(w, report) for w in report.workloads)
    rows = [
        [
            w.cluster,
            w.workload,
            w.pattern.value,
            w.current_mode.value,
            w.recommended_mode.value,
            w.verdict.value,
            f"{w.current_monthly_cost_usd:,.2f}",
            _savings_cell(w.monthly_savings_usd, _unconfirmed(w, report), marked),
            f"{w.confidence:.2f}",
        ]
        for w in report.workloads
    ]
    lines += _table(_WORKLOAD_COLUMNS, rows, width)
    lines += ["", "Clusters"]
    marked = any(_unconfirmed(c, report) for c in report.clusters)
    crow = [_cluster_row(c, report, marked) for c in report.clusters]
    lines += _table(_CLUSTER_COLUMNS, crow, width)
    lines.append("")
    for line in _headline(report):
        lines += _wrap(line, width)
    actions = [w for w in report.workloads if w.verdict in _MOVES]
    actions_c = [c for c in report.clusters if c.verdict is not ClusterVerdictKind.KEEP and c.monthly_savings_usd > 0]
    if actions or actions_c:
        lines += ["", "Why"]
        for w in actions:
            unconfirmed = " (unconfirmed: confidence below the floor)" if _unconfirmed(w, report) else ""
            head = f"- {w.cluster}/{w.workload}: {w.verdict.value}, saves ${w.monthly_savings_usd:,.2f}/month"
            lines += _wrap(head + unconfirmed, width)
            for reason in w.reasons[-2:]:
                lines += _wrap(reason, width, "    ")
        for c in actions_c:
            unconfirmed = " (unconfirmed: confidence below the floor)" if _unconfirmed(c, report) else ""
            head = f"- cluster {c.cluster}: {c.verdict.value}, saves ${c.monthly_savings_usd:,.2f}/month"
            lines += _wrap(head + unconfirmed, width)
            for reason in c.reasons[-1:]:
                lines += _wrap(reason, width, "    ")
    lines += _not_enough_data(report, width)
    held = [w for w in report.workloads if w.verdict is WorkloadVerdictKind.KEEP and _held_reason(w)]
    if held:
        lines += ["", "Kept where they are (no other mode can run them)"]
        for w in held:
            lines += _wrap(f"- {w.cluster}/{w.workload}: {_held_reason(w)}", width)
    for err in report.errors:
        missing = f" (missing permission: {err.missing_permission})" if err.missing_permission else ""
        lines += _wrap(f"! cluster {err.cluster} not analysed: {err.error}{missing}", width)
    for warning in report.warnings:
        lines += _wrap(f"! {warning}", width)
    lines.append("")
    lines.append("Run with --output json for every verdict's evidence and arithmetic.")
    return "\n".join(lines)


def _not_enough_data(report: AnalysisReport, width: int | None) -> list[str]:
    waiting = [w for w in report.workloads if w.verdict is WorkloadVerdictKind.INSUFFICIENT_DATA]
    waiting_c = [c for c in report.clusters if c.verdict is ClusterVerdictKind.INSUFFICIENT_DATA]
    if not waiting and not waiting_c:
        return []
    lines = ["", "Not enough data yet"]
    for w in waiting:
        lines += _wrap(f"- {w.cluster}/{w.workload}: {missing_data_note(w, report.lookback_days)}", width)
    for c in waiting_c:
        lines += _wrap(f"- cluster {c.cluster}: {missing_cluster_data_note(c, report.lookback_days)}", width)
    return lines


# --------------------------------------------------------------------------- CSV and Markdown

# The workload fields of the JSON contract that are scalars, in contract order, then the flattened nested ones.
CSV_FIELDS = (
    "cluster",
    "workload",
    "service",
    "task_family",
    "verdict",
    "current_mode",
    "recommended_mode",
    "pattern",
    "current_monthly_cost_usd",
    "recommended_monthly_cost_usd",
    "monthly_savings_usd",
    "confidence",
    "recommended_task_size.cpu_units",
    "recommended_task_size.memory_mib",
    "recommended_architecture",
    "current_mix",
    "reasons",
)


def render_csv(report: AnalysisReport) -> str:
    """One row per workload under the contract's field names: scalars as in the JSON, recommended_task_size as
    two dotted columns, current_mix and reasons as JSON text; evidence, arithmetic and alternatives are
    left out (use the JSON). Empty cells are JSON nulls."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for w in report.workloads:
        size = w.recommended_task_size or {}
        writer.writerow(
            [
                w.cluster,
                w.workload,
                w.service or "",
                w.task_family,
                w.verdict.value,
                w.current_mode.value,
                w.recommended_mode.value,
                w.pattern.value,
                f"{w.current_monthly_cost_usd:.2f}",
                f"{w.recommended_monthly_cost_usd:.2f}",
                f"{w.monthly_savings_usd:.2f}",
                f"{w.confidence:.2f}",
                size.get("cpu_units", ""),
                size.get("memory_mib", ""),
                w.recommended_architecture or "",
                json.dumps({mode.value: n for mode, n in w.current_mix.items()}) if w.current_mix else "",
                json.dumps(list(w.reasons), ensure_ascii=False),
            ]
        )
    return out.getvalue().rstrip("\n")


def _md(text: str) -> str:
    """Markdown text: pipes and asterisks escaped, line breaks flattened."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("\n", " ")


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    rule = ["---:" if i in right else "---" for i in range(len(headers))]
    return [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join(rule) + " |",
        *("| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows),
    ]


def render_markdown(report: AnalysisReport) -> str:
    """The same summary as the table, as GitHub-flavoured Markdown to paste into a ticket or a pull request."""
    t = report.totals
    lines = [f"### {_md(_title(report))}", ""]
    lines += [f"**{_md(line)}**" if i == 1 else _md(line) for i, line in enumerate(_headline(report))]
    lines += ["", "#### Workloads", ""]
    lines += _md_table(
        ["cluster", "workload", "pattern", "now", "verdict", "$/month", "saves $/mo", "confidence"],
        [
            [
                w.cluster,
                w.workload,
                w.pattern.value,
                w.current_mode.value,
                w.verdict.value,
                f"{w.current_monthly_cost_usd:,.2f}",
                _savings_cell(w.monthly_savings_usd, _unconfirmed(w, report), marked=False),
                f"{w.confidence:.2f}",
            ]
            for w in report.workloads
        ],
        right={5, 6, 7},
    )
    lines += ["", "#### Clusters", ""]
    lines += _md_table(
        ["cluster", "verdict", "hosts", "cpu res %", "mem res %", "$/month", "wasted $/mo", "saves $/mo", "confidence"],
        [_cluster_row(c, report, marked=False) for c in report.clusters],
        right={2, 3, 4, 5, 6, 7, 8},
    )
    lines += ["", "#### Totals", ""]
    lines += _md_table(
        ["", "$/month"],
        [
            ["current cost", f"{t.current_monthly_cost_usd:,.2f}"],
            [f"advice saves (confidence ≥ {t.confidence_floor:.2f})", f"{t.monthly_savings_usd:,.2f}"],
            ["… of which moves, right-sizing, scale-in", f"{t.workload_savings_usd:,.2f}"],
            ["… of which capacity tuning", f"{t.cluster_tuning_savings_usd:,.2f}"],
            [f"unconfirmed (confidence < {t.confidence_floor:.2f})", f"{t.unconfirmed_monthly_savings_usd:,.2f}"],
            ["EC2 waste", f"{t.wasted_monthly_cost_usd:,.2f}"],
        ],
        right={1},
    )
    notes = _not_enough_data(report, None)[1:]
    if notes:
        lines += ["", f"#### {notes[0]}", "", *(_md(line) for line in notes[1:])]
    problems = [
        f"- cluster {err.cluster} not analysed: {err.error}"
        + (f" (missing permission: {err.missing_permission})" if err.missing_permission else "")
        for err in report.errors
    ] + [f"- {warning}" for warning in report.warnings]
    if problems:
        lines += ["", "#### Problems", "", *(_md(line) for line in problems)]
    return "\n".join(lines)
