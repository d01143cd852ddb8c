"""Benchmark: ECS task state changes/second through ingest_task_events' lambda_handler (SQS batches of 100,
moto DynamoDB) and DynamoDB write requests per event. Figures, not pass/fail."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the shared test fixtures (tests/fixtures)
try:
    import modeshift  # noqa: F401
except ImportError:  # not installed with `pip install -e .`: use the source tree
    sys.path.insert(0, str(ROOT / "layers" / "modeshift"))

REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE = "modeshift-bench"
GROUPS = 20
TASKS = 1_000  # each sends RUNNING then STOPPED: 2,000 events
BATCH = 100
SEED = 20_261_120
MOTO_BATCHES = 3  # moto's transactions slow down with the table's size: keep its run short
SIZES = [("256", "512"), ("512", "1024"), ("1024", "2048"), ("2048", "4096"), ("4096", "8192")]

os.environ.update(
    {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "MODESHIFT_TABLE_NAME": TABLE,
        "POWERTOOLS_METRICS_NAMESPACE": "modeshift",
        "POWERTOOLS_SERVICE_NAME": "ingest_task_events",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from modeshift import ingest  # noqa: E402
from modeshift.domain.task_events import deltas_for, parse_task_event, start_moment  # noqa: E402
from tests.fixtures.tables import create_modeshift_table  # noqa: E402


@dataclass
class Context:
    function_name: str = "bench"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bench"
    aws_request_id: str = "bench"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def synthetic_events(rng: random.Random) -> list[dict[str, Any]]:
    """RUNNING then STOPPED per task, Fargate / Fargate Spot / EC2, 1 min to 3 h, over one day, time-ordered."""
    cluster = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/bench"
    day = datetime(2026, 11, 20, tzinfo=UTC)
    timeline: list[tuple[datetime, dict[str, Any]]] = []
    for index in range(TASKS):
        group_index = index % GROUPS
        group = f"service:svc-{group_index:02d}" if group_index < GROUPS // 2 else f"family:job-{group_index:02d}"
        mode = ("FARGATE", "FARGATE_SPOT", "EC2")[group_index % 3]
        cpu, memory = SIZES[group_index % len(SIZES)]
        pull = day + timedelta(seconds=rng.uniform(0, 86_400))
        started = pull + timedelta(seconds=rng.uniform(5, 40))
        stopped = started + timedelta(seconds=rng.choice([rng.uniform(30, 600), rng.uniform(600, 10_800)]))
        task_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/bench/{uuid.UUID(int=rng.getrandbits(128)).hex}"
        detail: dict[str, Any] = {
            "attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64"}],
            "clusterArn": cluster,
            "cpu": cpu,
            "memory": memory,
            "createdAt": _iso(pull - timedelta(seconds=8)),
            "group": group,
            "launchType": "EC2" if mode == "EC2" else "FARGATE",
            "pullStartedAt": _iso(pull),
            "startedAt": _iso(started),
            "startedBy": "ecs-svc/1" if group.startswith("service:") else "events-rule/bench",
            "taskArn": task_arn,
            "taskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{group.split(':')[1]}:1",
        }
        if mode == "FARGATE_SPOT":
            detail["capacityProviderName"] = "FARGATE_SPOT"
        if mode == "EC2":
            detail["containerInstanceArn"] = f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/bench/{index:032x}"
        running = {**detail, "lastStatus": "RUNNING", "desiredStatus": "RUNNING", "version": 3}
        spot = mode == "FARGATE_SPOT" and rng.random() < 0.2
        stop = {
            **detail,
            "lastStatus": "STOPPED",
            "desiredStatus": "STOPPED",
            "stoppingAt": _iso(stopped - timedelta(seconds=2)),
            "stoppedAt": _iso(stopped),
            "stopCode": "SpotInterruption" if spot else "EssentialContainerExited",
            "version": 5,
        }
        for moment, body in ((started, running), (stopped, stop)):
            envelope = {
                "version": "0",
                "id": str(uuid.UUID(int=rng.getrandbits(128))),
                "detail-type": "ECS Task State Change",
                "source": "aws.ecs",
                "account": ACCOUNT,
                "time": _iso(moment)[:-5] + "Z",
                "region": REGION,
                "resources": [task_arn],
                "detail": body,
            }
            timeline.append((moment, envelope))
    timeline.sort(key=lambda pair: pair[0])
    return [envelope for _, envelope in timeline]


def sqs_batches(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    batches = []
    for start in range(0, len(events), BATCH):
        records = [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "bench",
                "body": json.dumps(event),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "0",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:bench",
                "awsRegion": REGION,
            }
            for event in events[start : start + BATCH]
        ]
        batches.append({"Records": records})
    return batches


class NullTransactions:
    """Stands in for the DynamoDB client: accepts every transaction, so the handler's own cost shows alone."""

    def __init__(self, real: Any) -> None:
        self.meta = real.meta

    def transact_write_items(self, **params: Any) -> dict[str, Any]:
        self.meta.events.emit("provide-client-params.dynamodb.TransactWriteItems", params=params, model=None)
        return {}


