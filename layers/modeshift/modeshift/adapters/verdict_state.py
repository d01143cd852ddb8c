"""DynamoDB adapter for verdict publication state: one item per verdict at `verdict_key(cluster, subject)`.

Item: pk, sk, kind, recommended_mode, monthly_savings_usd, published_savings_usd, status
(pending | published | recorded | cooldown), message (the Notification JSON), updated_at (ISO 8601),
published_at (ISO 8601, when SNS last accepted a message: the cooldown starts), revision (optimistic
lock), expires_at (epoch seconds, TTL = retention_days after the last write).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from modeshift.adapters.aws_errors import translated
from modeshift.domain.notifications import Fingerprint, VerdictState
from modeshift.errors import AwsCallError, ModeshiftError
from modeshift.table import PK, SK, TTL_ATTRIBUTE, verdict_key


def _mapped(action: str) -> AbstractContextManager[None]:
    return translated(action, f"dynamodb:{action}", connection_errors=True)


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float | int) -> dict[str, str]:
    return {"N": str(Decimal(str(value)))}


def _item(state: VerdictState, expires_at: int) -> dict[str, Any]:
    key = verdict_key(state.cluster, state.subject)
    item: dict[str, Any] = {
        PK: _s(key[PK]),
        SK: _s(key[SK]),
        "kind": _s(state.fingerprint.kind),
        "monthly_savings_usd": _n(state.fingerprint.monthly_savings_usd),
        "status": _s(state.status),
        "updated_at": _s(state.updated_at.isoformat()),
        "revision": _n(state.revision),
        TTL_ATTRIBUTE: _n(expires_at),
    }
    if state.fingerprint.recommended_mode is not None:
        item["recommended_mode"] = _s(state.fingerprint.recommended_mode)
    if state.published_savings_usd is not None:
        item["published_savings_usd"] = _n(state.published_savings_usd)
    if state.message is not None:
        item["message"] = _s(state.message)
    if state.published_at is not None:
        item["published_at"] = _s(state.published_at.isoformat())
    return item


def _state(item: dict[str, Any]) -> VerdictState:
    def text(name: str) -> str | None:
        value = item.get(name)
        return value.get("S") if isinstance(value, dict) else None

    def number(name: str) -> float | None:
        value = item.get(name)
        return float(value["N"]) if isinstance(value, dict) and "N" in value else None

    cluster = (text(PK) or "").removeprefix("VERDICT#")
    updated_at = datetime.fromisoformat(text("updated_at") or "1970-01-01T00:00:00+00:00")
    status = text("status") or "recorded"
    published_at = text("published_at")
    return VerdictState(
        cluster=cluster,
        subject=text(SK) or "",
        fingerprint=Fingerprint(
            kind=text("kind") or "",
            recommended_mode=text("recommended_mode"),
            monthly_savings_usd=number("monthly_savings_usd") or 0.0,
        ),
        published_savings_usd=number("published_savings_usd"),
        status=status,  # type: ignore[arg-type]
        message=text("message"),
        updated_at=updated_at,
        # items written before published_at existed: a published item was last sent when last written
        published_at=datetime.fromisoformat(published_at)
        if published_at
        else (updated_at if status == "published" else None),
        revision=int(number("revision") or 0),
        expires_at=None if number(TTL_ATTRIBUTE) is None else int(number(TTL_ATTRIBUTE) or 0),
    )


class StaleStateError(ModeshiftError):
    """Another run wrote this verdict's state since it was read: leave it to that run."""


