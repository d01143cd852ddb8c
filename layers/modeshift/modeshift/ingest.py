"""Ingest path: one ECS task state change (an SQS record's body) into the DynamoDB task ledger."""

from __future__ import annotations

import functools
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


def process_task_event(body: str, *, region: str, account: str, writer: TaskEventSink) -> str:
    """Parse, check that the event belongs to this account and region, record it: "recorded" or "duplicate".

    Raises InvalidTaskEvent (logged with its reason) for anything that is not this account's and region's
    ECS Task State Change, so the SQS record is reported failed and ends in the dead-letter queue.
    """
    try:
        event = parse_task_event(body)
        if event.account is not None and event.account != account:
            raise InvalidTaskEvent(f"event from account {event.account}, this function serves {account}")
        if event.region is not None and event.region != region:
            raise InvalidTaskEvent(f"event from region {event.region}, this function serves {region}")
    except InvalidTaskEvent as exc:
        logger.warning("rejected task event", extra={"reason": str(exc)})
        raise
    outcome = writer.record(event)
    logger.debug(
        "task event",
        extra={
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
