"""Feasibility verdicts for AWS-documented task definitions read through the ECS adapter, and for every other rule.

Each documented definition (tests/fixtures/aws_responses/ecs) is answered to DescribeTaskDefinition through
botocore's Stubber and read by EcsInventoryReader's public path, `read_cluster(extra_families=[FAMILY])`, which
describes the family's latest revision; `assess_feasibility` then judges the TaskDefinitionInfo it produced.
Rules no document triggers are exercised with hand-built FeasibilityFacts, and the candidate-scope rules (the
architecture or size a candidate runs at) through `candidate_feasibility`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from modeshift.adapters.ecs import EcsInventoryReader
from modeshift.domain.feasibility import (
    RULES,
    FeasibilityFacts,
    ModeFeasibility,
    assess_feasibility,
    candidate_feasibility,
)
from modeshift.domain.models import RECOMMENDABLE_MODES, Architecture, LaunchMode, TaskDefinitionInfo, TaskSize
from tests.fixtures.recorded import answer
from tests.fixtures.recorded import response as _document

# Any cluster will do for reading a standalone family: compose-x's recording has only Fargate providers, so
# the reader makes no DescribeCapacityProviders call.
CLUSTER = "DescribeClusters-composex-default-capacity-provider-strategy.json"

EC2, FARGATE, SPOT, EXTERNAL = LaunchMode.EC2, LaunchMode.FARGATE, LaunchMode.FARGATE_SPOT, LaunchMode.EXTERNAL
MI = LaunchMode.MANAGED_INSTANCES


def _as_described(name: str) -> tuple[str, dict[str, Any]]:
    """(family to read, DescribeTaskDefinition answer) for a fixture.

    A RegisterTaskDefinition input gets only the identity AWS assigns on registration, a `taskDefinitionArn`
    (placeholder account) and `revision` 1; not the `compatibilities`, `status` or `requiresAttributes` AWS
    also fills in, which would be guesses. Its request-level `tags` are left out: DescribeTaskDefinition
    returns tags only when asked with include=TAGS, which the reader does not ask (only the template has tags,
    and its placeholder key "" is one the service model rejects: Tag.key has a minimum length of 1). The
    template's family is "": it is read under the name "template", because the reader skips empty families.
    """
    response = _document(name)
    if not name.startswith("RegisterTaskDefinition-input-"):
        return str(response["taskDefinition"]["family"]), response
    response.pop("tags", None)
    family = response["family"] or "template"
    arn = f"arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:1"
    return family, {"taskDefinition": {**response, "taskDefinitionArn": arn, "revision": 1}}


def _read(name: str) -> TaskDefinitionInfo:
    """The fixture's task definition as EcsInventoryReader reads it (read_cluster, a standalone family)."""
    family, described = _as_described(name)
    ecs = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    ec2 = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    cluster = _document(CLUSTER)
    with Stubber(ecs) as stub:
        stub.add_response("describe_clusters", cluster)
        stub.add_response("list_container_instances", {"containerInstanceArns": []})
        stub.add_response("list_services", {"serviceArns": []})
        stub.add_response("list_tasks", {"taskArns": []})
        answer(stub, ecs, "describe_task_definition", described, {"taskDefinition": family})
        reader = EcsInventoryReader(ecs, ec2)
        inventory = reader.read_cluster(cluster["clusters"][0]["clusterName"], extra_families=[family])
        stub.assert_no_pending_responses()
    assert reader.warnings == []
    (standalone,) = inventory.standalone_families
    return standalone.task_definition


def _assess(td: TaskDefinitionInfo, current: LaunchMode, **facts: Any) -> dict[LaunchMode, ModeFeasibility]:
    return assess_feasibility(
        FeasibilityFacts(task_definition=td, size=facts.pop("size", td.size()), current_mode=current, **facts)
    )


# --------------------------------------------------------------------------- documented task definitions

