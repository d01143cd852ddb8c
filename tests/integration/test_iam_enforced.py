"""The handlers' integration tests once more, each handler running as its role from template.yaml (moto, IAM enforced).

Most scenarios below are existing tests of test_analyze_fleet, test_ingest_task_events, test_weekly_report and
test_notify_slack, with that module's own fixtures, run unchanged except for one thing: the handler is wrapped to
run as an IAM user whose inline policy is exactly the role's policy from template.yaml (`!GetAtt`, `!Ref`, `!Sub`
and `!If` resolved to the moto resources the fixtures made), under moto's `set_initial_no_auth_action_count(0)`, so
every AWS call the handler makes is checked, while the test's own setup and assertions are not. Three scenarios
of its own reach what those tests leave out: a failed analysis (Powertools deletes its idempotency record), a
standalone task and a capacity provider (DescribeTasks, DescribeCapacityProviders), and the weekly report with
its real analysis (test_weekly_report stubs it out). The sweep's three handlers run here in the order the state
machine runs them (list_targets, analyze_cluster per target, merge_sweep), each as its role and with the
environment the template gives its function, over the seeded fleet of test_analyze_fleet; a member account's
fleet is read through the role stacksets/member-role.yaml deploys there, its calls checked against that policy.

The decision is `tests.fixtures.iam.decide` (see there why not moto's): resources are the real ARNs of each request
(per item for TransactWriteItems) and the conditions of the template (`dynamodb:LeadingKeys`,
`cloudwatch:AlarmActions`) are evaluated, none stripped. What this cannot see: resource policies (the topic and
queue policies are asserted in test_template.py), and calls made by AWS on a role's behalf rather than by the code
(Lambda's logs, X-Ray, the SQS event source mapping, async on-failure destinations): `NOT_EXERCISED` names those.

A scenario passes only if the original test passes and no call was denied (the code degrades on AccessDenied in
places: a swallowed denial must still fail). Per role, every granted action must be used by some scenario or be
listed in `NOT_EXERCISED` with its reason: an unused permission fails as surely as a missing one.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from modeshift.app_sweep import LATEST_KEY, part_key
from modeshift.demo import seed
from modeshift.errors import AccessDeniedError, ModeshiftError
from tests.events import load_event
from tests.fixtures.iam import (
    Decision,
    IamEnforcement,
    StackRefs,
    UnresolvedReference,
    UnsupportedPolicy,
    _policy_document,
    as_list,
    decide,
    evaluate_conditions,
    load_template,
    resolve,
    role_actions,
    role_policy_documents,
    roles,
    without_action,
)
from tests.fixtures.lambda_context import FakeLambdaContext
from tests.integration import test_analyze_fleet as analyze_tests
from tests.integration import test_ingest_task_events as ingest_tests
from tests.integration import test_notify_slack as notify_tests
from tests.integration import test_record_changes as record_tests
from tests.integration import test_weekly_report as weekly_tests

pytestmark = pytest.mark.integration

TEMPLATE = load_template()
Documents = list[dict[str, Any]]
Trim = Callable[[Documents], Documents]

# Granted, needed, and not called by the code under test: each with the reason no scenario uses it.
_RUNTIME = {
    "logs:CreateLogStream": "the Lambda service writes the function's logs with the role",
    "logs:PutLogEvents": "the Lambda service writes the function's logs with the role",
    "xray:PutTraceSegments": "the X-Ray SDK sends traces through Lambda's daemon (tracing is off in tests)",
    "xray:PutTelemetryRecords": "the X-Ray SDK sends traces through Lambda's daemon (tracing is off in tests)",
}
_DESTINATION = {"sqs:SendMessage": "Lambda's on-failure destination: the Lambda service sends with the role"}
_PRICES = {"pricing:GetProducts": "moto has no Price List API: the tests price from the embedded, dated catalog"}
NOT_EXERCISED: dict[str, dict[str, str]] = {
    "AnalyzeFleetRole": {**_RUNTIME, **_DESTINATION, **_PRICES},
    "IngestTaskEventsRole": {
        **_RUNTIME,
        **{
            f"sqs:{verb}": "the SQS event source mapping polls and deletes with the role, not the code"
            for verb in ("ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes")
        },
    },
    "WeeklyReportRole": {**_RUNTIME, **_DESTINATION, **_PRICES},
    "NotifySlackRole": {**_RUNTIME, **_DESTINATION},
    "SweepWorkerRole": {**_RUNTIME, **_PRICES},
    "MergeSweepRole": dict(_RUNTIME),
    "RecordChangesRole": {**_RUNTIME, **_DESTINATION},
}


# ---------------------------------------------------------------- reusing the other modules' fixtures and tests


def _enter(stack: ExitStack, fixture: Any, available: dict[str, Any]) -> Any:
    """Another module's fixture, set up with the values it asks for by name and torn down by `stack`."""
    function = fixture.__wrapped__
    arguments = {name: available[name] for name in inspect.signature(function).parameters}
    result = function(**arguments)
    if inspect.isgenerator(result):
        value = next(result)
        stack.callback(next, result, None)  # runs the fixture's teardown
        return value
    return result


def _run_test(module: ModuleType, name: str, available: dict[str, Any]) -> None:
    test = getattr(module, name)
    test(**{arg: available[arg] for arg in inspect.signature(test).parameters})


def _as_role(module: ModuleType, enforcement: IamEnforcement, principal: Any) -> ModuleType:
    module.lambda_handler = enforcement.run_as(principal, module.lambda_handler)
    return module


