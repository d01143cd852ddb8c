"""Sweep step 1: list every account × region × cluster to analyse, as the Distributed Map's item list in S3."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from modeshift.app_sweep import ListRequest, home_of, list_targets
from modeshift.aws import AwsClients
from modeshift.config import Settings, settings_from_env

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="modeshift")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ListRequest.model_validate(event)
    settings, clients = _wiring()
    listed = list_targets(settings, clients, home_of(context.invoked_function_arn, settings), request.run_id)
    metrics.add_metric(name="SweepTargets", unit=MetricUnit.Count, value=listed["target_count"])
    return listed


@functools.cache
def _wiring() -> tuple[Settings, AwsClients]:
    """Settings and clients, built on the first invocation and reused while the container lives."""
    settings = settings_from_env()
    return settings, AwsClients(region=settings.region)
