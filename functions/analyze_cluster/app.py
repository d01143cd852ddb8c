"""Sweep step 2, one per cluster: analyse it (in this account or through the member role) and write its part."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from modeshift.app_sweep import WorkerRequest, analyze_target, home_of
from modeshift.aws import AwsClients
from modeshift.config import Settings, settings_from_env

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="modeshift")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = WorkerRequest.model_validate(event)  # a malformed item fails this child alone; the merge names it
    settings, clients = _wiring()
    home = home_of(context.invoked_function_arn, settings)
    result = analyze_target(settings, clients, home, request, datetime.now(UTC))
    # Failed clusters are counted once, by the merge (ClustersFailed); a worker counts what it analysed.
    metrics.add_metric(name="WorkloadsAnalysed", unit=MetricUnit.Count, value=result["workload_count"])
    return result


@functools.cache
def _wiring() -> tuple[Settings, AwsClients]:
    """Settings and clients, built on the first invocation and reused while the container lives."""
    settings = settings_from_env()
    return settings, AwsClients(region=settings.region)