def _principal(enforcement: IamEnforcement, role: str, refs: StackRefs, trim: Trim | None) -> Any:
    documents = role_policy_documents(TEMPLATE, role, refs)
    return enforcement.principal(role, trim(documents) if trim else documents)


@dataclass(frozen=True)
class Scenario:
    role: str
    name: str
    run: Callable[[ExitStack, dict[str, Any], IamEnforcement, Trim | None], None]


def _analyze(test_name: str) -> Scenario:
    def run(stack: ExitStack, available: dict[str, Any], enforcement: IamEnforcement, trim: Trim | None) -> None:
        available["aws"] = aws = _enter(stack, analyze_tests.aws, available)
        refs = StackRefs(
            TEMPLATE,
            region=analyze_tests.REGION,
            account=analyze_tests.ACCOUNT,
            physical={"ModeshiftTable": analyze_tests.TABLE, "VerdictTopic": aws.topic_arn},
        )
        principal = _principal(enforcement, "AnalyzeFleetRole", refs, trim)
        load = analyze_tests._load_handler
        available["monkeypatch"].setattr(
            analyze_tests, "_load_handler", lambda: _as_role(load(), enforcement, principal)
        )
        _run_test(analyze_tests, test_name, available)

    return Scenario("AnalyzeFleetRole", test_name, run)


def _analysis_fails_and_frees_its_idempotency_record(
    stack: ExitStack, available: dict[str, Any], enforcement: IamEnforcement, trim: Trim | None
) -> None:
    """Powertools deletes the in-progress record of a failed analysis, so the retried event runs again."""
    aws = _enter(stack, analyze_tests.aws, available)
    refs = StackRefs(TEMPLATE, physical={"ModeshiftTable": analyze_tests.TABLE, "VerdictTopic": aws.topic_arn})
    handler = _as_role(
        analyze_tests._load_handler(), enforcement, _principal(enforcement, "AnalyzeFleetRole", refs, trim)
    )

    def broken(*_: Any, **__: Any) -> dict[str, Any]:
        raise ModeshiftError("the analysis broke")

    available["monkeypatch"].setattr(handler, "handle_trigger", broken)
    with pytest.raises(ModeshiftError, match="the analysis broke"):
        handler.lambda_handler(load_event("scheduled_eventbridge"), analyze_tests._lambda_context())
    records = aws.dynamodb.query(
        TableName=analyze_tests.TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "IDEMPOTENCY#analyze_fleet"}},
    )["Items"]
    assert records == []


def _add_standalone_task_and_capacity_provider() -> None:
    """A task outside any service (read with DescribeTasks) in shop-ec2, which gets an Auto Scaling group capacity
    provider (read with DescribeCapacityProviders): what the seeded fleet of test_analyze_fleet lacks."""
    ecs = boto3.client("ecs", region_name=analyze_tests.REGION)
    ecs.create_capacity_provider(
        name="shop-asg",
        autoScalingGroupProvider={
            "autoScalingGroupArn": f"arn:aws:autoscaling:{analyze_tests.REGION}:{analyze_tests.ACCOUNT}:"
            "autoScalingGroup:1a2b3c4d-0000-4000-8000-000000000000:autoScalingGroupName/shop-asg",
            "managedScaling": {"status": "ENABLED", "targetCapacity": 90},
        },
    )
    ecs.put_cluster_capacity_providers(
        cluster="shop-ec2", capacityProviders=["shop-asg"], defaultCapacityProviderStrategy=[]
    )
    ecs.run_task(cluster="shop-ec2", taskDefinition="api", launchType="EC2", count=1)


def _standalone_task_on_a_capacity_provider_cluster(
    stack: ExitStack, available: dict[str, Any], enforcement: IamEnforcement, trim: Trim | None
) -> None:
    aws = _enter(stack, analyze_tests.aws, available)
    _add_standalone_task_and_capacity_provider()
    refs = StackRefs(TEMPLATE, physical={"ModeshiftTable": analyze_tests.TABLE, "VerdictTopic": aws.topic_arn})
    handler = _as_role(
        analyze_tests._load_handler(), enforcement, _principal(enforcement, "AnalyzeFleetRole", refs, trim)
    )

    summary = handler.lambda_handler(load_event("alarm_state_change_low_reservation"), analyze_tests._lambda_context())

    assert summary["status"] == "ok" and summary["clusters"] == ["shop-ec2"]
    assert summary["error_count"] == 0, summary["errors"]


def _ingest(test_name: str) -> Scenario:
    def run(stack: ExitStack, available: dict[str, Any], enforcement: IamEnforcement, trim: Trim | None) -> None:
        for name in ("aws_env", "table", "app"):
            available[name] = _enter(stack, getattr(ingest_tests, name), available)
        refs = StackRefs(TEMPLATE, region=ingest_tests.REGION, physical={"ModeshiftTable": ingest_tests.TABLE})
        _as_role(available["app"], enforcement, _principal(enforcement, "IngestTaskEventsRole", refs, trim))
        _run_test(ingest_tests, test_name, available)

    return Scenario("IngestTaskEventsRole", test_name, run)


def _weekly_handler(
    stack: ExitStack, available: dict[str, Any], enforcement: IamEnforcement, trim: Trim | None
) -> None:
    available["aws"] = aws = _enter(stack, weekly_tests.aws, available)
    refs = StackRefs(
        TEMPLATE,
        region=weekly_tests.REGION,
        physical={"ReportBucket": weekly_tests.BUCKET, "VerdictTopic": aws.topic_arn},
    )
    principal = _principal(enforcement, "WeeklyReportRole", refs, trim)
    load = weekly_tests._load_handler
    available["monkeypatch"].setattr(weekly_tests, "_load_handler", lambda: _as_role(load(), enforcement, principal))
    _run_test(weekly_tests, "test_weekly_report_handler_runs_on_the_scheduler_event", available)


