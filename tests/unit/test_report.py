"""Unit tests of the analysis document: totals counted once, ordering, the JSON contract and the table."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeshift.domain.models import (
    ACTION_VERDICTS,
    ClusterError,
    ClusterVerdict,
    ClusterVerdictKind,
    Goal,
    LaunchMode,
    Pattern,
    WorkloadVerdict,
    WorkloadVerdictKind,
)
from modeshift.domain.report import AnalysisReport, PricingInfo, build_report, render_table, to_json

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
        confidence=0.7,
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
        confidence=0.8,
        reasons=(f"{cluster}: reservation is low", f"{cluster}: tune it"),
    )


def make_report(
    workloads: list[WorkloadVerdict],
    clusters: list[ClusterVerdict],
    *,
    errors: tuple[ClusterError, ...] = (),
    warnings: tuple[str, ...] = (),
) -> AnalysisReport:
    return build_report(
        generated_at=GENERATED_AT,
        region="us-east-1",
        lookback_days=14,
        goal=Goal.BALANCED,
        pricing=PRICING,
        workloads=workloads,
        clusters=clusters,
        errors=errors,
        warnings=warnings,
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
_CLUSTER_KINDS = list(ClusterVerdictKind)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        # every action saves something (a verdict that saves nothing is a keep): current ≥ 1, fraction > 0
        st.tuples(st.sampled_from(_KINDS), st.floats(1, 10_000), st.floats(0.01, 1)),
        max_size=12,
    ),
    st.lists(st.tuples(st.sampled_from(_CLUSTER_KINDS), st.floats(0, 5_000), st.floats(0, 5_000)), max_size=6),
)
def test_build_report_totals_equal_moves_plus_tuning_for_any_verdicts(
    workload_rows: list[tuple[WorkloadVerdictKind, float, float]],
    cluster_rows: list[tuple[ClusterVerdictKind, float, float]],
) -> None:
    workloads = [
        make_workload_verdict(f"w{i}", kind, round(current, 2), round(current * fraction, 2))
        for i, (kind, current, fraction) in enumerate(workload_rows)
    ]
    clusters = [
        make_cluster_verdict(f"c{i}", kind, wasted_usd=round(wasted, 2), savings_usd=round(savings, 2))
        for i, (kind, wasted, savings) in enumerate(cluster_rows)
    ]

    totals = make_report(workloads, clusters).totals

    moves = sum(w.monthly_savings_usd for w in workloads if w.verdict in ACTION_VERDICTS)
    tuning = sum(c.monthly_savings_usd for c in clusters if c.verdict is ClusterVerdictKind.TUNE_CAPACITY)
    assert totals.monthly_savings_usd == pytest.approx(moves + tuning, abs=0.01)
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


def test_render_table_ends_with_totals_line_when_rendered() -> None:
    report = sample_report()

    table = render_table(report)

    total_line = next(line for line in table.splitlines() if line.startswith("Total:"))
    assert f"{report.totals.workload_count} workloads" in total_line
    assert f"${report.totals.current_monthly_cost_usd:,.2f}" in total_line
    assert f"${report.totals.monthly_savings_usd:,.2f}" in total_line
    assert f"${report.totals.wasted_monthly_cost_usd:,.2f}" in total_line


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
