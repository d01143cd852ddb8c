"""The weekly savings report: one week's analysis (and last week's) as a self-contained HTML page and JSON."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Literal

from pydantic import BaseModel, ConfigDict

from modeshift.domain.changes import ChangeOutcome, TrackRecord, track_record
from modeshift.domain.feasibility import in_words
from modeshift.domain.models import (
    ACTION_VERDICTS,
    RECOMMENDABLE_MODES,
    ClusterVerdictKind,
    LaunchMode,
    WorkloadVerdict,
    WorkloadVerdictKind,
    round_usd,
)
from modeshift.domain.render import blockers_by_mode, changes_needed
from modeshift.domain.report import AnalysisReport

# Major on any change to a field's name, type or meaning; additions keep the version. 2.0: savings (totals,
# savings by verdict) count confirmed verdicts only, as the analysis document's 2.0 does.
WEEKLY_SCHEMA_VERSION = "2.0"

TOP_ACTIONS = 5
TOP_UTILISATION = 8
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

# verdicts that act, with a saving: moves, right-sizing and scaling in
_MOVES = ACTION_VERDICTS

# How to switch, as the capacity provider strategy a person sets on the service.
_HOW_TO_SWITCH = {
    LaunchMode.FARGATE: "set the service's capacity provider strategy to FARGATE (weight 1)",
    LaunchMode.FARGATE_SPOT: "set the service's capacity provider strategy to FARGATE_SPOT (weight 1), "
    "optionally with a FARGATE base for a floor that Spot cannot interrupt",
    LaunchMode.EC2: "set the service's capacity provider strategy to an EC2 capacity provider "
    "(an Auto Scaling group with managed scaling)",
    LaunchMode.MANAGED_INSTANCES: "set the service's capacity provider strategy to an ECS Managed Instances "
    "capacity provider (AWS runs the instances)",
}


# Standalone and scheduled task families have no service: the strategy goes on RunTask or the schedule's target.
_HOW_TO_SWITCH_STANDALONE = {
    mode: text.replace(
        "the service's capacity provider strategy",
        "the capacity provider strategy of its RunTask calls or schedule target",
    )
    for mode, text in _HOW_TO_SWITCH.items()
}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class WeeklyTotals(_Model):
    workload_count: int
    cluster_count: int
    current_monthly_cost_usd: float
    monthly_savings_usd: float
    wasted_monthly_cost_usd: float
    action_count: int
    failed_cluster_count: int
    # additive: savings from verdicts under the confidence floor, summed apart (None: the analysis predates it)
    unconfirmed_monthly_savings_usd: float | None = None
    confidence_floor: float | None = None


class ClusterWaste(_Model):
    """EC2 capacity paid for but not reserved by tasks; None when the analysis could not measure it."""

    cluster: str
    verdict: str
    monthly_cost_usd: float
    wasted_monthly_cost_usd: float | None


class VerdictSavings(_Model):
    verdict: str
    count: int
    monthly_savings_usd: float


class Action(_Model):
    kind: Literal["workload", "cluster"]
    cluster: str
    workload: str | None
    verdict: str
    change: str
    why: str
    monthly_savings_usd: float
    # additive: the verdict's confidence, 0..1 (None when the analysis gave none)
    confidence: float | None = None
    # additive: the best alternative the verdict did not choose, in words (None when it listed none)
    also_considered: str | None = None


class HeldWorkload(_Model):
    """A workload kept where it is because every other mode has a blocker (from `evidence.feasibility`)."""

    cluster: str
    workload: str
    current_mode: str
    blockers: tuple[str, ...]
    why: str
    current_monthly_cost_usd: float


class WorkloadUtilisation(_Model):
    """Average CPU and memory use of one task as % of what it reserves; None is no data, never zero."""

    cluster: str
    workload: str
    current_monthly_cost_usd: float
    cpu_avg_pct: float | None
    memory_avg_pct: float | None


class TrendPoint(_Model):
    metric: Literal["monthly_savings_usd", "wasted_monthly_cost_usd", "workload_count"]
    current: float
    previous: float | None
    change: float | None


class Trend(_Model):
    first_week: bool
    previous_generated_at: datetime | None
    points: tuple[TrendPoint, ...]


class WeeklyReport(_Model):
    schema_version: str = WEEKLY_SCHEMA_VERSION
    generated_at: datetime
    region: str
    lookback_days: int
    goal: str
    no_data: bool
    totals: WeeklyTotals
    waste_by_cluster: tuple[ClusterWaste, ...]
    savings_by_verdict: tuple[VerdictSavings, ...]
    top_actions: tuple[Action, ...]
    utilisation: tuple[WorkloadUtilisation, ...]
    trend: Trend
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    # additive (schema 1.0 readers ignore it): workloads no other mode can run, with their blockers
    held: tuple[HeldWorkload, ...] = ()
    # additive (2.0): each mode switch, resize or scale-in seen, promised against realised, and the sums
    changes: tuple[ChangeOutcome, ...] = ()
    track_record: TrackRecord | None = None


def _feature_pct(workload: WorkloadVerdict, name: str) -> float | None:
    features = workload.evidence.get("features")
    value = features.get(name) if isinstance(features, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _shape(w: WorkloadVerdict) -> str:
    size = w.recommended_task_size or {}
    arch = " on ARM64 (Graviton)" if w.recommended_architecture == "ARM64" else ""
    return f"{size.get('cpu_units', '?')} CPU units / {size.get('memory_mib', '?')} MiB{arch}"


def _also_considered(w: WorkloadVerdict) -> str | None:
    if not w.alternatives:
        return None
    best = w.alternatives[0]
    size = best.task_size
    return (
        f"{best.mode.value} {best.architecture} {size.get('cpu_units')}/{size.get('memory_mib')} at "
        f"{_usd(best.monthly_cost_usd)}/mo — {best.why_not}"
    )


def _workload_action(w: WorkloadVerdict) -> Action:
    standalone = w.service is None
    how = _HOW_TO_SWITCH_STANDALONE if standalone else _HOW_TO_SWITCH
    why = w.reasons[0] if w.reasons else ""
    if w.verdict is WorkloadVerdictKind.RIGHTSIZE:
        change = (
            f"Right-size {w.workload} in cluster {w.cluster} to {_shape(w)}: register a revision with that cpu and "
            "memory and deploy it"
        )
        why = next((r for r in w.reasons if r.startswith("right size")), why)
    elif w.verdict is WorkloadVerdictKind.SCALE_IN:
        change = (
            f"Scale {w.workload} in cluster {w.cluster} in to one task of {_shape(w)}, or remove it if nothing calls it"
        )
        why = next((r for r in w.reasons if r.startswith("idle")), why)
    else:
        size = w.recommended_task_size or {}
        resized = size and size != (w.evidence.get("task_size") or {}) and "task_size" in (changes_needed(w) or [])
        shape = f" at {_shape(w)}" if resized or w.recommended_architecture == "ARM64" else ""
        change = (
            f"Move {w.workload} in cluster {w.cluster} from {w.current_mode.value} to {w.recommended_mode.value}"
            f"{shape}: {how[w.recommended_mode]}"
        )
    changes = [code for code in changes_needed(w) or [] if code != "task_size"]
    if changes:
        change += "; first " + "; ".join(in_words(code) for code in changes)
    return Action(
        kind="workload",
        cluster=w.cluster,
        workload=w.workload,
        verdict=w.verdict.value,
        change=change,
        why=why,
        monthly_savings_usd=w.monthly_savings_usd,
        confidence=w.confidence,
        also_considered=_also_considered(w),
    )


def _actions(report: AnalysisReport) -> list[Action]:
    """Moves and capacity tuning with a saving, largest first; the same savings the totals count once."""
    actions = [_workload_action(w) for w in report.workloads if w.verdict in _MOVES and w.monthly_savings_usd > 0]
    for c in report.clusters:
        if c.verdict is ClusterVerdictKind.TUNE_CAPACITY and c.monthly_savings_usd > 0:
            target = "fewer" if c.recommended_instance_count is None else str(c.recommended_instance_count)
            actions.append(
                Action(
                    kind="cluster",
                    cluster=c.cluster,
                    workload=None,
                    verdict=c.verdict.value,
                    change=f"Shrink cluster {c.cluster} from {c.instance_count} to {target} EC2 instances "
                    "(lower the Auto Scaling group's minimum or use managed scaling at 100% target capacity)",
                    why=c.reasons[-1] if c.reasons else "",
                    monthly_savings_usd=c.monthly_savings_usd,
                    confidence=c.confidence,
                )
            )
    return sorted(actions, key=lambda a: (-a.monthly_savings_usd, a.cluster, a.workload or ""))


def _held(report: AnalysisReport) -> tuple[HeldWorkload, ...]:
    held: list[HeldWorkload] = []
    for w in report.workloads:
        ruled_out = blockers_by_mode(w)
        others = [m.value for m in RECOMMENDABLE_MODES if m is not w.current_mode]
        if w.verdict is WorkloadVerdictKind.KEEP and ruled_out and set(others) <= set(ruled_out):
            codes: list[str] = []
            for mode_codes in ruled_out.values():
                codes.extend(code for code in mode_codes if code not in codes)
            held.append(
                HeldWorkload(
                    cluster=w.cluster,
                    workload=w.workload,
                    current_mode=w.current_mode.value,
                    blockers=tuple(codes),
                    why=w.reasons[0] if w.reasons else "",
                    current_monthly_cost_usd=w.current_monthly_cost_usd,
                )
            )
    return tuple(sorted(held, key=lambda h: (-h.current_monthly_cost_usd, h.cluster, h.workload)))


def _optional_float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _confidence_floor(report: AnalysisReport) -> float:
    """The analysis' confidence floor; 0 (every verdict confirmed) for documents written before it existed."""
    return _optional_float(getattr(report.totals, "confidence_floor", None)) or 0.0


