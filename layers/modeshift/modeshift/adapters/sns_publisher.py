"""SNS adapter: publishes a Notification as one String message per audience, each with filterable attributes.

Not MessageStructure=json: SNS sends message attributes only with a String structure, and subscribers
filter on type, severity, cluster and audience (the decision and its documented grounds are in
`modeshift.domain.render`). Only the `machine` rendering goes out unless more audiences are asked for,
so a subscription without an `audience` filter keeps receiving exactly one message per verdict.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modeshift.adapters.aws_errors import translated
from modeshift.domain.notifications import Notification
from modeshift.domain.render import AUDIENCE_ATTRIBUTE, Audience, email_subject, render

DEFAULT_AUDIENCES: tuple[Audience, ...] = (Audience.MACHINE,)
ALL_AUDIENCES: tuple[Audience, ...] = (Audience.MACHINE, Audience.EMAIL, Audience.CHAT)


def message_attributes(message: Notification, audience: Audience) -> dict[str, dict[str, str]]:
    values = {**message.attributes(), AUDIENCE_ATTRIBUTE: audience.value}
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


def publish(sns_client: Any, topic_arn: str, message: Notification, audience: Audience = Audience.MACHINE) -> str:
    """Publish one rendering of `message`; returns SNS's MessageId. ClientError becomes a modeshift error."""
    with translated("Publish", "sns:Publish", connection_errors=True):
        response = sns_client.publish(
            TopicArn=topic_arn,
            Subject=email_subject(message),
            Message=render(message, audience),
            MessageAttributes=message_attributes(message, audience),
        )
    return str(response.get("MessageId", ""))


def publish_renderings(
    sns_client: Any, topic_arn: str, message: Notification, audiences: Iterable[Audience]
) -> dict[Audience, str]:
    """Publish each audience's rendering (machine first, so machines never miss one a person saw)."""
    ordered = sorted(set(audiences), key=ALL_AUDIENCES.index)
    return {audience: publish(sns_client, topic_arn, message, audience) for audience in ordered}


class SnsPublisher:
    """A publisher bound to one topic and the audiences it renders for: what `publish_verdicts` needs.

    A failure part-way leaves the verdict pending, and the next run sends every rendering again (same
    notification_id, so subscribers can drop the duplicate)."""

    def __init__(self, sns_client: Any, topic_arn: str, audiences: Iterable[Audience] = DEFAULT_AUDIENCES) -> None:
        self._client = sns_client
        self.topic_arn = topic_arn
        self.audiences = tuple(Audience(a) for a in audiences) or DEFAULT_AUDIENCES

    def publish(self, message: Notification) -> str:
        """Returns the MessageId of the machine rendering (or of the first one sent)."""
        ids = publish_renderings(self._client, self.topic_arn, message, self.audiences)
        return ids.get(Audience.MACHINE) or next(iter(ids.values()), "")
