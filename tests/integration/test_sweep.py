"""The sweep state machine (statemachine/sweep.asl.json) run end to end over a simulated organization.

moto simulates AWS Organizations (a management account and three members, one suspended), STS AssumeRole into
the members, and ECS + CloudWatch in two regions of each account; the report bucket, table and topic live in the
management (home) account. tests/fixtures/asl_runner.py executes the definition with the real handler modules
the template wires to each `${...FunctionArn}`, with the environment the template gives them.

What moto does not simulate, and how it is filled in here:
- AssumeRole succeeds in moto whether or not the role exists ("the role does not need to exist", moto's
  STSBackend.assume_role). AWS refuses with AccessDenied when the role is missing or does not trust the caller;
  `_refuse_missing_roles` makes moto refuse a role that does not exist in the target account, with the error AWS
  documents for AssumeRole ("User: ... is not authorized to perform: sts:AssumeRole on resource: ...").
- Trust policies, `sts:ExternalId` and `aws:PrincipalOrgID` conditions are not evaluated by moto (checked
  statically by tests/integration/test_member_role_template.py instead).
- Step Functions itself: executed by the in-process runner (see its docstring for what is pinned to AWS docs).
"""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.config import Config
from moto import mock_aws
from moto.iam.models import iam_backends
from moto.sts.exceptions import STSClientError
from moto.sts.models import STSBackend

import modeshift.service
from modeshift.adapters.dynamodb_ledger import TaskLedgerReader
from modeshift.app_sweep import LATEST_KEY, merged_key
from modeshift.demo import seed
from modeshift.demo.local_aws import install_fast_cloudwatch, uninstall_fast_cloudwatch
from tests.fixtures.asl_runner import AslRunner, Execution, load_definition
from tests.fixtures.cfn_yaml import CfnLoader
from tests.fixtures.tables import create_modeshift_table
from tests.integration.test_cli_analyze import run_cli
from tests.unit.test_sweep_definition import STATE_MACHINE, handler_file

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HOME = "123456789012"  # moto's default account: the organization's management account, where modeshift runs
HOME_REGION = "us-east-1"
REGIONS = ("us-east-1", "eu-west-1")
ROLE = "modeshift-member-read"
BUCKET = "modeshift-reports-test"
TABLE = "modeshift-test"
TOPIC = "modeshift-verdicts"
LOOKBACK_DAYS = 4  # ≥ the classifier's 72 h minimum span
CRASHING = "flaky"


@dataclass
class Organization:
    """Who is who in the simulated organization, and where each cluster is."""

    member: str  # active, the member role deployed
    roleless: str  # active, the member role NOT deployed: cannot be assumed
    suspended: str  # suspended (closed), the member role deployed and clusters left behind
    clusters: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (account, region) → names

    def expected(self) -> set[tuple[str, str, str]]:
        """Every cluster the sweep must reach: the management account's and the reachable member's."""
        return {
            (account, region, name)
            for (account, region), names in self.clusters.items()
            if account in (HOME, self.member)
            for name in names
        }


def member_session(account: str, region: str) -> boto3.session.Session:
    """Credentials inside a member account (as its OrganizationAccountAccessRole would give)."""
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="seed"
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def _seed_cluster(session: boto3.session.Session, region: str, cluster: str, t: seed.Timeline, index: int) -> None:
    """A Fargate cluster with one steady service (`api`), 4 days of its CPU/memory metrics."""
    ecs, ec2 = session.client("ecs", region_name=region), session.client("ec2", region_name=region)
    cloudwatch = session.client("cloudwatch", region_name=region, config=Config(parameter_validation=False))
    network = seed.create_network(ec2, cidr=f"10.{40 + index}.0.0/16")
    seed.create_fargate_cluster(ecs, cluster)
    td = seed.register_task_definition(
        ecs, f"{cluster}-api", cpu_units=1024, memory_mib=2048, compatibilities=("FARGATE",)
    )
    seed.create_service(ecs, cluster, "api", td, desired_count=2, launch_type="FARGATE", network=network)
    run_seed = seed.DEFAULT_SEED + index
    seed.put_service_metrics(
        cloudwatch,
        t,
        cluster,
        "api",
        [2.0] * t.count,
        seed.steady(t, 12.0, 0.05, seed=run_seed),
        seed.steady(t, 20.0, 0.03, seed=run_seed + 1),
        container_insights=False,
    )


