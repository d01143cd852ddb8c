"""Noise control under moto: DynamoDB state + SNS topic read back from an SQS subscription."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modeshift.adapters.sns_publisher import SnsPublisher
from modeshift.adapters.verdict_state import DynamoDbVerdictStateStore
from modeshift.domain.models import Goal, WorkloadVerdict
from modeshift.domain.noise import SNOOZE_TAG, apply_snooze
from modeshift.domain.report import AnalysisReport, PricingInfo, build_report
from modeshift.publish import publish_verdicts
from tests.fixtures.tables import create_modeshift_table
from tests.unit.test_notifications import workload

pytestmark = pytest.mark.integration

REGION = "us-east-1"
TABLE = "modeshift-noise"
NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
WEEK = timedelta(hours=168)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_modeshift_table(TABLE, REGION)
        sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
        topic_arn = sns.create_topic(Name="modeshift-verdicts")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="verdicts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        yield {
            "store": DynamoDbVerdictStateStore(dynamodb, TABLE, retention_days=70),
            "publisher": SnsPublisher(sns, topic_arn),
            "sqs": sqs,
            "queue_url": queue_url,
        }


def _drain(aws: dict[str, Any]) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while True:
        got = aws["sqs"].receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        for message in got:
            bodies.append(json.loads(json.loads(message["Body"])["Message"]))
            aws["sqs"].delete_message(QueueUrl=aws["queue_url"], ReceiptHandle=message["ReceiptHandle"])


def _report(verdicts: list[WorkloadVerdict], now: datetime) -> AnalysisReport:
    return build_report(
        generated_at=now,
        region=REGION,
        lookback_days=14,
        goal=Goal.BALANCED,
        pricing=PricingInfo(source="embedded", as_of=date(2026, 1, 1)),
        workloads=verdicts,
        clusters=[],
    )


def _fleet(saving_of_first: float, now: datetime) -> list[WorkloadVerdict]:
    verdicts = [workload(savings=saving_of_first, name="service:s0")]
    verdicts += [workload(savings=120.0 + 10 * i, name=f"service:s{i}") for i in range(1, 8)]
    snoozed = workload(savings=900.0, name="service:quiet")
    return [*verdicts, apply_snooze(snoozed, {SNOOZE_TAG: "2026-12-31"}, now.date())]


def _publish(aws: dict[str, Any], report: AnalysisReport, now: datetime) -> Any:
    return publish_verdicts(report, aws["store"], aws["publisher"], now, cooldown=WEEK, digest_threshold=5)


def test_noise_control_one_digest_then_cooldown_then_resend_and_snooze_never_sent(aws: dict[str, Any]) -> None:
    report = _report(_fleet(150.0, NOW), NOW)
    first = _publish(aws, report, NOW)
    assert (first.published, first.digested, first.snoozed) == (1, 8, 1)
    [digest] = _drain(aws)
    assert digest["type"] == "digest" and digest["cluster"] == "shop-ec2"
    assert digest["verdict"]["count"] == 8
    subjects = [item["subject"] for item in digest["verdict"]["items"]]
    assert "service:quiet" not in subjects and len(subjects) == 8
    savings = [item["monthly_savings_usd"] for item in digest["verdict"]["items"]]
    assert savings == sorted(savings, reverse=True)
    # The snoozed workload is still in the report, costed and marked.
    quiet = next(w for w in report.workloads if w.workload == "service:quiet")
    assert quiet.monthly_savings_usd == 900.0 and quiet.evidence["snoozed_until"] == "2026-12-31"
    assert aws["store"].get("shop-ec2", "service:quiet") is None
    assert aws["store"].get("shop-ec2", "service:s0").status == "published"

    # A day later the first saving moved materially, but within the cooldown and the same severity.
    day = NOW + timedelta(days=1)
    second = _publish(aws, _report(_fleet(250.0, day), day), day)
    assert (second.published, second.cooldown, second.snoozed) == (0, 1, 1)
    assert _drain(aws) == []
    assert aws["store"].get("shop-ec2", "service:s0").status == "cooldown"

    # After the cooldown the held change goes out, alone (below the digest threshold).
    later = NOW + WEEK + timedelta(hours=1)
    third = _publish(aws, _report(_fleet(250.0, later), later), later)
    assert third.published == 1 and third.digested == 0
    [message] = _drain(aws)
    assert message["subject"] == "service:s0" and message["monthly_savings_usd"] == 250.0
    assert message["previous_monthly_savings_usd"] == 150.0
    state = aws["store"].get("shop-ec2", "service:s0")
    assert state.status == "published" and state.published_at == later

    # Nothing changed since: nothing sent; the snoozed workload was never sent at all.
    fourth = _publish(aws, _report(_fleet(250.0, later), later), later + timedelta(hours=1))
    assert fourth.published == 0 and _drain(aws) == []
