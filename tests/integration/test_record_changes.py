"""record_changes end to end: EventBridge CloudTrail events for ECS → the change store in DynamoDB (moto).

The events are events/cloudtrail_ecs_*.json (their sources are in tests/unit/test_changes.py's docstring)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modeshift import app_changes
from modeshift.adapters.change_store import DynamoDbChangeStore
from modeshift.adapters.verdict_state import DynamoDbVerdictStateStore
from modeshift.domain.notifications import Fingerprint, VerdictState
from modeshift.errors import AwsCallError
from tests.events import load_event
from tests.fixtures.lambda_context import FakeLambdaContext
from tests.fixtures.tables import create_modeshift_table

pytestmark = pytest.mark.integration

REGION = "us-east-1"
TABLE = "modeshift-changes"
APP = Path(__file__).resolve().parents[2] / "functions" / "record_changes" / "app.py"
CAPACITY_PROVIDER = "cloudtrail_ecs_update_service_capacity_provider"
TASK_DEFINITION = "cloudtrail_ecs_update_service_task_definition"


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
        "POWERTOOLS_SERVICE_NAME": "record_changes",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def table(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        app_changes.stores.cache_clear()
        create_modeshift_table(TABLE, REGION)
        yield boto3.client("dynamodb", region_name=REGION)
        app_changes.stores.cache_clear()


def _load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("record_changes_app_under_test", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = _load_handler().lambda_handler(event, FakeLambdaContext("record-changes"))
    return result


def _recorded(client: Any, cluster: str) -> list[Any]:
    store = DynamoDbChangeStore(client, TABLE, retention_days=70)
    return store.changes([cluster], since=datetime(2000, 1, 1, tzinfo=UTC))


def test_record_changes_stores_the_switch_with_the_open_verdict_when_a_service_moves_to_fargate(table: Any) -> None:
    verdicts = DynamoDbVerdictStateStore(table, TABLE, retention_days=70)
    verdicts.put(
        VerdictState(
            cluster="shop-ec2",
            subject="service:web",
            fingerprint=Fingerprint(kind="move_to_fargate", recommended_mode="FARGATE", monthly_savings_usd=110.0),
            status="published",
            updated_at=datetime(2026, 11, 9, tzinfo=UTC),
        ),
        None,
        datetime(2026, 11, 9, tzinfo=UTC),
    )

    assert _invoke(load_event(CAPACITY_PROVIDER))["status"] == "recorded"

    (change,) = _recorded(table, "shop-ec2")
    assert (change.workload, change.to_mode, change.source) == ("service:web", "FARGATE", "cloudtrail")
    assert change.principal == "arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice"
    assert change.open_verdict is not None and change.open_verdict.monthly_savings_usd == 110.0
    item = table.scan(TableName=TABLE)["Items"]
    assert [i["pk"]["S"] for i in item if i["pk"]["S"].startswith("CHANGE#")] == ["CHANGE#shop-ec2"]


def test_record_changes_writes_once_when_eventbridge_delivers_the_same_event_twice(table: Any) -> None:
    assert _invoke(load_event(TASK_DEFINITION))["status"] == "recorded"
    assert _invoke(load_event(TASK_DEFINITION))["status"] == "duplicate"

    (change,) = _recorded(table, "core-ec2")
    assert (change.workload, change.kinds, change.open_verdict) == ("service:orders", ("task_size",), None)


def test_record_changes_rejects_a_malformed_event_alone_and_records_the_next_one(
    table: Any, caplog: pytest.LogCaptureFixture
) -> None:
    bad = load_event(CAPACITY_PROVIDER)
    bad["detail"]["requestParameters"] = "not an object"

    assert _invoke(bad)["status"] == "rejected"
    assert _invoke(load_event(TASK_DEFINITION))["status"] == "recorded"

    assert _recorded(table, "shop-ec2") == []
    assert len(_recorded(table, "core-ec2")) == 1
    assert "requestParameters is missing" in caplog.text


def test_record_changes_ignores_a_call_that_failed(table: Any) -> None:
    assert _invoke(load_event("cloudtrail_ecs_update_service_denied"))["status"] == "ignored"
    assert _recorded(table, "core-ec2") == []


def test_change_store_lists_only_changes_since_the_date_asked_when_older_ones_exist(table: Any) -> None:
    store = DynamoDbChangeStore(table, TABLE, retention_days=70)
    change = app_changes.change_from_cloudtrail(load_event(CAPACITY_PROVIDER))
    assert change is not None
    store.record(change, datetime(2026, 11, 16, 11, tzinfo=UTC))

    assert store.changes(["shop-ec2"], since=change.changed_at + timedelta(seconds=1)) == []
    assert store.changes(["shop-ec2"], since=change.changed_at) == [change]


def test_change_store_skips_an_unreadable_item_when_listing(table: Any) -> None:
    table.put_item(TableName=TABLE, Item={"pk": {"S": "CHANGE#shop-ec2"}, "sk": {"S": "x"}, "change": {"S": "{"}})

    assert (
        DynamoDbChangeStore(table, TABLE, retention_days=70).changes(
            ["shop-ec2"], since=datetime.min.replace(tzinfo=UTC)
        )
        == []
    )


def test_record_changes_raises_for_a_retry_when_the_store_fails(table: Any) -> None:
    table.delete_table(TableName=TABLE)

    # not swallowed as "rejected": the event itself is fine, so Lambda retries it and then fails it over
    with pytest.raises(AwsCallError):
        _invoke(load_event(CAPACITY_PROVIDER))
