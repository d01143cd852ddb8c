"""`modeshift analyze` across accounts and regions (--regions, --accounts, --role-name) against a simulated
organization (moto, seeded by tests/integration/test_sweep.py), and the Organizations / STS / EC2-regions adapters
read against documented AWS responses (tests/fixtures/aws_responses/, sources in each file and its README).

moto's reading of these APIs differs from AWS in ways that matter here, hence the documented shapes:
- ListAccounts: moto answers both `Status` and `State`; AWS retires `Status` on 2026-09-09 (botocore's
  organizations service model, Account.Status), and older recorded answers (the botocore example) carry `Status`
  alone. The adapter must read either.
- DescribeRegions: moto leaves out `OptInStatus`; AWS CLI output carries it, with `not-opted-in` regions listed
  only under --all-regions.
- AssumeRole: moto grants a role that does not exist; the sweep tests make it refuse (see test_sweep.py).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from modeshift import service
from modeshift.adapters.organizations import EnabledRegionsReader, OrganizationAccountLister
from modeshift.aws import ASSUMED_SESSION_SECONDS, AwsClients
from modeshift.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from modeshift.demo.local_aws import install_fast_cloudwatch, uninstall_fast_cloudwatch
from modeshift.errors import AccessDeniedError
from tests.integration.test_cli_analyze import CliRun, run_cli
from tests.integration.test_sweep import (
    HOME,
    HOME_REGION,
    LOOKBACK_DAYS,
    REGIONS,
    ROLE,
    Organization,
    _refuse_missing_roles,
    seed_organization,
)

pytestmark = pytest.mark.integration

RESPONSES = Path(__file__).resolve().parents[1] / "fixtures" / "aws_responses"


def documented(path: str) -> dict[str, Any]:
    """The `response` of a documented or recorded AWS answer (tests/fixtures/aws_responses/<path>)."""
    return dict(json.loads((RESPONSES / path).read_text())["response"])


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Organization]:
    """One organization for the module (the CLI only reads it): seeded once, the environment isolated."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in list(os.environ):
            if name.startswith(("MODESHIFT_", "AWS_")):
                monkeypatch.delenv(name)
        empty = tmp_path_factory.mktemp("aws") / "empty"
        empty.write_text("")
        for name, value in {
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_CONFIG_FILE": str(empty),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": HOME_REGION,
        }.items():
            monkeypatch.setenv(name, value)
        with mock_aws():
            install_fast_cloudwatch()
            try:
                organization = seed_organization(datetime.now(UTC))
                _refuse_missing_roles(monkeypatch)
                yield organization
            finally:
                uninstall_fast_cloudwatch()


def analyze(capsys: pytest.CaptureFixture[str], *argv: str) -> CliRun:
    return run_cli(capsys, "analyze", "--lookback-days", str(LOOKBACK_DAYS), "--output", "json", *argv)


def _where(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(c["account"], c["region"], c["cluster"]) for c in document["clusters"]}


# --------------------------------------------------------------------------- the CLI over an organization


def test_analyze_gives_one_document_whose_verdicts_name_account_and_region_when_given_the_organization(
    org: Organization, capsys: pytest.CaptureFixture[str]
):
    run = analyze(capsys, "--regions", ",".join(REGIONS), "--accounts", "organization", "--role-name", ROLE)
    assert run.code == EXIT_OK, run.stderr
    document = run.document
    assert _where(document) == org.expected()
    for workload in document["workloads"]:
        assert (workload["account"], workload["region"], workload["cluster"]) in org.expected()
    assert {(w["account"], w["cluster"]) for w in document["workloads"] if w["cluster"] == "prod"} == {
        (HOME, "prod"),
        (org.member, "prod"),
    }
    assert org.suspended not in run.stdout
    # The account whose role cannot be assumed: one error per region, naming it; the run still succeeds.
    refused = [e for e in document["errors"] if e["account"] == org.roleless]
    assert sorted(e["region"] for e in refused) == sorted(REGIONS)
    assert all(e["missing_permission"] == "sts:AssumeRole" for e in refused)
    assert org.roleless in run.stderr


