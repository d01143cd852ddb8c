"""DynamoDB adapter for recorded changes: one item per CloudTrail call at `change_key(...)` (prefix CHANGE#).

Item: pk, sk, change (the Change as JSON), recorded_at (ISO 8601), expires_at (epoch seconds, TTL =
retention_days after it was recorded). A redelivered event writes nothing (conditional put on its key).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from modeshift.adapters.aws_errors import translated
from modeshift.domain.changes import Change
from modeshift.errors import AwsCallError
from modeshift.table import PK, SK, TTL_ATTRIBUTE, change_key

logger = logging.getLogger(__name__)

CHANGE_PREFIX = "CHANGE#"


def _mapped(action: str) -> AbstractContextManager[None]:
    return translated(action, f"dynamodb:{action}", connection_errors=True)


class DynamoDbChangeStore:
    """Records changes as CloudTrail reports them and lists a cluster's for the weekly report."""

    def __init__(self, dynamodb_client: Any, table_name: str, retention_days: int) -> None:
        self._client = dynamodb_client
        self._table = table_name
        self._retention = timedelta(days=retention_days)

    def record(self, change: Change, now: datetime) -> Literal["recorded", "duplicate"]:
        key = change_key(change.cluster, change.workload, change.changed_at.isoformat(), change.event_id or "")
        item = {
            PK: {"S": key[PK]},
            SK: {"S": key[SK]},
            "change": {"S": change.model_dump_json()},
            "recorded_at": {"S": now.isoformat()},
            TTL_ATTRIBUTE: {"N": str(int((now + self._retention).timestamp()))},
        }
        try:
            with _mapped("PutItem"):
                self._client.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(#pk)",
                    ExpressionAttributeNames={"#pk": PK},
                )
        except AwsCallError as exc:
            if exc.code == "ConditionalCheckFailedException":
                return "duplicate"
            raise
        return "recorded"

    def changes(self, clusters: Sequence[str], since: datetime) -> list[Change]:
        """The recorded changes of these clusters at or after `since` (one Query per cluster, no scan); an
        unreadable item is logged and skipped, never fatal to the report."""
        found: list[Change] = []
        paginator = self._client.get_paginator("query")
        for cluster in dict.fromkeys(clusters):
            pages = paginator.paginate(
                TableName=self._table,
                KeyConditionExpression="#pk = :pk",
                ExpressionAttributeNames={"#pk": PK},
                ExpressionAttributeValues={":pk": {"S": f"{CHANGE_PREFIX}{cluster}"}},
            )
            with _mapped("Query"):
                for page in pages:
                    for item in page.get("Items", []):
                        change = _change(item)
                        if change is not None and change.changed_at >= since:
                            found.append(change)
        return found


def _change(item: dict[str, Any]) -> Change | None:
    raw = item.get("change", {}).get("S")
    try:
        return Change.model_validate_json(raw or "")
    except ValidationError as exc:
        logger.warning("unreadable change item %s/%s skipped: %s", item.get(PK), item.get(SK), exc)
        return None
