"""analyze_fleet end to end under moto: events/ files → lambda_handler → SNS (read back from SQS), state, alarms."""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from modeshift.demo import seed
from modeshift.demo.local_aws import install_fast_cloudwatch, uninstall_fast_cloudwatch
from modeshift.errors import AwsCallError
from tests.events import load_event
from tests.fixtures.lambda_context import FakeLambdaContext
from tests.fixtures.tables import create_modeshift_table

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE = "modeshift-test"
TOPIC = "modeshift-verdicts"
LOOKBACK_DAYS = 4
HANDLER = Path(__file__).resolve().parents[2] / "functions" / "analyze_fleet" / "app.py"
EC2_CLUSTERS = ("core-ec2", "shop-ec2")


def _lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext(
        "modeshift-AnalyzeFleetFunction",
        region=REGION,
        account=ACCOUNT,
        memory_limit_in_mb=512,
        remaining_millis=600_000,
    )


@dataclass
class Aws:
    dynamodb: Any
    sns: Any
    sqs: Any
    cloudwatch: Any
    topic_arn: str
    queue_url: str


def _load_handler() -> ModuleType:
    """A fresh import of the handler module (its cached settings and clients start empty)."""
    name = f"analyze_fleet_app_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seed_fleet(now: datetime) -> None:
    """Two small EC2 clusters over 4 days: shop-ec2 mostly empty (moves/tuning), core-ec2 fuller."""
    ecs, ec2 = boto3.client("ecs", region_name=REGION), boto3.client("ec2", region_name=REGION)
    # Skip botocore's client-side check of the big PutMetricData calls (as the demo does); moto validates.
    cw = boto3.client("cloudwatch", region_name=REGION, config=Config(parameter_validation=False))
    t = seed.Timeline.ending(now, days=LOOKBACK_DAYS)
    image_id = seed.ecs_optimized_image_id(ec2)  # once: moto's image catalog is slow to filter
    plan = {
        # cluster: (instance type, instances, [(service, cpu units, MiB, tasks, cpu %, memory %)])
        "shop-ec2": ("m5.large", 3, [("api", 1024, 2048, 2, 40.0, 55.0)]),
        "core-ec2": ("c5.xlarge", 2, [("orders", 1024, 1536, 3, 30.0, 40.0), ("billing", 512, 1024, 2, 20.0, 30.0)]),
    }
    for index, (cluster, (instance_type, count, services)) in enumerate(plan.items()):
        created = seed.create_ec2_cluster(
            ecs, ec2, cluster, instance_type=instance_type, instance_count=count, image_id=image_id
        )
        cpu_reserved = mem_reserved = 0.0
        for offset, (name, cpu_units, memory_mib, tasks, cpu_pct, mem_pct) in enumerate(services):
            td = seed.register_task_definition(ecs, name, cpu_units=cpu_units, memory_mib=memory_mib)
            seed.create_service(ecs, cluster, name, td, desired_count=tasks, launch_type="EC2")
            run_seed = seed.DEFAULT_SEED + 10 * index + offset
            seed.put_service_metrics(
                cw,
                t,
                cluster,
                name,
                [float(tasks)] * t.count,
                seed.steady(t, cpu_pct, 0.08, seed=run_seed),
                seed.steady(t, mem_pct, 0.03, seed=run_seed + 1),
                container_insights=False,
            )
            cpu_reserved += tasks * cpu_units
            mem_reserved += tasks * memory_mib
        dims = seed.dimensions(ClusterName=cluster)
        for metric, pct in (
            ("CPUReservation", 100 * cpu_reserved / created.registered_cpu_units),
            ("MemoryReservation", 100 * mem_reserved / created.registered_memory_mib),
        ):
            values = seed.steady(t, pct, 0.01, seed=seed.DEFAULT_SEED + index)
            seed.put_series(cw, seed.AWS_ECS, metric, dims, t.start, t.period_seconds, values, unit="Percent")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_SERVICE_NAME": "modeshift",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "modeshift",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MODESHIFT_CLUSTERS"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        install_fast_cloudwatch()
        try:
            dynamodb = boto3.client("dynamodb", region_name=REGION)
            create_modeshift_table(TABLE, REGION)
            sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
            topic_arn = sns.create_topic(Name=TOPIC)["TopicArn"]
            queue_url = sqs.create_queue(QueueName="verdicts")["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            sns.subscribe(
                TopicArn=topic_arn,
                Protocol="sqs",
                Endpoint=queue_arn,
                Attributes={"RawMessageDelivery": "false"},
            )
            _seed_fleet(datetime.now(UTC))
            monkeypatch.setenv("MODESHIFT_TABLE_NAME", TABLE)
            monkeypatch.setenv("MODESHIFT_TOPIC_ARN", topic_arn)
            monkeypatch.setenv("MODESHIFT_LOOKBACK_DAYS", str(LOOKBACK_DAYS))
            monkeypatch.setenv("MODESHIFT_MANAGE_ALARMS", "true")
            yield Aws(dynamodb, sns, sqs, boto3.client("cloudwatch", region_name=REGION), topic_arn, queue_url)
        finally:
            uninstall_fast_cloudwatch()


