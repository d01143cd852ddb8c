"""weekly_report under moto: analysis (the demo fixture) → S3 pages → one summary read back from SQS."""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from moto import mock_aws

from modeshift import app_weekly
from modeshift.app_sweep import LATEST_KEY as SWEEP_LATEST_KEY
from modeshift.app_weekly import LATEST_KEY, run_weekly_report, summary_body
from modeshift.aws import AwsClients
from modeshift.config import Settings, build_settings
from modeshift.domain.models import LaunchMode, WorkloadVerdictKind
from modeshift.domain.render import Audience
from modeshift.domain.report import AnalysisReport
from modeshift.domain.weekly import build_weekly
from tests.events import load_event
from tests.fixtures.lambda_context import FakeLambdaContext

pytestmark = pytest.mark.integration

REGION = "us-east-1"
BUCKET = "modeshift-reports-test"
ROOT = Path(__file__).resolve().parents[2]
HANDLER = ROOT / "functions" / "weekly_report" / "app.py"
FIXTURE = ROOT / "tests" / "fixtures" / "analysis-demo.json"
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def _lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext(
        "modeshift-WeeklyReportFunction", region=REGION, memory_limit_in_mb=512, remaining_millis=600_000
    )


@dataclass
class Aws:
    s3: Any
    sqs: Any
    topic_arn: str
    queue_url: str
    email_queue_url: str


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "modeshift",
    }.items():
        monkeypatch.setenv(name, value)
    fixture = AnalysisReport.model_validate_json(FIXTURE.read_text())
    # The analysis itself is tested elsewhere; here it is the demo fleet's document, generated "now".
    monkeypatch.setattr(
        app_weekly,
        "analyze",
        lambda settings, clients, now, account=None: fixture.model_copy(update={"generated_at": now}),
    )
    monkeypatch.setattr(app_weekly.time, "sleep", lambda seconds: None)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic_arn = sns.create_topic(Name="modeshift-verdicts")["TopicArn"]
        urls = {}
        for audience in ("machine", "email"):
            url = sqs.create_queue(QueueName=f"weekly-{audience}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            sns.subscribe(
                TopicArn=topic_arn,
                Protocol="sqs",
                Endpoint=arn,
                Attributes={"FilterPolicy": json.dumps({"type": ["weekly_report"], "audience": [audience]})},
            )
            urls[audience] = url
        yield Aws(s3=s3, sqs=sqs, topic_arn=topic_arn, queue_url=urls["machine"], email_queue_url=urls["email"])


def _settings(aws: Aws) -> Settings:
    return build_settings(
        {
            "region": REGION,
            "report_bucket": BUCKET,
            "topic_arn": aws.topic_arn,
            "notify_audiences": ("machine", "email", "chat"),
        }
    )


def _messages(aws: Aws, queue_url: str | None = None) -> list[dict[str, Any]]:
    queue_url = queue_url or aws.queue_url
    response = aws.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    bodies = [json.loads(m["Body"]) for m in response.get("Messages", [])]
    for m in response.get("Messages", []):
        aws.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return bodies


def test_weekly_report_lands_encrypted_and_links_when_run(aws: Aws) -> None:
    summary = run_weekly_report(_settings(aws), AwsClients(region=REGION), NOW)

    assert summary["status"] == "ok" and summary["first_week"] is True
    html_key = "reports/2026-11-30/modeshift-report.html"
    for key in (html_key, "reports/2026-11-30/modeshift-report.json", LATEST_KEY):
        head = aws.s3.head_object(Bucket=BUCKET, Key=key)
        assert head["ServerSideEncryption"] == "AES256", key
    assert aws.s3.head_object(Bucket=BUCKET, Key=html_key)["ContentType"] == "text/html; charset=utf-8"
    page = aws.s3.get_object(Bucket=BUCKET, Key=html_key)["Body"].read().decode()
    assert page.lstrip().lower().startswith("<!doctype html")
    (notification,) = _messages(aws)  # one message for the machine audience (the chat one is filtered out)
    attributes = {k: v["Value"] for k, v in notification["MessageAttributes"].items()}
    assert attributes["type"] == "weekly_report" and attributes["cluster"] == "*"
    assert attributes["severity"] in {"low", "medium", "high"}
    body = json.loads(notification["Message"])
    assert body["type"] == "weekly_report" and body["report_missing"] is None
    assert 1 <= len(body["top_actions"]) <= 5
    assert body["totals"]["monthly_savings_usd"] == summary["monthly_savings_usd"]
    (email,) = _messages(aws, aws.email_queue_url)
    assert "Top actions:" in email["Message"] and f"Report: {body['report_url']}" in email["Message"]
    url = urlparse(body["report_url"])
    assert url.path.endswith(html_key)
    query = parse_qs(url.query)
    assert query["X-Amz-Expires"] == [str(24 * 3600)]  # the default: one day (SigV4 allows up to a week)


