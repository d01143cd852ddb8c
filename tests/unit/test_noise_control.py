"""Noise control rules: snooze tag parsing, cooldown, digest threshold, content and size; publish with a fake store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from modeshift.domain.models import Goal
from modeshift.domain.noise import (
    DIGEST_TYPE,
    SNOOZE_TAG,
    apply_snooze,
    build_digest,
    in_cooldown,
    is_snoozed,
    needs_digest,
    read_snooze,
    severity_rose,
    snoozed_until,
)
from modeshift.domain.notifications import (
    MESSAGE_MAX_BYTES,
    Fingerprint,
    Notification,
    Severity,
    VerdictState,
    build_notification,
)
from modeshift.domain.report import AnalysisReport, PricingInfo, build_report
from modeshift.publish import publish_verdicts
from tests.unit.test_notifications import cluster_verdict, workload

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
TODAY = NOW.date()
WEEK = timedelta(hours=168)


# --------------------------------------------------------------------------- snooze


@pytest.mark.parametrize(
    ("tags", "until", "note_contains"),
    [
        ({}, None, None),
        ({"team": "shop"}, None, None),
        ({SNOOZE_TAG: "2026-12-31"}, date(2026, 12, 31), None),
        ({SNOOZE_TAG: " 2026-12-31 "}, date(2026, 12, 31), None),
        ({SNOOZE_TAG: "2026-11-29"}, date(2026, 11, 29), None),  # the last day is included
        ({SNOOZE_TAG: "2026-11-28"}, None, "expired"),
        ({SNOOZE_TAG: "2020-01-01"}, None, "expired"),
        ({SNOOZE_TAG: "2026-02-30"}, None, "not a YYYY-MM-DD date"),
        ({SNOOZE_TAG: "20261231"}, None, "not a YYYY-MM-DD date"),
        ({SNOOZE_TAG: "next week"}, None, "not a YYYY-MM-DD date"),
        ({SNOOZE_TAG: ""}, None, "not a YYYY-MM-DD date"),
        ({SNOOZE_TAG: "2026-12-31T00:00:00"}, None, "not a YYYY-MM-DD date"),
        ({"modeshift:Snooze": "2026-12-31"}, None, None),  # ECS tag keys are case-sensitive
    ],
)
def test_snooze_tag_reads_a_date_in_force_and_ignores_past_or_invalid_ones(
    tags: dict[str, str], until: date | None, note_contains: str | None
) -> None:
    assert snoozed_until(tags, TODAY) == until
    reading = read_snooze(tags, TODAY)
    if note_contains is None:
        assert reading.note is None
    else:
        assert reading.note is not None and note_contains in reading.note


def test_snoozed_verdict_keeps_its_costs_and_says_until_when() -> None:
    verdict = workload(savings=300.0)
    snoozed = apply_snooze(verdict, {SNOOZE_TAG: "2026-12-31"}, TODAY)
    assert snoozed.monthly_savings_usd == verdict.monthly_savings_usd
    assert snoozed.verdict is verdict.verdict
    assert snoozed.evidence["snoozed_until"] == "2026-12-31"
    assert any(r.startswith("snoozed until 2026-12-31") for r in snoozed.reasons)
    assert is_snoozed(snoozed) and not is_snoozed(verdict)


def test_invalid_snooze_tag_is_reported_in_the_reasons_and_does_not_silence() -> None:
    verdict = apply_snooze(workload(), {SNOOZE_TAG: "soon<script>"}, TODAY)
    assert not is_snoozed(verdict)
    assert any("ignored tag modeshift:snooze" in r for r in verdict.reasons)


# --------------------------------------------------------------------------- cooldown


def _state(published_ago: timedelta | None, published_usd: float | None = 150.0) -> VerdictState:
    return VerdictState(
        cluster="shop-ec2",
        subject="service:api",
        fingerprint=Fingerprint(kind="move_to_fargate", recommended_mode="FARGATE", monthly_savings_usd=150.0),
        published_savings_usd=published_usd,
        status="published",
        updated_at=NOW - timedelta(days=30),
        published_at=None if published_ago is None else NOW - published_ago,
    )


@pytest.mark.parametrize(
    ("published_ago", "saving_now", "held"),
    [
        (None, 300.0, False),  # never sent: nothing to cool down from
        (timedelta(hours=1), 300.0, True),  # medium → medium within a week
        (timedelta(hours=1), 50.0, True),  # a fall in severity waits too
        (timedelta(hours=167, minutes=59), 300.0, True),
        (timedelta(hours=168), 300.0, False),  # the cooldown has ended
        (timedelta(days=30), 300.0, False),
        (timedelta(hours=1), 500.0, False),  # medium → high: sent at once
        (timedelta(hours=1), 499.99, True),
    ],
)
def test_cooldown_holds_a_change_unless_it_ended_or_severity_rose(
    published_ago: timedelta | None, saving_now: float, held: bool
) -> None:
    assert in_cooldown(_state(published_ago), saving_now, NOW, WEEK) is held


def test_cooldown_of_zero_hours_never_holds() -> None:
    assert not in_cooldown(_state(timedelta(minutes=1)), 300.0, NOW, timedelta(0))


@pytest.mark.parametrize(
    ("before", "now", "rose"),
    [(None, 99.0, False), (None, 100.0, True), (150.0, 499.0, False), (150.0, 500.0, True), (600.0, 50.0, False)],
)
def test_severity_rose_compares_bands_of_the_monthly_saving(before: float | None, now: float, rose: bool) -> None:
    assert severity_rose(before, now) is rose


# --------------------------------------------------------------------------- digest


@pytest.mark.parametrize(("count", "digest"), [(0, False), (1, False), (5, False), (6, True), (50, True)])
def test_digest_only_when_more_than_the_threshold(count: int, digest: bool) -> None:
    assert needs_digest(count, 5) is digest


def _messages(n: int, cluster: str = "shop-ec2", name_len: int = 12) -> list[Notification]:
    return [
        build_notification(
            workload(savings=10.0 * (i + 1), cluster=cluster, name=f"service:{str(i).zfill(name_len)}"),
            region="us-east-1",
            generated_at=NOW,
        )
        for i in range(n)
    ]


def test_digest_lists_each_verdict_by_saving_with_totals_and_the_highest_severity() -> None:
    messages = [*_messages(3), build_notification(cluster_verdict(554.8), region="us-east-1", generated_at=NOW)]
    digest = build_digest(messages, region="us-east-1", generated_at=NOW)
    assert digest.type == DIGEST_TYPE and digest.scope == "digest"
    assert digest.severity is Severity.HIGH
    assert digest.cluster == "*"  # two clusters
    assert digest.monthly_savings_usd == pytest.approx(554.8 + 10 + 20 + 30)
    items = digest.verdict["items"]
    assert [i["monthly_savings_usd"] for i in items] == [554.8, 30.0, 20.0, 10.0]
    assert digest.verdict["count"] == 4 and digest.verdict["omitted_count"] == 0
    assert digest.text.index("core-ec2") < digest.text.index("service:000000000002")
    assert len(digest.title) < 100 and "4 verdicts" in digest.title
    assert digest.attributes() == {"type": "digest", "severity": "high", "cluster": "*"}
    assert not digest.truncated


def test_digest_of_one_cluster_names_it() -> None:
    digest = build_digest(_messages(6), region="us-east-1", generated_at=NOW)
    assert digest.cluster == "shop-ec2" and "cluster shop-ec2" in digest.title
    assert digest.severity is Severity.LOW  # top saving 60 USD/month


def test_digest_id_is_stable_for_the_same_messages() -> None:
    messages = _messages(7)
    one = build_digest(messages, region="us-east-1", generated_at=NOW)
    two = build_digest(list(reversed(messages)), region="us-east-1", generated_at=NOW)
    assert one.notification_id == two.notification_id


def test_huge_digest_fits_the_sns_limit_and_summarises_the_smallest_savings() -> None:
    messages = _messages(3000, name_len=80)
    digest = build_digest(messages, region="us-east-1", generated_at=NOW)
    assert len(digest.body().encode("utf-8")) <= MESSAGE_MAX_BYTES
    kept, omitted = len(digest.verdict["items"]), digest.verdict["omitted_count"]
    assert kept > 100 and kept + omitted == 3000 and digest.truncated
    assert digest.verdict["items"][0]["monthly_savings_usd"] == 30_000.0  # the largest is kept
    assert f"and {omitted} more verdicts" in digest.text
    assert digest.monthly_savings_usd == pytest.approx(sum(m.monthly_savings_usd for m in messages))


# --------------------------------------------------------------------------- publish, with fakes


class MemoryStore:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], VerdictState] = {}

    def get(self, cluster: str, subject: str) -> VerdictState | None:
        return self.items.get((cluster, subject))

    def pending(self, clusters: list[str]) -> list[VerdictState]:
        return [s for s in self.items.values() if s.status == "pending" and s.cluster in clusters]

    def put(self, state: VerdictState, previous: VerdictState | None, now: datetime) -> VerdictState:
        written = state.model_copy(update={"revision": (previous.revision if previous else 0) + 1})
        self.items[(state.cluster, state.subject)] = written
        return written

    def mark_published(self, state: VerdictState, now: datetime) -> VerdictState:
        done = state.model_copy(
            update={
                "status": "published",
                "published_savings_usd": state.fingerprint.monthly_savings_usd,
                "published_at": now,
                "revision": state.revision + 1,
            }
        )
        self.items[(state.cluster, state.subject)] = done
        return done

    def keep_alive(self, state: VerdictState, now: datetime) -> bool:
        return False


class ListPublisher:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def publish(self, message: Notification) -> str:
        self.sent.append(message)
        return str(len(self.sent))


def _report(verdicts: list, now: datetime = NOW) -> AnalysisReport:  # type: ignore[type-arg]
    return build_report(
        generated_at=now,
        region="us-east-1",
        lookback_days=14,
        goal=Goal.BALANCED,
        pricing=PricingInfo(source="embedded", as_of=date(2026, 1, 1)),
        workloads=verdicts,
        clusters=[],
    )


@pytest.mark.parametrize(("count", "messages"), [(5, 5), (6, 1)])
def test_publish_sends_one_digest_only_above_the_threshold(count: int, messages: int) -> None:
    store, publisher = MemoryStore(), ListPublisher()
    verdicts = [workload(savings=100.0 + i, name=f"service:s{i}") for i in range(count)]
    summary = publish_verdicts(_report(verdicts), store, publisher, NOW, digest_threshold=5)
    assert len(publisher.sent) == messages == summary.published
    assert summary.digested == (count if messages == 1 else 0)
    assert all(s.status == "published" and s.published_at == NOW for s in store.items.values())


def test_publish_holds_a_change_in_cooldown_and_sends_it_after() -> None:
    store, publisher = MemoryStore(), ListPublisher()
    publish_verdicts(_report([workload(savings=150.0)]), store, publisher, NOW)
    assert len(publisher.sent) == 1

    later = NOW + timedelta(days=1)
    summary = publish_verdicts(_report([workload(savings=250.0)], later), store, publisher, later)
    assert summary.cooldown == 1 and summary.published == 0 and len(publisher.sent) == 1
    held = store.items[("shop-ec2", "service:api")]
    assert held.status == "cooldown" and held.fingerprint.monthly_savings_usd == 150.0

    rose = NOW + timedelta(days=2)
    summary = publish_verdicts(_report([workload(savings=600.0)], rose), store, publisher, rose)
    assert summary.published == 1 and publisher.sent[-1].severity is Severity.HIGH

    after = rose + WEEK
    summary = publish_verdicts(_report([workload(savings=300.0)], after), store, publisher, after)
    assert summary.published == 1 and publisher.sent[-1].monthly_savings_usd == 300.0


def test_publish_skips_a_snoozed_workload_and_sends_it_once_the_snooze_ends() -> None:
    store, publisher = MemoryStore(), ListPublisher()
    snoozed = apply_snooze(workload(savings=300.0), {SNOOZE_TAG: "2026-12-31"}, TODAY)
    summary = publish_verdicts(_report([snoozed]), store, publisher, NOW)
    assert summary.snoozed == 1 and publisher.sent == [] and store.items == {}

    later = datetime(2027, 1, 1, 6, tzinfo=UTC)
    awake = apply_snooze(workload(savings=300.0), {SNOOZE_TAG: "2026-12-31"}, later.date())
    summary = publish_verdicts(_report([awake], later), store, publisher, later)
    assert summary.published == 1 and summary.snoozed == 0
