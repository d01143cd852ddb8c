"""Which launch modes a workload can run on, and what must change first: rules from AWS's documented limits.

Feasibility comes before price: a mode with a blocker is never recommended, whatever it would save.
A mode that needs changes can be, and the changes travel with the verdict into its switch steps.
Each rule names the AWS documentation it comes from; the README's feasibility table is built from
`RULES` (tests keep the two equal).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from modeshift.domain.models import (
    RECOMMENDABLE_MODES,
    Architecture,
    LaunchMode,
    TaskDefinitionInfo,
    TaskSize,
)

FARGATE_MAX_CPU_UNITS = 16384
FARGATE_MAX_MEMORY_MIB = 120 * 1024
# Fargate runs Windows Server 2019 and 2022 (and later) containers; 2004/20H2 and 2016 do not run there.
_FARGATE_WINDOWS = ("WINDOWS_SERVER_2019_", "WINDOWS_SERVER_2022_", "WINDOWS_SERVER_2025_")
# The one Linux capability Fargate lets a container add.
_FARGATE_CAPABILITIES = frozenset({"SYS_PTRACE"})

# How the reason that keeps a workload where it is begins (readers of a verdict may look for it).
STAYS_ON = "stays on "

_FARGATE_MODES = frozenset({LaunchMode.FARGATE, LaunchMode.FARGATE_SPOT})
_SPOT_ONLY = frozenset({LaunchMode.FARGATE_SPOT})
_EC2_ONLY = frozenset({LaunchMode.EC2})
_MI_ONLY = frozenset({LaunchMode.MANAGED_INSTANCES})
_NOT_EC2 = frozenset({LaunchMode.FARGATE, LaunchMode.FARGATE_SPOT, LaunchMode.MANAGED_INSTANCES})
_ALL = frozenset(RECOMMENDABLE_MODES)

_DIFFERENCES = "AWS: Amazon ECS task definition differences for Fargate"
_FARGATE_SPOT_DOC = "AWS: Fargate capacity providers (Fargate Spot: Linux only)"
_MANAGED_INSTANCES_DOC = "AWS: Amazon ECS Managed Instances (task definition parameters, network configuration)"


@dataclass(frozen=True)
class FeasibilityFacts:
    """What the rules look at: the task definition, how the workload is scheduled, where it runs now."""

    task_definition: TaskDefinitionInfo
    size: TaskSize | None
    current_mode: LaunchMode
    daemon: bool = False
    service_placement_constraints: tuple[str, ...] = ()
    platform_version: str | None = None
    cluster_has_ec2_capacity_provider: bool = True
    cluster_has_managed_instances_provider: bool = False
    # for candidate-level rules (see `candidate_feasibility`): the shape a candidate would run at
    target_architecture: Architecture | None = None
    target_size: TaskSize | None = None

    def has(self, parameter: str) -> bool:
        return parameter in self.task_definition.container_parameters


@dataclass(frozen=True)
class Rule:
    """One documented constraint: what triggers it, which modes it blocks (or needs changed), in words."""

    code: str
    kind: Literal["blocker", "change"]
    modes: frozenset[LaunchMode]
    trigger: str
    words: str
    source: str
    applies: Callable[[FeasibilityFacts], bool]
    # "mode": decided by the mode alone; "candidate": by the architecture or size a candidate runs at
    scope: Literal["mode", "candidate"] = "mode"
    # where one trigger differs by mode (Managed Instances accept networkMode none, Fargate does not)
    for_mode: Callable[[FeasibilityFacts, LaunchMode], bool] | None = None

    def fires(self, facts: FeasibilityFacts, mode: LaunchMode) -> bool:
        return mode in self.modes and self.applies(facts) and (self.for_mode is None or self.for_mode(facts, mode))


def _network_mode(facts: FeasibilityFacts) -> str:
    return (facts.task_definition.network_mode or "bridge").lower()


def _exceeds_fargate(facts: FeasibilityFacts) -> bool:
    size = facts.size
    return size is not None and (size.cpu_units > FARGATE_MAX_CPU_UNITS or size.memory_mib > FARGATE_MAX_MEMORY_MIB)


def _windows_version_unsupported(facts: FeasibilityFacts) -> bool:
    td = facts.task_definition
    return td.is_windows and not td.os_family.upper().startswith(_FARGATE_WINDOWS)


def _pinned_below_1_4(facts: FeasibilityFacts) -> bool:
    version = facts.platform_version
    if not version or version.upper() == "LATEST":
        return False
    parts = [int(p) for p in version.split(".") if p.isdigit()]
    return parts < [1, 4, 0]


RULES: tuple[Rule, ...] = (
    Rule(
        "external_launch_type",
        "blocker",
        _ALL,
        "runs on ECS Anywhere (launch type EXTERNAL, `mi-` instances)",
        "it runs on your own hardware through ECS Anywhere, which modeshift does not weigh against AWS capacity",
        "AWS: Amazon ECS Anywhere",
        lambda f: f.current_mode is LaunchMode.EXTERNAL,
    ),
    Rule(
        "daemon_scheduling",
        "blocker",
        _NOT_EC2,
        "service `schedulingStrategy` DAEMON",
        "it runs as a DAEMON (one task on every instance it manages), which only its own EC2 capacity offers",
        "AWS: Amazon ECS services, daemon scheduling strategy (not on Fargate; Managed Instances run daemons "
        "only as Managed Daemons with their own definitions)",
        lambda f: f.daemon,
    ),
    Rule(
        "gpu",
        "blocker",
        _FARGATE_MODES,
        "GPU `resourceRequirements` or `inferenceAccelerators`",
        "its container asks for a GPU (or an inference accelerator), which Fargate does not offer",
        _DIFFERENCES,
        lambda f: f.task_definition.gpu_count > 0 or f.task_definition.inference_accelerator_count > 0,
    ),
    Rule(
        "privileged",
        "blocker",
        _FARGATE_MODES,
        "a container with `privileged: true`",
        "a container runs privileged, which Fargate forbids",
        _DIFFERENCES,
        lambda f: f.has("privileged"),
    ),
    Rule(
        "host_network",
        "blocker",
        _FARGATE_MODES,
        "`networkMode: host`",
        "it uses host networking; Fargate tasks only get their own network interface (awsvpc)",
        _DIFFERENCES,
        lambda f: _network_mode(f) == "host",
    ),
    Rule(
        "task_size_exceeds_fargate",
        "blocker",
        _FARGATE_MODES,
        "task size above 16 vCPU or 120 GiB",
        "it needs more than Fargate's largest task (16 vCPU, 120 GiB)",
        "AWS: Fargate task CPU and memory",
        _exceeds_fargate,
    ),
    Rule(
        "linux_devices",
        "blocker",
        _FARGATE_MODES,
        "`linuxParameters.devices`",
        "a container maps host devices, which Fargate does not allow",
        _DIFFERENCES,
        lambda f: f.has("linuxParameters.devices"),
    ),
    Rule(
        "linux_capabilities",
        "blocker",
        _FARGATE_MODES,
        "`linuxParameters.capabilities.add` other than SYS_PTRACE",
        "a container adds Linux capabilities Fargate does not grant (only SYS_PTRACE)",
        _DIFFERENCES,
        lambda f: any(c.upper() not in _FARGATE_CAPABILITIES for c in f.task_definition.capabilities_added),
    ),
    Rule(
        "docker_volume",
        "blocker",
        _FARGATE_MODES,
        "a volume with `dockerVolumeConfiguration`",
        "it mounts Docker volumes, which Fargate does not support",
        _DIFFERENCES,
        lambda f: "docker" in f.task_definition.volume_kinds,
    ),
    Rule(
        "host_volume",
        "blocker",
        _FARGATE_MODES,
        "a volume with `host.sourcePath`",
        "it mounts a path from the host, and a Fargate task has no host to mount from",
        _DIFFERENCES,
        lambda f: "host" in f.task_definition.volume_kinds,
    ),
    Rule(
        "ipc_mode",
        "blocker",
        _FARGATE_MODES,
        "`ipcMode` set",
        "it sets an IPC namespace mode, which Fargate does not support",
        _DIFFERENCES,
        lambda f: bool(f.task_definition.ipc_mode),
    ),
    Rule(
        "pid_mode_host",
        "blocker",
        _FARGATE_MODES,
        "`pidMode: host`",
        "it shares the host's process namespace, which Fargate does not allow",
        _DIFFERENCES,
        lambda f: (f.task_definition.pid_mode or "").lower() == "host",
    ),
    Rule(
        "shared_memory_size",
        "blocker",
        _FARGATE_MODES,
        "`linuxParameters.sharedMemorySize`",
        "a container sets a shared memory size, which Fargate does not support",
        _DIFFERENCES,
        lambda f: f.has("linuxParameters.sharedMemorySize"),
    ),
    Rule(
        "tmpfs",
        "blocker",
        _FARGATE_MODES,
        "`linuxParameters.tmpfs`",
        "a container mounts tmpfs, which Fargate does not support",
        _DIFFERENCES,
        lambda f: f.has("linuxParameters.tmpfs"),
    ),
    Rule(
        "swap",
        "blocker",
        _FARGATE_MODES,
        "`linuxParameters.maxSwap` or `swappiness`",
        "a container is configured to swap, and Fargate has no swap",
        _DIFFERENCES,
        lambda f: f.has("linuxParameters.maxSwap") or f.has("linuxParameters.swappiness"),
    ),
    Rule(
        "extra_hosts",
        "blocker",
        _FARGATE_MODES,
        "`extraHosts`",
        "a container adds /etc/hosts entries (extraHosts), which Fargate does not support",
        _DIFFERENCES,
        lambda f: f.has("extraHosts"),
    ),
    Rule(
        "dns_settings",
        "blocker",
        _FARGATE_MODES,
        "`dnsServers` or `dnsSearchDomains`",
        "a container sets its own DNS servers or search domains, which Fargate does not support",
        _DIFFERENCES,
        lambda f: f.has("dnsServers") or f.has("dnsSearchDomains"),
    ),
    Rule(
        "docker_security_options",
        "blocker",
        _FARGATE_MODES,
        "`dockerSecurityOptions`",
        "a container sets Docker security options (SELinux/AppArmor labels), which Fargate does not support",
        _DIFFERENCES,
        lambda f: f.has("dockerSecurityOptions"),
    ),
    Rule(
        "disable_networking",
        "blocker",
        _FARGATE_MODES,
        "`disableNetworking`",
        "a container disables networking, which Fargate does not support",
        _DIFFERENCES,
        lambda f: f.has("disableNetworking"),
    ),
    Rule(
        "windows_version_unsupported",
        "blocker",
        _FARGATE_MODES,
        "Windows other than Server 2019 / 2022 / 2025",
        "it runs a Windows Server version Fargate does not offer",
        "AWS: Fargate Windows platform versions",
        _windows_version_unsupported,
    ),
    Rule(
        "windows_fargate_spot",
        "blocker",
        _SPOT_ONLY,
        "Windows task",
        "Fargate Spot runs Linux tasks only",
        _FARGATE_SPOT_DOC,
        lambda f: f.task_definition.is_windows,
    ),
    Rule(
        "network_mode_awsvpc",
        "change",
        _NOT_EC2,
        "`networkMode` bridge, none or unset",
        "register a revision with networkMode awsvpc (each task gets its own network interface; a load "
        "balancer's target group must use target type ip)",
        _DIFFERENCES + "; " + _MANAGED_INSTANCES_DOC + " (awsvpc, host or none)",
        lambda f: _network_mode(f) not in ("awsvpc", "host"),
        for_mode=lambda f, mode: not (mode is LaunchMode.MANAGED_INSTANCES and _network_mode(f) == "none"),
    ),
    Rule(
        "drop_container_links",
        "change",
        _FARGATE_MODES,
        "`links`",
        "drop container links: in awsvpc mode containers of one task reach each other on localhost",
        _DIFFERENCES,
        lambda f: f.has("links"),
    ),
    Rule(
        "drop_placement_constraints",
        "change",
        _FARGATE_MODES,
        "task-definition or service `placementConstraints`",
        "drop the placement constraints: Fargate places tasks itself",
        _DIFFERENCES,
        lambda f: bool(f.task_definition.placement_constraints or f.service_placement_constraints),
    ),
    Rule(
        "task_level_size",
        "change",
        _FARGATE_MODES,
        "no task-level `cpu`/`memory`",
        "declare task-level cpu and memory at a valid Fargate size",
        "AWS: Fargate task CPU and memory",
        lambda f: f.size is not None and f.size.sized_from == "containers",
    ),
    Rule(
        "requires_compatibilities_fargate",
        "change",
        _FARGATE_MODES,
        "`requiresCompatibilities` without FARGATE",
        "register the task definition with FARGATE in requiresCompatibilities",
        _DIFFERENCES,
        lambda f: "FARGATE" not in f.task_definition.requires_compatibilities,
    ),
    Rule(
        "platform_version_1_4",
        "change",
        _FARGATE_MODES,
        "ARM64 task on a platform version pinned below 1.4.0",
        "use Fargate platform version 1.4.0 or LATEST, the first to run ARM64 tasks",
        "AWS: Fargate Linux platform versions (ARM64 needs 1.4.0)",
        lambda f: f.task_definition.architecture.value == "arm64" and _pinned_below_1_4(f),
    ),
    Rule(
        "windows_managed_instances",
        "blocker",
        _MI_ONLY,
        "Windows task",
        "ECS Managed Instances run Linux tasks only",
        _MANAGED_INSTANCES_DOC,
        lambda f: f.task_definition.is_windows,
    ),
    Rule(
        "requires_compatibilities_managed_instances",
        "change",
        _MI_ONLY,
        "`requiresCompatibilities` without MANAGED_INSTANCES",
        "register the task definition with MANAGED_INSTANCES in requiresCompatibilities",
        _MANAGED_INSTANCES_DOC,
        lambda f: "MANAGED_INSTANCES" not in f.task_definition.requires_compatibilities,
    ),
    Rule(
        "managed_instances_capacity_provider",
        "change",
        _MI_ONLY,
        "cluster without a Managed Instances capacity provider",
        "create a Managed Instances capacity provider for the cluster (instance requirements, subnets, "
        "security groups)",
        _MANAGED_INSTANCES_DOC,
        lambda f: not f.cluster_has_managed_instances_provider,
    ),
    Rule(
        "ec2_capacity_provider",
        "change",
        _EC2_ONLY,
        "cluster without EC2 capacity",
        "create an Auto Scaling group capacity provider for the cluster (no EC2 capacity is attached now)",
        "AWS: Amazon ECS capacity providers for EC2",
        lambda f: not f.cluster_has_ec2_capacity_provider,
    ),
    Rule(
        "requires_compatibilities_ec2",
        "change",
        _EC2_ONLY,
        "`compatibilities` without EC2",
        "register the task definition with EC2 in requiresCompatibilities",
        "AWS: Amazon ECS task definition parameters (requiresCompatibilities)",
        lambda f: bool(f.task_definition.compatibilities) and "EC2" not in f.task_definition.compatibilities,
    ),
    Rule(
        "windows_arm64",
        "blocker",
        _ALL,
        "ARM64 candidate for a Windows task",
        "Windows containers run on x86_64 only",
        "AWS: Amazon ECS task definition parameters (runtimePlatform: Windows is X86_64 only)",
        lambda f: f.target_architecture is Architecture.ARM64 and f.task_definition.is_windows,
        scope="candidate",
    ),
    Rule(
        "arm64_image",
        "change",
        _ALL,
        "ARM64 (Graviton) candidate for an x86_64 task definition",
        "build and push an ARM64 (or multi-architecture) image and set runtimePlatform.cpuArchitecture ARM64",
        "AWS: Graviton on Amazon ECS (runtimePlatform.cpuArchitecture)",
        lambda f: (
            f.target_architecture is Architecture.ARM64 and f.task_definition.architecture is not Architecture.ARM64
        ),
        scope="candidate",
    ),
    Rule(
        "task_size",
        "change",
        _ALL,
        "a candidate at another cpu/memory than today",
        "register a revision with the recommended task cpu and memory",
        "modeshift right-sizing (README: Right size)",
        lambda f: (
            f.target_size is not None
            and f.size is not None
            and (f.target_size.cpu_units, f.target_size.memory_mib) != (f.size.cpu_units, f.size.memory_mib)
        ),
        scope="candidate",
    ),
)

RULES_BY_CODE: Mapping[str, Rule] = {rule.code: rule for rule in RULES}


class ModeFeasibility(BaseModel):
    """Whether one mode can run the workload (`ok` is "no blocker"), and what must change before it does."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    blockers: tuple[str, ...] = ()
    changes_needed: tuple[str, ...] = ()


