"""Per-audience renderings: exact snapshots, hostile names escaped everywhere, subject shape, size cap.

Snapshots live in tests/snapshots/render/. After an intended change, regenerate them with
`MODESHIFT_UPDATE_SNAPSHOTS=1 pytest tests/unit/test_render.py` and review the diff.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modeshift.domain.models import (
    ClusterVerdict,
    ClusterVerdictKind,
    LaunchMode,
    Pattern,
    WorkloadVerdict,
    WorkloadVerdictKind,
)
from modeshift.domain.notifications import SNS_MAX_BYTES, Notification, build_notification
from modeshift.domain.render import (
    CHAT_DESCRIPTION_MAX_CHARS,
    CHAT_KEYWORD_MAX_CHARS,
    CHAT_MAX_KEYWORDS,
    CHAT_MAX_NEXT_STEPS,
    CHAT_NEXT_STEP_MAX_CHARS,
    CHAT_SUMMARY_MAX_CHARS,
    CHAT_THREAD_ID_MAX_CHARS,
    CHAT_TITLE_MAX_CHARS,
    ELLIPSIS,
    Audience,
    chat_message,
    code_span,
    email_body,
    email_subject,
    escape_markdown,
    fit_escaped,
    render,
    switch_steps,
)

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "render"
UPDATE = os.environ.get("MODESHIFT_UPDATE_SNAPSHOTS") == "1"
NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
HOSTILE = "we*ird_[x](y)<b>&#`z`|~!{}\\\nline2"


def workload(
    kind: WorkloadVerdictKind,
    mode: LaunchMode,
    *,
    current: LaunchMode = LaunchMode.EC2,
    cluster: str = "shop-ec2",
    service: str | None = "api",
    family: str = "api",
    savings: float = 109.79,
    current_cost: float = 253.94,
    reasons: tuple[str, ...] = ("steady load", "FARGATE would cost less"),
) -> WorkloadVerdict:
    return WorkloadVerdict(
        cluster=cluster,
        workload=f"service:{service}" if service is not None else f"family:{family}",
        service=service,
        task_family=family,
        verdict=kind,
        current_mode=current,
        recommended_mode=mode,
        pattern=Pattern.STEADY,
        current_monthly_cost_usd=current_cost,
        recommended_monthly_cost_usd=round(current_cost - savings, 2),
        monthly_savings_usd=savings,
        confidence=0.9,
        reasons=reasons,
        arithmetic=(f"now: ${current_cost}/month", f"savings: ${savings}/month"),
        evidence={"costs_by_mode": {"ec2_packing": {"instance_type": "c5.4xlarge"}}},
    )


def tune_capacity(cluster: str = "core-ec2") -> ClusterVerdict:
    return ClusterVerdict(
        cluster=cluster,
        verdict=ClusterVerdictKind.TUNE_CAPACITY,
        instance_count=6,
        instance_types={"c5.xlarge": 6},
        idle_instance_count=6,
        monthly_cost_usd=832.2,
        wasted_monthly_cost_usd=624.15,
        cpu_reservation_pct=25.0,
        memory_reservation_pct=20.5,
        binding_resource="cpu",
        recommended_instance_count=2,
        monthly_savings_usd=554.8,
        confidence=0.9,
        reasons=("6 of 6 instances run no task now",),
        arithmetic=("tuned: 2 instances; saves 4 × $138.70 = $554.80/month",),
    )


CASES = {
    "move_to_fargate": workload(WorkloadVerdictKind.MOVE_TO_FARGATE, LaunchMode.FARGATE),
    "move_to_ec2": workload(
        WorkloadVerdictKind.MOVE_TO_EC2,
        LaunchMode.EC2,
        current=LaunchMode.FARGATE,
        cluster="fargate-prod",
        service="checkout",
        family="checkout",
        savings=328.21,
        current_cost=865.12,
        reasons=("large steady load (12.0 vCPU reserved on average)", "EC2 would cost less"),
    ),
    "spot_family": workload(
        WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT,
        LaunchMode.FARGATE_SPOT,
        cluster="batch-ec2",
        service=None,
        family="nightly-report",
        savings=168.42,
    ),
    "tune_capacity": tune_capacity(),
}


def notification(verdict: WorkloadVerdict | ClusterVerdict) -> Notification:
    return build_notification(verdict, region="us-east-1", generated_at=NOW)


def renderings(verdict: WorkloadVerdict | ClusterVerdict) -> dict[str, str]:
    message = notification(verdict)
    return {
        "email.txt": f"Subject: {email_subject(message)}\n\n{render(message, Audience.EMAIL)}\n",
        "chat.json": json.dumps(json.loads(render(message, Audience.CHAT)), indent=2, ensure_ascii=False) + "\n",
        "machine.json": json.dumps(json.loads(render(message, Audience.MACHINE)), indent=2, ensure_ascii=False) + "\n",
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendering_matches_snapshot_when_rendered_for_each_audience(case: str) -> None:
    for suffix, text in renderings(CASES[case]).items():
        path = SNAPSHOTS / f"{case}.{suffix}"
        if UPDATE or not path.exists():
            if not UPDATE:
                pytest.fail(f"missing snapshot {path}: run with MODESHIFT_UPDATE_SNAPSHOTS=1")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8"), f"{path.name} changed (MODESHIFT_UPDATE_SNAPSHOTS=1 to accept)"


def test_chat_message_has_exactly_the_amazon_q_custom_shape_when_rendered() -> None:
    chat = chat_message(notification(CASES["move_to_fargate"]))
    assert set(chat) == {"version", "source", "content", "metadata"}
    assert (chat["version"], chat["source"]) == ("1.0", "custom")
    assert set(chat["content"]) == {"textType", "title", "description", "nextSteps", "keywords"}
    assert chat["content"]["textType"] == "client-markdown"
    assert chat["content"]["keywords"] == ["move_to_fargate", "medium", "shop-ec2"]
    assert chat["metadata"]["threadId"] == "shop-ec2"
    assert any("capacityProvider=FARGATE,weight=1 --force-new-deployment" in s for s in chat["content"]["nextSteps"])


def test_verdicts_of_one_cluster_share_a_chat_thread_when_rendered() -> None:
    threads = {chat_message(notification(v))["metadata"]["threadId"] for v in (CASES["move_to_fargate"],)}
    threads.add(chat_message(notification(tune_capacity("shop-ec2")))["metadata"]["threadId"])
    assert threads == {"shop-ec2"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_email_names_the_action_and_how_to_silence_when_rendered(case: str) -> None:
    body = email_body(notification(CASES[case]))
    for section in ("WHAT", "WHY", "THE ARITHMETIC", "HOW TO SWITCH", "HOW TO SILENCE", "MinMonthlySavingsUsd"):
        assert section in body


def test_markdown_escape_uses_entities_for_slack_control_characters_and_no_backslashes() -> None:
    # Slack (and so an Amazon Q card in Slack) shows a backslash literally: only & < > are escaped.
    assert escape_markdown("a*b_c[d](e)<f>&#`|~!\\") == "a*b_c[d](e)&lt;f&gt;&amp;#`|~!\\"
    assert escape_markdown("<!channel> & <https://evil.example|click>") == (
        "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"
    )
    assert escape_markdown("x\ny") == "x y"
    assert code_span("a`b") == "``a`b``"
    assert code_span("--name <provider>") == "`--name &lt;provider&gt;`"


def test_fit_escaped_cuts_with_an_ellipsis_and_never_inside_an_entity() -> None:
    assert fit_escaped("a" * 10, 10) == "a" * 10
    assert fit_escaped("a" * 11, 10) == "a" * 9 + ELLIPSIS
    cut = fit_escaped("a" * 7 + "&amp;b", 10)
    assert cut == "a" * 7 + ELLIPSIS and len(cut) <= 10


def test_hostile_names_are_escaped_in_every_rendering_when_rendered() -> None:
    verdict = workload(
        WorkloadVerdictKind.MOVE_TO_FARGATE,
        LaunchMode.FARGATE,
        cluster=f"c{HOSTILE}",
        service=f"s{HOSTILE}",
        reasons=(f"reason {HOSTILE} <!channel>",),
    )
    message = notification(verdict)
    subject = email_subject(message)
    assert "\n" not in subject and "\r" not in subject and len(subject) < 100
    body = email_body(message)
    assert "line2" in body and "\nline2" not in body  # a name cannot start a line of its own
    assert "--cluster 'c" in body  # shell-quoted in the commands
    chat = chat_message(message)
    content = chat["content"]
    for text in [content["title"], content["description"], *content["keywords"], *content["nextSteps"]]:
        assert "<" not in text and ">" not in text, text  # no link, mention or HTML survives, code spans included
        assert "\\*" not in text and "\\_" not in text and "\\(" not in text  # no backslash escapes
    assert "\nline2" not in content["description"]
    assert "we*ird_[x](y)&lt;b&gt;&amp;#" in content["description"]
    assert "&lt;!channel&gt;" in content["description"]
    machine = json.loads(render(message, Audience.MACHINE))
    assert machine["cluster"] == f"c{HOSTILE}"  # JSON escapes it losslessly
    assert machine["schema_version"] == "1.0"


def _assert_chat_within_limits(chat: dict[str, object]) -> None:
    content = chat["content"]
    metadata = chat["metadata"]
    assert isinstance(content, dict) and isinstance(metadata, dict)
    assert 0 < len(content["title"]) <= CHAT_TITLE_MAX_CHARS
    assert len(content["description"]) <= CHAT_DESCRIPTION_MAX_CHARS
    assert 0 < len(content["nextSteps"]) <= CHAT_MAX_NEXT_STEPS
    assert all(0 < len(step) <= CHAT_NEXT_STEP_MAX_CHARS for step in content["nextSteps"]), [
        len(step) for step in content["nextSteps"]
    ]
    assert len(content["keywords"]) <= CHAT_MAX_KEYWORDS
    assert all(0 < len(keyword) <= CHAT_KEYWORD_MAX_CHARS for keyword in content["keywords"])
    assert 0 < len(metadata["threadId"]) <= CHAT_THREAD_ID_MAX_CHARS
    assert len(metadata["summary"]) <= CHAT_SUMMARY_MAX_CHARS
    for step in content["nextSteps"]:
        assert step.count("`") % 2 == 0, step  # a command is whole or absent, never an open code span
        assert "&" not in step.replace("&amp;", "").replace("&lt;", "").replace("&gt;", ""), step


LONG_NAME = "n" * 254 + "x"  # ECS allows 255 characters in cluster and service names
LONG_REASONS = tuple(f"reason {i}: " + "r" * 2_000 for i in range(30))


@pytest.mark.parametrize(
    "verdict",
    [
        pytest.param(
            workload(kind, mode, current=current, cluster=LONG_NAME, service=LONG_NAME, family=LONG_NAME), id=kind.value
        )
        for kind, mode, current in [
            (WorkloadVerdictKind.MOVE_TO_FARGATE, LaunchMode.FARGATE, LaunchMode.EC2),
            (WorkloadVerdictKind.MOVE_TO_EC2, LaunchMode.EC2, LaunchMode.FARGATE),
            (WorkloadVerdictKind.MOVE_TO_MANAGED_INSTANCES, LaunchMode.MANAGED_INSTANCES, LaunchMode.FARGATE),
        ]
    ]
    + [
        pytest.param(
            workload(
                WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT,
                LaunchMode.FARGATE_SPOT,
                cluster=LONG_NAME,
                service=None,
                family=LONG_NAME,
                reasons=LONG_REASONS,
            ),
            id="spot_family_long_reasons",
        ),
        pytest.param(
            workload(WorkloadVerdictKind.MOVE_TO_FARGATE, LaunchMode.FARGATE, cluster="&" * 255, service="<" * 255),
            id="names_that_grow_when_escaped",
        ),
        pytest.param(tune_capacity(LONG_NAME), id="tune_capacity"),
    ],
)
def test_chat_card_keeps_every_field_within_amazon_q_limits_when_names_are_255_chars(
    verdict: WorkloadVerdict | ClusterVerdict,
) -> None:
    chat = chat_message(notification(verdict))
    _assert_chat_within_limits(chat)
    steps = chat["content"]["nextSteps"]
    assert any("MinMonthlySavingsUsd" in step for step in steps)  # how to silence survives every cut


def test_chat_step_keeps_the_whole_command_or_says_it_is_in_the_email_when_names_are_long() -> None:
    verdict = workload(WorkloadVerdictKind.MOVE_TO_FARGATE, LaunchMode.FARGATE, cluster=LONG_NAME, service=LONG_NAME)
    steps = chat_message(notification(verdict))["content"]["nextSteps"]
    switch = next(step for step in steps if step.startswith("Switch the service"))
    assert "`" not in switch and switch.endswith("(the command is too long for chat: see the email)")
    short = chat_message(notification(CASES["move_to_ec2"]))["content"]["nextSteps"]
    create = next(step for step in short if step.startswith("Create an Auto Scaling group"))
    # the prose was cut to make room; the command is whole
    assert f"{ELLIPSIS}: `aws ecs create-capacity-provider" in create
    assert create.endswith("managedTerminationProtection=DISABLED'`") and len(create) <= CHAT_NEXT_STEP_MAX_CHARS


def test_chat_description_is_cut_on_a_line_and_says_so_when_reasons_are_long() -> None:
    verdict = workload(WorkloadVerdictKind.MOVE_TO_FARGATE, LaunchMode.FARGATE, reasons=LONG_REASONS)
    description = chat_message(notification(verdict))["content"]["description"]
    assert len(description) <= CHAT_DESCRIPTION_MAX_CHARS
    assert description.endswith(f"{ELLIPSIS} (cut: see the email)")
    assert description.startswith("*Cluster: shop-ec2*\n")


def test_long_cluster_names_keep_distinct_chat_threads() -> None:
    first = chat_message(notification(tune_capacity("c" * 200 + "1")))["metadata"]["threadId"]
    second = chat_message(notification(tune_capacity("c" * 200 + "2")))["metadata"]["threadId"]
    assert first != second and len(first) == len(second) == CHAT_THREAD_ID_MAX_CHARS


@pytest.mark.parametrize("name_length", [1, 60, 200, 5000])
def test_subject_stays_one_line_under_100_chars_when_names_are_long(name_length: int) -> None:
    verdict = workload(
        WorkloadVerdictKind.MOVE_TO_FARGATE, LaunchMode.FARGATE, cluster="c\n" * name_length, service="s" * name_length
    )
    subject = email_subject(notification(verdict))
    assert len(subject) < 100 and "\n" not in subject and "saves $109.79/mo" in subject


def test_every_rendering_fits_sns_when_the_verdict_is_huge() -> None:
    huge = tuple(f"reason {i} " + "x" * 5000 for i in range(200))
    verdict = workload(WorkloadVerdictKind.MOVE_TO_FARGATE, LaunchMode.FARGATE, reasons=huge)
    message = notification(verdict)
    for audience in Audience:
        text = render(message, audience)
        assert len(text.encode("utf-8")) <= SNS_MAX_BYTES - 2048
    assert message.truncated  # the machine JSON was cut first (reasons shortened), and the email says so
    assert "Note: evidence removed" in email_body(message)
    assert len(email_body(message, max_bytes=2_000).encode("utf-8")) <= 2_000
    assert "cut to fit the SNS size limit" in email_body(message, max_bytes=2_000)
    assert len(chat_message(message)["content"]["description"]) <= 3_500


def test_switch_steps_start_with_each_change_feasibility_requires_when_move_needs_changes() -> None:
    verdict = CASES["move_to_fargate"].model_copy(
        update={
            "evidence": {
                "feasibility": {
                    "FARGATE": {
                        "ok": True,
                        "blockers": [],
                        "changes_needed": ["network_mode_awsvpc", "drop_placement_constraints"],
                    }
                }
            }
        }
    )

    steps = [what for what, _ in switch_steps(verdict)]

    assert steps[0].startswith("Before switching: register a revision with networkMode awsvpc")
    assert steps[1] == "Before switching: drop the placement constraints: Fargate places tasks itself"
    assert not any("Make sure the task definition lists FARGATE" in step for step in steps)
    email = render(notification(verdict), Audience.EMAIL)
    assert "Before switching: register a revision with networkMode awsvpc" in email


def test_email_names_ruled_out_modes_and_cluster_lists_workloads_that_cannot_move() -> None:
    workload_verdict = CASES["move_to_fargate"].model_copy(
        update={
            "evidence": {
                "feasibility": {
                    "FARGATE": {"ok": True, "blockers": [], "changes_needed": []},
                    "FARGATE_SPOT": {"ok": False, "blockers": ["windows_fargate_spot"], "changes_needed": []},
                }
            }
        }
    )
    cluster = tune_capacity().model_copy(update={"evidence": {"workloads_that_cannot_move": {"service:gpu": ["gpu"]}}})

    assert "Ruled out: FARGATE_SPOT (windows_fargate_spot)" in render(notification(workload_verdict), Audience.EMAIL)
    assert "Cannot move: service:gpu (gpu)" in render(notification(cluster), Audience.EMAIL)


def test_email_shows_the_recommended_shape_and_each_alternative_with_why_not() -> None:
    from modeshift.domain.models import Alternative

    verdict = CASES["move_to_fargate"].model_copy(
        update={
            "recommended_task_size": {"cpu_units": 512, "memory_mib": 1024},
            "recommended_architecture": "X86_64",
            "alternatives": (
                Alternative(
                    mode=LaunchMode.FARGATE,
                    architecture="ARM64",
                    task_size={"cpu_units": 512, "memory_mib": 1024},
                    monthly_cost_usd=99.5,
                    changes_needed=("arm64_image",),
                    why_not="needs an ARM64 image",
                ),
            ),
        }
    )

    email = render(notification(verdict), Audience.EMAIL)

    assert "Recommended task: 512 CPU units / 1024 MiB on X86_64" in email
    assert "Alternative: FARGATE ARM64 512/1024 at $99.50/month — needs an ARM64 image" in email


@pytest.mark.parametrize("kind", [WorkloadVerdictKind.RIGHTSIZE, WorkloadVerdictKind.SCALE_IN])
def test_switch_steps_register_the_smaller_revision_then_deploy_or_scale_in(kind: WorkloadVerdictKind) -> None:
    verdict = workload(kind, LaunchMode.EC2, savings=50.0).model_copy(
        update={
            "recommended_task_size": {"cpu_units": 512, "memory_mib": 1024},
            "evidence": {"changes_needed": ["task_size"]},
        }
    )

    steps = switch_steps(verdict)

    assert steps[0][0].startswith("Register a revision of api with task cpu 512 and memory 1024")
    assert steps[0][1] == "aws ecs register-task-definition --cli-input-json file://api-resized.json"
    last_what, last_command = steps[-1]
    assert last_command is not None and "--task-definition api" in last_command
    if kind is WorkloadVerdictKind.SCALE_IN:
        assert "--desired-count 1" in last_command and "delete it" in last_what
    else:
        assert "--desired-count" not in last_command


def test_switch_steps_create_a_managed_instances_provider_when_moving_there() -> None:
    verdict = workload(
        WorkloadVerdictKind.MOVE_TO_MANAGED_INSTANCES, LaunchMode.MANAGED_INSTANCES, current=LaunchMode.FARGATE
    )

    commands = [command or "" for _, command in switch_steps(verdict)]

    assert any("--managed-instances-provider" in command for command in commands)
    assert any("capacityProvider=<managed-instances-provider>,weight=1" in command for command in commands)


def test_email_names_the_account_in_the_snooze_command_and_footer_when_the_verdict_knows_it() -> None:
    unknown = workload(WorkloadVerdictKind.MOVE_TO_FARGATE, LaunchMode.FARGATE)
    known = unknown.model_copy(update={"account": "210987654321", "region": "eu-west-1"})

    text = render(build_notification(known, region="eu-west-1", generated_at=NOW), Audience.EMAIL)
    plain = render(notification(unknown), Audience.EMAIL)

    assert f"arn:aws:ecs:eu-west-1:210987654321:service/{known.cluster}/{known.service}" in text
    assert "account 210987654321 · region eu-west-1" in text
    assert "<account-id>" in plain and "account " not in plain.rsplit("\n", 1)[-1]