def test_weekly_report_compares_with_last_week_when_run_twice(aws: Aws) -> None:
    settings, clients = _settings(aws), AwsClients(region=REGION)
    run_weekly_report(settings, clients, NOW - timedelta(days=7))
    _messages(aws)

    summary = run_weekly_report(settings, clients, NOW)

    assert summary["first_week"] is False
    stored = json.loads(aws.s3.get_object(Bucket=BUCKET, Key=summary["json_key"])["Body"].read())
    assert stored["trend"]["first_week"] is False
    assert all(point["previous"] is not None for point in stored["trend"]["points"])


def test_weekly_report_says_missing_without_link_when_s3_put_fails(aws: Aws) -> None:
    aws.s3.delete_bucket(Bucket=BUCKET)

    summary = run_weekly_report(_settings(aws), AwsClients(region=REGION), NOW)

    assert summary["status"] == "report_missing" and summary["html_key"] is None
    (notification,) = _messages(aws)
    body = json.loads(notification["Message"])
    assert body["report_url"] is None and body["report_missing"]
    (email,) = _messages(aws, aws.email_queue_url)
    text = email["Message"]
    assert "report missing: " in text
    assert "Report: " not in text and "https://" not in text


def _load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"weekly_report_app_{uuid.uuid4().hex}", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_weekly_report_handler_runs_on_the_scheduler_event(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODESHIFT_REPORT_BUCKET", BUCKET)
    monkeypatch.setenv("MODESHIFT_TOPIC_ARN", aws.topic_arn)
    event = load_event("scheduled_weekly_report")
    assert event["source"] == "aws.scheduler" and event["detail-type"] == "Scheduled Event"

    summary = _load_handler().lambda_handler(event, _lambda_context())

    assert summary["status"] == "ok"
    assert aws.s3.head_object(Bucket=BUCKET, Key=summary["html_key"])["ServerSideEncryption"] == "AES256"
    assert len(_messages(aws)) == 1


def test_weekly_summary_is_an_amazon_q_custom_notification_when_rendered_for_chat() -> None:
    weekly = build_weekly(AnalysisReport.model_validate_json(FIXTURE.read_text()))

    card = json.loads(
        summary_body(weekly, Audience.CHAT, "modeshift weekly", "https://example.test/r?X-Amz-Expires=60", None)
    )
    missing = json.loads(summary_body(weekly, Audience.CHAT, "modeshift weekly", None, "bucket gone"))

    assert card["version"] == "1.0" and card["source"] == "custom"
    assert card["content"]["textType"] == "client-markdown"
    assert card["content"]["description"].endswith("Report: https://example.test/r?X-Amz-Expires=60")
    assert missing["content"]["description"].endswith("report missing: bucket gone")
    assert "https://" not in missing["content"]["description"]


def _web_moved_to_fargate(document: AnalysisReport, cost_usd: float) -> AnalysisReport:
    """The document with service:web already on Fargate (kept there), costing `cost_usd` a month."""
    workloads = []
    for w in document.workloads:
        if w.workload == "service:web":
            w = w.model_copy(
                update={
                    "current_mode": LaunchMode.FARGATE,
                    "recommended_mode": LaunchMode.FARGATE,
                    "verdict": WorkloadVerdictKind.KEEP,
                    "current_monthly_cost_usd": cost_usd,
                    "recommended_monthly_cost_usd": cost_usd,
                    "monthly_savings_usd": 0.0,
                }
            )
        workloads.append(w)
    return document.model_copy(update={"workloads": tuple(workloads)})


def test_weekly_report_measures_a_recorded_switch_and_announces_its_regression_once(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modeshift.adapters.change_store import DynamoDbChangeStore
    from modeshift.domain.changes import change_from_cloudtrail
    from tests.fixtures.tables import create_modeshift_table

    fixture = AnalysisReport.model_validate_json(FIXTURE.read_text())
    web = next(w for w in fixture.workloads if w.workload == "service:web")
    moved = _web_moved_to_fargate(fixture, web.current_monthly_cost_usd * 3)  # the move tripled its bill
    monkeypatch.setattr(
        app_weekly,
        "analyze",
        lambda settings, clients, now, account=None: (fixture if now < NOW - timedelta(days=10) else moved).model_copy(
            update={"generated_at": now}
        ),
    )
    create_modeshift_table("modeshift-weekly", REGION)
    recorded = change_from_cloudtrail(load_event("cloudtrail_ecs_update_service_capacity_provider"))
    assert recorded is not None
    DynamoDbChangeStore(boto3.client("dynamodb", region_name=REGION), "modeshift-weekly", 70).record(
        recorded.model_copy(update={"changed_at": NOW - timedelta(days=12)}), NOW
    )
    sns, sqs = boto3.client("sns", region_name=REGION), aws.sqs
    url = sqs.create_queue(QueueName="regressions")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=aws.topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps({"type": ["change_regressed"], "audience": ["machine"]})},
    )
    settings = _settings(aws).model_copy(update={"table_name": "modeshift-weekly"})
    clients = AwsClients(region=REGION)

    runs = [run_weekly_report(settings, clients, NOW + timedelta(days=7 * n)) for n in (-2, -1, 0, 1)]

    # measured from the second week on (5 days after the change: past the 72 h minimum), announced once
    assert [r["regression_messages"] for r in runs] == [0, 1, 0, 0]
    stored = json.loads(aws.s3.get_object(Bucket=BUCKET, Key=runs[3]["json_key"])["Body"].read())
    (change,) = stored["changes"]
    assert (change["workload"], change["source"], change["from_mode"], change["to_mode"]) == (
        "service:web",
        "cloudtrail",
        "EC2",
        "FARGATE",
    )
    assert change["promised_monthly_savings_usd"] == web.monthly_savings_usd
    assert change["realised_monthly_savings_usd"] == pytest.approx(-2 * web.current_monthly_cost_usd, abs=0.01)
    assert change["regressed"] is True
    (message,) = _messages(aws, url)
    body = json.loads(message["Message"])
    assert body["type"] == "change_regressed" and body["subject"] == "service:web"
    assert "costs $" in body["title"]
    summaries = [json.loads(m["Message"]) for m in _messages(aws)]
    assert any(s["track_record"]["measured_count"] == 1 for s in summaries)