def assess_feasibility(facts: FeasibilityFacts) -> dict[LaunchMode, ModeFeasibility]:
    """Every recommendable mode with its blockers and changes; the mode a workload runs on today needs none."""
    out: dict[LaunchMode, ModeFeasibility] = {}
    for mode in RECOMMENDABLE_MODES:
        if mode is facts.current_mode:
            out[mode] = ModeFeasibility(ok=True)
            continue
        fired = [rule for rule in RULES if rule.scope == "mode" and rule.fires(facts, mode)]
        blockers = tuple(r.code for r in fired if r.kind == "blocker")
        changes = tuple(r.code for r in fired if r.kind == "change")
        out[mode] = ModeFeasibility(ok=not blockers, blockers=blockers, changes_needed=changes)
    return out


def candidate_feasibility(
    facts: FeasibilityFacts,
    by_mode: Mapping[LaunchMode, ModeFeasibility],
    mode: LaunchMode,
    architecture: Architecture,
    size: TaskSize | None,
) -> ModeFeasibility:
    """One candidate (mode × architecture × size): its mode's feasibility plus what the shape itself needs."""
    shaped = FeasibilityFacts(
        task_definition=facts.task_definition,
        size=facts.size,
        current_mode=facts.current_mode,
        target_architecture=architecture,
        target_size=size,
    )
    fired = [rule for rule in RULES if rule.scope == "candidate" and rule.fires(shaped, mode)]
    base = by_mode.get(mode, ModeFeasibility(ok=True))
    blockers = base.blockers + tuple(r.code for r in fired if r.kind == "blocker")
    changes = base.changes_needed + tuple(r.code for r in fired if r.kind == "change")
    return ModeFeasibility(ok=not blockers, blockers=blockers, changes_needed=changes)


