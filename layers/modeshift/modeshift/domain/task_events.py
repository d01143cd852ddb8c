"""ECS Task State Change events: a strict-at-the-edges model of the EventBridge event and the hourly ledger arithmetic.

Fields ECS may add are kept (`model_extra`); what the ledger stores or keys on is checked against what AWS can
send, so a bad event is refused here, with its reason, instead of failing later inside the writer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from modeshift.domain.models import CPU_UNITS_PER_VCPU, MIB_PER_GIB, LaunchMode

DETAIL_TYPE = "ECS Task State Change"
SOURCE = "aws.ecs"
SPOT_INTERRUPTION = "SpotInterruption"
TASK_FAILED_TO_START = "TaskFailedToStart"
# Fargate (Linux) bills at least one minute per task, from image pull start to stop.
FARGATE_MINIMUM_SECONDS = 60
HOUR_SECONDS = 3600
_MS_PER_HOUR = HOUR_SECONDS * 1000

# --------------------------------------------------------------------------- bounds of what AWS can send
# Real task events nest 7 levels (detail.overrides.containerOverrides[].environment[]); 32 leaves room for
# new fields while json's recursion (about 1,000 levels) is never reached.
MAX_JSON_DEPTH = 32
# RFC 8259 §6: integers beyond 2^53 - 1 are not interoperable; ECS's version counts changes of one task.
MAX_VERSION = 2**53 - 1
# ECS Task.cpu: "between 128 CPU units (0.125 vCPUs) and 196608 CPU units (192 vCPUs)" on EC2; Fargate ≤ 16 vCPU.
MAX_CPU_UNITS = 196_608
# EC2 task memory is bounded only by the instance: the largest (u7in-32tb.224xlarge) has 32 TiB.
MAX_MEMORY_MIB = 32 * 1024 * 1024
# DynamoDB sort keys are ≤ 1,024 bytes: an open-task marker's is `{group}#{taskArn}`, so the two share it.
MAX_GROUP_BYTES = 512
MAX_TASK_ARN_BYTES = 1024 - MAX_GROUP_BYTES - 1
# ECS task groups are ≤ 255 characters; a service's group adds the `service:` prefix.
MAX_GROUP_CHARS = 255 + len("service:")
# ECS RunTask startedBy: up to 128 characters; statuses, launch types and stop codes are short enums.
MAX_STARTED_BY_CHARS = 128
MAX_ENUM_CHARS = 64
# Capacity provider names: up to 255 characters. ARNs the ledger only reads: 1,600 characters, above any ECS ARN.
MAX_NAME_CHARS = 255
MAX_ARN_CHARS = 1600
# ECS was announced (in preview) on 2014-11-13; no task ran before. Later than now + skew is a clock error.
ECS_EPOCH = datetime(2014, 11, 13, tzinfo=UTC)
MAX_CLOCK_SKEW = timedelta(minutes=15)
# Keeps `moment + retention` arithmetic far from datetime's year-9999 ceiling when no `now` is given.
_LATEST_MOMENT = datetime(9000, 1, 1, tzinfo=UTC)
# The ledger keeps this many days (its DEFAULT_RETENTION_DAYS): a stopped task's interval is clipped to the
# last LEDGER_WINDOW_DAYS before its stop, so one event touches at most MAX_BUCKETS_PER_EVENT hourly buckets.
LEDGER_WINDOW_DAYS = 70
# 70 days cut at hour boundaries touch 1,681 hours, plus the stop hour of an hour-aligned stop (spot bucket).
MAX_BUCKETS_PER_EVENT = LEDGER_WINDOW_DAYS * 24 + 2

_PARTITION = r"aws(?:-[a-z]+)*"
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}"
_ACCOUNT = r"\d{12}"
_NAME = r"[A-Za-z0-9_-]{1,255}"  # ECS cluster, service and task-definition family names
_CLUSTER_ARN = re.compile(rf"^arn:{_PARTITION}:ecs:(?P<region>{_REGION}):(?P<account>{_ACCOUNT}):cluster/(?P<name>.*)$")
_TASK_ARN = re.compile(rf"^arn:{_PARTITION}:ecs:(?P<region>{_REGION}):(?P<account>{_ACCOUNT}):task/[A-Za-z0-9_/-]+$")
_NAME_RE = re.compile(rf"^{_NAME}$")
_ACCOUNT_RE = re.compile(rf"^{_ACCOUNT}$")
_REGION_RE = re.compile(rf"^{_REGION}$")
_DIGITS = re.compile(r"^[0-9]{1,12}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A JSON string (escapes included) or one bracket: enough to measure nesting without parsing.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


class InvalidTaskEvent(ValueError):
    """The event is not an ECS Task State Change this ledger can use; the message says why."""


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    # ECS sends ISO timestamps with a Z; a naive one can only mean UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _plausible(value: datetime | None) -> datetime | None:
    """UTC, not before ECS existed and far from datetime's ceiling (the future is judged against `now`)."""
    value = _as_utc(value)
    if value is not None and value < ECS_EPOCH:
        raise ValueError(f"{value.isoformat()} is before ECS existed ({ECS_EPOCH.date()})")
    if value is not None and value >= _LATEST_MOMENT:
        raise ValueError(f"{value.isoformat()} is not a plausible moment")
    return value