def _savings_by_verdict(report: AnalysisReport) -> tuple[VerdictSavings, ...]:
    """Confirmed savings per verdict type: they add up to the headline, which leaves unconfirmed ones out."""
    floor = _confidence_floor(report)
    sums: dict[str, tuple[int, float]] = {}
    for w in report.workloads:
        if w.verdict in _MOVES and w.confidence >= floor:
            count, total = sums.get(w.verdict.value, (0, 0.0))
            sums[w.verdict.value] = (count + 1, total + w.monthly_savings_usd)
    for c in report.clusters:
        if c.verdict is ClusterVerdictKind.TUNE_CAPACITY and c.confidence >= floor:
            count, total = sums.get(c.verdict.value, (0, 0.0))
            sums[c.verdict.value] = (count + 1, total + c.monthly_savings_usd)
    rows = [VerdictSavings(verdict=k, count=n, monthly_savings_usd=round_usd(v)) for k, (n, v) in sums.items()]
    return tuple(sorted(rows, key=lambda r: (-r.monthly_savings_usd, r.verdict)))


def _trend(current: AnalysisReport, previous: AnalysisReport | None) -> Trend:
    def point(metric: Literal["monthly_savings_usd", "wasted_monthly_cost_usd", "workload_count"]) -> TrendPoint:
        now = float(getattr(current.totals, metric))
        before = None if previous is None else float(getattr(previous.totals, metric))
        return TrendPoint(
            metric=metric,
            current=now,
            previous=before,
            change=None if before is None else round_usd(now - before),
        )

    return Trend(
        first_week=previous is None,
        previous_generated_at=None if previous is None else previous.generated_at,
        points=(point("monthly_savings_usd"), point("wasted_monthly_cost_usd"), point("workload_count")),
    )


