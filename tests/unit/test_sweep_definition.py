"""statemachine/sweep.asl.json read statically: valid ASL, a Distributed Map of EXPRESS children, every resource a
reference to what template.yaml creates, and nothing the in-process runner (tests/fixtures/asl_runner.py) would not
execute — so what tests/integration/test_sweep.py runs is the whole definition.

The field lists are the Amazon States Language specification's (states-language.net/spec.html) plus the fields the
Step Functions Developer Guide adds for Distributed Map (ItemReader, ItemSelector, ItemBatcher, ItemProcessor,
ResultWriter, Label, MaxConcurrencyPath, ToleratedFailure*), JSONata (Arguments, Output, Assign, QueryLanguage)
and retriers (MaxDelaySeconds, JitterStrategy). A field outside them is a typo AWS would reject at deploy time.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from modeshift.app_sweep import SweepTarget, targets_key
from tests.fixtures.asl_runner import UnsupportedAsl, check_supported, load_definition
from tests.fixtures.cfn_yaml import CfnLoader

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = ROOT / "statemachine" / "sweep.asl.json"
TEMPLATE = ROOT / "template.yaml"
STATE_MACHINE = "SweepStateMachine"

_COMMON = {"Type", "Comment", "QueryLanguage", "Assign", "Output"}
_IO = {"InputPath", "OutputPath"}
_FLOW = {"Next", "End"}
STATE_FIELDS: dict[str, set[str]] = {
    "Task": _COMMON
    | _IO
    | _FLOW
    | {
        "Resource",
        "Parameters",
        "Arguments",
        "ResultPath",
        "ResultSelector",
        "Retry",
        "Catch",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
    },
    "Map": _COMMON
    | _IO
    | _FLOW
    | {
        "ItemProcessor",
        "Iterator",
        "ItemReader",
        "ItemSelector",
        "ItemBatcher",
        "ItemsPath",
        "Items",
        "Parameters",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "Label",
        "ResultWriter",
        "ResultPath",
        "ResultSelector",
        "Retry",
        "Catch",
    },
    "Pass": _COMMON | _IO | _FLOW | {"Parameters", "Result", "ResultPath"},
    "Wait": _COMMON | _IO | _FLOW | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Choice": _COMMON | _IO | {"Choices", "Default"},
    "Parallel": _COMMON
    | _IO
    | _FLOW
    | {"Branches", "Parameters", "Arguments", "ResultPath", "ResultSelector", "Retry", "Catch"},
    "Succeed": _COMMON | _IO,
    "Fail": {"Type", "Comment", "QueryLanguage", "Error", "ErrorPath", "Cause", "CausePath"},
}
MACHINE_FIELDS = {"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}
PROCESSOR_FIELDS = {"ProcessorConfig", "StartAt", "States", "Comment"}
PROCESSOR_CONFIG_FIELDS = {"Mode", "ExecutionType"}
RETRIER_FIELDS = {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy"}
CATCHER_FIELDS = {"ErrorEquals", "Next", "ResultPath", "Assign", "Output"}
ITEM_READER_FIELDS = {"Resource", "ReaderConfig", "Parameters", "Arguments"}
READER_CONFIG_FIELDS = {
    "InputType",
    "CSVHeaderLocation",
    "CSVHeaders",
    "CSVDelimiter",
    "MaxItems",
    "MaxItemsPath",
    "ManifestType",
}
RESULT_WRITER_FIELDS = {"Resource", "Parameters", "Arguments", "WriterConfig"}
# Error names a Retry or Catch may list without their being a function's own (ASL spec "Error names", plus the
# optimized Lambda integration's service errors from the Step Functions Developer Guide, "Handling errors").
LAMBDA_TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


def _definition_text() -> str:
    return DEFINITION.read_text()


def _definition() -> dict[str, Any]:
    return dict(json.loads(_definition_text()))


def _template() -> dict[str, Any]:
    return dict(yaml.load(TEMPLATE.read_text(), Loader=CfnLoader))


def _states(machine: dict[str, Any], where: str = "") -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Every state of the machine and of its Map processors: (qualified name, state, the machine it is in)."""
    found = []
    for name, state in machine["States"].items():
        found.append((f"{where}{name}", state, machine))
        if state.get("Type") == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator") or {}
            found += _states(processor, f"{where}{name}/")
    return found