def _drain(aws: Aws) -> list[dict[str, Any]]:
    """Every SNS envelope waiting in the queue (then deleted), as SQS received it."""
    envelopes: list[dict[str, Any]] = []
    while True:
        messages = aws.sqs.receive_message(
            QueueUrl=aws.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return envelopes
        for message in messages:
            envelopes.append(json.loads(message["Body"]))
            aws.sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=message["ReceiptHandle"])


def _state_items(aws: Aws) -> dict[tuple[str, str], dict[str, Any]]:
    items = aws.dynamodb.scan(TableName=TABLE)["Items"]
    return {(i["pk"]["S"], i["sk"]["S"]): i for i in items if i["pk"]["S"].startswith("VERDICT#")}


def _run(handler: ModuleType, event_name: str, **changes: Any) -> dict[str, Any]:
    event = {**load_event(event_name), **changes}
    result: dict[str, Any] = handler.lambda_handler(event, _lambda_context())
    return result


# --------------------------------------------------------------------------- tests


def test_scheduled_events_publish_each_material_verdict_once_and_reruns_publish_nothing(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = _load_handler()
    first = _run(handler, "scheduled_eventbridge")
    assert first["status"] == "ok" and first["trigger"] == "sweep"
    assert first["clusters"] == sorted(EC2_CLUSTERS)
    published = first["publish"]["published"]
    assert published >= 1
    assert first["publish"]["pending"] == first["publish"]["failed"] == 0

    envelopes = _drain(aws)
    assert len(envelopes) == published
    seen = set()
    for envelope in envelopes:
        assert envelope["Type"] == "Notification" and envelope["TopicArn"] == aws.topic_arn
        body = json.loads(envelope["Message"])
        assert body["schema_version"] == "1.0"
        attributes = envelope["MessageAttributes"]
        assert {name: a["Type"] for name, a in attributes.items()} == {
            "type": "String",
            "severity": "String",
            "cluster": "String",
            "audience": "String",
        }
        assert attributes["audience"]["Value"] == "machine"  # the default: machine rendering only
        assert attributes["type"]["Value"] == body["type"] == body["verdict"]["verdict"]
        assert attributes["severity"]["Value"] == body["severity"] in {"low", "medium", "high"}
        assert attributes["cluster"]["Value"] == body["cluster"] in EC2_CLUSTERS
        assert envelope["Subject"] == body["title"] and len(envelope["Subject"]) < 100
        assert body["cluster"] in envelope["Subject"]
        seen.add((body["cluster"], body["subject"]))
    assert len(seen) == published  # one message per verdict

    states = _state_items(aws)
    for cluster, subject in seen:
        item = states[(f"VERDICT#{cluster}", subject)]
        assert item["status"]["S"] == "published"
        assert int(item["expires_at"]["N"]) > datetime.now(UTC).timestamp() + 60 * 86_400
    assert all(i["status"]["S"] in {"published", "recorded"} for i in states.values())

    # The same schedule again, as a new event: nothing changed, nothing sent.
    second = _run(handler, "scheduled_scheduler")
    assert second["status"] == "ok"
    assert second["publish"]["published"] == 0
    assert second["publish"]["unchanged"] == len(states)
    assert _drain(aws) == []

    # The first event redelivered (same id): idempotency answers without analysing again.
    def must_not_run(*_: Any, **__: Any) -> None:
        raise AssertionError("a redelivered event was analysed again")

    monkeypatch.setattr("modeshift.app_analyze.analyze", must_not_run)
    assert _run(handler, "scheduled_eventbridge") == first
    assert _drain(aws) == []
    idempotency = aws.dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "IDEMPOTENCY#analyze_fleet"}},
    )["Items"]
    assert len(idempotency) == 2  # one per event id
    assert all("expires_at" in item for item in idempotency)


