"""The SAM template (and, after `sam build`, the built one): resources, permissions and parameters the app relies on.

cfn-lint and `sam validate --lint` miss bad runtimes, bad rate() syntax and over-long timeouts, and say
nothing about least privilege or dead-letter queues: those are asserted here.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from modeshift.app_sweep import LATEST_KEY, listing_errors_key, merged_key, part_key, targets_key
from modeshift.config import Settings, settings_from_env
from modeshift.domain.models import Goal
from modeshift.table import IDEMPOTENCY_PK_PREFIX, PK, SK, TTL_ATTRIBUTE, open_task_key
from tests.events import load_event
from tests.fixtures.cfn_yaml import CfnLoader
from tests.fixtures.iam import StackRefs, decide, evaluate_conditions, role_actions, role_policy_documents, roles

ROOT = Path(__file__).resolve().parents[2]
SOURCE_TEMPLATE = ROOT / "template.yaml"
README = ROOT / "README.md"
# the deployment guide the README links to: parameters, resources and every role's permission table
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
BUILT_TEMPLATE = ROOT / ".aws-sam" / "build" / "template.yaml"

ALARM_PREFIX = "modeshift-"
ALARM_RESOURCE = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:modeshift-*"
# Resource-level permissions do not exist for these writes; Lambda's active tracing needs them.
WRITE_ON_ANY_RESOURCE_ALLOWED = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# What a state machine's role needs to deliver its execution logs to CloudWatch Logs: the log delivery API takes no
# resource ARN (Step Functions developer guide, "IAM policies for logging to CloudWatch Logs", which grants these
# on "*"). Allowed on "*" only to the role of a state machine that logs.
STATE_MACHINE_LOG_DELIVERY = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
# An EXPRESS child workflow of a Distributed Map runs at most five minutes (Step Functions quotas).
EXPRESS_CHILD_SECONDS = 300
STATE_MACHINE_DEFINITION = ROOT / "statemachine" / "sweep.asl.json"
SWEEP_FUNCTIONS = {"ListTargetsFunction", "AnalyzeClusterFunction", "MergeSweepFunction"}
READ_VERBS = ("List", "Describe", "Get")
# Lambda Python runtimes 3.12+ (deprecation: 3.12 2028-10-31, 3.13 and 3.14 2029-06-30); cfn-lint accepts python3.99.
SUPPORTED_PYTHON_RUNTIMES = {"python3.12", "python3.13", "python3.14"}
ASYNC_EVENT_TYPES = {"Schedule", "ScheduleV2", "EventBridgeRule", "CloudWatchEvent", "SNS", "S3", "CloudWatchLogs"}
RATE = re.compile(r"^rate\((?:1 (?:minute|hour|day)|(?:[2-9]|[1-9][0-9]+) (?:minutes|hours|days))\)$")
CRON = re.compile(r"^cron\(\S+(?: \S+){5}\)$")


# ---------------------------------------------------------------- loading


def load_template(path: Path) -> dict[str, Any]:
    try:
        from cfnlint.decode import cfn_yaml  # the same decoder cfn-lint uses, when it is installed
    except ImportError:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=CfnLoader)
    return _plain(cfn_yaml.load(str(path)))


def _plain(value: Any) -> Any:
    """cfn-lint's node classes, back to plain dicts, lists and scalars."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def _templates() -> Iterator[Any]:
    yield pytest.param(SOURCE_TEMPLATE, id="source")
    # .ci/sam-checks builds before the tests run; a build older than template.yaml is a leftover, not a result
    if BUILT_TEMPLATE.exists() and BUILT_TEMPLATE.stat().st_mtime >= SOURCE_TEMPLATE.stat().st_mtime:
        yield pytest.param(BUILT_TEMPLATE, id="built")


@pytest.fixture(params=list(_templates()), scope="module")
def template_path(request: pytest.FixtureRequest) -> Path:
    return request.param


@pytest.fixture(scope="module")
def template(template_path: Path) -> dict[str, Any]:
    return load_template(template_path)


# ---------------------------------------------------------------- helpers


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each AWS::Serverless::Function's properties with Globals.Function applied (environment merged)."""
    globals_ = template.get("Globals", {}).get("Function", {})
    merged = {}
    for name, res in resources(template, "AWS::Serverless::Function").items():
        props = {**globals_, **res.get("Properties", {})}
        variables = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **res.get("Properties", {}).get("Environment", {}).get("Variables", {}),
        }
        props["Environment"] = {"Variables": variables}
        merged[name] = props
    return merged


def state_machines(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: res["Properties"] for name, res in resources(template, "AWS::Serverless::StateMachine").items()}


def state_machine_arn(props: dict[str, Any]) -> str:
    """The ARN a policy names a state machine by (before the stack exists): its fixed Name, as an Fn::Sub text."""
    return f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{sub_text(props['Name'])}"


