"""Publish use case: send each new or materially changed verdict to SNS once, remembering what was sent.

Order per verdict: write state `pending` (with the rendered message) → publish → mark `published`.
A publish that fails leaves the item `pending`; the next run retries it before anything else. A state
read or write that fails skips that verdict this run (nothing was recorded, so the next run sees it as
changed). Unchanged verdicts cost one read and no message, so a re-run publishes nothing.

Noise control (rules in `domain.noise`): a snoozed workload is neither sent nor recorded (so when the
snooze ends, a verdict never sent is news); a change to a verdict sent less than `cooldown` ago is
recorded as `cooldown` (keeping the last fingerprint) and sent by the first run after the cooldown if it
is still material, unless its severity rose (sent now); when more than `digest_threshold` messages are
due in one run, they go out as one digest and are all marked published.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from modeshift.domain.changes import ChangeOutcome, regression_notification
from modeshift.domain.noise import (
    DEFAULT_COOLDOWN,
    DEFAULT_DIGEST_THRESHOLD,
    build_digest,
    in_cooldown,
    is_snoozed,
    needs_digest,
)
from modeshift.domain.notifications import (
    Notification,
    Verdict,
    VerdictState,
    build_notification,
    fingerprint,
    is_material_change,
    is_publishable,
    subject_of,
)
from modeshift.domain.report import AnalysisReport
from modeshift.errors import ModeshiftError

logger = logging.getLogger(__name__)


class VerdictStateStore(Protocol):
    def get(self, cluster: str, subject: str) -> VerdictState | None: ...

    def pending(self, clusters: Sequence[str]) -> list[VerdictState]: ...

    def put(self, state: VerdictState, previous: VerdictState | None, now: datetime) -> VerdictState: ...

    def mark_published(self, state: VerdictState, now: datetime) -> VerdictState: ...

    def keep_alive(self, state: VerdictState, now: datetime) -> bool: ...


class Publisher(Protocol):
    def publish(self, message: Notification) -> str: ...


@dataclass
class PublishSummary:
    """published: messages SNS accepted (retries and digests included); digested: verdicts sent inside a
    digest (each also marked published); unchanged: nothing new to say; recorded: state saved, nothing to
    send (keep with no saving, insufficient data); cooldown: a change held until its cooldown ends;
    snoozed: skipped, the workload carries a snooze tag; pending: left for the next run because SNS
    failed; failed: skipped because the state store failed."""

    published: int = 0
    digested: int = 0
    unchanged: int = 0
    recorded: int = 0
    cooldown: int = 0
    snoozed: int = 0
    pending: int = 0
    failed: int = 0
    retried: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class _Due:
    """A message ready to go and the pending state that holds it."""

    state: VerdictState
    message: Notification


# The account and region the app runs in: their clusters keep their plain name as state key.
Home = tuple[str, str]


def state_cluster(verdict: Verdict, home: Home | None) -> str:
    """The cluster part of a verdict's state key: the plain name in the app's own account and region (as
    before verdicts named them), `account:region:name` elsewhere, so two accounts' `prod` never collide."""
    if home is None or verdict.account is None or (verdict.account, verdict.region) == home:
        return verdict.cluster
    return f"{verdict.account}:{verdict.region}:{verdict.cluster}"


def _clusters_of(report: AnalysisReport, home: Home | None) -> list[str]:
    verdicts: list[Verdict] = [*report.clusters, *report.workloads]
    names = [state_cluster(v, home) for v in verdicts]
    return list(dict.fromkeys(names))


def publish_verdicts(
    report: AnalysisReport,
    state_store: VerdictStateStore,
    publisher: Publisher,
    now: datetime,
    *,
    cooldown: timedelta = DEFAULT_COOLDOWN,
    digest_threshold: int = DEFAULT_DIGEST_THRESHOLD,
    home: Home | None = None,
) -> PublishSummary:
    """Retry earlier pending messages of the report's clusters, then publish what changed materially
    (one digest instead when more than `digest_threshold` messages are due). `home`: the (account, region) the
    app runs in, when the report spans others (see state_cluster)."""
    summary = PublishSummary()
    verdicts: list[Verdict] = [*report.workloads, *report.clusters]
    snoozed = {(state_cluster(v, home), subject_of(v)) for v in verdicts if is_snoozed(v)}
    due: list[_Due] = []
    try:
        pending = state_store.pending(_clusters_of(report, home))
    except ModeshiftError as exc:
        summary.errors.append(f"cannot list pending messages: {exc}")
        pending = []
    for state in pending:
        if (state.cluster, state.subject) in snoozed:
            continue  # stays pending: the verdict itself is counted as snoozed below
        summary.retried += 1
        message = _stored_message(state, summary)
        if message is not None:
            due.append(_Due(state, message))

    for verdict in verdicts:
        if is_snoozed(verdict):
            summary.snoozed += 1
            continue
        found = _handle(verdict, report, state_store, now, cooldown, summary, state_cluster(verdict, home))
        if found is not None:
            due.append(found)

    if needs_digest(len(due), digest_threshold):
        _send_digest(due, report, state_store, publisher, now, summary)
    else:
        for item in due:
            _send(item, state_store, publisher, now, summary)
    return summary


