"""Ingest path: one ECS task state change (an SQS record's body) into the DynamoDB task ledger."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Literal, Protocol

from aws_lambda_powertools import Logger

from modeshift.domain.task_events import InvalidTaskEvent, TaskStateChangeEvent, parse_task_event
from modeshift.errors import ConfigurationError

logger = Logger(child=True)


class TaskEventSink(Protocol):
    def record(self, event: TaskStateChangeEvent) -> Literal["recorded", "duplicate"]: ...


def account_from_arn(arn: str) -> str:
    """The account id of `arn:PARTITION:SERVICE:REGION:ACCOUNT:…` (e.g. a Lambda context's invoked_function_arn)."""
    parts = arn.split(":")
    if len(parts) < 6 or not parts[4]:
        raise ConfigurationError(f"cannot read an account id from ARN {arn!r}")
    return parts[4]


def process_task_event(
    body: str,
    *,
    region: str,
    account: str,
    writer: TaskEventSink,
    now: datetime | None = None,
    message_id: str | None = None,
) -> str:
    """Parse, check that the event is this account's and region's, record it: "recorded" or "duplicate".

    Raises InvalidTaskEvent (logged with its reason) for anything that is not this account's and region's
    ECS Task State Change as AWS sends it (timestamps bounded by `now`, default: the clock), so the SQS record
    is reported failed and ends in the dead-letter queue. Any other failure is logged with the message id
    and raised as it is, for the batch to report that record alone.
    """
    context = {"message_id": message_id} if message_id else {}
    try:
        event = parse_task_event(body, now=now or datetime.now(UTC), account=account, region=region)
    except InvalidTaskEvent as exc:
        logger.warning("rejected task event", extra={**context, "reason": str(exc)})
        raise
    try:
        outcome = writer.record(event)
    except Exception as exc:
        # not swallowed: the record is reported failed, retried, and ends in the dead-letter queue
        logger.warning(
            "task event not recorded",
            extra={**context, "task_arn": event.detail.task_arn, "error": type(exc).__name__, "reason": str(exc)},
        )
        raise
    logger.debug(
        "task event",
        extra={
            **context,
            "outcome": outcome,
            "task_arn": event.detail.task_arn,
            "version": event.detail.version,
            "last_status": event.detail.last_status,
        },
    )
    return outcome


@functools.cache
def ledger_writer() -> TaskEventSink:
    """The DynamoDB writer, built on first use from MODESHIFT_TABLE_NAME (and MODESHIFT_RETENTION_DAYS)."""
    import boto3

    from modeshift.adapters.dynamodb_ledger import TaskLedgerWriter
    from modeshift.config import settings_from_env

    settings = settings_from_env()
    if not settings.table_name:
        raise ConfigurationError("MODESHIFT_TABLE_NAME is not set: the ingest function needs the task-ledger table")
    table = boto3.resource("dynamodb", region_name=settings.region).Table(settings.table_name)
    return TaskLedgerWriter(table, retention_days=settings.retention_days)


__all__ = ["TaskEventSink", "account_from_arn", "ledger_writer", "process_task_event"]