REPORT_BUCKET = "modeshift-reports-iam"


def _weekly_report_over_a_seeded_fleet_twice(
    stack: ExitStack, available: dict[str, Any], enforcement: IamEnforcement, trim: Trim | None
) -> None:
    """The weekly report with its real analysis (test_weekly_report stubs it): ECS, EC2, CloudWatch and the
    ledger read as the role, then the second week reads the first week's baseline back."""
    aws = _enter(stack, analyze_tests.aws, available)  # the seeded fleet, the table and the topic
    _add_standalone_task_and_capacity_provider()
    boto3.client("s3", region_name=analyze_tests.REGION).create_bucket(Bucket=REPORT_BUCKET)
    monkeypatch = available["monkeypatch"]
    monkeypatch.setenv("MODESHIFT_REPORT_BUCKET", REPORT_BUCKET)
    refs = StackRefs(
        TEMPLATE,
        physical={"ModeshiftTable": analyze_tests.TABLE, "VerdictTopic": aws.topic_arn, "ReportBucket": REPORT_BUCKET},
    )
    principal = _principal(enforcement, "WeeklyReportRole", refs, trim)
    event, context = load_event("scheduled_weekly_report"), weekly_tests._lambda_context()
    first = _as_role(weekly_tests._load_handler(), enforcement, principal).lambda_handler(event, context)
    second = _as_role(weekly_tests._load_handler(), enforcement, principal).lambda_handler(event, context)
    assert first["status"] == second["status"] == "ok"
    assert (first["first_week"], second["first_week"]) == (True, False)
    assert first["monthly_savings_usd"] > 0


def _record(test_name: str) -> Scenario:
    def run(stack: ExitStack, available: dict[str, Any], enforcement: IamEnforcement, trim: Trim | None) -> None:
        for name in ("aws_env", "table"):
            available[name] = _enter(stack, getattr(record_tests, name), available)
        refs = StackRefs(TEMPLATE, region=record_tests.REGION, physical={"ModeshiftTable": record_tests.TABLE})
        principal = _principal(enforcement, "RecordChangesRole", refs, trim)
        load = record_tests._load_handler
        available["monkeypatch"].setattr(
            record_tests, "_load_handler", lambda: _as_role(load(), enforcement, principal)
        )
        _run_test(record_tests, test_name, available)

    return Scenario("RecordChangesRole", test_name, run)


def _notify(test_name: str) -> Scenario:
    def run(stack: ExitStack, available: dict[str, Any], enforcement: IamEnforcement, trim: Trim | None) -> None:
        for name in ("aws_env", "secrets", "slack", "sleeps", "app", "wired"):
            available[name] = _enter(stack, getattr(notify_tests, name), available)
        secret_arn = os.environ["MODESHIFT_SLACK_WEBHOOK_SECRET_ARN"]
        refs = StackRefs(
            TEMPLATE,
            region=notify_tests.REGION,
            parameters={"EnableSlackNotifier": "true", "SlackWebhookSecretArn": secret_arn},
        )
        _as_role(available["wired"], enforcement, _principal(enforcement, "NotifySlackRole", refs, trim))
        _run_test(notify_tests, test_name, available)

    return Scenario("NotifySlackRole", test_name, run)


# ---------------------------------------------------------------- the sweep: three handlers, two roles

ROOT = Path(__file__).resolve().parents[2]
SWEEP_BUCKET = "modeshift-sweeps-iam"
SWEEP_RUN = "iam-enforced-sweep"
CRASHED = "core-ec2"  # the worker that never writes its part (a crash the map tolerated)
OTHER_REGION = "eu-west-1"
MEMBER_CLUSTER = "member-app"
MEMBER_TEMPLATE = ROOT / "stacksets" / "member-role.yaml"
# Where the test fleet differs from a deployed one: moto has no Price List API, and the fleet spans 4 days.
SWEEP_ENV_OVERRIDES = {
    "MODESHIFT_USE_PRICE_LIST_API": "false",
    "MODESHIFT_LOOKBACK_DAYS": str(analyze_tests.LOOKBACK_DAYS),
}


