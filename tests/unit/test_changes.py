"""Unit tests of change tracking: CloudTrail call → change, analysis diff, measurement and the track record.

The CloudTrail events in events/cloudtrail_ecs_*.json follow the documented shapes: the EventBridge envelope
of "AWS API Call via CloudTrail" events (EventBridge User Guide, "Events from AWS services" / CloudTrail),
the CloudTrail record fields (CloudTrail User Guide, "CloudTrail record contents"; ECS example in "Log Amazon
ECS API calls using AWS CloudTrail"), and requestParameters named as the botocore ECS model's UpdateService
input members (cluster, service, capacityProviderStrategy[capacityProvider, weight, base], taskDefinition).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from modeshift.domain.changes import (
    CLUSTER_WORKLOAD,
    Change,
    ChangeOutcome,
    MalformedChangeEvent,
    OpenVerdict,
    change_from_cloudtrail,
    diff_analyses,
    measure,
    newly_regressed,
    track_changes,
    track_record,
)
from modeshift.domain.models import Goal, LaunchMode, Pattern, WorkloadVerdict, WorkloadVerdictKind
from modeshift.domain.notifications import Notification
from modeshift.domain.options import PolicyOptions, Thresholds
from modeshift.domain.report import AnalysisReport, PricingInfo, build_report
from modeshift.domain.weekly import build_weekly, render_html, render_json
from modeshift.publish import publish_regressions
from tests.events import load_event

T0 = datetime(2026, 11, 9, 6, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
PRICING = PricingInfo(source="embedded", as_of=date(2026, 1, 15))


def verdict(
    name: str,
    mode: LaunchMode,
    cost_usd: float,
    *,
    avg_tasks: float = 2.0,
    kind: WorkloadVerdictKind = WorkloadVerdictKind.KEEP,
    advice: LaunchMode | None = None,
    savings_usd: float = 0.0,
    size: tuple[int, int] = (512, 1024),
    desired: int = 2,
    span_hours: float = 336.0,
    pattern: Pattern = Pattern.STEADY,
    cluster: str = "shop-ec2",
) -> WorkloadVerdict:
    return WorkloadVerdict(
        cluster=cluster,
        workload=f"service:{name}",
        service=name,
        task_family=name,
        verdict=kind,
        current_mode=mode,
        recommended_mode=advice or mode,
        pattern=pattern,
        current_monthly_cost_usd=cost_usd,
        recommended_monthly_cost_usd=cost_usd - savings_usd,
        monthly_savings_usd=savings_usd,
        confidence=0.8,
        reasons=("why",),
        evidence={
            "features": {
                "pattern": pattern.value,
                "coverage": 1.0,
                "data_span_hours": span_hours,
                "avg_tasks": avg_tasks,
            },
            "task_size": {"cpu_units": size[0], "memory_mib": size[1], "sized_from": "task"},
            "desired_count": desired,
        },
    )


def doc(at: datetime, *workloads: WorkloadVerdict, lookback_days: int = 14) -> AnalysisReport:
    return build_report(
        generated_at=at,
        region="us-east-1",
        lookback_days=lookback_days,
        goal=Goal.BALANCED,
        pricing=PRICING,
        workloads=workloads,
        clusters=(),
    )


def web_on_ec2(cost: float = 146.0) -> WorkloadVerdict:
    return verdict(
        "web",
        LaunchMode.EC2,
        cost,
        kind=WorkloadVerdictKind.MOVE_TO_FARGATE,
        advice=LaunchMode.FARGATE,
        savings_usd=110.0,
    )


# --------------------------------------------------------------------------- CloudTrail


def test_cloudtrail_update_service_records_a_move_to_fargate_when_the_strategy_names_fargate() -> None:
    change = change_from_cloudtrail(load_event("cloudtrail_ecs_update_service_capacity_provider"))

    assert change is not None
    assert (change.cluster, change.workload, change.to_mode, change.kinds) == (
        "shop-ec2",
        "service:web",
        "FARGATE",
        ("mode",),
    )
    assert change.changed_at == datetime(2026, 11, 16, 10, 42, 17, tzinfo=UTC)
    assert change.principal == "arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice"
    assert change.source == "cloudtrail"


def test_cloudtrail_update_service_records_a_task_definition_change_when_a_new_revision_is_deployed() -> None:
    change = change_from_cloudtrail(load_event("cloudtrail_ecs_update_service_task_definition"))

    assert change is not None
    assert (change.cluster, change.workload, change.kinds) == ("core-ec2", "service:orders", ("task_size",))
    assert change.task_definition == "orders:12"
    assert change.to_mode is None  # the call names no mode: the next analysis tells


def test_cloudtrail_call_records_nothing_when_it_failed() -> None:
    assert change_from_cloudtrail(load_event("cloudtrail_ecs_update_service_denied")) is None


def test_cloudtrail_desired_count_records_nothing_when_application_autoscaling_made_it() -> None:
    event = load_event("cloudtrail_ecs_update_service_capacity_provider")
    event["detail"]["requestParameters"] = {"cluster": "shop-ec2", "service": "web", "desiredCount": 7}
    event["detail"]["userIdentity"] = {"type": "AWSService", "invokedBy": "ecs.application-autoscaling.amazonaws.com"}

    assert change_from_cloudtrail(event) is None


def test_cloudtrail_cluster_strategy_records_a_cluster_change_when_put_cluster_capacity_providers() -> None:
    event = load_event("cloudtrail_ecs_update_service_capacity_provider")
    event["detail"]["eventName"] = "PutClusterCapacityProviders"
    event["detail"]["requestParameters"] = {
        "cluster": "shop-ec2",
        "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
        "defaultCapacityProviderStrategy": [
            {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
            {"capacityProvider": "FARGATE_SPOT", "weight": 3},
        ],
    }
    change = change_from_cloudtrail(event)

    assert change is not None
    assert (change.workload, change.to_mode) == (CLUSTER_WORKLOAD, "FARGATE_SPOT")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("detail",), None),
        (("detail", "eventTime"), "yesterday"),
        (("detail", "eventName"), "DeleteService"),
        (("detail", "requestParameters"), None),
        (("detail", "requestParameters", "service"), 42),
        (("detail", "requestParameters", "capacityProviderStrategy"), [{"weight": 1}]),
        (("detail", "requestParameters", "desiredCount"), "three"),
    ],
)
def test_cloudtrail_event_is_rejected_when_malformed(path: tuple[str, ...], value: Any) -> None:
    event = copy.deepcopy(load_event("cloudtrail_ecs_update_service_capacity_provider"))
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    with pytest.raises(MalformedChangeEvent):
        change_from_cloudtrail(event)


# --------------------------------------------------------------------------- analysis diff


def test_diff_finds_a_mode_switch_when_current_mode_changed_between_analyses() -> None:
    before = doc(T0, web_on_ec2(), verdict("api", LaunchMode.EC2, 200.0))
    after = doc(T0 + WEEK, verdict("web", LaunchMode.FARGATE, 40.0), verdict("api", LaunchMode.EC2, 210.0))

    changes = diff_analyses(before, after)

    assert [(c.workload, c.from_mode, c.to_mode, c.kinds) for c in changes] == [
        ("service:web", "EC2", "FARGATE", ("mode",))
    ]
    assert changes[0].changed_at == after.generated_at
    assert changes[0].open_verdict == OpenVerdict(
        kind="move_to_fargate", recommended_mode="FARGATE", monthly_savings_usd=110.0
    )


def test_diff_finds_a_resize_when_the_task_size_changed() -> None:
    before = doc(T0, verdict("api", LaunchMode.FARGATE, 200.0, size=(1024, 2048)))
    after = doc(T0 + WEEK, verdict("api", LaunchMode.FARGATE, 100.0, size=(512, 1024)))

    (change,) = diff_analyses(before, after)

    assert change.kinds == ("task_size",)
    assert (change.from_task_size, change.to_task_size) == (
        {"cpu_units": 1024, "memory_mib": 2048},
        {"cpu_units": 512, "memory_mib": 1024},
    )


def test_diff_ignores_a_desired_count_change_when_no_scale_in_was_advised() -> None:
    before = doc(T0, verdict("api", LaunchMode.FARGATE, 200.0, desired=6))
    after = doc(T0 + WEEK, verdict("api", LaunchMode.FARGATE, 100.0, desired=3))

    assert diff_analyses(before, after) == ()


def test_diff_finds_a_scale_in_when_the_desired_count_fell_after_a_scale_in_verdict() -> None:
    idle = verdict(
        "admin", LaunchMode.FARGATE, 90.0, avg_tasks=3, desired=3, kind=WorkloadVerdictKind.SCALE_IN, savings_usd=60.0
    )
    before = doc(T0, idle)
    after = doc(T0 + WEEK, verdict("admin", LaunchMode.FARGATE, 30.0, avg_tasks=1, desired=1))
    later = doc(T0 + 2 * WEEK, verdict("admin", LaunchMode.FARGATE, 30.0, avg_tasks=1, desired=1))

    (outcome,) = track_changes([before, after, later])

    assert outcome.kinds == ("desired_count",)
    assert outcome.promised_monthly_savings_usd == 60.0
    assert outcome.realised_monthly_savings_usd == 60.0


# --------------------------------------------------------------------------- measurement


def test_measure_realises_the_cost_per_task_hour_difference_times_task_hours_after_when_both_sides_have_data() -> None:
    before = doc(T0, web_on_ec2(cost=146.0))  # 2 tasks avg: 146 / 1460 = $0.10 per task-hour
    after = doc(T0 + 2 * WEEK, verdict("web", LaunchMode.FARGATE, 87.6, avg_tasks=3))  # $0.04 per task-hour, 3 tasks
    change = change_from_cloudtrail(load_event("cloudtrail_ecs_update_service_capacity_provider"))
    assert change is not None
    change = change.model_copy(update={"changed_at": T0 + WEEK})

    outcome = measure(change, [before, after], Thresholds(), PolicyOptions())

    # (0.10 − 0.04) × 3 × 730 = 131.40: load growth (2 → 3 tasks) does not pass for a lost saving
    assert outcome.realised_monthly_savings_usd == pytest.approx(131.40)
    assert outcome.promised_monthly_savings_usd == 110.0
    assert (outcome.from_mode, outcome.to_mode) == ("EC2", "FARGATE")
    assert outcome.confidence == 0.5  # half of the after analysis' 14 days follow the change
    assert any("$0.1000 − $0.0400" in line for line in outcome.arithmetic)
    assert not outcome.regressed


def test_measure_leaves_realised_empty_when_the_change_is_too_recent() -> None:
    before = doc(T0, web_on_ec2())
    after = doc(T0 + WEEK, verdict("web", LaunchMode.FARGATE, 40.0))
    change = Change(
        cluster="shop-ec2", workload="service:web", changed_at=T0 + WEEK - timedelta(hours=10), source="cloudtrail",
        kinds=("mode",), to_mode="FARGATE",
    )  # fmt: skip

    outcome = measure(change, [before, after], Thresholds(), PolicyOptions())

    assert outcome.realised_monthly_savings_usd is None
    assert outcome.not_measured is not None and "too recent" in outcome.not_measured
    assert outcome.promised_monthly_savings_usd == 110.0


def test_measure_leaves_realised_empty_when_the_after_side_has_too_little_data() -> None:
    before = doc(T0, web_on_ec2())
    after = doc(
        T0 + 2 * WEEK, verdict("web", LaunchMode.FARGATE, 40.0, span_hours=20.0, pattern=Pattern.INSUFFICIENT_DATA)
    )
    change = Change(
        cluster="shop-ec2", workload="service:web", changed_at=T0 + WEEK, source="cloudtrail", kinds=("mode",)
    )

    outcome = measure(change, [before, after], Thresholds(), PolicyOptions())

    assert outcome.realised_monthly_savings_usd is None
    assert outcome.not_measured is not None and "after: not enough data" in outcome.not_measured


def test_measure_credits_no_promise_when_the_operator_moved_against_the_advice() -> None:
    fargate_advised = verdict(
        "batch", LaunchMode.FARGATE, 500.0, kind=WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT,
        advice=LaunchMode.FARGATE_SPOT, savings_usd=300.0, avg_tasks=4,
    )  # fmt: skip
    before = doc(T0, fargate_advised)
    after = doc(T0 + 2 * WEEK, verdict("batch", LaunchMode.EC2, 350.0, avg_tasks=4))
    change = Change(
        cluster="shop-ec2", workload="service:batch", changed_at=T0 + WEEK, source="cloudtrail", kinds=("mode",)
    )

    outcome = measure(change, [before, after], Thresholds(), PolicyOptions())

    assert outcome.promised_monthly_savings_usd is None
    assert outcome.realised_monthly_savings_usd == pytest.approx(150.0)
    assert any("not advised by modeshift" in line and "saves $150.00" in line for line in outcome.arithmetic)


def test_measure_flags_a_regression_when_the_change_costs_more_by_the_savings_threshold() -> None:
    before = doc(T0, verdict("api", LaunchMode.EC2, 100.0, avg_tasks=2))
    after = doc(T0 + 2 * WEEK, verdict("api", LaunchMode.FARGATE, 160.0, avg_tasks=2))
    change = Change(
        cluster="shop-ec2", workload="service:api", changed_at=T0 + WEEK, source="cloudtrail", kinds=("mode",)
    )

    outcome = measure(change, [before, after], Thresholds(), PolicyOptions())

    assert outcome.realised_monthly_savings_usd == pytest.approx(-60.0)
    assert outcome.regressed


def test_measure_does_not_flag_a_regression_when_the_extra_cost_is_under_the_threshold() -> None:
    before = doc(T0, verdict("api", LaunchMode.EC2, 100.0, avg_tasks=2))
    after = doc(T0 + 2 * WEEK, verdict("api", LaunchMode.FARGATE, 105.0, avg_tasks=2))
    change = Change(
        cluster="shop-ec2", workload="service:api", changed_at=T0 + WEEK, source="cloudtrail", kinds=("mode",)
    )

    assert not measure(change, [before, after], Thresholds(), PolicyOptions()).regressed


# --------------------------------------------------------------------------- track record


def test_track_changes_prefers_the_cloudtrail_record_when_a_diff_shows_the_same_switch() -> None:
    before = doc(T0, web_on_ec2())
    after = doc(T0 + 2 * WEEK, verdict("web", LaunchMode.FARGATE, 40.0))
    recorded = change_from_cloudtrail(load_event("cloudtrail_ecs_update_service_capacity_provider"))
    assert recorded is not None
    recorded = recorded.model_copy(update={"changed_at": T0 + WEEK})

    outcomes = track_changes([after, before], [recorded])

    assert [(o.source, o.workload, o.principal is not None) for o in outcomes] == [("cloudtrail", "service:web", True)]


def test_track_changes_drops_a_recorded_revision_when_the_task_size_did_not_change() -> None:
    before = doc(T0, verdict("orders", LaunchMode.EC2, 200.0, cluster="core-ec2"))
    after = doc(T0 + 2 * WEEK, verdict("orders", LaunchMode.EC2, 200.0, cluster="core-ec2"))
    recorded = change_from_cloudtrail(load_event("cloudtrail_ecs_update_service_task_definition"))
    assert recorded is not None

    assert track_changes([before, after], [recorded.model_copy(update={"changed_at": T0 + WEEK})]) == ()


def test_track_changes_credits_a_cluster_strategy_call_to_each_workload_that_switched() -> None:
    before = doc(T0, web_on_ec2())
    after = doc(T0 + 2 * WEEK, verdict("web", LaunchMode.FARGATE, 40.0))
    cluster_call = Change(
        cluster="shop-ec2", workload=CLUSTER_WORKLOAD, changed_at=T0 + WEEK, source="cloudtrail", kinds=("mode",),
        to_mode="FARGATE", principal="arn:aws:iam::123456789012:user/bob",
    )  # fmt: skip

    (outcome,) = track_changes([before, after], [cluster_call])

    assert (outcome.workload, outcome.source, outcome.principal) == (
        "service:web",
        "cloudtrail",
        "arn:aws:iam::123456789012:user/bob",
    )


def test_track_record_divides_realised_by_promised_over_measured_advised_changes() -> None:
    before = doc(T0, web_on_ec2(146.0), verdict("api", LaunchMode.EC2, 100.0))
    middle = doc(T0 + WEEK, verdict("web", LaunchMode.FARGATE, 58.4), verdict("api", LaunchMode.FARGATE, 90.0))
    after = doc(T0 + 2 * WEEK, verdict("web", LaunchMode.FARGATE, 58.4), verdict("api", LaunchMode.FARGATE, 90.0))

    outcomes = track_changes([before, middle, after])
    record = track_record(outcomes)

    # web: (0.10 − 0.04) × 1460 = 87.60 of 110 promised; api was not advised: counted apart
    assert record.promised_usd == 110.0
    assert record.realised_usd == pytest.approx(87.6)
    assert record.ratio == pytest.approx(0.8)
    assert record.unadvised_realised_usd == pytest.approx(10.0)
    assert record.measured_count == 2


def test_track_record_has_no_ratio_when_nothing_advised_was_measured() -> None:
    before = doc(T0, web_on_ec2())
    after = doc(T0 + WEEK, verdict("web", LaunchMode.FARGATE, 40.0))

    record = track_record(track_changes([before, after]))

    assert (record.ratio, record.pending_count, record.measured_count) == (None, 1, 0)


# --------------------------------------------------------------------------- the weekly report


def _measured_week() -> tuple[AnalysisReport, list[ChangeOutcome]]:
    before = doc(T0, web_on_ec2(146.0), verdict("api", LaunchMode.EC2, 100.0))
    after = doc(T0 + 2 * WEEK, verdict("web", LaunchMode.FARGATE, 58.4), verdict("api", LaunchMode.FARGATE, 160.0))
    recorded = change_from_cloudtrail(load_event("cloudtrail_ecs_update_service_capacity_provider"))
    assert recorded is not None
    outcomes = track_changes([before, after], [recorded.model_copy(update={"changed_at": T0 + WEEK})])
    return after, list(outcomes)


def test_weekly_json_lists_each_change_and_the_track_record_when_changes_were_measured() -> None:
    current, outcomes = _measured_week()

    data = json.loads(render_json(build_weekly(current, None, outcomes)))

    web = next(c for c in data["changes"] if c["workload"] == "service:web")
    assert {k: web[k] for k in ("cluster", "from_mode", "to_mode", "source", "promised_monthly_savings_usd")} == {
        "cluster": "shop-ec2",
        "from_mode": "EC2",
        "to_mode": "FARGATE",
        "source": "cloudtrail",
        "promised_monthly_savings_usd": 110.0,
    }
    assert web["realised_monthly_savings_usd"] == pytest.approx(87.6)
    assert web["changed_at"].startswith("2026-11-16")
    assert web["confidence"] == 0.5 and web["arithmetic"]
    api = next(c for c in data["changes"] if c["workload"] == "service:api")
    assert (api["source"], api["promised_monthly_savings_usd"], api["realised_monthly_savings_usd"]) == (
        "analysis_diff",
        None,
        None,
    )  # seen only by the diff: dated at the analysis that showed it, so not measurable yet
    assert data["track_record"]["promised_usd"] == 110.0
    assert data["track_record"]["ratio"] == pytest.approx(0.8)


def test_weekly_page_shows_promised_against_realised_and_the_ratio_when_changes_were_measured() -> None:
    current, outcomes = _measured_week()

    page = render_html(build_weekly(current, None, outcomes))

    section = page[page.index("Changes and what they saved") :]
    assert "$110.00" in section and "$87.60" in section
    assert "track record 80% (realised ÷ promised)" in section
    assert "not advised" in section and "too recent to measure" in section
    assert "by arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice" in section


def test_weekly_page_says_no_change_was_seen_when_there_are_none() -> None:
    page = render_html(build_weekly(doc(T0, web_on_ec2())))

    assert "No mode switch, resize or scale-in seen yet" in page
    assert json.loads(render_json(build_weekly(doc(T0, web_on_ec2()))))["changes"] == []


# --------------------------------------------------------------------------- the regression message


class _Publisher:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def publish(self, message: Notification) -> str:
        self.sent.append(message)
        return str(len(self.sent))


def _regressed_weeks(*names: str) -> tuple[list[AnalysisReport], list[ChangeOutcome]]:
    """Each named service moved EC2 → Fargate between the first two weeks and costs 60 % more since."""
    weeks = [
        doc(T0, *(verdict(n, LaunchMode.EC2, 100.0) for n in names)),
        doc(T0 + WEEK, *(verdict(n, LaunchMode.FARGATE, 160.0) for n in names)),
        doc(T0 + 2 * WEEK, *(verdict(n, LaunchMode.FARGATE, 160.0) for n in names)),
    ]
    return weeks, list(track_changes(weeks))


def test_newly_regressed_announces_a_regression_only_in_the_first_week_that_measures_it() -> None:
    weeks, outcomes = _regressed_weeks("api")
    later = doc(T0 + 3 * WEEK, verdict("api", LaunchMode.FARGATE, 160.0))

    assert [o.workload for o in newly_regressed(outcomes, track_changes(weeks[:2]))] == ["service:api"]
    assert newly_regressed(track_changes([*weeks, later]), outcomes) == []


def test_regression_message_says_what_it_costs_more_with_its_arithmetic() -> None:
    _, (outcome,) = _regressed_weeks("api")
    publisher = _Publisher()

    assert publish_regressions([outcome], doc(T0 + 2 * WEEK, verdict("api", LaunchMode.FARGATE, 160.0)), publisher) == 1

    (message,) = publisher.sent
    assert (message.type, message.subject, message.monthly_savings_usd) == ("change_regressed", "service:api", -60.0)
    assert "costs $60.00/mo more since EC2 → FARGATE" in message.title
    assert "Promised: nothing (modeshift had not advised it)" in message.text
    assert message.verdict["realised_monthly_savings_usd"] == -60.0


def test_regression_message_is_not_sent_when_the_workload_is_snoozed() -> None:
    _, (outcome,) = _regressed_weeks("api")
    snoozed = verdict("api", LaunchMode.FARGATE, 160.0)
    snoozed = snoozed.model_copy(update={"evidence": {**snoozed.evidence, "snoozed_until": "2030-01-01"}})
    publisher = _Publisher()

    assert publish_regressions([outcome], doc(T0 + 2 * WEEK, snoozed), publisher) == 0
    assert publisher.sent == []


def test_regressions_go_out_as_one_digest_when_more_than_the_threshold_are_due() -> None:
    names = ("a", "b", "c")
    weeks, outcomes = _regressed_weeks(*names)
    publisher = _Publisher()

    assert publish_regressions(outcomes, weeks[-1], publisher, digest_threshold=2) == 1
    (digest,) = publisher.sent
    assert digest.type == "digest" and digest.verdict["count"] == 3


def test_track_changes_measures_each_of_two_switches_only_up_to_the_next_when_a_workload_moved_twice() -> None:
    weeks = [
        doc(T0, web_on_ec2(146.0)),
        doc(T0 + WEEK, verdict("web", LaunchMode.FARGATE, 58.4)),
        doc(T0 + 2 * WEEK, verdict("web", LaunchMode.FARGATE, 58.4)),
        doc(T0 + 3 * WEEK, verdict("web", LaunchMode.FARGATE_SPOT, 14.6)),
        doc(T0 + 4 * WEEK, verdict("web", LaunchMode.FARGATE_SPOT, 14.6)),
    ]

    first, second = track_changes(weeks)

    # the move to Fargate is measured with week 3, before the move to Spot: $0.10 − $0.04 per task-hour
    assert (first.to_mode, first.realised_monthly_savings_usd) == ("FARGATE", pytest.approx(87.6))
    assert (second.from_mode, second.to_mode, second.realised_monthly_savings_usd) == (
        "FARGATE",
        "FARGATE_SPOT",
        pytest.approx(43.8),
    )


def test_track_changes_finds_nothing_when_no_workload_changed() -> None:
    assert track_changes([doc(T0, web_on_ec2()), doc(T0 + WEEK, web_on_ec2())]) == ()
    assert track_changes([doc(T0, web_on_ec2())]) == ()


def test_track_changes_drops_a_created_service_when_no_analysis_saw_it_before() -> None:
    event = load_event("cloudtrail_ecs_update_service_capacity_provider")
    event["detail"]["eventName"] = "CreateService"
    event["detail"]["requestParameters"] = {
        "cluster": "shop-ec2",
        "serviceName": "brand-new",
        "taskDefinition": "brand-new:1",
        "desiredCount": 2,
        "launchType": "FARGATE",
    }
    created = change_from_cloudtrail(event)
    assert created is not None and created.call == "CreateService"
    created = created.model_copy(update={"changed_at": T0 + timedelta(days=1)})
    weeks = [doc(T0, web_on_ec2()), doc(T0 + WEEK, web_on_ec2(), verdict("brand-new", LaunchMode.FARGATE, 40.0))]

    assert track_changes(weeks, [created]) == ()


# --------------------------------------------------------------------------- several accounts and regions


def _in(w: WorkloadVerdict, account: str, region: str = "us-east-1") -> WorkloadVerdict:
    return w.model_copy(update={"account": account, "region": region})


def test_diff_tells_two_accounts_same_named_workloads_apart_when_their_order_changes() -> None:
    ec2_here = _in(verdict("web", LaunchMode.EC2, 146.0), "111111111111")
    fargate_there = _in(verdict("web", LaunchMode.FARGATE, 40.0), "222222222222")
    before = doc(T0, ec2_here, fargate_there)
    after = doc(T0 + WEEK, fargate_there, ec2_here)  # the same fleet, listed the other way round

    assert diff_analyses(before, after) == ()
    moved = doc(T0 + 2 * WEEK, _in(verdict("web", LaunchMode.FARGATE, 40.0), "111111111111"), fargate_there)
    (change,) = diff_analyses(after, moved)
    assert (change.account, change.region, change.from_mode, change.to_mode) == (
        "111111111111",
        "us-east-1",
        "EC2",
        "FARGATE",
    )


def test_diff_matches_by_name_when_the_earlier_document_names_no_account() -> None:
    before = doc(T0, web_on_ec2())  # written before verdicts named their account
    after = doc(T0 + WEEK, _in(verdict("web", LaunchMode.FARGATE, 40.0), "111111111111"))

    (change,) = diff_analyses(before, after)

    assert (change.workload, change.from_mode, change.to_mode) == ("service:web", "EC2", "FARGATE")


def test_cloudtrail_change_names_the_account_and_region_of_its_event() -> None:
    event = load_event("cloudtrail_ecs_update_service_capacity_provider")

    change = change_from_cloudtrail(event)

    assert change is not None
    assert (change.account, change.region) == (event["account"], event["region"])
