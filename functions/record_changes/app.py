"""Record ECS mode switches, resizes and scale-ins as CloudTrail reports them, for the weekly report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from modeshift.app_changes import record_change, stores

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="modeshift")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    store, verdicts = stores()
    outcome = record_change(event, store, verdicts, datetime.now(UTC))
    metrics.add_metric(name=f"Changes{outcome.capitalize()}", unit=MetricUnit.Count, value=1)
    return {"status": outcome, "event_id": str(event.get("id", ""))}