class DynamoDbVerdictStateStore:
    """Reads and writes verdict state; every write is conditional on the revision that was read."""

    def __init__(self, dynamodb_client: Any, table_name: str, retention_days: int) -> None:
        self._client = dynamodb_client
        self._table = table_name
        self._retention = timedelta(days=retention_days)

    def _expires_at(self, now: datetime) -> int:
        return int((now + self._retention).timestamp())

    def get(self, cluster: str, subject: str) -> VerdictState | None:
        key = verdict_key(cluster, subject)
        with _mapped("GetItem"):
            response = self._client.get_item(
                TableName=self._table, Key={PK: _s(key[PK]), SK: _s(key[SK])}, ConsistentRead=True
            )
        item = response.get("Item")
        return _state(item) if item else None

    def pending(self, clusters: Sequence[str]) -> list[VerdictState]:
        """Pending items of these clusters (one Query per cluster: no table scan over ledger rows)."""
        found: list[VerdictState] = []
        paginator = self._client.get_paginator("query")
        for cluster in dict.fromkeys(clusters):
            pages = paginator.paginate(
                TableName=self._table,
                KeyConditionExpression="#pk = :pk",
                FilterExpression="#status = :pending",
                ExpressionAttributeNames={"#pk": PK, "#status": "status"},
                ExpressionAttributeValues={":pk": _s(verdict_key(cluster, "")[PK]), ":pending": _s("pending")},
                ConsistentRead=True,
            )
            with _mapped("Query"):
                for page in pages:
                    found.extend(_state(item) for item in page.get("Items", []))
        return found

    def put(self, state: VerdictState, previous: VerdictState | None, now: datetime) -> VerdictState:
        """Write `state` (its revision one past `previous`'s); StaleStateError if someone wrote in between."""
        written = state.model_copy(
            update={"revision": (previous.revision if previous else 0) + 1, "expires_at": self._expires_at(now)}
        )
        if previous is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(#pk)"}
            names = {"#pk": PK}
            values: dict[str, Any] = {}
        else:
            condition = {"ConditionExpression": "#rev = :rev"}
            names = {"#rev": "revision"}
            values = {":rev": _n(previous.revision)}
        request: dict[str, Any] = {
            "TableName": self._table,
            "Item": _item(written, written.expires_at or self._expires_at(now)),
            "ExpressionAttributeNames": names,
            **condition,
        }
        if values:
            request["ExpressionAttributeValues"] = values
        self._conditional("PutItem", lambda: self._client.put_item(**request))
        return written

    def mark_published(self, state: VerdictState, now: datetime) -> VerdictState:
        """pending → published, remembering the saving just sent; only if nobody rewrote it meanwhile."""
        published = state.model_copy(
            update={
                "status": "published",
                "published_savings_usd": state.fingerprint.monthly_savings_usd,
                "updated_at": now,
                "published_at": now,
                "revision": state.revision + 1,
                "expires_at": self._expires_at(now),
            }
        )
        key = verdict_key(state.cluster, state.subject)
        self._conditional(
            "UpdateItem",
            lambda: self._client.update_item(
                TableName=self._table,
                Key={PK: _s(key[PK]), SK: _s(key[SK])},
                UpdateExpression="SET #status = :published, published_savings_usd = :saving, "
                "updated_at = :now, published_at = :now, #rev = :next, #ttl = :ttl",
                ConditionExpression="#rev = :rev",
                ExpressionAttributeNames={"#status": "status", "#rev": "revision", "#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":published": _s("published"),
                    ":saving": _n(state.fingerprint.monthly_savings_usd),
                    ":now": _s(now.isoformat()),
                    ":next": _n(published.revision),
                    ":rev": _n(state.revision),
                    ":ttl": _n(self._expires_at(now)),
                },
            ),
        )
        return published

    def keep_alive(self, state: VerdictState, now: datetime) -> bool:
        """Push the TTL out once less than half the retention is left, so an unchanged verdict is not
        forgotten (and re-sent as new) while it still holds. Returns whether it wrote."""
        if state.expires_at is not None and state.expires_at - now.timestamp() > self._retention.total_seconds() / 2:
            return False
        key = verdict_key(state.cluster, state.subject)
        try:
            self._conditional(
                "UpdateItem",
                lambda: self._client.update_item(
                    TableName=self._table,
                    Key={PK: _s(key[PK]), SK: _s(key[SK])},
                    UpdateExpression="SET #ttl = :ttl",
                    ConditionExpression="attribute_exists(#pk)",
                    ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE, "#pk": PK},
                    ExpressionAttributeValues={":ttl": _n(self._expires_at(now))},
                ),
            )
        except StaleStateError:
            return False
        return True

    def _conditional(self, action: str, call: Any) -> None:
        try:
            with _mapped(action):
                call()
        except AwsCallError as exc:
            if exc.code == "ConditionalCheckFailedException":
                raise StaleStateError(str(exc)) from exc
            raise