def run(app: Any, batches: list[dict[str, Any]], *, null_backend: bool) -> dict[str, float]:
    with mock_aws():
        ingest.ledger_writer.cache_clear()
        create_modeshift_table(TABLE, REGION)
        writer = ingest.ledger_writer()
        counts = {"calls": 0, "items": 0}

        def count(params: dict[str, Any], **_: Any) -> None:
            counts["calls"] += 1
            counts["items"] += len(params["TransactItems"])

        writer._client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", count)  # type: ignore[attr-defined]
        if null_backend:
            writer._client = NullTransactions(writer._client)  # type: ignore[attr-defined]
        failures = 0
        with contextlib.redirect_stdout(io.StringIO()):  # Powertools prints one EMF line per invocation
            started = time.perf_counter()
            for batch in batches:
                failures += len(app.lambda_handler(batch, Context())["batchItemFailures"])
            elapsed = time.perf_counter() - started
        first = dict(counts)
        duplicates: dict[str, float] = {}
        if not null_backend:
            with contextlib.redirect_stdout(io.StringIO()):
                again = time.perf_counter()
                app.lambda_handler(batches[0], Context())
                duplicates["elapsed"] = time.perf_counter() - again
            duplicates["calls"] = counts["calls"] - first["calls"]
            duplicates["table_items"] = boto3.client("dynamodb", region_name=REGION).scan(
                TableName=TABLE, Select="COUNT"
            )["Count"]
        ingest.ledger_writer.cache_clear()
    return {"elapsed": elapsed, "failures": failures, **first, **{f"dup_{k}": v for k, v in duplicates.items()}}


def main() -> None:
    spec = importlib.util.spec_from_file_location("ingest_app_bench", ROOT / "functions/ingest_task_events/app.py")
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)

    events = synthetic_events(random.Random(SEED))
    batches = sqs_batches(events)
    n = len(events)
    parsed = [parse_task_event(event) for event in events]
    buckets = sum(len({d.hour for d in deltas_for(event)}) for event in parsed)
    # in time order, each task's RUNNING Puts its open-task marker and its STOPPED Deletes it
    markers = sum(
        1
        for event in parsed
        if (event.detail.is_running or event.detail.stopped_at is not None) and start_moment(event) is not None
    )
    print(
        f"events: {n} ({TASKS} tasks x RUNNING+STOPPED in time order, {GROUPS} groups, Fargate / Fargate Spot / EC2, "
        f"1 min-3 h), SQS batches of {BATCH}: {len(batches)}"
    )

    own = run(app, batches, null_backend=True)
    print(
        f"handler + library alone (DynamoDB calls accepted, not executed): {n / own['elapsed']:,.0f} events/s "
        f"({own['elapsed']:.2f} s)"
    )
    print(f"TransactWriteItems calls per event: {own['calls'] / n:.3f}")
    print(f"write requests (actions inside the transactions) per event: {own['items'] / n:.3f}")
    print(
        f"  aim: <= 1 in-flight + 1 per distinct (cluster, group, hour) + 1 open-task marker at start and at stop "
        f"= {(n + buckets + markers) / n:.3f} per event"
    )

    moto_batches = batches[:MOTO_BATCHES]
    moto_events = sum(len(batch["Records"]) for batch in moto_batches)
    through_moto = run(app, moto_batches, null_backend=False)
    print(
        f"through moto DynamoDB (first {moto_events} events): {moto_events / through_moto['elapsed']:,.1f} events/s "
        f"({through_moto['elapsed']:.2f} s, {through_moto['failures']:.0f} failed, "
        f"{through_moto['items'] / moto_events:.3f} write requests per event)"
    )
    print(
        f"  redelivered batch of {BATCH}: {through_moto['dup_calls'] / BATCH:.3f} calls per event, "
        f"{BATCH / through_moto['dup_elapsed']:,.1f} events/s; table items {through_moto['dup_table_items']:.0f}"
    )
    print("  (moto deep-copies the whole table once per transaction action: its figure measures moto, not modeshift)")


if __name__ == "__main__":
    main()
