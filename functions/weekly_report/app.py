"""Write the weekly savings report to S3 and publish its summary (EventBridge Scheduler, weekly)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from modeshift.app_weekly import run_weekly_report
from modeshift.aws import AwsClients
from modeshift.config import Settings, settings_from_env

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="modeshift")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.info("weekly report", extra={"event_id": event.get("id")})
    settings, clients = _wiring()
    summary = run_weekly_report(settings, clients, datetime.now(UTC))
    metrics.add_metric(name="WeeklyReportMissing", unit=MetricUnit.Count, value=0 if summary["html_key"] else 1)
    return summary


@functools.cache
def _wiring() -> tuple[Settings, AwsClients]:
    """Settings and clients, built on the first invocation and reused while the container lives."""
    settings = settings_from_env()
    return settings, AwsClients(region=settings.region)