def _handle(
    verdict: Verdict,
    report: AnalysisReport,
    store: VerdictStateStore,
    now: datetime,
    cooldown: timedelta,
    summary: PublishSummary,
    cluster: str,
) -> _Due | None:
    """Record what changed; return the message to send, if any."""
    subject = subject_of(verdict)
    where = f"{cluster}/{subject}"
    try:
        previous = store.get(cluster, subject)
    except ModeshiftError as exc:
        summary.failed += 1
        summary.errors.append(f"{where}: cannot read its state, not published this run: {exc}")
        return None
    if not is_material_change(previous, verdict):
        summary.unchanged += 1
        if previous is not None:
            try:
                store.keep_alive(previous, now)
            except ModeshiftError as exc:  # only the TTL refresh failed: the verdict itself is fine
                logger.warning("cannot refresh the state expiry of %s: %s", where, exc)
        return None
    publishable = is_publishable(verdict)
    message = (
        build_notification(
            verdict, region=verdict.region or report.region, generated_at=report.generated_at, previous=previous
        )
        if publishable
        else None
    )
    held = publishable and in_cooldown(previous, verdict.monthly_savings_usd, now, cooldown)
    if held and previous is not None:
        # Keep the last fingerprint: when the cooldown ends, the change is judged against what was sent.
        state = previous.model_copy(
            update={"status": "cooldown", "message": None if message is None else message.body(), "updated_at": now}
        )
    else:
        state = VerdictState(
            cluster=cluster,
            subject=subject,
            fingerprint=fingerprint(verdict),
            published_savings_usd=None if previous is None else previous.published_savings_usd,
            published_at=None if previous is None else previous.published_at,
            status="pending" if publishable else "recorded",
            message=None if message is None else message.body(),
            updated_at=now,
        )
    try:
        written = store.put(state, previous, now)
    except ModeshiftError as exc:
        # StaleStateError included: another run wrote this verdict since we read it and owns it now.
        summary.failed += 1
        summary.errors.append(f"{where}: cannot record its state, not published this run: {exc}")
        return None
    if held:
        summary.cooldown += 1
        return None
    if message is None:
        summary.recorded += 1
        return None
    return _Due(written, message)


def _stored_message(state: VerdictState, summary: PublishSummary) -> Notification | None:
    where = f"{state.cluster}/{state.subject}"
    if state.message is None:
        summary.errors.append(f"{where}: pending without a message; left for the next analysis")
        return None
    try:
        return Notification.model_validate_json(state.message)
    except ValueError as exc:
        summary.failed += 1
        summary.errors.append(f"{where}: stored message is unreadable, not published: {exc}")
        return None


def _mark(item: _Due, store: VerdictStateStore, now: datetime, summary: PublishSummary) -> None:
    try:
        store.mark_published(item.state, now)
    except ModeshiftError as exc:
        # SNS has it; the item stays pending and may be sent again (same notification_id, so
        # subscribers can drop the duplicate).
        summary.errors.append(
            f"{item.state.cluster}/{item.state.subject}: published but its state was not updated: {exc}"
        )


def _send(item: _Due, store: VerdictStateStore, publisher: Publisher, now: datetime, summary: PublishSummary) -> None:
    try:
        publisher.publish(item.message)
    except ModeshiftError as exc:
        summary.pending += 1
        where = f"{item.state.cluster}/{item.state.subject}"
        summary.errors.append(f"{where}: publish failed, kept pending for the next run: {exc}")
        return
    summary.published += 1
    _mark(item, store, now, summary)


def _send_digest(
    due: list[_Due],
    report: AnalysisReport,
    store: VerdictStateStore,
    publisher: Publisher,
    now: datetime,
    summary: PublishSummary,
) -> None:
    digest = build_digest([d.message for d in due], region=report.region, generated_at=report.generated_at)
    try:
        publisher.publish(digest)
    except ModeshiftError as exc:
        summary.pending += len(due)
        summary.errors.append(f"digest of {len(due)} verdicts: publish failed, all kept pending: {exc}")
        return
    summary.published += 1
    summary.digested += len(due)
    for item in due:
        _mark(item, store, now, summary)


def publish_regressions(
    regressions: Sequence[ChangeOutcome],
    report: AnalysisReport,
    publisher: Publisher,
    *,
    digest_threshold: int = DEFAULT_DIGEST_THRESHOLD,
) -> int:
    """One `change_regressed` message per new regression (see `domain.changes.newly_regressed`), none for a
    snoozed workload, one digest when more than `digest_threshold` are due. A failed publish raises: the
    weekly run is retried whole, and subscribers drop the repeat by its stable notification_id."""
    snoozed = {(w.cluster, w.workload) for w in report.workloads if is_snoozed(w)}
    messages = [
        regression_notification(o, region=report.region, generated_at=report.generated_at)
        for o in regressions
        if (o.cluster, o.workload) not in snoozed
    ]
    if needs_digest(len(messages), digest_threshold):
        messages = [build_digest(messages, region=report.region, generated_at=report.generated_at)]
    for message in messages:
        publisher.publish(message)
    return len(messages)
