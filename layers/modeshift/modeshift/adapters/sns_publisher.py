"""SNS adapter: publishes one Notification as a plain String body with filterable message attributes.

Not MessageStructure=json: SNS drops message attributes with it (AWS-FACTS), and subscribers filter on
type, severity and cluster.
"""

from __future__ import annotations

from typing import Any

from modeshift.adapters.aws_errors import translated
from modeshift.domain.notifications import Notification


def publish(sns_client: Any, topic_arn: str, message: Notification) -> str:
    """Publish `message` to `topic_arn`; returns SNS's MessageId. ClientError becomes a modeshift error."""
    with translated("Publish", "sns:Publish", connection_errors=True):
        response = sns_client.publish(
            TopicArn=topic_arn,
            Subject=message.title,
            Message=message.body(),
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value} for name, value in message.attributes().items()
            },
        )
    return str(response.get("MessageId", ""))


class SnsPublisher:
    """A publisher bound to one topic: what `publish_verdicts` needs."""

    def __init__(self, sns_client: Any, topic_arn: str) -> None:
        self._client = sns_client
        self.topic_arn = topic_arn

    def publish(self, message: Notification) -> str:
        return publish(self._client, self.topic_arn, message)
