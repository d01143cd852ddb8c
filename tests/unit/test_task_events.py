"""Task State Change parsing (lenient, with clear refusals) and the hourly ledger arithmetic."""

from __future__ import annotations

import copy
import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modeshift.domain.models import LaunchMode
from modeshift.domain.task_events import (
    InvalidTaskEvent,
    billed_interval,
    deltas_for,
    parse_task_event,
    split_by_hour,
)
from tests.events import load_event

RUNNING = "ecs_task_state_change_running_fargate"
STOPPED = "ecs_task_state_change_stopped_fargate"
SPOT = "ecs_task_state_change_stopped_fargate_spot_interruption"
EC2 = "ecs_task_state_change_stopped_ec2"


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _stopped(**detail: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event(STOPPED))
    event["detail"].update(detail)
    return event


# --------------------------------------------------------------------------- parsing


def test_parse_reads_every_ledger_field_when_given_real_fargate_event() -> None:
    event = parse_task_event(json.dumps(load_event(STOPPED)))

    detail = event.detail
    assert event.detail_type == "ECS Task State Change"
    assert event.account == "123456789012"
    assert event.region == "us-east-1"
    assert detail.cluster == "prod"
    assert detail.ledger_group == "family:nightly-report"
    assert (detail.cpu, detail.memory) == (1024, 2048)
    assert detail.version == 6
    assert detail.last_status == "STOPPED"
    assert detail.launch_mode is LaunchMode.FARGATE
    assert detail.cpu_architecture == "x86_64"
    assert detail.pull_started_at == datetime(2026, 11, 20, 1, 58, 30, 120_000, tzinfo=UTC)
    assert detail.stop_code == "EssentialContainerExited"


def test_parse_keeps_unknown_fields_when_ecs_adds_some() -> None:
    raw = _stopped(brandNewField={"x": 1})
    raw["newEnvelopeField"] = "kept"

    event = parse_task_event(raw)

    assert event.detail.model_extra is not None
    assert event.detail.model_extra["brandNewField"] == {"x": 1}
    assert event.detail.model_extra["stoppedReason"] == "Essential container in task exited"
    assert event.model_extra is not None and event.model_extra["newEnvelopeField"] == "kept"


def test_parse_accepts_minimal_event_when_optional_fields_are_absent() -> None:
    raw = {
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "detail": {"clusterArn": "arn:aws:ecs:us-east-1:1:cluster/c", "taskArn": "t", "version": 1, "lastStatus": "X"},
    }

    event = parse_task_event(raw)

    assert event.detail.cpu is None
    assert event.detail.ledger_group == "family:unknown"
    assert event.detail.launch_mode is LaunchMode.EC2


def test_parse_identifies_fargate_spot_and_ec2_when_given_their_events() -> None:
    assert parse_task_event(load_event(SPOT)).detail.launch_mode is LaunchMode.FARGATE_SPOT
    ec2 = parse_task_event(load_event(EC2)).detail
    assert ec2.launch_mode is LaunchMode.EC2
    assert ec2.container_instance_arn is not None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"detail-type": "ECS Task State Ch', "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ("[1, 2]", "not a JSON object: got list"),
        ('"text"', "not a JSON object: got str"),
        (
            json.dumps({**load_event(STOPPED), "detail-type": "ECS Container Instance State Change"}),
            "not an ECS task state change: detail-type 'ECS Container Instance State Change'",
        ),
        (json.dumps({**load_event(STOPPED), "source": "my.app"}), "from source 'my.app'"),
        (json.dumps({**load_event(STOPPED), "detail": "{}"}), "detail is not an object: got str"),
    ],
)
def test_parse_raises_invalid_task_event_when_envelope_is_wrong(raw: str | bytes, message: str) -> None:
    with pytest.raises(InvalidTaskEvent, match=re.escape(message)):
        parse_task_event(raw)


@pytest.mark.parametrize("field", ["taskArn", "clusterArn", "version", "lastStatus"])
def test_parse_names_the_missing_field_when_a_required_one_is_absent(field: str) -> None:
    raw = _stopped()
    del raw["detail"][field]

    with pytest.raises(InvalidTaskEvent, match=f"missing field detail.{field}"):
        parse_task_event(raw)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("version", "six"),
        ("version", "6"),
        ("version", True),
        ("version", 6.5),
        ("cpu", {"units": 1024}),
        ("cpu", "1 vCPU"),
        ("memory", -1),
        ("stoppedAt", "yesterday"),
        ("taskArn", 42),
        ("lastStatus", ["STOPPED"]),
        ("attributes", "x86_64"),
    ],
)
def test_parse_names_the_field_when_a_value_has_the_wrong_type(field: str, value: Any) -> None:
    with pytest.raises(InvalidTaskEvent, match=rf"invalid ECS task state change: .*detail\.{field}"):
        parse_task_event(_stopped(**{field: value}))


def test_invalid_task_event_is_a_value_error() -> None:
    assert issubclass(InvalidTaskEvent, ValueError)


# --------------------------------------------------------------------------- ledger arithmetic


def test_deltas_split_stopped_fargate_task_across_hours_from_pull_start() -> None:
    deltas = deltas_for(parse_task_event(load_event(STOPPED)))

    assert [(d.hour_iso, d.task_seconds) for d in deltas] == [
        ("2026-11-20T01:00:00Z", 89.88),
        ("2026-11-20T02:00:00Z", 3600.0),
        ("2026-11-20T03:00:00Z", 740.5),
    ]
    assert [d.vcpu_seconds for d in deltas] == [89.88, 3600.0, 740.5]  # 1024 CPU units = 1 vCPU
    assert [d.gb_seconds for d in deltas] == [179.76, 7200.0, 1481.0]  # 2048 MiB = 2 GB
    assert all(d.starts == 0 and d.spot_interruptions == 0 for d in deltas)
    assert {(d.cluster, d.group) for d in deltas} == {("prod", "family:nightly-report")}