def test_alarm_event_analyses_only_its_cluster(aws: Aws) -> None:
    handler = _load_handler()
    summary = _run(handler, "alarm_state_change_low_reservation")
    assert summary["status"] == "ok" and summary["trigger"] == "alarm"
    assert summary["clusters"] == ["shop-ec2"]
    assert summary["alarms"] is None  # alarms are synchronised on sweeps only
    envelopes = _drain(aws)
    assert envelopes and len(envelopes) == summary["publish"]["published"]
    assert {json.loads(e["Message"])["cluster"] for e in envelopes} == {"shop-ec2"}
    assert {pk for pk, _ in _state_items(aws)} == {"VERDICT#shop-ec2"}


def test_foreign_alarm_event_is_ignored(aws: Aws) -> None:
    handler = _load_handler()
    summary = _run(handler, "alarm_state_change_other")
    assert summary["status"] == "ignored"
    assert "not a modeshift alarm" in summary["reason"]
    assert _drain(aws) == []
    assert _state_items(aws) == {}


def test_event_from_another_account_is_ignored(aws: Aws) -> None:
    summary = _run(_load_handler(), "scheduled_eventbridge", account="999999999999")
    assert summary["status"] == "ignored"
    assert _drain(aws) == []


def test_sns_failure_leaves_the_verdict_pending_and_the_next_run_publishes_it(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modeshift.adapters import sns_publisher

    real_publish = sns_publisher.SnsPublisher.publish
    calls = {"n": 0}

    def flaky(self: Any, message: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise AwsCallError("Publish", "InternalError", "SNS had a bad moment")
        return real_publish(self, message)

    monkeypatch.setattr(sns_publisher.SnsPublisher, "publish", flaky)
    handler = _load_handler()
    first = _run(handler, "scheduled_eventbridge")
    assert first["publish"]["pending"] == 1
    assert first["error_count"] >= 1 and any("kept pending" in e for e in first["errors"])
    sent_first = {(json.loads(e["Message"])["cluster"], json.loads(e["Message"])["subject"]) for e in _drain(aws)}
    pending = [key for key, item in _state_items(aws).items() if item["status"]["S"] == "pending"]
    assert len(pending) == 1
    assert "message" in _state_items(aws)[pending[0]]

    second = _run(handler, "scheduled_scheduler")
    assert second["publish"]["retried"] == 1
    assert second["publish"]["published"] == 1 and second["publish"]["pending"] == 0
    sent_second = [json.loads(e["Message"]) for e in _drain(aws)]
    assert [(m["cluster"], m["subject"]) for m in sent_second] == [
        (pending[0][0].removeprefix("VERDICT#"), pending[0][1])
    ]
    assert (sent_second[0]["cluster"], sent_second[0]["subject"]) not in sent_first
    assert all(item["status"]["S"] != "pending" for item in _state_items(aws).values())

    third = _run(handler, "scheduled_eventbridge", id=str(uuid.uuid4()))
    assert third["publish"]["published"] == 0
    assert _drain(aws) == []


def test_manage_alarms_keeps_one_alarm_per_ec2_cluster_removes_stale_ones_and_spares_foreign_ones(aws: Aws) -> None:
    cw = aws.cloudwatch
    for name in ("modeshift-retired-cluster-low-reservation", "checkout-api-high-cpu"):
        cw.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/ECS",
            MetricName="CPUUtilization",
            Dimensions=[{"Name": "ClusterName", "Value": "retired-cluster"}],
            Statistic="Average",
            Period=300,
            EvaluationPeriods=1,
            Threshold=80.0,
            ComparisonOperator="GreaterThanThreshold",
        )
    handler = _load_handler()
    summary = _run(handler, "scheduled_eventbridge")
    expected = sorted(f"modeshift-{c}-low-reservation" for c in EC2_CLUSTERS)
    assert sorted(summary["alarms"]["created"]) == expected
    assert summary["alarms"]["deleted"] == ["modeshift-retired-cluster-low-reservation"]

    alarms = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}
    assert sorted(alarms) == sorted([*expected, "checkout-api-high-cpu"])
    alarm = alarms["modeshift-shop-ec2-low-reservation"]
    assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == 40.0
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (6, 6)
    assert alarm["TreatMissingData"] == "notBreaching"
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    assert queries["reservation"]["Expression"] == "MAX([cpu, memory])"
    for query_id, metric in (("cpu", "CPUReservation"), ("memory", "MemoryReservation")):
        stat = queries[query_id]["MetricStat"]
        assert stat["Metric"]["MetricName"] == metric and stat["Metric"]["Namespace"] == "AWS/ECS"
        assert stat["Metric"]["Dimensions"] == [{"Name": "ClusterName", "Value": "shop-ec2"}]
        assert stat["Period"] == 300

    again = _run(handler, "scheduled_scheduler")
    assert sorted(again["alarms"]["unchanged"]) == expected
    assert again["alarms"]["created"] == again["alarms"]["updated"] == again["alarms"]["deleted"] == []


