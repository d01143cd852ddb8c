"""DynamoDB task ledger: hourly task-lifetime buckets per (cluster, group, hour), written once per task event,
and an open-task marker per running task, so a task that has not stopped yet counts too."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

if TYPE_CHECKING:  # the writer (ingest's cold start) never needs numpy; only the reader does
    import numpy as np

from modeshift.adapters.aws_errors import translate
from modeshift.domain.models import LaunchMode, MetricSeries
from modeshift.domain.task_events import (
    HOUR_SECONDS,
    LEDGER_WINDOW_DAYS,
    LedgerDelta,
    TaskStateChangeEvent,
    deltas_for,
    floor_hour,
    hour_iso,
    split_by_hour,
    start_moment,
)
from modeshift.errors import AwsCallError, ThrottledError
from modeshift.table import PK, SK, TTL_ATTRIBUTE, ledger_key, open_task_key, task_key

# TransactWriteItems takes at most 100 actions: the task item, the open-task marker's Put (at the start) or
# Delete (at the close) when there is one, and the buckets: 99, or 98 beside a marker. A task that ran longer
# is written in several transactions, chained through the task item's buckets_done counter; only the first
# carries the marker.
MAX_TRANSACTION_ITEMS = 100
BUCKETS_PER_TRANSACTION = MAX_TRANSACTION_ITEMS - 1
# A STOPPED event re-reads the task item and tries again when its first guess was wrong (RUNNING never
# recorded, or a concurrent writer); more than this many conflicts in a row is an error worth a retry.
MAX_ATTEMPTS = 3
# Bucket hours older than the retention would expire on arrival: a close writes at most the last
# min(retention, LEDGER_WINDOW_DAYS) days of its task (MAX_BUCKETS_PER_EVENT buckets, 17 transactions).
DEFAULT_RETENTION_DAYS = LEDGER_WINDOW_DAYS

_THROTTLED_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"})

Outcome = Literal["recorded", "duplicate"]


class _ConditionFailed(Exception):
    """The task item's condition failed: the event is stale, a duplicate, or was planned on a wrong guess."""


def _number(value: float | int) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _epoch_seconds(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())


@dataclass(slots=True)
class _Update:
    """One Update action, built with a placeholder for every name (ledger names such as `group` are reserved)."""

    key: dict[str, str]
    sets: dict[str, Any] = field(default_factory=dict)
    adds: dict[str, Any] = field(default_factory=dict)
    condition: str | None = None
    condition_values: dict[str, Any] = field(default_factory=dict)

    def action(self, table_name: str) -> dict[str, Any]:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}

        def name(attribute: str) -> str:
            placeholder = f"#{attribute}"
            names[placeholder] = attribute
            return placeholder

        clauses = []
        if self.sets:
            parts = []
            for index, (attribute, value) in enumerate(self.sets.items()):
                values[f":s{index}"] = value
                parts.append(f"{name(attribute)} = :s{index}")
            clauses.append("SET " + ", ".join(parts))
        if self.adds:
            parts = []
            for index, (attribute, value) in enumerate(self.adds.items()):
                values[f":a{index}"] = value
                parts.append(f"{name(attribute)} :a{index}")
            clauses.append("ADD " + ", ".join(parts))
        update: dict[str, Any] = {
            "TableName": table_name,
            "Key": self.key,
            "UpdateExpression": " ".join(clauses),
        }
        if self.condition:
            condition = self.condition
            for attribute in ("version", "started", "closed", "buckets_done", "group"):
                if f"#{attribute}" in condition:
                    name(attribute)
            update["ConditionExpression"] = condition
            # DynamoDB rejects a value the expressions do not use
            values.update(
                {key: value for key, value in self.condition_values.items() if re.search(rf"{key}\b", condition)}
            )
        update["ExpressionAttributeNames"] = names
        if values:
            update["ExpressionAttributeValues"] = values
        return {"Update": update}