def build_weekly(
    current: AnalysisReport, previous: AnalysisReport | None = None, changes: Sequence[ChangeOutcome] = ()
) -> WeeklyReport:
    """Summarise one analysis for the week: totals, waste per cluster, savings by verdict, top actions, trend,
    and the changes made (measured by `domain.changes.track_changes`) with modeshift's track record."""
    actions = _actions(current)
    by_cost = sorted(current.workloads, key=lambda w: (-w.current_monthly_cost_usd, w.cluster, w.workload))
    t = current.totals
    return WeeklyReport(
        generated_at=current.generated_at,
        region=current.region,
        lookback_days=current.lookback_days,
        goal=current.goal.value,
        no_data=not current.workloads,
        totals=WeeklyTotals(
            workload_count=t.workload_count,
            cluster_count=t.cluster_count,
            current_monthly_cost_usd=t.current_monthly_cost_usd,
            monthly_savings_usd=t.monthly_savings_usd,
            wasted_monthly_cost_usd=t.wasted_monthly_cost_usd,
            action_count=len(actions),
            failed_cluster_count=t.failed_cluster_count,
            # read softly: analyses written before the confidence floor existed have neither field
            unconfirmed_monthly_savings_usd=_optional_float(getattr(t, "unconfirmed_monthly_savings_usd", None)),
            confidence_floor=_optional_float(getattr(t, "confidence_floor", None)),
        ),
        waste_by_cluster=tuple(
            ClusterWaste(
                cluster=c.cluster,
                verdict=c.verdict.value,
                monthly_cost_usd=c.monthly_cost_usd,
                wasted_monthly_cost_usd=(None if c.evidence.get("waste_known") is False else c.wasted_monthly_cost_usd),
            )
            for c in sorted(current.clusters, key=lambda c: (-c.wasted_monthly_cost_usd, c.cluster))
        ),
        savings_by_verdict=_savings_by_verdict(current),
        top_actions=tuple(actions[:TOP_ACTIONS]),
        utilisation=tuple(
            WorkloadUtilisation(
                cluster=w.cluster,
                workload=w.workload,
                current_monthly_cost_usd=w.current_monthly_cost_usd,
                cpu_avg_pct=_feature_pct(w, "cpu_avg_pct"),
                memory_avg_pct=_feature_pct(w, "memory_avg_pct"),
            )
            for w in by_cost[:TOP_UTILISATION]
        ),
        trend=_trend(current, previous),
        errors=tuple(f"cluster {e.cluster} not analysed: {e.error}" for e in current.errors),
        warnings=current.warnings,
        held=_held(current),
        changes=tuple(changes),
        track_record=track_record(changes),
    )


