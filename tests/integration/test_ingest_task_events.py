"""ingest_task_events end to end: SQS batches of ECS task state changes → the DynamoDB task ledger (moto)."""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from modeshift import ingest
from modeshift.adapters.dynamodb_ledger import TaskLedgerReader, TaskLedgerWriter
from modeshift.domain.models import LaunchMode
from modeshift.domain.task_events import LEDGER_WINDOW_DAYS, MAX_BUCKETS_PER_EVENT, deltas_for, parse_task_event
from modeshift.errors import AccessDeniedError, AwsCallError, ConfigurationError, ThrottledError
from tests.events import load_event
from tests.fixtures.lambda_context import FakeLambdaContext
from tests.fixtures.tables import create_modeshift_table

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE = "modeshift-test"
APP = Path(__file__).resolve().parents[2] / "functions" / "ingest_task_events" / "app.py"
RETENTION = 70 * 86_400

RUNNING = "ecs_task_state_change_running_fargate"
STOPPED = "ecs_task_state_change_stopped_fargate"
SPOT = "ecs_task_state_change_stopped_fargate_spot_interruption"
EC2 = "ecs_task_state_change_stopped_ec2"
EVENT_FILES = (RUNNING, EC2, STOPPED, SPOT)
POISON_IDS = {
    "4d0a7e96-9f5c-41ce-a0ad-5c6b7a8f9ea4",  # malformed JSON
    "5e1b8fa7-a06d-42df-b1be-6d7c8b9a0fb5",  # ECS Container Instance State Change
    "6f2c90b8-b17e-43e0-82cf-7e8d9cab1ac6",  # no taskArn
    "703da1c9-c28f-44f1-93d0-8f9eadbc2bd7",  # wrong types
    "814eb2da-d39a-4502-a4e1-90afbecd3ce8",  # another account
}


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _bucket(
    group: str, hour: str, seconds: str, vcpu: str, gb: str, starts: int, spot: int, size: tuple[int, int], mode: str
):
    return {
        "pk": "LEDGER#prod",
        "sk": f"{group}#{hour}",
        "cluster": "prod",
        "group": group,
        "hour": hour,
        "task_seconds": Decimal(seconds),
        "vcpu_seconds": Decimal(vcpu),
        "gb_seconds": Decimal(gb),
        "starts": Decimal(starts),
        "spot_interruptions": Decimal(spot),
        "cpu_units": Decimal(size[0]),
        "memory_mib": Decimal(size[1]),
        "launch_mode": mode,
        "expires_at": Decimal(_epoch(hour) + RETENTION),
    }


# Every figure by hand from the sample events (billing starts at pullStartedAt on Fargate, startedAt on EC2).
EXPECTED_BUCKETS = [
    # nightly-report, Fargate 1 vCPU / 2 GB: pull 01:58:30.120 → stop 03:12:20.500; RUNNING counted the start
    _bucket("family:nightly-report", "2026-11-20T01:00:00Z", "89.88", "89.88", "179.76", 1, 0, (1024, 2048), "FARGATE"),
    _bucket("family:nightly-report", "2026-11-20T02:00:00Z", "3600", "3600", "7200", 0, 0, (1024, 2048), "FARGATE"),
    _bucket("family:nightly-report", "2026-11-20T03:00:00Z", "740.5", "740.5", "1481", 0, 0, (1024, 2048), "FARGATE"),
    # etl-batch on EC2, 2 vCPU / 3 GB: started 04:59:30.000 → stop 05:00:15.500 (no minimum); no RUNNING seen
    _bucket("family:etl-batch", "2026-11-20T04:00:00Z", "30", "60", "90", 1, 0, (2048, 3072), "EC2"),
    _bucket("family:etl-batch", "2026-11-20T05:00:00Z", "15.5", "31", "46.5", 0, 0, (2048, 3072), "EC2"),
    # web on Fargate Spot, 0.5 vCPU / 1 GB: pull 09:47:02.250 → stop 10:15:41.731, interrupted
    _bucket("service:web", "2026-11-20T09:00:00Z", "777.75", "388.875", "777.75", 1, 0, (512, 1024), "FARGATE_SPOT"),
    _bucket("service:web", "2026-11-20T10:00:00Z", "941.731", "470.8655", "941.731", 0, 1, (512, 1024), "FARGATE_SPOT"),
]