def _sweep_handler(function: str) -> ModuleType:
    """A fresh import of the function's handler module (its cached settings and clients start empty)."""
    folder = TEMPLATE["Resources"][function]["Properties"]["CodeUri"]
    spec = importlib.util.spec_from_file_location(f"{function}_{uuid.uuid4().hex}", ROOT / folder / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _function_environment(function: str, refs: StackRefs) -> dict[str, str]:
    """The MODESHIFT_* variables the template gives the function (Globals merged), resolved for this stack."""
    conditions = evaluate_conditions(TEMPLATE, refs)
    variables = {
        **TEMPLATE["Globals"]["Function"]["Environment"]["Variables"],
        **TEMPLATE["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {}),
    }
    resolved = resolve(variables, refs, conditions)
    return {k: str(v) for k, v in resolved.items() if k.startswith("MODESHIFT_")} | SWEEP_ENV_OVERRIDES


def _invoke(
    function: str, refs: StackRefs, enforcement: IamEnforcement, principal: Any, event: dict[str, Any]
) -> dict[str, Any]:
    """One invocation as Lambda makes it: the function's own environment, role and context."""
    with pytest.MonkeyPatch.context() as env:
        for name in [n for n in os.environ if n.startswith("MODESHIFT_")]:
            env.delenv(name)
        for name, value in _function_environment(function, refs).items():
            env.setenv(name, value)
        handler = _as_role(_sweep_handler(function), enforcement, principal)
        context = FakeLambdaContext(f"modeshift-{function}", region=analyze_tests.REGION, account=analyze_tests.ACCOUNT)
        result: dict[str, Any] = handler.lambda_handler(event, context)
        return result


def _s3_decides_as_s3_does(monkeypatch: pytest.MonkeyPatch, enforcement: IamEnforcement) -> None:
    """Two of S3's authorisation rules the shared evaluator leaves out, which the merge depends on:
    - s3:ListBucket carries the condition key s3:prefix, the request's `prefix` (absent when it has none);
    - GetObject of a key that does not exist: S3 answers 404 NoSuchKey only to a caller allowed s3:ListBucket on
      the bucket, else 403 AccessDenied (S3 API reference, GetObject, "Permissions"), evaluating s3:prefix as the
      requested key (as ceph's RGW matches AWS, ceph/ceph#68577). moto always answers 404.
    MergeSweepRole's ListBucket holds only for prefixes under sweeps/: without these rules a listing would be
    refused here and allowed in AWS, and a crashed worker's missing part read as 404 here and 403 in AWS."""
    from moto.iam.access_control import IAMRequestBase, S3IAMRequest
    from moto.s3.models import s3_backends

    checked = IAMRequestBase.check_action_permitted  # IamEnforcement's, installed before this

    def list_bucket(request: Any, bucket: str, prefix: str | None) -> None:
        documents = [_policy_document(p) for p in request._access_key.collect_policies()]
        context = {"aws:SecureTransport": ["true"], **({"s3:prefix": [prefix]} if prefix is not None else {})}
        allowed = decide(documents, "s3:ListBucket", f"arn:aws:s3:::{bucket}", context)
        enforcement.decisions.append(
            Decision(request._access_key.arn, "s3:ListBucket", f"arn:aws:s3:::{bucket}", context, allowed)
        )
        if not allowed:
            request._raise_access_denied()

    def check(request: Any, resource: str) -> None:
        if isinstance(request, S3IAMRequest) and request._action == "s3:ListBucket":
            prefix = request._data.get("prefix")
            list_bucket(request, resource.removeprefix("arn:aws:s3:::"), prefix[0] if prefix else None)
            return
        checked(request, resource)
        if not isinstance(request, S3IAMRequest) or request._action != "s3:GetObject":
            return
        bucket, _, key = resource.removeprefix("arn:aws:s3:::").partition("/")
        if s3_backends[request.account_id]["aws"].get_object(bucket, key) is None:
            list_bucket(request, bucket, key)

    monkeypatch.setattr(IAMRequestBase, "check_action_permitted", check)


def _add_fargate_cluster(session: boto3.session.Session, region: str, cluster: str) -> None:
    """A Fargate cluster with one service and no metrics yet (its verdict: too little data)."""
    ecs = session.client("ecs", region_name=region)
    network = seed.create_network(session.client("ec2", region_name=region), cidr="10.8.0.0/16")
    seed.create_fargate_cluster(ecs, cluster)
    family = seed.register_task_definition(
        ecs, f"{cluster}-api", cpu_units=256, memory_mib=512, compatibilities=("FARGATE",)
    )
    seed.create_service(ecs, cluster, "api", family, desired_count=1, launch_type="FARGATE", network=network)


def _member_account_with_its_role() -> str:
    """A member account of this account's organization, with the role stacksets/member-role.yaml deploys there
    (its policy resolved from that template) and a Fargate cluster. moto lets any role ARN be assumed: the seeding
    enters the account as its OrganizationAccountAccessRole would."""
    organizations = boto3.client("organizations", region_name=analyze_tests.REGION)
    status = organizations.create_account(AccountName="member", Email="member@example.com")["CreateAccountStatus"]
    member = str(status["AccountId"])
    credentials = boto3.client("sts", region_name=analyze_tests.REGION).assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole", RoleSessionName="seed"
    )["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=analyze_tests.REGION,
    )
    template = load_template(MEMBER_TEMPLATE)
    worker_arn = f"arn:aws:iam::{analyze_tests.ACCOUNT}:role/modeshift-SweepWorkerRole"
    refs = StackRefs(
        template,
        account=member,
        parameters={"ModeshiftWorkerRoleArn": worker_arn, "OrganizationId": "o-abcdefghij"},
    )
    conditions = evaluate_conditions(template, refs)
    role = template["Resources"]["MemberReadRole"]["Properties"]
    iam = session.client("iam")
    iam.create_role(
        RoleName=refs["RoleName"],
        AssumeRolePolicyDocument=json.dumps(resolve(role["AssumeRolePolicyDocument"], refs, conditions)),
    )
    for index, document in enumerate(role_policy_documents(template, "MemberReadRole", refs)):
        iam.put_role_policy(
            RoleName=refs["RoleName"], PolicyName=f"member-{index}", PolicyDocument=json.dumps(document)
        )
    _add_fargate_cluster(session, analyze_tests.REGION, MEMBER_CLUSTER)
    return member


def _stale_alarm() -> str:
    """A managed alarm of a cluster that no longer exists: the merge deletes it."""
    name = "modeshift-retired-cluster-low-reservation"
    cloudwatch = boto3.client("cloudwatch", region_name=analyze_tests.REGION)
    cloudwatch.put_metric_alarm(
        AlarmName=name, Dimensions=[{"Name": "ClusterName", "Value": "retired-cluster"}], **ALARM
    )
    return name


def _sweep(role: str, name: str, parameters: dict[str, str]) -> Scenario:
    """list_targets → analyze_cluster for every target but one (its worker crashed) → merge_sweep, each as its
    role; only the scenario's role gets `trim`. With Accounts=ORGANIZATION this account manages an organization
    with one member account, read through its member role; with Regions=all a second region holds a cluster."""

    def run(stack: ExitStack, available: dict[str, Any], enforcement: IamEnforcement, trim: Trim | None) -> None:
        aws = _enter(stack, analyze_tests.aws, available)  # the seeded fleet, the table and the topic
        _add_standalone_task_and_capacity_provider()
        boto3.client("s3", region_name=analyze_tests.REGION).create_bucket(Bucket=SWEEP_BUCKET)
        stale = _stale_alarm()
        expected = {(analyze_tests.ACCOUNT, analyze_tests.REGION, c) for c in analyze_tests.EC2_CLUSTERS}
        if parameters.get("Accounts") == "ORGANIZATION":
            boto3.client("organizations", region_name=analyze_tests.REGION).create_organization(FeatureSet="ALL")
            expected.add((_member_account_with_its_role(), analyze_tests.REGION, MEMBER_CLUSTER))
        if parameters.get("Regions") == "all":
            _add_fargate_cluster(boto3.session.Session(), OTHER_REGION, "edge")
            expected.add((analyze_tests.ACCOUNT, OTHER_REGION, "edge"))
        _s3_decides_as_s3_does(available["monkeypatch"], enforcement)
        refs = StackRefs(
            TEMPLATE,
            parameters=parameters,
            physical={
                "ModeshiftTable": analyze_tests.TABLE,
                "VerdictTopic": aws.topic_arn,
                "ReportBucket": SWEEP_BUCKET,
            },
        )
        worker = _principal(enforcement, "SweepWorkerRole", refs, trim if role == "SweepWorkerRole" else None)
        merger = _principal(enforcement, "MergeSweepRole", refs, trim if role == "MergeSweepRole" else None)

        listed = _invoke("ListTargetsFunction", refs, enforcement, worker, {"run_id": SWEEP_RUN})
        s3 = boto3.client("s3", region_name=analyze_tests.REGION)
        targets = json.loads(s3.get_object(Bucket=listed["bucket"], Key=listed["targets_key"])["Body"].read())
        assert {(t["account"], t["region"], t["cluster"]) for t in targets} == expected
        assert listed["target_count"] == len(targets) and listed["listing_error_count"] == 0
        for target in targets:
            if target["cluster"] == CRASHED:
                continue
            item = {"run_id": listed["run_id"], "bucket": listed["bucket"], "target": target}  # the ItemSelector
            done = _invoke("AnalyzeClusterFunction", refs, enforcement, worker, item)
            assert done["error_count"] == 0, (target, done)

        summary = _invoke("MergeSweepFunction", refs, enforcement, merger, {"targets": listed, "map": None})
        assert summary["status"] == "ok"
        assert summary["cluster_count"] == len(targets) - 1 and summary["failed_cluster_count"] == 1
        (crash,) = [e for e in summary["errors"] if CRASHED in e]
        assert crash == f"{analyze_tests.ACCOUNT}/{analyze_tests.REGION}/{CRASHED}: worker failed: no result"
        assert summary["publish"]["published"] >= 1 and summary["publish"]["failed"] == 0
        assert summary["alarms"]["deleted"] == [stale]
        assert summary["alarms"]["created"]  # the other EC2 cluster's; the crashed one's is kept, not created
        latest = json.loads(s3.get_object(Bucket=SWEEP_BUCKET, Key=LATEST_KEY)["Body"].read())
        assert latest["totals"]["failed_cluster_count"] == 1
        missing = part_key(SWEEP_RUN, analyze_tests.ACCOUNT, analyze_tests.REGION, CRASHED)
        assert "Contents" not in s3.list_objects_v2(Bucket=SWEEP_BUCKET, Prefix=missing)

    return Scenario(role, name, run)


def _sweeps(role: str) -> list[Scenario]:
    return [
        _sweep(role, "sweep of this account and region, one worker crashed", {}),
        _sweep(role, "sweep of every region", {"Regions": "all"}),
        _sweep(role, "sweep of the organization through the member role", {"Accounts": "ORGANIZATION"}),
    ]


SCENARIOS: dict[str, list[Scenario]] = {
    "RecordChangesRole": [
        _record("test_record_changes_stores_the_switch_with_the_open_verdict_when_a_service_moves_to_fargate"),
        _record("test_record_changes_writes_once_when_eventbridge_delivers_the_same_event_twice"),
        _record("test_record_changes_rejects_a_malformed_event_alone_and_records_the_next_one"),
        _record("test_record_changes_ignores_a_call_that_failed"),
    ],
    "AnalyzeFleetRole": [
        _analyze("test_scheduled_events_publish_each_material_verdict_once_and_reruns_publish_nothing"),
        _analyze("test_alarm_event_analyses_only_its_cluster"),
        _analyze("test_foreign_alarm_event_is_ignored"),
        _analyze("test_event_from_another_account_is_ignored"),
        _analyze("test_sns_failure_leaves_the_verdict_pending_and_the_next_run_publishes_it"),
        _analyze("test_manage_alarms_keeps_one_alarm_per_ec2_cluster_removes_stale_ones_and_spares_foreign_ones"),
        Scenario(
            "AnalyzeFleetRole",
            "failed analysis frees its idempotency record",
            _analysis_fails_and_frees_its_idempotency_record,
        ),
        Scenario(
            "AnalyzeFleetRole",
            "standalone task on a capacity provider cluster",
            _standalone_task_on_a_capacity_provider_cluster,
        ),
    ],
    "IngestTaskEventsRole": [
        # not test_handler_fails_only_the_record_whose_write_fails_and_loses_nothing: it builds the handler's
        # writer itself (to break it) before the handler runs, so the writer would not hold the role's keys
        _ingest("test_handler_writes_exact_buckets_when_each_event_file_arrives_alone"),
        _ingest("test_handler_writes_exact_buckets_and_task_items_when_given_sample_batch"),
        _ingest("test_handler_changes_nothing_when_same_batch_is_delivered_twice"),
        _ingest("test_handler_reports_exactly_bad_records_and_writes_good_ones_when_batch_has_poison"),
        _ingest("test_reader_returns_hourly_average_tasks_with_nan_before_ledger_start"),
    ],
    "WeeklyReportRole": [
        Scenario("WeeklyReportRole", "test_weekly_report_handler_runs_on_the_scheduler_event", _weekly_handler),
        Scenario(
            "WeeklyReportRole", "weekly report over a seeded fleet, twice", _weekly_report_over_a_seeded_fleet_twice
        ),
    ],
    "NotifySlackRole": [
        _notify("test_notify_slack_posts_block_kit_for_the_sample_event"),
        _notify("test_notify_slack_retries_after_429_then_succeeds"),
        _notify("test_notify_slack_fails_the_record_after_bounded_retries_when_slack_keeps_failing"),
        _notify("test_notify_slack_does_not_retry_a_400"),
        _notify("test_notify_slack_rereads_the_secret_when_slack_says_the_webhook_is_gone"),
        _notify("test_notify_slack_posts_each_record_and_plain_text_messages"),
    ],
    "SweepWorkerRole": _sweeps("SweepWorkerRole"),
    "MergeSweepRole": _sweeps("MergeSweepRole"),
}


@pytest.fixture
def stdout_before_capsys() -> Any:
    return sys.stdout


@pytest.fixture
def pytest_values(
    stdout_before_capsys: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[[pytest.MonkeyPatch], dict[str, Any]]]:
    """The pytest fixtures the reused tests ask for, with a fresh monkeypatch per scenario.

    A Powertools logger keeps the stream its handler got when it was first made: one first made here would keep
    writing to this test's capsys buffer, closed once the test ends. Give such handlers the stream from before."""
    yield lambda monkeypatch: {"monkeypatch": monkeypatch, "caplog": caplog, "capsys": capsys}
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in getattr(logger, "handlers", []):
            # pytest's per-test capture buffers (capsys makes a new one per phase) are CaptureIO objects
            if isinstance(handler, logging.StreamHandler) and type(handler.stream).__name__ == "CaptureIO":
                handler.stream = stdout_before_capsys


def _play(
    scenario: Scenario,
    values: Callable[[pytest.MonkeyPatch], dict[str, Any]],
    trim: Trim | None = None,
    enforcement: IamEnforcement | None = None,
) -> IamEnforcement:
    """One scenario, fresh fixtures, the role's policy enforced; returns what was decided."""
    enforcement = enforcement or IamEnforcement()
    with pytest.MonkeyPatch.context() as monkeypatch, ExitStack() as stack:
        enforcement.install(monkeypatch)
        try:
            scenario.run(stack, values(monkeypatch), enforcement, trim)
        except BaseException as exc:
            exc.add_note(f"scenario {scenario.name!r}, run as {scenario.role} ({len(enforcement.denied)} denied)")
            raise
    return enforcement


# ---------------------------------------------------------------- the handlers under their roles


@pytest.mark.parametrize("role", sorted(SCENARIOS))
def test_handler_tests_pass_under_the_roles_policy_and_use_every_granted_action(
    role: str, pytest_values: Callable[[pytest.MonkeyPatch], dict[str, Any]]
) -> None:
    used: set[str] = set()
    for scenario in SCENARIOS[role]:
        enforcement = _play(scenario, pytest_values)
        denied = [(d.action, d.resource) for d in enforcement.denied]
        assert denied == [], f"{scenario.name}: denied {denied}"
        used |= enforcement.used(role)

    granted = role_actions(TEMPLATE, role)
    assert used <= granted
    unused = granted - used
    explained = set(NOT_EXERCISED[role])
    assert unused - explained == set(), "granted, yet no scenario uses it and NOT_EXERCISED gives no reason"
    assert explained - unused == set(), "listed in NOT_EXERCISED, yet used by a scenario or no longer granted"


@pytest.mark.parametrize(
    ("role", "scenario_name", "action", "failure"),
    [
        # the record whose task stops cannot drop its open-task marker: the batch reports it failed
        (
            "IngestTaskEventsRole",
            "test_handler_writes_exact_buckets_and_task_items_when_given_sample_batch",
            "dynamodb:DeleteItem",
            AssertionError,
        ),
        # the summary cannot be published: the handler fails with AccessDenied (and Lambda retries it)
        (
            "WeeklyReportRole",
            "test_weekly_report_handler_runs_on_the_scheduler_event",
            "sns:Publish",
            AccessDeniedError,
        ),
        # services cannot be read: every cluster is reported as failed instead of analysed
        (
            "AnalyzeFleetRole",
            "test_scheduled_events_publish_each_material_verdict_once_and_reruns_publish_nothing",
            "ecs:DescribeServices",
            AssertionError,
        ),
        # a worker cannot read its cluster's services: the cluster is reported as failed instead of analysed
        (
            "SweepWorkerRole",
            "sweep of this account and region, one worker crashed",
            "ecs:DescribeServices",
            AssertionError,
        ),
        # without ListBucket the merge can neither list the sweep's files nor tell a crashed worker's missing part
        # (403) from a denial: it fails instead of naming the cluster (the sweep fails, SweepFailedAlarm)
        (
            "MergeSweepRole",
            "sweep of this account and region, one worker crashed",
            "s3:ListBucket",
            AccessDeniedError,
        ),
        # the merged document cannot be published: the verdicts stay pending, reported in the summary
        (
            "MergeSweepRole",
            "sweep of this account and region, one worker crashed",
            "sns:Publish",
            AssertionError,
        ),
        # the webhook URL cannot be read: the handler fails with AccessDenied (and the verdict waits in the DLQ)
        (
            "NotifySlackRole",
            "test_notify_slack_posts_block_kit_for_the_sample_event",
            "secretsmanager:GetSecretValue",
            AccessDeniedError,
        ),
    ],
)
def test_handler_test_fails_with_access_denied_when_the_role_lacks_one_action_it_needs(
    role: str,
    scenario_name: str,
    action: str,
    failure: type[BaseException],
    pytest_values: Callable[[pytest.MonkeyPatch], dict[str, Any]],
) -> None:
    (scenario,) = [s for s in SCENARIOS[role] if s.name == scenario_name]

    def trim(documents: Documents) -> Documents:
        trimmed = without_action(documents, action)
        assert trimmed != documents, f"{role} does not grant {action}"
        return trimmed

    enforcement = IamEnforcement()
    with pytest.raises(failure) as raised:
        _play(scenario, pytest_values, trim, enforcement)

    assert {d.action for d in enforcement.denied} == {action}
    if isinstance(raised.value, AccessDeniedError):
        # S3 checks ListBucket inside a GetObject of a missing key too: then the call refused is the GetObject
        message = str(raised.value)
        assert action in message or (action == "s3:ListBucket" and "s3:GetObject" in message), message


# ---------------------------------------------------------------- the conditions are enforced, not stripped


@pytest.fixture
def enforced(monkeypatch: pytest.MonkeyPatch) -> Iterator[IamEnforcement]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    from moto import mock_aws

    from tests.fixtures.tables import create_modeshift_table

    with mock_aws():
        create_modeshift_table("modeshift-iam", "us-east-1")
        enforcement = IamEnforcement()
        enforcement.install(monkeypatch)
        yield enforcement


def _denied(call: Callable[[], Any]) -> bool:
    try:
        call()
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        assert code in ("AccessDenied", "AccessDeniedException"), code
        return True
    return False


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "x"}}


