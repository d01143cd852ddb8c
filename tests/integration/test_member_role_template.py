"""stacksets/member-role.yaml: the read-only role the sweep worker assumes in each member account.

Proved here: the role grants exactly the actions of docs/cli-policy.json (which tests/unit/test_docs.py pins to the
code's calls), none of them a write, each on the narrowest resource IAM accepts for it; the trust policy names one
principal, the worker role, with `aws:PrincipalOrgID` and `sts:ExternalId` exactly as the parameters ask; the
parameters refuse malformed values and the template refuses a trust with neither condition; and, with moto's IAM
enforced through tests/fixtures/iam.py, `modeshift.service.analyze` over a small fleet succeeds holding exactly the
role's policy (resolved for the moto account, deployed in another region than the one it reads: IAM is global)
and names the missing permission per cluster once one action is taken out.

The trust policy's conditions are evaluated with `tests.fixtures.iam.decide` (the same IAM logic the handlers' roles
are tested with); moto does not evaluate trust policies on AssumeRole, so the role is run as a user holding its
policy, as test_iam_enforced.py does for the stack's own roles.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from modeshift.aws import AwsClients
from modeshift.config import Settings
from modeshift.demo.local_aws import install_fast_cloudwatch, uninstall_fast_cloudwatch
from modeshift.domain.report import AnalysisReport
from modeshift.service import analyze
from tests.fixtures.iam import (
    IamEnforcement,
    StackRefs,
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
from tests.integration import test_analyze_fleet as fleet
from tests.integration import test_iam_enforced as enforced_tests
from tests.integration.test_template import ECS_ON_ANY_RESOURCE, ECS_RESOURCE_TYPES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "stacksets" / "member-role.yaml")
ROLE = "MemberReadRole"
WORKER = "arn:aws:iam::210987654321:role/modeshift-SweepWorkerRole-1A2B3C4D5E6F"
ORGANIZATION = "o-a1b2c3d4e5"
EXTERNAL_ID = "modeshift-sweep-7f3a9c"
MEMBER = fleet.ACCOUNT  # moto's account: the member account the worker reads
STACKSET_REGION = "eu-west-1"  # where the StackSet instance (and so the role) is deployed; the fleet is elsewhere
# Actions IAM authorises only on "*" (Service Authorization Reference: no resource type; see test_template.py for
# ECS), and the ECS resource type each other action is scoped to: as template.yaml scopes the same reads.
NO_RESOURCE_TYPE = ECS_ON_ANY_RESOURCE | {"ec2:DescribeInstances", "cloudwatch:GetMetricData", "cloudwatch:ListMetrics"}


def _cli_policy_actions() -> set[str]:
    policy = json.loads((ROOT / "docs" / "cli-policy.json").read_text(encoding="utf-8"))
    return {action for statement in policy["Statement"] for action in as_list(statement["Action"])}


def _refs(**parameters: str) -> StackRefs:
    values = {"ModeshiftWorkerRoleArn": WORKER, **parameters}
    return StackRefs(
        TEMPLATE, region=STACKSET_REGION, account=MEMBER, stack="StackSet-modeshift-member", parameters=values
    )


def _trust_policy(**parameters: str) -> dict[str, Any]:
    refs = _refs(**parameters)
    document = TEMPLATE["Resources"][ROLE]["Properties"]["AssumeRolePolicyDocument"]
    resolved: dict[str, Any] = resolve(document, refs, evaluate_conditions(TEMPLATE, refs))
    return resolved


def _policy(**parameters: str) -> list[dict[str, Any]]:
    return role_policy_documents(TEMPLATE, ROLE, _refs(**parameters))


# ---------------------------------------------------------------- what the role may do


def test_member_role_grants_exactly_the_cli_policy_actions_when_compared_with_docs() -> None:
    assert roles(TEMPLATE) == [ROLE]
    assert list(TEMPLATE["Resources"]) == [ROLE], "the template creates the role and nothing else"
    properties = TEMPLATE["Resources"][ROLE]["Properties"]
    assert "ManagedPolicyArns" not in properties and "PermissionsBoundary" not in properties
    assert role_actions(TEMPLATE, ROLE) == _cli_policy_actions()


def test_member_role_grants_no_write_action_when_every_statement_is_read() -> None:
    (document,) = _policy(OrganizationId=ORGANIZATION)
    statements = as_list(document["Statement"])

    assert {s["Effect"] for s in statements} == {"Allow"}
    assert not any(key in s for s in statements for key in ("NotAction", "NotResource", "Condition"))
    actions = [a for s in statements for a in as_list(s["Action"])]
    assert len(actions) == len(set(actions)), "an action granted twice"
    assert all("*" not in action for action in actions)
    assert all(re.fullmatch(r"(ecs|ec2|cloudwatch):(List|Describe|Get)[A-Za-z]+", a) for a in actions), actions


def test_member_role_scopes_each_action_to_its_resource_type_in_this_account_when_resolved() -> None:
    (document,) = _policy(OrganizationId=ORGANIZATION)

    for statement in as_list(document["Statement"]):
        (resource,) = as_list(statement["Resource"])
        for action in as_list(statement["Action"]):
            if action in NO_RESOURCE_TYPE:
                assert resource == "*", action
            else:
                # any region (the role, global, serves every region the sweep reads), this account only
                assert resource == f"arn:aws:ecs:*:{MEMBER}:{ECS_RESOURCE_TYPES[action]}/*", action


def test_member_role_policy_allows_ecs_reads_in_any_region_only_when_the_resource_is_in_its_account() -> None:
    documents = _policy(ExternalId=EXTERNAL_ID)

    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        assert decide(documents, "ecs:DescribeClusters", f"arn:aws:ecs:{region}:{MEMBER}:cluster/shop")
        assert decide(documents, "ecs:DescribeServices", f"arn:aws:ecs:{region}:{MEMBER}:service/shop/api")
    assert not decide(documents, "ecs:DescribeClusters", "arn:aws:ecs:us-east-1:999999999999:cluster/shop")
    assert not decide(documents, "ecs:DescribeServices", "arn:aws:ecs:us-east-1:999999999999:service/shop/api")
    assert not decide(documents, "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{MEMBER}:service/shop/api")


def test_member_role_doc_table_lists_exactly_the_granted_actions_with_their_resources() -> None:
    text = (ROOT / "docs" / "member-accounts.md").read_text(encoding="utf-8")
    section = text.partition("## What the role may do")[2].partition("\n## ")[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if re.match(r"\| `[a-z0-9]+:", line)]
    documented = {
        action: resource.strip() for actions, resource in rows for action in re.findall(r"`([^`]+)`", actions)
    }

    assert set(documented) == role_actions(TEMPLATE, ROLE)
    for action, resource in documented.items():
        expected = "`*`" if action in NO_RESOURCE_TYPE else f"{ECS_RESOURCE_TYPES[action]}/*`"
        assert resource.endswith(expected), (action, resource)


def test_member_role_has_the_name_the_worker_assumes_and_one_hour_sessions_when_deployed() -> None:
    properties = TEMPLATE["Resources"][ROLE]["Properties"]

    assert properties["MaxSessionDuration"] == 3600
    assert properties["RoleName"] == {"Ref": "RoleName"}
    assert "Path" not in properties  # the worker assumes arn:…:role/<RoleName>, path "/"
    assert TEMPLATE["Parameters"]["RoleName"]["Default"] == "modeshift-member-read"
    assert TEMPLATE["Outputs"]["MemberRoleArn"]["Value"] == {"Fn::GetAtt": ["MemberReadRole", "Arn"]}


def test_member_role_outputs_omit_the_external_id_when_one_is_configured() -> None:
    assert "ExternalId" not in json.dumps(TEMPLATE["Outputs"])


# ---------------------------------------------------------------- who may assume it


@pytest.mark.parametrize(
    ("parameters", "condition"),
    [
        ({"OrganizationId": ORGANIZATION}, {"aws:PrincipalOrgID": ORGANIZATION}),
        ({"ExternalId": EXTERNAL_ID}, {"sts:ExternalId": EXTERNAL_ID}),
        (
            {"OrganizationId": ORGANIZATION, "ExternalId": EXTERNAL_ID},
            {"aws:PrincipalOrgID": ORGANIZATION, "sts:ExternalId": EXTERNAL_ID},
        ),
    ],
    ids=["organization", "external-id", "both"],
)
def test_member_role_trusts_only_the_worker_role_with_the_conditions_set_when_parameters_vary(
    parameters: dict[str, str], condition: dict[str, str]
) -> None:
    (statement,) = as_list(_trust_policy(**parameters)["Statement"])

    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": WORKER}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": condition}


@pytest.mark.parametrize(
    ("parameters", "request_context", "allowed"),
    [
        ({"ExternalId": EXTERNAL_ID}, {"sts:ExternalId": [EXTERNAL_ID]}, True),
        ({"ExternalId": EXTERNAL_ID}, {}, False),
        ({"ExternalId": EXTERNAL_ID}, {"sts:ExternalId": ["guessed"]}, False),
        ({"OrganizationId": ORGANIZATION}, {"aws:PrincipalOrgID": [ORGANIZATION]}, True),
        ({"OrganizationId": ORGANIZATION}, {"aws:PrincipalOrgID": ["o-zzzzzzzzzz"]}, False),
        ({"OrganizationId": ORGANIZATION}, {}, False),
        (
            {"OrganizationId": ORGANIZATION, "ExternalId": EXTERNAL_ID},
            {"aws:PrincipalOrgID": [ORGANIZATION], "sts:ExternalId": [EXTERNAL_ID]},
            True,
        ),
        ({"OrganizationId": ORGANIZATION, "ExternalId": EXTERNAL_ID}, {"aws:PrincipalOrgID": [ORGANIZATION]}, False),
        ({"OrganizationId": ORGANIZATION, "ExternalId": EXTERNAL_ID}, {"sts:ExternalId": [EXTERNAL_ID]}, False),
    ],
)
def test_member_role_assume_is_allowed_only_when_every_configured_condition_holds(
    parameters: dict[str, str], request_context: dict[str, list[str]], allowed: bool
) -> None:
    trust = _trust_policy(**parameters)

    assert decide([trust], "sts:AssumeRole", "*", request_context) is allowed


def test_member_role_template_refuses_a_trust_without_any_condition_when_both_parameters_are_empty() -> None:
    (rule,) = TEMPLATE["Rules"].values()
    (assertion,) = rule["Assertions"]
    # the rule's Fn::Or / Fn::Not / Fn::Equals, evaluated as CloudFormation does before creating anything
    as_conditions = {"Parameters": TEMPLATE["Parameters"], "Resources": {}, "Conditions": {"rule": assertion["Assert"]}}

    def holds(**parameters: str) -> bool:
        return evaluate_conditions(as_conditions, StackRefs(as_conditions, parameters=parameters))["rule"]

    assert not holds()
    assert holds(OrganizationId=ORGANIZATION)
    assert holds(ExternalId=EXTERNAL_ID)
    assert holds(OrganizationId=ORGANIZATION, ExternalId=EXTERNAL_ID)


@pytest.mark.parametrize(
    ("parameter", "value", "valid"),
    [
        ("ModeshiftWorkerRoleArn", WORKER, True),
        ("ModeshiftWorkerRoleArn", "arn:aws:iam::210987654321:role/service-role/modeshift-worker", True),
        ("ModeshiftWorkerRoleArn", "arn:aws-us-gov:iam::210987654321:role/modeshift-worker", True),
        ("ModeshiftWorkerRoleArn", "", False),
        ("ModeshiftWorkerRoleArn", "*", False),
        ("ModeshiftWorkerRoleArn", "arn:aws:iam::210987654321:root", False),
        ("ModeshiftWorkerRoleArn", "arn:aws:iam::210987654321:user/modeshift-worker", False),
        ("ModeshiftWorkerRoleArn", "arn:aws:iam::21098765432:role/modeshift-worker", False),
        ("ModeshiftWorkerRoleArn", "arn:aws:iam::210987654321:role/*", False),
        ("ModeshiftWorkerRoleArn", "arn:aws:sts::210987654321:assumed-role/modeshift-worker/session", False),
        ("RoleName", "modeshift-member-read", True),
        ("RoleName", "", False),
        ("RoleName", "team/modeshift", False),
        ("RoleName", "x" * 65, False),
        ("OrganizationId", "", True),
        ("OrganizationId", ORGANIZATION, True),
        ("OrganizationId", "o-short", False),
        ("OrganizationId", "r-a1b2c3d4e5", False),
        ("OrganizationId", "O-A1B2C3D4E5", False),
        ("ExternalId", "", True),
        ("ExternalId", EXTERNAL_ID, True),
        ("ExternalId", "x", False),
        ("ExternalId", "has a space", False),
        ("ExternalId", "x" * 1225, False),
    ],
)
def test_member_role_parameter_accepts_a_value_only_when_it_has_the_documented_form(
    parameter: str, value: str, valid: bool
) -> None:
    # AllowedPattern: CloudFormation matches the whole value; these patterns mean the same in Java and Python
    pattern = TEMPLATE["Parameters"][parameter]["AllowedPattern"]

    assert (re.fullmatch(pattern, value) is not None) is valid


def test_member_role_worker_role_arn_is_required_when_deploying() -> None:
    assert "Default" not in TEMPLATE["Parameters"]["ModeshiftWorkerRoleArn"]
    assert TEMPLATE["Parameters"]["OrganizationId"]["Default"] == ""
    assert TEMPLATE["Parameters"]["ExternalId"]["Default"] == ""


# ---------------------------------------------------------------- analyze, run as exactly the role's policy


@pytest.fixture
def member_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[IamEnforcement]:
    """The fleet of test_analyze_fleet (two EC2 clusters, three services) plus a standalone task on a capacity
    provider cluster, in the moto account; IAM enforced for whatever runs as a principal."""
    for name, value in {
        "AWS_DEFAULT_REGION": fleet.REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        install_fast_cloudwatch()
        try:
            fleet._seed_fleet(datetime.now(UTC))
            enforced_tests._add_standalone_task_and_capacity_provider()
            enforcement = IamEnforcement()
            enforcement.install(monkeypatch)
            yield enforcement
        finally:
            uninstall_fast_cloudwatch()


def _analyze_as(enforcement: IamEnforcement, documents: list[dict[str, Any]]) -> AnalysisReport:
    principal = enforcement.principal(ROLE, documents)

    def run() -> AnalysisReport:
        settings = Settings(region=fleet.REGION, lookback_days=fleet.LOOKBACK_DAYS)
        return analyze(settings, AwsClients(region=fleet.REGION), datetime.now(UTC))

    return enforcement.run_as(principal, run)()


def test_analyze_succeeds_and_uses_every_granted_action_when_run_as_exactly_the_member_role(
    member_account: IamEnforcement,
) -> None:
    documents = _policy(OrganizationId=ORGANIZATION, ExternalId=EXTERNAL_ID)

    report = _analyze_as(member_account, documents)

    assert [(d.action, d.resource) for d in member_account.denied] == []
    assert list(report.errors) == []
    assert {w.cluster for w in report.workloads} >= {"shop-ec2", "core-ec2"}
    assert {"service:api", "service:orders", "service:billing"} <= {w.workload for w in report.workloads}
    assert member_account.used(ROLE) == role_actions(TEMPLATE, ROLE), "a granted action the analysis never uses"


@pytest.mark.parametrize("action", ["ecs:DescribeServices", "ecs:DescribeContainerInstances"])
def test_analyze_reports_each_cluster_access_denied_naming_the_action_when_the_member_role_lacks_it(
    member_account: IamEnforcement, action: str
) -> None:
    documents = _policy(OrganizationId=ORGANIZATION)
    trimmed = without_action(documents, action)
    assert trimmed != documents

    report = _analyze_as(member_account, trimmed)

    assert {d.action for d in member_account.denied} == {action}
    assert {error.cluster for error in report.errors} == {"shop-ec2", "core-ec2"}
    assert {error.missing_permission for error in report.errors} == {action}
    assert all(action in error.error for error in report.errors)