def test_analyze_shows_progress_per_cluster_on_stderr_when_given_several_accounts(
    org: Organization, capsys: pytest.CaptureFixture[str]
):
    run = analyze(capsys, "--regions", ",".join(REGIONS), "--accounts", f"{HOME},{org.member}", "--role-name", ROLE)
    assert run.code == EXIT_OK, run.stderr
    assert _where(run.document) == org.expected()
    analysed = set(re.findall(r"analysed (\d{12})/([a-z0-9-]+)/([A-Za-z0-9_-]+) \(\d+/\d+\)", run.stderr))
    assert analysed == org.expected()


def test_analyze_reads_only_the_named_accounts_when_given_account_ids(
    org: Organization, capsys: pytest.CaptureFixture[str]
):
    run = analyze(capsys, "--regions", "eu-west-1", "--accounts", org.member, "--role-name", ROLE)
    assert run.code == EXIT_OK, run.stderr
    assert _where(run.document) == {(org.member, "eu-west-1", "data")}
    assert run.document["errors"] == []


def test_analyze_is_a_usage_error_when_given_region_and_regions_together(
    org: Organization, capsys: pytest.CaptureFixture[str]
):
    run = analyze(capsys, "--region", "us-east-1", "--regions", ",".join(REGIONS))
    assert run.code == EXIT_USAGE
    assert run.stdout == ""
    assert "--regions" in run.stderr and "not allowed with" in run.stderr


def test_analyze_explains_the_missing_role_name_when_given_other_accounts_without_it(
    org: Organization, capsys: pytest.CaptureFixture[str]
):
    run = analyze(capsys, "--regions", ",".join(REGIONS), "--accounts", f"{HOME},{org.member}")
    assert run.code == EXIT_USAGE
    assert run.stdout == ""
    assert "--role-name" in run.stderr and HOME in run.stderr


def test_analyze_exits_1_only_when_every_cluster_failed(org: Organization, capsys: pytest.CaptureFixture[str]):
    nothing = analyze(capsys, "--regions", ",".join(REGIONS), "--accounts", org.roleless, "--role-name", ROLE)
    assert nothing.code == EXIT_FAILURE
    assert {(e["account"], e["region"]) for e in nothing.document["errors"]} == {(org.roleless, r) for r in REGIONS}
    some = analyze(
        capsys, "--regions", ",".join(REGIONS), "--accounts", f"{org.member},{org.roleless}", "--role-name", ROLE
    )
    assert some.code == EXIT_OK
    assert {a for a, _, _ in _where(some.document)} == {org.member}