def seed_organization(now: datetime) -> Organization:
    """The organization, the member role where it is deployed, and the clusters of every account and region."""
    organizations = boto3.client("organizations", region_name=HOME_REGION)
    organizations.create_organization(FeatureSet="ALL")
    ids = []
    for name in ("member", "roleless", "suspended"):
        status = organizations.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
        ids.append(status["AccountId"])
    org = Organization(member=ids[0], roleless=ids[1], suspended=ids[2])
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HOME}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    for account in (org.member, org.suspended):
        member_session(account, HOME_REGION).client("iam").create_role(
            RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust)
        )
    org.clusters = {
        (HOME, "us-east-1"): ["prod"],
        (HOME, "eu-west-1"): ["web"],
        (org.member, "us-east-1"): ["prod", CRASHING],  # `prod`: the same name as the management account's
        (org.member, "eu-west-1"): ["data"],
        (org.suspended, "us-east-1"): ["closed"],
    }
    t = seed.Timeline.ending(now, days=LOOKBACK_DAYS)
    for index, ((account, region), names) in enumerate(org.clusters.items()):
        session = boto3.session.Session(region_name=region) if account == HOME else member_session(account, region)
        for offset, name in enumerate(names):
            _seed_cluster(session, region, name, t, 10 * index + offset)
    organizations.close_account(AccountId=org.suspended)
    return org


def _refuse_missing_roles(monkeypatch: pytest.MonkeyPatch) -> None:
    """AssumeRole into a role that does not exist is refused, as AWS refuses it (moto would grant it)."""
    granted = STSBackend.assume_role

    def assume_role(self: STSBackend, **kwargs: Any) -> Any:
        role_arn = kwargs["role_arn"]
        account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
        if name not in {role.name for role in iam_backends[account]["global"].roles.values()}:
            caller = f"arn:aws:sts::{HOME}:assumed-role/modeshift-worker/session"
            raise STSClientError(
                "AccessDenied", f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            )
        return granted(self, **kwargs)

    monkeypatch.setattr(STSBackend, "assume_role", assume_role)


@dataclass
class World:
    org: Organization
    s3: Any
    dynamodb: Any
    topic_arn: str


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name, value in {
        "AWS_DEFAULT_REGION": HOME_REGION,
        "AWS_REGION": HOME_REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "modeshift",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "modeshift",
    }.items():
        monkeypatch.setenv(name, value)
    for name in [n for n in os.environ if n.startswith("MODESHIFT_")] + ["AWS_PROFILE"]:
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        install_fast_cloudwatch()
        try:
            org = seed_organization(datetime.now(UTC))
            _refuse_missing_roles(monkeypatch)
            s3 = boto3.client("s3", region_name=HOME_REGION)
            s3.create_bucket(Bucket=BUCKET)
            create_modeshift_table(TABLE, HOME_REGION)
            topic_arn = boto3.client("sns", region_name=HOME_REGION).create_topic(Name=TOPIC)["TopicArn"]
            # What template.yaml's Globals and the sweep functions' Environment set (Accounts, Regions, ...).
            for name, value in {
                "MODESHIFT_ACCOUNTS": "ORGANIZATION",
                "MODESHIFT_REGIONS": ",".join(REGIONS),
                "MODESHIFT_MEMBER_ROLE_NAME": ROLE,
                "MODESHIFT_REPORT_BUCKET": BUCKET,
                "MODESHIFT_TABLE_NAME": TABLE,
                "MODESHIFT_TOPIC_ARN": topic_arn,
                "MODESHIFT_LOOKBACK_DAYS": str(LOOKBACK_DAYS),
                "MODESHIFT_CONCURRENCY": "4",
                "MODESHIFT_TOLERATED_FAILURE_PCT": "25",
            }.items():
                monkeypatch.setenv(name, value)
            yield World(org, s3, boto3.client("dynamodb", region_name=HOME_REGION), topic_arn)
        finally:
            uninstall_fast_cloudwatch()


# --------------------------------------------------------------------------- running the state machine


def _template() -> dict[str, Any]:
    return dict(yaml.load((ROOT / "template.yaml").read_text(), Loader=CfnLoader))


def _function_arn(logical_id: str) -> str:
    return f"arn:aws:lambda:{HOME_REGION}:{HOME}:function:modeshift-{logical_id}"