@dataclass(frozen=True, slots=True)
class _Marker:
    """The open-task marker's Put (item given) or Delete (item None); unconditional: the task item's condition
    in the same transaction already decides whether the event counts."""

    key: dict[str, str]
    item: dict[str, Any] | None = None

    def action(self, table_name: str) -> dict[str, Any]:
        if self.item is None:
            return {"Delete": {"TableName": table_name, "Key": self.key}}
        return {"Put": {"TableName": table_name, "Item": {**self.key, **self.item}}}


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one event writes: the task item's update, the marker action if any, the bucket deltas (hour order)."""

    task: _Update
    deltas: tuple[LedgerDelta, ...]
    # set when the deltas start at an offset (a resumed multi-transaction close)
    first_bucket: int = 0
    marker: _Marker | None = None

    @property
    def first_chunk(self) -> int:
        """Buckets that fit in the first transaction beside the task item and the marker."""
        return BUCKETS_PER_TRANSACTION - (1 if self.marker else 0)


class TaskLedgerWriter:
    """Records ECS task state changes: one in-flight item per task, ADD counters per hourly bucket.

    Per event, normally one TransactWriteItems of 1 task item + 1 item per distinct (cluster, group, hour),
    + 1 open-task marker (`OPEN#{cluster}`) Put by the event that counts the start, Deleted by the close.
    A marker exists exactly while the task item has `started` and not `closed`, the start counted by a RUNNING
    event: a STOPPED that counts the start itself closes the task at once and writes no marker.
    """

    def __init__(self, table: Any, *, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self._table = table
        self._client = table.meta.client
        self._retention = timedelta(days=retention_days)

    # ------------------------------------------------------------------ public

    def record(self, event: TaskStateChangeEvent) -> Outcome:
        """ "recorded", or "duplicate" when the task item shows this event (or a later one) already counted."""
        plan = self._first_guess(event)
        for _ in range(MAX_ATTEMPTS):
            try:
                self._write(event, plan)
                return "recorded"
            except _ConditionFailed:
                if not self._is_closing(event):
                    # RUNNING and intermediate events plan on the only state in which they count anything.
                    return "duplicate"
            known = self._read_task(event.detail.task_arn)
            replanned = self._plan_from(event, known)
            if replanned is None:
                return "duplicate"
            plan = replanned
        raise AwsCallError(
            "TransactWriteItems", "ConditionalCheckFailed", f"task {event.detail.task_arn} kept changing under us"
        )

    # ------------------------------------------------------------------ planning

    @staticmethod
    def _is_closing(event: TaskStateChangeEvent) -> bool:
        return event.detail.is_stopped and event.detail.stopped_at is not None

    def _task_update(self, event: TaskStateChangeEvent) -> _Update:
        detail = event.detail
        sets: dict[str, Any] = {
            "version": detail.version,
            "last_status": detail.last_status,
            "cluster": detail.cluster,
            "group": detail.ledger_group,
            "launch_mode": detail.launch_mode.value,
        }
        optional = {
            "desired_status": detail.desired_status,
            "launch_type": detail.launch_type,
            "capacity_provider": detail.capacity_provider_name,
            "cpu_units": detail.cpu,
            "memory_mib": detail.memory,
            "cpu_architecture": detail.cpu_architecture,
            "started_by": detail.started_by,
            "start": detail.billing_start.isoformat() if detail.billing_start else None,
            "stopped_at": detail.stopped_at.isoformat() if detail.stopped_at else None,
            "stop_code": detail.stop_code,
        }
        sets.update({key: value for key, value in optional.items() if value is not None})
        moment = event.time or detail.stopped_at or detail.started_at or detail.created_at
        if moment is not None:
            sets[TTL_ATTRIBUTE] = _epoch_seconds(moment + self._retention)
        return _Update(key=task_key(detail.task_arn), sets=sets, condition_values={":v": detail.version})

    def _first_guess(self, event: TaskStateChangeEvent) -> _Plan:
        """The plan for the usual order of events (RUNNING recorded before STOPPED)."""
        task = self._task_update(event)
        fresh = "(attribute_not_exists(#version) OR #version < :v)"
        can_start = start_moment(event) is not None
        if self._is_closing(event):
            return self._closing_plan(event, task, count_start=False, expect_started=can_start, pinned=None)
        deltas = tuple(deltas_for(event, retention=self._retention))
        if any(delta.starts for delta in deltas):
            # Several RUNNING events arrive per task (health changes…): only the first counts a start.
            task.condition = f"{fresh} AND attribute_not_exists(#started) AND attribute_not_exists(#closed)"
            task.sets["started"] = True
            return _Plan(task=task, deltas=deltas, marker=self._open_marker(event, task))
        task.condition = f"{fresh} AND attribute_not_exists(#closed)"
        return _Plan(task=task, deltas=())

    def _closing_plan(
        self,
        event: TaskStateChangeEvent,
        task: _Update,
        *,
        count_start: bool,
        expect_started: bool,
        pinned: int | None,
        marker_group: str | None = None,
    ) -> _Plan:
        """STOPPED with a stop time: counts the interval once and closes the task item for good.

        A started task's marker is deleted under the group the task item holds: marker_group when re-planned
        from the item, else the event's, checked by the condition (a mismatch re-plans from the item).
        """
        if pinned is None:
            # the usual case: a RUNNING with a lower version was recorded, so the item exists
            version = "#version < :v"
        elif pinned < 0:
            version = "attribute_not_exists(#version)"
        else:
            version = "#version = :old"
            task.condition_values[":old"] = pinned
        started = "#started = :yes" if expect_started else "attribute_not_exists(#started)"
        if expect_started:
            task.condition_values[":yes"] = True
        task.condition = f"{version} AND {started} AND attribute_not_exists(#closed)"
        marker = None
        if expect_started:
            # started without closed: its RUNNING event left a marker, which goes with the close
            if marker_group is None:
                marker_group = event.detail.ledger_group
                task.condition += " AND #group = :g"
                task.condition_values[":g"] = marker_group
            marker = _Marker(key=open_task_key(event.detail.cluster, marker_group, event.detail.task_arn))
        deltas = tuple(deltas_for(event, count_start=count_start, retention=self._retention))
        plan = _Plan(task=task, deltas=deltas, marker=marker)
        task.sets["closed"] = True
        task.sets["buckets_total"] = len(deltas)
        task.sets["buckets_done"] = min(len(deltas), plan.first_chunk)
        if count_start:
            task.sets["started"] = True
            task.sets["start_counted_at_close"] = True
        return plan

    def _plan_from(self, event: TaskStateChangeEvent, known: dict[str, Any] | None) -> _Plan | None:
        """Re-plan a STOPPED event from the task item as it is; None when there is nothing left to count."""
        detail = event.detail
        old_version = int(known["version"]) if known and "version" in known else None
        if known and known.get("closed"):
            total, done = int(known.get("buckets_total", 0)), int(known.get("buckets_done", 0))
            if old_version == detail.version and done < total:
                return self._resume_plan(event, known, done)
            return None
        if old_version is not None and old_version >= detail.version:
            return None
        started = bool(known and known.get("started"))
        count_start = not started and start_moment(event) is not None
        return self._closing_plan(
            event,
            self._task_update(event),
            count_start=count_start,
            expect_started=started,
            pinned=-1 if old_version is None else old_version,
            marker_group=str(known.get("group") or detail.ledger_group) if known else None,
        )

    def _resume_plan(self, event: TaskStateChangeEvent, known: dict[str, Any], done: int) -> _Plan:
        """A close that wrote its first transactions and then failed: continue from buckets_done."""
        counted = bool(known.get("start_counted_at_close"))
        deltas = tuple(deltas_for(event, count_start=counted, retention=self._retention))
        task = _Update(
            key=task_key(event.detail.task_arn),
            sets={"buckets_done": min(len(deltas), done + BUCKETS_PER_TRANSACTION)},
            condition="#version = :v AND #buckets_done = :done",
            condition_values={":v": event.detail.version, ":done": done},
        )
        return _Plan(task=task, deltas=deltas[done:], first_bucket=done)

    def _open_marker(self, event: TaskStateChangeEvent, task: _Update) -> _Marker:
        """What the reader needs to count a task that has not stopped: its billing start, size and mode."""
        detail = event.detail
        start = detail.billing_start or start_moment(event)
        item: dict[str, Any] = {
            "cluster": detail.cluster,
            "group": detail.ledger_group,
            "task_arn": detail.task_arn,
            "launch_mode": detail.launch_mode.value,
        }
        optional = {
            "start": start.isoformat() if start else None,
            "cpu_units": detail.cpu,
            "memory_mib": detail.memory,
            # expires with the task item: a marker must never outlive the item whose close deletes it
            TTL_ATTRIBUTE: task.sets.get(TTL_ATTRIBUTE),
        }
        item.update({key: value for key, value in optional.items() if value is not None})
        return _Marker(key=open_task_key(detail.cluster, detail.ledger_group, detail.task_arn), item=item)

    # ------------------------------------------------------------------ writing

    def _bucket_update(self, event: TaskStateChangeEvent, delta: LedgerDelta) -> _Update:
        detail = event.detail
        sets: dict[str, Any] = {
            "cluster": delta.cluster,
            "group": delta.group,
            "hour": delta.hour_iso,
            "launch_mode": detail.launch_mode.value,
            TTL_ATTRIBUTE: _epoch_seconds(delta.hour + self._retention),
        }
        if detail.cpu is not None:
            sets["cpu_units"] = detail.cpu
        if detail.memory is not None:
            sets["memory_mib"] = detail.memory
        adds: dict[str, Any] = {
            "task_seconds": _number(delta.task_seconds),
            "starts": delta.starts,
            "spot_interruptions": delta.spot_interruptions,
        }
        if delta.vcpu_seconds is not None:
            adds["vcpu_seconds"] = _number(delta.vcpu_seconds)
        if delta.gb_seconds is not None:
            adds["gb_seconds"] = _number(delta.gb_seconds)
        return _Update(key=ledger_key(delta.cluster, delta.group, delta.hour_iso), sets=sets, adds=adds)

    def _write(self, event: TaskStateChangeEvent, plan: _Plan) -> None:
        name = self._table.name
        deltas = plan.deltas
        first, rest = deltas[: plan.first_chunk], deltas[plan.first_chunk :]
        # the task item goes first: a cancelled transaction's first reason tells a duplicate apart
        head = [plan.task.action(name)] + ([plan.marker.action(name)] if plan.marker else [])
        self._transact(head + [self._bucket_update(event, d).action(name) for d in first])
        done = plan.first_bucket + len(first)
        while rest:
            chunk, rest = rest[:BUCKETS_PER_TRANSACTION], rest[BUCKETS_PER_TRANSACTION:]
            follow = _Update(
                key=task_key(event.detail.task_arn),
                sets={"buckets_done": done + len(chunk)},
                condition="#version = :v AND #buckets_done = :done",
                condition_values={":v": event.detail.version, ":done": done},
            )
            self._transact([follow.action(name)] + [self._bucket_update(event, d).action(name) for d in chunk])
            done += len(chunk)

    def _transact(self, actions: list[dict[str, Any]]) -> None:
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            if code == "TransactionCanceledException":
                reasons = [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    raise _ConditionFailed from None
                if any(reason in _THROTTLED_REASONS for reason in reasons):
                    raise ThrottledError(f"TransactWriteItems throttled or conflicted: {reasons}") from None
            raise translate(exc, operation="TransactWriteItems", permission="dynamodb:TransactWriteItems") from None

    def _read_task(self, task_arn: str) -> dict[str, Any] | None:
        try:
            answer = self._table.get_item(Key=task_key(task_arn), ConsistentRead=True)
        except ClientError as exc:
            raise translate(exc, operation="GetItem", permission="dynamodb:GetItem") from None
        item: dict[str, Any] | None = answer.get("Item")
        return item


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class LedgerUsage:
    """One group's hourly ledger: values[i] covers [start + i h, start + (i+1) h).

    avg_tasks = task_seconds / 3600 (average running tasks), stopped tasks from their buckets plus tasks still
    open (started, not stopped) from their billing start up to the window's end. NaN before the cluster's
    ledger began (the earliest bucket or open task's start hour of the cluster): unknown; 0 afterwards in an
    hour without a bucket or an open task: no task ran.
    """

    start: datetime
    period_seconds: int
    avg_tasks: np.ndarray
    starts: np.ndarray
    spot_interruptions: np.ndarray
    ledger_start: datetime | None
    cpu_units: int | None = None
    memory_mib: int | None = None
    launch_mode: LaunchMode | None = None

    @property
    def task_count(self) -> MetricSeries:
        return MetricSeries(start=self.start, period_seconds=self.period_seconds, values=self.avg_tasks)


@dataclass(frozen=True, slots=True)
class _OpenTask:
    """A task the ledger saw start and not yet stop (its `OPEN#` marker)."""

    group: str
    start: datetime
    cpu_units: int | None
    memory_mib: int | None
    launch_mode: LaunchMode | None


@dataclass(frozen=True, slots=True)
class _PartitionIndex:
    groups: tuple[str, ...]
    earliest_hour: datetime | None
    open_tasks: tuple[_OpenTask, ...] = ()


def _open_task(item: dict[str, Any]) -> _OpenTask | None:
    """A marker as the reader uses it; None for one without a readable start (nothing to count from)."""
    try:
        start = datetime.fromisoformat(str(item["start"]).replace("Z", "+00:00"))
        mode = LaunchMode(str(item["launch_mode"])) if "launch_mode" in item else None
    except (KeyError, ValueError):
        return None
    return _OpenTask(
        group=str(item.get("group", "")),
        start=start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC),
        cpu_units=int(item["cpu_units"]) if "cpu_units" in item else None,
        memory_mib=int(item["memory_mib"]) if "memory_mib" in item else None,
        launch_mode=mode,
    )


class TaskLedgerReader:
    """Reads the hourly ledger of one cluster: paginated Queries over its bucket and open-task partitions."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._index: dict[str, _PartitionIndex] = {}

    def groups(self, cluster: str) -> list[str]:
        """Every group (`service:NAME`, `family:NAME`) the ledger holds for the cluster, sorted."""
        return list(self._partition(cluster).groups)

    def families(self, cluster: str) -> list[str]:
        """Task families run outside services (groups `family:NAME`), as NAMEs, sorted."""
        return [group.partition(":")[2] for group in self.groups(cluster) if group.startswith("family:")]

    def ledger_start(self, cluster: str) -> datetime | None:
        """The earliest hour any task of the cluster was recorded (bucket or open task's start hour)."""
        return self._partition(cluster).earliest_hour

    def hourly(self, cluster: str, group: str, start: datetime, end: datetime) -> LedgerUsage:
        """Hours from floor(start) up to end (exclusive; a partial last hour is included).

        A task still open counts as running from max(its billing start, floor(start)) up to end; its start
        is already in the bucket its RUNNING event wrote, so it is not counted again.
        """
        first = floor_hour(start)
        periods = max(0, math.ceil((end.astimezone(UTC) - first).total_seconds() / HOUR_SECONDS))
        last = first + timedelta(hours=max(periods - 1, 0))
        ledger_start = self.ledger_start(cluster)
        import numpy as np

        avg = np.full(periods, np.nan)
        starts = np.full(periods, np.nan)
        spot = np.full(periods, np.nan)
        if ledger_start is not None:
            offset = max(0, math.ceil((ledger_start - first).total_seconds() / HOUR_SECONDS))
            for array in (avg, starts, spot):
                array[offset:] = 0.0
        cpu_units: int | None = None
        memory_mib: int | None = None
        launch_mode: LaunchMode | None = None
        if periods:
            key = Key(PK).eq(ledger_key(cluster, group, "")[PK]) & Key(SK).between(
                f"{group}#{hour_iso(first)}", f"{group}#{hour_iso(last)}"
            )
            for item in self._query(KeyConditionExpression=key):
                hour = datetime.fromisoformat(str(item["hour"]).replace("Z", "+00:00"))
                index = int((hour - first).total_seconds() // HOUR_SECONDS)
                if not 0 <= index < periods:
                    continue
                avg[index] = float(item.get("task_seconds", 0)) / HOUR_SECONDS
                starts[index] = float(item.get("starts", 0))
                spot[index] = float(item.get("spot_interruptions", 0))
                # items come in hour order: the last one seen is the latest
                if "cpu_units" in item:
                    cpu_units = int(item["cpu_units"])
                if "memory_mib" in item:
                    memory_mib = int(item["memory_mib"])
                if "launch_mode" in item:
                    launch_mode = LaunchMode(str(item["launch_mode"]))
            window_end = end.astimezone(UTC)
            running = sorted(
                (task for task in self._partition(cluster).open_tasks if task.group == group),
                key=lambda task: task.start,
            )
            for task in running:
                if task.start >= window_end:
                    continue
                for hour, ms in split_by_hour(max(task.start, first), window_end):
                    index = int((hour - first).total_seconds() // HOUR_SECONDS)
                    if 0 <= index < periods:
                        avg[index] += ms / 1000 / HOUR_SECONDS
                # tasks running at the window's end are the group's latest: their size and mode win
                cpu_units = task.cpu_units if task.cpu_units is not None else cpu_units
                memory_mib = task.memory_mib if task.memory_mib is not None else memory_mib
                launch_mode = task.launch_mode or launch_mode
        return LedgerUsage(
            start=first,
            period_seconds=HOUR_SECONDS,
            avg_tasks=avg,
            starts=starts,
            spot_interruptions=spot,
            ledger_start=ledger_start,
            cpu_units=cpu_units,
            memory_mib=memory_mib,
            launch_mode=launch_mode,
        )

    def _partition(self, cluster: str) -> _PartitionIndex:
        """The cluster's groups, ledger start and open tasks: one Query per partition, once per reader."""
        if cluster not in self._index:
            groups: set[str] = set()
            earliest: str | None = None
            key = Key(PK).eq(ledger_key(cluster, "", "")[PK])
            for item in self._query(KeyConditionExpression=key, ProjectionExpression=SK):
                group, _, hour = str(item[SK]).rpartition("#")
                groups.add(group)
                earliest = hour if earliest is None or hour < earliest else earliest
            earliest_hour = datetime.fromisoformat(earliest.replace("Z", "+00:00")) if earliest else None
            open_tasks = []
            open_key = Key(PK).eq(open_task_key(cluster, "", "")[PK])
            for item in self._query(KeyConditionExpression=open_key):
                task = _open_task(item)
                if task is None or not task.group:
                    continue
                open_tasks.append(task)
                groups.add(task.group)
                start_hour = floor_hour(task.start)
                earliest_hour = start_hour if earliest_hour is None else min(earliest_hour, start_hour)
            self._index[cluster] = _PartitionIndex(
                groups=tuple(sorted(groups)), earliest_hour=earliest_hour, open_tasks=tuple(open_tasks)
            )
        return self._index[cluster]

    def _query(self, **params: Any) -> Iterator[dict[str, Any]]:
        while True:
            try:
                page = self._table.query(**params)
            except ClientError as exc:
                raise translate(exc, operation="Query", permission="dynamodb:Query") from None
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def distinct_buckets(deltas: Sequence[LedgerDelta]) -> int:
    return len({(d.cluster, d.group, d.hour) for d in deltas})


__all__ = ["LedgerUsage", "TaskLedgerReader", "TaskLedgerWriter", "distinct_buckets"]