def ref_name(value: Any) -> str | None:
    """The logical ID a Ref or GetAtt points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
    return None


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """Every IAM statement in roles, policies and SAM functions: (owner, statement, behind a condition)."""
    for name, res in template["Resources"].items():
        props = res.get("Properties", {})
        documents: list[Any] = []
        if res["Type"] == "AWS::IAM::Role":
            documents = [policy["PolicyDocument"] for policy in props.get("Policies", [])]
        elif res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [props["PolicyDocument"]]
        elif res["Type"] == "AWS::Serverless::Function":
            documents = [p for p in as_list(props.get("Policies", [])) if isinstance(p, dict) and "Statement" in p]
        for document in documents:
            for statement in as_list(document["Statement"]):
                if isinstance(statement, dict) and "Fn::If" in statement:
                    for branch in statement["Fn::If"][1:]:
                        if branch != {"Ref": "AWS::NoValue"}:
                            yield name, branch, True
                else:
                    yield name, statement, False


def sub_text(value: Any) -> str:
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return str(value)


def snake_to_logical_id(folder: str) -> str:
    return "".join(part.capitalize() for part in folder.split("_")) + "Function"


# ---------------------------------------------------------------- parameters and runtime


def test_template_parameters_exist_with_sane_defaults(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    assert params["Goal"]["Default"] == "balanced"
    assert set(params["Goal"]["AllowedValues"]) == {goal.value for goal in Goal}
    assert int(params["LookbackDays"]["Default"]) == 14
    assert int(params["MinMonthlySavingsUsd"]["Default"]) == 10
    assert params["AnalysisSchedule"]["Default"] == "rate(1 day)"
    assert params["Clusters"]["Default"] == ""
    assert params["AlertEmail"]["Default"] == ""
    assert str(params["ManageAlarms"]["Default"]) == "true"
    assert {str(v) for v in params["ManageAlarms"]["AllowedValues"]} == {"true", "false"}
    assert int(params["AlarmReservationThresholdPct"]["Default"]) == 40
    assert int(params["LogRetentionDays"]["Default"]) == 30
    assert 30 in [int(v) for v in params["LogRetentionDays"]["AllowedValues"]]
    assert int(params["Ec2DiscountPct"]["Default"]) == 0
    assert int(params["FargateDiscountPct"]["Default"]) == 0
    # the sweep: this account and region unless told otherwise
    assert params["Accounts"]["Default"] == "" and params["Regions"]["Default"] == ""
    assert params["MemberRoleName"]["Default"] == "modeshift-member-read"
    assert params["MemberExternalId"]["Default"] == ""
    assert int(params["SweepMaxConcurrency"]["Default"]) == 10
    assert int(params["SweepToleratedFailurePct"]["Default"]) == 10
    assert set(template["Conditions"]) >= {
        "HasAlertEmail",
        "ManageAlarmsEnabled",
        "SweepsOtherAccounts",
        "SweepsOrganization",
        "SweepsAllRegions",
    }


@pytest.mark.parametrize(
    ("parameter", "setting", "good", "bad"),
    [
        (
            "Accounts",
            "MODESHIFT_ACCOUNTS",
            ["", "ORGANIZATION", "111111111111", "111111111111,222222222222"],
            ["organization", "11111111111", "111111111111,", "111111111111, 222222222222", "ORGANIZATION,111111111111"],
        ),
        (
            "Regions",
            "MODESHIFT_REGIONS",
            ["", "all", "eu-west-1", "us-east-1,eu-west-1", "us-gov-west-1", "ap-southeast-2"],
            ["ALL", "us-east-1,", "us-east-1, eu-west-1", "all,us-east-1", "useast1"],
        ),
    ],
)
def test_template_sweep_scope_parameters_accept_what_the_setting_accepts_when_deployed(
    template: dict[str, Any], parameter: str, setting: str, good: list[str], bad: list[str]
) -> None:
    """CloudFormation checks the pattern at deploy time; a value it lets through must not fail every sweep later."""
    pattern = re.compile(template["Parameters"][parameter]["AllowedPattern"])
    for value in good:
        assert pattern.fullmatch(value), value
        settings_from_env({setting: value, "AWS_REGION": "us-east-1"})
    for value in bad:
        assert not pattern.fullmatch(value), value


def test_template_schedule_default_is_valid_rate_or_cron(template: dict[str, Any]) -> None:
    param = template["Parameters"]["AnalysisSchedule"]
    default = param["Default"]
    assert RATE.match(default) or CRON.match(default), default
    # the parameter's own pattern (checked by CloudFormation at deploy time) agrees with Scheduler's syntax
    pattern = re.compile(param["AllowedPattern"])
    for good in ("rate(1 day)", "rate(1 hour)", "rate(6 hours)", "rate(30 minutes)", "cron(0 6 * * ? *)"):
        assert pattern.fullmatch(good), good
    for bad in ("rate(1 hours)", "rate(2 day)", "rate(0 days)", "rate(1 week)", "cron(0 6 * * ?)", "daily"):
        assert not pattern.fullmatch(bad), bad


def test_template_functions_run_supported_python_on_arm64(template: dict[str, Any]) -> None:
    fns = functions(template)
    assert fns, "no functions"
    for name, props in fns.items():
        assert props["Runtime"] in SUPPORTED_PYTHON_RUNTIMES, f"{name}: {props['Runtime']}"
        assert props["Architectures"] == ["arm64"], name
        assert 1 <= int(props["Timeout"]) <= 900, name
        assert 128 <= int(props["MemorySize"]) <= 10240, name
        assert props["Tracing"] == "Active", name
    layer = template["Resources"]["ModeshiftLayer"]["Properties"]
    runtimes = {props["Runtime"] for props in fns.values()}
    assert runtimes <= set(layer["CompatibleRuntimes"])
    assert layer["CompatibleArchitectures"] == ["arm64"]


def test_template_every_function_runs_as_a_role_the_template_declares(template: dict[str, Any]) -> None:
    """SAM generates a role (AWSLambdaBasicExecutionRole: logs on every group) when Role is absent or Policies set."""
    for name, props in functions(template).items():
        role = ref_name(props.get("Role"))
        assert role is not None and template["Resources"][role]["Type"] == "AWS::IAM::Role", name
        assert "Policies" not in props, name


def test_template_environment_is_valid_modeshift_settings(template: dict[str, Any]) -> None:
    """Every MODESHIFT_* variable is a documented setting, and the parameter defaults validate."""
    params = template["Parameters"]
    for name, props in functions(template).items():
        variables = props["Environment"]["Variables"]
        env: dict[str, str] = {"AWS_REGION": "us-east-1"}
        for key, value in variables.items():
            if not key.startswith("MODESHIFT_"):
                continue
            assert key[len("MODESHIFT_") :].lower() in Settings.model_fields, f"{name}: {key}"
            target = ref_name(value)
            if isinstance(value, dict) and "Fn::If" in value:
                _, when_true, when_false = value["Fn::If"]
                settings_from_env({key: str(when_false)})  # both branches must be valid settings
                env[key] = str(when_true)
            elif target in params:
                env[key] = str(params[target].get("Default", ""))
            elif target is not None:
                env[key] = f"resource-{target}"  # a table name, a topic ARN: any non-empty string
            else:
                env[key] = str(value)
        settings = settings_from_env(env)
        assert settings.goal == Goal.BALANCED
        assert settings.table_name
        for key in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"):
            assert key in variables, f"{name}: {key}"
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "modeshift"


def test_template_every_verdict_subscription_filters_on_its_audience(template: dict[str, Any]) -> None:
    """Each verdict is published once per audience: an unfiltered subscriber would get every rendering."""
    resources = template["Resources"]
    email = resources["VerdictEmailSubscription"]["Properties"]
    assert email["FilterPolicy"] == {"audience": ["email"]}
    slack_events = resources["NotifySlackFunction"]["Properties"]["Events"]
    (sns_event,) = [e for e in slack_events.values() if e["Type"] == "SNS"]
    assert sns_event["Properties"]["FilterPolicy"] == {"audience": ["machine"]}


# ---------------------------------------------------------------- handlers


def test_template_every_handler_exists_and_exposes_lambda_handler(
    template: dict[str, Any], template_path: Path
) -> None:
    for name, props in functions(template).items():
        module, _, attr = props["Handler"].rpartition(".")
        assert (module, attr) == ("app", "lambda_handler"), name
        code_dir = template_path.parent / props["CodeUri"]
        if template_path == SOURCE_TEMPLATE:
            folder = Path(props["CodeUri"])
            assert folder.parent == Path("functions"), name
            assert re.fullmatch(r"[a-z]+(?:_[a-z]+)+", folder.name), f"{folder.name} is not verb_noun"
            assert snake_to_logical_id(folder.name) == name
        handler_file = code_dir / "app.py"
        assert handler_file.is_file(), handler_file
        tree = ast.parse(handler_file.read_text(encoding="utf-8"))
        top_level = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
        top_level |= {
            t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
        }
        assert "lambda_handler" in top_level, f"{handler_file} has no lambda_handler"


def test_built_layer_holds_the_library_without_demo() -> None:
    if BUILT_TEMPLATE not in [p.values[0] for p in _templates()]:
        pytest.skip("no fresh sam build (.ci/sam-checks builds one)")
    layer = BUILT_TEMPLATE.parent / "ModeshiftLayer" / "python"
    assert (layer / "modeshift" / "__init__.py").is_file()
    assert (layer / "modeshift" / "data").is_dir()
    assert not (layer / "modeshift" / "demo").exists()
    assert not (layer / "moto").exists()
    assert not (layer / "botocore").exists() and not (layer / "boto3").exists()
    assert (layer / "aws_lambda_powertools").is_dir() and (layer / "pydantic").is_dir() and (layer / "numpy").is_dir()


# ---------------------------------------------------------------- asynchronous paths and their DLQs


def _queue_with_alarm(template: dict[str, Any], queue: str) -> bool:
    for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        dims = {d["Name"]: ref_name(d["Value"]) for d in props.get("Dimensions", [])}
        if (
            props.get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and dims.get("QueueName") == queue
            and float(props["Threshold"]) == 0
            and props["ComparisonOperator"] == "GreaterThanThreshold"
            and props.get("AlarmActions")
        ):
            return True
    return False


def test_template_every_asynchronous_path_has_an_alarmed_dlq(template: dict[str, Any]) -> None:
    dlqs: set[str] = set()
    for name, props in state_machines(template).items():
        # a state machine's schedule is delivered asynchronously too: retried, then dead-lettered
        for event_name, event in props.get("Events", {}).items():
            assert event["Type"] in ASYNC_EVENT_TYPES, f"{name}.{event_name}"
            assert "RetryPolicy" in event["Properties"], f"{name}.{event_name}: no RetryPolicy"
            dlqs.add(ref_name(event["Properties"]["DeadLetterConfig"]["Arn"]))
    for name, props in functions(template).items():
        events = props.get("Events", {})
        async_events = {k: e for k, e in events.items() if e["Type"] in ASYNC_EVENT_TYPES}
        for event_name, event in async_events.items():
            if event["Type"] == "SNS":
                # SNS retries delivery to Lambda on its own schedule; what it gives up on goes to the redrive queue.
                redrive = event["Properties"].get("RedrivePolicy", {})
                assert redrive.get("deadLetterTargetArn"), f"{name}.{event_name}: no RedrivePolicy"
                dlqs.add(ref_name(redrive["deadLetterTargetArn"]))
                continue
            dlq = event["Properties"].get("DeadLetterConfig", {})
            assert dlq, f"{name}.{event_name}: no DeadLetterConfig"
            assert "RetryPolicy" in event["Properties"], f"{name}.{event_name}: no RetryPolicy"
            dlqs.add(ref_name(dlq["Arn"]))
        if async_events:
            on_failure = props.get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure")
            assert on_failure or props.get("DeadLetterQueue"), f"{name}: async failures are dropped"
            dlqs.add(ref_name((on_failure or {}).get("Destination") or props["DeadLetterQueue"]["TargetArn"]))
        for event in events.values():
            if event["Type"] != "SQS":
                continue
            queue_name = ref_name(event["Properties"]["Queue"])
            queue = template["Resources"][queue_name]["Properties"]
            redrive = queue.get("RedrivePolicy")
            assert redrive, f"{queue_name}: no redrive policy"
            assert 1 <= int(redrive["maxReceiveCount"]) <= 10
            dlqs.add(ref_name(redrive["deadLetterTargetArn"]))
            window = int(event["Properties"].get("MaximumBatchingWindowInSeconds", 0))
            assert int(queue["VisibilityTimeout"]) >= 6 * int(props["Timeout"]) + window, queue_name
            assert "ReportBatchItemFailures" in event["Properties"].get("FunctionResponseTypes", [])
    for name, rule in resources(template, "AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
            assert "DeadLetterConfig" in target, f"{name}: target {target['Id']} has no DLQ"
            dlqs.add(ref_name(target["DeadLetterConfig"]["Arn"]))
    assert None not in dlqs
    for queue in dlqs:
        assert template["Resources"][queue]["Type"] == "AWS::SQS::Queue", queue
        assert _queue_with_alarm(template, queue), f"{queue}: no depth alarm"
    for name, queue in resources(template, "AWS::SQS::Queue").items():
        assert queue["Properties"].get("SqsManagedSseEnabled") is True, name


def test_template_task_events_reach_the_queue_only_from_their_rule(template: dict[str, Any]) -> None:
    rule = template["Resources"]["TaskEventsRule"]["Properties"]
    assert rule["EventPattern"] == {"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"]}
    assert [ref_name(t["Arn"]) for t in rule["Targets"]] == ["TaskEventsQueue"]
    policy = template["Resources"]["TaskEventsQueuePolicy"]["Properties"]
    (statement,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert ref_name(statement["Condition"]["ArnEquals"]["aws:SourceArn"]) == "TaskEventsRule"


def test_template_alarm_rule_matches_modeshift_alarms_in_alarm(template: dict[str, Any]) -> None:
    """The alarm path keeps analysing its one cluster directly; the scheduled sweep is the state machine's."""
    events = functions(template)["AnalyzeFleetFunction"]["Events"]
    (event,) = events.values()
    assert event["Type"] == "EventBridgeRule"
    pattern = event["Properties"]["Pattern"]
    assert pattern["source"] == ["aws.cloudwatch"]
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert pattern["detail"]["alarmName"] == [{"prefix": ALARM_PREFIX}]
    assert pattern["detail"]["state"]["value"] == ["ALARM"]