def _swept(aws: Aws, generated_at: datetime) -> AnalysisReport:
    """A merged sweep document in the bucket (sweeps/latest/), distinguishable from the fallback analysis."""
    fixture = AnalysisReport.model_validate_json(FIXTURE.read_text())
    document = fixture.model_copy(update={"generated_at": generated_at, "accounts": ("210987654321",)})
    aws.s3.put_object(Bucket=BUCKET, Key=SWEEP_LATEST_KEY, Body=document.model_dump_json().encode())
    return document


def test_weekly_report_reads_the_last_sweep_when_it_is_this_weeks(aws: Aws) -> None:
    swept = _swept(aws, NOW - timedelta(days=1))

    report = app_weekly.this_week(_settings(aws), AwsClients(region=REGION), aws.s3, NOW)

    assert report == swept


def test_weekly_report_analyses_itself_when_the_last_sweep_is_older_than_a_week_or_absent(aws: Aws) -> None:
    clients = AwsClients(region=REGION)
    absent = app_weekly.this_week(_settings(aws), clients, aws.s3, NOW)
    _swept(aws, NOW - timedelta(days=8))
    stale = app_weekly.this_week(_settings(aws), clients, aws.s3, NOW)

    for report in (absent, stale):
        assert report.generated_at == NOW and report.accounts == ()  # the stubbed analysis of this account
