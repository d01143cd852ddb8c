"""Sweep step 3: merge the workers' parts into one analysis document, publish what changed, keep the alarms."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from modeshift.app_sweep import home_of, merge_sweep
from modeshift.aws import AwsClients
from modeshift.config import Settings, settings_from_env

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="modeshift")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, clients = _wiring()
    summary = merge_sweep(settings, clients, home_of(context.invoked_function_arn, settings), event, datetime.now(UTC))
    metrics.add_metric(name="ClustersFailed", unit=MetricUnit.Count, value=summary["failed_cluster_count"])
    published = (summary.get("publish") or {}).get("published", 0)
    metrics.add_metric(name="VerdictsPublished", unit=MetricUnit.Count, value=published)
    return summary


@functools.cache
def _wiring() -> tuple[Settings, AwsClients]:
    """Settings and clients, built on the first invocation and reused while the container lives."""
    settings = settings_from_env()
    return settings, AwsClients(region=settings.region)
