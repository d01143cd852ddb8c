"""The SNS message for one verdict: its versioned model, severity, subject, text, size cap and the change rule.

Rules (all amounts USD per month):
- severity from the verdict's monthly saving: high >= 500, medium >= 100, low otherwise;
- a verdict is *publishable* unless it is `insufficient_data`, or a `keep`/`no_ec2_capacity` with no
  saving: those are recorded (so a later change is seen) but never sent;
- a verdict *materially changed* when its kind or recommended mode differs from the last recorded
  state, or its saving moved by >= 20 % AND >= 10 USD from the last *published* saving (so slow drift
  adds up until it is worth a message);
- the SNS body is this model's JSON, at most `MESSAGE_MAX_BYTES`; evidence, then reasons and
  arithmetic, then the text are cut to fit, and the message says so.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from modeshift.domain.models import (
    ClusterVerdict,
    ClusterVerdictKind,
    WorkloadVerdict,
    WorkloadVerdictKind,
)

# Bump on any change to a field's name, type or meaning; additions keep the version.
NOTIFICATION_SCHEMA_VERSION = "1.0"

HIGH_SEVERITY_SAVINGS_USD = 500.0
MEDIUM_SEVERITY_SAVINGS_USD = 100.0
MATERIAL_CHANGE_FRACTION = 0.20
MATERIAL_CHANGE_USD = 10.0

SNS_MAX_BYTES = 262_144  # body and message attributes together
# Room left for the three message attributes (names, types, values) and SNS's own accounting.
MESSAGE_MAX_BYTES = SNS_MAX_BYTES - 2_048
SUBJECT_MAX_CHARS = 99  # SNS: fewer than 100
CLUSTER_SUBJECT = "cluster"

Verdict = WorkloadVerdict | ClusterVerdict
# cooldown: a change waits for the cooldown to end (fingerprint still the last one sent or recorded)
VerdictStatus = Literal["pending", "published", "recorded", "cooldown"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Fingerprint(BaseModel):
    """What decides whether a verdict is news: its kind, recommended mode and monthly saving."""

    model_config = ConfigDict(frozen=True)

    kind: str
    recommended_mode: str | None
    monthly_savings_usd: float


class VerdictState(BaseModel):
    """What the state store remembers of one verdict (one item per cluster and subject)."""

    model_config = ConfigDict(frozen=True)

    cluster: str
    subject: str
    fingerprint: Fingerprint
    # the saving carried by the last message SNS accepted; None if none ever was
    published_savings_usd: float | None = None
    status: VerdictStatus
    message: str | None = None  # the Notification JSON to send (kept after publishing, for audit)
    updated_at: datetime
    revision: int = 0  # optimistic lock: bumped by every write
    published_at: datetime | None = None  # when SNS last accepted a message for it (the cooldown starts)
    expires_at: int | None = None  # epoch seconds when the store forgets it (DynamoDB TTL)


class Notification(BaseModel):
    """The SNS message body (JSON). Subscribers filter on the attributes type, severity and cluster."""

    model_config = ConfigDict(frozen=True)

    schema_version: str = NOTIFICATION_SCHEMA_VERSION
    notification_id: str = Field(description="stable per verdict state: subscribers can drop duplicates")
    type: str = Field(description="the verdict kind, e.g. move_to_fargate or tune_capacity")
    scope: Literal["workload", "cluster", "digest"]
    severity: Severity
    cluster: str
    subject: str = Field(description="the workload (service:NAME, family:NAME) or 'cluster'")
    region: str
    generated_at: datetime
    monthly_savings_usd: float
    previous_monthly_savings_usd: float | None = None
    title: str = Field(description="the SNS Subject")
    text: str = Field(description="plain-text rendering for people (email, chat)")
    verdict: dict[str, Any]
    truncated: bool = False
    truncation_note: str | None = None

    def attributes(self) -> dict[str, str]:
        return {"type": self.type, "severity": self.severity.value, "cluster": self.cluster}

    def body(self) -> str:
        return self.model_dump_json()


def subject_of(verdict: Verdict) -> str:
    return verdict.workload if isinstance(verdict, WorkloadVerdict) else CLUSTER_SUBJECT


def severity_for(monthly_savings_usd: float) -> Severity:
    """high >= 500 USD/month, medium >= 100, low below (including no saving)."""
    if monthly_savings_usd >= HIGH_SEVERITY_SAVINGS_USD:
        return Severity.HIGH
    if monthly_savings_usd >= MEDIUM_SEVERITY_SAVINGS_USD:
        return Severity.MEDIUM
    return Severity.LOW


def fingerprint(verdict: Verdict) -> Fingerprint:
    mode = verdict.recommended_mode.value if isinstance(verdict, WorkloadVerdict) else None
    return Fingerprint(
        kind=verdict.verdict.value, recommended_mode=mode, monthly_savings_usd=float(verdict.monthly_savings_usd)
    )


def is_publishable(verdict: Verdict) -> bool:
    """Not insufficient data, and not a keep (or a cluster without EC2) that saves nothing."""
    kind = verdict.verdict
    if kind in (WorkloadVerdictKind.INSUFFICIENT_DATA, ClusterVerdictKind.INSUFFICIENT_DATA):
        return False
    quiet = (WorkloadVerdictKind.KEEP, ClusterVerdictKind.KEEP, ClusterVerdictKind.NO_EC2_CAPACITY)
    return not (kind in quiet and verdict.monthly_savings_usd <= 0)


def savings_moved(baseline_usd: float, current_usd: float) -> bool:
    """True when the saving moved by >= 20 % of the baseline AND >= 10 USD/month."""
    delta = abs(current_usd - baseline_usd)
    if delta < MATERIAL_CHANGE_USD:
        return False
    if baseline_usd == 0:
        return True
    return delta >= MATERIAL_CHANGE_FRACTION * abs(baseline_usd)


def is_material_change(previous: VerdictState | None, verdict: Verdict) -> bool:
    """New, another kind or mode than last recorded, or a saving that moved enough since last published."""
    if previous is None:
        return True
    now = fingerprint(verdict)
    before = previous.fingerprint
    if now.kind != before.kind or now.recommended_mode != before.recommended_mode:
        return True
    baseline = (
        previous.published_savings_usd if previous.published_savings_usd is not None else before.monthly_savings_usd
    )
    return savings_moved(baseline, now.monthly_savings_usd)


# --------------------------------------------------------------------------- rendering


def _one_line(text: str) -> str:
    return _CONTROL.sub(" ", text).strip()


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 3)] + "..." if limit >= 4 else text[:limit]


def _action(verdict: Verdict) -> str:
    kind = verdict.verdict.value
    if isinstance(verdict, WorkloadVerdict) and kind.startswith("move_to_"):
        return f"move to {verdict.recommended_mode.value}"
    return kind.replace("_", " ")


def render_subject(verdict: Verdict) -> str:
    """One line, < 100 chars: 'modeshift: <cluster>/<workload> <action>, saves $X/mo' (or 'cluster <name>');
    names are cut to fit, the action and the saving never are."""
    tail = f" {_action(verdict)}, saves ${verdict.monthly_savings_usd:,.2f}/mo"
    head = "modeshift: "
    cluster = _one_line(verdict.cluster)
    if isinstance(verdict, ClusterVerdict):
        budget = SUBJECT_MAX_CHARS - len(head) - len(tail) - len("cluster ")
        return _clip(f"{head}cluster {_clip(cluster, budget)}{tail}", SUBJECT_MAX_CHARS)
    name = _one_line(verdict.workload)
    budget = SUBJECT_MAX_CHARS - len(head) - len(tail) - 1  # 1 for the "/"
    if len(cluster) + len(name) > budget:
        # Share the room; a short name gives its spare room to the other.
        half = max(budget // 2, 4)
        if len(cluster) <= half:
            name = _clip(name, budget - len(cluster))
        elif len(name) <= half:
            cluster = _clip(cluster, budget - len(name))
        else:
            cluster = _clip(cluster, half)
            name = _clip(name, budget - len(cluster))
    return _clip(f"{head}{cluster}/{name}{tail}", SUBJECT_MAX_CHARS)


def render_text(verdict: Verdict, previous_savings_usd: float | None = None) -> str:
    """The plain-text body for people: headline, money, reasons, arithmetic."""
    lines = [render_subject(verdict).removeprefix("modeshift: "), ""]
    if isinstance(verdict, WorkloadVerdict):
        lines += [
            f"Cluster: {verdict.cluster}",
            f"Workload: {verdict.workload} ({verdict.pattern.value})",
            f"Runs on: {verdict.current_mode.value}; "
            f"advice: {verdict.recommended_mode.value} ({verdict.verdict.value})",
            f"Cost now: ${verdict.current_monthly_cost_usd:,.2f}/month; "
            f"recommended: ${verdict.recommended_monthly_cost_usd:,.2f}/month",
        ]
    else:
        lines += [
            f"Cluster: {verdict.cluster} ({verdict.instance_count} instances)",
            f"Advice: {verdict.verdict.value}",
            f"Cost now: ${verdict.monthly_cost_usd:,.2f}/month; wasted ${verdict.wasted_monthly_cost_usd:,.2f}/month",
        ]
    lines.append(f"Saves: ${verdict.monthly_savings_usd:,.2f}/month (confidence {verdict.confidence:.2f})")
    if previous_savings_usd is not None:
        lines.append(f"Previously reported saving: ${previous_savings_usd:,.2f}/month")
    if verdict.reasons:
        lines += ["", "Why:", *(f"- {r}" for r in verdict.reasons)]
    if verdict.arithmetic:
        lines += ["", "Arithmetic:", *(f"- {a}" for a in verdict.arithmetic)]
    return "\n".join(lines)


def notification_id(cluster: str, subject: str, print_: Fingerprint, generated_at: datetime) -> str:
    raw = f"{cluster}|{subject}|{print_.model_dump_json()}|{generated_at.isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def build_notification(
    verdict: Verdict,
    *,
    region: str,
    generated_at: datetime,
    previous: VerdictState | None = None,
    max_bytes: int = MESSAGE_MAX_BYTES,
) -> Notification:
    """The message for one verdict, cut to `max_bytes` of UTF-8 JSON when it would be larger."""
    subject = subject_of(verdict)
    print_ = fingerprint(verdict)
    previous_savings = None if previous is None else previous.published_savings_usd
    notification = Notification(
        notification_id=notification_id(verdict.cluster, subject, print_, generated_at),
        type=verdict.verdict.value,
        scope="workload" if isinstance(verdict, WorkloadVerdict) else "cluster",
        severity=severity_for(verdict.monthly_savings_usd),
        cluster=verdict.cluster,
        subject=subject,
        region=region,
        generated_at=generated_at,
        monthly_savings_usd=verdict.monthly_savings_usd,
        previous_monthly_savings_usd=previous_savings,
        title=render_subject(verdict),
        text=render_text(verdict, previous_savings),
        verdict=json.loads(verdict.model_dump_json()),
    )
    return fit_to_size(notification, max_bytes)


def _size(notification: Notification) -> int:
    return len(notification.body().encode("utf-8"))


def fit_to_size(notification: Notification, max_bytes: int = MESSAGE_MAX_BYTES) -> Notification:
    """Drop the evidence, then trim reasons and arithmetic, then the text, until the JSON fits."""
    if _size(notification) <= max_bytes:
        return notification
    verdict = dict(notification.verdict)
    verdict["evidence"] = {"truncated": True}
    note = "evidence removed to fit the SNS size limit; run `modeshift analyze --output json` for all of it"
    current = notification.model_copy(update={"verdict": verdict, "truncated": True, "truncation_note": note})
    for field in ("reasons", "arithmetic"):
        if _size(current) <= max_bytes:
            return current
        items = [str(item) for item in verdict.get(field, [])]
        verdict[field] = [_clip(item, 500) for item in items[:10]]
        note += f"; {field} shortened"
        current = current.model_copy(update={"verdict": dict(verdict), "truncation_note": note})
    if _size(current) > max_bytes:
        note += "; text shortened"
        current = current.model_copy(update={"text": "", "truncation_note": note})
        room = max_bytes - _size(current)
        # JSON escaping can grow a character to 6 bytes: cut the text to a safe number of characters.
        current = current.model_copy(update={"text": _clip(notification.text, max(0, room // 6))})
    return current
