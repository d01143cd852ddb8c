"""One verdict rendered per audience: email (subject + plain text), chat (Amazon Q custom notification), machine (JSON).

Delivery and filtering decision (SNS, documented behaviour):
- "Message attributes are sent only when the message structure is String, not JSON" (SNS developer
  guide, *Amazon SNS message attributes*). With `MessageStructure=json` a subscription's default
  `FilterPolicyScope=MessageAttributes` has nothing to match on.
- "Filter policies for the message body assume that the message payload is a well-formed JSON object"
  (*Amazon SNS message filtering*). An email body must be plain text for a person, so a
  `MessageBody` filter cannot select it; and the guide does not say which of the per-protocol bodies a
  body filter is evaluated against, so relying on it would rest on undocumented behaviour.
- Amazon Q Developer in chat applications silently drops anything but its own custom-notification
  JSON, so the chat body cannot carry our extra top-level keys either.

So every rendering goes out as its own **String** message with the message attributes `type`,
`severity`, `cluster` and `audience` (`email`, `chat` or `machine`). Subscribers filter with the
default attribute scope, and every subscription names its audience, e.g. email
`{"audience": ["email"], "severity": ["high"]}`, chat (https) `{"audience": ["chat"]}`, SQS/Lambda
`{"audience": ["machine"], "cluster": ["shop-ec2"]}`. The cost: one publish per enabled audience (SNS
bills per million), and a subscription without an `audience` filter receives every enabled rendering,
which is why the publisher sends only `machine` unless told to send more.

Every rendering is pure (no clock: dates come from the notification's `generated_at`), fits SNS's
262,144 bytes (cut and said so, never an error), and treats names as hostile: control characters become
spaces, chat text has Slack's three control characters escaped, shell commands quote their arguments.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from modeshift.domain.feasibility import in_words
from modeshift.domain.models import (
    ClusterVerdict,
    ClusterVerdictKind,
    WorkloadVerdict,
    WorkloadVerdictKind,
)
from modeshift.domain.notifications import MESSAGE_MAX_BYTES, Notification

SNOOZE_TAG = "modeshift:snooze"  # read by the analysis (domain.noise); repeated here to keep render standalone
SNOOZE_EXAMPLE_DAYS = 30
MIN_SAVINGS_PARAMETER = "MinMonthlySavingsUsd"
# Amazon Q Developer in chat applications, custom notifications ("Custom notification content guidelines",
# docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html): a next step at most 350 characters, a
# keyword at most 75. The other figures are ours, kept well inside what a channel shows.
CHAT_NEXT_STEP_MAX_CHARS = 350
CHAT_KEYWORD_MAX_CHARS = 75
CHAT_TITLE_MAX_CHARS = 250
CHAT_DESCRIPTION_MAX_CHARS = 3_500  # our choice: a card a person reads in a channel, not a document
CHAT_SUMMARY_MAX_CHARS = 200
CHAT_THREAD_ID_MAX_CHARS = 100
CHAT_MAX_NEXT_STEPS = 7
CHAT_MAX_KEYWORDS = 3
# the shortest prose kept in front of a whole command before the command is left out instead
CHAT_STEP_MIN_WORDS_CHARS = 60
ELLIPSIS = "…"
LIST_MAX_ITEMS = 20
ITEM_MAX_CHARS = 1_000
MI_PROVIDER_PLACEHOLDER = "<managed-instances-provider>"
EC2_PROVIDER_PLACEHOLDER = "<your-ec2-capacity-provider>"
ASG_PLACEHOLDER = "<your-auto-scaling-group>"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_COMMAND = re.compile(r"(?P<what>.+?): (?P<command>(?:aws|sam) .+)")


class Audience(StrEnum):
    EMAIL = "email"
    CHAT = "chat"
    MACHINE = "machine"


AUDIENCE_ATTRIBUTE = "audience"


# --------------------------------------------------------------------------- text safety


def one_line(text: str) -> str:
    """Control characters (newlines included) become one space: a name cannot inject lines."""
    return _CONTROL.sub(" ", text).strip()


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 3)] + "..."


def escape_markdown(text: str) -> str:
    """One line of text safe inside an Amazon Q card (client-markdown) or Slack mrkdwn: `&`, `<`, `>` as entities.

    Amazon Q renders client-markdown "in the target chat platform's markdown" (AWS, custom-notifs.html,
    parameter textType), i.e. Slack's mrkdwn in Slack. Slack's only control characters are `&`, `<` and `>`,
    to be replaced by HTML entities; it has no backslash escapes and shows a backslash literally
    (api.slack.com/reference/surfaces/formatting#escaping). So no backslashes: escaping the three is what
    stops a name from forging a link or pinging a channel (`<!channel>`); `*` or `_` in a name can at worst
    change emphasis. ECS names allow only letters, digits, `-` and `_` anyway.
    """
    return one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code_span(text: str) -> str:
    """A code span (Slack and CommonMark) that survives backticks in `text` (fence longer than any run inside).

    `&`, `<`, `>` are escaped inside it too: Slack parses them before formatting, so `<existing-providers>`
    in a command would otherwise be read as a link."""
    flat = escape_markdown(text)
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def fit_escaped(text: str, limit: int) -> str:
    """Already-escaped `text` cut to at most `limit` characters ending in "…", never inside an entity."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - len(ELLIPSIS))]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:  # an entity (&amp; &lt; &gt;) was split: drop its start
        cut = cut[:amp]
    return cut.rstrip() + ELLIPSIS


def _usd(amount: float) -> str:
    return f"${amount:,.2f}"


def _q(value: str) -> str:
    return shlex.quote(one_line(value))


# --------------------------------------------------------------------------- how to switch / silence


def _strategy(*items: str) -> str:
    return "--capacity-provider-strategy " + " ".join(items)


def switch_steps(verdict: WorkloadVerdict | ClusterVerdict) -> list[tuple[str, str | None]]:
    """(what to do, the command or None) for the recommended change; empty when there is nothing to do."""
    if isinstance(verdict, ClusterVerdict):
        return _cluster_steps(verdict)
    kind = verdict.verdict
    if kind in (WorkloadVerdictKind.KEEP, WorkloadVerdictKind.INSUFFICIENT_DATA):
        return []
    cluster = _q(verdict.cluster)
    if kind in (WorkloadVerdictKind.RIGHTSIZE, WorkloadVerdictKind.SCALE_IN):
        return _reshape_steps(verdict)
    if kind is WorkloadVerdictKind.MOVE_TO_FARGATE:
        strategy = ["capacityProvider=FARGATE,weight=1"]
        provider_note = "FARGATE"
    elif kind is WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT:
        # A FARGATE base keeps one task on-demand through Spot interruptions (2-minute notice).
        strategy = ["capacityProvider=FARGATE,base=1,weight=1", "capacityProvider=FARGATE_SPOT,weight=4"]
        provider_note = "FARGATE and FARGATE_SPOT"
    elif kind is WorkloadVerdictKind.MOVE_TO_MANAGED_INSTANCES:
        strategy = [f"capacityProvider={MI_PROVIDER_PLACEHOLDER},weight=1"]
        provider_note = MI_PROVIDER_PLACEHOLDER
    else:
        strategy = [f"capacityProvider={EC2_PROVIDER_PLACEHOLDER},weight=1"]
        provider_note = EC2_PROVIDER_PLACEHOLDER
    steps: list[tuple[str, str | None]] = []
    if kind is WorkloadVerdictKind.MOVE_TO_MANAGED_INSTANCES:
        steps.append(
            (
                "Create an ECS Managed Instances capacity provider (instance requirements sized for the task, the "
                "service's subnets and security groups); AWS launches, patches and scales its instances",
                f"aws ecs create-capacity-provider --name {MI_PROVIDER_PLACEHOLDER} --cluster {cluster} "
                "--managed-instances-provider file://managed-instances-provider.json",
            )
        )
    if kind is WorkloadVerdictKind.MOVE_TO_EC2:
        instance_type = _ec2_instance_type(verdict)
        sized = f" of {one_line(instance_type)} instances" if instance_type else ""
        steps.append(
            (
                f"Create an Auto Scaling group{sized} with the ECS-optimised AMI and register it as a capacity "
                "provider with managed scaling",
                "aws ecs create-capacity-provider --name "
                f"{EC2_PROVIDER_PLACEHOLDER} --auto-scaling-group-provider "
                f"'autoScalingGroupArn=<asg-arn>,managedScaling={{status=ENABLED,targetCapacity=100}},"
                "managedTerminationProtection=DISABLED'",
            )
        )
    changes = changes_needed(verdict)
    if changes is not None:
        # what feasibility found must change first, one step each, in the rule table's words
        steps.extend((f"Before switching: {_change_words(verdict, code)}", None) for code in changes)
    elif kind is not WorkloadVerdictKind.MOVE_TO_EC2:
        steps.append(
            (
                "Make sure the task definition lists FARGATE in requiresCompatibilities, uses networkMode awsvpc "
                "and declares task-level cpu and memory",
                None,
            )
        )
    steps.append(
        (
            f"Attach {provider_note} to the cluster (put-cluster-capacity-providers replaces the whole list: "
            "repeat the providers it already has)",
            f"aws ecs put-cluster-capacity-providers --cluster {cluster} --capacity-providers "
            f"{' '.join(p.split(',')[0].removeprefix('capacityProvider=') for p in strategy)} <existing-providers> "
            "--default-capacity-provider-strategy <unchanged>",
        )
    )
    if verdict.service is not None:
        steps.append(
            (
                "Switch the service to the new capacity provider strategy (a new deployment replaces the tasks)",
                f"aws ecs update-service --cluster {cluster} --service {_q(verdict.service)} "
                f"{_strategy(*strategy)} --force-new-deployment",
            )
        )
    else:
        family = _q(verdict.task_family)
        json_strategy = json.dumps([_strategy_item(item) for item in strategy], separators=(",", ":"))
        steps.append(
            (
                "Standalone tasks: pass the strategy on RunTask (drop --launch-type)",
                f"aws ecs run-task --cluster {cluster} --task-definition {family} {_strategy(*strategy)} ...",
            )
        )
        steps.append(
            (
                "Scheduled tasks: in the EventBridge Scheduler or rule target, set "
                f"EcsParameters.CapacityProviderStrategy to {json_strategy} and remove LaunchType",
                None,
            )
        )
    return steps


def _change_words(verdict: WorkloadVerdict, code: str) -> str:
    if code == "task_size" and verdict.recommended_task_size:
        size = verdict.recommended_task_size
        return f"register a revision with task cpu {size.get('cpu_units')} and memory {size.get('memory_mib')}"
    return in_words(code)


def _reshape_steps(verdict: WorkloadVerdict) -> list[tuple[str, str | None]]:
    """Right-size or scale in: a new revision at the recommended shape, then fewer tasks where scaling in."""
    cluster, family = _q(verdict.cluster), _q(verdict.task_family)
    size = verdict.recommended_task_size or {}
    steps: list[tuple[str, str | None]] = []
    for code in changes_needed(verdict) or []:
        if code == "task_size":
            steps.append(
                (
                    f"Register a revision of {one_line(verdict.task_family)} with task cpu {size.get('cpu_units')} "
                    f"and memory {size.get('memory_mib')} (container limits inside it must fit)",
                    f"aws ecs register-task-definition --cli-input-json file://{family}-resized.json",
                )
            )
        else:
            steps.append((_change_words(verdict, code), None))
    revision = family if steps else None
    if verdict.service is None:
        if revision:
            steps.append(("Run the standalone tasks with the new revision", None))
        return steps
    service = _q(verdict.service)
    command = f"aws ecs update-service --cluster {cluster} --service {service}"
    if verdict.verdict is WorkloadVerdictKind.SCALE_IN:
        command += " --desired-count 1"
        steps.append(
            (
                "Scale the service in to one task (lower its Application Auto Scaling minimum too, if it has one); "
                "if nothing calls it, delete it instead",
                command + (f" --task-definition {revision}" if revision else ""),
            )
        )
    elif revision:
        steps.append(("Deploy the new revision", f"{command} --task-definition {revision}"))
    return steps


def changes_needed(verdict: WorkloadVerdict) -> list[str] | None:
    """What the recommendation needs changed first: the verdict's own `evidence.changes_needed` (mode, size and
    architecture), else the recommended mode's from `evidence.feasibility`; None when neither was recorded."""
    own = verdict.evidence.get("changes_needed")
    if isinstance(own, list):
        return [str(code) for code in own]
    feasibility = verdict.evidence.get("feasibility")
    target = feasibility.get(verdict.recommended_mode.value) if isinstance(feasibility, dict) else None
    codes = target.get("changes_needed") if isinstance(target, dict) else None
    return [str(code) for code in codes] if isinstance(codes, list) else None


def blockers_by_mode(verdict: WorkloadVerdict) -> dict[str, list[str]]:
    """Modes other than the current one that feasibility rules out, with their blocker codes."""
    feasibility = verdict.evidence.get("feasibility")
    if not isinstance(feasibility, dict):
        return {}
    return {
        mode: [str(code) for code in entry.get("blockers", [])]
        for mode, entry in feasibility.items()
        if isinstance(entry, dict) and entry.get("blockers") and mode != verdict.current_mode.value
    }


def _strategy_item(item: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in item.split(","):
        key, _, value = part.partition("=")
        out[key] = int(value) if value.isdigit() else value
    return out


def _ec2_instance_type(verdict: WorkloadVerdict) -> str | None:
    costs = verdict.evidence.get("costs_by_mode")
    packing = costs.get("ec2_packing") if isinstance(costs, dict) else None
    value = packing.get("instance_type") if isinstance(packing, dict) else None
    return value if isinstance(value, str) else None


def _cluster_steps(verdict: ClusterVerdict) -> list[tuple[str, str | None]]:
    if verdict.verdict is ClusterVerdictKind.TUNE_CAPACITY:
        target = verdict.recommended_instance_count
        count = str(target) if target is not None else "<fewer>"
        return [
            (
                f"Lower the Auto Scaling group's minimum to {count} instance(s) so idle hosts can go",
                f"aws autoscaling update-auto-scaling-group --auto-scaling-group-name {ASG_PLACEHOLDER} "
                f"--min-size {count}",
            ),
            (
                "Let ECS scale the group: managed scaling with a target capacity of 100 %",
                f"aws ecs update-capacity-provider --name {EC2_PROVIDER_PLACEHOLDER} --auto-scaling-group-provider "
                "'managedScaling={status=ENABLED,targetCapacity=100}'",
            ),
        ]
    if verdict.verdict is ClusterVerdictKind.MOVE_WORKLOADS_TO_FARGATE:
        return [
            ("Move the workloads named above to Fargate (each has its own message with the command)", None),
            (
                "Then let the capacity provider scale in, or lower the Auto Scaling group's minimum",
                f"aws autoscaling update-auto-scaling-group --auto-scaling-group-name {ASG_PLACEHOLDER} --min-size 0",
            ),
        ]
    return []


def silence_steps(notification: Notification, verdict: WorkloadVerdict | ClusterVerdict | None) -> list[str]:
    """How to stop hearing about this: the snooze tag on the service, or a higher saving threshold."""
    until = (notification.generated_at + timedelta(days=SNOOZE_EXAMPLE_DAYS)).date().isoformat()
    steps: list[str] = []
    if isinstance(verdict, WorkloadVerdict) and verdict.service is not None:
        region, cluster, service = one_line(notification.region), one_line(verdict.cluster), one_line(verdict.service)
        account = one_line(verdict.account) if verdict.account else "<account-id>"
        arn = f"arn:aws:ecs:{region}:{account}:service/{cluster}/{service}"
        steps.append(
            f"Snooze this workload until a date (inclusive) with the tag {SNOOZE_TAG}=YYYY-MM-DD on the ECS service: "
            f"aws ecs tag-resource --resource-arn {shlex.quote(arn)} --tags key={SNOOZE_TAG},value={until}"
        )
    elif isinstance(verdict, WorkloadVerdict):
        steps.append("A standalone task family has no ECS service to carry the snooze tag")
    threshold = max(notification.monthly_savings_usd, 0.0)
    steps.append(
        f"{'Or raise' if steps else 'Raise'} the stack parameter {MIN_SAVINGS_PARAMETER} above {_usd(threshold)} "
        "(savings below it are "
        f"never sent): sam deploy --parameter-overrides {MIN_SAVINGS_PARAMETER}={int(threshold) + 1}"
    )
    return steps


# --------------------------------------------------------------------------- the verdict back from a message


def verdict_of(notification: Notification) -> WorkloadVerdict | ClusterVerdict | None:
    """The verdict model inside a message (None for a digest or a message from another schema)."""
    try:
        if notification.scope == "workload":
            return WorkloadVerdict.model_validate(notification.verdict)
        if notification.scope == "cluster":
            return ClusterVerdict.model_validate(notification.verdict)
    except ValidationError:
        return None
    return None


def _limited(items: Sequence[str], limit: int = LIST_MAX_ITEMS) -> list[str]:
    shown = [clip(one_line(str(item)), ITEM_MAX_CHARS) for item in items[:limit]]
    if len(items) > limit:
        shown.append(f"... and {len(items) - limit} more")
    return shown


def _what(verdict: WorkloadVerdict | ClusterVerdict) -> list[str]:
    if isinstance(verdict, WorkloadVerdict):
        lines = [
            f"Cluster: {one_line(verdict.cluster)}",
            f"Workload: {one_line(verdict.workload)} (pattern {verdict.pattern.value})",
            f"Runs on {verdict.current_mode.value}; recommended {verdict.recommended_mode.value} "
            f"({verdict.verdict.value})",
            f"Cost now {_usd(verdict.current_monthly_cost_usd)}/month; "
            f"recommended {_usd(verdict.recommended_monthly_cost_usd)}/month",
            f"Saves {_usd(verdict.monthly_savings_usd)}/month (confidence {verdict.confidence:.2f})",
        ]
        size = verdict.recommended_task_size
        if size and verdict.verdict is not WorkloadVerdictKind.KEEP:
            arch = f" on {verdict.recommended_architecture}" if verdict.recommended_architecture else ""
            lines.append(f"Recommended task: {size.get('cpu_units')} CPU units / {size.get('memory_mib')} MiB{arch}")
        ruled_out = blockers_by_mode(verdict)
        if ruled_out:
            lines.append("Ruled out: " + "; ".join(f"{mode} ({', '.join(codes)})" for mode, codes in ruled_out.items()))
        for alternative in verdict.alternatives:
            task = alternative.task_size
            lines.append(
                f"Alternative: {alternative.mode.value} {alternative.architecture} {task.get('cpu_units')}/"
                f"{task.get('memory_mib')} at {_usd(alternative.monthly_cost_usd)}/month — {alternative.why_not}"
            )
        return lines
    lines = [
        f"Cluster: {one_line(verdict.cluster)} ({verdict.instance_count} instances, "
        f"{verdict.idle_instance_count} running no task)",
        f"Advice: {verdict.verdict.value}",
        f"Cost now {_usd(verdict.monthly_cost_usd)}/month, of which {_usd(verdict.wasted_monthly_cost_usd)} "
        "pays for unreserved capacity",
        f"Saves {_usd(verdict.monthly_savings_usd)}/month (confidence {verdict.confidence:.2f})",
    ]
    stuck = verdict.evidence.get("workloads_that_cannot_move")
    if isinstance(stuck, dict) and stuck:
        lines.append(
            "Cannot move: "
            + "; ".join(f"{one_line(str(name))} ({', '.join(map(str, codes))})" for name, codes in stuck.items())
        )
    return lines


# --------------------------------------------------------------------------- email


def email_subject(notification: Notification) -> str:
    """The SNS Subject: already < 100 characters on one line (see notifications.render_subject)."""
    return clip(one_line(notification.title), 99)


def email_body(notification: Notification, max_bytes: int = MESSAGE_MAX_BYTES) -> str:
    """Plain text read top to bottom: what, why, the arithmetic, how to switch, how to silence."""
    verdict = verdict_of(notification)
    lines = [email_subject(notification).removeprefix("modeshift: "), ""]
    if verdict is None:
        lines += [line for line in notification.text.splitlines()]
    else:
        lines += ["WHAT", *_what(verdict)]
        if notification.previous_monthly_savings_usd is not None:
            lines.append(f"Previously reported saving: {_usd(notification.previous_monthly_savings_usd)}/month")
        if verdict.reasons:
            lines += ["", "WHY", *(f"- {r}" for r in _limited(verdict.reasons))]
        if verdict.arithmetic:
            lines += ["", "THE ARITHMETIC", *(f"- {a}" for a in _limited(verdict.arithmetic))]
        steps = switch_steps(verdict)
        if steps:
            lines += ["", "HOW TO SWITCH"]
            for number, (what, command) in enumerate(steps, start=1):
                lines.append(f"{number}. {what}")
                if command:
                    lines.append(f"   {command}")
    lines += ["", "HOW TO SILENCE", *(f"- {s}" for s in silence_steps(notification, verdict))]
    if notification.truncated and notification.truncation_note:
        lines += ["", f"Note: {one_line(notification.truncation_note)}"]
    lines += [
        "",
        f"Severity {notification.severity.value} · "
        + (f"account {one_line(verdict.account)} · " if verdict is not None and verdict.account else "")
        + f"region {one_line(notification.region)} · "
        f"generated {notification.generated_at.isoformat()} · id {notification.notification_id}",
    ]
    return _fit_text("\n".join(lines), max_bytes)


def _fit_text(text: str, max_bytes: int) -> str:
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    note = "\n\n[cut to fit the SNS size limit; run `modeshift analyze --output json` for the whole verdict]"
    room = max_bytes - len(note.encode("utf-8"))
    cut = text.encode("utf-8")[: max(0, room)].decode("utf-8", errors="ignore")
    return cut + note


# --------------------------------------------------------------------------- chat (Amazon Q custom notification)


def chat_message(notification: Notification) -> dict[str, Any]:
    """The custom notification Amazon Q Developer in chat applications accepts; threads by cluster.

    Every string is within the limits above (cut with "…", never inside an entity or a command), bold is
    Slack's `*…*`, and names are escaped with `escape_markdown` (no backslashes)."""
    verdict = verdict_of(notification)
    title = fit_escaped(escape_markdown(email_subject(notification).removeprefix("modeshift: ")), CHAT_TITLE_MAX_CHARS)
    if verdict is None:
        lines = [escape_markdown(line) for line in notification.text.splitlines()[2:] if line.strip()]
        switch: list[str] = []
    else:
        what = [
            f"*{escape_markdown(line)}*" if i == 0 else escape_markdown(line) for i, line in enumerate(_what(verdict))
        ]
        why = [f"• {escape_markdown(r)}" for r in _limited(verdict.reasons, 5)]
        sums = [f"• {escape_markdown(a)}" for a in _limited(verdict.arithmetic, 5)]
        lines = [*what, "", "*Why*", *why, "", "*Arithmetic*", *sums]
        switch = [_chat_step(what_, command) for what_, command in switch_steps(verdict)]
    silence = [_chat_step(*_split_command(step)) for step in silence_steps(notification, verdict)]
    room = CHAT_MAX_NEXT_STEPS - len(silence)
    if len(switch) > room:
        left_out = len(switch) - (room - 1)
        switch = [*switch[: room - 1], f"{ELLIPSIS} and {left_out} more steps: see the email"]
    cluster = escape_markdown(notification.cluster)
    keywords = [notification.type, notification.severity.value, cluster][:CHAT_MAX_KEYWORDS]
    return {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": _fit_lines(lines, CHAT_DESCRIPTION_MAX_CHARS, f"{ELLIPSIS} (cut: see the email)"),
            "nextSteps": [*switch, *silence],
            "keywords": [fit_escaped(keyword, CHAT_KEYWORD_MAX_CHARS) for keyword in keywords],
        },
        "metadata": {
            "threadId": _thread_id(notification.cluster),
            "summary": fit_escaped(escape_markdown(notification.title), CHAT_SUMMARY_MAX_CHARS),
        },
    }


def _chat_step(what: str, command: str | None) -> str:
    """One next step of at most 350 characters: the prose, then the whole command as code, or no command.

    A command is never cut (a shortened command that still runs is worse than none): the prose is cut to
    make room, and when even that is not enough the step says the command is in the email."""
    head = escape_markdown(what)
    if command is None:
        return fit_escaped(head, CHAT_NEXT_STEP_MAX_CHARS)
    span = code_span(command)
    full = f"{head}: {span}"
    if len(full) <= CHAT_NEXT_STEP_MAX_CHARS:
        return full
    room = CHAT_NEXT_STEP_MAX_CHARS - len(span) - len(": ")
    if room >= CHAT_STEP_MIN_WORDS_CHARS:
        return f"{fit_escaped(head, room)}: {span}"
    note = " (the command is too long for chat: see the email)"
    return fit_escaped(head, CHAT_NEXT_STEP_MAX_CHARS - len(note)) + note


def _split_command(step: str) -> tuple[str, str | None]:
    """A silence step "what: aws …" (or "…: sam …") as (what, command); (step, None) without a command."""
    match = _COMMAND.fullmatch(one_line(step))
    return (match["what"], match["command"]) if match else (step, None)


def _fit_lines(lines: Sequence[str], limit: int, note: str) -> str:
    """`lines` joined, at most `limit` characters: whole lines while they fit, then `note` on its own line."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    room = limit - len(note) - 1
    kept: list[str] = []
    used = 0
    for line in lines:
        extra = len(line) + (1 if kept else 0)
        if used + extra > room:
            left = room - used - (1 if kept else 0)
            if left > len(ELLIPSIS) + 20:  # the start of a long line is worth showing
                kept.append(fit_escaped(line, left))
            break
        kept.append(line)
        used += extra
    return "\n".join([*kept, note])


def _thread_id(cluster: str) -> str:
    """The cluster's name (threads group a cluster's cards); a long one ends in a digest so threads stay apart."""
    name = one_line(cluster)
    if len(name) <= CHAT_THREAD_ID_MAX_CHARS:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
    return f"{name[: CHAT_THREAD_ID_MAX_CHARS - len(digest) - 1]}-{digest}"


def chat_body(notification: Notification) -> str:
    return json.dumps(chat_message(notification), ensure_ascii=False, sort_keys=False)


# --------------------------------------------------------------------------- machine


def machine_body(notification: Notification) -> str:
    """The full versioned verdict JSON (`schema_version`), already cut to the SNS limit by build_notification."""
    return notification.body()


def render(notification: Notification, audience: Audience) -> str:
    """The message body for one audience."""
    if audience is Audience.EMAIL:
        return email_body(notification)
    if audience is Audience.CHAT:
        return chat_body(notification)
    return machine_body(notification)
