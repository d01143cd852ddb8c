"""Unit tests of the weekly report: totals, top actions, trend, "no data", escaping and a self-contained page."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from modeshift.domain.models import (
    ClusterVerdict,
    ClusterVerdictKind,
    Goal,
    LaunchMode,
    Pattern,
    WorkloadVerdict,
    WorkloadVerdictKind,
)
from modeshift.domain.report import AnalysisReport, PricingInfo, build_report
from modeshift.domain.weekly import WEEKLY_SCHEMA_VERSION, build_weekly, render_html, render_json

NOW = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)
PRICING = PricingInfo(source="embedded", as_of=date(2026, 1, 15))
CHART_IDS = ("chart-waste", "chart-savings", "chart-utilisation", "chart-trend")

_MODE = {
    WorkloadVerdictKind.MOVE_TO_FARGATE: (LaunchMode.EC2, LaunchMode.FARGATE),
    WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT: (LaunchMode.EC2, LaunchMode.FARGATE_SPOT),
    WorkloadVerdictKind.MOVE_TO_EC2: (LaunchMode.FARGATE, LaunchMode.EC2),
    WorkloadVerdictKind.KEEP: (LaunchMode.EC2, LaunchMode.EC2),
    WorkloadVerdictKind.INSUFFICIENT_DATA: (LaunchMode.FARGATE, LaunchMode.FARGATE),
}


def workload(
    name: str,
    kind: WorkloadVerdictKind,
    current_usd: float,
    savings_usd: float = 0.0,
    *,
    cluster: str = "prod",
    cpu_avg_pct: float | None = 40.0,
) -> WorkloadVerdict:
    now_mode, advice = _MODE[kind]
    evidence: dict[str, Any] = {"features": {"pattern": "steady", "coverage": 1.0, "cpu_avg_pct": cpu_avg_pct}}
    return WorkloadVerdict(
        cluster=cluster,
        workload=name,
        service=name,
        task_family=name,
        verdict=kind,
        current_mode=now_mode,
        recommended_mode=advice,
        pattern=Pattern.STEADY,
        current_monthly_cost_usd=current_usd,
        recommended_monthly_cost_usd=current_usd - savings_usd,
        monthly_savings_usd=savings_usd,
        confidence=0.8,
        reasons=[f"{name} reason"],
        evidence=evidence,
    )


def cluster(
    name: str, kind: ClusterVerdictKind, waste_usd: float, savings_usd: float = 0.0, *, confidence: float = 0.9
) -> ClusterVerdict:
    return ClusterVerdict(
        cluster=name,
        verdict=kind,
        instance_count=4,
        monthly_cost_usd=500.0,
        wasted_monthly_cost_usd=waste_usd,
        cpu_reservation_pct=30.0,
        memory_reservation_pct=20.0,
        recommended_instance_count=2 if kind is ClusterVerdictKind.TUNE_CAPACITY else None,
        monthly_savings_usd=savings_usd,
        confidence=confidence,
        reasons=["over-provisioned"],
        evidence={"waste_known": True},
    )


def analysis(
    workloads: list[WorkloadVerdict], clusters: list[ClusterVerdict], generated_at: datetime = NOW
) -> AnalysisReport:
    return build_report(
        generated_at=generated_at,
        region="eu-west-1",
        lookback_days=14,
        goal=Goal.BALANCED,
        pricing=PRICING,
        workloads=workloads,
        clusters=clusters,
    )


def fleet() -> AnalysisReport:
    return analysis(
        [
            workload("api", WorkloadVerdictKind.MOVE_TO_FARGATE, 300.0, 120.0),
            workload("web", WorkloadVerdictKind.MOVE_TO_FARGATE, 100.0, 20.0),
            workload("etl", WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT, 200.0, 90.0, cluster="batch"),
            workload("checkout", WorkloadVerdictKind.MOVE_TO_EC2, 900.0, 60.0, cluster="fargate"),
            workload("search", WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT, 50.0, 5.0, cluster="batch"),
            workload("orders", WorkloadVerdictKind.KEEP, 400.0, cpu_avg_pct=None),
            workload("ghost", WorkloadVerdictKind.INSUFFICIENT_DATA, 10.0, cpu_avg_pct=None, cluster="fargate"),
        ],
        [
            cluster("prod", ClusterVerdictKind.TUNE_CAPACITY, 250.0, 100.0),
            cluster("batch", ClusterVerdictKind.MOVE_WORKLOADS_TO_FARGATE, 80.0, 95.0),
        ],
    )


def svg_tags(page: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in re.finditer(r'<svg id="([^"]+)"[^>]*>', page)}


def test_weekly_totals_match_the_analysis_when_built_from_a_fleet() -> None:
    weekly = build_weekly(fleet(), None)

    assert weekly.schema_version == WEEKLY_SCHEMA_VERSION
    assert weekly.generated_at == NOW
    assert weekly.no_data is False
    assert weekly.totals.workload_count == 7
    assert weekly.totals.cluster_count == 2
    assert weekly.totals.monthly_savings_usd == 120 + 20 + 90 + 60 + 5 + 100
    assert weekly.totals.wasted_monthly_cost_usd == 330.0
    assert weekly.totals.action_count == 6
    assert [(c.cluster, c.wasted_monthly_cost_usd) for c in weekly.waste_by_cluster] == [
        ("prod", 250.0),
        ("batch", 80.0),
    ]


def test_weekly_savings_by_verdict_count_each_saving_once_when_clusters_also_advise_moves() -> None:
    weekly = build_weekly(fleet(), None)

    by_kind = {s.verdict: (s.count, s.monthly_savings_usd) for s in weekly.savings_by_verdict}
    # move_workloads_to_fargate on a cluster repeats its workloads' savings: it is not a separate saving.
    assert by_kind == {
        "move_to_fargate": (2, 140.0),
        "move_to_fargate_spot": (2, 95.0),
        "move_to_ec2": (1, 60.0),
        "tune_capacity": (1, 100.0),
    }
    assert sum(v for _, v in by_kind.values()) == weekly.totals.monthly_savings_usd


def test_weekly_top_actions_are_the_five_largest_savings_in_order_when_six_exist() -> None:
    weekly = build_weekly(fleet(), None)

    assert [(a.cluster, a.workload, a.monthly_savings_usd) for a in weekly.top_actions] == [
        ("prod", "api", 120.0),
        ("prod", None, 100.0),
        ("batch", "etl", 90.0),
        ("fargate", "checkout", 60.0),
        ("prod", "web", 20.0),
    ]
    assert "FARGATE_SPOT" in weekly.top_actions[2].change
    assert "from 4 to 2" in weekly.top_actions[1].change


def test_weekly_utilisation_keeps_missing_cpu_as_none_when_metrics_are_absent() -> None:
    weekly = build_weekly(fleet(), None)

    cpu = {u.workload: u.cpu_avg_pct for u in weekly.utilisation}
    assert cpu["orders"] is None
    assert cpu["checkout"] == 40.0
    assert weekly.utilisation[0].workload == "checkout"  # most expensive first


def test_weekly_trend_is_first_week_when_there_is_no_previous_report() -> None:
    weekly = build_weekly(fleet(), None)

    assert weekly.trend.first_week is True
    assert all(p.previous is None and p.change is None for p in weekly.trend.points)
    assert "First week" in render_html(weekly)


def test_weekly_trend_shows_the_change_when_a_previous_report_is_given() -> None:
    previous = analysis(
        [workload("api", WorkloadVerdictKind.MOVE_TO_FARGATE, 300.0, 50.0)],
        [cluster("prod", ClusterVerdictKind.KEEP, 400.0)],
        generated_at=NOW - timedelta(days=7),
    )
    weekly = build_weekly(fleet(), previous)

    points = {p.metric: p for p in weekly.trend.points}
    assert weekly.trend.first_week is False
    assert weekly.trend.previous_generated_at == NOW - timedelta(days=7)
    assert (points["monthly_savings_usd"].previous, points["monthly_savings_usd"].change) == (50.0, 345.0)
    assert (points["wasted_monthly_cost_usd"].previous, points["wasted_monthly_cost_usd"].change) == (400.0, -70.0)
    assert (points["workload_count"].previous, points["workload_count"].change) == (1.0, 6.0)
    page = render_html(weekly)
    assert "Compared with the report of 2026-03-02" in page
    assert "change -$70.00" in page


def test_weekly_page_says_no_data_when_the_report_has_no_workloads() -> None:
    weekly = build_weekly(analysis([], []), None)
    page = render_html(weekly)

    assert weekly.no_data is True
    assert weekly.top_actions == ()
    assert 'id="no-data"' in page
    assert "No data this week" in page
    assert set(svg_tags(page)) == set(CHART_IDS)  # the charts still render, each saying so
    assert page.count("no data this week") >= 3


def test_weekly_page_escapes_html_when_names_carry_special_characters() -> None:
    hostile_cluster = "<script>alert(1)</script>&\"prod'"
    hostile_workload = 'svc:<img src=x onerror="alert(2)">&amp'
    report = analysis(
        [workload(hostile_workload, WorkloadVerdictKind.MOVE_TO_FARGATE, 300.0, 120.0, cluster=hostile_cluster)],
        [cluster(hostile_cluster, ClusterVerdictKind.TUNE_CAPACITY, 250.0, 100.0)],
    )
    page = render_html(build_weekly(report, None))

    assert "<script" not in page
    assert "<img" not in page
    assert 'onerror="' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;prod&#x27;" in page
    assert "svc:&lt;img src=x onerror=&quot;alert(2)&quot;&gt;&amp;amp" in page


def test_weekly_page_is_self_contained_when_rendered() -> None:
    page = render_html(build_weekly(fleet(), None))

    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page
    assert "<script" not in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "@import" not in page and "url(" not in page


def test_weekly_page_draws_every_chart_as_a_sized_svg_when_rendered() -> None:
    page = render_html(build_weekly(fleet(), None))

    tags = svg_tags(page)
    assert set(tags) == set(CHART_IDS)
    for tag in tags.values():
        # as wide as the page, as tall as its rows; no viewBox, so narrowing never scales the text down
        assert 'width="100%"' in tag and re.search(r'height="\d+"', tag)
        assert "viewBox" not in tag
    # a missing CPU metric is written "no data", never drawn as a zero bar
    start = page.index('id="chart-utilisation"')
    utilisation = page[start : page.index("</svg>", start)]
    assert "no data" in utilisation
    assert utilisation.count("<rect") == 5  # 7 workloads, two of them without CPU data


def test_weekly_json_carries_the_same_data_when_rendered() -> None:
    weekly = build_weekly(fleet(), None)
    document = json.loads(render_json(weekly))

    assert document["schema_version"] == WEEKLY_SCHEMA_VERSION
    assert document["totals"]["monthly_savings_usd"] == weekly.totals.monthly_savings_usd
    assert [a["monthly_savings_usd"] for a in document["top_actions"]] == [120.0, 100.0, 90.0, 60.0, 20.0]
    assert document["trend"]["first_week"] is True
    assert type(weekly).model_validate_json(render_json(weekly)) == weekly


# --------------------------------------------------------------------------- feasibility on the page

_DAEMON_BLOCKED = {
    "EC2": {"ok": True, "blockers": [], "changes_needed": []},
    "FARGATE": {"ok": False, "blockers": ["daemon_scheduling"], "changes_needed": []},
    "FARGATE_SPOT": {"ok": False, "blockers": ["daemon_scheduling"], "changes_needed": []},
    "MANAGED_INSTANCES": {"ok": False, "blockers": ["daemon_scheduling"], "changes_needed": []},
}


def test_weekly_page_lists_held_workloads_with_their_blocker_when_no_other_mode_can_run_them() -> None:
    held = workload("log-shipper", WorkloadVerdictKind.KEEP, 700.0).model_copy(
        update={
            "reasons": ("stays on EC2: it runs as a DAEMON (one task on every instance it manages), which …",),
            "evidence": {"feasibility": _DAEMON_BLOCKED},
        }
    )
    plain_keep = workload("orders", WorkloadVerdictKind.KEEP, 400.0)

    weekly = build_weekly(analysis([held, plain_keep], []))
    page = render_html(weekly)

    assert [(h.workload, h.blockers) for h in weekly.held] == [("log-shipper", ("daemon_scheduling",))]
    assert 'id="held-workloads"' in page and "runs as a DAEMON" in page
    assert json.loads(render_json(weekly))["held"][0]["blockers"] == ["daemon_scheduling"]


def test_weekly_page_has_no_held_section_when_every_keep_has_somewhere_to_go() -> None:
    assert 'id="held-workloads"' not in render_html(build_weekly(fleet()))


def test_weekly_action_names_the_changes_a_move_needs_first_when_feasibility_lists_them() -> None:
    move = workload("api", WorkloadVerdictKind.MOVE_TO_FARGATE, 300.0, 120.0).model_copy(
        update={
            "evidence": {
                "feasibility": {"FARGATE": {"ok": True, "blockers": [], "changes_needed": ["network_mode_awsvpc"]}}
            }
        }
    )

    (action,) = build_weekly(analysis([move], [])).top_actions

    assert "first register a revision with networkMode awsvpc" in action.change


def test_weekly_action_tells_a_task_family_to_change_its_run_task_strategy_not_a_service() -> None:
    family = workload("nightly", WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT, 200.0, 90.0).model_copy(
        update={"service": None, "workload": "family:nightly"}
    )

    (action,) = build_weekly(analysis([family], [])).top_actions

    assert "service" not in action.change
    assert "RunTask" in action.change


# --------------------------------------------------------------------------- confidence and unconfirmed savings


def test_weekly_top_actions_carry_and_show_their_confidence_when_rendered() -> None:
    weekly = build_weekly(fleet(), None)
    page = render_html(weekly)

    assert [a.confidence for a in weekly.top_actions] == [0.8, 0.9, 0.8, 0.8, 0.8]
    table = page[page.index('id="top-actions"') : page.index("</table>", page.index('id="top-actions"'))]
    assert ">Confidence</th>" in table
    assert table.count("data-label='Confidence'>0.80<") == 4 and "data-label='Confidence'>0.90<" in table
    assert json.loads(render_json(weekly))["top_actions"][0]["confidence"] == 0.8


def _with_unconfirmed_tuning() -> AnalysisReport:
    return analysis(
        [workload("api", WorkloadVerdictKind.MOVE_TO_FARGATE, 300.0, 120.0)],
        [cluster("prod", ClusterVerdictKind.TUNE_CAPACITY, 250.0, 100.0, confidence=0.2)],
    )


def test_weekly_page_shows_unconfirmed_savings_beside_the_headline_when_a_verdict_is_under_the_floor() -> None:
    weekly = build_weekly(_with_unconfirmed_tuning(), None)
    page = render_html(weekly)

    assert (weekly.totals.monthly_savings_usd, weekly.totals.unconfirmed_monthly_savings_usd) == (120.0, 100.0)
    assert weekly.totals.confidence_floor == 0.5
    card = page[page.index("Savings available") : page.index("EC2 waste")]
    assert "unconfirmed: $100.00/month (confidence below 0.5)" in card
    # the action is still listed, flagged, and the chart keeps it apart from the confirmed total
    assert "title='below the confidence floor 0.5'>0.20 unconfirmed</span>" in page
    assert [(s.verdict, s.monthly_savings_usd) for s in weekly.savings_by_verdict] == [("move_to_fargate", 120.0)]
    assert "$100.00/mo, not in the total" in page


def test_weekly_page_shows_no_unconfirmed_note_when_the_analysis_predates_the_confidence_floor() -> None:
    document = json.loads(_with_unconfirmed_tuning().model_dump_json())
    for field in ("unconfirmed_monthly_savings_usd", "confidence_floor"):
        document["totals"].pop(field, None)
    document["totals"]["monthly_savings_usd"] = 220.0
    weekly = build_weekly(AnalysisReport.model_validate(document), None)
    page = render_html(weekly)

    assert "unconfirmed:" not in page and "not in the total" not in page
    assert sum(s.monthly_savings_usd for s in weekly.savings_by_verdict) == 220.0


def test_weekly_charts_say_their_order_when_rendered() -> None:
    page = render_html(build_weekly(fleet(), None))

    for chart, order in (
        ("chart-waste", "largest first"),
        ("chart-savings", "largest first"),
        ("chart-utilisation", "most expensive first"),
    ):
        assert re.search(rf'<svg id="{chart}"[^>]*aria-label="[^"]*{order}"', page)
    assert page.count("Largest first") == 2


def test_weekly_action_names_the_best_alternative_the_verdict_did_not_choose() -> None:
    from modeshift.domain.models import Alternative

    move = workload("api", WorkloadVerdictKind.MOVE_TO_FARGATE, 300.0, 120.0).model_copy(
        update={
            "alternatives": (
                Alternative(
                    mode=LaunchMode.FARGATE,
                    architecture="ARM64",
                    task_size={"cpu_units": 512, "memory_mib": 1024},
                    monthly_cost_usd=150.0,
                    changes_needed=("arm64_image",),
                    why_not="needs an ARM64 image",
                ),
            )
        }
    )

    weekly = build_weekly(analysis([move], []))

    (action,) = weekly.top_actions
    assert action.also_considered == "FARGATE ARM64 512/1024 at $150.00/mo — needs an ARM64 image"
    assert "Also considered: FARGATE ARM64 512/1024" in render_html(weekly)
