"""Unit tests of the analysis document: totals counted once, ordering, the JSON contract and the table."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeshift.domain.classify import classify_workload
from modeshift.domain.models import (
    ACTION_VERDICTS,
    ClusterError,
    ClusterVerdict,
    ClusterVerdictKind,
    Goal,
    LaunchMode,
    MetricSeries,
    Pattern,
    WorkloadUsage,
    WorkloadVerdict,
    WorkloadVerdictKind,
)
from modeshift.domain.options import Thresholds
from modeshift.domain.report import (
    CSV_FIELDS,
    AnalysisReport,
    PricingInfo,
    build_report,
    missing_data_note,
    render_csv,
    render_markdown,
    render_table,
    to_json,
)

GENERATED_AT = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
PRICING = PricingInfo(source="embedded", as_of=date(2026, 1, 15))

_RECOMMENDED_MODE = {
    WorkloadVerdictKind.MOVE_TO_FARGATE: LaunchMode.FARGATE,
    WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT: LaunchMode.FARGATE_SPOT,
    WorkloadVerdictKind.MOVE_TO_EC2: LaunchMode.EC2,
    WorkloadVerdictKind.MOVE_TO_MANAGED_INSTANCES: LaunchMode.MANAGED_INSTANCES,
}


def make_workload_verdict(
    workload: str,
    kind: WorkloadVerdictKind,
    current_usd: float,
    savings_usd: float = 0.0,
    *,
    cluster: str = "prod",
    current_mode: LaunchMode | None = None,
    pattern: Pattern = Pattern.STEADY,
    confidence: float = 0.7,
) -> WorkloadVerdict:
    recommended_mode = _RECOMMENDED_MODE.get(kind)
    if current_mode is None:
        current_mode = LaunchMode.FARGATE if kind is WorkloadVerdictKind.MOVE_TO_EC2 else LaunchMode.EC2
    if kind in (WorkloadVerdictKind.RIGHTSIZE, WorkloadVerdictKind.SCALE_IN):
        recommended_mode = current_mode  # same mode, a cheaper shape or fewer tasks
    elif recommended_mode is None:
        recommended_mode, savings_usd = current_mode, 0.0
    return WorkloadVerdict(
        cluster=cluster,
        workload=workload,
        service=None if workload.startswith("family:") else workload,
        task_family=workload.removeprefix("family:"),
        verdict=kind,
        current_mode=current_mode,
        recommended_mode=recommended_mode,
        pattern=pattern,
        current_monthly_cost_usd=current_usd,
        recommended_monthly_cost_usd=round(current_usd - savings_usd, 2),
        monthly_savings_usd=savings_usd,
        confidence=confidence,
        reasons=(f"{workload}: first reason", f"{workload}: last reason"),
        arithmetic=(f"now: ${current_usd:.2f}",),
        evidence={"cost_known": True},
    )


def make_cluster_verdict(
    cluster: str,
    kind: ClusterVerdictKind,
    *,
    monthly_usd: float = 1000.0,
    wasted_usd: float = 0.0,
    savings_usd: float = 0.0,
    instance_count: int = 4,
    confidence: float = 0.8,
) -> ClusterVerdict:
    return ClusterVerdict(
        cluster=cluster,
        verdict=kind,
        instance_count=instance_count,
        instance_types={"m5.large": instance_count},
        monthly_cost_usd=monthly_usd,
        wasted_monthly_cost_usd=wasted_usd,
        cpu_reservation_pct=25.0,
        memory_reservation_pct=None,
        binding_resource="cpu",
        recommended_instance_count=2 if kind is ClusterVerdictKind.TUNE_CAPACITY else None,
        monthly_savings_usd=savings_usd,
        confidence=confidence,
        reasons=(f"{cluster}: reservation is low", f"{cluster}: tune it"),
    )


def make_report(
    workloads: list[WorkloadVerdict],
    clusters: list[ClusterVerdict],
    *,
    errors: tuple[ClusterError, ...] = (),
    warnings: tuple[str, ...] = (),
    lookback_days: int = 14,
    confidence_floor: float = 0.5,
) -> AnalysisReport:
    return build_report(
        generated_at=GENERATED_AT,
        region="us-east-1",
        lookback_days=lookback_days,
        goal=Goal.BALANCED,
        pricing=PRICING,
        workloads=workloads,
        clusters=clusters,
        errors=errors,
        warnings=warnings,
        confidence_floor=confidence_floor,
    )


def sample_report() -> AnalysisReport:
    workloads = [
        make_workload_verdict("api", WorkloadVerdictKind.KEEP, 300.0),
        make_workload_verdict("burst", WorkloadVerdictKind.MOVE_TO_FARGATE, 500.0, 463.96),
        make_workload_verdict("family:nightly", WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT, 200.0, 194.37),
        make_workload_verdict("big", WorkloadVerdictKind.MOVE_TO_EC2, 2883.21, 440.92, cluster="fargate-only"),
        make_workload_verdict("new", WorkloadVerdictKind.INSUFFICIENT_DATA, 54.06),
    ]
    clusters = [
        make_cluster_verdict(
            "prod", ClusterVerdictKind.MOVE_WORKLOADS_TO_FARGATE, wasted_usd=600.0, savings_usd=658.33
        ),
        make_cluster_verdict("batch", ClusterVerdictKind.TUNE_CAPACITY, wasted_usd=800.0, savings_usd=592.96),
        make_cluster_verdict("busy", ClusterVerdictKind.KEEP, wasted_usd=100.0),
        make_cluster_verdict("fargate-only", ClusterVerdictKind.NO_EC2_CAPACITY, monthly_usd=0.0, instance_count=0),
    ]
    return make_report(workloads, clusters)


# --------------------------------------------------------------------------- totals


def test_build_report_counts_savings_once_when_cluster_also_reports_workload_moves() -> None:
    report = sample_report()

    moves = 463.96 + 194.37 + 440.92
    tuning = 592.96  # the move_workloads_to_fargate cluster's 658.33 repeats the moves: not added
    totals = report.totals
    assert totals.workload_savings_usd == pytest.approx(moves, abs=0.005)
    assert totals.cluster_tuning_savings_usd == pytest.approx(tuning, abs=0.005)
    assert totals.monthly_savings_usd == pytest.approx(moves + tuning, abs=0.005)


def test_build_report_totals_costs_and_counts_when_verdicts_mix() -> None:
    report = sample_report()

    current = 300.0 + 500.0 + 200.0 + 2883.21 + 54.06
    moves = 463.96 + 194.37 + 440.92
    totals = report.totals
    assert totals.workload_count == 5
    assert totals.cluster_count == 4
    assert totals.current_monthly_cost_usd == pytest.approx(current, abs=0.005)
    assert totals.recommended_monthly_cost_usd == pytest.approx(current - moves, abs=0.005)
    assert totals.wasted_monthly_cost_usd == pytest.approx(600.0 + 800.0 + 100.0, abs=0.005)
    assert totals.verdict_counts == {
        "insufficient_data": 1,
        "keep": 1,
        "move_to_ec2": 1,
        "move_to_fargate": 1,
        "move_to_fargate_spot": 1,
    }
    assert totals.cluster_verdict_counts == {
        "keep": 1,
        "move_workloads_to_fargate": 1,
        "no_ec2_capacity": 1,
        "tune_capacity": 1,
    }
    assert totals.failed_cluster_count == 0


def test_build_report_ignores_savings_of_keep_clusters_when_totalling() -> None:
    clusters = [make_cluster_verdict("quiet", ClusterVerdictKind.KEEP, savings_usd=5.0)]
    report = make_report([make_workload_verdict("api", WorkloadVerdictKind.KEEP, 100.0)], clusters)

    assert report.totals.monthly_savings_usd == 0.0
    assert report.totals.cluster_tuning_savings_usd == 0.0


def test_build_report_counts_failed_clusters_when_errors_given() -> None:
    errors = (
        ClusterError(cluster="locked", error="access denied", missing_permission="ecs:ListServices"),
        ClusterError(cluster="gone", error="cluster 'gone' does not exist"),
    )

    report = make_report([], [], errors=errors)

    assert report.totals.failed_cluster_count == 2
    assert report.totals.workload_count == 0
    assert report.totals.monthly_savings_usd == 0.0


_KINDS = list(WorkloadVerdictKind)
_CONFIDENCES = [0.1, 0.2, 0.49, 0.5, 0.8, 1.0]
_CLUSTER_KINDS = list(ClusterVerdictKind)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        # every action saves something (a verdict that saves nothing is a keep): current ≥ 1, fraction > 0
        st.tuples(st.sampled_from(_KINDS), st.floats(1, 10_000), st.floats(0.01, 1), st.sampled_from(_CONFIDENCES)),
        max_size=12,
    ),
    st.lists(
        st.tuples(
            st.sampled_from(_CLUSTER_KINDS), st.floats(0, 5_000), st.floats(0, 5_000), st.sampled_from(_CONFIDENCES)
        ),
        max_size=6,
    ),
    st.sampled_from([0.0, 0.5, 0.8, 1.0]),
)
def test_build_report_totals_equal_confirmed_moves_plus_tuning_and_the_rest_is_unconfirmed_for_any_verdicts(
    workload_rows: list[tuple[WorkloadVerdictKind, float, float, float]],
    cluster_rows: list[tuple[ClusterVerdictKind, float, float, float]],
    floor: float,
) -> None:
    workloads = [
        make_workload_verdict(f"w{i}", kind, round(current, 2), round(current * fraction, 2), confidence=confidence)
        for i, (kind, current, fraction, confidence) in enumerate(workload_rows)
    ]
    clusters = [
        make_cluster_verdict(
            f"c{i}", kind, wasted_usd=round(wasted, 2), savings_usd=round(savings, 2), confidence=confidence
        )
        for i, (kind, wasted, savings, confidence) in enumerate(cluster_rows)
    ]

    totals = make_report(workloads, clusters, confidence_floor=floor).totals

    actions = [w for w in workloads if w.verdict in ACTION_VERDICTS]
    tunings = [c for c in clusters if c.verdict is ClusterVerdictKind.TUNE_CAPACITY]
    moves = sum(w.monthly_savings_usd for w in actions if w.confidence >= floor)
    tuning = sum(c.monthly_savings_usd for c in tunings if c.confidence >= floor)
    everything = sum(v.monthly_savings_usd for v in actions) + sum(c.monthly_savings_usd for c in tunings)
    assert totals.monthly_savings_usd == pytest.approx(moves + tuning, abs=0.01)
    assert totals.monthly_savings_usd + totals.unconfirmed_monthly_savings_usd == pytest.approx(everything, abs=0.02)
    assert totals.confidence_floor == floor
    assert totals.current_monthly_cost_usd - totals.recommended_monthly_cost_usd == pytest.approx(moves, abs=0.02)
    assert sum(totals.verdict_counts.values()) == len(workloads)
    assert sum(totals.cluster_verdict_counts.values()) == len(clusters)


# --------------------------------------------------------------------------- ordering


def test_build_report_sorts_workloads_by_savings_then_cluster_and_name() -> None:
    workloads = [
        make_workload_verdict("b", WorkloadVerdictKind.KEEP, 10.0, cluster="x"),
        make_workload_verdict("z", WorkloadVerdictKind.MOVE_TO_FARGATE, 100.0, 50.0),
        make_workload_verdict("a", WorkloadVerdictKind.KEEP, 10.0, cluster="x"),
        make_workload_verdict("m", WorkloadVerdictKind.MOVE_TO_FARGATE, 500.0, 400.0),
        make_workload_verdict("c", WorkloadVerdictKind.KEEP, 10.0, cluster="a"),
    ]

    report = make_report(workloads, [])

    assert [(w.cluster, w.workload) for w in report.workloads] == [
        ("prod", "m"),
        ("prod", "z"),
        ("a", "c"),
        ("x", "a"),
        ("x", "b"),
    ]


def test_build_report_sorts_clusters_by_waste_when_several() -> None:
    clusters = [
        make_cluster_verdict("low", ClusterVerdictKind.KEEP, wasted_usd=10.0),
        make_cluster_verdict("high", ClusterVerdictKind.TUNE_CAPACITY, wasted_usd=900.0, savings_usd=300.0),
        make_cluster_verdict("mid", ClusterVerdictKind.KEEP, wasted_usd=200.0),
    ]

    report = make_report([], clusters)

    assert [c.cluster for c in report.clusters] == ["high", "mid", "low"]


# --------------------------------------------------------------------------- JSON contract

TOP_LEVEL_FIELDS = {
    "schema_version",
    "generated_at",
    "region",
    "lookback_days",
    "goal",
    "pricing",
    "workloads",
    "clusters",
    "totals",
}
WORKLOAD_FIELDS = {
    "cluster",
    "workload",
    "service",
    "task_family",
    "current_mode",
    "recommended_mode",
    "pattern",
    "current_monthly_cost_usd",
    "recommended_monthly_cost_usd",
    "monthly_savings_usd",
    "confidence",
    "reasons",
    "evidence",
}
CLUSTER_FIELDS = {
    "cluster",
    "instance_count",
    "monthly_cost_usd",
    "wasted_monthly_cost_usd",
    "cpu_reservation_pct",
    "memory_reservation_pct",
    "verdict",
    "reasons",
}


def test_to_json_carries_every_contract_field_when_report_is_full() -> None:
    document = json.loads(to_json(sample_report()))

    assert set(document) >= TOP_LEVEL_FIELDS
    assert document["schema_version"]
    assert document["region"] == "us-east-1"
    assert document["lookback_days"] == 14
    assert document["goal"] == "balanced"
    assert datetime.fromisoformat(document["generated_at"]) == GENERATED_AT
    assert document["pricing"]["source"] == "embedded"
    assert document["pricing"]["as_of"] == "2026-01-15"
    assert len(document["workloads"]) == 5
    for workload in document["workloads"]:
        assert set(workload) >= WORKLOAD_FIELDS, WORKLOAD_FIELDS - set(workload)
    assert len(document["clusters"]) == 4
    for cluster in document["clusters"]:
        assert set(cluster) >= CLUSTER_FIELDS, CLUSTER_FIELDS - set(cluster)
    assert {"monthly_savings_usd", "current_monthly_cost_usd", "verdict_counts"} <= set(document["totals"])


def test_to_json_writes_enums_as_their_values_when_serialising_verdicts() -> None:
    document = json.loads(to_json(sample_report()))

    burst = next(w for w in document["workloads"] if w["workload"] == "burst")
    assert burst["verdict"] == "move_to_fargate"
    assert burst["current_mode"] == "EC2"
    assert burst["recommended_mode"] == "FARGATE"
    assert burst["pattern"] == "steady"
    assert burst["monthly_savings_usd"] == 463.96
    nightly = next(w for w in document["workloads"] if w["workload"] == "family:nightly")
    assert nightly["service"] is None
    assert nightly["task_family"] == "nightly"


def test_to_json_round_trips_when_parsed_back_into_the_model() -> None:
    report = sample_report()

    assert AnalysisReport.model_validate_json(to_json(report)) == report


# --------------------------------------------------------------------------- table


def test_render_table_lists_every_workload_and_cluster_row() -> None:
    report = sample_report()

    table = render_table(report)

    lines = table.splitlines()
    for workload in report.workloads:
        row = [line for line in lines if f" {workload.workload} " in f" {line} " and workload.verdict.value in line]
        assert row, f"no row for {workload.workload}"
        assert f"{workload.current_monthly_cost_usd:,.2f}" in row[0]
        assert f"{workload.monthly_savings_usd:,.2f}" in row[0]
    for cluster in report.clusters:
        assert any(line.startswith(cluster.cluster) and cluster.verdict.value in line for line in lines)


def test_render_table_states_totals_after_the_tables_when_rendered() -> None:
    report = sample_report()

    lines = render_table(report).splitlines()

    total_line = next(line for line in lines if line.startswith("Total:"))
    assert f"{report.totals.workload_count} workloads" in total_line
    assert f"${report.totals.current_monthly_cost_usd:,.2f}" in total_line
    assert f"${report.totals.wasted_monthly_cost_usd:,.2f}" in total_line
    advice_line = lines[lines.index(total_line) + 1]
    assert advice_line.startswith(f"Advice saves ${report.totals.monthly_savings_usd:,.2f}/month")
    assert "unconfirmed" not in render_table(report)  # every verdict of the sample is confident


def test_render_table_explains_moves_when_workloads_should_move() -> None:
    table = render_table(sample_report())

    assert "burst: last reason" in table
    assert "batch: tune it" in table


def test_render_table_shows_errors_and_warnings_when_present() -> None:
    errors = (ClusterError(cluster="locked", error="access denied", missing_permission="ecs:ListServices"),)
    warnings = ("prices from the embedded catalog dated 2026-01-15",)

    table = render_table(make_report([], [], errors=errors, warnings=warnings))

    error_line = next(line for line in table.splitlines() if "locked" in line)
    assert "access denied" in error_line
    assert "ecs:ListServices" in error_line
    assert any(warnings[0] in line for line in table.splitlines())


def test_render_table_prints_dash_when_reservation_unknown() -> None:
    cluster = make_cluster_verdict("dark", ClusterVerdictKind.INSUFFICIENT_DATA)

    table = render_table(make_report([], [cluster]))

    row = next(line for line in table.splitlines() if line.startswith("dark"))
    assert "25.0" in row
    assert " - " in f"{row} "


def test_render_table_names_workloads_kept_by_a_blocker_with_their_reason() -> None:
    held = make_workload_verdict("inference", WorkloadVerdictKind.KEEP, 0.0).model_copy(
        update={"reasons": ("stays on EC2: its container asks for a GPU (or an inference accelerator)", "bursty")}
    )

    table = render_table(make_report([held], []))

    assert "Kept where they are (no other mode can run them)" in table
    assert "- prod/inference: stays on EC2: its container asks for a GPU" in table
    assert "Kept where they are" not in render_table(sample_report())


# --------------------------------------------------------------------------- honest headlines


def test_build_report_sums_savings_apart_when_a_verdict_is_below_the_confidence_floor() -> None:
    sure = make_workload_verdict("sure", WorkloadVerdictKind.MOVE_TO_FARGATE, 500.0, 100.0, confidence=0.9)
    unsure = make_workload_verdict("unsure", WorkloadVerdictKind.MOVE_TO_FARGATE, 300.0, 84.68, confidence=0.2)
    snapshot = make_cluster_verdict("snap", ClusterVerdictKind.TUNE_CAPACITY, savings_usd=50.0, confidence=0.2)

    totals = make_report([sure, unsure], [snapshot], confidence_floor=0.5).totals

    assert totals.monthly_savings_usd == 100.0
    assert totals.workload_savings_usd == 100.0
    assert totals.cluster_tuning_savings_usd == 0.0
    assert totals.unconfirmed_monthly_savings_usd == pytest.approx(134.68)
    assert totals.confidence_floor == 0.5
    assert totals.recommended_monthly_cost_usd == 700.0
    assert totals.verdict_counts == {"move_to_fargate": 2}  # listed all the same


def test_totals_count_every_saving_when_a_document_predates_the_confidence_floor() -> None:
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "analysis-demo.json"
    raw = json.loads(fixture.read_text())
    raw["totals"].pop("unconfirmed_monthly_savings_usd", None)
    raw["totals"].pop("confidence_floor", None)

    report = AnalysisReport.model_validate(raw)

    assert report.schema_version == "1.1"
    assert report.totals.unconfirmed_monthly_savings_usd == 0.0
    assert report.totals.confidence_floor == 0.0


def test_render_table_says_unconfirmed_apart_and_marks_the_row_when_a_verdict_is_below_the_floor() -> None:
    sure = make_workload_verdict("sure", WorkloadVerdictKind.MOVE_TO_FARGATE, 500.0, 100.0, confidence=0.9)
    unsure = make_workload_verdict("unsure", WorkloadVerdictKind.MOVE_TO_FARGATE, 300.0, 84.68, confidence=0.2)

    lines = render_table(make_report([sure, unsure], [])).splitlines()

    advice = next(line for line in lines if line.startswith("Advice saves"))
    assert advice == ("Advice saves $100.00/month (moves $100.00, capacity tuning $0.00); unconfirmed: $84.68/month")
    assert any("below 0.50" in line for line in lines)
    unsure_row = next(line for line in lines if " unsure " in line)
    sure_row = next(line for line in lines if " sure " in line)
    assert "84.68*" in unsure_row
    assert "100.00 " in sure_row and "*" not in sure_row
    assert any(line.startswith("- prod/unsure:") and "unconfirmed" in line for line in lines)


def test_render_table_shows_cluster_confidence_when_rendered() -> None:
    cluster = make_cluster_verdict("snap", ClusterVerdictKind.KEEP, confidence=0.35)

    lines = render_table(make_report([], [cluster])).splitlines()

    header = lines[lines.index("Clusters") + 1]
    assert header.split()[-1] == "conf"
    assert next(line for line in lines if line.startswith("snap")).endswith("0.35")


# --------------------------------------------------------------------------- terminal width


def _long_report() -> AnalysisReport:
    long_reason = "because " + " ".join(["the measured peak stays far below what the task reserves"] * 4)
    workloads = [
        make_workload_verdict(
            "service:payments-reconciliation-nightly-batch-worker",
            WorkloadVerdictKind.MOVE_TO_MANAGED_INSTANCES,
            12_345.67,
            2_345.67,
            cluster="production-eu-central-payments-cluster",
            current_mode=LaunchMode.FARGATE,
            pattern=Pattern.INSUFFICIENT_DATA,
        ).model_copy(update={"reasons": ("first", long_reason)}),
        make_workload_verdict("service:api", WorkloadVerdictKind.KEEP, 10.0),
    ]
    clusters = [
        make_cluster_verdict(
            "production-eu-central-payments-cluster", ClusterVerdictKind.MOVE_WORKLOADS_TO_FARGATE, savings_usd=1.0
        )
    ]
    return make_report(workloads, clusters)


@pytest.mark.parametrize("width", [100, 120, 160])
def test_render_table_fits_every_line_when_a_terminal_width_is_given(width: int) -> None:
    table = render_table(_long_report(), width)

    too_wide = [line for line in table.splitlines() if len(line) > width]
    assert too_wide == []
    assert "Why" in table and "2,345.67" in table


def test_render_table_clips_names_with_an_ellipsis_and_keeps_figures_when_narrow() -> None:
    lines = render_table(_long_report(), 100).splitlines()

    row = next(line for line in lines if "move_to_managed_instances" in line and "12,345.67" in line)
    assert "…" in row
    assert "2,345.67" in row and "0.70" in row
    header = lines[lines.index("Workloads") + 1]
    assert "advice" not in header.split()  # the verdict names where a move goes


def test_render_table_prints_every_column_and_whole_lines_when_width_is_none() -> None:
    report = _long_report()

    table = render_table(report, None)

    header = table.splitlines()[table.splitlines().index("Workloads") + 1]
    assert header.split() == [
        "cluster",
        "workload",
        "pattern",
        "now",
        "advice",
        "verdict",
        "$/month",
        "saves",
        "$/mo",
        "conf",
    ]
    assert "service:payments-reconciliation-nightly-batch-worker" in table
    assert f"    {report.workloads[0].reasons[-1]}" in table.splitlines()
    assert "…" not in table


def test_render_table_agrees_in_number_when_there_is_one_workload_and_one_day() -> None:
    one = make_workload_verdict("api", WorkloadVerdictKind.KEEP, 10.0)

    table = render_table(make_report([one], [], lookback_days=1))

    assert ", 1 day," in table.splitlines()[0]
    assert "Total: 1 workload costing" in table
    assert "1 days" not in table and "1 workloads" not in table


# --------------------------------------------------------------------------- what insufficient data lacks

_PERIOD = 300
_PER_HOUR = 3600 // _PERIOD


def _insufficient(hours_of_data: float, lookback_days: int = 14) -> WorkloadVerdict:
    """An insufficient_data verdict carrying the reasons the real classifier gives `hours_of_data` of data."""
    points = lookback_days * 24 * _PER_HOUR
    tasks = np.full(points, np.nan)
    tasks[points - int(hours_of_data * _PER_HOUR) :] = 2.0
    start = datetime(2026, 3, 1, tzinfo=UTC) - timedelta(days=lookback_days)
    usage = WorkloadUsage(
        task_count=MetricSeries(start=start, period_seconds=_PERIOD, values=tasks),
        cpu_avg_pct=MetricSeries(start=start, period_seconds=_PERIOD, values=np.where(np.isnan(tasks), np.nan, 30.0)),
        task_count_source="container_insights",
        expected_periods=points,
    )
    features = classify_workload(usage, Thresholds())
    assert features.pattern is Pattern.INSUFFICIENT_DATA
    return make_workload_verdict("new", WorkloadVerdictKind.INSUFFICIENT_DATA, 54.06, confidence=0.11).model_copy(
        update={
            "reasons": (*features.reasons, "not enough data to judge: keeping the current launch mode"),
            "evidence": {"features": features.model_dump(mode="json")},
        }
    )


@pytest.mark.parametrize(
    ("hours", "lookback_days", "note"),
    [
        (24.0, 14, "needs 72 h of data, has 24 h: enough in 2 days if its metrics keep arriving"),
        (60.0, 14, "needs 72 h of data, has 60 h: enough in 12 h if its metrics keep arriving"),
        (24.0, 2, "needs 72 h of data, has 24 h, and a 2-day lookback holds only 48 h: look back 3 days or more"),
        (
            0.0,
            14,
            "no metrics in the last 14 days: needs 72 h of data, has none; enough 3 days after its metrics start",
        ),
    ],
)
def test_missing_data_note_says_what_is_missing_and_when_there_will_be_enough_when_data_is_short(
    hours: float, lookback_days: int, note: str
) -> None:
    assert missing_data_note(_insufficient(hours, lookback_days), lookback_days) == note


def test_missing_data_note_estimates_from_its_rate_when_datapoints_are_too_few() -> None:
    verdict = make_workload_verdict("sparse", WorkloadVerdictKind.INSUFFICIENT_DATA, 10.0).model_copy(
        update={
            "reasons": ("insufficient data: 20 periods with a datapoint < 36 required",),
            "evidence": {"features": {"data_span_hours": 100.0}},
        }
    )

    # 20 datapoints over 100 h: 16 more take 80 h at that rate
    assert missing_data_note(verdict, 14) == (
        "needs 36 periods with a datapoint, has 20: enough in 4 days if its metrics keep arriving"
    )


def test_missing_data_note_gives_the_reason_when_it_is_not_a_data_shortage() -> None:
    verdict = make_workload_verdict("unsized", WorkloadVerdictKind.INSUFFICIENT_DATA, 0.0).model_copy(
        update={"reasons": ("steady: …", "the task definition declares no memory at task or container level")}
    )

    assert missing_data_note(verdict, 14) == "the task definition declares no memory at task or container level"


def test_render_table_says_what_each_insufficient_data_row_lacks_when_there_are_some() -> None:
    snapshot = make_cluster_verdict("snap", ClusterVerdictKind.INSUFFICIENT_DATA, confidence=0.1).model_copy(
        update={"evidence": {"snapshot_wasted_monthly_cost_usd": 12.0}}
    )

    lines = render_table(make_report([_insufficient(24.0)], [snapshot])).splitlines()

    notes = lines[lines.index("Not enough data yet") + 1 :]
    assert notes[0] == "- prod/new: needs 72 h of data, has 24 h: enough in 2 days if its metrics keep arriving"
    assert notes[1].startswith("- cluster snap: needs AWS/ECS CPUReservation and MemoryReservation metrics")
    assert "snapshot" in notes[1]


# --------------------------------------------------------------------------- CSV and Markdown


def test_render_csv_writes_one_row_per_workload_under_the_contract_field_names() -> None:
    report = sample_report()
    sized = report.workloads[0].model_copy(update={"recommended_task_size": {"cpu_units": 512, "memory_mib": 1024}})
    report = report.model_copy(update={"workloads": (sized, *report.workloads[1:])})

    rows = list(csv.DictReader(io.StringIO(render_csv(report))))

    assert tuple(rows[0]) == CSV_FIELDS
    contract = set(WorkloadVerdict.model_fields)
    assert {name.split(".")[0] for name in CSV_FIELDS} <= contract
    assert [(r["cluster"], r["workload"]) for r in rows] == [(w.cluster, w.workload) for w in report.workloads]
    first = rows[0]
    assert first["verdict"] == sized.verdict.value
    assert float(first["monthly_savings_usd"]) == sized.monthly_savings_usd
    assert (first["recommended_task_size.cpu_units"], first["recommended_task_size.memory_mib"]) == ("512", "1024")
    assert json.loads(first["reasons"]) == list(sized.reasons)
    nightly = next(r for r in rows if r["workload"] == "family:nightly")
    assert nightly["service"] == "" and nightly["recommended_task_size.cpu_units"] == ""


def test_render_markdown_gives_workload_cluster_and_totals_tables_when_rendered() -> None:
    piped = make_workload_verdict("service:a|b", WorkloadVerdictKind.MOVE_TO_FARGATE, 10.0, 5.0, confidence=0.2)
    report = make_report([*sample_report().workloads, piped], list(sample_report().clusters))

    text = render_markdown(report)

    lines = text.splitlines()
    assert lines[0].startswith("### modeshift analysis")
    for heading in ("#### Workloads", "#### Clusters", "#### Totals"):
        assert heading in lines
    table_rows = [line for line in lines if line.startswith("| ")]
    assert all(line.endswith(" |") for line in table_rows)
    assert "| prod | service:a\\|b |" in text  # a pipe in a name cannot split its row
    assert "5.00\\*" in text
    assert f"| unconfirmed (confidence < 0.50) | {report.totals.unconfirmed_monthly_savings_usd:,.2f} |" in text
    for workload in report.workloads:
        assert workload.verdict.value in text


# --------------------------------------------------------------------------- the weekly summary message


def test_weekly_summary_states_unconfirmed_savings_apart_when_the_analysis_holds_some() -> None:
    from modeshift.app_weekly import summary_body, summary_text
    from modeshift.domain.render import Audience
    from modeshift.domain.weekly import build_weekly

    sure = make_workload_verdict("sure", WorkloadVerdictKind.MOVE_TO_FARGATE, 500.0, 100.0, confidence=0.9)
    unsure = make_workload_verdict("unsure", WorkloadVerdictKind.MOVE_TO_FARGATE, 300.0, 84.68, confidence=0.2)
    report = make_report([sure, unsure], [])
    weekly = build_weekly(report)

    text = summary_text(weekly, "https://example.test/r", None, report.totals)
    machine = json.loads(summary_body(weekly, Audience.MACHINE, "s", "https://example.test/r", None, report.totals))

    assert "Possible saving: 100.00 USD/month" in text
    assert "Unconfirmed: 84.68 USD/month more, from verdicts with confidence below 0.50" in text
    assert machine["unconfirmed_monthly_savings_usd"] == 84.68
    assert machine["confidence_floor"] == 0.5
    assert machine["totals"]["monthly_savings_usd"] == 100.0
    assert "Unconfirmed" not in summary_text(weekly, "https://example.test/r", None)