def render_json(weekly: WeeklyReport) -> str:
    return weekly.model_dump_json(indent=2)


# ---------------------------------------------------------------------------------------------------------------
# HTML: every user-derived string goes through _e(). Charts are inline SVG without a viewBox: bars are laid out
# in percentages of the chart's width and text in CSS pixels, so a chart narrows with the page while its text
# keeps its size (a scaled viewBox shrank 13 px text to 6 px on a phone).

_ROW_HEIGHT = 44  # a label line, then its bar
_BAR_HEIGHT = 16
_LABEL_CHARS = 44  # what fits on one line at 13 px in a phone-wide chart; the full label is in <title>
_NARROW_PX = 600  # below this width tables become stacked blocks

_CSS = (
    """
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:#1f2933;background:#f4f6f8}
main{max-width:980px;margin:0 auto;padding:24px 20px 48px;overflow-wrap:break-word}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:19px;margin:0 0 12px}
.meta{color:#52606d;margin:0 0 20px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px;margin-bottom:20px}
.card{background:#fff;border:1px solid #d9e2ec;border-radius:8px;padding:14px 16px}
.card .label{color:#52606d;font-size:13px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:26px;font-weight:650;white-space:nowrap}
.card .unit{font-size:15px;font-weight:500;color:#52606d}
.card .sub{font-size:13px;color:#8a5a00}
.good{color:#0e7c4a}.bad{color:#b42318}.muted{color:#7b8794}
.unconfirmed{color:#8a5a00}
section{background:#fff;border:1px solid #d9e2ec;border-radius:8px;padding:18px 20px;margin-bottom:18px}
svg{display:block;max-width:100%}
svg text{font:13px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#1f2933}
svg text.heading{font-weight:600}
svg text.inside{fill:#fff}
svg .nodata{fill:#7b8794;font-style:italic}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{font-size:13px;color:#52606d;text-transform:uppercase;letter-spacing:.04em}
td.num,th.num{text-align:right;white-space:nowrap}
td.conf{text-align:right}
.empty{padding:28px;text-align:center;font-size:18px;color:#52606d;background:#fff;border:2px dashed #bcccdc;
border-radius:8px;margin-bottom:18px}
.notice{background:#fff8e1;border:1px solid #f0c36d;border-radius:8px;padding:10px 14px;margin-bottom:18px}
small{color:#52606d}
"""
    + f"@media (max-width:{_NARROW_PX}px){{"
    + """
main{padding:16px 10px 32px;overflow-wrap:anywhere}
section{padding:14px 12px}
h1{font-size:22px}
table.stack thead{display:none}
table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}
table.stack tr{border-bottom:1px solid #d9e2ec;padding:10px 0}
table.stack td,table.stack td.num{border:0;padding:2px 0;text-align:left;white-space:normal}
table.stack td[data-label]::before{content:attr(data-label);display:block;font-size:12px;color:#52606d;
text-transform:uppercase;letter-spacing:.04em}
table.stack td.rank{font-weight:650}
table.stack td.rank::before{content:"Action "}
table.stack td.half{display:inline-block;width:50%;vertical-align:top;padding-right:8px}
}
"""
)


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg_open(chart_id: str, title: str, height: int) -> str:
    return (
        f'<svg id="{_e(chart_id)}" class="chart" role="img" aria-label="{_e(title)}" width="100%" '
        f'height="{height}"><title>{_e(title)}</title>'
    )


