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
    LEDGER_WINDOW_DAYS,
    MAX_BUCKETS_PER_EVENT,
    MAX_JSON_DEPTH,
    InvalidTaskEvent,
    billed_interval,
    deltas_for,
    parse_task_event,
    split_by_hour,
    start_moment,
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
        "account": "111122223333",
        "region": "eu-west-1",
        "detail": {
            "clusterArn": "arn:aws:ecs:eu-west-1:111122223333:cluster/c",
            "taskArn": "arn:aws:ecs:eu-west-1:111122223333:task/c/0f",
            "version": 1,
            "lastStatus": "X",
        },
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


# --------------------------------------------------------------------------- refused at the door

ACCOUNT = "123456789012"
REGION = "us-east-1"
# the sample STOPPED event was sent at 2026-11-20T03:12:21Z; "now" a little later
NOW = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)
BIG = "x" * 300_000


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _with(path: str, value: Any) -> dict[str, Any]:
    """The sample STOPPED event with one field (dotted path; a leading `-` deletes it) set to value."""
    event = copy.deepcopy(load_event(STOPPED))
    delete = path.startswith("-")
    *parents, last = path.lstrip("-").split(".")
    target = event
    for key in parents:
        target = target[key]
    if delete:
        del target[last]
    else:
        target[last] = value
    return event


def _body(event: dict[str, Any]) -> str:
    return json.dumps(event)


def _family(family: str) -> dict[str, Any]:
    """A task without a group: its group is `family:` + the family in its task definition ARN."""
    event = _with("-detail.group", None)
    event["detail"]["taskDefinitionArn"] = f"arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:1"
    return event


