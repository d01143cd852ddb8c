"""Feasibility before price: verdicts never name a mode the task definition cannot run on."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from modeshift.domain.feasibility import RULES
from modeshift.domain.models import (
    Architecture,
    ClusterInventory,
    ContainerInstanceInfo,
    LaunchMode,
    Pattern,
    ServiceInfo,
    TaskDefinitionInfo,
    WorkloadVerdict,
    WorkloadVerdictKind,
)
from modeshift.domain.options import PolicyOptions
from modeshift.domain.policy import WorkloadSubject, advise_cluster, advise_workload, assess_cluster
from tests.unit.test_policy import (
    CATALOG,
    PRICES,
    expected_fargate_monthly,
    make_features,
    make_share,
    make_summary,
    make_task_definition,
)

BURSTY = make_features(Pattern.BURSTY, avg_tasks=2.0, peak_tasks=10.0)
# A share this large against a 512/1024 task makes Fargate far cheaper: only feasibility can keep it on EC2.
EXPENSIVE_SHARE = make_share(900.0)


def definition(**traits: Any) -> TaskDefinitionInfo:
    return make_task_definition(512, 1024).model_copy(update=traits)


def subject(td: TaskDefinitionInfo, mode: LaunchMode = LaunchMode.EC2, **extra: Any) -> WorkloadSubject:
    return WorkloadSubject(
        cluster="prod", workload="service:gpu", service="gpu", task_definition=td, current_mode=mode, **extra
    )


def test_advise_workload_moves_to_fargate_when_nothing_blocks_and_share_is_dear() -> None:
    """The control case: the same price picture without a blocker is a move."""
    verdict = advise_workload(
        subject(definition(network_mode="awsvpc")), BURSTY, PRICES, PolicyOptions(), EXPENSIVE_SHARE
    )

    assert verdict.verdict is WorkloadVerdictKind.MOVE_TO_FARGATE
    assert verdict.evidence["feasibility"]["FARGATE"] == {
        "ok": True,
        "blockers": [],
        "changes_needed": ["requires_compatibilities_fargate"],
    }


@pytest.mark.parametrize(
    ("traits", "code", "words"),
    [
        ({"gpu_count": 1}, "gpu", "asks for a GPU"),
        ({"inference_accelerator_count": 1}, "gpu", "inference accelerator"),
        ({"container_parameters": ("privileged",)}, "privileged", "privileged"),
        ({"network_mode": "host"}, "host_network", "host networking"),
        ({"volume_kinds": ("docker",)}, "docker_volume", "Docker volumes"),
        ({"capabilities_added": ("NET_ADMIN",)}, "linux_capabilities", "Linux capabilities"),
    ],
)
def test_advise_workload_keeps_ec2_with_fargate_blocker_as_first_reason_when_fargate_cannot_run_it(
    traits: dict[str, Any], code: str, words: str
) -> None:
    verdict = advise_workload(subject(definition(**traits)), BURSTY, PRICES, PolicyOptions(), EXPENSIVE_SHARE)

    assert verdict.verdict is WorkloadVerdictKind.KEEP
    assert verdict.recommended_mode is LaunchMode.EC2
    assert verdict.reasons[0].startswith("Fargate is ruled out: ")
    assert words in verdict.reasons[0]
    for mode in ("FARGATE", "FARGATE_SPOT"):
        assert verdict.evidence["feasibility"][mode]["ok"] is False
        assert code in verdict.evidence["feasibility"][mode]["blockers"]
    # ECS Managed Instances runs these (GPUs, privileged, host networking): not blocked, only not chosen
    assert verdict.evidence["feasibility"]["MANAGED_INSTANCES"]["ok"] is True
    assert verdict.evidence["feasibility"]["EC2"] == {"ok": True, "blockers": [], "changes_needed": []}
    assert verdict.monthly_savings_usd == 0.0


def test_advise_workload_keeps_daemon_with_stays_on_ec2_as_first_reason_when_every_other_mode_is_blocked() -> None:
    verdict = advise_workload(subject(definition(), daemon=True), BURSTY, PRICES, PolicyOptions(), EXPENSIVE_SHARE)

    assert verdict.verdict is WorkloadVerdictKind.KEEP
    assert verdict.reasons[0].startswith("stays on EC2: it runs as a DAEMON")
    for mode in ("FARGATE", "FARGATE_SPOT", "MANAGED_INSTANCES"):
        assert verdict.evidence["feasibility"][mode]["blockers"] == ["daemon_scheduling"]


def test_advise_workload_keeps_blocked_workload_even_when_usage_data_is_missing() -> None:
    features = make_features(Pattern.INSUFFICIENT_DATA, avg_tasks=None, coverage=0.0)
    verdict = advise_workload(
        subject(definition(), daemon=True, desired_count=2), features, PRICES, PolicyOptions(), EXPENSIVE_SHARE
    )

    assert verdict.verdict is WorkloadVerdictKind.KEEP
    assert verdict.reasons[0].startswith("stays on EC2: it runs as a DAEMON")
    assert verdict.confidence >= 0.8  # the blocker is read from the task definition, not from usage


def test_advise_workload_names_changes_and_keeps_them_in_evidence_when_move_needs_awsvpc() -> None:
    td = definition(network_mode="bridge", container_parameters=("links",), placement_constraints=("memberOf",))
    verdict = advise_workload(subject(td), BURSTY, PRICES, PolicyOptions(), EXPENSIVE_SHARE)

    assert verdict.verdict is WorkloadVerdictKind.MOVE_TO_FARGATE
    changes = verdict.evidence["feasibility"]["FARGATE"]["changes_needed"]
    assert {"network_mode_awsvpc", "drop_container_links", "drop_placement_constraints"} <= set(changes)
    before = [r for r in verdict.reasons if r.startswith("before moving to Fargate:")]
    assert len(before) == 1
    assert "networkMode awsvpc" in before[0] and "target type ip" in before[0]


def test_advise_workload_moves_windows_to_on_demand_fargate_never_spot_when_tolerant() -> None:
    td = definition(os_family="WINDOWS_SERVER_2019_CORE", network_mode="awsvpc")
    periodic = make_features(Pattern.PERIODIC, avg_tasks=1.0, peak_tasks=4.0)
    verdict = advise_workload(
        WorkloadSubject(
            cluster="prod", workload="family:w", service=None, task_definition=td, current_mode=LaunchMode.EC2
        ),
        periodic,
        PRICES,
        PolicyOptions(),
        EXPENSIVE_SHARE,
    )

    assert verdict.evidence["feasibility"]["FARGATE_SPOT"]["blockers"] == ["windows_fargate_spot"]
    assert verdict.recommended_mode is not LaunchMode.FARGATE_SPOT


def test_advise_workload_keeps_ecs_anywhere_and_compares_it_with_nothing() -> None:
    verdict = advise_workload(
        subject(definition(), LaunchMode.EXTERNAL), BURSTY, PRICES, PolicyOptions(), EXPENSIVE_SHARE
    )

    assert verdict.verdict is WorkloadVerdictKind.KEEP
    assert verdict.current_mode is LaunchMode.EXTERNAL
    assert verdict.reasons[0].startswith("stays on ECS Anywhere: ")
    assert all(
        verdict.evidence["feasibility"][mode]["blockers"] == ["external_launch_type"]
        for mode in ("EC2", "FARGATE", "FARGATE_SPOT", "MANAGED_INSTANCES")
    )


def test_advise_workload_prices_each_part_of_a_split_strategy_at_its_own_mode() -> None:
    td = definition(network_mode="awsvpc", requires_compatibilities=("FARGATE",))
    steady = make_features(Pattern.STEADY, avg_tasks=4.0)
    mixed = subject(td, LaunchMode.FARGATE, current_mix={LaunchMode.FARGATE: 3, LaunchMode.FARGATE_SPOT: 1})

    verdict = advise_workload(mixed, steady, PRICES, PolicyOptions(), None)

    on_demand = expected_fargate_monthly(4.0, 512, 1024)
    spot = expected_fargate_monthly(4.0, 512, 1024, spot=True)
    assert verdict.current_monthly_cost_usd == pytest.approx(0.75 * on_demand + 0.25 * spot, abs=0.01)
    assert verdict.current_mix == {LaunchMode.FARGATE: 3, LaunchMode.FARGATE_SPOT: 1}
    assert "3 FARGATE" in verdict.arithmetic[0] and "1 FARGATE_SPOT" in verdict.arithmetic[0]


# --------------------------------------------------------------------------- the verdict as a validated value


def _verdict(**update: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "cluster": "prod",
        "workload": "service:api",
        "service": "api",
        "task_family": "api",
        "verdict": "move_to_fargate",
        "current_mode": "EC2",
        "recommended_mode": "FARGATE",
        "pattern": "bursty",
        "current_monthly_cost_usd": 100.0,
        "recommended_monthly_cost_usd": 40.0,
        "monthly_savings_usd": 60.0,
        "confidence": 0.8,
        "reasons": ("bursty",),
    }
    return {**base, **update}


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"recommended_monthly_cost_usd": -74.27, "monthly_savings_usd": 174.27}, "negative"),
        ({"monthly_savings_usd": 59.0}, "current − recommended"),
        (
            {"evidence": {"feasibility": {"FARGATE": {"ok": False, "blockers": ["gpu"], "changes_needed": []}}}},
            "not feasible",
        ),
        ({"recommended_mode": "EXTERNAL"}, "EXTERNAL"),
    ],
)
def test_workload_verdict_cannot_be_built_when_it_contradicts_itself(update: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WorkloadVerdict.model_validate(_verdict(**update))


def test_workload_verdict_builds_when_feasibility_allows_the_move() -> None:
    feasible = {"FARGATE": {"ok": True, "blockers": [], "changes_needed": ["network_mode_awsvpc"]}}
    verdict = WorkloadVerdict.model_validate(_verdict(evidence={"feasibility": feasible}))

    assert verdict.recommended_mode is LaunchMode.FARGATE


# --------------------------------------------------------------------------- any task definition


traits = st.fixed_dictionaries(
    {
        "network_mode": st.sampled_from([None, "bridge", "awsvpc", "host", "none"]),
        "gpu_count": st.sampled_from([0, 0, 1]),
        "inference_accelerator_count": st.sampled_from([0, 0, 1]),
        "container_parameters": st.lists(
            st.sampled_from(
                ["privileged", "links", "extraHosts", "linuxParameters.devices", "linuxParameters.tmpfs", "image"]
            ),
            unique=True,
        ).map(tuple),
        "capabilities_added": st.lists(st.sampled_from(["SYS_PTRACE", "NET_ADMIN"]), unique=True).map(tuple),
        "volume_kinds": st.lists(st.sampled_from(["docker", "host", "bind", "efs"]), unique=True).map(tuple),
        "ipc_mode": st.sampled_from([None, None, "host", "task"]),
        "os_family": st.sampled_from(["LINUX", "LINUX", "WINDOWS_SERVER_2019_CORE", "WINDOWS_SERVER_2016_FULL"]),
        "architecture": st.sampled_from([Architecture.X86_64, Architecture.ARM64]),
        "task_cpu_units": st.sampled_from([256, 1024, 4096, 16384, 32768]),
        "task_memory_mib": st.sampled_from([512, 2048, 8192, 122880, 131072]),
    }
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    traits,
    st.sampled_from([LaunchMode.EC2, LaunchMode.FARGATE, LaunchMode.FARGATE_SPOT, LaunchMode.EXTERNAL]),
    st.sampled_from([Pattern.BURSTY, Pattern.PERIODIC, Pattern.STEADY, Pattern.INSUFFICIENT_DATA]),
    st.booleans(),
    st.sampled_from(["price", "balanced", "overhead"]),
    st.sampled_from([5.0, 900.0, 20000.0]),
)
def test_advise_workload_never_recommends_a_mode_with_a_blocker_for_any_task_definition(
    td_traits: dict[str, Any],
    mode: LaunchMode,
    pattern: Pattern,
    daemon: bool,
    goal: str,
    share_usd: float,
) -> None:
    td = make_task_definition().model_copy(update=td_traits)
    features = make_features(pattern, avg_tasks=None if pattern is Pattern.INSUFFICIENT_DATA else 30.0, peak_tasks=60)
    share = make_share(share_usd) if mode in (LaunchMode.EC2, LaunchMode.EXTERNAL) else None
    verdict = advise_workload(
        subject(td, mode, daemon=daemon, desired_count=3, tags={"modeshift:interruptible": "true"}),
        features,
        PRICES,
        PolicyOptions(goal=goal),  # type: ignore[arg-type]
        share,
    )

    feasibility = verdict.evidence["feasibility"]
    assert set(feasibility) == {"EC2", "FARGATE", "FARGATE_SPOT", "MANAGED_INSTANCES"}
    if verdict.recommended_mode is not verdict.current_mode:
        chosen = feasibility[verdict.recommended_mode.value]
        assert chosen["ok"] and not chosen["blockers"]
    for entry in feasibility.values():
        assert entry["ok"] == (not entry["blockers"])
        assert set(entry["blockers"]) | set(entry["changes_needed"]) <= {rule.code for rule in RULES}


# --------------------------------------------------------------------------- the cluster verdict


def _instance(n: int) -> ContainerInstanceInfo:
    return ContainerInstanceInfo(
        arn=f"arn:aws:ecs:us-east-1:123456789012:container-instance/prod/{n:032x}",
        ec2_instance_id=f"i-{n:017x}",
        instance_type="m5.large",
        registered_cpu_units=2048,
        registered_memory_mib=7680,
        remaining_cpu_units=1024,
        remaining_memory_mib=3840,
        running_tasks_count=1,
    )


def _daemon(cpu_units: int) -> ServiceInfo:
    return ServiceInfo(
        cluster="prod",
        name="log-shipper",
        arn="arn:aws:ecs:us-east-1:123456789012:service/prod/log-shipper",
        task_definition=make_task_definition(cpu_units, 512, family="log-shipper"),
        current_mode=LaunchMode.EC2,
        scheduling_strategy="DAEMON",
    )


def _cluster(services: tuple[ServiceInfo, ...] = (), target: float | None = None) -> ClusterInventory:
    return ClusterInventory(
        name="prod",
        arn="arn:aws:ecs:us-east-1:123456789012:cluster/prod",
        container_instances=tuple(_instance(n) for n in range(10)),
        services=services,
        target_capacity_pct=target,
    )


def test_advise_cluster_needs_more_instances_when_daemons_hold_a_share_of_every_instance() -> None:
    options = PolicyOptions()
    summary = make_summary(40.0, 10.0, p95_pct=40.0)
    plain = _cluster()
    with_daemon = _cluster((_daemon(512),))  # 512 of 2048 CPU units = 25 % of every instance

    tuned_plain = advise_cluster(plain, assess_cluster(plain, summary, PRICES, options), (), options)
    tuned_daemon = advise_cluster(with_daemon, assess_cluster(with_daemon, summary, PRICES, options), (), options)

    # 10 × 40 % = 4 instances of load; with a 25 % daemon per instance: 10 × 15 % ÷ 75 % = 2 + the daemons' own
    assert tuned_plain.recommended_instance_count == 4
    assert tuned_daemon.recommended_instance_count == 2
    assert tuned_daemon.evidence["daemon_reservation_pct"] == 25.0


def test_advise_cluster_keeps_the_target_capacity_headroom_the_capacity_provider_declares() -> None:
    options = PolicyOptions()
    summary = make_summary(40.0, 10.0, p95_pct=40.0)
    inventory = _cluster(target=80.0)

    verdict = advise_cluster(inventory, assess_cluster(inventory, summary, PRICES, options), (), options)

    assert verdict.recommended_instance_count == 5  # ⌈10 × 40 % ÷ 80 %⌉
    assert verdict.evidence["headroom_pct"] == 20.0
    assert "target capacity 80%" in verdict.evidence["headroom_source"]


def test_advise_cluster_lists_blocked_workloads_and_tunes_instead_of_moving_them() -> None:
    options = PolicyOptions()
    summary = make_summary(30.0, 10.0, p95_pct=30.0)
    inventory = _cluster()
    assessment = assess_cluster(inventory, summary, PRICES, options)
    blocked = advise_workload(subject(definition(), daemon=True), BURSTY, PRICES, options, EXPENSIVE_SHARE)

    verdict = advise_cluster(inventory, assessment, (blocked,), options)

    assert verdict.verdict.value == "tune_capacity"
    assert verdict.evidence["workloads_that_cannot_move"] == {"service:gpu": ["daemon_scheduling"]}
    assert any("cannot leave this capacity" in reason for reason in verdict.reasons)


def test_assess_cluster_prices_ecs_anywhere_instances_by_their_fee_not_as_unknown() -> None:
    anywhere = _instance(1).model_copy(update={"ec2_instance_id": "mi-0123456789abcdef0", "instance_type": None})
    inventory = _cluster().model_copy(update={"container_instances": (anywhere,)})

    assessment = assess_cluster(inventory, None, PRICES, PolicyOptions(goal="price"))  # type: ignore[arg-type]

    fee = CATALOG.ecs_anywhere_instance_hour_usd
    assert fee is not None
    assert assessment.compute_monthly_usd == pytest.approx(fee * 730)
    assert assessment.unpriced_types == ()
    assert any("ECS Anywhere" in line for line in assessment.arithmetic)


def test_assess_cluster_leaves_out_instances_without_remaining_resources_instead_of_reading_them_full() -> None:
    known = _instance(1)
    unknown = _instance(2).model_copy(update={"remaining_cpu_units": None, "remaining_memory_mib": None})
    inventory = _cluster().model_copy(update={"container_instances": (known, unknown)})

    assessment = assess_cluster(inventory, None, PRICES, PolicyOptions())

    assert assessment.cpu_reservation_pct == pytest.approx(50.0)  # the known instance only, not (1024+2048)/4096
    assert "left out" in assessment.reservation_source


def test_advise_cluster_lists_blocked_workloads_beside_the_movers_when_some_can_leave() -> None:
    options = PolicyOptions()
    summary = make_summary(30.0, 10.0, p95_pct=30.0)
    inventory = _cluster()
    assessment = assess_cluster(inventory, summary, PRICES, options)
    blocked = advise_workload(subject(definition(), daemon=True), BURSTY, PRICES, options, EXPENSIVE_SHARE)
    mover = advise_workload(
        WorkloadSubject(
            cluster="prod",
            workload="service:web",
            service="web",
            task_definition=definition(network_mode="awsvpc"),
            current_mode=LaunchMode.EC2,
        ),
        BURSTY,
        PRICES,
        options,
        EXPENSIVE_SHARE,
    )
    assert mover.verdict is WorkloadVerdictKind.MOVE_TO_FARGATE

    verdict = advise_cluster(inventory, assessment, (blocked, mover), options)

    assert verdict.verdict.value == "move_workloads_to_fargate"
    assert verdict.evidence["workloads_that_cannot_move"] == {"service:gpu": ["daemon_scheduling"]}
