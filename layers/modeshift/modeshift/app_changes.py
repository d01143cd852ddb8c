"""The record-changes use case: one CloudTrail-recorded ECS call → the change it made, with the verdict open then."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, Protocol

from modeshift.domain.changes import (
    CLUSTER_WORKLOAD,
    Change,
    MalformedChangeEvent,
    OpenVerdict,
    change_from_cloudtrail,
)
from modeshift.domain.notifications import VerdictState
from modeshift.errors import ConfigurationError

logger = logging.getLogger(__name__)

Outcome = Literal["recorded", "duplicate", "ignored", "rejected"]


class ChangeSink(Protocol):
    def record(self, change: Change, now: datetime) -> Literal["recorded", "duplicate"]: ...


class VerdictReader(Protocol):
    def get(self, cluster: str, subject: str) -> VerdictState | None: ...


def open_verdict(state: VerdictState | None) -> OpenVerdict | None:
    """The last verdict the state store holds for a workload, as the promise a change is held to."""
    if state is None:
        return None
    print_ = state.fingerprint
    return OpenVerdict(
        kind=print_.kind, recommended_mode=print_.recommended_mode, monthly_savings_usd=print_.monthly_savings_usd
    )


def record_change(event: Mapping[str, Any], store: ChangeSink, verdicts: VerdictReader, now: datetime) -> Outcome:
    """Parse, attach the verdict open for the workload, store. A malformed event is logged and rejected (it
    would fail the same way on every retry); a store failure raises, for Lambda to retry the event."""
    try:
        change = change_from_cloudtrail(event)
    except MalformedChangeEvent as exc:
        logger.warning("rejected CloudTrail event %s: %s", event.get("id"), exc)
        return "rejected"
    if change is None:
        return "ignored"
    if change.workload != CLUSTER_WORKLOAD:
        change = change.model_copy(update={"open_verdict": open_verdict(verdicts.get(change.cluster, change.workload))})
    outcome = store.record(change, now)
    logger.info(
        "change %s", outcome, extra={"cluster": change.cluster, "workload": change.workload, "kinds": change.kinds}
    )
    return outcome


@functools.cache
def stores() -> tuple[ChangeSink, VerdictReader]:
    """The DynamoDB change store and verdict state, built on first use from MODESHIFT_TABLE_NAME."""
    import boto3

    from modeshift.adapters.change_store import DynamoDbChangeStore
    from modeshift.adapters.verdict_state import DynamoDbVerdictStateStore
    from modeshift.config import settings_from_env

    settings = settings_from_env()
    if not settings.table_name:
        raise ConfigurationError("MODESHIFT_TABLE_NAME is not set: record_changes needs the modeshift table")
    client = boto3.client("dynamodb", region_name=settings.region)
    return (
        DynamoDbChangeStore(client, settings.table_name, settings.retention_days),
        DynamoDbVerdictStateStore(client, settings.table_name, settings.retention_days),
    )


__all__ = ["ChangeSink", "VerdictReader", "change_from_cloudtrail", "open_verdict", "record_change", "stores"]
