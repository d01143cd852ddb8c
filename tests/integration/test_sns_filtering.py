"""SNS delivery under moto: per-audience String messages, attribute filter policies, read back from SQS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modeshift.adapters.sns_publisher import ALL_AUDIENCES, SnsPublisher
from modeshift.domain.models import (
    ClusterVerdict,
    ClusterVerdictKind,
    LaunchMode,
    Pattern,
    WorkloadVerdict,
    WorkloadVerdictKind,
)
from modeshift.domain.notifications import build_notification

REGION = "us-east-1"
NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def _workload(
    cluster: str, service: str, kind: WorkloadVerdictKind, mode: LaunchMode, savings: float
) -> WorkloadVerdict:
    return WorkloadVerdict(
        cluster=cluster,
        workload=f"service:{service}",
        service=service,
        task_family=service,
        verdict=kind,
        current_mode=LaunchMode.EC2 if mode is not LaunchMode.EC2 else LaunchMode.FARGATE,
        recommended_mode=mode,
        pattern=Pattern.STEADY,
        current_monthly_cost_usd=1000.0,
        recommended_monthly_cost_usd=1000.0 - savings,
        monthly_savings_usd=savings,
        confidence=0.9,
        reasons=("steady load",),
    )


VERDICTS = {
    "api": _workload("shop-ec2", "api", WorkloadVerdictKind.MOVE_TO_FARGATE, LaunchMode.FARGATE, 109.79),  # medium
    "big": _workload("shop-ec2", "big", WorkloadVerdictKind.MOVE_TO_FARGATE, LaunchMode.FARGATE, 612.0),  # high
    "checkout": _workload("fargate-prod", "checkout", WorkloadVerdictKind.MOVE_TO_EC2, LaunchMode.EC2, 728.2),  # high
    "spot": _workload("shop-ec2", "jobs", WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT, LaunchMode.FARGATE_SPOT, 30.0),
    "core": ClusterVerdict(
        cluster="core-ec2",
        verdict=ClusterVerdictKind.TUNE_CAPACITY,
        instance_count=6,
        monthly_cost_usd=832.2,
        wasted_monthly_cost_usd=624.15,
        cpu_reservation_pct=25.0,
        memory_reservation_pct=20.5,
        recommended_instance_count=2,
        monthly_savings_usd=554.8,
        confidence=0.9,
        reasons=("6 of 6 instances run no task now",),
    ),
}

POLICIES = {
    "high-only": {"audience": ["machine"], "severity": ["high"]},
    "shop-fargate": {"audience": ["machine"], "cluster": ["shop-ec2"], "type": ["move_to_fargate"]},
    "shop-email-copy": {"audience": ["email"], "cluster": ["shop-ec2"]},
}


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
        topic_arn = sns.create_topic(Name="modeshift-verdicts")["TopicArn"]
        queues: dict[str, str] = {}
        for name, policy in POLICIES.items():
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            sns.subscribe(
                TopicArn=topic_arn,
                Protocol="sqs",
                Endpoint=arn,
                Attributes={"FilterPolicy": json.dumps(policy), "FilterPolicyScope": "MessageAttributes"},
            )
            queues[name] = url
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="email",
            Endpoint="finops@example.com",
            Attributes={"FilterPolicy": json.dumps({"audience": ["email"], "severity": ["high", "medium"]})},
        )
        yield {"sns": sns, "sqs": sqs, "topic_arn": topic_arn, "queues": queues}


def _drain(aws: dict[str, Any], queue: str) -> list[dict[str, Any]]:
    envelopes: list[dict[str, Any]] = []
    while True:
        got = aws["sqs"].receive_message(QueueUrl=aws["queues"][queue], MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return envelopes
        for message in got:
            envelopes.append(json.loads(message["Body"]))
            aws["sqs"].delete_message(QueueUrl=aws["queues"][queue], ReceiptHandle=message["ReceiptHandle"])


def _publish_all(aws: dict[str, Any]) -> None:
    publisher = SnsPublisher(aws["sns"], aws["topic_arn"], audiences=ALL_AUDIENCES)
    for verdict in VERDICTS.values():
        publisher.publish(build_notification(verdict, region=REGION, generated_at=NOW))


def test_each_queue_receives_exactly_what_its_filter_selects_when_verdicts_are_published(aws: dict[str, Any]) -> None:
    _publish_all(aws)

    high = [json.loads(e["Message"]) for e in _drain(aws, "high-only")]
    assert sorted((m["cluster"], m["subject"]) for m in high) == [
        ("core-ec2", "cluster"),
        ("fargate-prod", "service:checkout"),
        ("shop-ec2", "service:big"),
    ]
    assert all(m["severity"] == "high" and m["schema_version"] == "1.0" for m in high)

    shop = [json.loads(e["Message"]) for e in _drain(aws, "shop-fargate")]
    assert sorted(m["subject"] for m in shop) == ["service:api", "service:big"]
    assert {m["type"] for m in shop} == {"move_to_fargate"}
    assert all(m["verdict"]["cluster"] == "shop-ec2" for m in shop)


def test_sqs_payload_is_the_machine_json_with_filter_attributes_when_delivered(aws: dict[str, Any]) -> None:
    _publish_all(aws)
    envelope = next(e for e in _drain(aws, "shop-fargate") if json.loads(e["Message"])["subject"] == "service:api")
    payload = json.loads(envelope["Message"])
    assert payload["verdict"]["verdict"] == "move_to_fargate"
    assert payload["monthly_savings_usd"] == 109.79
    assert envelope["Subject"] == "modeshift: shop-ec2/service:api move to FARGATE, saves $109.79/mo"
    attributes = {k: v["Value"] for k, v in envelope["MessageAttributes"].items()}
    assert attributes == {"type": "move_to_fargate", "severity": "medium", "cluster": "shop-ec2", "audience": "machine"}


def test_email_audience_receives_plain_text_when_subscribed_with_an_audience_filter(aws: dict[str, Any]) -> None:
    _publish_all(aws)
    texts = [e["Message"] for e in _drain(aws, "shop-email-copy")]
    assert len(texts) == 3  # api, big, jobs: every shop-ec2 verdict, once each, as text
    assert all(t.splitlines()[2] == "WHAT" and "HOW TO SWITCH" in t and "HOW TO SILENCE" in t for t in texts)
    assert any("capacityProvider=FARGATE_SPOT,weight=4" in t for t in texts)


def test_only_the_machine_rendering_goes_out_when_no_audiences_are_configured(aws: dict[str, Any]) -> None:
    publisher = SnsPublisher(aws["sns"], aws["topic_arn"])
    publisher.publish(build_notification(VERDICTS["big"], region=REGION, generated_at=NOW))
    assert len(_drain(aws, "high-only")) == 1
    assert _drain(aws, "shop-email-copy") == []