_FARGATE_CHANGES_BRIDGE = ("network_mode_awsvpc", "task_level_size", "requires_compatibilities_fargate")
# No documented definition lists MANAGED_INSTANCES in requiresCompatibilities, and FeasibilityFacts says the
# cluster has no Managed Instances capacity provider unless told: every Managed Instances verdict needs both.
_MI_CHANGES = ("requires_compatibilities_managed_instances", "managed_instances_capacity_provider")
_MI_CHANGES_BRIDGE = ("network_mode_awsvpc", *_MI_CHANGES)

# fixture → (mode it runs on today, {assessed mode: (blockers, changes)}) in RULES order.
# Definitions meant for EC2 (or documented without a mode) are judged as running on EC2 today, so both Fargate
# modes and Managed Instances are assessed; ECS Anywhere ones as running on EXTERNAL.
# GPU, devices, capabilities, host volumes and host networking block Fargate only: Managed Instances are EC2
# instances, which offer them.
DOCUMENTED: dict[str, tuple[LaunchMode, Mapping[LaunchMode, tuple[tuple[str, ...], tuple[str, ...]]]]] = {
    # devguide ecs-gpu.md: a container asks for 2 GPUs; no networkMode (bridge), no requiresCompatibilities.
    "RegisterTaskDefinition-input-devguide-gpu.json": (
        EC2,
        {
            FARGATE: (("gpu",), _FARGATE_CHANGES_BRIDGE),
            SPOT: (("gpu",), _FARGATE_CHANGES_BRIDGE),
            MI: ((), _MI_CHANGES_BRIDGE),
        },
    ),
    # devguide ecs-inference.md: /dev/neuron0 device, capabilities.add IPC_LOCK, instance-type placement, bridge.
    "RegisterTaskDefinition-input-devguide-inferentia-devices-ipc-lock.json": (
        EC2,
        {
            mode: (
                ("linux_devices", "linux_capabilities"),
                (
                    "network_mode_awsvpc",
                    "drop_placement_constraints",
                    "task_level_size",
                    "requires_compatibilities_fargate",
                ),
            )
            for mode in (FARGATE, SPOT)
        }
        | {MI: ((), _MI_CHANGES_BRIDGE)},
    ),
    # devguide ecs-dl1.md: host network, placement constraints, task-level 10240 CPU units / 1024 MiB.
    "RegisterTaskDefinition-input-devguide-dl1-host-network.json": (
        EC2,
        {
            mode: (("host_network",), ("drop_placement_constraints", "requires_compatibilities_fargate"))
            for mode in (FARGATE, SPOT)
        }
        | {MI: ((), _MI_CHANGES)},
    ),
    # devguide ecs-vt1.md: /dev/dri devices, a host sourcePath volume, placement constraints.
    "RegisterTaskDefinition-input-devguide-vt1-devices.json": (
        EC2,
        {
            mode: (
                ("linux_devices", "host_volume"),
                (
                    "network_mode_awsvpc",
                    "drop_placement_constraints",
                    "task_level_size",
                    "requires_compatibilities_fargate",
                ),
            )
            for mode in (FARGATE, SPOT)
        }
        | {MI: ((), _MI_CHANGES_BRIDGE)},
    ),
    # cloud-custodian recording: networkMode host, compatibilities ["EC2"].
    "DescribeTaskDefinition-c7n-host-network-ec2-only.json": (
        EC2,
        {mode: (("host_network",), ("task_level_size", "requires_compatibilities_fargate")) for mode in (FARGATE, SPOT)}
        | {MI: ((), _MI_CHANGES)},
    ),
    # awscli describe-task-definition.rst: links between containers, default bridge; changes only, no blocker.
    "DescribeTaskDefinition-awscli-links-hostport-ec2-external.json": (
        EC2,
        {
            mode: (
                (),
                ("network_mode_awsvpc", "drop_container_links", "task_level_size", "requires_compatibilities_fargate"),
            )
            for mode in (FARGATE, SPOT)
        }
        | {MI: ((), _MI_CHANGES_BRIDGE)},
    ),
    # botocore examples-1.json: the same definition in the old response shape (no compatibilities, no networkMode).
    "DescribeTaskDefinition-botocore-links-hostport-legacy.json": (
        EC2,
        {
            mode: (
                (),
                ("network_mode_awsvpc", "drop_container_links", "task_level_size", "requires_compatibilities_fargate"),
            )
            for mode in (FARGATE, SPOT)
        }
        | {MI: ((), _MI_CHANGES_BRIDGE)},
    ),
    # devguide example_task_definitions.md: Windows Server 2019 on Fargate. Fargate runs it; Fargate Spot and
    # Managed Instances run Linux only.
    "RegisterTaskDefinition-input-devguide-windows-fargate.json": (
        EC2,
        {
            FARGATE: ((), ()),
            SPOT: (("windows_fargate_spot",), ()),
            MI: (("windows_managed_instances",), _MI_CHANGES),
        },
    ),
    # devguide ecs-arm64.md: ARM64 Fargate definition, awsvpc, task-level size, no platform version pinned.
    "RegisterTaskDefinition-input-devguide-arm64-fargate.json": (
        EC2,
        {FARGATE: ((), ()), SPOT: ((), ()), MI: ((), _MI_CHANGES)},
    ),
    # devguide ecs-anywhere-runtask.md: EXTERNAL-only bridge definitions. On ECS Anywhere, nothing else is weighed.
    "RegisterTaskDefinition-input-devguide-anywhere-bridge.json": (
        EXTERNAL,
        {
            EC2: (("external_launch_type",), ()),
            FARGATE: (("external_launch_type",), _FARGATE_CHANGES_BRIDGE),
            SPOT: (("external_launch_type",), _FARGATE_CHANGES_BRIDGE),
            MI: (("external_launch_type",), _MI_CHANGES_BRIDGE),
        },
    ),
    # The Windows IIS image of the same page; it has no runtimePlatform, so nothing in it says Windows and it is
    # read as Linux (no windows_* rule fires).
    "RegisterTaskDefinition-input-devguide-anywhere-windows.json": (
        EXTERNAL,
        {
            EC2: (("external_launch_type",), ()),
            FARGATE: (("external_launch_type",), _FARGATE_CHANGES_BRIDGE),
            SPOT: (("external_launch_type",), _FARGATE_CHANGES_BRIDGE),
            MI: (("external_launch_type",), _MI_CHANGES_BRIDGE),
        },
    ),
}