def test_template_analysis_schedule_starts_the_sweep_state_machine_only(template: dict[str, Any]) -> None:
    """One schedule per sweep: a function still on AnalysisSchedule would analyse the fleet twice a run."""
    on_schedule = [
        (name, event)
        for name, props in [*functions(template).items(), *state_machines(template).items()]
        for event in props.get("Events", {}).values()
        if event["Type"] == "ScheduleV2" and event["Properties"]["ScheduleExpression"] == {"Ref": "AnalysisSchedule"}
    ]
    assert [name for name, _ in on_schedule] == ["SweepStateMachine"]
    ((_, event),) = on_schedule
    assert ref_name(event["Properties"]["RoleArn"]) == "SweepScheduleRole"
    assert ref_name(event["Properties"]["DeadLetterConfig"]["Arn"]) == "EventDeliveryDeadLetterQueue"
    assert "Input" not in event["Properties"]  # the execution's input is unused; its name is the run id


def test_template_functions_have_error_alarms_and_concurrency_caps(template: dict[str, Any]) -> None:
    fns = functions(template)
    alarmed = set()
    for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if props.get("Namespace") == "AWS/Lambda" and props.get("MetricName") == "Errors" and props.get("AlarmActions"):
            alarmed |= {ref_name(d["Value"]) for d in props["Dimensions"] if d["Name"] == "FunctionName"}
    assert alarmed == set(fns)
    assert fns["AnalyzeFleetFunction"]["ReservedConcurrentExecutions"] == 1  # alarm analyses must not overlap
    assert all("ReservedConcurrentExecutions" in props for props in fns.values())
    # one listing and one merge at a time; as many workers as the map runs at once, no more
    assert fns["ListTargetsFunction"]["ReservedConcurrentExecutions"] == 1
    assert fns["MergeSweepFunction"]["ReservedConcurrentExecutions"] == 1
    assert fns["AnalyzeClusterFunction"]["ReservedConcurrentExecutions"] == {"Ref": "SweepMaxConcurrency"}