def _substitutions() -> dict[str, Any]:
    resource = _template()["Resources"].get(STATE_MACHINE)
    assert resource is not None, f"template.yaml has no {STATE_MACHINE} resource"
    return dict(resource["Properties"]["DefinitionSubstitutions"])


def _referenced_resource(value: Any) -> str:
    """The logical id a substitution value names (`!GetAtt X.Arn` or `!Ref X`), or fail."""
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return str(value["Ref"])
    raise AssertionError(f"{value!r} is neither !GetAtt nor !Ref")


# --------------------------------------------------------------------------- ASL shape


def test_definition_is_a_json_object_with_only_state_machine_fields_when_parsed():
    definition = _definition()
    assert set(definition) <= MACHINE_FIELDS
    assert definition["StartAt"] in definition["States"]


def test_every_state_holds_only_fields_of_its_type_when_walked_recursively():
    for name, state, _ in _states(_definition()):
        kind = state.get("Type")
        assert kind in STATE_FIELDS, f"{name}: unknown state type {kind!r}"
        unknown = set(state) - STATE_FIELDS[kind]
        assert not unknown, f"{name} ({kind}): fields unknown to ASL: {sorted(unknown)}"
        for retrier in state.get("Retry", []):
            assert set(retrier) <= RETRIER_FIELDS, f"{name}: retrier fields {sorted(retrier)}"
            assert retrier["ErrorEquals"], f"{name}: a retrier with no error"
            assert retrier.get("MaxAttempts", 3) >= 0 and retrier.get("BackoffRate", 2.0) >= 1.0
        for catcher in state.get("Catch", []):
            assert set(catcher) <= CATCHER_FIELDS, f"{name}: catcher fields {sorted(catcher)}"
        for rule in (*state.get("Retry", []), *state.get("Catch", [])):
            if "States.ALL" in rule["ErrorEquals"]:
                assert rule["ErrorEquals"] == ["States.ALL"], f"{name}: States.ALL must stand alone"


def test_every_transition_names_a_state_of_its_own_machine_and_every_state_is_reachable():
    definition = _definition()
    machines = [definition] + [
        s["ItemProcessor"] for _, s, _ in _states(definition) if s.get("Type") == "Map" and "ItemProcessor" in s
    ]
    for machine in machines:
        states = machine["States"]
        reached, todo = set(), [machine["StartAt"]]
        while todo:
            name = todo.pop()
            if name in reached:
                continue
            assert name in states, f"transition to unknown state {name!r}"
            reached.add(name)
            state = states[name]
            assert ("Next" in state) != bool(state.get("End")), f"{name}: exactly one of Next and End:true"
            todo += [state["Next"]] if "Next" in state else []
            todo += [c["Next"] for c in state.get("Catch", [])]
        assert reached == set(states), f"unreachable states: {sorted(set(states) - reached)}"


