"""Ingest ECS Task State Change events (EventBridge → SQS) into the DynamoDB task ledger."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from modeshift.domain.task_events import InvalidTaskEvent
from modeshift.ingest import account_from_arn, ledger_writer, process_task_event

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="modeshift")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    handle = _record_handler(os.environ["AWS_REGION"], account_from_arn(context.invoked_function_arn))
    # A batch of only bad records is answered like any other (each listed as failed), not as a crash.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)


def _record_handler(region: str, account: str) -> Callable[[SQSRecord], str]:
    writer = ledger_writer()

    def handle(record: SQSRecord) -> str:
        # Rejected and failed records alike are reported in batchItemFailures; the others stay processed.
        try:
            outcome = process_task_event(
                record.body,
                region=region,
                account=account,
                writer=writer,
                now=datetime.now(UTC),
                message_id=record.message_id,
            )
        except InvalidTaskEvent:
            metrics.add_metric(name="TaskEventsRejected", unit=MetricUnit.Count, value=1)
            raise
        except Exception:
            metrics.add_metric(name="TaskEventsFailed", unit=MetricUnit.Count, value=1)
            raise
        metrics.add_metric(name=f"TaskEvents{outcome.capitalize()}", unit=MetricUnit.Count, value=1)
        return outcome

    return handle