# --------------------------------------------------------------------------- scope is a boundary


def _alarm_for(cluster: str, dimension: str | None = None) -> dict[str, Any]:
    event = load_event("alarm_state_change_low_reservation")
    event["detail"]["alarmName"] = f"modeshift-{cluster}-low-reservation"
    for member in event["detail"]["configuration"]["metrics"]:
        if "metricStat" in member:
            member["metricStat"]["metric"]["dimensions"] = {"ClusterName": dimension or cluster}
    return event


def _published_clusters(aws: Aws) -> set[str]:
    return {json.loads(envelope["Message"])["cluster"] for envelope in _drain(aws)}


def test_alarm_is_refused_and_nothing_published_when_its_cluster_is_outside_the_clusters_setting(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MODESHIFT_CLUSTERS", "shop-ec2")

    summary = _load_handler().lambda_handler(_alarm_for("core-ec2"), _lambda_context())

    assert summary["status"] == "ignored"
    assert summary["refused_clusters"] == ["core-ec2"]
    assert _drain(aws) == []
    assert _state_items(aws) == {}
    assert any("refused: clusters outside the Clusters setting" in r.getMessage() for r in caplog.records)


def test_manual_invoke_analyses_and_publishes_only_clusters_inside_the_clusters_setting(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODESHIFT_CLUSTERS", "shop-ec2")

    summary = _load_handler().lambda_handler({"clusters": ["core-ec2", "shop-ec2"]}, _lambda_context())

    assert summary["status"] == "ok"
    assert summary["clusters"] == ["shop-ec2"]
    assert summary["refused_clusters"] == ["core-ec2"]
    assert _published_clusters(aws) == {"shop-ec2"}
    assert {pk for pk, _ in _state_items(aws)} == {"VERDICT#shop-ec2"}
    assert summary["alarms"]["created"] == ["modeshift-shop-ec2-low-reservation"]


def test_scheduled_sweep_publishes_nothing_outside_the_clusters_setting_when_it_is_set(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODESHIFT_CLUSTERS", "core-ec2")

    summary = _run(_load_handler(), "scheduled_eventbridge")

    assert summary["clusters"] == ["core-ec2"]
    assert _published_clusters(aws) <= {"core-ec2"}
    assert {pk for pk, _ in _state_items(aws)} <= {"VERDICT#core-ec2"}


def test_manual_invoke_reports_unknown_clusters_and_analyses_only_existing_ones(
    aws: Aws, caplog: pytest.LogCaptureFixture
) -> None:
    summary = _load_handler().lambda_handler({"clusters": ["ghost", "shop-ec2"]}, _lambda_context())

    assert summary["clusters"] == ["shop-ec2"]
    assert summary["unknown_clusters"] == ["ghost"]
    assert summary["error_count"] == 0  # not analysed, so not an analysis error either
    assert _published_clusters(aws) == {"shop-ec2"}
    assert any("no such cluster" in r.getMessage() and "ghost" in r.getMessage() for r in caplog.records)


def test_manual_invoke_runs_nothing_when_every_named_cluster_is_unknown(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_run(*_: Any, **__: Any) -> None:
        raise AssertionError("nothing was left to analyse, yet the analysis ran (over every cluster?)")

    monkeypatch.setattr("modeshift.app_analyze.analyze", must_not_run)

    summary = _load_handler().lambda_handler({"clusters": ["ghost"]}, _lambda_context())

    assert (summary["status"], summary["unknown_clusters"]) == ("ignored", ["ghost"])
    assert _drain(aws) == []


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (_alarm_for("shop-ec2", dimension="core-ec2"), "ClusterName dimension says 'core-ec2'"),
        ({"clusters": [f"c{index}" for index in range(200)]}, "200 clusters named, at most 100"),
    ],
    ids=["alarm dimension disagrees with its name", "200 cluster names"],
)
def test_trigger_is_rejected_before_any_aws_call_when_it_is_forged(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, event: dict[str, Any], reason: str
) -> None:
    calls: list[str] = []
    handler = _load_handler()
    monkeypatch.setattr("modeshift.app_analyze.analyze", lambda *a, **k: calls.append("analyze"))
    monkeypatch.setattr("modeshift.app_analyze.EcsInventoryReader", lambda *a, **k: calls.append("ecs"))

    summary = handler.lambda_handler(event, _lambda_context())

    assert summary["status"] == "ignored" and reason in summary["reason"]
    assert calls == []
    assert _drain(aws) == []