def test_template_the_map_runs_as_many_workers_as_their_concurrency_cap_when_sweeping(template: dict[str, Any]) -> None:
    """list_targets hands the map its MaxConcurrency and tolerated failure share (MaxConcurrencyPath,
    ToleratedFailurePercentagePath): from the same parameters that cap the worker, or the map is throttled."""
    variables = functions(template)["ListTargetsFunction"]["Environment"]["Variables"]
    assert variables["MODESHIFT_CONCURRENCY"] == {"Ref": "SweepMaxConcurrency"}
    assert variables["MODESHIFT_TOLERATED_FAILURE_PCT"] == {"Ref": "SweepToleratedFailurePct"}
    assert variables["MODESHIFT_ACCOUNTS"] == {"Ref": "Accounts"} and variables["MODESHIFT_REGIONS"] == {
        "Ref": "Regions"
    }
    for name in ("ListTargetsFunction", "AnalyzeClusterFunction"):
        variables = functions(template)[name]["Environment"]["Variables"]
        assert variables["MODESHIFT_MEMBER_ROLE_NAME"] == {"Ref": "MemberRoleName"}, name
        assert variables["MODESHIFT_EXTERNAL_ID"] == {"Ref": "MemberExternalId"}, name
    for name in SWEEP_FUNCTIONS:
        assert functions(template)[name]["Environment"]["Variables"]["MODESHIFT_REPORT_BUCKET"] == {
            "Ref": "ReportBucket"
        }, name
    definition = json.loads(STATE_MACHINE_DEFINITION.read_text(encoding="utf-8"))
    listed = definition["States"]["ListTargets"]["ResultSelector"]
    the_map = definition["States"]["AnalyzeClusters"]
    assert the_map["MaxConcurrencyPath"] == "$.targets.max_concurrency"
    assert listed["max_concurrency.$"] == "$.Payload.max_concurrency"
    assert the_map["ToleratedFailurePercentagePath"] == "$.targets.tolerated_failure_percentage"
    assert listed["tolerated_failure_percentage.$"] == "$.Payload.tolerated_failure_percentage"


