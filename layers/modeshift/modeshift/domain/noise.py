"""Noise control rules: snooze tags, the per-verdict cooldown and the one-message digest of a busy sweep.

Rules (amounts USD per month, times timezone-aware):
- snooze: the ECS service tag `modeshift:snooze=YYYY-MM-DD` silences that workload through that day
  (inclusive); a past date is expired, an unreadable one is ignored and the verdict says so;
- cooldown: a verdict already sent is sent again for a change at most once per cooldown, unless its
  severity (from the monthly saving, see `severity_for`) rose since the last message;
- digest: more than `digest_threshold` messages in one run go out as one `digest` message, highest
  severity, lines sorted by saving, cut to fit the SNS size limit (the tail is summarised).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from modeshift.domain.models import WorkloadVerdict
from modeshift.domain.notifications import (
    MESSAGE_MAX_BYTES,
    SUBJECT_MAX_CHARS,
    Notification,
    Severity,
    VerdictState,
    severity_for,
)

SNOOZE_TAG = "modeshift:snooze"
SNOOZED_UNTIL_EVIDENCE = "snoozed_until"
DIGEST_TYPE = "digest"
DIGEST_SUBJECT = "digest"
DEFAULT_COOLDOWN = timedelta(hours=24 * 7)
DEFAULT_DIGEST_THRESHOLD = 5

_SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2}


# --------------------------------------------------------------------------- snooze


@dataclass(frozen=True)
class SnoozeReading:
    """The snooze tag read against today: `until` when it is in force, `note` when it was ignored."""

    until: date | None = None
    note: str | None = None


def read_snooze(tags: Mapping[str, str], today: date) -> SnoozeReading:
    """`modeshift:snooze=YYYY-MM-DD` in force while today <= that date; past or unreadable dates are not."""
    raw = tags.get(SNOOZE_TAG)
    if raw is None:
        return SnoozeReading()
    text = raw.strip()
    try:
        until = date.fromisoformat(text)
        if len(text) != 10:  # fromisoformat also takes 20250701; the tag's documented form is YYYY-MM-DD
            raise ValueError(text)
    except ValueError:
        return SnoozeReading(note=f"ignored tag {SNOOZE_TAG}={raw!r}: not a YYYY-MM-DD date")
    if until < today:
        return SnoozeReading(note=f"tag {SNOOZE_TAG}={text} has expired: notifications are on again")
    return SnoozeReading(until=until)


def snoozed_until(tags: Mapping[str, str], today: date) -> date | None:
    """The last day notifications stay silent for this workload, or None (no tag, expired or invalid)."""
    return read_snooze(tags, today).until


def apply_snooze(verdict: WorkloadVerdict, tags: Mapping[str, str], today: date) -> WorkloadVerdict:
    """The same verdict and costs, marked snoozed (evidence and a reason) or told why the tag was ignored."""
    reading = read_snooze(tags, today)
    if reading.until is not None:
        evidence = {**verdict.evidence, SNOOZED_UNTIL_EVIDENCE: reading.until.isoformat()}
        reason = f"snoozed until {reading.until.isoformat()} (tag {SNOOZE_TAG}): not notified before then"
        return verdict.model_copy(update={"evidence": evidence, "reasons": (*verdict.reasons, reason)})
    if reading.note is not None:
        return verdict.model_copy(update={"reasons": (*verdict.reasons, reading.note)})
    return verdict


def is_snoozed(verdict: object) -> bool:
    return isinstance(verdict, WorkloadVerdict) and bool(verdict.evidence.get(SNOOZED_UNTIL_EVIDENCE))


# --------------------------------------------------------------------------- cooldown


def severity_rose(before_usd: float | None, now_usd: float) -> bool:
    """True when the saving now lands in a higher severity band than the last message's saving."""
    return _SEVERITY_RANK[severity_for(now_usd)] > _SEVERITY_RANK[severity_for(before_usd or 0.0)]