def _lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext(
        "modeshift-IngestTaskEventsFunction", region=REGION, account=ACCOUNT, remaining_millis=60_000
    )


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "MODESHIFT_TABLE_NAME": TABLE,
        "POWERTOOLS_METRICS_NAMESPACE": "modeshift",
        "POWERTOOLS_SERVICE_NAME": "ingest_task_events",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def table(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        ingest.ledger_writer.cache_clear()
        create_modeshift_table(TABLE, REGION)
        yield boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
        ingest.ledger_writer.cache_clear()


@pytest.fixture(scope="module")
def app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ingest_task_events_app_under_test", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _invoke(app: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = app.lambda_handler(event, _lambda_context())
    return result


def _sqs(*bodies: dict[str, Any] | str) -> dict[str, Any]:
    records = []
    for body in bodies:
        text = body if isinstance(body, str) else json.dumps(body)
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "AQEB" + uuid.uuid4().hex,
                "body": text,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1763603928000"},
                "messageAttributes": {},
                "md5OfBody": "0",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:modeshift-task-events",
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def _items(table: Any, prefix: str) -> list[dict[str, Any]]:
    items = [item for item in table.scan(ConsistentRead=True)["Items"] if item["pk"].startswith(prefix)]
    return sorted(items, key=lambda item: (item["pk"], item["sk"]))


def _buckets(table: Any) -> list[dict[str, Any]]:
    return _items(table, "LEDGER#")


def _expected_sorted() -> list[dict[str, Any]]:
    return sorted(EXPECTED_BUCKETS, key=lambda item: (item["pk"], item["sk"]))


def _stopped_copy(name: str, **detail: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event(name))
    event["detail"].update(detail)
    return event


class WriteCounter:
    """Counts TransactWriteItems calls and the actions inside them, per client."""

    def __init__(self, client: Any) -> None:
        self.calls = 0
        self.items = 0
        client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", self._count)
        client.meta.events.register("provide-client-params.dynamodb.PutItem", self._other)
        client.meta.events.register("provide-client-params.dynamodb.UpdateItem", self._other)
        client.meta.events.register("provide-client-params.dynamodb.BatchWriteItem", self._other)

    def _count(self, params: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        self.items += len(params["TransactItems"])

    def _other(self, params: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        self.items += 1

    def reset(self) -> None:
        self.calls = self.items = 0


# --------------------------------------------------------------------------- the handler


def test_handler_writes_exact_buckets_when_each_event_file_arrives_alone(app: ModuleType, table: Any) -> None:
    for name in EVENT_FILES:
        assert _invoke(app, _sqs(load_event(name))) == {"batchItemFailures": []}

    assert _buckets(table) == _expected_sorted()


def test_handler_writes_exact_buckets_and_task_items_when_given_sample_batch(app: ModuleType, table: Any) -> None:
    result = _invoke(app, load_event("sqs_task_state_changes"))

    assert result == {"batchItemFailures": []}
    assert _buckets(table) == _expected_sorted()
    tasks = {item["pk"].rpartition("/")[2]: item for item in _items(table, "TASK#")}
    report = tasks["5f0d1c7e2a9b4c3d8e6f7a1b2c3d4e5f"]
    assert report == {
        "pk": "TASK#arn:aws:ecs:us-east-1:123456789012:task/prod/5f0d1c7e2a9b4c3d8e6f7a1b2c3d4e5f",
        "sk": "TASK",
        "version": Decimal(6),
        "last_status": "STOPPED",
        "desired_status": "STOPPED",
        "cluster": "prod",
        "group": "family:nightly-report",
        "launch_mode": "FARGATE",
        "launch_type": "FARGATE",
        "cpu_units": Decimal(1024),
        "memory_mib": Decimal(2048),
        "cpu_architecture": "x86_64",
        "started_by": "events-rule/nightly-report-schedule",
        "start": "2026-11-20T01:58:30.120000+00:00",
        "stopped_at": "2026-11-20T03:12:20.500000+00:00",
        "stop_code": "EssentialContainerExited",
        "started": True,
        "closed": True,
        "buckets_total": Decimal(3),
        "buckets_done": Decimal(3),
        "expires_at": Decimal(_epoch("2026-11-20T03:12:21Z") + RETENTION),
    }
    spot = tasks["a1e2f3d4c5b6a7980f1e2d3c4b5a6978"]
    assert (spot["capacity_provider"], spot["stop_code"], spot["start_counted_at_close"]) == (
        "FARGATE_SPOT",
        "SpotInterruption",
        True,
    )


def test_handler_changes_nothing_when_same_batch_is_delivered_twice(app: ModuleType, table: Any) -> None:
    batch = load_event("sqs_task_state_changes")
    _invoke(app, batch)
    before = table.scan(ConsistentRead=True)["Items"]

    assert _invoke(app, batch) == {"batchItemFailures": []}

    assert sorted(table.scan(ConsistentRead=True)["Items"], key=str) == sorted(before, key=str)


def test_writer_reports_duplicate_when_same_task_arn_and_version_arrive_again(table: Any) -> None:
    writer = TaskLedgerWriter(table)
    for name in EVENT_FILES:
        assert writer.record(parse_task_event(load_event(name))) == "recorded"

    for name in EVENT_FILES:
        assert writer.record(parse_task_event(load_event(name))) == "duplicate"

    assert _buckets(table) == _expected_sorted()


def test_handler_reports_exactly_bad_records_and_writes_good_ones_when_batch_has_poison(
    app: ModuleType, table: Any
) -> None:
    result = _invoke(app, load_event("sqs_task_state_changes_with_poison"))

    assert {failure["itemIdentifier"] for failure in result["batchItemFailures"]} == POISON_IDS
    assert len(result["batchItemFailures"]) == len(POISON_IDS)
    assert _buckets(table) == _expected_sorted()
    assert len(_items(table, "TASK#")) == 3


def test_ingest_logs_reason_when_event_is_rejected(capsys: pytest.CaptureFixture[str], table: Any) -> None:
    body = json.dumps({**load_event(SPOT), "account": "444455556666"})

    with pytest.raises(ValueError, match="event from account 444455556666, this function serves 123456789012"):
        ingest.process_task_event(body, region=REGION, account=ACCOUNT, writer=TaskLedgerWriter(table))
    with pytest.raises(ValueError, match="event from region eu-west-1, this function serves us-east-1"):
        ingest.process_task_event(
            json.dumps({**load_event(SPOT), "region": "eu-west-1"}),
            region=REGION,
            account=ACCOUNT,
            writer=TaskLedgerWriter(table),
        )
    assert _buckets(table) == []


def test_ledger_counts_interval_and_start_once_when_stopped_arrives_before_running(table: Any) -> None:
    writer = TaskLedgerWriter(table)

    assert writer.record(parse_task_event(load_event(STOPPED))) == "recorded"
    assert writer.record(parse_task_event(load_event(RUNNING))) == "duplicate"
    assert writer.record(parse_task_event(load_event(STOPPED))) == "duplicate"

    assert _buckets(table) == [b for b in _expected_sorted() if b["group"] == "family:nightly-report"]


def test_ledger_counts_one_start_when_running_repeats_with_higher_version(table: Any) -> None:
    writer = TaskLedgerWriter(table)
    writer.record(parse_task_event(load_event(RUNNING)))

    again = _stopped_copy(RUNNING, version=4)  # e.g. a container health change on a running task

    assert writer.record(parse_task_event(again)) == "duplicate"
    assert writer.record(parse_task_event(load_event(STOPPED))) == "recorded"
    assert _buckets(table) == [b for b in _expected_sorted() if b["group"] == "family:nightly-report"]


def test_ledger_counts_interval_once_when_second_stopped_has_higher_version(table: Any) -> None:
    writer = TaskLedgerWriter(table)
    writer.record(parse_task_event(load_event(RUNNING)))
    writer.record(parse_task_event(load_event(STOPPED)))

    later = _stopped_copy(STOPPED, version=7, stoppedAt="2026-11-20T03:30:00.000Z")

    assert writer.record(parse_task_event(later)) == "duplicate"
    assert _buckets(table) == [b for b in _expected_sorted() if b["group"] == "family:nightly-report"]


def test_ledger_records_intermediate_status_in_task_item_only(table: Any) -> None:
    writer = TaskLedgerWriter(table)
    pending = _stopped_copy(RUNNING, lastStatus="PENDING", version=2, startedAt=None)

    assert writer.record(parse_task_event(pending)) == "recorded"
    assert writer.record(parse_task_event(load_event(RUNNING))) == "recorded"
    assert writer.record(parse_task_event(pending)) == "duplicate"

    assert [(b["sk"], b["starts"]) for b in _buckets(table)] == [
        ("family:nightly-report#2026-11-20T01:00:00Z", Decimal(1))
    ]
    (task,) = _items(table, "TASK#")
    assert (task["version"], task["last_status"], task["started"]) == (Decimal(3), "RUNNING", True)


def test_handler_fails_only_the_record_whose_write_fails_and_loses_nothing(
    app: ModuleType, table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = ingest.ledger_writer()
    client = writer._client
    real = client.transact_write_items

    def flaky(**params: Any) -> Any:
        if any("etl-batch" in json.dumps(action, default=str) for action in params["TransactItems"]):
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                "TransactWriteItems",
            )
        return real(**params)

    monkeypatch.setattr(client, "transact_write_items", flaky)
    batch = load_event("sqs_task_state_changes")

    result = _invoke(app, batch)

    ec2_message = next(r["messageId"] for r in batch["Records"] if "etl-batch" in r["body"])
    assert result == {"batchItemFailures": [{"itemIdentifier": ec2_message}]}
    assert _buckets(table) == [b for b in _expected_sorted() if b["group"] != "family:etl-batch"]

    monkeypatch.setattr(client, "transact_write_items", real)
    retry = {"Records": [r for r in batch["Records"] if r["messageId"] == ec2_message]}
    assert _invoke(app, retry) == {"batchItemFailures": []}
    assert _buckets(table) == _expected_sorted()


def test_writes_per_event_are_one_transaction_of_task_item_plus_distinct_buckets(table: Any) -> None:
    writer = TaskLedgerWriter(table)
    counter = WriteCounter(table.meta.client)
    ordered = [
        load_event(RUNNING),
        load_event(STOPPED),
        _stopped_copy(SPOT, lastStatus="RUNNING", desiredStatus="RUNNING", version=3, stoppedAt=None, stopCode=None),
        load_event(SPOT),
        _stopped_copy(EC2, lastStatus="RUNNING", desiredStatus="RUNNING", version=2, stoppedAt=None, stopCode=None),
        load_event(EC2),
    ]
    for raw in ordered:
        event = parse_task_event(raw)
        counter.reset()

        assert writer.record(event) == "recorded"

        distinct = len({delta.hour for delta in deltas_for(event)})
        assert counter.calls == 1
        # + 1 open-task marker action: Put by the RUNNING that counts the start, Deleted by the close
        assert counter.items == 1 + distinct + 1
    assert [b["starts"] for b in _buckets(table)] == [b["starts"] for b in _expected_sorted()]
    assert _buckets(table) == _expected_sorted()


def test_duplicate_writes_nothing_and_costs_one_request(table: Any) -> None:
    writer = TaskLedgerWriter(table)
    event = parse_task_event(load_event(RUNNING))
    writer.record(event)
    counter = WriteCounter(table.meta.client)

    assert writer.record(event) == "duplicate"
    assert counter.calls == 1


def test_ledger_chains_transactions_when_task_ran_longer_than_99_hours(table: Any) -> None:
    writer = TaskLedgerWriter(table)
    times = {"pullStartedAt": "2026-11-01T00:30:00.000Z", "startedAt": "2026-11-01T00:30:10.000Z"}
    writer.record(parse_task_event(_stopped_copy(RUNNING, **times)))
    counter = WriteCounter(table.meta.client)
    event = parse_task_event(_stopped_copy(STOPPED, **times, stoppedAt="2026-11-10T12:15:00.000Z"))
    hours = len(deltas_for(event))

    assert writer.record(event) == "recorded"

    buckets = _buckets(table)
    assert len(buckets) == hours == 9 * 24 + 13
    assert counter.calls == math.ceil(hours / 99)
    assert sum(b["task_seconds"] for b in buckets) == Decimal(
        (datetime(2026, 11, 10, 12, 15) - datetime(2026, 11, 1, 0, 30)).total_seconds()
    )
    assert sum(b["starts"] for b in buckets) == 1
    assert writer.record(event) == "duplicate"


def test_ledger_resumes_chained_close_when_a_later_transaction_failed(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = TaskLedgerWriter(table)
    event = parse_task_event(
        _stopped_copy(
            STOPPED,
            pullStartedAt="2026-11-01T00:00:00.000Z",
            startedAt="2026-11-01T00:00:09.000Z",
            stoppedAt="2026-11-06T00:00:00.000Z",
        )
    )
    real = writer._client.transact_write_items
    calls = {"n": 0}

    def fail_second(**params: Any) -> Any:
        calls["n"] += 1
        # call 1: the usual-order guess fails (no RUNNING recorded); 2: first 99 buckets; 3: the next ones
        if calls["n"] == 3:
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "TransactWriteItems")
        return real(**params)

    monkeypatch.setattr(writer._client, "transact_write_items", fail_second)
    with pytest.raises(AwsCallError, match="InternalServerError"):
        writer.record(event)
    assert len(_buckets(table)) == 99

    assert writer.record(event) == "recorded"  # the redelivery finishes the job

    buckets = _buckets(table)
    assert len(buckets) == 120
    assert all(b["task_seconds"] == Decimal(3600) for b in buckets)
    assert sum(b["starts"] for b in buckets) == 1
    assert writer.record(event) == "duplicate"


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("AccessDeniedException", AccessDeniedError),
        ("ProvisionedThroughputExceededException", ThrottledError),
        ("ValidationException", AwsCallError),
    ],
)
def test_writer_raises_modeshift_errors_when_dynamodb_refuses(
    table: Any, monkeypatch: pytest.MonkeyPatch, code: str, error: type[Exception]
) -> None:
    writer = TaskLedgerWriter(table)

    def refuse(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": code, "Message": "no"}}, "TransactWriteItems")

    monkeypatch.setattr(writer._client, "transact_write_items", refuse)

    with pytest.raises(error) as raised:
        writer.record(parse_task_event(load_event(STOPPED)))
    if isinstance(raised.value, AccessDeniedError):
        assert raised.value.permission == "dynamodb:TransactWriteItems"


def test_writer_raises_throttled_when_transaction_is_cancelled_by_throttling(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = TaskLedgerWriter(table)

    def cancel(**_: Any) -> Any:
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": [{"Code": "None"}, {"Code": "ThrottlingError"}],
            },
            "TransactWriteItems",
        )

    monkeypatch.setattr(writer._client, "transact_write_items", cancel)

    with pytest.raises(ThrottledError):
        writer.record(parse_task_event(load_event(RUNNING)))


def test_ledger_writer_needs_a_table_name(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODESHIFT_TABLE_NAME")
    ingest.ledger_writer.cache_clear()

    with pytest.raises(ConfigurationError, match="MODESHIFT_TABLE_NAME is not set"):
        ingest.ledger_writer()
    ingest.ledger_writer.cache_clear()


# --------------------------------------------------------------------------- reading back


def test_reader_returns_hourly_average_tasks_with_nan_before_ledger_start(app: ModuleType, table: Any) -> None:
    _invoke(app, load_event("sqs_task_state_changes"))
    reader = TaskLedgerReader(table)

    usage = reader.hourly(
        "prod", "family:etl-batch", datetime(2026, 11, 19, 23, 30, tzinfo=UTC), datetime(2026, 11, 20, 7, tzinfo=UTC)
    )

    assert usage.start == datetime(2026, 11, 19, 23, tzinfo=UTC)
    assert usage.period_seconds == 3600
    assert usage.ledger_start == datetime(2026, 11, 20, 1, tzinfo=UTC)  # earliest bucket of the cluster
    np.testing.assert_array_equal(
        usage.avg_tasks, [np.nan, np.nan, 0.0, 0.0, 0.0, 30 / 3600, 15.5 / 3600, 0.0], strict=True
    )
    np.testing.assert_array_equal(usage.starts, [np.nan, np.nan, 0, 0, 0, 1, 0, 0])
    assert (usage.cpu_units, usage.memory_mib, usage.launch_mode) == (2048, 3072, LaunchMode.EC2)
    assert usage.task_count.present == 6
    assert reader.families("prod") == ["etl-batch", "nightly-report"]
    assert reader.groups("prod") == ["family:etl-batch", "family:nightly-report", "service:web"]


def test_reader_pages_through_query_and_knows_nothing_for_unknown_cluster(table: Any) -> None:
    writer = TaskLedgerWriter(table)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for index in range(10):
        pull = start + timedelta(hours=index * 8)
        raw = _stopped_copy(
            STOPPED,
            taskArn=f"arn:aws:ecs:us-east-1:123456789012:task/prod/{index:032x}",
            pullStartedAt=pull.isoformat().replace("+00:00", "Z"),
            startedAt=pull.isoformat().replace("+00:00", "Z"),
            stoppedAt=(pull + timedelta(hours=6)).isoformat().replace("+00:00", "Z"),
        )
        writer.record(parse_task_event(raw))
    reader = TaskLedgerReader(table)
    original_query = table.query
    pages = {"n": 0}

    def small_pages(**params: Any) -> Any:
        pages["n"] += 1
        return original_query(Limit=10, **params)

    table.query = small_pages
    try:
        usage = reader.hourly("prod", "family:nightly-report", start, start + timedelta(hours=80))
    finally:
        del table.query

    assert pages["n"] > 3
    assert np.nansum(usage.avg_tasks) == pytest.approx(10 * 6)
    assert not np.isnan(usage.avg_tasks).any()
    assert np.isnan(
        TaskLedgerReader(table).hourly("other", "family:x", start, start + timedelta(hours=3)).avg_tasks
    ).all()


# --------------------------------------------------------------------------- tasks that have not stopped

WORKER = "family:queue-worker"
WORKER_ARN = "arn:aws:ecs:us-east-1:123456789012:task/prod/0c0ffee0c0ffee0c0ffee0c0ffee0c0f"
WORKER_HOUR = datetime(2026, 11, 1, 8, tzinfo=UTC)
WORKER_PULL = WORKER_HOUR + timedelta(minutes=20)
WORKER_NOW = WORKER_PULL + timedelta(days=21)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _worker(status: str = "RUNNING", **detail: Any) -> dict[str, Any]:
    """A standalone RunTask worker on Fargate (1 vCPU, 2 GB), pulled at WORKER_PULL, running for weeks."""
    times = {"pullStartedAt": _iso(WORKER_PULL), "startedAt": _iso(WORKER_PULL + timedelta(seconds=10))}
    raw = _stopped_copy(RUNNING, taskArn=WORKER_ARN, group=WORKER, **{**times, **detail})
    raw["time"] = _iso(WORKER_PULL + timedelta(seconds=10))[:-5] + "Z"
    if status == "STOPPED":
        raw["detail"].update(lastStatus="STOPPED", desiredStatus="STOPPED", stopCode="UserInitiated", version=5)
        raw["detail"].setdefault("stoppedAt", _iso(WORKER_NOW))
        raw["time"] = _iso(datetime.fromisoformat(raw["detail"]["stoppedAt"].replace("Z", "+00:00")))[:-5] + "Z"
    return raw


def _markers(table: Any) -> list[dict[str, Any]]:
    return _items(table, "OPEN#")


def test_reader_counts_open_task_in_every_hour_since_its_start_when_it_ran_21_days_without_stopping(
    table: Any,
) -> None:
    assert TaskLedgerWriter(table).record(parse_task_event(_worker())) == "recorded"
    reader = TaskLedgerReader(table)
    original_query = table.query
    queries = {"n": 0}

    def counted(**params: Any) -> Any:
        queries["n"] += 1
        return original_query(**params)

    table.query = counted
    try:
        usage = reader.hourly("prod", WORKER, WORKER_PULL - timedelta(days=2), WORKER_NOW)
        groups, families, ledger_start = reader.groups("prod"), reader.families("prod"), reader.ledger_start("prod")
    finally:
        del table.query

    # two days before the ledger began, 40 min of the start hour, 503 full hours, 20 min of the last one
    expected = [np.nan] * 48 + [40 / 60] + [1.0] * (21 * 24 - 1) + [20 / 60]
    np.testing.assert_allclose(usage.avg_tasks, expected, rtol=0, atol=1e-12)
    # the start was counted once, by the RUNNING event's bucket
    np.testing.assert_array_equal(usage.starts, [np.nan] * 48 + [1] + [0] * (21 * 24))
    assert usage.ledger_start == WORKER_HOUR
    assert ledger_start == usage.ledger_start
    assert (usage.cpu_units, usage.memory_mib, usage.launch_mode) == (1024, 2048, LaunchMode.FARGATE)
    assert groups == [WORKER]
    assert families == ["queue-worker"]
    assert queries["n"] == 3  # the bucket partition and the open-task partition once, the group's hours once
    assert _markers(table) == [
        {
            "pk": "OPEN#prod",
            "sk": f"{WORKER}#{WORKER_ARN}",
            "cluster": "prod",
            "group": WORKER,
            "task_arn": WORKER_ARN,
            "start": "2026-11-01T08:20:00+00:00",
            "cpu_units": Decimal(1024),
            "memory_mib": Decimal(2048),
            "launch_mode": "FARGATE",
            "expires_at": Decimal(_epoch("2026-11-01T08:20:10Z") + RETENTION),
        }
    ]


def test_ledger_counts_open_hours_once_and_drops_marker_when_open_task_stops(table: Any) -> None:
    writer = TaskLedgerWriter(table)
    writer.record(parse_task_event(_worker()))
    window = (WORKER_PULL - timedelta(hours=3), WORKER_NOW)
    while_open = TaskLedgerReader(table).hourly("prod", WORKER, *window)
    counter = WriteCounter(table.meta.client)

    assert writer.record(parse_task_event(_worker("STOPPED"))) == "recorded"

    assert _markers(table) == []
    # 505 buckets: the close's first transaction holds the task item, the marker's Delete and 98 buckets
    assert len(_buckets(table)) == 505
    assert counter.calls == 1 + math.ceil((505 - 98) / 99)
    after = TaskLedgerReader(table).hourly("prod", WORKER, *window)
    np.testing.assert_array_equal(after.avg_tasks, while_open.avg_tasks, strict=True)
    np.testing.assert_array_equal(after.starts, while_open.starts, strict=True)
    assert np.nansum(after.avg_tasks) * 3600 == pytest.approx(21 * 86_400)
    assert np.nansum(after.starts) == 1
    assert TaskLedgerReader(table).families("prod") == ["queue-worker"]
    assert writer.record(parse_task_event(_worker("STOPPED"))) == "duplicate"
    assert _markers(table) == []


def test_writer_keeps_one_marker_when_running_is_redelivered_or_repeats(table: Any) -> None:
    writer = TaskLedgerWriter(table)
    writer.record(parse_task_event(_worker()))
    marker = _markers(table)
    counter = WriteCounter(table.meta.client)

    assert writer.record(parse_task_event(_worker())) == "duplicate"
    assert writer.record(parse_task_event(_worker(version=4))) == "duplicate"  # e.g. a health change

    assert counter.calls == 2
    assert _markers(table) == marker
    usage = TaskLedgerReader(table).hourly("prod", WORKER, WORKER_HOUR, WORKER_HOUR + timedelta(hours=2))
    np.testing.assert_allclose(usage.avg_tasks, [40 / 60, 1.0], rtol=0, atol=1e-12)


def test_writer_leaves_no_marker_when_stopped_arrives_before_running(table: Any) -> None:
    writer = TaskLedgerWriter(table)
    stopped_at = WORKER_PULL + timedelta(hours=2)

    assert writer.record(parse_task_event(_worker("STOPPED", stoppedAt=_iso(stopped_at)))) == "recorded"
    assert writer.record(parse_task_event(_worker())) == "duplicate"

    assert _markers(table) == []
    usage = TaskLedgerReader(table).hourly("prod", WORKER, WORKER_PULL, WORKER_NOW)
    assert np.nansum(usage.avg_tasks) * 3600 == pytest.approx(2 * 3600)
    assert np.nansum(usage.starts) == 1


def test_reader_moves_ledger_start_back_to_open_task_start_when_it_precedes_every_bucket(table: Any) -> None:
    # Fargate bills from the image pull, a minute before the hour the start is counted in
    pulled = datetime(2026, 11, 1, 7, 59, tzinfo=UTC)
    TaskLedgerWriter(table).record(parse_task_event(_worker(pullStartedAt=_iso(pulled))))
    reader = TaskLedgerReader(table)

    usage = reader.hourly("prod", WORKER, pulled - timedelta(hours=1), pulled + timedelta(hours=1, minutes=1))

    assert [b["hour"] for b in _buckets(table)] == ["2026-11-01T08:00:00Z"]
    assert reader.ledger_start("prod") == datetime(2026, 11, 1, 7, tzinfo=UTC)
    np.testing.assert_allclose(usage.avg_tasks, [np.nan, 1 / 60, 1.0], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(usage.starts, [np.nan, 0, 1])


def test_reader_lists_group_when_it_has_only_open_tasks(table: Any) -> None:
    TaskLedgerWriter(table).record(parse_task_event(_worker()))
    for bucket in _buckets(table):  # as TTL would remove the start bucket of a very old task
        table.delete_item(Key={"pk": bucket["pk"], "sk": bucket["sk"]})
    reader = TaskLedgerReader(table)

    assert reader.groups("prod") == [WORKER]
    assert reader.families("prod") == ["queue-worker"]
    assert reader.ledger_start("prod") == WORKER_HOUR
    usage = reader.hourly("prod", "family:other", WORKER_HOUR, WORKER_HOUR + timedelta(hours=2))
    np.testing.assert_array_equal(usage.avg_tasks, [0.0, 0.0])  # another group's open task is not this one's


def test_writer_drops_marker_of_the_recorded_group_when_stopped_names_another_group(table: Any) -> None:
    writer = TaskLedgerWriter(table)
    writer.record(parse_task_event(_worker()))
    stopped = _worker("STOPPED")
    del stopped["detail"]["group"]  # the group then comes from the task definition: family:nightly-report

    assert writer.record(parse_task_event(stopped)) == "recorded"

    assert _markers(table) == []
    assert writer.record(parse_task_event(stopped)) == "duplicate"


# --------------------------------------------------------------------------- refused at the door, bounded work

OUT_OF_BOUNDS = {  # events/sqs_task_state_changes_out_of_bounds.json: message id → what is wrong
    "a0000001-0000-4000-8000-000000000001": "nested deeper than 32 levels",
    "a0000001-0000-4000-8000-000000000002": "detail.version",
    "a0000001-0000-4000-8000-000000000003": "detail.memory",
    "a0000001-0000-4000-8000-000000000004": "detail.group",
    "a0000001-0000-4000-8000-000000000005": "not valid UTF-8",
    "a0000001-0000-4000-8000-000000000006": "cluster name must be 1 to 255",
    "a0000001-0000-4000-8000-000000000007": "missing field account",
    "a0000001-0000-4000-8000-000000000008": "later than the event itself",
    "a0000001-0000-4000-8000-000000000009": "before ECS existed",
}


def _stdout_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Powertools' JSON log lines and EMF metric blobs, as printed to stdout."""
    lines = []
    for line in capsys.readouterr().out.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return [line for line in lines if isinstance(line, dict)]


def _metric(lines: list[dict[str, Any]], name: str) -> float:
    total = 0.0
    for line in lines:
        if "_aws" in line and name in line:
            value = line[name]
            total += sum(value) if isinstance(value, list) else value
    return total


def test_handler_rejects_each_out_of_bounds_event_at_parse_time_and_writes_good_ones_once(
    app: ModuleType, table: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    batch = load_event("sqs_task_state_changes_out_of_bounds")
    counter = WriteCounter(ingest.ledger_writer()._client)  # type: ignore[attr-defined]
    capsys.readouterr()

    result = _invoke(app, batch)

    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == sorted(OUT_OF_BOUNDS)
    assert _buckets(table) == _expected_sorted()
    # as for the sample batch alone: RUNNING 1, its STOPPED 1, the two STOPPED without a RUNNING 2 each (the
    # first guess fails); a rejected event never reaches DynamoDB
    assert counter.calls == 6
    metrics = _stdout_lines(capsys)
    assert _metric(metrics, "TaskEventsRejected") == len(OUT_OF_BOUNDS)
    assert _metric(metrics, "TaskEventsRecorded") == 4
    warnings = [r for r in caplog.records if r.getMessage() == "rejected task event"]
    assert {r.levelname for r in warnings} == {"WARNING"}
    rejected = {r.message_id: r.reason for r in warnings}  # type: ignore[attr-defined]
    assert set(rejected) == set(OUT_OF_BOUNDS)
    for message_id, reason in OUT_OF_BOUNDS.items():
        assert reason in rejected[message_id]

    # SQS redelivers the whole batch (e.g. after a timeout): the good records still count once
    again = _invoke(app, batch)

    assert len(again["batchItemFailures"]) == len(OUT_OF_BOUNDS)
    assert _buckets(table) == _expected_sorted()


def test_handler_rejects_body_with_literal_lone_surrogate_when_sqs_hands_one_over(app: ModuleType, table: Any) -> None:
    body = json.dumps(_stopped_copy(STOPPED, group="family:placeholder")).replace("placeholder", "\ud800")
    batch = _sqs(body, load_event(RUNNING))

    result = _invoke(app, batch)

    assert result == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}
    assert [b["starts"] for b in _buckets(table)] == [Decimal(1)]


def test_handler_rejects_event_dated_in_the_future_relative_to_now(app: ModuleType, table: Any) -> None:
    soon = datetime.now(UTC) + timedelta(hours=2)
    event = _stopped_copy(RUNNING, pullStartedAt=_iso(soon), startedAt=_iso(soon))
    event["time"] = _iso(soon)[:-5] + "Z"
    batch = _sqs(event)

    assert len(_invoke(app, batch)["batchItemFailures"]) == 1
    assert _buckets(table) == []


def test_handler_logs_message_id_and_fails_only_that_record_when_an_unexpected_error_occurs(
    app: ModuleType,
    table: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = ingest.ledger_writer()
    real = writer.record

    def broken(event: Any) -> Any:
        if event.detail.ledger_group == "service:web":
            raise KeyError("something nobody planned for")
        return real(event)

    monkeypatch.setattr(writer, "record", broken)
    batch = load_event("sqs_task_state_changes_out_of_bounds")
    web = next(r["messageId"] for r in batch["Records"] if "service:web" in r["body"])
    capsys.readouterr()

    result = _invoke(app, batch)

    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == sorted([*OUT_OF_BOUNDS, web])
    assert _buckets(table) == [b for b in _expected_sorted() if b["group"] != "service:web"]
    (failed,) = [r for r in caplog.records if r.getMessage() == "task event not recorded"]
    assert (failed.levelname, failed.message_id, failed.error) == ("WARNING", web, "KeyError")  # type: ignore[attr-defined]
    assert _metric(_stdout_lines(capsys), "TaskEventsFailed") == 1

    monkeypatch.setattr(writer, "record", real)
    assert len(_invoke(app, batch)["batchItemFailures"]) == len(OUT_OF_BOUNDS)  # the retry records web once
    assert _buckets(table) == _expected_sorted()


class AcceptingTable:
    """A table whose client accepts every transaction and keeps it: the work one event asks for, without moto
    (which takes minutes over 1,700 bucket updates)."""

    name = "accepting"

    def __init__(self) -> None:
        self.transactions: list[list[dict[str, Any]]] = []
        self.meta = SimpleNamespace(client=self)

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self.transactions.append(TransactItems)
        return {}


@pytest.mark.parametrize(
    ("detail", "hours"),
    [
        ({"stoppedAt": "2029-11-20T03:12:20.500Z"}, LEDGER_WINDOW_DAYS * 24 + 1),  # three years ahead
        ({"pullStartedAt": "2015-01-01T00:00:00.000Z", "startedAt": "2015-01-01T00:00:09.000Z"}, 1681),
        ({"stoppedAt": "8999-12-31T23:59:59.000Z"}, LEDGER_WINDOW_DAYS * 24 + 1),
    ],
)
def test_writer_bounds_buckets_and_transactions_when_the_interval_spans_years(
    detail: dict[str, str], hours: int
) -> None:
    # parsed without `now` (as a library caller might), so nothing refused the dates: the writer bounds the work
    table = AcceptingTable()
    event = parse_task_event(_stopped_copy(STOPPED, **detail))

    assert TaskLedgerWriter(table).record(event) == "recorded"

    actions = [action for transaction in table.transactions for action in transaction]
    buckets = [a for a in actions if "Update" in a and a["Update"]["Key"]["pk"].startswith("LEDGER#")]
    assert len(buckets) == hours <= MAX_BUCKETS_PER_EVENT
    # the first transaction holds the task item, the marker's Delete and 98 buckets; the others 99 each
    assert len(table.transactions) == 1 + math.ceil((hours - 98) / 99) <= 17
    assert all(len(t) <= 100 for t in table.transactions)


def test_writer_clips_to_its_own_retention_when_task_started_before_the_window(table: Any) -> None:
    writer = TaskLedgerWriter(table, retention_days=3)
    event = parse_task_event(
        _stopped_copy(STOPPED, pullStartedAt="2015-06-01T00:00:00.000Z", startedAt="2015-06-01T00:00:10.000Z")
    )

    assert writer.record(event) == "recorded"

    buckets = _buckets(table)
    assert len(buckets) == 3 * 24 + 1
    assert buckets[0]["hour"] == "2026-11-17T03:00:00Z"
    assert sum(b["starts"] for b in buckets) == 0  # the start's hour left the window long ago
    (task,) = _items(table, "TASK#")
    assert (task["buckets_total"], task["buckets_done"]) == (Decimal(len(buckets)), Decimal(len(buckets)))


def test_writer_counts_no_start_when_task_failed_to_start(table: Any) -> None:
    writer = TaskLedgerWriter(table)
    failed = _stopped_copy(STOPPED, stopCode="TaskFailedToStart", startedAt=None)
    del failed["detail"]["startedAt"]

    assert writer.record(parse_task_event(failed)) == "recorded"

    buckets = _buckets(table)
    assert sum(b["starts"] for b in buckets) == 0
    assert sum(b["task_seconds"] for b in buckets) > 0  # Fargate billed the image pull
    assert _markers(table) == []