def test_template_worker_finishes_inside_its_express_child_when_throttled_and_retried(
    template: dict[str, Any],
) -> None:
    """A worker still running when its EXPRESS child ends (5 minutes) is lost without an error of its own. The
    child retries an invocation Lambda refused (throttled, service error: it did not run), then runs it in full."""
    definition = json.loads(STATE_MACHINE_DEFINITION.read_text(encoding="utf-8"))
    processor = definition["States"]["AnalyzeClusters"]["ItemProcessor"]
    assert processor["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    (task,) = processor["States"].values()
    assert task["Parameters"]["FunctionName"] == "${AnalyzeClusterFunctionArn}"
    waits = 0.0
    for retry in task.get("Retry", []):
        assert "States.ALL" not in retry["ErrorEquals"] and "States.Timeout" not in retry["ErrorEquals"]
        assert all(e.startswith("Lambda.") for e in retry["ErrorEquals"]), "a worker that ran must not run again"
        interval, rate = float(retry.get("IntervalSeconds", 1)), float(retry.get("BackoffRate", 2))
        waits += sum(interval * rate**attempt for attempt in range(int(retry.get("MaxAttempts", 3))))
    timeout = int(functions(template)["AnalyzeClusterFunction"]["Timeout"])
    assert timeout + waits < EXPRESS_CHILD_SECONDS, f"{timeout} s + {waits} s of retries"


def test_template_health_alarms_stay_outside_the_managed_prefix(template: dict[str, Any]) -> None:
    """Stack alarms named modeshift-* would trigger analyses and fall under the function's delete permission."""
    for name, alarm in resources(template, "AWS::CloudWatch::Alarm").items():
        alarm_name = sub_text(alarm["Properties"].get("AlarmName", ""))
        assert alarm_name, f"{name}: an unnamed alarm gets '<stack>-{name}-…', i.e. modeshift-* for stack 'modeshift'"
        assert not alarm_name.replace("${AWS::StackName}", "modeshift").startswith(ALARM_PREFIX), name


# ---------------------------------------------------------------- state, topics, logs


def test_template_table_has_keys_ttl_pitr_and_encryption(template: dict[str, Any]) -> None:
    (table,) = resources(template, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    keys = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
    assert keys == {"HASH": PK, "RANGE": SK}
    assert {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]} == {PK: "S", SK: "S"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True


def test_template_topics_are_encrypted_or_say_why_not(template: dict[str, Any]) -> None:
    topics = resources(template, "AWS::SNS::Topic")
    assert topics["VerdictTopic"]["Properties"]["KmsMasterKeyId"] == "alias/aws/sns"
    for name, topic in topics.items():
        if topic["Properties"].get("KmsMasterKeyId"):
            continue
        skips = topic.get("Metadata", {}).get("checkov", {}).get("skip", [])
        assert any(s["id"] == "CKV_AWS_26" and s.get("comment") for s in skips), f"{name}: unencrypted, no reason"
    for name, sub in resources(template, "AWS::SNS::Subscription").items():
        assert sub.get("Condition") == "HasAlertEmail", name


def test_template_every_function_logs_to_a_retained_log_group(template: dict[str, Any]) -> None:
    """Each role writes logs only to the log groups of the functions that run as it (the sweep's list_targets and
    analyze_cluster share SweepWorkerRole, so it gets their two groups)."""
    log_groups = resources(template, "AWS::Logs::LogGroup")
    groups_of_role: dict[str, set[str]] = {}
    for name, props in functions(template).items():
        group = ref_name(props["LoggingConfig"]["LogGroup"])
        assert group in log_groups, name
        assert log_groups[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        groups_of_role.setdefault(ref_name(props["Role"]) or "", set()).add(group)
    for role, groups in groups_of_role.items():
        log_resources = [
            ref_name(r)
            for owner, s, _ in statements(template)
            if owner == role and any(a.startswith("logs:") for a in as_list(s["Action"]))
            for r in as_list(s["Resource"])
        ]
        assert sorted(log_resources) == sorted(groups), f"{role} may write logs elsewhere"
    assert groups_of_role["SweepWorkerRole"] == {"ListTargetsLogGroup", "AnalyzeClusterLogGroup"}


def test_template_outputs_name_the_apps_resources(template: dict[str, Any]) -> None:
    outputs = {name: ref_name(out["Value"]) for name, out in template["Outputs"].items()}
    assert set(outputs.values()) >= {
        "VerdictTopic",
        "ModeshiftTable",
        "TaskEventsQueue",
        "AnalyzeFleetFunction",
        "IngestTaskEventsFunction",
        "ModeshiftLayer",
        "SweepStateMachine",  # to start a sweep by hand
        "SweepWorkerRole",  # the principal member accounts trust (stacksets/member-role.yaml)
    }
    assert template["Outputs"]["SweepWorkerRoleArn"]["Value"] == {"Fn::GetAtt": ["SweepWorkerRole", "Arn"]}


# ---------------------------------------------------------------- IAM


def test_template_iam_grants_no_wildcard_actions_nor_writes_on_any_resource(template: dict[str, Any]) -> None:
    logging_state_machine_roles = {
        ref_name(props["Role"]) for props in state_machines(template).values() if props.get("Logging")
    }
    seen = 0
    for owner, statement, _ in statements(template):
        seen += 1
        assert statement["Effect"] == "Allow", owner
        assert "NotAction" not in statement and "NotResource" not in statement, owner
        actions = as_list(statement["Action"])
        for action in actions:
            verb = action.partition(":")[2]
            assert "*" not in verb, f"{owner}: {action}"
        if "*" in as_list(statement["Resource"]):
            for action in actions:
                verb = action.partition(":")[2]
                if action in STATE_MACHINE_LOG_DELIVERY:
                    assert owner in logging_state_machine_roles, f"{owner}: {action} on * without a state machine"
                    continue
                assert verb.startswith(READ_VERBS) or action in WRITE_ON_ANY_RESOURCE_ALLOWED, f"{owner}: {action} on *"
    assert seen > 0


def test_template_alarm_writes_are_scoped_to_modeshift_alarms(template: dict[str, Any]) -> None:
    alarm_writes = {"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"}
    granted: dict[str, set[str]] = {}
    for owner, statement, conditional in statements(template):
        actions = set(as_list(statement["Action"]))
        if not actions & alarm_writes:
            continue
        # analyze_fleet (by hand, or a whole-fleet invocation) and the sweep's merge keep the alarms
        assert owner in ("AnalyzeFleetRole", "MergeSweepRole"), owner
        assert conditional, "alarm writes must depend on ManageAlarmsEnabled"
        assert [sub_text(r) for r in as_list(statement["Resource"])] == [ALARM_RESOURCE]
        if "cloudwatch:PutMetricAlarm" in actions:
            # no write may attach an action (ALARM, OK or INSUFFICIENT_DATA): the key must be absent
            assert statement["Condition"] == {"Null": {"cloudwatch:AlarmActions": "true"}}
        granted.setdefault(owner, set()).update(actions)
    assert granted == {"AnalyzeFleetRole": alarm_writes, "MergeSweepRole": alarm_writes}


def test_template_ingest_can_only_touch_its_queue_and_the_table(template: dict[str, Any]) -> None:
    targets = {}
    for owner, statement, _ in statements(template):
        if owner != "IngestTaskEventsRole":
            continue
        for action in as_list(statement["Action"]):
            targets[action] = [ref_name(r) or r for r in as_list(statement["Resource"])]
    for action, where in targets.items():
        service = action.partition(":")[0]
        expected = {
            "sqs": ["TaskEventsQueue"],
            "dynamodb": ["ModeshiftTable"],
            "logs": ["IngestTaskEventsLogGroup"],
            "xray": ["*"],
        }[service]
        assert where == expected, action
    assert not any(a in targets for a in ("dynamodb:Scan", "sns:Publish"))
    # DeleteItem: a Delete inside TransactWriteItems removes a stopped task's open-task marker; no Query, no Scan,
    # no ConditionCheckItem (no transaction carries a ConditionCheck)
    assert sorted(a for a in targets if a.startswith("dynamodb:")) == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]


def test_template_slack_notifier_is_optional_and_reads_only_its_secret(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    assert str(params["EnableSlackNotifier"]["Default"]) == "false"
    assert params["SlackWebhookSecretArn"]["Default"] == ""
    pattern = re.compile(params["SlackWebhookSecretArn"]["AllowedPattern"])
    assert pattern.fullmatch("arn:aws:secretsmanager:eu-west-1:123456789012:secret:modeshift/slack-AbC123")
    assert not pattern.fullmatch("https://hooks.slack.com/services/T000/B000/XXXX")
    assert "SlackEnabled" in template["Conditions"]
    slack_resources = [n for n in template["Resources"] if n.startswith("NotifySlack")]
    assert len(slack_resources) >= 6
    for name in slack_resources:
        assert template["Resources"][name].get("Condition") == "SlackEnabled", name
    fn = functions(template)["NotifySlackFunction"]
    assert fn["Environment"]["Variables"]["MODESHIFT_SLACK_WEBHOOK_SECRET_ARN"] == {"Ref": "SlackWebhookSecretArn"}
    (event,) = fn["Events"].values()
    assert event["Type"] == "SNS" and event["Properties"]["Topic"] == {"Ref": "VerdictTopic"}
    granted = {}
    for owner, statement, _ in statements(template):
        if owner == "NotifySlackRole":
            for action in as_list(statement["Action"]):
                granted[action] = [ref_name(r) or r for r in as_list(statement["Resource"])]
    assert granted["secretsmanager:GetSecretValue"] == ["SlackWebhookSecretArn"]
    assert granted["sqs:SendMessage"] == ["NotifySlackDeadLetterQueue"]
    assert {a.partition(":")[0] for a in granted} == {"logs", "xray", "secretsmanager", "sqs"}


def _leading_keys(statement: dict[str, Any]) -> list[str]:
    condition = statement.get("Condition", {})
    assert condition.get("Null") == {"dynamodb:LeadingKeys": "false"}, "ForAllValues holds when the key is missing"
    return as_list(condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])


def test_template_deletes_only_items_under_the_prefix_each_function_owns(template: dict[str, Any]) -> None:
    """DeleteItem exists for Powertools' idempotency records (analyze_fleet) and open-task markers (ingest)."""
    open_prefix = open_task_key("c", "g", "t")[PK].removesuffix("c")
    expected = {"AnalyzeFleetRole": [f"{IDEMPOTENCY_PK_PREFIX}*"], "IngestTaskEventsRole": [f"{open_prefix}*"]}
    found: dict[str, list[str]] = {}
    for owner, statement, _ in statements(template):
        actions = as_list(statement["Action"])
        if "dynamodb:DeleteItem" in actions:
            assert actions == ["dynamodb:DeleteItem"], f"{owner}: DeleteItem shares a statement"
            assert ref_name(statement["Resource"]) == "ModeshiftTable"
            found[owner] = _leading_keys(statement)
    assert found == expected


# ECS actions with a resource type (Service Authorization Reference) and the ARN they get; the rest take only "*".
ECS_RESOURCE_TYPES = {
    "ecs:DescribeClusters": "cluster",
    "ecs:ListContainerInstances": "cluster",
    "ecs:DescribeServices": "service",
    "ecs:DescribeContainerInstances": "container-instance",
    "ecs:DescribeTasks": "task",
    "ecs:DescribeCapacityProviders": "capacity-provider",
}
# no resource type; ListTasks names container-instance, yet a listing by cluster is only authorised on "*"
ECS_ON_ANY_RESOURCE = {"ecs:ListClusters", "ecs:ListServices", "ecs:DescribeTaskDefinition", "ecs:ListTasks"}


# The sweep's workers read every region Regions names (or all): this account's ARNs, any region. Every other role
# reads its own region only.
ANY_REGION_ECS_READERS = {"SweepWorkerRole"}


def test_template_ecs_reads_get_this_accounts_arns_wherever_iam_allows_them(template: dict[str, Any]) -> None:
    seen = set()
    for owner, statement, _ in statements(template):
        for action in as_list(statement["Action"]):
            if not action.startswith("ecs:"):
                continue
            seen.add(action)
            resources = [sub_text(r) for r in as_list(statement["Resource"])]
            if action in ECS_ON_ANY_RESOURCE:
                assert resources == ["*"], f"{owner}: {action}"
            else:
                kind = ECS_RESOURCE_TYPES[action]
                region = "*" if owner in ANY_REGION_ECS_READERS else "${AWS::Region}"
                arn = f"arn:${{AWS::Partition}}:ecs:{region}:${{AWS::AccountId}}:{kind}/*"
                assert resources == [arn], f"{owner}: {action} on {resources}"
    assert seen == set(ECS_RESOURCE_TYPES) | ECS_ON_ANY_RESOURCE


def _tls_only(statements_: list[Any], resource: str, actions: set[str] | None = None) -> bool:
    for statement in statements_:
        if statement.get("Effect") != "Deny" or statement.get("Principal") != "*":
            continue
        if statement.get("Condition") != {"Bool": {"aws:SecureTransport": "false"}}:
            continue
        if ref_name(statement["Resource"]) == resource and (
            actions is None or actions <= set(as_list(statement["Action"]))
        ):
            return True
    return False


def test_template_every_queue_refuses_requests_without_tls(template: dict[str, Any]) -> None:
    covered = {}
    for name, policy in resources(template, "AWS::SQS::QueuePolicy").items():
        for queue in policy["Properties"]["Queues"]:
            queue_name = ref_name(queue)
            document = policy["Properties"]["PolicyDocument"]
            covered[queue_name] = _tls_only(as_list(document["Statement"]), queue_name, {"sqs:*"})
            assert template["Resources"][queue_name].get("Condition") == policy.get("Condition"), name
    assert covered == dict.fromkeys(resources(template, "AWS::SQS::Queue"), True)


def test_template_verdict_topic_admits_only_the_apps_publishers_and_only_over_tls(template: dict[str, Any]) -> None:
    (policy,) = [
        p
        for p in resources(template, "AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [{"Ref": "VerdictTopic"}]
    ]
    statements_ = as_list(policy["Properties"]["PolicyDocument"]["Statement"])
    publishers = {"AnalyzeFleetRole", "MergeSweepRole", "WeeklyReportRole"}
    assert publishers == {
        owner
        for owner, s, _ in statements(template)
        if "sns:Publish" in as_list(s["Action"]) and ref_name(s["Resource"]) == "VerdictTopic"
    }
    (deny,) = [s for s in statements_ if s["Effect"] == "Deny" and "ArnNotEquals" in s.get("Condition", {})]
    assert deny["Principal"] == "*" and deny["Action"] == "sns:Publish"
    assert {ref_name(arn) for arn in deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]} == publishers
    allows = [s for s in statements_ if s["Effect"] == "Allow"]
    assert [s["Action"] for s in allows] == ["sns:Publish"]  # nothing else: no Subscribe for the whole account
    assert {ref_name(arn) for arn in allows[0]["Principal"]["AWS"]} == publishers
    assert _tls_only(statements_, "VerdictTopic", {"sns:Publish", "sns:Subscribe", "sns:SetTopicAttributes"})


def test_template_health_topic_takes_only_this_stacks_health_alarms(template: dict[str, Any]) -> None:
    (policy,) = [
        p
        for p in resources(template, "AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [{"Ref": "HealthTopic"}]
    ]
    statements_ = as_list(policy["Properties"]["PolicyDocument"]["Statement"])
    (allow,) = [s for s in statements_ if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and allow["Action"] == "sns:Publish"
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source = sub_text(allow["Condition"]["ArnLike"]["aws:SourceArn"])
    prefix = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
    assert source.startswith(prefix) and source.endswith("*")
    pattern = source.removeprefix(prefix).removesuffix("*")
    notifying = [
        a
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if {"Ref": "HealthTopic"} in a["Properties"]["AlarmActions"]
    ]
    assert notifying
    for alarm in notifying:
        assert sub_text(alarm["Properties"]["AlarmName"]).startswith(pattern)
    assert _tls_only(statements_, "HealthTopic", {"sns:Publish"})


def _granted(role: dict[str, Any]) -> dict[str, list[str]]:
    """Each action of a role's policies with its resources (as logical IDs, or the Fn::Sub text of an ARN)."""
    granted: dict[str, list[str]] = {}
    for policy in role["Properties"]["Policies"]:
        for statement in as_list(policy["PolicyDocument"]["Statement"]):
            for action in as_list(statement["Action"]):
                granted.setdefault(action, []).extend(
                    ref_name(r) or sub_text(r) for r in as_list(statement["Resource"])
                )
    return granted


def test_template_schedules_run_as_roles_only_this_accounts_scheduler_can_assume(template: dict[str, Any]) -> None:
    """SAM's generated schedule role trusts scheduler.amazonaws.com of any account: every ScheduleV2 names its own,
    which may start its own target only (invoke its function, or start an execution of its state machine)."""
    scheduled = set()
    targets = [(name, props, "function") for name, props in functions(template).items()]
    targets += [(name, props, "state machine") for name, props in state_machines(template).items()]
    for name, props, kind in targets:
        for event in props.get("Events", {}).values():
            if event["Type"] != "ScheduleV2":
                continue
            scheduled.add(name)
            role = template["Resources"][ref_name(event["Properties"]["RoleArn"])]
            (trust,) = as_list(role["Properties"]["AssumeRolePolicyDocument"]["Statement"])
            assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
            assert trust["Action"] == "sts:AssumeRole"
            assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
            dlq = ref_name(event["Properties"]["DeadLetterConfig"]["Arn"])
            start = (
                {"lambda:InvokeFunction": [name]}
                if kind == "function"
                else {"states:StartExecution": [state_machine_arn(props)]}
            )
            assert _granted(role) == {**start, "sqs:SendMessage": [dlq]}, name
    assert scheduled == {"SweepStateMachine", "WeeklyReportFunction"}


# ---------------------------------------------------------------- the sweep's state machine


def test_template_sweep_state_machine_is_standard_traced_logged_and_runs_as_its_own_role(
    template: dict[str, Any], template_path: Path
) -> None:
    (name,) = state_machines(template)
    props = state_machines(template)[name]
    assert props["Type"] == "STANDARD"  # the parent; its map children are EXPRESS (see the definition)
    assert (template_path.parent / props["DefinitionUri"]).resolve() == STATE_MACHINE_DEFINITION  # built: ../../
    assert props["Tracing"] == {"Enabled": True}
    logging_ = props["Logging"]
    assert logging_["Level"] in ("ALL", "ERROR", "FATAL")
    (destination,) = logging_["Destinations"]
    group = ref_name(destination["CloudWatchLogsLogGroup"]["LogGroupArn"])
    group_props = template["Resources"][group]["Properties"]
    assert group_props["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    # Step Functions' log delivery adds a resource policy per log group outside /aws/vendedlogs/ (10 per region)
    assert sub_text(group_props["LogGroupName"]).startswith("/aws/vendedlogs/states/")
    # SAM generates a role (with managed policies) when Role is absent or Policies is given
    role = ref_name(props["Role"])
    assert template["Resources"][role]["Type"] == "AWS::IAM::Role"
    assert "Policies" not in props and "PermissionsBoundary" not in props
    # a substitution per ${...} of the definition, each a template reference: no ARN typed by hand
    text = STATE_MACHINE_DEFINITION.read_text(encoding="utf-8")
    substitutions = props["DefinitionSubstitutions"]
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(substitutions)
    assert {key: ref_name(value) for key, value in substitutions.items()} == {
        "ListTargetsFunctionArn": "ListTargetsFunction",
        "AnalyzeClusterFunctionArn": "AnalyzeClusterFunction",
        "MergeSweepFunctionArn": "MergeSweepFunction",
        "ReportBucket": "ReportBucket",
    }


def test_template_state_machine_role_invokes_only_the_sweep_and_runs_only_its_own_children(
    template: dict[str, Any],
) -> None:
    (props,) = state_machines(template).values()
    role = template["Resources"][ref_name(props["Role"])]
    (trust,) = as_list(role["Properties"]["AssumeRolePolicyDocument"]["Statement"])
    assert trust["Principal"] == {"Service": "states.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    granted = _granted(role)
    own = state_machine_arn(props)
    executions = own.replace(":stateMachine:", ":execution:") + "/*"
    sweep_files = "${ReportBucket.Arn}/sweeps/*"
    tracing = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"}
    expected = {
        "lambda:InvokeFunction": sorted(SWEEP_FUNCTIONS),
        # a Distributed Map starts its children as executions of this same state machine, and watches them
        "states:StartExecution": [own],
        "states:DescribeExecution": [executions],
        "states:StopExecution": [executions],
        # ItemReader reads the target list; ResultWriter writes the manifest and result files (multipart)
        **{
            action: [sweep_files]
            for action in ("s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload")
        },
        **{action: ["*"] for action in tracing},
        **{action: ["*"] for action in STATE_MACHINE_LOG_DELIVERY},
    }
    assert {action: sorted(where) for action, where in granted.items()} == expected
    # the definition's ResultWriter writes where the role may: a fixed prefix, or one States.Format builds
    definition = json.loads(STATE_MACHINE_DEFINITION.read_text(encoding="utf-8"))
    writer = definition["States"]["AnalyzeClusters"]["ResultWriter"]["Parameters"]
    assert writer["Bucket"] == "${ReportBucket}"
    prefix = writer.get("Prefix") or re.sub(r"^States\.Format\('([^']*)'.*$", r"\1", writer["Prefix.$"])
    assert prefix.startswith("sweeps/"), prefix


def test_template_sweep_failures_reach_the_health_topic(template: dict[str, Any]) -> None:
    """A failed execution raises SweepFailedAlarm; a crashed worker shows in the merged document's errors and in
    AnalyzeClusterErrorsAlarm."""
    alarm = template["Resources"]["SweepFailedAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/States", "ExecutionsFailed")
    assert [(d["Name"], ref_name(d["Value"])) for d in alarm["Dimensions"]] == [
        ("StateMachineArn", "SweepStateMachine")  # Ref of a state machine is its ARN
    ]
    assert float(alarm["Threshold"]) == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["AlarmActions"] == [{"Ref": "HealthTopic"}]
    assert alarm["TreatMissingData"] == "notBreaching"


# Which of the sweep worker's permissions each parameter value brings (Accounts, Regions): only what it asks for.
SWEEP_REACH = [
    ({}, set()),
    ({"Accounts": "111111111111,222222222222"}, {"sts:AssumeRole"}),
    ({"Accounts": "ORGANIZATION"}, {"sts:AssumeRole", "organizations:ListAccounts"}),
    ({"Regions": "eu-west-1,us-east-1"}, set()),
    ({"Regions": "all"}, {"ec2:DescribeRegions"}),
    (
        {"Accounts": "ORGANIZATION", "Regions": "all"},
        {"sts:AssumeRole", "organizations:ListAccounts", "ec2:DescribeRegions"},
    ),
]
REACH_ACTIONS = {"sts:AssumeRole", "organizations:ListAccounts", "ec2:DescribeRegions"}


@pytest.mark.parametrize(("parameters", "reach"), SWEEP_REACH)
def test_template_sweep_worker_reaches_other_accounts_and_regions_only_when_the_parameters_ask(
    template: dict[str, Any], parameters: dict[str, str], reach: set[str]
) -> None:
    refs = StackRefs(template, parameters=parameters)
    documents = role_policy_documents(template, "SweepWorkerRole", refs)
    granted = {a for d in documents for s in as_list(d["Statement"]) for a in as_list(s["Action"])}
    assert granted & REACH_ACTIONS == reach
    for document in documents:
        for statement in as_list(document["Statement"]):
            if "sts:AssumeRole" in as_list(statement["Action"]):
                # the member role by name: ORGANIZATION is only known when the sweep runs, so it is bounded by the
                # caller's own organization instead; a list of accounts is bounded by the member roles' trust
                assert as_list(statement["Action"]) == ["sts:AssumeRole"]
                assert statement["Resource"] == "arn:aws:iam::*:role/modeshift-member-read"
                bound = {"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}}
                organization = parameters.get("Accounts") == "ORGANIZATION"
                assert statement.get("Condition") == (bound if organization else None)
    # no other role reaches beyond its account, whatever the parameters
    for owner, statement, _ in statements(template):
        if owner != "SweepWorkerRole":
            assert not set(as_list(statement["Action"])) & REACH_ACTIONS, owner
    # the worker's trust: Lambda only (member accounts trust it, not the other way round)
    worker = template["Resources"]["SweepWorkerRole"]["Properties"]
    (trust,) = as_list(worker["AssumeRolePolicyDocument"]["Statement"])
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"} and "Condition" not in trust
    assert evaluate_conditions(template, refs)["SweepsOtherAccounts"] == ("sts:AssumeRole" in reach)


BUCKET = "modeshift-reports"
RUN = "sweep-2026-11-30"
# Who may read and write what in the report bucket: the worker writes the targets and its part, never the document
# the weekly report trusts; the merge reads everything of the sweep and writes the document; the weekly report
# reads only the last merged document of the sweep (and its own reports/).
S3_ACCESS = {
    targets_key(RUN): {"SweepWorkerRole": {"s3:PutObject"}, "MergeSweepRole": {"s3:GetObject", "s3:PutObject"}},
    listing_errors_key(RUN): {
        "SweepWorkerRole": {"s3:PutObject"},
        "MergeSweepRole": {"s3:GetObject", "s3:PutObject"},
    },
    part_key(RUN, "111111111111", "eu-west-1", "prod"): {
        "SweepWorkerRole": {"s3:PutObject"},
        "MergeSweepRole": {"s3:GetObject", "s3:PutObject"},
    },
    merged_key(RUN): {"MergeSweepRole": {"s3:GetObject", "s3:PutObject"}},
    LATEST_KEY: {
        "MergeSweepRole": {"s3:GetObject", "s3:PutObject"},
        "WeeklyReportRole": {"s3:GetObject"},
    },
    "sweeps/map-results/abc/manifest.json": {"MergeSweepRole": {"s3:GetObject", "s3:PutObject"}},
    "reports/2026-11-30/modeshift-report.json": {"WeeklyReportRole": {"s3:GetObject", "s3:PutObject"}},
}


@pytest.mark.parametrize("key", sorted(S3_ACCESS))
def test_template_report_bucket_objects_are_reached_only_by_the_roles_that_need_them(
    template: dict[str, Any], key: str
) -> None:
    refs = StackRefs(template, physical={"ReportBucket": BUCKET})
    secure = {"aws:SecureTransport": ["true"]}
    for role in ("SweepWorkerRole", "MergeSweepRole", "WeeklyReportRole", "AnalyzeFleetRole"):
        documents = role_policy_documents(template, role, refs)
        allowed = {
            action
            for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
            if decide(documents, action, f"arn:aws:s3:::{BUCKET}/{key}", secure)
        }
        assert allowed == S3_ACCESS[key].get(role, set()), role
        # S3 answers a missing object with 404 only to who may list its prefix (else 403): the merge must tell a
        # worker that wrote nothing from a denial. S3 evaluates s3:prefix as the object's key there.
        listing = decide(documents, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}", {**secure, "s3:prefix": [key]})
        assert listing == (role == "MergeSweepRole" and key.startswith("sweeps/")), role


def test_template_report_link_lasts_a_day(template: dict[str, Any]) -> None:
    variables = functions(template)["WeeklyReportFunction"]["Environment"]["Variables"]
    assert int(variables["MODESHIFT_REPORT_LINK_EXPIRY_SECONDS"]) == 24 * 3600


# ---------------------------------------------------------------- the deployment guide's permission tables


def _readme_section(heading: str) -> str:
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n#", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def _actions_in(text: str, *, bare_names: bool = False) -> set[str]:
    """`service:Action` tokens; with `bare_names` (a table's action cell) a bare `Action` takes the last service."""
    actions, service = set(), None
    for token in re.findall(r"`([^`]+)`", text):
        if re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", token):
            service = token.partition(":")[0]
            actions.add(token)
        elif bare_names and service and re.fullmatch(r"[A-Z][A-Za-z0-9]+", token):
            actions.add(f"{service}:{token}")
    return actions


def readme_permission_tables() -> dict[str, set[str]]:
    """Each role named by a paragraph that introduces a table ("`XRole` (…):", "`XRole` and `YRole` (…):"),
    with the actions in the first column of the table that follows."""
    tables: dict[str, set[str]] = {}
    introduced: list[str] = []
    for block in _readme_section("## Permissions, and why").split("\n\n"):
        block = block.strip()
        if re.match(r"`\w+Role`", block) and block.endswith(":"):
            introduced = re.findall(r"`(\w+Role)`", block.partition("(")[0])
        elif block.startswith("| actions") and introduced:
            rows = block.splitlines()[2:]  # past the header and the |---| line
            for role in introduced:
                tables[role] = set().union(*(_actions_in(row.split("|")[1], bare_names=True) for row in rows))
            introduced = []
    return tables


def test_readme_permission_tables_list_exactly_each_roles_actions() -> None:
    template = load_template(SOURCE_TEMPLATE)
    documented = readme_permission_tables()
    assert set(documented) == set(roles(template)), "a role without a table, or a table without a role"
    for role in roles(template):
        granted = role_actions(template, role)
        assert documented[role] == granted, (
            f"{role}: README only {sorted(documented[role] - granted)}, "
            f"template only {sorted(granted - documented[role])}"
        )


def test_cli_policy_is_the_analysis_the_weekly_report_role_may_run() -> None:
    """`modeshift analyze` runs weekly_report's analysis: docs/cli-policy.json (linked from the README) holds that
    role's reads but the two the README adds only with a setting (the Price List API, the task ledger)."""
    template = load_template(SOURCE_TEMPLATE)
    policy = json.loads((ROOT / "docs" / "cli-policy.json").read_text(encoding="utf-8"))
    cli = {action for statement in policy["Statement"] for action in as_list(statement["Action"])}
    analysis = {
        a
        for a in role_actions(template, "WeeklyReportRole")
        if a.partition(":")[0] in {"ecs", "ec2", "cloudwatch", "pricing", "dynamodb"}
    }
    assert analysis - cli == {"pricing:GetProducts", "dynamodb:Query"}
    assert cli <= analysis


def test_template_change_rule_matches_the_recorded_cloudtrail_calls_and_only_ecs_writes(
    template: dict[str, Any],
) -> None:
    (event,) = functions(template)["RecordChangesFunction"]["Events"].values()
    pattern = event["Properties"]["Pattern"]
    for name in ("cloudtrail_ecs_update_service_capacity_provider", "cloudtrail_ecs_update_service_task_definition"):
        sample = load_event(name)
        assert sample["source"] in pattern["source"] and sample["detail-type"] in pattern["detail-type"]
        assert sample["detail"]["eventSource"] in pattern["detail"]["eventSource"]
        assert sample["detail"]["eventName"] in pattern["detail"]["eventName"]
    assert sorted(pattern["detail"]["eventName"]) == ["CreateService", "PutClusterCapacityProviders", "UpdateService"]
    dlq = template["Resources"]["EventDeliveryDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert {"Fn::GetAtt": ["RecordChangesFunctionEcsChanges", "Arn"]} in dlq["Condition"]["ArnEquals"]["aws:SourceArn"]
