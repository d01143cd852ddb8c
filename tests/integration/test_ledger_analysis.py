"""The task ledger feeds the analysis: a nightly job no service metric shows gets its own costed verdict."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modeshift.adapters.dynamodb_ledger import TaskLedgerWriter
from modeshift.aws import AwsClients
from modeshift.config import Settings
from modeshift.demo import seed
from modeshift.demo.local_aws import install_fast_cloudwatch, uninstall_fast_cloudwatch
from modeshift.domain.models import HOURS_PER_MONTH, Architecture, LaunchMode
from modeshift.domain.pricing import load_embedded_catalog
from modeshift.domain.task_events import parse_task_event
from modeshift.service import analyze
from tests.events import load_event
from tests.fixtures.tables import create_modeshift_table

pytestmark = pytest.mark.integration

REGION = "us-east-1"
CLUSTER = "batch"
FAMILY = "nightly-etl"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
DAYS = 6
RUN_MINUTES = 60


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    install_fast_cloudwatch()
    try:
        with mock_aws():
            yield
    finally:
        uninstall_fast_cloudwatch()


def _table() -> Any:
    create_modeshift_table("modeshift", REGION)
    return boto3.resource("dynamodb", region_name=REGION).Table("modeshift")


def _run(day: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """RUNNING and STOPPED events of the night's run, shaped like the sample EC2 event."""
    started = (NOW - timedelta(days=day)).replace(hour=1, minute=0, second=0, microsecond=0)
    stopped = started + timedelta(minutes=RUN_MINUTES)
    stopped_event = copy.deepcopy(load_event("ecs_task_state_change_stopped_ec2"))
    detail = stopped_event["detail"]
    task_arn = f"arn:aws:ecs:{REGION}:123456789012:task/{CLUSTER}/night{day:02d}"
    detail.update(
        clusterArn=f"arn:aws:ecs:{REGION}:123456789012:cluster/{CLUSTER}",
        taskArn=task_arn,
        group=f"family:{FAMILY}",
        cpu="2048",
        memory="4096",
        createdAt=(started - timedelta(seconds=30)).isoformat(),
        pullStartedAt=(started - timedelta(seconds=20)).isoformat(),
        startedAt=started.isoformat(),
        stoppingAt=stopped.isoformat(),
        stoppedAt=stopped.isoformat(),
        version=5,
    )
    running_event = copy.deepcopy(stopped_event)
    running_event["detail"].update(lastStatus="RUNNING", desiredStatus="RUNNING", version=3)
    for key in ("stoppingAt", "stoppedAt", "stopCode", "stoppedReason", "executionStoppedAt"):
        running_event["detail"].pop(key, None)
    return running_event, stopped_event


def _seed_account(table: Any) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    ec2 = boto3.client("ec2", region_name=REGION)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    seed.create_ec2_cluster(ecs, ec2, CLUSTER, instance_type="m5.large", instance_count=2, container_insights=False)
    seed.register_task_definition(ecs, FAMILY, cpu_units=2048, memory_mib=4096, compatibilities=("EC2", "FARGATE"))
    timeline = seed.Timeline.ending(NOW, days=DAYS, period_seconds=300)
    # The hosts sit nearly empty: 2 % reserved, except while the nightly job runs.
    for metric in ("CPUReservation", "MemoryReservation"):
        values = [2.0] * timeline.count
        seed.put_series(
            cloudwatch, "AWS/ECS", metric, seed.dimensions(ClusterName=CLUSTER), timeline.start, 300, values
        )
    writer = TaskLedgerWriter(table)
    for day in range(1, DAYS):
        for event in _run(day):
            assert writer.record(parse_task_event(json.dumps(event))) == "recorded"


def test_analysis_costs_a_standalone_family_from_the_ledger_when_no_metric_shows_it(aws: None) -> None:
    table = _table()
    _seed_account(table)
    settings = Settings(region=REGION, lookback_days=DAYS, table_name="modeshift")

    report = analyze(settings, AwsClients(region=REGION), NOW)

    (family,) = [w for w in report.workloads if w.workload == f"family:{FAMILY}"]
    assert family.evidence["task_count_source"] == "task_ledger"
    assert family.pattern.value == "periodic"
    assert family.current_mode is LaunchMode.EC2
    assert family.verdict.value == "move_to_fargate_spot"
    assert any("assumed interruption tolerant" in reason for reason in family.reasons)
    # Spot cost from the ledger's task-hours: 5 one-hour runs over the hours the ledger covers (from its
    # first bucket; before it the ledger knows nothing), scaled to a month.
    first_bucket = (NOW - timedelta(days=DAYS - 1)).replace(hour=1, minute=0, second=0, microsecond=0)
    ledger_hours = (NOW - first_bucket).total_seconds() / 3600
    rates = load_embedded_catalog().fargate_rates(REGION, Architecture.X86_64, spot=True)
    avg_tasks = 5 * RUN_MINUTES / 60 / ledger_hours
    assert family.evidence["features"]["avg_tasks"] == pytest.approx(avg_tasks)
    monthly = avg_tasks * (2 * rates.vcpu_hour_usd + 4 * rates.gb_hour_usd) * HOURS_PER_MONTH
    assert family.recommended_monthly_cost_usd == pytest.approx(monthly, abs=0.01)


def test_analysis_ignores_the_ledger_when_no_table_is_configured(aws: None) -> None:
    table = _table()
    _seed_account(table)

    report = analyze(Settings(region=REGION, lookback_days=DAYS), AwsClients(region=REGION), NOW)

    assert [w.workload for w in report.workloads if w.workload.startswith("family:")] == []
