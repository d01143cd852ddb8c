"""Publish use case: send each new or materially changed verdict to SNS once, remembering what was sent.

Order per verdict: write state `pending` (with the rendered message) → publish → mark `published`.
A publish that fails leaves the item `pending`; the next run retries it before anything else. A state
read or write that fails skips that verdict this run (nothing was recorded, so the next run sees it as
changed). Unchanged verdicts cost one read and no message, so a re-run publishes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Protocol

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
    """published: messages SNS accepted (retries included); unchanged: nothing new to say;
    recorded: state saved, nothing to send (keep with no saving, insufficient data);
    pending: left for the next run because SNS failed; failed: skipped because the state store failed."""

    published: int = 0
    unchanged: int = 0
    recorded: int = 0
    pending: int = 0
    failed: int = 0
    retried: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _clusters_of(report: AnalysisReport) -> list[str]:
    names = [c.cluster for c in report.clusters] + [w.cluster for w in report.workloads]
    return list(dict.fromkeys(names))


def publish_verdicts(
    report: AnalysisReport,
    state_store: VerdictStateStore,
    publisher: Publisher,
    now: datetime,
) -> PublishSummary:
    """Retry earlier pending messages of the report's clusters, then publish what changed materially."""
    summary = PublishSummary()
    try:
        pending = state_store.pending(_clusters_of(report))
    except ModeshiftError as exc:
        summary.errors.append(f"cannot list pending messages: {exc}")
        pending = []
    for state in pending:
        summary.retried += 1
        _send(state, state_store, publisher, now, summary)

    verdicts: list[Verdict] = [*report.workloads, *report.clusters]
    for verdict in verdicts:
        _handle(verdict, report, state_store, publisher, now, summary)
    return summary


def _handle(
    verdict: Verdict,
    report: AnalysisReport,
    store: VerdictStateStore,
    publisher: Publisher,
    now: datetime,
    summary: PublishSummary,
) -> None:
    subject = subject_of(verdict)
    where = f"{verdict.cluster}/{subject}"
    try:
        previous = store.get(verdict.cluster, subject)
    except ModeshiftError as exc:
        summary.failed += 1
        summary.errors.append(f"{where}: cannot read its state, not published this run: {exc}")
        return
    if not is_material_change(previous, verdict):
        summary.unchanged += 1
        if previous is not None:
            try:
                store.keep_alive(previous, now)
            except ModeshiftError as exc:  # only the TTL refresh failed: the verdict itself is fine
                logger.warning("cannot refresh the state expiry of %s: %s", where, exc)
        return
    publishable = is_publishable(verdict)
    message = (
        build_notification(verdict, region=report.region, generated_at=report.generated_at, previous=previous)
        if publishable
        else None
    )
    state = VerdictState(
        cluster=verdict.cluster,
        subject=subject,
        fingerprint=fingerprint(verdict),
        published_savings_usd=None if previous is None else previous.published_savings_usd,
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
        return
    if not publishable:
        summary.recorded += 1
        return
    _send(written, store, publisher, now, summary)


def _send(
    state: VerdictState,
    store: VerdictStateStore,
    publisher: Publisher,
    now: datetime,
    summary: PublishSummary,
) -> None:
    where = f"{state.cluster}/{state.subject}"
    if state.message is None:
        summary.errors.append(f"{where}: pending without a message; left for the next analysis")
        return
    try:
        message = Notification.model_validate_json(state.message)
    except ValueError as exc:
        summary.failed += 1
        summary.errors.append(f"{where}: stored message is unreadable, not published: {exc}")
        return
    try:
        publisher.publish(message)
    except ModeshiftError as exc:
        summary.pending += 1
        summary.errors.append(f"{where}: publish failed, kept pending for the next run: {exc}")
        return
    summary.published += 1
    try:
        store.mark_published(state, now)
    except ModeshiftError as exc:
        # SNS has it; the item stays pending and may be sent again (same notification_id, so
        # subscribers can drop the duplicate).
        summary.errors.append(f"{where}: published but its state was not updated: {exc}")