@pytest.mark.parametrize(("fixture", "case"), DOCUMENTED.items(), ids=list(DOCUMENTED))
def test_feasibility_blocks_and_changes_as_documented_when_definition_read_through_adapter(fixture, case):
    current, expected = case
    td = _read(fixture)

    verdicts = _assess(td, current)

    assert {mode: (v.blockers, v.changes_needed) for mode, v in verdicts.items() if mode is not current} == expected
    assert {mode: v.ok for mode, v in verdicts.items() if mode is not current} == {
        mode: not blockers for mode, (blockers, _) in expected.items()
    }


@pytest.mark.parametrize(
    ("fixture", "facts"),
    [
        ("RegisterTaskDefinition-input-devguide-gpu.json", {"gpu_count": 2, "network_mode": None}),
        (
            "RegisterTaskDefinition-input-devguide-inferentia-devices-ipc-lock.json",
            {"capabilities_added": ("IPC_LOCK",), "placement_constraints": ("memberOf", "memberOf")},
        ),
        (
            "RegisterTaskDefinition-input-devguide-dl1-host-network.json",
            {"network_mode": "host", "task_cpu_units": 10240, "task_memory_mib": 1024},
        ),
        ("RegisterTaskDefinition-input-devguide-vt1-devices.json", {"volume_kinds": ("host",)}),
        (
            "DescribeTaskDefinition-c7n-host-network-ec2-only.json",
            {"compatibilities": ("EC2",), "requires_compatibilities": ()},
        ),
        (
            "RegisterTaskDefinition-input-devguide-windows-fargate.json",
            {"os_family": "WINDOWS_SERVER_2019_CORE", "network_mode": "awsvpc"},
        ),
        ("RegisterTaskDefinition-input-devguide-arm64-fargate.json", {"architecture": Architecture.ARM64}),
        ("RegisterTaskDefinition-input-devguide-anywhere-windows.json", {"os_family": "LINUX"}),
        (
            "RegisterTaskDefinition-input-devguide-template-all-fields.json",
            {"ipc_mode": "task", "pid_mode": "task", "network_mode": "none", "volume_kinds": ("docker",)},
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_task_definition_facts_are_read_when_documented_definition_described(fixture, facts):
    td = _read(fixture)

    assert {field: getattr(td, field) for field in facts} == facts


def test_inferentia_definition_names_device_and_capability_parameters_when_read():
    """devguide ecs-inference.md: the facts the linux_devices and linux_capabilities rules are written against."""
    td = _read("RegisterTaskDefinition-input-devguide-inferentia-devices-ipc-lock.json")

    assert {"linuxParameters.devices", "linuxParameters.capabilities"} <= set(td.container_parameters)


def test_all_fields_template_is_blocked_by_privileged_docker_volume_and_accelerator_when_placeholders_truthy():
    """devguide task-definition-template.md, the empty all-fields template. Its placeholders that matter here are
    truthy: `privileged: true`, a dockerVolumeConfiguration with scope "shared" and autoprovision true, one
    inferenceAccelerators entry plus a container InferenceAccelerator resourceRequirement."""
    td = _read("RegisterTaskDefinition-input-devguide-template-all-fields.json")

    verdicts = _assess(td, EC2)

    assert td.inference_accelerator_count > 0
    for mode in (FARGATE, SPOT):
        assert {"privileged", "docker_volume", "gpu"} <= set(verdicts[mode].blockers)
        assert verdicts[mode].ok is False
    # WINDOWS_SERVER_20H2_CORE: a Windows version Fargate does not run, and Fargate Spot runs no Windows at all.
    assert "windows_version_unsupported" in verdicts[FARGATE].blockers
    assert "windows_fargate_spot" not in verdicts[FARGATE].blockers
    assert "windows_fargate_spot" in verdicts[SPOT].blockers
    # Managed Instances take privileged containers, Docker volumes and accelerators; only Windows blocks them.
    assert verdicts[MI].blockers == ("windows_managed_instances",)


# --------------------------------------------------------------------------- rules no document covers

# What no mode-scope rule objects to (on a cluster with a Managed Instances capacity provider): an awsvpc Linux
# definition for EC2, Fargate and Managed Instances, with a valid Fargate task size.
PLAIN = TaskDefinitionInfo(
    arn="arn:aws:ecs:us-east-1:123456789012:task-definition/plain:1",
    family="plain",
    revision=1,
    task_cpu_units=1024,
    task_memory_mib=2048,
    network_mode="awsvpc",
    requires_compatibilities=("EC2", "FARGATE", "MANAGED_INSTANCES"),
    compatibilities=("EC2", "FARGATE", "MANAGED_INSTANCES"),
)
ARM = {"architecture": Architecture.ARM64}
WINDOWS = {"os_family": "WINDOWS_SERVER_2022_CORE"}
MI_PROVIDER = {"cluster_has_managed_instances_provider": True}
FARGATE_MODES = frozenset({FARGATE, SPOT})
NOT_EC2 = frozenset({FARGATE, SPOT, MI})
EC2_ONLY = frozenset({EC2})
MI_ONLY = frozenset({MI})
ALL_MODES = frozenset(RECOMMENDABLE_MODES)


def _params(*names: str) -> dict[str, Any]:
    return {"container_parameters": names}


def test_plain_definition_is_ok_everywhere_with_no_change_when_no_rule_applies():
    verdicts = _assess(PLAIN, EC2, **MI_PROVIDER)

    assert set(verdicts) == {EC2, FARGATE, SPOT, MI}
    assert verdicts == {mode: ModeFeasibility(ok=True) for mode in RECOMMENDABLE_MODES}


def test_managed_instances_stay_open_when_only_fargate_blockers_fire():
    """Managed Instances run on EC2 instances: GPUs, privileged containers, devices, host volumes, IPC/PID modes
    and tasks above Fargate's largest size block both Fargate modes but not them."""
    td = PLAIN.model_copy(
        update={
            "gpu_count": 1,
            "container_parameters": ("privileged", "linuxParameters.devices", "extraHosts", "dnsServers"),
            "capabilities_added": ("SYS_ADMIN",),
            "volume_kinds": ("docker", "host"),
            "ipc_mode": "host",
            "pid_mode": "host",
            "task_cpu_units": 32 * 1024,
            "task_memory_mib": 240 * 1024,
        }
    )

    verdicts = _assess(td, EC2, **MI_PROVIDER)

    assert verdicts[MI] == ModeFeasibility(ok=True)
    assert not verdicts[FARGATE].ok and not verdicts[SPOT].ok


def _hit(
    code: str,
    kind: str,
    td: dict[str, Any],
    facts: dict[str, Any],
    current: LaunchMode,
    modes: frozenset[LaunchMode],
    label: str,
) -> Any:
    return pytest.param(code, kind, td, facts, current, modes, id=f"{code}-{label}")


# (code, kind, definition changes, facts changes, current mode, the modes it must hit)
HAND_BUILT = [
    _hit("ipc_mode", "blocker", {"ipc_mode": "host"}, {}, EC2, FARGATE_MODES, "host"),
    _hit("ipc_mode", "blocker", {"ipc_mode": "task"}, {}, EC2, FARGATE_MODES, "task"),
    _hit("pid_mode_host", "blocker", {"pid_mode": "host"}, {}, EC2, FARGATE_MODES, "host"),
    _hit("shared_memory_size", "blocker", _params("linuxParameters.sharedMemorySize"), {}, EC2, FARGATE_MODES, "set"),
    _hit("tmpfs", "blocker", _params("linuxParameters.tmpfs"), {}, EC2, FARGATE_MODES, "set"),
    _hit("swap", "blocker", _params("linuxParameters.maxSwap"), {}, EC2, FARGATE_MODES, "maxSwap"),
    _hit("swap", "blocker", _params("linuxParameters.swappiness"), {}, EC2, FARGATE_MODES, "swappiness"),
    _hit("extra_hosts", "blocker", _params("extraHosts"), {}, EC2, FARGATE_MODES, "set"),
    _hit("dns_settings", "blocker", _params("dnsServers"), {}, EC2, FARGATE_MODES, "dnsServers"),
    _hit("dns_settings", "blocker", _params("dnsSearchDomains"), {}, EC2, FARGATE_MODES, "dnsSearchDomains"),
    _hit("docker_security_options", "blocker", _params("dockerSecurityOptions"), {}, EC2, FARGATE_MODES, "set"),
    _hit("disable_networking", "blocker", _params("disableNetworking"), {}, EC2, FARGATE_MODES, "set"),
    _hit("host_volume", "blocker", {"volume_kinds": ("host",)}, {}, EC2, FARGATE_MODES, "sourcePath"),
    # 16 vCPU + 1 CPU unit, and 120 GiB + 1 MiB: one unit past Fargate's largest task.
    _hit("task_size_exceeds_fargate", "blocker", {"task_cpu_units": 16 * 1024 + 1}, {}, EC2, FARGATE_MODES, "cpu"),
    _hit("task_size_exceeds_fargate", "blocker", {"task_memory_mib": 120 * 1024 + 1}, {}, EC2, FARGATE_MODES, "memory"),
    _hit("daemon_scheduling", "blocker", {}, {"daemon": True}, EC2, NOT_EC2, "daemon"),
    _hit("external_launch_type", "blocker", {}, {}, EXTERNAL, ALL_MODES, "on-external"),
    # Fargate-only blockers: Managed Instances (EC2 instances) offer GPUs, privileged mode and host networking
    _hit("gpu", "blocker", {"gpu_count": 1}, {}, EC2, FARGATE_MODES, "gpu"),
    _hit("privileged", "blocker", _params("privileged"), {}, EC2, FARGATE_MODES, "set"),
    _hit("host_network", "blocker", {"network_mode": "host"}, {}, EC2, FARGATE_MODES, "host"),
    _hit("windows_managed_instances", "blocker", WINDOWS, {}, EC2, MI_ONLY, "windows-2022"),
    _hit("network_mode_awsvpc", "change", {"network_mode": "bridge"}, {}, EC2, NOT_EC2, "bridge"),
    # Managed Instances accept networkMode none (AWS: ManagedInstancesNetworkConfiguration); Fargate does not
    _hit("network_mode_awsvpc", "change", {"network_mode": "none"}, {}, EC2, FARGATE_MODES, "none"),
    _hit("network_mode_awsvpc", "change", {"network_mode": None}, {}, EC2, NOT_EC2, "unset"),
    _hit(
        "requires_compatibilities_managed_instances",
        "change",
        {"requires_compatibilities": ("EC2", "FARGATE")},
        MI_PROVIDER,
        EC2,
        MI_ONLY,
        "ec2-fargate",
    ),
    _hit(
        "managed_instances_capacity_provider",
        "change",
        {},
        {"cluster_has_managed_instances_provider": False},
        FARGATE,
        MI_ONLY,
        "none",
    ),
    _hit(
        "ec2_capacity_provider", "change", {}, {"cluster_has_ec2_capacity_provider": False}, FARGATE, EC2_ONLY, "none"
    ),
    _hit("requires_compatibilities_ec2", "change", {"compatibilities": ("FARGATE",)}, {}, FARGATE, EC2_ONLY, "fargate"),
    _hit("platform_version_1_4", "change", ARM, {"platform_version": "1.3.0"}, EC2, FARGATE_MODES, "arm64-1.3.0"),
]


def _silent(code: str, td: dict[str, Any], facts: dict[str, Any], current: LaunchMode, label: str) -> Any:
    return pytest.param(code, td, facts, current, id=f"{code}-{label}")


# (code, definition changes, facts changes, current mode): just short of the trigger, where the rule stays silent.
HAND_BUILT_SILENT = [
    _silent("pid_mode_host", {"pid_mode": "task"}, {}, EC2, "task"),
    _silent(
        "task_size_exceeds_fargate", {"task_cpu_units": 16 * 1024, "task_memory_mib": 120 * 1024}, {}, EC2, "at-limits"
    ),
    _silent("daemon_scheduling", {}, {"daemon": False}, EC2, "replica"),
    _silent("windows_managed_instances", {"os_family": "LINUX"}, {}, EC2, "linux"),
    _silent("network_mode_awsvpc", {"network_mode": "awsvpc"}, {}, EC2, "awsvpc"),
    _silent("network_mode_awsvpc", {"network_mode": "host"}, {}, EC2, "host"),
    _silent("requires_compatibilities_managed_instances", {}, {}, EC2, "listed"),
    _silent("managed_instances_capacity_provider", {}, MI_PROVIDER, FARGATE, "present"),
    _silent("ec2_capacity_provider", {}, {"cluster_has_ec2_capacity_provider": True}, FARGATE, "present"),
    _silent("requires_compatibilities_ec2", {"compatibilities": ()}, {}, FARGATE, "not-reported"),
    _silent("platform_version_1_4", ARM, {"platform_version": "LATEST"}, EC2, "arm64-LATEST"),
    _silent("platform_version_1_4", ARM, {"platform_version": "1.4.0"}, EC2, "arm64-1.4.0"),
    _silent("platform_version_1_4", ARM, {"platform_version": None}, EC2, "arm64-unpinned"),
    _silent("platform_version_1_4", {}, {"platform_version": "1.3.0"}, EC2, "x86_64-1.3.0"),
]


@pytest.mark.parametrize(("code", "kind", "td_changes", "fact_changes", "current", "modes"), HAND_BUILT)
def test_rule_hits_exactly_its_modes_when_its_trigger_is_present(code, kind, td_changes, fact_changes, current, modes):
    td = PLAIN.model_copy(update=td_changes)

    verdicts = _assess(td, current, **fact_changes)

    for mode in RECOMMENDABLE_MODES:
        if mode is current:
            continue
        listed = verdicts[mode].blockers if kind == "blocker" else verdicts[mode].changes_needed
        assert (code in listed) is (mode in modes), f"{code} on {mode.value}: {verdicts[mode]}"
        if kind == "blocker" and mode in modes:
            assert verdicts[mode].ok is False


@pytest.mark.parametrize(("code", "td_changes", "fact_changes", "current"), HAND_BUILT_SILENT)
def test_rule_stays_silent_when_its_trigger_is_just_absent(code, td_changes, fact_changes, current):
    td = PLAIN.model_copy(update=td_changes)

    verdicts = _assess(td, current, **fact_changes)

    for mode, verdict in verdicts.items():
        assert code not in verdict.blockers + verdict.changes_needed, f"{code} on {mode.value}: {verdict}"


def test_every_rule_is_exercised_when_documents_and_hand_built_cases_are_combined():
    """A rule added to RULES without a case here fails this test, not silently."""
    documented = {
        code
        for _, expected in DOCUMENTED.values()
        for blockers, changes in expected.values()
        for code in blockers + changes
    }
    # The all-fields template test covers these three.
    template = {"privileged", "docker_volume", "windows_version_unsupported"}
    hand_built = {case.values[0] for case in HAND_BUILT}
    candidate = {code for case in CANDIDATES for code in case.values[-1]}

    assert {rule.code for rule in RULES if rule.scope == "mode"} <= documented | template | hand_built
    assert {rule.code for rule in RULES if rule.scope == "candidate"} <= candidate
    assert {rule.code for rule in RULES} <= documented | template | hand_built | candidate


# --------------------------------------------------------------------------- candidate shapes

TODAY = TaskSize(cpu_units=1024, memory_mib=2048)
SMALLER = TaskSize(cpu_units=512, memory_mib=1024)
X86_64, ARM64 = Architecture.X86_64, Architecture.ARM64


def _candidate(
    td: dict[str, Any], architecture: Architecture, size: TaskSize | None, fired: tuple[str, ...], label: str
) -> Any:
    return pytest.param(td, architecture, size, fired, id=label)


# (definition changes, candidate architecture, candidate size, candidate-scope codes it must add) on PLAIN,
# whose size today is TODAY.
CANDIDATES = [
    _candidate({}, X86_64, TODAY, (), "x86-def-x86-same-size"),
    _candidate({}, X86_64, None, (), "x86-def-x86-size-unknown"),
    _candidate({}, ARM64, TODAY, ("arm64_image",), "x86-def-arm64"),
    _candidate(ARM, ARM64, TODAY, (), "arm64-def-arm64"),
    _candidate(ARM, X86_64, TODAY, (), "arm64-def-x86"),
    _candidate(WINDOWS, X86_64, TODAY, (), "windows-x86"),
    _candidate(WINDOWS, ARM64, TODAY, ("windows_arm64", "arm64_image"), "windows-arm64"),
    _candidate({}, X86_64, SMALLER, ("task_size",), "x86-smaller"),
    _candidate({}, X86_64, TaskSize(cpu_units=1024, memory_mib=3072), ("task_size",), "x86-more-memory"),
    _candidate({}, ARM64, SMALLER, ("arm64_image", "task_size"), "x86-def-arm64-smaller"),
]
_CANDIDATE_BLOCKERS = {rule.code for rule in RULES if rule.scope == "candidate" and rule.kind == "blocker"}


@pytest.mark.parametrize(("td_changes", "architecture", "size", "fired"), CANDIDATES)
@pytest.mark.parametrize("mode", RECOMMENDABLE_MODES, ids=[mode.value for mode in RECOMMENDABLE_MODES])
def test_candidate_adds_its_shape_rules_to_its_mode_verdict_when_assessed(mode, td_changes, architecture, size, fired):
    td = PLAIN.model_copy(update=td_changes)
    facts = FeasibilityFacts(task_definition=td, size=td.size(), current_mode=EC2, **MI_PROVIDER)
    by_mode = assess_feasibility(facts)

    verdict = candidate_feasibility(facts, by_mode, mode, architecture, size)

    blockers = tuple(code for code in fired if code in _CANDIDATE_BLOCKERS)
    changes = tuple(code for code in fired if code not in _CANDIDATE_BLOCKERS)
    assert verdict.blockers == by_mode[mode].blockers + blockers
    assert verdict.changes_needed == by_mode[mode].changes_needed + changes
    assert verdict.ok is (not verdict.blockers)


def test_candidate_verdict_is_its_mode_verdict_plus_what_its_shape_needs_when_assessed():
    """A candidate at today's shape is exactly its mode's verdict (blockers included); another shape adds to it."""
    td = PLAIN.model_copy(update={"network_mode": "bridge", "gpu_count": 1})
    facts = FeasibilityFacts(task_definition=td, size=td.size(), current_mode=EC2)
    by_mode = assess_feasibility(facts)

    fargate = candidate_feasibility(facts, by_mode, FARGATE, X86_64, TODAY)
    managed = candidate_feasibility(facts, by_mode, MI, ARM64, SMALLER)

    assert fargate == by_mode[FARGATE]
    assert fargate.ok is False
    assert managed.ok is True
    assert managed.changes_needed == (
        "network_mode_awsvpc",
        "managed_instances_capacity_provider",
        "arm64_image",
        "task_size",
    )


def test_assess_feasibility_ignores_candidate_rules_when_facts_name_a_target_shape():
    """Candidate-scope rules belong to `candidate_feasibility`; the per-mode verdict never carries them."""
    td = PLAIN.model_copy(update=WINDOWS)
    facts = FeasibilityFacts(
        task_definition=td,
        size=td.size(),
        current_mode=EC2,
        target_architecture=ARM64,
        target_size=SMALLER,
        **MI_PROVIDER,
    )

    verdicts = assess_feasibility(facts)

    candidate_codes = {rule.code for rule in RULES if rule.scope == "candidate"}
    for mode, verdict in verdicts.items():
        assert not candidate_codes & set(verdict.blockers + verdict.changes_needed), mode


# --------------------------------------------------------------------------- the current mode


# Every trigger at once, so every rule fires against the modes it affects.
EVERYTHING = PLAIN.model_copy(
    update={
        "network_mode": "host",
        "ipc_mode": "host",
        "pid_mode": "host",
        "placement_constraints": ("memberOf",),
        "gpu_count": 1,
        "container_parameters": ("links", "privileged", "linuxParameters.devices", "extraHosts"),
        "capabilities_added": ("SYS_ADMIN",),
        "volume_kinds": ("docker", "host"),
        "os_family": "WINDOWS_SERVER_2016_FULL",
        "architecture": Architecture.ARM64,
        "compatibilities": ("EXTERNAL",),
        "requires_compatibilities": ("EXTERNAL",),
    }
)


@pytest.mark.parametrize("current", RECOMMENDABLE_MODES, ids=[mode.value for mode in RECOMMENDABLE_MODES])
def test_current_mode_is_ok_with_no_change_when_every_rule_fires_elsewhere(current):
    verdicts = _assess(
        EVERYTHING,
        current,
        size=TaskSize(cpu_units=32 * 1024, memory_mib=240 * 1024, sized_from="containers"),
        daemon=True,
        platform_version="1.3.0",
        cluster_has_ec2_capacity_provider=False,
    )

    assert verdicts[current] == ModeFeasibility(ok=True, blockers=(), changes_needed=())
    others = [verdicts[mode] for mode in RECOMMENDABLE_MODES if mode is not current]
    assert all(verdict.blockers or verdict.changes_needed for verdict in others)