def test_analyze_keeps_every_other_cluster_when_one_cluster_crashes_the_analysis(
    org: Organization, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    (account, region, crashing) = sorted(org.expected())[0]
    original = service.analyze_cluster

    def crash_one(settings: Any, scope: Any, cluster: str, *args: Any, **kwargs: Any) -> Any:
        if (scope.account, scope.region, cluster) == (account, region, crashing):
            raise KeyError("a shape nobody expected")
        return original(settings, scope, cluster, *args, **kwargs)

    monkeypatch.setattr(service, "analyze_cluster", crash_one)
    run = analyze(capsys, "--regions", ",".join(REGIONS), "--accounts", f"{HOME},{org.member}", "--role-name", ROLE)

    assert run.code == EXIT_OK
    assert _where(run.document) == org.expected() - {(account, region, crashing)}
    (failed,) = [e for e in run.document["errors"] if e["cluster"] == crashing and e["account"] == account]
    assert failed["region"] == region and failed["error"].startswith("analysis failed: KeyError")
    assert f"{account}/{region}/{crashing} not analysed: analysis failed: KeyError" in run.stderr


def test_analyze_looks_a_named_cluster_up_in_every_region_and_reports_it_once_when_no_region_has_it(
    org: Organization, capsys: pytest.CaptureFixture[str]
):
    somewhere = {name for (a, _, name) in org.expected() if a == HOME}
    name = sorted(somewhere)[0]
    holders = {(a, r) for (a, r, n) in org.expected() if a == HOME and n == name}

    run = analyze(capsys, "--regions", ",".join(REGIONS), "--cluster", name, "--cluster", "nowhere")

    assert {(a, r) for (a, r, n) in _where(run.document) if n == name} == holders
    missing = [e for e in run.document["errors"] if e["cluster"] == "nowhere"]
    assert len(missing) == 1 and "does not exist" in missing[0]["error"]
    assert not [e for e in run.document["errors"] if e["cluster"] == name], "absent from one region is not an error"
    assert run.code == 3  # a cluster named with --cluster exists nowhere


# --------------------------------------------------------------------------- adapters, documented answers


def _client(service: str) -> Any:
    return boto3.client(
        service,
        region_name=HOME_REGION,
        aws_access_key_id="documented",
        aws_secret_access_key="documented",
    )


def _list_accounts(response: dict[str, Any]) -> list[str]:
    client = _client("organizations")
    with Stubber(client) as stub:
        stub.add_response("list_accounts", response, {})
        return OrganizationAccountLister(client).active_accounts()


def test_account_lister_reads_the_legacy_status_field_when_the_answer_has_no_state():
    response = documented("organizations/ListAccounts-botocore-example.json")
    assert all("State" not in a for a in response["Accounts"])
    assert _list_accounts(response) == ["111111111111", "222222222222", "333333333333", "444444444444"]


def test_account_lister_reads_state_before_status_when_the_answer_has_both_or_only_state():
    """The botocore example, with the State field the service model added (AccountState enum) and Status
    retired: suspended, closing and closed accounts are left out whatever Status said."""
    response = documented("organizations/ListAccounts-botocore-example.json")
    accounts = response["Accounts"]
    accounts[0] |= {"State": "ACTIVE"}
    accounts[1] |= {"State": "SUSPENDED"}  # Status still ACTIVE: State is the newer, finer field
    accounts[2] = {k: v for k, v in accounts[2].items() if k != "Status"} | {"State": "CLOSED"}
    accounts[3] = {k: v for k, v in accounts[3].items() if k != "Status"} | {"State": "PENDING_ACTIVATION"}
    assert _list_accounts(response) == ["111111111111"]


def test_assume_role_builds_clients_from_the_returned_credentials_when_sts_grants_the_role():
    response = documented("sts/AssumeRole-botocore-example.json")
    base = AwsClients(region=HOME_REGION, session=boto3.session.Session(region_name=HOME_REGION))
    arn = "arn:aws:iam::123456789012:role/demo"
    with Stubber(base.client("sts")) as stub:
        stub.add_response(
            "assume_role",
            response,
            {
                "RoleArn": arn,
                "RoleSessionName": "modeshift-analyze",
                "DurationSeconds": ASSUMED_SESSION_SECONDS,
                "ExternalId": "123ABC",
            },
        )
        assumed = base.assume_role(arn, "eu-west-1", "modeshift-analyze", "123ABC")
    credentials = assumed.session.get_credentials()
    assert credentials.access_key == response["Credentials"]["AccessKeyId"]
    assert credentials.token == response["Credentials"]["SessionToken"]
    assert assumed.region == "eu-west-1"


def test_assume_role_names_the_role_and_permission_when_sts_refuses_it():
    """AccessDenied (HTTP 403) with the message AWS gives a caller the role does not trust (IAM User Guide,
    "Troubleshooting IAM roles": "... is not authorized to perform: sts:AssumeRole on resource: ...")."""
    base = AwsClients(region=HOME_REGION, session=boto3.session.Session(region_name=HOME_REGION))
    arn = "arn:aws:iam::444444444444:role/modeshift-member-read"
    with Stubber(base.client("sts")) as stub:
        stub.add_client_error(
            "assume_role",
            service_error_code="AccessDenied",
            service_message=f"User: arn:aws:iam::{HOME}:user/ops is not authorized to perform: sts:AssumeRole "
            f"on resource: {arn}",
            http_status_code=403,
        )
        with pytest.raises(AccessDeniedError) as refused:
            base.assume_role(arn, HOME_REGION, "modeshift-analyze")
    assert refused.value.permission == "sts:AssumeRole"
    assert arn in str(refused.value)


def _enabled(response: dict[str, Any]) -> list[str]:
    client = _client("ec2")
    with Stubber(client) as stub:
        stub.add_response("describe_regions", response, {"AllRegions": False})
        return EnabledRegionsReader(client).enabled()


def test_enabled_regions_counts_a_region_without_opt_in_status_as_enabled():
    response = documented("ec2/DescribeRegions-botocore-example.json")
    assert _enabled(response) == sorted(r["RegionName"] for r in response["Regions"])


def test_enabled_regions_leaves_out_regions_not_opted_in_when_the_answer_lists_them():
    assert _enabled(documented("ec2/DescribeRegions-cli-all-regions-optin.json")) == ["ap-south-1", "eu-north-1"]
