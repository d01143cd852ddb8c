"""SNS adapter: publishes one Notification as a plain String body with filterable message attributes.

Not MessageStructure=json: SNS drops message attributes with it (AWS-FACTS), and subscribers filter on
type, severity and cluster.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from modeshift.domain.notifications import Notification
from modeshift.errors import AccessDeniedError, AwsCallError, ThrottledError

_THROTTLED = frozenset({"Throttling", "ThrottlingException", "ThrottledException", "KMSThrottlingException"})


def publish(sns_client: Any, topic_arn: str, message: Notification) -> str:
    """Publish `message` to `topic_arn`; returns SNS's MessageId. ClientError becomes a modeshift error."""
    try:
        response = sns_client.publish(
            TopicArn=topic_arn,
            Subject=message.title,
            Message=message.body(),
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value} for name, value in message.attributes().items()
            },
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        text = str(error.get("Message", ""))
        if code.startswith("AccessDenied") or code == "AuthorizationError":
            raise AccessDeniedError("sns:Publish", text) from exc
        if code in _THROTTLED:
            raise ThrottledError(f"sns:Publish kept being throttled: {text}") from exc
        raise AwsCallError("Publish", code, text) from exc
    except BotoCoreError as exc:  # no answer at all: connection, timeout
        raise AwsCallError("Publish", type(exc).__name__, str(exc)) from exc
    return str(response.get("MessageId", ""))


class SnsPublisher:
    """A publisher bound to one topic: what `publish_verdicts` needs."""

    def __init__(self, sns_client: Any, topic_arn: str) -> None:
        self._client = sns_client
        self.topic_arn = topic_arn

    def publish(self, message: Notification) -> str:
        return publish(self._client, self.topic_arn, message)