REJECTED: list[tuple[str, str | bytes, str]] = [  # (case, body, what the reason says)
    # nesting: measured before json recurses (3,000 deep must not raise RecursionError)
    ("nesting 3,000 deep", _nested(3000), f"nested deeper than {MAX_JSON_DEPTH} levels"),
    ("arrays 3,000 deep", "[" * 3000 + "]" * 3000, "nested deeper than"),
    ("unknown field nested 40 deep", _body(_with("detail.extra", json.loads(_nested(40)))), "nested deeper than"),
    ("NaN literal", _body(load_event(STOPPED)).replace('"version": 6', '"version": NaN'), "NaN is not a JSON"),
    ("5,000-digit integer", _body(load_event(STOPPED)).replace('"version": 6', '"version": ' + "9" * 5000), "not JSON"),
    ("invalid UTF-8 bytes", b'{"detail-type": "\xff"}', "not valid UTF-8"),
    # number ranges
    ("version 10^40", _body(_with("detail.version", 10**40)), "detail.version"),
    ("version 2^53", _body(_with("detail.version", 2**53)), "detail.version"),
    ("version negative", _body(_with("detail.version", -1)), "detail.version"),
    ("memory of 41 digits", _body(_with("detail.memory", "4" * 41)), "detail.memory"),
    ("memory above 32 TiB", _body(_with("detail.memory", str(32 * 1024 * 1024 + 1))), "detail.memory"),
    ("cpu above 192 vCPU", _body(_with("detail.cpu", "196609")), "detail.cpu"),
    ("cpu in non-ASCII digits", _body(_with("detail.cpu", "١٠٢٤")), "detail.cpu"),
    # string lengths within DynamoDB's key limits
    (
        "300 KB clusterArn",
        _body(_with("detail.clusterArn", "arn:aws:ecs:us-east-1:123456789012:cluster/" + BIG)),
        "detail.clusterArn",
    ),
    (
        "300 KB taskArn",
        _body(_with("detail.taskArn", "arn:aws:ecs:us-east-1:123456789012:task/prod/" + BIG)),
        "detail.taskArn",
    ),
    ("300 KB group", _body(_with("detail.group", "family:" + BIG)), "detail.group"),
    ("513-byte group", _body(_with("detail.group", "é" * 257)), "detail.group"),
    ("300 KB startedBy", _body(_with("detail.startedBy", BIG)), "detail.startedBy"),
    ("300 KB stopCode", _body(_with("detail.stopCode", BIG)), "detail.stopCode"),
    ("300 KB taskDefinitionArn", _body(_family(BIG)), "detail.taskDefinitionArn"),
    ("family of 256 characters", _body(_family("f" * 256)), "its family"),
    ("family with a space", _body(_family("nightly report")), "its family"),
    # valid UTF-8: no lone surrogates, in stored fields or anywhere else
    (
        "lone surrogate in group",
        _body(_with("detail.group", "family:a")).replace("family:a", "family:\\ud800"),
        "not valid UTF-8",
    ),
    (
        "lone surrogate in an unknown field",
        _body(_with("detail.note", "x")).replace('"note": "x"', '"note": "\\udfff"'),
        "not valid UTF-8",
    ),
    ("lone surrogate in a key", _body(_with("detail.note", "x")).replace('"note"', '"\\ud800"'), "not valid UTF-8"),
    # a cluster and a group that name something
    (
        "clusterArn ending in cluster/",
        _body(_with("detail.clusterArn", "arn:aws:ecs:us-east-1:123456789012:cluster/")),
        "cluster name",
    ),
    ("clusterArn not an ARN", _body(_with("detail.clusterArn", "prod")), "not an ECS cluster ARN"),
    ("empty group", _body(_with("detail.group", "")), "group is empty"),
    ("service group without a name", _body(_with("detail.group", "service:")), "service name"),
    ("blank group", _body(_with("detail.group", "  ")), "whitespace"),
    ("group with a newline", _body(_with("detail.group", "family:a\nb")), "control characters"),
    # account and region: required, and the cluster's and task's too
    ("no account", _body(_with("-account", None)), "missing field account"),
    ("no region", _body(_with("-region", None)), "missing field region"),
    ("account not 12 digits", _body(_with("account", "12345")), "account"),
    ("another account", _body(_with("account", "444455556666")), "event from account 444455556666"),
    ("another region", _body(_with("region", "eu-west-1")), "event from region eu-west-1"),
    (
        "cluster of another account",
        _body(_with("detail.clusterArn", "arn:aws:ecs:us-east-1:444455556666:cluster/prod")),
        "clusterArn belongs to another account",
    ),
    # timestamps after ECS existed, not in the future
    ("stoppedAt before ECS existed", _body(_with("detail.stoppedAt", "2014-11-12T23:59:59Z")), "before ECS existed"),
    ("pullStartedAt in 1970", _body(_with("detail.pullStartedAt", 0)), "before ECS existed"),
    ("stoppedAt three years ahead", _body(_with("detail.stoppedAt", "2029-11-20T03:12:20Z")), "later than the event"),
    ("stoppedAt in year 9999", _body(_with("detail.stoppedAt", "9999-12-31T23:59:59Z")), "detail.stoppedAt"),
    (
        "time in the future",
        _body(_with("time", "2026-11-21T00:00:00Z")),
        "time 2026-11-21T00:00:00+00:00 is in the future",
    ),
    (
        "stoppedAt 16 min after the event",
        _body(_with("detail.stoppedAt", "2026-11-20T03:28:22Z")),
        "later than the event",
    ),
]


@pytest.mark.parametrize(("case", "body", "message"), REJECTED, ids=[case for case, _, _ in REJECTED])
def test_parse_rejects_with_reason_when_event_is_outside_what_aws_sends(
    case: str, body: str | bytes, message: str
) -> None:
    with pytest.raises(InvalidTaskEvent) as raised:
        parse_task_event(body, now=NOW, account=ACCOUNT, region=REGION)

    assert message in str(raised.value)
    assert len(str(raised.value)) < 2_000  # the reason never quotes a 300 KB value back


def test_parse_rejects_without_recursion_error_when_an_object_is_nested_3000_deep() -> None:
    deep: Any = 1
    for _ in range(3000):
        deep = {"a": deep}
    event = _with("detail.extra", None)
    event["detail"]["extra"] = deep

    with pytest.raises(InvalidTaskEvent, match="nested deeper than"):
        parse_task_event(event)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("detail.version", 2**53 - 1),
        ("detail.cpu", "196608"),
        ("detail.memory", str(32 * 1024 * 1024)),
        ("detail.group", "family:" + "a" * 255),
        ("detail.group", "service:" + "a" * 255),
        ("detail.group", "databases"),  # a RunTask custom group
        ("detail.stoppedAt", "2026-11-20T03:27:20Z"),  # 15 min after the event: clock skew
        ("detail.extra", json.loads(_nested(MAX_JSON_DEPTH - 3))),
        ("detail.note", "naïve ☃ 𝄞"),
    ],
)
def test_parse_accepts_value_when_it_is_at_the_bound_aws_allows(path: str, value: Any) -> None:
    event = parse_task_event(_body(_with(path, value)), now=NOW, account=ACCOUNT, region=REGION)

    assert event.detail.cluster == "prod"