def _utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _printable(value: str, what: str) -> str:
    if _CONTROL.search(value):
        raise ValueError(f"{what} contains control characters")
    if value != value.strip():
        raise ValueError(f"{what} has leading or trailing whitespace")
    return value


class TaskStateChangeDetail(BaseModel):
    """The `detail` of an ECS Task State Change; unknown fields are kept in `model_extra`."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    cluster_arn: str = Field(alias="clusterArn", min_length=1, max_length=MAX_ARN_CHARS)
    task_arn: str = Field(alias="taskArn", min_length=1, max_length=MAX_TASK_ARN_BYTES)
    version: int = Field(ge=0, le=MAX_VERSION)
    last_status: str = Field(alias="lastStatus", min_length=1, max_length=MAX_ENUM_CHARS)
    desired_status: str | None = Field(default=None, alias="desiredStatus", max_length=MAX_ENUM_CHARS)
    group: str | None = Field(default=None, max_length=MAX_GROUP_CHARS)
    started_by: str | None = Field(default=None, alias="startedBy", max_length=MAX_STARTED_BY_CHARS)
    launch_type: str | None = Field(default=None, alias="launchType", max_length=MAX_ENUM_CHARS)
    capacity_provider_name: str | None = Field(default=None, alias="capacityProviderName", max_length=MAX_NAME_CHARS)
    task_definition_arn: str | None = Field(default=None, alias="taskDefinitionArn", max_length=MAX_ARN_CHARS)
    cpu: int | None = Field(default=None, ge=0, le=MAX_CPU_UNITS, description="task-level CPU units")
    memory: int | None = Field(default=None, ge=0, le=MAX_MEMORY_MIB, description="task-level memory, MiB")
    created_at: datetime | None = Field(default=None, alias="createdAt")
    pull_started_at: datetime | None = Field(default=None, alias="pullStartedAt")
    started_at: datetime | None = Field(default=None, alias="startedAt")
    stopping_at: datetime | None = Field(default=None, alias="stoppingAt")
    stopped_at: datetime | None = Field(default=None, alias="stoppedAt")
    stop_code: str | None = Field(default=None, alias="stopCode", max_length=MAX_ENUM_CHARS)
    container_instance_arn: str | None = Field(default=None, alias="containerInstanceArn", max_length=MAX_ARN_CHARS)
    attributes: tuple[dict[str, Any], ...] = ()

    @field_validator("version", mode="before")
    @classmethod
    def _integer_version(cls, value: Any) -> Any:
        # A bool is an int to Python and a digit string is an int to pydantic's lax mode: neither is a version.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be an integer, got {type(value).__name__}")
        return value

    @field_validator("cpu", "memory", mode="before")
    @classmethod
    def _units_from_string(cls, value: Any) -> Any:
        """ECS sends task-level cpu and memory as strings of integers ("256", "512")."""
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, str) and _DIGITS.match(value.strip()):
            return int(value.strip())
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "…"
        raise ValueError(f"must be an integer or a string of at most 12 digits, got {shown}")

    @field_validator("created_at", "pull_started_at", "started_at", "stopping_at", "stopped_at", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _plausible(value)

    @field_validator("cluster_arn")
    @classmethod
    def _cluster_arn(cls, value: str) -> str:
        match = _CLUSTER_ARN.match(value)
        if match is None:
            raise ValueError("not an ECS cluster ARN (arn:PARTITION:ecs:REGION:ACCOUNT:cluster/NAME)")
        if not _NAME_RE.match(match.group("name")):
            raise ValueError("cluster name must be 1 to 255 letters, digits, hyphens or underscores")
        return value

    @field_validator("task_arn")
    @classmethod
    def _task_arn(cls, value: str) -> str:
        if not _TASK_ARN.match(value) or _utf8_bytes(value) > MAX_TASK_ARN_BYTES:
            raise ValueError(f"not an ECS task ARN of at most {MAX_TASK_ARN_BYTES} bytes")
        return value

    @field_validator("group")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _printable(value, "group")
        if not value:
            raise ValueError("group is empty")
        if _utf8_bytes(value) > MAX_GROUP_BYTES:
            raise ValueError(f"group is longer than {MAX_GROUP_BYTES} bytes")
        kind, colon, name = value.partition(":")
        if colon and kind in ("service", "family") and not _NAME_RE.match(name):
            raise ValueError(f"{kind} name must be 1 to 255 letters, digits, hyphens or underscores")
        return value

    @field_validator("last_status", "desired_status", "launch_type", "stop_code", "capacity_provider_name")
    @classmethod
    def _short_text(cls, value: str | None) -> str | None:
        return None if value is None else _printable(value, "value")

    @field_validator("started_by")
    @classmethod
    def _started_by(cls, value: str | None) -> str | None:
        return None if value is None else _printable(value, "startedBy")

    @model_validator(mode="after")
    def _derived_fields_are_usable(self) -> TaskStateChangeDetail:
        if self.group is None and self.task_definition_arn:
            family = self.task_definition_arn.rsplit("/", 1)[-1].partition(":")[0]
            if not _NAME_RE.match(family):
                raise ValueError("taskDefinitionArn: its family (the group of a task without one) is not a valid name")
        architecture = self.cpu_architecture
        if architecture is not None and (len(architecture) > MAX_ENUM_CHARS or _CONTROL.search(architecture)):
            raise ValueError("attributes: ecs.cpu-architecture is not a short name")
        return self

    @property
    def cluster(self) -> str:
        """Cluster name: the last segment of `arn:aws:ecs:REGION:ACCOUNT:cluster/NAME`."""
        return self.cluster_arn.rsplit("/", 1)[-1]

    @property
    def ledger_group(self) -> str:
        """`service:NAME` or `family:NAME` as ECS gives it; without one, the family of the task definition."""
        if self.group:
            return self.group
        if self.task_definition_arn:
            family = self.task_definition_arn.rsplit("/", 1)[-1].partition(":")[0]
            return f"family:{family}"
        return "family:unknown"

    @property
    def launch_mode(self) -> LaunchMode:
        """FARGATE_SPOT from the capacity provider, FARGATE from the launch type, anything else runs on EC2."""
        if self.capacity_provider_name == "FARGATE_SPOT":
            return LaunchMode.FARGATE_SPOT
        if self.capacity_provider_name == "FARGATE" or self.launch_type == "FARGATE":
            return LaunchMode.FARGATE
        return LaunchMode.EC2

    @property
    def cpu_architecture(self) -> str | None:
        for attribute in self.attributes:
            if attribute.get("name") == "ecs.cpu-architecture":
                value = attribute.get("value")
                return str(value) if value is not None else None
        return None

    @property
    def billing_start(self) -> datetime | None:
        """Fargate bills from image pull start; EC2 capacity is paid anyway, so the task's share starts at RUNNING."""
        if self.launch_mode is LaunchMode.EC2:
            return self.started_at
        return self.pull_started_at or self.started_at

    @property
    def is_running(self) -> bool:
        return self.last_status == "RUNNING"

    @property
    def is_stopped(self) -> bool:
        return self.last_status == "STOPPED"

    @property
    def is_spot_interruption(self) -> bool:
        return self.stop_code == SPOT_INTERRUPTION