def feasibility_evidence(feasibility: Mapping[LaunchMode, ModeFeasibility]) -> dict[str, dict[str, object]]:
    """The verdict's `evidence.feasibility`: {MODE: {"ok", "blockers", "changes_needed"}}."""
    return {
        mode.value: {"ok": f.ok, "blockers": list(f.blockers), "changes_needed": list(f.changes_needed)}
        for mode, f in feasibility.items()
    }


def in_words(code: str) -> str:
    """The sentence a person reads for a blocker or change code."""
    rule = RULES_BY_CODE.get(code)
    return rule.words if rule else code.replace("_", " ")


def mode_words(mode: LaunchMode) -> str:
    return {
        LaunchMode.EC2: "EC2",
        LaunchMode.FARGATE: "Fargate",
        LaunchMode.FARGATE_SPOT: "Fargate Spot",
        LaunchMode.EXTERNAL: "ECS Anywhere",
        LaunchMode.MANAGED_INSTANCES: "ECS Managed Instances",
    }[mode]


def blocked_reason(current: LaunchMode, feasibility: Mapping[LaunchMode, ModeFeasibility]) -> str | None:
    """ "stays on EC2: <first blocker>" when every other mode is blocked; None when any other mode is open."""
    others = {mode: f for mode, f in feasibility.items() if mode is not current}
    if not others or any(f.ok for f in others.values()):
        return None
    codes: list[str] = []
    for f in others.values():
        codes.extend(code for code in f.blockers if code not in codes)
    return f"{STAYS_ON}{mode_words(current)}: " + "; ".join(in_words(code) for code in codes)


def readme_table() -> str:
    """The README's feasibility table, generated from RULES so documentation cannot drift from code."""
    lines = [
        "| code | kind | what triggers it | modes it affects | source |",
        "|---|---|---|---|---|",
    ]
    for rule in RULES:
        modes = ", ".join(m.value for m in RECOMMENDABLE_MODES if m in rule.modes)
        if rule.scope == "candidate":
            modes = "any candidate with that shape"
        kind = "blocks" if rule.kind == "blocker" else "needs change"
        lines.append(f"| `{rule.code}` | {kind} | {rule.trigger} | {modes} | {rule.source} |")
    return "\n".join(lines)