def test_parse_checks_no_clock_when_now_is_not_given() -> None:
    # offline callers (tests, the benchmark) parse recorded events without a clock
    event = parse_task_event(_with("time", "2031-01-01T00:00:00Z"))

    assert event.time == datetime(2031, 1, 1, tzinfo=UTC)


def test_start_moment_is_none_when_task_failed_to_start_without_started_at() -> None:
    event = parse_task_event(_with("detail.stopCode", "TaskFailedToStart"))
    failed = _with("detail.stopCode", "TaskFailedToStart")
    del failed["detail"]["startedAt"]

    never = parse_task_event(failed)

    assert start_moment(event) is not None  # it did start, then failed: a start
    assert start_moment(never) is None
    deltas = deltas_for(never, count_start=True)
    assert sum(d.starts for d in deltas) == 0
    assert sum(d.task_seconds for d in deltas) > 0  # Fargate still billed the image pull


# --------------------------------------------------------------------------- bounded work per event


def test_deltas_are_clipped_to_the_ledger_window_when_task_ran_for_years() -> None:
    event = parse_task_event(_stopped(pullStartedAt="2015-01-01T00:00:00Z", startedAt="2015-01-01T00:00:05Z"))

    deltas = deltas_for(event, count_start=True)

    assert len(deltas) <= MAX_BUCKETS_PER_EVENT
    assert sum(d.task_seconds for d in deltas) == pytest.approx(LEDGER_WINDOW_DAYS * 86_400)
    assert deltas[-1].hour_iso == "2026-11-20T03:00:00Z"  # the latest hours are the ones kept
    assert sum(d.starts for d in deltas) == 0  # the start hour expired long ago


def test_deltas_are_capped_when_stopped_at_is_three_years_ahead() -> None:
    # without `now` nothing refuses the date: the window still bounds the work to 1,682 buckets, not 57,659
    event = parse_task_event(_stopped(stoppedAt="2029-11-20T03:12:20Z"))

    deltas = deltas_for(event, count_start=True)

    assert len(deltas) == LEDGER_WINDOW_DAYS * 24 + 1 <= MAX_BUCKETS_PER_EVENT
    assert deltas[0].hour_iso == "2029-09-11T03:00:00Z"


def test_deltas_follow_a_shorter_retention_when_the_writer_keeps_fewer_days() -> None:
    event = parse_task_event(_stopped(pullStartedAt="2026-01-01T00:00:00Z", startedAt="2026-01-01T00:00:05Z"))

    deltas = deltas_for(event, retention=timedelta(days=15))
    longer = deltas_for(event, retention=timedelta(days=500))

    assert sum(d.task_seconds for d in deltas) == pytest.approx(15 * 86_400)
    assert len(longer) == LEDGER_WINDOW_DAYS * 24 + 1  # more retention never means more than the cap


def test_deltas_keep_the_start_when_it_lies_inside_the_window() -> None:
    event = parse_task_event(_stopped(pullStartedAt="2026-11-01T00:00:00Z", startedAt="2026-11-01T00:00:05Z"))

    deltas = deltas_for(event, count_start=True)

    assert [d.hour_iso for d in deltas if d.starts] == ["2026-11-01T00:00:00Z"]


@given(
    start=st.datetimes(min_value=datetime(2014, 11, 13), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)),
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650)),
    spot=st.booleans(),
    fargate=st.booleans(),
)
def test_deltas_never_exceed_the_bucket_cap_whatever_the_interval(
    start: datetime, length: timedelta, spot: bool, fargate: bool
) -> None:
    iso = "%Y-%m-%dT%H:%M:%S.%f"
    raw = _stopped(
        pullStartedAt=start.strftime(iso)[:-3] + "Z",
        startedAt=start.strftime(iso)[:-3] + "Z",
        stoppedAt=(start + length).strftime(iso)[:-3] + "Z",
        launchType="FARGATE" if fargate else "EC2",
        stopCode="SpotInterruption" if spot else "EssentialContainerExited",
    )

    deltas = deltas_for(parse_task_event(raw), count_start=True)

    assert len(deltas) <= MAX_BUCKETS_PER_EVENT
    assert sum(d.task_seconds for d in deltas) <= LEDGER_WINDOW_DAYS * 86_400 + 60