def test_ingest_role_deletes_only_open_task_markers_when_leading_keys_are_enforced(enforced: IamEnforcement) -> None:
    refs = StackRefs(TEMPLATE, physical={"ModeshiftTable": "modeshift-iam"})
    principal = enforced.principal(
        "IngestTaskEventsRole", role_policy_documents(TEMPLATE, "IngestTaskEventsRole", refs)
    )

    def delete(pk: str) -> Callable[[], Any]:
        client = boto3.client("dynamodb", region_name="us-east-1")
        return lambda: client.delete_item(TableName="modeshift-iam", Key=_key(pk))

    def transact_delete(pk: str) -> Callable[[], Any]:
        client = boto3.client("dynamodb", region_name="us-east-1")
        item = {"Delete": {"TableName": "modeshift-iam", "Key": _key(pk)}}
        return lambda: client.transact_write_items(TransactItems=[item])

    run = enforced.run_as
    assert not run(principal, lambda: _denied(delete("OPEN#prod")))()
    assert not run(principal, lambda: _denied(transact_delete("OPEN#prod")))()
    for pk in ("LEDGER#prod", "TASK#arn:aws:ecs:us-east-1:123456789012:task/prod/1", "VERDICT#prod", "IDEMPOTENCY#x"):
        assert run(principal, lambda pk=pk: _denied(delete(pk)))(), pk
        assert run(principal, lambda pk=pk: _denied(transact_delete(pk)))(), pk