class TaskStateChangeEvent(BaseModel):
    """The EventBridge envelope around a task state change; unknown fields are kept.

    `account` and `region` are required (EventBridge always sends them) and must be those of the cluster ARN.
    """

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    version: str | int | None = None
    id: str | None = None
    detail_type: str = Field(alias="detail-type")
    source: str
    account: str = Field(pattern=_ACCOUNT_RE.pattern)
    time: datetime | None = None
    region: str = Field(pattern=_REGION_RE.pattern)
    resources: tuple[str, ...] = ()
    detail: TaskStateChangeDetail

    @field_validator("time", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _plausible(value)

    @model_validator(mode="after")
    def _arns_belong_to_the_envelope(self) -> TaskStateChangeEvent:
        for field, match in (
            ("clusterArn", _CLUSTER_ARN.match(self.detail.cluster_arn)),
            ("taskArn", _TASK_ARN.match(self.detail.task_arn)),
        ):
            if match is not None and (match.group("account"), match.group("region")) != (self.account, self.region):
                raise ValueError(f"detail.{field} belongs to another account or region than the event")
        return self

    @property
    def timestamps(self) -> dict[str, datetime]:
        """Every moment the event carries, by its field name (envelope `time` included)."""
        detail = self.detail
        moments = {
            "time": self.time,
            "detail.createdAt": detail.created_at,
            "detail.pullStartedAt": detail.pull_started_at,
            "detail.startedAt": detail.started_at,
            "detail.stoppingAt": detail.stopping_at,
            "detail.stoppedAt": detail.stopped_at,
        }
        return {name: moment for name, moment in moments.items() if moment is not None}


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "event"
        if error["type"] == "missing":
            problems.append(f"missing field {where}")
        else:
            problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


def _nesting_exceeds(text: str, limit: int) -> bool:
    """Whether JSON text nests objects/arrays deeper than `limit`, measured without parsing (strings skipped)."""
    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        first = text[token.start()]
        if first == '"':
            continue
        if first in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_tree(data: Any) -> None:
    """Nesting within MAX_JSON_DEPTH and every string (keys too) encodable as UTF-8 (no lone surrogates)."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "event")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidTaskEvent(f"{where}: not valid UTF-8 (a lone surrogate)") from None
            continue
        if not isinstance(value, Mapping | list | tuple):
            continue
        if depth > MAX_JSON_DEPTH:
            raise InvalidTaskEvent(f"nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, Mapping):
            for key, item in value.items():
                name = key if isinstance(key, str) else repr(key)
                stack.append((key, depth, f"a key of {where}"))
                stack.append((item, depth + 1, f"{where}.{name[:40]}"))
        else:
            stack.extend((item, depth + 1, f"{where}[{index}]") for index, item in enumerate(value))


def _decode(raw: str | bytes) -> Any:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidTaskEvent(f"not JSON: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    # json recurses once per level: measure first, so a body nested thousands deep is refused, not a crash.
    if _nesting_exceeds(raw, MAX_JSON_DEPTH):
        raise InvalidTaskEvent(f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidTaskEvent(f"not JSON: {exc}") from None
    except RecursionError:
        raise InvalidTaskEvent(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer literal of more than 4,300 digits
        raise InvalidTaskEvent(f"not JSON: {str(exc)[:120]}") from None


def _check_moments(event: TaskStateChangeEvent, now: datetime) -> None:
    """No moment after the event was sent (its `time`) or after `now`, beyond MAX_CLOCK_SKEW."""
    now = now.astimezone(UTC)
    if event.time is not None and event.time > now + MAX_CLOCK_SKEW:
        raise InvalidTaskEvent(f"time {event.time.isoformat()} is in the future (now {now.isoformat()})")
    latest = min(now, event.time) if event.time is not None else now
    for name, moment in event.timestamps.items():
        if moment > latest + MAX_CLOCK_SKEW:
            raise InvalidTaskEvent(
                f"{name} {moment.isoformat()} is later than the event itself ({latest.isoformat()}) "
                f"by more than {int(MAX_CLOCK_SKEW.total_seconds() // 60)} minutes"
            )


def parse_task_event(
    raw: str | bytes | Mapping[str, Any],
    *,
    now: datetime | None = None,
    account: str | None = None,
    region: str | None = None,
) -> TaskStateChangeEvent:
    """An EventBridge `ECS Task State Change` from JSON text (or an already decoded object).

    Raises InvalidTaskEvent, naming the first problem a person would look at, for anything AWS cannot send:
    nesting deeper than MAX_JSON_DEPTH, invalid UTF-8, numbers and strings outside ECS's and DynamoDB's
    bounds, an empty cluster or group, timestamps before ECS existed. `account`/`region`, when given, must be
    the event's; `now`, when given, bounds every timestamp (MAX_CLOCK_SKEW later at most).
    """
    data: Any = _decode(raw) if isinstance(raw, str | bytes) else raw
    if not isinstance(data, Mapping):
        raise InvalidTaskEvent(f"not a JSON object: got {type(data).__name__}")
    _check_tree(data)
    detail_type = data.get("detail-type")
    source = data.get("source")
    if detail_type != DETAIL_TYPE or source != SOURCE:
        raise InvalidTaskEvent(
            f"not an ECS task state change: detail-type {str(detail_type)[:80]!r} from source "
            f"{str(source)[:80]!r}, expected {DETAIL_TYPE!r} from {SOURCE!r}"
        )
    if not isinstance(data.get("detail"), Mapping):
        raise InvalidTaskEvent(f"detail is not an object: got {type(data.get('detail')).__name__}")
    if account is not None and "account" in data and data["account"] != account:
        raise InvalidTaskEvent(f"event from account {str(data['account'])[:40]}, this function serves {account}")
    if region is not None and "region" in data and data["region"] != region:
        raise InvalidTaskEvent(f"event from region {str(data['region'])[:40]}, this function serves {region}")
    try:
        event = TaskStateChangeEvent.model_validate(dict(data))
    except ValidationError as exc:
        raise InvalidTaskEvent(f"invalid ECS task state change: {_describe(exc)}") from None
    if now is not None:
        _check_moments(event, now)
    return event


# --------------------------------------------------------------------------- ledger arithmetic


@dataclass(frozen=True, slots=True)
class LedgerDelta:
    """What one event adds to one (cluster, group, hour) bucket of the task ledger.

    task_seconds: seconds of task lifetime inside the hour; vcpu_seconds and gb_seconds weight them by the
    task's size (None when the event carries no task-level size: unknown, not zero).
    """

    cluster: str
    group: str
    hour: datetime
    task_seconds: float = 0.0
    vcpu_seconds: float | None = None
    gb_seconds: float | None = None
    starts: int = 0
    spot_interruptions: int = 0

    @property
    def hour_iso(self) -> str:
        return hour_iso(self.hour)


def hour_iso(hour: datetime) -> str:
    """`2026-01-05T13:00:00Z`: the sortable text form of a UTC hour used in ledger keys."""
    return hour.astimezone(UTC).strftime("%Y-%m-%dT%H:00:00Z")


def floor_hour(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def _epoch_ms(moment: datetime) -> int:
    moment = moment.astimezone(UTC)
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1))


def _from_epoch_ms(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def split_by_hour(start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """[start, end) cut at UTC hour boundaries: (hour, milliseconds inside it); the pieces sum to end - start."""
    start_ms, end_ms = _epoch_ms(start), _epoch_ms(end)
    pieces: list[tuple[datetime, int]] = []
    cursor = start_ms
    while cursor < end_ms:
        hour_start = cursor - cursor % _MS_PER_HOUR
        piece_end = min(end_ms, hour_start + _MS_PER_HOUR)
        pieces.append((_from_epoch_ms(hour_start), piece_end - cursor))
        cursor = piece_end
    return pieces


def ledger_window(retention: timedelta | None = None) -> timedelta:
    """How much of a stopped task's life the ledger records: its retention, at most LEDGER_WINDOW_DAYS."""
    cap = timedelta(days=LEDGER_WINDOW_DAYS)
    return cap if retention is None else max(timedelta(0), min(retention, cap))


def billed_interval(
    detail: TaskStateChangeDetail, *, retention: timedelta | None = None
) -> tuple[datetime, datetime] | None:
    """The [start, stop) the ledger counts for a stopped task, None when it never started or has no stop time.

    Fargate and Fargate Spot: from pullStartedAt, at least FARGATE_MINIMUM_SECONDS; EC2: from startedAt.
    Clipped to the last `ledger_window(retention)` before the stop: older hours would expire (TTL) on arrival.
    """
    start, stop = detail.billing_start, detail.stopped_at
    if start is None or stop is None:
        return None
    if stop < start:
        stop = start
    if detail.launch_mode is not LaunchMode.EC2:
        stop = max(stop, start + timedelta(seconds=FARGATE_MINIMUM_SECONDS))
    return max(start, stop - ledger_window(retention)), stop


def start_moment(event: TaskStateChangeEvent) -> datetime | None:
    """When the task started running: startedAt, else the billing start; None for a task that never started.

    A task stopped with TaskFailedToStart and no startedAt never ran, whatever its image pull did.
    """
    detail = event.detail
    if detail.started_at is None and detail.stop_code == TASK_FAILED_TO_START:
        return None
    return detail.started_at or detail.billing_start


def _weighted(seconds: float, units: int | None, per: int) -> float | None:
    if units is None:
        return None
    return round(seconds * units / per, 6)


def deltas_for(
    event: TaskStateChangeEvent, *, count_start: bool | None = None, retention: timedelta | None = None
) -> list[LedgerDelta]:
    """The ledger buckets one event touches, one delta per distinct hour, in hour order.

    RUNNING: starts +1 in the hour the task started. STOPPED: the billed interval split across UTC hours,
    plus spot_interruptions +1 in the stop hour when stopCode is SpotInterruption. count_start forces the
    start in or out (a STOPPED event counts it when its RUNNING event was never recorded); a start before the
    clipped interval (see billed_interval) is outside the ledger's window and not counted.
    Any other status touches no bucket. At most MAX_BUCKETS_PER_EVENT deltas, the latest hours kept.
    """
    detail = event.detail
    cluster, group = detail.cluster, detail.ledger_group
    if count_start is None:
        count_start = detail.is_running
    interval = billed_interval(detail, retention=retention) if detail.is_stopped else None
    buckets: dict[datetime, dict[str, Any]] = {}

    def bucket(hour: datetime) -> dict[str, Any]:
        return buckets.setdefault(hour, {"ms": 0, "starts": 0, "spot": 0})

    # the first hour the ledger window holds: a start before it belongs to an hour already expired
    horizon = floor_hour(interval[1] - ledger_window(retention)) if interval is not None else None
    started = start_moment(event) if count_start else None
    if started is not None and (horizon is None or floor_hour(started) >= horizon):
        bucket(floor_hour(started))["starts"] += 1
    if interval is not None:
        for hour, ms in split_by_hour(*interval):
            bucket(hour)["ms"] += ms
    if detail.is_stopped and detail.is_spot_interruption and detail.stopped_at is not None:
        bucket(floor_hour(detail.stopped_at))["spot"] += 1

    deltas = []
    for hour in sorted(buckets)[-MAX_BUCKETS_PER_EVENT:]:
        values = buckets[hour]
        seconds = values["ms"] / 1000
        deltas.append(
            LedgerDelta(
                cluster=cluster,
                group=group,
                hour=hour,
                task_seconds=seconds,
                vcpu_seconds=_weighted(seconds, detail.cpu, CPU_UNITS_PER_VCPU),
                gb_seconds=_weighted(seconds, detail.memory, MIB_PER_GIB),
                starts=values["starts"],
                spot_interruptions=values["spot"],
            )
        )
    return deltas


__all__ = [
    "DETAIL_TYPE",
    "ECS_EPOCH",
    "FARGATE_MINIMUM_SECONDS",
    "LEDGER_WINDOW_DAYS",
    "MAX_BUCKETS_PER_EVENT",
    "MAX_CLOCK_SKEW",
    "MAX_JSON_DEPTH",
    "SOURCE",
    "SPOT_INTERRUPTION",
    "TASK_FAILED_TO_START",
    "InvalidTaskEvent",
    "LedgerDelta",
    "TaskStateChangeDetail",
    "TaskStateChangeEvent",
    "billed_interval",
    "deltas_for",
    "floor_hour",
    "hour_iso",
    "ledger_window",
    "parse_task_event",
    "split_by_hour",
    "start_moment",
]