def _bar(y: float, value: float | None, top: float, value_text: str, colour: str, *, light: bool = False) -> str:
    """One bar from the left edge, scaled to `top`; its value inside a long bar, after a short one.

    None is drawn as text, never a bar; a measured zero keeps a hairline so it reads as zero, not as no data.
    """
    if value is None:
        return f'<text class="nodata" x="0" y="{y + 12.5:.1f}">{_e(value_text)}</text>'
    pct = 0.0 if top <= 0 else max(0.0, min(1.0, value / top)) * 100
    shown = max(pct, 0.4)
    rect = (
        f'<rect x="0" y="{y:.1f}" width="{shown:.2f}%" height="{_BAR_HEIGHT}" rx="3" fill="{colour}">'
        f"<title>{_e(value_text)}</title></rect>"
    )
    if pct >= 50:  # the bar holds its value: the text cannot run past the chart's right edge
        css = "" if light else ' class="inside"'
        text = f'<text{css} x="{pct:.2f}%" dx="-6" y="{y + 12.5:.1f}" text-anchor="end">{_e(value_text)}</text>'
    else:
        text = f'<text x="{shown:.2f}%" dx="6" y="{y + 12.5:.1f}">{_e(value_text)}</text>'
    return rect + text


def _bar_chart(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, float | None, str]],
    *,
    colour: str,
    max_value: float | None = None,
    empty: str = "no data this week",
    row_colours: Mapping[int, str] | None = None,
) -> str:
    """Horizontal bars, one row each: (label, value or None for no data, value text), label above its bar;
    `row_colours` sets a row's colour apart from the rest (by row index)."""
    height = max(1, len(rows)) * _ROW_HEIGHT + 4
    parts = [_svg_open(chart_id, title, height)]
    if not rows:
        parts.append(f'<text class="nodata" x="0" y="24">{_e(empty)}</text>')
    known = [v for _, v, _ in rows if v is not None]
    top = max_value if max_value is not None else max(known, default=0.0)
    for i, (label, value, value_text) in enumerate(rows):
        y = i * _ROW_HEIGHT
        parts.append(f'<text x="0" y="{y + 15}"><title>{_e(label)}</title>{_e(_short(label))}</text>')
        parts.append(_bar(y + 21, value, top, value_text, (row_colours or {}).get(i, colour)))
    parts.append("</svg>")
    return "".join(parts)


_TREND_LABELS = {
    "monthly_savings_usd": "Savings available $/month",
    "wasted_monthly_cost_usd": "EC2 waste $/month",
    "workload_count": "Workloads analysed",
}


def _trend_value(metric: str, value: float) -> str:
    return f"{value:,.0f}" if metric == "workload_count" else _usd(value)