def test_deltas_count_one_start_in_start_hour_when_task_is_running() -> None:
    (delta,) = deltas_for(parse_task_event(load_event(RUNNING)))

    assert (delta.hour_iso, delta.starts, delta.task_seconds) == ("2026-11-20T01:00:00Z", 1, 0.0)


def test_deltas_count_spot_interruption_in_stop_hour_when_stop_code_says_so() -> None:
    deltas = deltas_for(parse_task_event(load_event(SPOT)))

    assert [(d.hour_iso, d.task_seconds, d.spot_interruptions) for d in deltas] == [
        ("2026-11-20T09:00:00Z", 777.75, 0),
        ("2026-11-20T10:00:00Z", 941.731, 1),
    ]
    assert deltas[0].vcpu_seconds == 388.875  # 512 CPU units = 0.5 vCPU


def test_deltas_bill_ec2_task_from_started_at_without_minimum() -> None:
    deltas = deltas_for(parse_task_event(load_event(EC2)))

    # startedAt 04:59:30.000 → stoppedAt 05:00:15.500: 45.5 s, not from pullStartedAt, no 60 s minimum
    assert [(d.hour_iso, d.task_seconds, d.vcpu_seconds, d.gb_seconds) for d in deltas] == [
        ("2026-11-20T04:00:00Z", 30.0, 60.0, 90.0),
        ("2026-11-20T05:00:00Z", 15.5, 31.0, 46.5),
    ]


def test_deltas_apply_fargate_one_minute_minimum_when_task_stops_quickly() -> None:
    event = parse_task_event(
        _stopped(
            pullStartedAt="2026-11-20T06:59:40.000Z", startedAt="2026-11-20T06:59:45Z", stoppedAt="2026-11-20T06:59:50Z"
        )
    )

    deltas = deltas_for(event)

    assert [(d.hour_iso, d.task_seconds) for d in deltas] == [
        ("2026-11-20T06:00:00Z", 20.0),
        ("2026-11-20T07:00:00Z", 40.0),
    ]


def test_deltas_count_start_in_stopped_event_when_asked() -> None:
    deltas = deltas_for(parse_task_event(load_event(STOPPED)), count_start=True)

    assert [d.starts for d in deltas] == [1, 0, 0]


def test_deltas_are_empty_when_task_never_started_or_status_is_intermediate() -> None:
    never = parse_task_event(_stopped(pullStartedAt=None, startedAt=None))
    pending = parse_task_event(_stopped(lastStatus="PENDING", stoppedAt=None))

    assert billed_interval(never.detail) is None
    assert deltas_for(never) == []
    assert deltas_for(pending) == []


def test_deltas_leave_vcpu_and_gb_unknown_when_event_has_no_task_size() -> None:
    raw = load_event(EC2)
    del raw["detail"]["cpu"], raw["detail"]["memory"]

    deltas = deltas_for(parse_task_event(raw))

    assert [d.task_seconds for d in deltas] == [30.0, 15.5]
    assert all(d.vcpu_seconds is None and d.gb_seconds is None for d in deltas)


def test_split_by_hour_keeps_whole_interval_inside_one_hour() -> None:
    assert split_by_hour(_utc("2026-01-01T10:05:00Z"), _utc("2026-01-01T10:06:00.5Z")) == [
        (_utc("2026-01-01T10:00:00Z"), 60_500)
    ]
    assert split_by_hour(_utc("2026-01-01T10:05:00Z"), _utc("2026-01-01T10:05:00Z")) == []


_moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)).map(
    lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000)
)


@given(start=_moments, length_ms=st.integers(min_value=0, max_value=10 * 86_400_000))
def test_split_by_hour_pieces_sum_to_interval_length(start: datetime, length_ms: int) -> None:
    end = start + timedelta(milliseconds=length_ms)

    pieces = split_by_hour(start, end)

    assert sum(ms for _, ms in pieces) == length_ms
    assert all(0 < ms <= 3_600_000 for _, ms in pieces)
    assert all(hour.minute == hour.second == hour.microsecond == 0 for hour, _ in pieces)
    hours = [hour for hour, _ in pieces]
    assert hours == sorted(set(hours))
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(hours))


@given(start=_moments, length_ms=st.integers(min_value=0, max_value=3 * 86_400_000), fargate=st.booleans())
def test_deltas_task_seconds_sum_to_billed_interval(start: datetime, length_ms: int, fargate: bool) -> None:
    stop = start + timedelta(milliseconds=length_ms)
    iso = "%Y-%m-%dT%H:%M:%S.%f"
    raw = _stopped(
        pullStartedAt=start.strftime(iso)[:-3] + "Z",
        startedAt=start.strftime(iso)[:-3] + "Z",
        stoppedAt=stop.strftime(iso)[:-3] + "Z",
        launchType="FARGATE" if fargate else "EC2",
    )

    deltas = deltas_for(parse_task_event(raw))

    expected_ms = max(length_ms, 60_000) if fargate else length_ms
    assert sum(d.task_seconds for d in deltas) == pytest.approx(expected_ms / 1000, abs=1e-6)
    assert sum(round(d.task_seconds * 1000) for d in deltas) == expected_ms