def test_analyze_role_deletes_only_idempotency_records_when_leading_keys_are_enforced(enforced: IamEnforcement) -> None:
    refs = StackRefs(TEMPLATE, physical={"ModeshiftTable": "modeshift-iam"})
    principal = enforced.principal("AnalyzeFleetRole", role_policy_documents(TEMPLATE, "AnalyzeFleetRole", refs))

    def delete(pk: str) -> bool:
        client = boto3.client("dynamodb", region_name="us-east-1")
        return _denied(lambda: client.delete_item(TableName="modeshift-iam", Key=_key(pk)))

    assert enforced.run_as(principal, delete)("IDEMPOTENCY#analyze_fleet") is False
    for pk in ("VERDICT#prod", "LEDGER#prod", "OPEN#prod"):
        assert enforced.run_as(principal, delete)(pk) is True, pk


def test_record_changes_role_writes_only_change_items_and_reads_only_verdicts_when_leading_keys_are_enforced(
    enforced: IamEnforcement,
) -> None:
    refs = StackRefs(TEMPLATE, physical={"ModeshiftTable": "modeshift-iam"})
    principal = enforced.principal("RecordChangesRole", role_policy_documents(TEMPLATE, "RecordChangesRole", refs))

    def put(pk: str) -> bool:
        client = boto3.client("dynamodb", region_name="us-east-1")
        return _denied(lambda: client.put_item(TableName="modeshift-iam", Item=_key(pk)))

    def get(pk: str) -> bool:
        client = boto3.client("dynamodb", region_name="us-east-1")
        return _denied(lambda: client.get_item(TableName="modeshift-iam", Key=_key(pk)))

    assert enforced.run_as(principal, put)("CHANGE#prod") is False
    assert enforced.run_as(principal, get)("VERDICT#prod") is False
    for pk in ("VERDICT#prod", "LEDGER#prod", "OPEN#prod", "IDEMPOTENCY#x"):
        assert enforced.run_as(principal, put)(pk) is True, pk
    for pk in ("CHANGE#prod", "LEDGER#prod", "IDEMPOTENCY#x"):
        assert enforced.run_as(principal, get)(pk) is True, pk