def _trend_chart(trend: Trend) -> str:
    """One block per metric, each on its own scale: a heading with the change, last week's bar, this week's."""
    block = 20 + 2 * 24 + 14
    parts = [_svg_open("chart-trend", "Week-over-week trend", block * len(trend.points))]
    for i, p in enumerate(trend.points):
        y = i * block
        heading = _TREND_LABELS[p.metric]
        if p.change is not None:
            sign = "+" if p.change > 0 else "-" if p.change < 0 else ""
            size = abs(p.change)
            heading += (
                f" · change {sign}{size:,.0f}" if p.metric == "workload_count" else f" · change {sign}{_usd(size)}"
            )
        parts.append(f'<text class="heading" x="0" y="{y + 15}">{_e(heading)}</text>')
        top = max(p.current, p.previous or 0.0)
        last = (
            "first week: nothing to compare"
            if p.previous is None
            else f"last week {_trend_value(p.metric, p.previous)}"
        )
        parts.append(_bar(y + 22, p.previous, top, last, "#9fb3c8", light=True))
        parts.append(_bar(y + 46, p.current, top, f"this week {_trend_value(p.metric, p.current)}", "#2f6fde"))
    parts.append("</svg>")
    return "".join(parts)


def _card(label: str, value: str, css: str = "", sub: str = "", unit: str = "") -> str:
    unit_html = f'<span class="unit">{_e(unit)}</span>' if unit else ""
    extra = f'<div class="sub">{_e(sub)}</div>' if sub else ""
    return (
        f'<div class="card"><div class="label">{_e(label)}</div>'
        f'<div class="value {css}">{_e(value)}{unit_html}</div>{extra}</div>'
    )


def _unconfirmed_note(t: WeeklyTotals) -> str:
    """'unconfirmed: $X/month (confidence below F)' when verdicts under the floor were summed apart, else ''."""
    amount = t.unconfirmed_monthly_savings_usd
    if amount is None or amount <= 0:
        return ""
    return f"unconfirmed: {_usd(amount)}/month{_floor_words(t)}"


def _floor_words(t: WeeklyTotals) -> str:
    return f" (confidence below {t.confidence_floor:g})" if t.confidence_floor else ""


def _confidence_cell(confidence: float | None, floor: float | None) -> str:
    if confidence is None:
        return "<span class='muted'>not given</span>"
    text = f"{confidence:.2f}"
    if floor is not None and confidence < floor:
        return f"<span class='unconfirmed' title='below the confidence floor {floor:g}'>{text} unconfirmed</span>"
    return text


