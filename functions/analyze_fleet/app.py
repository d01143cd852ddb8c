"""Analyze the fleet on a schedule or a low-reservation alarm; publish changed verdicts to SNS."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from modeshift.app_analyze import handle_trigger
from modeshift.aws import AwsClients
from modeshift.config import settings_from_env
from modeshift.domain.triggers import IgnoredTrigger, Trigger, account_and_region_of, parse_trigger
from modeshift.table import IDEMPOTENCY_PK_PREFIX, PK, SK, TTL_ATTRIBUTE

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="modeshift")
# EventBridge retries delivery for up to 24 h: remember an event id that long.
IDEMPOTENCY_SECONDS = 24 * 3600


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    account, region = account_and_region_of(context.invoked_function_arn)
    trigger = parse_trigger(event, account=account, region=region)
    if isinstance(trigger, IgnoredTrigger):
        logger.info("event ignored", extra={"reason": trigger.reason, "event_id": trigger.event_id})
        metrics.add_metric(name="EventsIgnored", unit=MetricUnit.Count, value=1)
        return {"status": "ignored", "reason": trigger.reason}
    summary: dict[str, Any] = _runner(context)(event=event, trigger=trigger)
    refused = len(summary.get("refused_clusters") or []) + len(summary.get("unknown_clusters") or [])
    if refused:  # outside the Clusters setting, or no such cluster: logged by handle_trigger
        metrics.add_metric(name="ClustersRefused", unit=MetricUnit.Count, value=refused)
    published = (summary.get("publish") or {}).get("published", 0)
    metrics.add_metric(name="VerdictsPublished", unit=MetricUnit.Count, value=published)
    return summary


def _analyze(event: dict[str, Any], trigger: Trigger) -> dict[str, Any]:
    settings, clients = _wiring()
    return handle_trigger(trigger, settings, clients, datetime.now(UTC))


@functools.cache
def _wiring() -> tuple[Any, AwsClients]:
    """Settings and clients, built on the first invocation and reused while the container lives."""
    settings = settings_from_env()
    return settings, AwsClients(region=settings.region)


@functools.cache
def _idempotent() -> tuple[Callable[..., dict[str, Any]], IdempotencyConfig | None]:
    """`_analyze` keyed on the EventBridge event id, so a redelivered event does not run twice."""
    settings, clients = _wiring()
    if not settings.table_name:
        return _analyze, None
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.table_name,
        key_attr=PK,
        sort_key_attr=SK,
        expiry_attr=TTL_ATTRIBUTE,
        static_pk_value=f"{IDEMPOTENCY_PK_PREFIX}analyze_fleet",
        boto3_client=clients.client("dynamodb"),
    )
    config = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=IDEMPOTENCY_SECONDS)
    run = idempotent_function(_analyze, data_keyword_argument="event", persistence_store=persistence, config=config)
    return run, config


def _runner(context: LambdaContext) -> Callable[..., dict[str, Any]]:
    run, config = _idempotent()
    if config is not None:
        config.register_lambda_context(context)  # in-progress records expire with this invocation
    return run