ALARM = {
    "Namespace": "AWS/ECS",
    "MetricName": "CPUReservation",
    "Statistic": "Average",
    "Period": 300,
    "EvaluationPeriods": 1,
    "Threshold": 40.0,
    "ComparisonOperator": "LessThanThreshold",
}


@pytest.mark.parametrize(
    ("alarm_name", "extra", "allowed"),
    [
        ("modeshift-prod-low-reservation", {}, True),
        ("modeshift-prod-low-reservation", {"AlarmActions": ["arn:aws:sns:us-east-1:123456789012:elsewhere"]}, False),
        ("modeshift-prod-low-reservation", {"OKActions": ["arn:aws:automate:us-east-1:ec2:stop"]}, False),
        (
            "modeshift-prod-low-reservation",
            {"InsufficientDataActions": ["arn:aws:sns:us-east-1:123456789012:x"]},
            False,
        ),
        ("health-modeshift-analyze-fleet-errors", {}, False),
    ],
)
def test_analyze_role_writes_only_modeshift_alarms_without_actions(
    enforced: IamEnforcement, alarm_name: str, extra: dict[str, Any], allowed: bool
) -> None:
    principal = enforced.principal(
        "AnalyzeFleetRole", role_policy_documents(TEMPLATE, "AnalyzeFleetRole", StackRefs(TEMPLATE))
    )

    def put() -> bool:
        client = boto3.client("cloudwatch", region_name="us-east-1")
        return _denied(lambda: client.put_metric_alarm(AlarmName=alarm_name, **ALARM, **extra))

    assert enforced.run_as(principal, put)() is not allowed