def _actions_table(actions: Sequence[Action], floor: float | None) -> str:
    if not actions:
        return '<p class="muted">Nothing to change this week: every workload is already in its cheapest mode.</p>'
    rows = "".join(
        f"<tr><td class='num rank'>{i}</td><td class='half' data-label='Cluster'>{_e(a.cluster)}</td>"
        f"<td class='half' data-label='Workload'>{_e(a.workload or '(cluster capacity)')}</td>"
        f"<td data-label='What to change'>{_e(a.change)}<br><small>{_e(a.why)}</small>"
        + (f"<br><small class='also'>Also considered: {_e(a.also_considered)}</small>" if a.also_considered else "")
        + "</td>"
        f"<td class='conf half' data-label='Confidence'>{_confidence_cell(a.confidence, floor)}</td>"
        f"<td class='num half' data-label='Saves / month'>{_e(_usd(a.monthly_savings_usd))}</td></tr>"
        for i, a in enumerate(actions, start=1)
    )
    return (
        '<table id="top-actions" class="stack"><thead><tr><th class="num">#</th><th>Cluster</th><th>Workload</th>'
        '<th>What to change</th><th class="num">Confidence</th><th class="num">Saves / month</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _held_table(held: Sequence[HeldWorkload]) -> str:
    rows = "".join(
        f"<tr><td class='half' data-label='Cluster'>{_e(h.cluster)}</td>"
        f"<td class='half' data-label='Workload'>{_e(h.workload)}</td>"
        f"<td data-label='Runs on'>{_e(h.current_mode)}</td>"
        f"<td data-label='Why it stays'>{_e(h.why)}<br><small>{_e(', '.join(h.blockers))}</small></td>"
        f"<td class='num' data-label='Costs / month'>{_e(_usd(h.current_monthly_cost_usd))}</td></tr>"
        for h in held
    )
    return (
        '<table id="held-workloads" class="stack"><thead><tr><th>Cluster</th><th>Workload</th><th>Runs on</th>'
        f'<th>Why it stays</th><th class="num">Costs / month</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _change_what(c: ChangeOutcome) -> str:
    moved = f"{c.from_mode or '?'} → {c.to_mode or '?'}" if "mode" in c.kinds else (c.to_mode or "")
    extra = [{"task_size": "new task size", "desired_count": "scaled in"}[k] for k in c.kinds if k != "mode"]
    return ", ".join(part for part in [moved, *extra] if part)


def _realised_cell(c: ChangeOutcome) -> str:
    if c.realised_monthly_savings_usd is None:
        return f"<span class='muted'>not yet</span><br><small>{_e(c.not_measured or '')}</small>"
    css = "bad" if c.regressed or c.realised_monthly_savings_usd < 0 else "good"
    return f"<span class='{css}'>{_e(_usd(c.realised_monthly_savings_usd))}</span>"


def _changes_table(changes: Sequence[ChangeOutcome]) -> str:
    rows = "".join(
        f"<tr><td class='half' data-label='Changed'>{_e(c.changed_at.strftime('%Y-%m-%d'))}</td>"
        f"<td class='half' data-label='Workload'>{_e(c.cluster)} / {_e(c.workload)}</td>"
        f"<td data-label='What'>{_e(_change_what(c))}<br><small>"
        + _e(
            "from CloudTrail" + (f", by {c.principal}" if c.principal else "")
            if c.source == "cloudtrail"
            else "seen between two analyses"
        )
        + "</small>"
        + (f"<br><small>{_e(c.arithmetic[2])}</small>" if len(c.arithmetic) > 2 else "")
        + "</td>"
        "<td class='num half' data-label='Promised / month'>"
        + (
            _e(_usd(c.promised_monthly_savings_usd))
            if c.promised_monthly_savings_usd is not None
            else "<span class='muted'>not advised</span>"
        )
        + f"</td><td class='num half' data-label='Realised / month'>{_realised_cell(c)}</td>"
        f"<td class='conf half' data-label='Confidence'>{_confidence_cell(c.confidence, None)}</td></tr>"
        for c in changes
    )
    return (
        '<table id="changes" class="stack"><thead><tr><th>Changed</th><th>Workload</th><th>What</th>'
        '<th class="num">Promised / month</th><th class="num">Realised / month</th><th class="num">Confidence</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _track_record_line(record: TrackRecord | None) -> str:
    if record is None or record.ratio is None:
        return (
            "No change modeshift advised has been measured yet: a change needs enough data on both sides "
            "(the same minimum as a verdict) before its saving is counted."
        )
    line = (
        f"Advised changes measured: promised {_usd(record.promised_usd)}/month, realised "
        f"{_usd(record.realised_usd)}/month — track record {record.ratio:.0%} (realised ÷ promised)."
    )
    if record.unadvised_realised_usd:
        line += f" Changes made without modeshift's advice: {_usd(record.unadvised_realised_usd)}/month, not in it."
    return line


def _changes_section(weekly: WeeklyReport) -> str:
    if not weekly.changes:
        body = (
            "<p class='muted'>No mode switch, resize or scale-in seen yet. Changes are recorded from CloudTrail "
            "when it is on, and otherwise found by comparing consecutive analyses.</p>"
        )
    else:
        body = f"<p id='track-record'>{_e(_track_record_line(weekly.track_record))}</p>" + _changes_table(
            weekly.changes
        )
    return "<section><h2>Changes and what they saved</h2>" + body + "</section>"


def render_html(weekly: WeeklyReport) -> str:
    """The whole report as one page: inline CSS and SVG, no script, no external URL."""
    t = weekly.totals
    when = weekly.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    head = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CONTENT_SECURITY_POLICY}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>modeshift weekly report — {_e(weekly.region)} — {_e(weekly.generated_at.date().isoformat())}"
        f"</title><style>{_CSS}</style></head><body><main>"
        f"<h1>modeshift weekly report</h1><p class='meta'>{_e(weekly.region)} · generated {_e(when)} · "
        f"{weekly.lookback_days} days of metrics · goal {_e(weekly.goal)}</p>"
    )
    body: list[str] = []
    for message in (*weekly.errors, *weekly.warnings):
        body.append(f"<div class='notice'>{_e(message)}</div>")
    if weekly.no_data:
        body.append(
            '<div class="empty" id="no-data"><strong>No data this week.</strong><br>'
            "The analysis found no ECS workloads to report on, so there is nothing to save or change.</div>"
        )
    body.append(
        "<div class='cards'>"
        + _card("Savings available", _usd(t.monthly_savings_usd), "good", _unconfirmed_note(t), unit="/mo")
        + _card("EC2 waste", _usd(t.wasted_monthly_cost_usd), "bad", unit="/mo")
        + _card("Current spend", _usd(t.current_monthly_cost_usd), unit="/mo")
        + _card("Workloads · clusters", f"{t.workload_count} · {t.cluster_count}")
        + "</div>"
    )
    body.append(
        "<section><h2>Top actions</h2>"
        f"<p class='muted'>The {min(len(weekly.top_actions), TOP_ACTIONS)} largest of {t.action_count} changes, "
        "largest saving first. Confidence (0 to 1) says how much the metrics behind each one can be trusted.</p>"
        + _actions_table(weekly.top_actions, t.confidence_floor)
        + "</section>"
    )
    body.append(_changes_section(weekly))
    if weekly.held:
        body.append(
            "<section><h2>Kept where they are</h2><p class='muted'>No other launch mode can run these workloads "
            "as defined, whatever it would cost.</p>" + _held_table(weekly.held) + "</section>"
        )
    waste_rows = [
        (
            c.cluster,
            c.wasted_monthly_cost_usd,
            "no data" if c.wasted_monthly_cost_usd is None else f"{_usd(c.wasted_monthly_cost_usd)}/mo",
        )
        for c in weekly.waste_by_cluster
    ]
    body.append(
        "<section><h2>Waste per cluster</h2><p class='muted'>EC2 capacity paid for but not reserved by any task. "
        "Largest first.</p>"
        + _bar_chart("chart-waste", "Waste per cluster, $/month, largest first", waste_rows, colour="#d64545")
        + "</section>"
    )
    saving_rows: list[tuple[str, float | None, str]] = [
        (s.verdict.replace("_", " "), s.monthly_savings_usd, f"{_usd(s.monthly_savings_usd)}/mo ({s.count})")
        for s in weekly.savings_by_verdict
    ]
    unconfirmed = _unconfirmed_note(t)
    if unconfirmed:
        amount = t.unconfirmed_monthly_savings_usd or 0.0
        saving_rows.append(("unconfirmed" + _floor_words(t), amount, f"{_usd(amount)}/mo, not in the total"))
    body.append(
        "<section><h2>Savings by verdict type</h2><p class='muted'>Largest first; in brackets, how many "
        "workloads or clusters."
        + (" The last bar, unconfirmed savings, is not in the total." if unconfirmed else "")
        + "</p>"
        + _bar_chart(
            "chart-savings",
            "Savings by verdict type, $/month, largest first",
            saving_rows,
            colour="#2f9e66",
            empty="no data this week" if weekly.no_data else "no savings found this week",
            row_colours={len(saving_rows) - 1: "#b7791f"} if unconfirmed else None,
        )
        + "</section>"
    )
    util_rows = [
        (
            f"{u.cluster} / {u.workload}",
            u.cpu_avg_pct,
            "no data" if u.cpu_avg_pct is None else f"{u.cpu_avg_pct:.1f}% CPU",
        )
        for u in weekly.utilisation
    ]
    body.append(
        "<section><h2>Utilisation of the top workloads</h2><p class='muted'>Average CPU use as % of what each task "
        "reserves, for the most expensive workloads, most expensive first. “no data” means no metric, not zero.</p>"
        + _bar_chart(
            "chart-utilisation",
            "Average CPU % of the top workloads, most expensive first",
            util_rows,
            colour="#2f6fde",
            max_value=100.0,
        )
        + "</section>"
    )
    since = (
        "First week: no previous report to compare with."
        if weekly.trend.first_week or weekly.trend.previous_generated_at is None
        else f"Compared with the report of {weekly.trend.previous_generated_at.strftime('%Y-%m-%d %H:%M UTC')}."
    )
    body.append(
        f"<section><h2>Week over week</h2><p class='muted'>{_e(since)}</p>{_trend_chart(weekly.trend)}</section>"
    )
    foot = (
        "<p class='meta'>Generated by modeshift from <code>modeshift analyze --output json</code>; "
        "the JSON beside this page has every number.</p></main></body></html>"
    )
    return head + "".join(body) + foot + "\n"