def in_cooldown(previous: VerdictState | None, monthly_savings_usd: float, now: datetime, cooldown: timedelta) -> bool:
    """True when a change must wait: a message went out less than `cooldown` ago and the severity did not rise."""
    if previous is None or previous.published_at is None or cooldown <= timedelta(0):
        return False
    if now >= previous.published_at + cooldown:
        return False
    return not severity_rose(previous.published_savings_usd, monthly_savings_usd)


# --------------------------------------------------------------------------- digest


def needs_digest(message_count: int, threshold: int) -> bool:
    """More than `threshold` messages in one run become one digest."""
    return message_count > threshold


def _line(message: Notification) -> str:
    return f"[{message.severity.value}] {message.title.removeprefix('modeshift: ')}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _size(notification: Notification) -> int:
    return len(notification.body().encode("utf-8"))


def build_digest(
    messages: Sequence[Notification],
    *,
    region: str,
    generated_at: datetime,
    max_bytes: int = MESSAGE_MAX_BYTES,
) -> Notification:
    """One message for many: the highest severity, one line per verdict sorted by saving (largest first),
    totals; when it would not fit in `max_bytes`, the smallest savings are summarised in one line."""
    ordered = sorted(messages, key=lambda m: (-m.monthly_savings_usd, m.cluster, m.subject))
    total = round(sum(m.monthly_savings_usd for m in ordered), 2)
    clusters = sorted({m.cluster for m in ordered})
    cluster = clusters[0] if len(clusters) == 1 else "*"
    severity = max((m.severity for m in ordered), key=_SEVERITY_RANK.__getitem__, default=Severity.LOW)
    where = f"cluster {cluster}" if cluster != "*" else f"{len(clusters)} clusters"
    title = _clip(f"modeshift: {len(ordered)} verdicts in {where}, saves ${total:,.2f}/mo", SUBJECT_MAX_CHARS)
    digest_id = hashlib.sha256("\n".join(sorted(m.notification_id for m in ordered)).encode()).hexdigest()[:32]

    def render(kept: int) -> Notification:
        head, tail = ordered[:kept], ordered[kept:]
        tail_usd = round(sum(m.monthly_savings_usd for m in tail), 2)
        lines = [
            title.removeprefix("modeshift: "),
            "",
            f"{len(ordered)} verdicts changed in this sweep; together they save ${total:,.2f}/month.",
            "",
            *(_line(m) for m in head),
        ]
        if tail:
            lines.append(f"... and {len(tail)} more verdicts saving ${tail_usd:,.2f}/month together")
        lines += ["", "Run `modeshift analyze --output json` for the full verdicts."]
        items = [
            {
                "cluster": m.cluster,
                "subject": m.subject,
                "type": m.type,
                "severity": m.severity.value,
                "monthly_savings_usd": m.monthly_savings_usd,
                "summary": _line(m),
                "notification_id": m.notification_id,
            }
            for m in head
        ]
        return Notification(
            notification_id=digest_id,
            type=DIGEST_TYPE,
            scope="digest",
            severity=severity,
            cluster=cluster,
            subject=DIGEST_SUBJECT,
            region=region,
            generated_at=generated_at,
            monthly_savings_usd=total,
            title=title,
            text="\n".join(lines),
            verdict={
                "verdict": DIGEST_TYPE,
                "count": len(ordered),
                "clusters": clusters,
                "monthly_savings_usd": total,
                "items": items,
                "omitted_count": len(tail),
                "omitted_monthly_savings_usd": tail_usd,
            },
            truncated=bool(tail),
            truncation_note=(f"{len(tail)} smallest verdicts summarised to fit the SNS size limit" if tail else None),
        )

    full = render(len(ordered))
    if _size(full) <= max_bytes:
        return full
    low, high = 0, len(ordered)  # largest `kept` that fits: binary search, the body grows with `kept`
    while low < high:
        mid = (low + high + 1) // 2
        if _size(render(mid)) <= max_bytes:
            low = mid
        else:
            high = mid - 1
    return render(low)