def test_analyze_role_writes_no_alarm_when_manage_alarms_is_false(enforced: IamEnforcement) -> None:
    refs = StackRefs(TEMPLATE, parameters={"ManageAlarms": "false"})
    principal = enforced.principal("AnalyzeFleetRole", role_policy_documents(TEMPLATE, "AnalyzeFleetRole", refs))

    def put_and_delete() -> tuple[bool, bool]:
        client = boto3.client("cloudwatch", region_name="us-east-1")
        return (
            _denied(lambda: client.put_metric_alarm(AlarmName="modeshift-prod-low-reservation", **ALARM)),
            _denied(lambda: client.delete_alarms(AlarmNames=["modeshift-prod-low-reservation"])),
        )

    assert enforced.run_as(principal, put_and_delete)() == (True, True)


# ---------------------------------------------------------------- the resolver and the evaluator themselves


@pytest.mark.parametrize("role", roles(TEMPLATE))
def test_every_role_resolves_to_plain_iam_json_when_given_a_stack(role: str) -> None:
    refs = StackRefs(
        TEMPLATE,
        parameters={
            "EnableSlackNotifier": "true",
            "SlackWebhookSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbC123",
        },
    )
    documents = role_policy_documents(TEMPLATE, role, refs)
    text = json.dumps(documents)
    assert "Fn::" not in text and '"Ref"' not in text and "${" not in text
    for document in documents:
        for statement in as_list(document["Statement"]):
            for resource in as_list(statement["Resource"]):
                assert resource == "*" or resource.startswith("arn:aws:"), (role, resource)


def test_resolver_refuses_a_reference_the_test_did_not_provide() -> None:
    refs = StackRefs(TEMPLATE)
    with pytest.raises(UnresolvedReference):
        refs["NoSuchResource.Arn"]
    with pytest.raises(UnresolvedReference):
        refs["ModeshiftTable.StreamArn"]


def test_evaluator_decides_as_iam_on_deny_wildcards_and_missing_keys() -> None:
    allow_open = {
        "Effect": "Allow",
        "Action": "dynamodb:Delete*",
        "Resource": "arn:aws:dynamodb:*:*:table/t",
        "Condition": {
            "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["OPEN#*"]},
            "Null": {"dynamodb:LeadingKeys": "false"},
        },
    }
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    documents = [{"Statement": [allow_open, deny]}]
    table = "arn:aws:dynamodb:us-east-1:1:table/t"
    secure = {"aws:SecureTransport": ["true"]}
    assert decide(documents, "dynamodb:DeleteItem", table, {**secure, "dynamodb:LeadingKeys": ["OPEN#a"]})
    assert not decide(documents, "dynamodb:DeleteItem", table, {**secure, "dynamodb:LeadingKeys": ["LEDGER#a"]})
    assert not decide(documents, "dynamodb:DeleteItem", table, secure)  # ForAllValues alone would allow it
    assert not decide(documents, "dynamodb:DeleteItem", table + "2", {**secure, "dynamodb:LeadingKeys": ["OPEN#a"]})
    insecure = {"aws:SecureTransport": ["false"], "dynamodb:LeadingKeys": ["OPEN#a"]}
    assert not decide(documents, "dynamodb:DeleteItem", table, insecure)
    with pytest.raises(UnsupportedPolicy):
        decide(
            [{"Statement": [{**allow_open, "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020"}}}]}],
            "dynamodb:DeleteItem",
            table,
        )
