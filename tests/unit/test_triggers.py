"""parse_trigger: every event shape analyze_fleet meets, and malformed input that must never raise."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modeshift.domain.triggers import (
    MAX_TRIGGER_CLUSTERS,
    AlarmTrigger,
    IgnoredTrigger,
    SweepTrigger,
    account_and_region_of,
    alarm_name_for,
    parse_trigger,
)
from tests.events import load_event

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _parse(event: Any) -> Any:
    return parse_trigger(event, account=ACCOUNT, region=REGION)


def test_scheduled_rule_event_is_a_sweep() -> None:
    event = load_event("scheduled_eventbridge")
    assert _parse(event) == SweepTrigger(event_id=event["id"], source="aws.events")


def test_scheduler_event_with_string_detail_is_a_sweep() -> None:
    event = load_event("scheduled_scheduler")
    assert event["detail"] == "{}"
    assert _parse(event) == SweepTrigger(event_id=event["id"], source="aws.scheduler")


@pytest.mark.parametrize("detail", [{}, {"anything": 1}, "", None, '{"note": "x"}'])
def test_scheduler_event_is_a_sweep_when_detail_is_any_object(detail: Any) -> None:
    event = load_event("scheduled_scheduler")
    event["detail"] = detail
    assert isinstance(_parse(event), SweepTrigger)


def test_scheduled_event_detail_clusters_narrow_the_sweep() -> None:
    event = load_event("scheduled_scheduler")
    event["detail"] = '{"clusters": ["shop-ec2", "core-ec2"]}'
    assert _parse(event).clusters == ("shop-ec2", "core-ec2")


@pytest.mark.parametrize(
    ("event", "clusters"),
    [({}, ()), ({"clusters": ["shop-ec2"]}, ("shop-ec2",)), ({"clusters": ["a", "a", "b_2"]}, ("a", "b_2"))],
)
def test_manual_invoke_is_a_sweep(event: dict[str, Any], clusters: tuple[str, ...]) -> None:
    assert _parse(event) == SweepTrigger(event_id=None, clusters=clusters)


def test_low_reservation_alarm_names_its_cluster_from_the_metric_dimension() -> None:
    event = load_event("alarm_state_change_low_reservation")
    assert _parse(event) == AlarmTrigger(
        event_id=event["id"], alarm_name="modeshift-shop-ec2-low-reservation", cluster="shop-ec2"
    )


def test_alarm_cluster_comes_from_its_name_when_no_dimension() -> None:
    event = load_event("alarm_state_change_low_reservation")
    event["detail"]["alarmName"] = alarm_name_for("core-ec2")
    del event["detail"]["configuration"]
    assert _parse(event).cluster == "core-ec2"


def test_alarm_dimension_in_list_shape_is_read() -> None:
    event = load_event("alarm_state_change_low_reservation")
    metric = event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]
    metric["dimensions"] = [{"Name": "ClusterName", "Value": "shop-ec2"}]
    del event["detail"]["configuration"]["metrics"][1]
    assert _parse(event).cluster == "shop-ec2"


def test_parse_trigger_rejects_alarm_when_one_of_its_metrics_names_another_cluster() -> None:
    event = load_event("alarm_state_change_low_reservation")
    metrics = event["detail"]["configuration"]["metrics"]
    metrics[1]["metricStat"]["metric"]["dimensions"] = {"ClusterName": "other"}
    trigger = _parse(event)
    assert isinstance(trigger, IgnoredTrigger)
    assert "named for cluster 'shop-ec2' but its ClusterName dimension says 'other'" in trigger.reason


def test_foreign_alarm_is_ignored() -> None:
    trigger = _parse(load_event("alarm_state_change_other"))
    assert isinstance(trigger, IgnoredTrigger)
    assert "not a modeshift alarm" in trigger.reason


@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA", None])
def test_modeshift_alarm_not_in_alarm_state_is_ignored(state: Any) -> None:
    event = load_event("alarm_state_change_low_reservation")
    event["detail"]["state"]["value"] = state
    assert isinstance(_parse(event), IgnoredTrigger)


def test_event_from_another_account_or_region_is_ignored() -> None:
    event = load_event("scheduled_eventbridge")
    assert isinstance(parse_trigger(event, account="999999999999", region=REGION), IgnoredTrigger)
    assert isinstance(parse_trigger(event, account=ACCOUNT, region="eu-west-1"), IgnoredTrigger)
    assert isinstance(parse_trigger(event), SweepTrigger)  # nothing to compare with


def _mutations() -> list[Any]:
    alarm = load_event("alarm_state_change_low_reservation")
    out: list[Any] = [None, 1, "x", [], [{}], True, {"source": "aws.events"}, {"detail-type": 3, "source": None}]
    for path, value in [
        (("detail",), None),
        (("detail",), "oops"),
        (("detail", "alarmName"), 7),
        (("detail", "alarmName"), ""),
        (("detail", "state"), "ALARM"),
        (("detail-type",), "Unknown Thing"),
        (("source",), "aws.ecs"),
    ]:
        event = copy.deepcopy(alarm)
        target = event
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        out.append(event)
    scheduled = load_event("scheduled_scheduler")
    for detail in ["not json", "[1, 2]", 5, ["x"], '{"clusters": "shop"}', {"clusters": [1]}, {"clusters": ["a b"]}]:
        out.append({**scheduled, "detail": detail})
    out += [{"clusters": "shop-ec2"}, {"clusters": [None]}, {"key1": "value1"}, {"id": {"nested": 1}, "source": 1}]
    return out


@pytest.mark.parametrize("event", _mutations())
def test_malformed_event_is_ignored_with_a_reason_never_raised(event: Any) -> None:
    trigger = _parse(event)
    assert isinstance(trigger, IgnoredTrigger)
    assert trigger.reason


@pytest.mark.parametrize(
    "configuration",
    [[], "x", {"metrics": {"id": 1}}, {"metrics": [None, 3, {"metricStat": "x"}, {"metricStat": {"metric": 1}}]}],
)
def test_alarm_with_malformed_configuration_falls_back_to_its_name(configuration: Any) -> None:
    event = load_event("alarm_state_change_low_reservation")
    event["detail"]["configuration"] = configuration
    assert _parse(event).cluster == "shop-ec2"


def test_modeshift_alarm_with_no_cluster_anywhere_is_ignored() -> None:
    event = load_event("alarm_state_change_low_reservation")
    event["detail"]["alarmName"] = "modeshift-something-else"
    event["detail"]["configuration"] = {"metrics": [{"id": "e1", "expression": "1", "returnData": True}]}
    assert isinstance(_parse(event), IgnoredTrigger)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)


@given(json_values)
def test_parse_trigger_never_raises_on_any_json(event: Any) -> None:
    parse_trigger(event, account=ACCOUNT, region=REGION)


@given(st.dictionaries(st.sampled_from(["alarmName", "state", "configuration", "x"]), json_values))
def test_parse_trigger_never_raises_on_any_alarm_detail(detail: dict[str, Any]) -> None:
    event = load_event("alarm_state_change_low_reservation")
    event["detail"] = detail
    parse_trigger(event, account=ACCOUNT, region=REGION)


def test_account_and_region_come_from_the_function_arn() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:modeshift-AnalyzeFleet"
    assert account_and_region_of(arn) == (ACCOUNT, REGION)
    assert account_and_region_of("nonsense") == (None, None)
    assert account_and_region_of(None) == (None, None)


# --------------------------------------------------------------------------- bounds and agreement


def _names(count: int) -> list[str]:
    return [f"cluster-{index:04d}" for index in range(count)]


@pytest.mark.parametrize("where", ["manual", "scheduled"])
def test_parse_trigger_ignores_sweep_when_it_names_more_than_100_clusters(where: str) -> None:
    names = _names(MAX_TRIGGER_CLUSTERS + 1)
    event: dict[str, Any] = {"clusters": names}
    if where == "scheduled":
        event = {**load_event("scheduled_scheduler"), "detail": json.dumps({"clusters": names})}

    trigger = _parse(event)

    assert isinstance(trigger, IgnoredTrigger)
    assert "101 clusters named, at most 100 per event" in trigger.reason


def test_parse_trigger_accepts_sweep_when_it_names_exactly_100_clusters() -> None:
    assert _parse({"clusters": _names(MAX_TRIGGER_CLUSTERS)}).clusters == tuple(_names(MAX_TRIGGER_CLUSTERS))


def test_parse_trigger_refuses_a_million_names_without_looking_at_them() -> None:
    trigger = _parse({"clusters": [{"not": "a name"}] * 1_000_000})

    assert isinstance(trigger, IgnoredTrigger) and "1000000 clusters named" in trigger.reason


@pytest.mark.parametrize(
    ("dimensions", "shown"),
    [
        ({"ClusterName": "core-ec2"}, "'core-ec2'"),
        ([{"Name": "ClusterName", "Value": "core-ec2"}], "'core-ec2'"),
        ({"ClusterName": ["shop-ec2"]}, "<list>"),
        ({"ClusterName": None}, "<NoneType>"),
        ({"ClusterName": "shop ec2"}, "'shop ec2'"),
    ],
)
def test_parse_trigger_rejects_alarm_when_its_dimension_disagrees_with_its_name(dimensions: Any, shown: str) -> None:
    event = load_event("alarm_state_change_low_reservation")
    for member in event["detail"]["configuration"]["metrics"]:
        if "metricStat" in member:
            member["metricStat"]["metric"]["dimensions"] = dimensions

    trigger = _parse(event)

    assert isinstance(trigger, IgnoredTrigger)
    assert f"ClusterName dimension says {shown}: rejected" in trigger.reason
    assert trigger.event_id == event["id"]


def test_parse_trigger_ignores_alarm_when_its_name_holds_no_valid_cluster() -> None:
    event = load_event("alarm_state_change_low_reservation")
    event["detail"]["alarmName"] = "modeshift-shop ec2-low-reservation"

    trigger = _parse(event)

    assert isinstance(trigger, IgnoredTrigger) and "names no cluster" in trigger.reason


def test_parse_trigger_ignores_scheduled_event_when_detail_string_is_nested_3000_deep() -> None:
    event = {**load_event("scheduled_scheduler"), "detail": "[" * 3000 + "]" * 3000}

    trigger = _parse(event)

    assert isinstance(trigger, IgnoredTrigger) and "not JSON" in trigger.reason


def test_parse_trigger_keeps_reasons_short_when_values_are_huge() -> None:
    event = load_event("alarm_state_change_low_reservation")
    event["detail"]["alarmName"] = "modeshift-" + "x" * 100_000
    deep: Any = []
    for _ in range(900):
        deep = [deep]
    scheduled = {**load_event("scheduled_scheduler"), "detail": {"clusters": [deep, "x" * 100_000]}}

    for trigger in (_parse(event), _parse(scheduled)):
        assert isinstance(trigger, IgnoredTrigger) and len(trigger.reason) < 400