def test_analysis_map_is_distributed_with_express_children_when_defined():
    maps = [(name, s) for name, s, _ in _states(_definition()) if s.get("Type") == "Map"]
    assert len(maps) == 1, "one fan-out map"
    name, state = maps[0]
    processor = state["ItemProcessor"]
    assert set(processor) <= PROCESSOR_FIELDS
    assert set(processor["ProcessorConfig"]) <= PROCESSOR_CONFIG_FIELDS
    assert processor["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    # The items come from S3 (no 256 KiB state payload of targets) and the results go back there.
    assert set(state["ItemReader"]) <= ITEM_READER_FIELDS
    assert set(state["ItemReader"]["ReaderConfig"]) <= READER_CONFIG_FIELDS
    assert state["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    assert state["ItemReader"]["ReaderConfig"]["InputType"] == "JSON"
    assert set(state["ResultWriter"]) <= RESULT_WRITER_FIELDS
    assert state["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    # Concurrency and failure tolerance are settings (handed over by the listing step), not constants.
    assert "MaxConcurrencyPath" in state and "ToleratedFailurePercentagePath" in state
    # A map that stops still goes to the merge: the clusters analysed are published, the rest are errors.
    catch_all = [c for c in state.get("Catch", []) if c["ErrorEquals"] == ["States.ALL"]]
    assert catch_all and catch_all[0]["Next"] == state["Next"], f"{name}: a stopped map must still merge"


def test_every_lambda_task_retries_transient_lambda_errors_only_when_defined():
    for name, state, _ in _states(_definition()):
        if state.get("Type") != "Task":
            continue
        errors = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
        # A function's own error (a crash) is not retried: it would crash again and hide the cause.
        assert errors == LAMBDA_TRANSIENT, f"{name}: retries {sorted(errors)}"


def test_runner_executes_every_field_of_the_definition_when_checked():
    check_supported(load_definition(DEFINITION, dict.fromkeys(_substitutions(), "x")))


def test_runner_refuses_a_definition_field_it_does_not_execute_when_checked():
    definition = load_definition(DEFINITION, dict.fromkeys(_substitutions(), "x"))
    definition["States"]["MergeAndPublish"]["TimeoutSeconds"] = 60
    with pytest.raises(UnsupportedAsl, match="TimeoutSeconds"):
        check_supported(definition)


# --------------------------------------------------------------------------- references into template.yaml


def test_every_placeholder_is_a_substitution_of_the_template_and_every_substitution_is_used():
    placeholders = set(re.findall(r"\$\{([^}]+)\}", _definition_text()))
    assert placeholders == set(_substitutions())


def handler_file(template: dict[str, Any], logical_id: str) -> Path:
    """The file a function's handler lives in (its CodeUri and Handler, or the template's Globals)."""
    properties = template["Resources"][logical_id]["Properties"]
    handler = properties.get("Handler") or template["Globals"]["Function"]["Handler"]
    return ROOT / properties["CodeUri"] / (handler.split(".")[0] + ".py")


def test_every_substitution_references_a_resource_of_the_template_when_loaded():
    template = _template()
    resources = template["Resources"]
    for name, value in _substitutions().items():
        logical_id = _referenced_resource(value)
        assert logical_id in resources, f"{name}: {logical_id} is not a resource of template.yaml"
        kind = resources[logical_id]["Type"]
        if name.endswith("FunctionArn"):
            assert value == {"Fn::GetAtt": [logical_id, "Arn"]} and kind == "AWS::Serverless::Function", name
            assert handler_file(template, logical_id).is_file(), f"{name}: no handler file"
        else:
            assert kind == "AWS::S3::Bucket" and value == {"Ref": logical_id}, name


def test_every_task_and_bucket_is_a_template_reference_never_a_literal_when_defined():
    for name, state, _ in _states(_definition()):
        if state.get("Type") == "Task":
            function = state["Parameters"]["FunctionName"]
            assert re.fullmatch(r"\$\{[A-Za-z]+FunctionArn\}", function), f"{name}: FunctionName {function!r}"
        writer = state.get("ResultWriter", {}).get("Parameters", {})
        if "Bucket" in writer:
            assert writer["Bucket"] == "${ReportBucket}", f"{name}: ResultWriter bucket {writer['Bucket']!r}"


def test_map_reads_and_writes_only_under_the_prefix_the_state_machine_role_may_use():
    template = _template()
    role = template["Resources"][STATE_MACHINE]["Properties"]["Role"]
    role_id = _referenced_resource(role)
    statements = [
        s
        for p in template["Resources"][role_id]["Properties"]["Policies"]
        for s in p["PolicyDocument"]["Statement"]
        if "s3:PutObject" in s["Action"] and "s3:GetObject" in s["Action"]
    ]
    assert len(statements) == 1
    resource = statements[0]["Resource"]
    pattern = resource["Fn::Sub"] if isinstance(resource, dict) else resource
    match = re.fullmatch(r"\$\{ReportBucket\.Arn\}/(.+)\*", pattern)
    assert match, f"the role's S3 resource {pattern!r} is not a prefix of the report bucket"
    prefix = match.group(1)
    state = next(s for _, s, _ in _states(_definition()) if s.get("Type") == "Map")
    writer = state["ResultWriter"]["Parameters"]
    # A literal Prefix, or one built per run with States.Format('<literal start>{}...', ...).
    written = writer.get("Prefix") or re.sub(r"^States\.Format\('([^{']*).*$", r"\1", writer.get("Prefix.$", ""))
    assert written.startswith(prefix), f"the map writes its results under {written!r}, outside {prefix!r}"
    assert targets_key("any-run").startswith(prefix)  # what the ItemReader is pointed at


def test_sweep_target_carries_the_cluster_name_when_the_clusters_setting_names_it_by_arn() -> None:
    by_arn = SweepTarget(
        account="123456789012", region="eu-west-1", cluster="arn:aws:ecs:eu-west-1:123456789012:cluster/shop"
    )

    assert by_arn.cluster == "shop"
    with pytest.raises(ValidationError):
        SweepTarget(account="123456789012", region="eu-west-1", cluster="shop/../../etc")