def _load_handler(path: Path) -> Callable[[dict[str, Any], Any], Any]:
    """A fresh import of a handler module (its cached settings and clients start empty)."""
    spec = importlib.util.spec_from_file_location(f"sweep_handler_{uuid.uuid4().hex}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Callable[[dict[str, Any], Any], Any] = module.lambda_handler
    return handler


def sweep_runner(
    wrap: Callable[[str, Callable[..., Any]], Callable[..., Any]] | None = None, **options: Any
) -> AslRunner:
    """The definition with the template's substitutions; each function ARN runs the handler file the template
    wires to it. `wrap(substitution name, handler)` may decorate one (to observe it)."""
    template = _template()
    substitutions: dict[str, str] = {}
    functions: dict[str, Callable[..., Any]] = {}
    for name, value in template["Resources"][STATE_MACHINE]["Properties"]["DefinitionSubstitutions"].items():
        if "Fn::GetAtt" in value:
            logical_id = value["Fn::GetAtt"][0]
            arn = _function_arn(logical_id)
            handler = _load_handler(handler_file(template, logical_id))
            functions[arn] = wrap(name, handler) if wrap else handler
            substitutions[name] = arn
        else:
            substitutions[name] = BUCKET  # !Ref ReportBucket: the bucket's name
    definition = load_definition(ROOT / "statemachine" / "sweep.asl.json", substitutions)
    return AslRunner(
        definition,
        functions,
        boto3.client("s3", region_name=HOME_REGION),
        region=HOME_REGION,
        account=HOME,
        **options,
    )


def _document(world: World, key: str) -> dict[str, Any]:
    return dict(json.loads(world.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))


def _clusters(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(c["account"], c["region"], c["cluster"]) for c in document["clusters"]}


def _errors(document: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    return {(e["account"], e["region"], e["cluster"]): e["error"] for e in document["errors"]}


def _crash_one_cluster(monkeypatch: pytest.MonkeyPatch, account: str, cluster: str) -> None:
    """The worker crashes (a non-modeshift exception, as a bug would) on one cluster of one account."""
    real = modeshift.app_sweep.analyze_cluster

    def analyze_cluster(settings: Any, scope: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if scope.account == account and name == cluster:
            raise RuntimeError(f"simulated worker crash on {name}")
        return real(settings, scope, name, *args, **kwargs)

    monkeypatch.setattr(modeshift.app_sweep, "analyze_cluster", analyze_cluster)


def _succeeded(execution: Execution) -> dict[str, Any]:
    assert execution.status == "SUCCEEDED", f"{execution.error}: {execution.cause}"
    assert execution.states == ["ListTargets", "AnalyzeClusters", "MergeAndPublish"]
    output: dict[str, Any] = execution.output
    return output


# --------------------------------------------------------------------------- tests


def test_sweep_merges_every_cluster_of_every_active_account_and_region_into_one_document(world: World):
    runner = sweep_runner()
    summary = _succeeded(runner.start({}, name="run-all"))
    org = world.org

    document = _document(world, merged_key("run-all"))
    assert document == _document(world, LATEST_KEY)
    assert document["schema_version"] == "2.1"
    assert _clusters(document) == org.expected()
    for workload in document["workloads"]:
        assert (workload["account"], workload["region"], workload["cluster"]) in org.expected()
    assert {w["cluster"] for w in document["workloads"] if w["account"] == org.member} == {"prod", CRASHING, "data"}
    assert set(document["accounts"]) == {HOME, org.member, org.roleless}
    assert set(document["regions"]) == set(REGIONS)
    # The suspended account is not listed at all: not analysed, not an error, not even named.
    assert org.suspended not in json.dumps(document)
    assert summary["document"] == merged_key("run-all")
    assert summary["cluster_count"] == len(org.expected())
    # One child execution per cluster, all succeeded (the role-less account yields no cluster to analyse).
    assert sorted(c.status for c in runner.children) == ["SUCCEEDED"] * len(org.expected())


def test_sweep_reports_an_error_per_region_naming_the_account_when_its_role_cannot_be_assumed(world: World):
    summary = _succeeded(sweep_runner().start({}, name="run-roleless"))
    errors = _errors(_document(world, merged_key("run-roleless")))
    refused = {key: error for key, error in errors.items() if key[0] == world.org.roleless}
    assert set(refused) == {(world.org.roleless, region, "*") for region in REGIONS}
    for error in refused.values():
        assert f"arn:aws:iam::{world.org.roleless}:role/{ROLE}" in error
        assert "AssumeRole" in error
    assert any(world.org.roleless in line for line in summary["errors"])


def test_sweep_isolates_a_crashing_worker_and_reports_the_cause_from_the_map_results(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    org = world.org
    _crash_one_cluster(monkeypatch, org.member, CRASHING)
    runner = sweep_runner()
    execution = runner.start({}, name="run-crash")
    summary = _succeeded(execution)

    document = _document(world, merged_key("run-crash"))
    crashed = (org.member, "us-east-1", CRASHING)
    assert _clusters(document) == org.expected() - {crashed}
    error = _errors(document)[crashed]
    assert "RuntimeError" in error and f"simulated worker crash on {CRASHING}" in error
    assert summary["failed_cluster_count"] >= 1
    # The cause came through the ResultWriter's FAILED file, as the map wrote it.
    manifest_key = _map_output(runner)["ResultWriterDetails"]["Key"]
    manifest = _document(world, manifest_key)
    failed_files = manifest["ResultFiles"]["FAILED"]
    assert len(failed_files) == 1
    failed = json.loads(world.s3.get_object(Bucket=BUCKET, Key=failed_files[0]["Key"])["Body"].read())
    assert [json.loads(f["Input"])["target"] for f in failed] == [
        {"account": org.member, "region": "us-east-1", "cluster": CRASHING}
    ]
    assert failed[0]["Status"] == "FAILED" and failed[0]["Error"] == "RuntimeError"
    # The rest was published: every other cluster's verdicts have their noise-control state.
    states = _state_keys(world)
    assert "prod" in states and f"{org.member}:us-east-1:prod" in states
    assert f"{org.member}:us-east-1:{CRASHING}" not in states


def _map_output(runner: AslRunner) -> dict[str, Any]:
    """The Distributed Map's own output, as the merge step received it (`$.map`)."""
    merges = [i for i in runner.invocations if i.function_arn == _function_arn("MergeSweepFunction")]
    assert len(merges) == 1
    return dict(merges[0].payload["map"])


def _state_keys(world: World) -> set[str]:
    items = world.dynamodb.scan(TableName=TABLE)["Items"]
    return {i["pk"]["S"].removeprefix("VERDICT#") for i in items if i["pk"]["S"].startswith("VERDICT#")}


def test_sweep_still_merges_and_names_every_unanalysed_cluster_when_the_map_exceeds_its_failure_tolerance(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    org = world.org
    monkeypatch.setenv("MODESHIFT_TOLERATED_FAILURE_PCT", "0")
    _crash_one_cluster(monkeypatch, org.member, CRASHING)
    runner = sweep_runner()
    summary = _succeeded(runner.start({}, name="run-stopped"))

    # The map failed (caught): the merge got the map's error instead of its results.
    merge = runner.invocations[-1]
    assert merge.payload["map_error"]["Error"] == "States.ExceedToleratedFailureThreshold"
    assert "map" not in merge.payload
    document = _document(world, merged_key("run-stopped"))
    errors = _errors(document)
    crashed = (org.member, "us-east-1", CRASHING)
    assert crashed in errors and "RuntimeError" in errors[crashed]  # its own cause, from the FAILED file
    # Nothing is lost: every cluster is either analysed or an error naming its account and region.
    assert _clusters(document) | (set(errors) & org.expected()) == org.expected()
    assert _clusters(document), "the clusters analysed before the map stopped are kept"
    never_started = org.expected() - _clusters(document) - {crashed}
    assert len([c for c in runner.children if c.status == "SUCCEEDED"]) == len(_clusters(document))
    assert summary["failed_cluster_count"] == 1 + len(never_started) + 2  # + the role-less account's two regions


def test_sweep_keeps_separate_noise_control_state_for_same_named_clusters_of_two_accounts(world: World):
    _succeeded(sweep_runner().start({}, name="run-state"))
    document = _document(world, merged_key("run-state"))
    items = world.dynamodb.scan(TableName=TABLE)["Items"]

    def subjects(state_cluster: str) -> int:
        return sum(1 for i in items if i["pk"]["S"] == f"VERDICT#{state_cluster}")

    def verdicts(account: str, cluster: str) -> int:
        where = (account, HOME_REGION, cluster)
        return sum(
            1
            for v in (*document["workloads"], *document["clusters"])
            if (v["account"], v["region"], v["cluster"]) == where
        )

    member_prod = f"{world.org.member}:{HOME_REGION}:prod"
    assert verdicts(HOME, "prod") >= 2 and verdicts(world.org.member, "prod") >= 2
    # The management account's `prod` keeps its plain key (as before verdicts named accounts); the member's has
    # its own: neither overwrites the other's state.
    assert subjects("prod") == verdicts(HOME, "prod")
    assert subjects(member_prod) == verdicts(world.org.member, "prod")


def test_sweep_worker_reads_the_task_ledger_only_for_clusters_of_the_home_account_and_region(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    current: list[dict[str, str]] = []
    ledger_reads: list[dict[str, str]] = []

    class RecordingLedger(TaskLedgerReader):
        def __init__(self, table: Any) -> None:
            ledger_reads.append(current[-1])
            super().__init__(table)

    monkeypatch.setattr(modeshift.service, "TaskLedgerReader", RecordingLedger)

    def observe(name: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        if name != "AnalyzeClusterFunctionArn":
            return handler

        def worker(event: dict[str, Any], context: Any) -> Any:
            current.append(event["target"])
            return handler(event, context)

        return worker

    _succeeded(sweep_runner(wrap=observe).start({}, name="run-ledger"))
    assert len(current) == len(world.org.expected())
    # The home account's cluster in the home region reads the ledger (the spy works); no other cluster does,
    # not even the member's cluster of the same name in the same region.
    assert ledger_reads == [{"account": HOME, "region": HOME_REGION, "cluster": "prod"}]


def test_sweep_retries_a_throttled_worker_invocation_but_never_a_crashed_one(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    org = world.org
    _crash_one_cluster(monkeypatch, org.member, CRASHING)
    worker_arn = _function_arn("AnalyzeClusterFunction")

    def throttle_data_once(function_arn: str, payload: Any, attempt: int) -> str | None:
        if function_arn == worker_arn and payload["target"]["cluster"] == "data" and attempt == 0:
            return "Lambda.TooManyRequestsException"
        return None

    runner = sweep_runner(fault=throttle_data_once)
    _succeeded(runner.start({}, name="run-retry"))

    def attempts(cluster: str) -> list[str | None]:
        return [
            i.error
            for i in runner.invocations
            if i.function_arn == worker_arn and i.payload["target"]["cluster"] == cluster
        ]

    assert attempts("data") == ["Lambda.TooManyRequestsException", None]
    assert attempts(CRASHING) == ["RuntimeError"]
    assert (org.member, "eu-west-1", "data") in _clusters(_document(world, merged_key("run-retry")))


def test_cli_over_the_same_organization_gives_the_verdicts_the_sweep_gives(
    world: World, capsys: pytest.CaptureFixture[str]
):
    _succeeded(sweep_runner().start({}, name="run-cli"))
    sweep = _document(world, merged_key("run-cli"))
    run = run_cli(
        capsys,
        "analyze",
        "--regions",
        ",".join(REGIONS),
        "--accounts",
        "organization",
        "--role-name",
        ROLE,
        "--lookback-days",
        str(LOOKBACK_DAYS),
        "--output",
        "json",
    )
    assert run.code == 0, run.stderr
    cli = run.document

    def verdicts(document: dict[str, Any]) -> dict[tuple[str, str, str, str], tuple[str, str]]:
        return {
            (w["account"], w["region"], w["cluster"], w["workload"]): (w["verdict"], w["recommended_mode"])
            for w in document["workloads"]
        }

    assert _clusters(cli) == _clusters(sweep) == world.org.expected()
    assert verdicts(cli) == verdicts(sweep)
    assert set(_errors(cli)) == set(_errors(sweep))


def test_sweep_gives_the_same_document_when_the_map_runs_its_children_concurrently(world: World):
    _succeeded(sweep_runner().start({}, name="run-serial"))
    runner = sweep_runner(map_workers=3)
    _succeeded(runner.start({}, name="run-concurrent"))
    serial, concurrent = (_document(world, merged_key(run)) for run in ("run-serial", "run-concurrent"))
    assert _clusters(concurrent) == _clusters(serial) == world.org.expected()
    assert {
        (w["account"], w["region"], w["cluster"], w["workload"], w["verdict"]) for w in concurrent["workloads"]
    } == {(w["account"], w["region"], w["cluster"], w["workload"], w["verdict"]) for w in serial["workloads"]}
    assert len(runner.children) == len(world.org.expected())
