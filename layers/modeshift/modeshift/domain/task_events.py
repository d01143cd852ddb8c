"""ECS Task State Change events: a lenient model of the EventBridge event and the hourly ledger arithmetic."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from modeshift.domain.models import CPU_UNITS_PER_VCPU, MIB_PER_GIB, LaunchMode

DETAIL_TYPE = "ECS Task State Change"
SOURCE = "aws.ecs"
SPOT_INTERRUPTION = "SpotInterruption"
# Fargate (Linux) bills at least one minute per task, from image pull start to stop.
FARGATE_MINIMUM_SECONDS = 60
HOUR_SECONDS = 3600
_MS_PER_HOUR = HOUR_SECONDS * 1000


class InvalidTaskEvent(ValueError):
    """The event is not an ECS Task State Change this ledger can use; the message says why."""


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    # ECS sends ISO timestamps with a Z; a naive one can only mean UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class TaskStateChangeDetail(BaseModel):
    """The `detail` of an ECS Task State Change; unknown fields are kept in `model_extra`."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    cluster_arn: str = Field(alias="clusterArn", min_length=1)
    task_arn: str = Field(alias="taskArn", min_length=1)
    version: int = Field(ge=0)
    last_status: str = Field(alias="lastStatus", min_length=1)
    desired_status: str | None = Field(default=None, alias="desiredStatus")
    group: str | None = None
    started_by: str | None = Field(default=None, alias="startedBy")
    launch_type: str | None = Field(default=None, alias="launchType")
    capacity_provider_name: str | None = Field(default=None, alias="capacityProviderName")
    task_definition_arn: str | None = Field(default=None, alias="taskDefinitionArn")
    cpu: int | None = Field(default=None, ge=0, description="task-level CPU units")
    memory: int | None = Field(default=None, ge=0, description="task-level memory, MiB")
    created_at: datetime | None = Field(default=None, alias="createdAt")
    pull_started_at: datetime | None = Field(default=None, alias="pullStartedAt")
    started_at: datetime | None = Field(default=None, alias="startedAt")
    stopping_at: datetime | None = Field(default=None, alias="stoppingAt")
    stopped_at: datetime | None = Field(default=None, alias="stoppedAt")
    stop_code: str | None = Field(default=None, alias="stopCode")
    container_instance_arn: str | None = Field(default=None, alias="containerInstanceArn")
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
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        raise ValueError(f"must be an integer or a string of digits, got {value!r}")

    @field_validator("created_at", "pull_started_at", "started_at", "stopping_at", "stopped_at", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)

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
    """The EventBridge envelope around a task state change; unknown fields are kept."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    version: str | int | None = None
    id: str | None = None
    detail_type: str = Field(alias="detail-type")
    source: str
    account: str | None = None
    time: datetime | None = None
    region: str | None = None
    resources: tuple[str, ...] = ()
    detail: TaskStateChangeDetail

    @field_validator("time", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "event"
        if error["type"] == "missing":
            problems.append(f"missing field {where}")
        else:
            problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


def parse_task_event(raw: str | bytes | Mapping[str, Any]) -> TaskStateChangeEvent:
    """An EventBridge `ECS Task State Change` from JSON text (or an already decoded object).

    Raises InvalidTaskEvent, naming the first problem a person would look at, for anything else.
    """
    if isinstance(raw, str | bytes):
        try:
            data: Any = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidTaskEvent(f"not JSON: {exc}") from None
    else:
        data = raw
    if not isinstance(data, Mapping):
        raise InvalidTaskEvent(f"not a JSON object: got {type(data).__name__}")
    detail_type = data.get("detail-type")
    source = data.get("source")
    if detail_type != DETAIL_TYPE or source != SOURCE:
        raise InvalidTaskEvent(
            f"not an ECS task state change: detail-type {detail_type!r} from source {source!r}, "
            f"expected {DETAIL_TYPE!r} from {SOURCE!r}"
        )
    if not isinstance(data.get("detail"), Mapping):
        raise InvalidTaskEvent(f"detail is not an object: got {type(data.get('detail')).__name__}")
    try:
        return TaskStateChangeEvent.model_validate(dict(data))
    except ValidationError as exc:
        raise InvalidTaskEvent(f"invalid ECS task state change: {_describe(exc)}") from None


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


def billed_interval(detail: TaskStateChangeDetail) -> tuple[datetime, datetime] | None:
    """The [start, stop) the ledger counts for a stopped task, None when it never started or has no stop time.

    Fargate and Fargate Spot: from pullStartedAt, at least FARGATE_MINIMUM_SECONDS; EC2: from startedAt.
    """
    start, stop = detail.billing_start, detail.stopped_at
    if start is None or stop is None:
        return None
    if stop < start:
        stop = start
    if detail.launch_mode is not LaunchMode.EC2:
        stop = max(stop, start + timedelta(seconds=FARGATE_MINIMUM_SECONDS))
    return start, stop


def start_moment(event: TaskStateChangeEvent) -> datetime | None:
    """When the task started running: startedAt, else the billing start; None for a task that never started."""
    detail = event.detail
    return detail.started_at or detail.billing_start


def _weighted(seconds: float, units: int | None, per: int) -> float | None:
    if units is None:
        return None
    return round(seconds * units / per, 6)


def deltas_for(event: TaskStateChangeEvent, *, count_start: bool | None = None) -> list[LedgerDelta]:
    """The ledger buckets one event touches, one delta per distinct hour, in hour order.

    RUNNING: starts +1 in the hour the task started. STOPPED: the billed interval split across UTC hours,
    plus spot_interruptions +1 in the stop hour when stopCode is SpotInterruption. count_start forces the
    start in or out (a STOPPED event counts it when its RUNNING event was never recorded).
    Any other status touches no bucket.
    """
    detail = event.detail
    cluster, group = detail.cluster, detail.ledger_group
    if count_start is None:
        count_start = detail.is_running
    buckets: dict[datetime, dict[str, Any]] = {}

    def bucket(hour: datetime) -> dict[str, Any]:
        return buckets.setdefault(hour, {"ms": 0, "starts": 0, "spot": 0})

    if count_start and (started := start_moment(event)) is not None:
        bucket(floor_hour(started))["starts"] += 1
    if detail.is_stopped:
        interval = billed_interval(detail)
        if interval is not None:
            for hour, ms in split_by_hour(*interval):
                bucket(hour)["ms"] += ms
        if detail.is_spot_interruption and detail.stopped_at is not None:
            bucket(floor_hour(detail.stopped_at))["spot"] += 1

    deltas = []
    for hour in sorted(buckets):
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
    "FARGATE_MINIMUM_SECONDS",
    "SOURCE",
    "SPOT_INTERRUPTION",
    "InvalidTaskEvent",
    "LedgerDelta",
    "TaskStateChangeDetail",
    "TaskStateChangeEvent",
    "billed_interval",
    "deltas_for",
    "floor_hour",
    "hour_iso",
    "parse_task_event",
    "split_by_hour",
    "start_moment",
]
