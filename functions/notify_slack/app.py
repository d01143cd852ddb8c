"""Post each verdict on the SNS topic to Slack (Block Kit via an incoming webhook read from Secrets Manager)."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SNSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from modeshift.adapters.secrets import WebhookUrlSecret
from modeshift.adapters.slack_webhook import SlackRejectedError, SlackWebhookClient
from modeshift.aws import AwsClients
from modeshift.config import settings_from_env
from modeshift.domain.slack import parse_notice, render_slack_message
from modeshift.errors import ModeshiftError

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="modeshift")
# Slack answers these when the webhook itself is gone: read the secret again on the next try (it may be rotated).
WEBHOOK_GONE_STATUSES = frozenset({403, 404, 410})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=SNSEvent)
def lambda_handler(event: SNSEvent, context: LambdaContext) -> dict[str, Any]:
    # SNS invokes with one record; a failure raises so Lambda retries and then sends the event to the DLQ.
    secret = _secret()
    unreadable: list[str] = []
    for record in event.records:
        message = _slack_message(record.sns.message, record.sns.subject, record.sns.message_id)
        if message is None:
            unreadable.append(record.sns.message_id)
            continue
        try:
            attempts = SlackWebhookClient(secret.url()).post(message)
        except ModeshiftError as exc:  # logged without the URL (no error message carries it), then re-raised
            if isinstance(exc, SlackRejectedError) and exc.status in WEBHOOK_GONE_STATUSES:
                secret.invalidate()
            logger.error("Slack delivery failed", extra={"message_id": record.sns.message_id, "reason": str(exc)})
            metrics.add_metric(name="SlackMessagesFailed", unit=MetricUnit.Count, value=1)
            raise
        logger.info("posted to Slack", extra={"message_id": record.sns.message_id, "attempts": attempts})
        metrics.add_metric(name="SlackMessagesPosted", unit=MetricUnit.Count, value=1)
    if unreadable:  # a failed record: Lambda retries it, then the dead-letter queue keeps it
        raise UnreadableMessageError(f"SNS message(s) {', '.join(unreadable)} could not be read; see the log")
    return {"posted": len(list(event.records))}


class UnreadableMessageError(ModeshiftError):
    """An SNS message that is not a notice modeshift can render (nested too deep, bad JSON numbers, …)."""


def _slack_message(text: str, subject: str | None, message_id: str) -> dict[str, Any] | None:
    """The Block Kit message for one SNS message; None (logged, counted) when it cannot be read.

    json recurses once per nesting level: a message nested thousands deep raises RecursionError, an integer
    of more than 4,300 digits ValueError; neither may crash the handler.
    """
    try:
        return render_slack_message(parse_notice(text, subject))
    except (RecursionError, ValueError, TypeError) as exc:
        logger.error(
            "SNS message unreadable, not posted",
            extra={"message_id": message_id, "error": type(exc).__name__, "reason": str(exc)[:200]},
        )
        metrics.add_metric(name="SlackMessagesUnreadable", unit=MetricUnit.Count, value=1)
        return None


@functools.cache
def _secret() -> WebhookUrlSecret:
    """The webhook secret reader, built on the first invocation; it caches the URL for a few minutes."""
    settings = settings_from_env()
    client = AwsClients(region=settings.region).client("secretsmanager")
    return WebhookUrlSecret(client, settings.slack_webhook_secret_arn or "", allowed_hosts=settings.slack_webhook_hosts)
