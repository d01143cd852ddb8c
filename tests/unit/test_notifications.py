"""SNS message rules: subject shape, severity table, material-change table, publishability, size cap."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modeshift.domain.models import (
    ClusterVerdict,
    ClusterVerdictKind,
    LaunchMode,
    Pattern,
    WorkloadVerdict,
    WorkloadVerdictKind,
)
from modeshift.domain.notifications import (
    MESSAGE_MAX_BYTES,
    NOTIFICATION_SCHEMA_VERSION,
    SUBJECT_MAX_CHARS,
    Notification,
    Severity,
    VerdictState,
    build_notification,
    fingerprint,
    is_material_change,
    is_publishable,
    render_subject,
    severity_for,
)

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def workload(
    savings: float = 109.78,
    kind: WorkloadVerdictKind = WorkloadVerdictKind.MOVE_TO_FARGATE,
    mode: LaunchMode | None = None,
    cluster: str = "shop-ec2",
    name: str = "service:api",
    evidence: dict[str, Any] | None = None,
) -> WorkloadVerdict:
    if mode is None:  # the mode a move names
        moves = kind.value.startswith("move_to_")
        mode = LaunchMode(kind.value.removeprefix("move_to_").upper()) if moves else LaunchMode.EC2
    return WorkloadVerdict(
        cluster=cluster,
        workload=name,
        service=name.removeprefix("service:"),
        task_family="api",
        verdict=kind,
        current_mode=LaunchMode.EC2,
        recommended_mode=mode,
        pattern=Pattern.STEADY,
        # a saving larger than the default bill comes from a bill twice its size: costs are never negative
        current_monthly_cost_usd=max(253.94, round(2 * savings, 2)),
        recommended_monthly_cost_usd=max(253.94, round(2 * savings, 2)) - savings,
        monthly_savings_usd=savings,
        confidence=0.97,
        reasons=("steady load", "FARGATE would cost less"),
        arithmetic=("savings: $253.94 − $144.16 = $109.78/month",),
        evidence=evidence or {"features": {"avg_tasks": 4.0}},
    )


def cluster_verdict(
    savings: float = 554.8, kind: ClusterVerdictKind = ClusterVerdictKind.TUNE_CAPACITY
) -> ClusterVerdict:
    return ClusterVerdict(
        cluster="core-ec2",
        verdict=kind,
        instance_count=6,
        monthly_cost_usd=832.2,
        wasted_monthly_cost_usd=624.15,
        cpu_reservation_pct=25.0,
        memory_reservation_pct=20.5,
        monthly_savings_usd=savings,
        confidence=0.9,
        reasons=("6 of 6 instances run no task now",),
    )


def state(
    verdict: WorkloadVerdict | ClusterVerdict, published: float | None, status: str = "published"
) -> VerdictState:
    return VerdictState(
        cluster=verdict.cluster,
        subject=verdict.workload if isinstance(verdict, WorkloadVerdict) else "cluster",
        fingerprint=fingerprint(verdict),
        published_savings_usd=published,
        status=status,  # type: ignore[arg-type]
        updated_at=NOW,
    )


# --------------------------------------------------------------------------- severity


@pytest.mark.parametrize(
    ("savings", "severity"),
    [
        (0.0, Severity.LOW),
        (99.99, Severity.LOW),
        (100.0, Severity.MEDIUM),
        (499.99, Severity.MEDIUM),
        (500.0, Severity.HIGH),
        (5_000.0, Severity.HIGH),
        (-20.0, Severity.LOW),
    ],
)
def test_severity_follows_the_monthly_saving_table(savings: float, severity: Severity) -> None:
    assert severity_for(savings) is severity


# --------------------------------------------------------------------------- material change

BASE = workload(savings=100.0)


@pytest.mark.parametrize(
    ("previous", "current", "material"),
    [
        (None, BASE, True),  # never seen
        (state(BASE, 100.0), workload(savings=100.0), False),  # same verdict again
        (state(BASE, 100.0), workload(savings=119.99), False),  # +19.99 %: below 20 %
        (state(BASE, 100.0), workload(savings=120.0), True),  # +20 % and +20 USD
        (state(BASE, 100.0), workload(savings=80.0), True),  # −20 %
        (state(workload(savings=30.0), 30.0), workload(savings=39.0), False),  # +30 % but only 9 USD
        (state(workload(savings=30.0), 30.0), workload(savings=40.0), True),  # +33 % and 10 USD
        (state(workload(savings=1000.0), 1000.0), workload(savings=1150.0), False),  # 150 USD but 15 %
        (state(BASE, 100.0), workload(savings=100.0, kind=WorkloadVerdictKind.MOVE_TO_FARGATE_SPOT), True),
        # (a move's kind names its mode, so "same kind, other mode" cannot be built any more)
        # drift is measured from the last *published* saving, not the last one seen
        (state(workload(savings=115.0), 100.0), workload(savings=121.0), True),
        # never published (pending): compare with the saving recorded
        (state(workload(savings=50.0), None, "pending"), workload(savings=52.0), False),
        (state(workload(savings=0.0, kind=WorkloadVerdictKind.KEEP), None, "recorded"), workload(savings=10.0), True),
    ],
)
def test_material_change_table(previous: VerdictState | None, current: WorkloadVerdict, material: bool) -> None:
    assert is_material_change(previous, current) is material


def test_cluster_verdict_change_is_judged_on_kind_and_saving() -> None:
    before = cluster_verdict(554.8)
    assert not is_material_change(state(before, 554.8), cluster_verdict(560.0))
    assert is_material_change(state(before, 554.8), cluster_verdict(700.0))
    assert is_material_change(state(before, 554.8), cluster_verdict(0.0, ClusterVerdictKind.KEEP))


# --------------------------------------------------------------------------- publishable


@pytest.mark.parametrize(
    ("verdict", "publishable"),
    [
        (workload(), True),
        (workload(savings=0.0, kind=WorkloadVerdictKind.KEEP, mode=LaunchMode.EC2), False),
        (workload(savings=0.0, kind=WorkloadVerdictKind.INSUFFICIENT_DATA, mode=LaunchMode.EC2), False),
        (cluster_verdict(), True),
        (cluster_verdict(0.0, ClusterVerdictKind.KEEP), False),
        (cluster_verdict(0.0, ClusterVerdictKind.NO_EC2_CAPACITY), False),
        (cluster_verdict(0.0, ClusterVerdictKind.INSUFFICIENT_DATA), False),
    ],
)
def test_keep_without_saving_and_insufficient_data_are_not_published(verdict: Any, publishable: bool) -> None:
    assert is_publishable(verdict) is publishable


# --------------------------------------------------------------------------- subject


def test_subject_names_cluster_workload_and_saving() -> None:
    assert render_subject(workload()) == "modeshift: shop-ec2/service:api move to FARGATE, saves $109.78/mo"
    assert render_subject(cluster_verdict()) == "modeshift: cluster core-ec2 tune capacity, saves $554.80/mo"


@pytest.mark.parametrize(
    ("cluster", "name"),
    [
        ("c" * 255, "service:" + "s" * 255),
        ("short", "service:" + "s" * 255),
        ("c" * 255, "service:a"),
        ("line\nbreak\r\tcluster", "service:multi\nline"),
    ],
)
def test_subject_is_under_100_chars_without_line_breaks_for_long_names(cluster: str, name: str) -> None:
    verdict = workload(cluster=cluster, name=name, savings=123456.78)
    subject = render_subject(verdict)
    assert len(subject) < 100
    assert len(subject) <= SUBJECT_MAX_CHARS
    assert "\n" not in subject and "\r" not in subject and "\t" not in subject
    assert subject.endswith("saves $123,456.78/mo")
    assert cluster[:3] in subject and "service:" in subject


@given(st.text(min_size=1, max_size=300), st.text(min_size=1, max_size=300), st.floats(0.01, 1e7))
def test_subject_rule_holds_for_any_names(cluster: str, name: str, savings: float) -> None:
    subject = render_subject(workload(cluster=cluster, name=name, savings=savings))
    assert len(subject) < 100
    assert not any(ch in subject for ch in "\r\n\x00")


# --------------------------------------------------------------------------- message


def test_message_carries_version_type_severity_cluster_subject_and_full_verdict() -> None:
    verdict = workload()
    message = build_notification(verdict, region="us-east-1", generated_at=NOW)
    body = json.loads(message.body())
    assert body["schema_version"] == NOTIFICATION_SCHEMA_VERSION == "1.0"
    assert (body["type"], body["severity"], body["cluster"], body["subject"]) == (
        "move_to_fargate",
        "medium",
        "shop-ec2",
        "service:api",
    )
    assert body["verdict"] == json.loads(verdict.model_dump_json())
    assert body["truncated"] is False
    assert message.attributes() == {"type": "move_to_fargate", "severity": "medium", "cluster": "shop-ec2"}
    assert "Saves: $109.78/month" in body["text"]
    assert Notification.model_validate_json(message.body()) == message


def test_cluster_message_has_cluster_subject() -> None:
    body = json.loads(build_notification(cluster_verdict(), region="us-east-1", generated_at=NOW).body())
    assert (body["type"], body["subject"], body["scope"], body["severity"]) == (
        "tune_capacity",
        "cluster",
        "cluster",
        "high",
    )


def test_oversized_evidence_is_cut_to_the_sns_limit_and_the_message_says_so() -> None:
    verdict = workload(evidence={"series": ["x" * 1000] * 400})  # ~400 KB of evidence
    message = build_notification(verdict, region="us-east-1", generated_at=NOW)
    size = len(message.body().encode("utf-8"))
    assert size <= MESSAGE_MAX_BYTES < 262_144
    assert message.truncated
    assert message.truncation_note and "evidence removed" in message.truncation_note
    assert message.verdict["evidence"] == {"truncated": True}
    assert message.verdict["reasons"] == list(verdict.reasons)  # only what had to go went


def test_oversized_reasons_and_text_are_cut_too() -> None:
    huge = tuple("é\n" * 20_000 for _ in range(20))  # multibyte and escaped characters
    verdict = workload().model_copy(update={"reasons": huge, "arithmetic": huge})
    message = build_notification(verdict, region="us-east-1", generated_at=NOW)
    assert len(message.body().encode("utf-8")) <= MESSAGE_MAX_BYTES
    assert message.truncated and "text shortened" in (message.truncation_note or "")


def test_notification_id_is_stable_for_the_same_verdict_and_run() -> None:
    first = build_notification(workload(), region="us-east-1", generated_at=NOW)
    again = build_notification(workload(), region="us-east-1", generated_at=NOW)
    other = build_notification(workload(savings=200.0), region="us-east-1", generated_at=NOW)
    assert first.notification_id == again.notification_id != other.notification_id


# --------------------------------------------------------------------------- sample events: the arithmetic adds up

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_MAX_SAMPLE_DEPTH = 12  # an SNS record inside an SQS body inside an event is about 6 deep


def _n(text: str) -> float:
    return float(text.replace(",", ""))


def _verdict_messages(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every notification (a JSON object with a `verdict` object) anywhere in an event, JSON strings included.

    Some samples are hostile on purpose (bodies nested thousands deep): such depths are skipped, not read."""
    if depth > _MAX_SAMPLE_DEPTH:
        return
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return
    if isinstance(value, dict):
        if isinstance(value.get("verdict"), dict) and "schema_version" in value:
            yield value
            return
        for item in value.values():
            yield from _verdict_messages(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _verdict_messages(item, depth + 1)


def _sample_messages() -> list[Any]:
    found = []
    for path in sorted(EVENTS_DIR.glob("*.json")):
        try:
            event = json.loads(path.read_text(encoding="utf-8"))
        except RecursionError:  # a hostile sample nested too deep to load carries no verdict to check
            continue
        subjects = [
            record["Sns"].get("Subject")
            for record in event.get("Records", [])
            if isinstance(record, dict) and isinstance(record.get("Sns"), dict)
        ]
        for index, message in enumerate(_verdict_messages(event)):
            subject = subjects[index] if index < len(subjects) else None
            found.append(pytest.param(message, subject, id=f"{path.stem}-{index}"))
    return found


# Each rule reads one shape of arithmetic line (the shapes the policy writes) and yields (computed, stated)
# pairs: dollars must agree to the cent; a percentage (marked by a third item, its tolerance) to its decimal.
_ARITHMETIC_RULES: list[tuple[re.Pattern[str], Any]] = [
    (  # pricing.fargate_monthly_cost
        re.compile(
            rf"(?P<tasks>{_NUMBER}) tasks avg × \((?P<vcpu>{_NUMBER}) vCPU × \$(?P<vr>{_NUMBER}) \+ "
            rf"(?P<gb>{_NUMBER}) GB × \$(?P<gr>{_NUMBER})\) × (?P<h>{_NUMBER}) h × \(1 − (?P<d>{_NUMBER})%\) "
            rf"= \$(?P<total>{_NUMBER})/month"
        ),
        lambda m: [
            (
                _n(m["tasks"])
                * (_n(m["vcpu"]) * _n(m["vr"]) + _n(m["gb"]) * _n(m["gr"]))
                * _n(m["h"])
                * (1 - _n(m["d"]) / 100),
                _n(m["total"]),
            )
        ],
    ),
    (  # policy.allocate_cluster_cost
        re.compile(
            rf"\$(?P<bill>{_NUMBER})/month cluster bill × (?P<units>{_NUMBER}) of (?P<total>{_NUMBER}) .*?"
            rf"\((?P<pct>{_NUMBER})%\) = \$(?P<cost>{_NUMBER})/month"
        ),
        lambda m: [
            (_n(m["bill"]) * _n(m["units"]) / _n(m["total"]), _n(m["cost"])),
            (100 * _n(m["units"]) / _n(m["total"]), _n(m["pct"]), 0.05),
        ],
    ),
    (  # instances × hourly price × hours, compute and operator time, then their sum
        re.compile(
            rf"(?P<n>{_NUMBER}) × \S+ at \$(?P<rate>{_NUMBER})/h × (?P<h>{_NUMBER}) h = \$(?P<compute>{_NUMBER}) "
            rf"compute \+ (?P<on>{_NUMBER}) instances × \$(?P<orate>{_NUMBER})/instance-h × (?P<oh>{_NUMBER}) h = "
            rf"\$(?P<operator>{_NUMBER}) operator time = \$(?P<bill>{_NUMBER})/month"
        ),
        lambda m: [
            (_n(m["n"]) * _n(m["rate"]) * _n(m["h"]), _n(m["compute"])),
            (_n(m["on"]) * _n(m["orate"]) * _n(m["oh"]), _n(m["operator"])),
            (_n(m["compute"]) + _n(m["operator"]), _n(m["bill"])),
        ],
    ),
    (  # a difference
        re.compile(rf"\$(?P<a>{_NUMBER}) − \$(?P<b>{_NUMBER}) = \$(?P<c>{_NUMBER})"),
        lambda m: [(_n(m["a"]) - _n(m["b"]), _n(m["c"]))],
    ),
]


def _usd_fields(value: Any, path: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_usd") and isinstance(item, int | float) and not isinstance(item, bool):
                yield f"{path}{key}", float(item)
            yield from _usd_fields(item, f"{path}{key}.")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _usd_fields(item, f"{path}{index}.")


SAMPLE_MESSAGES = _sample_messages()


def test_sample_events_carry_at_least_one_verdict_to_check() -> None:
    assert SAMPLE_MESSAGES, "no events/*.json carries a notification with a verdict"


@pytest.mark.parametrize(("message", "sns_subject"), SAMPLE_MESSAGES)
def test_sample_event_arithmetic_adds_up(message: dict[str, Any], sns_subject: str | None) -> None:
    verdict = message["verdict"]
    savings = verdict["monthly_savings_usd"]
    # no negative money anywhere, and the headline saving is the verdict's
    negative = [(name, amount) for name, amount in _usd_fields(message) if amount < 0]
    assert not negative, negative
    assert message["monthly_savings_usd"] == savings
    if "current_monthly_cost_usd" in verdict:  # a workload: now − recommended = saving, to the cent
        current, recommended = verdict["current_monthly_cost_usd"], verdict["recommended_monthly_cost_usd"]
        assert round(current - recommended, 2) == pytest.approx(savings, abs=0.005)
        assert f"Cost now: ${current:,.2f}/month; recommended: ${recommended:,.2f}/month" in message["text"]
        stated_results = {_n(r) for line in verdict["arithmetic"] for r in re.findall(rf"= \$({_NUMBER})", line)}
        assert {current, recommended} <= stated_results  # both costs come out of the arithmetic shown
    else:  # a cluster: the saving and the waste fit inside the bill
        assert 0 <= verdict["wasted_monthly_cost_usd"] <= verdict["monthly_cost_usd"]
        assert savings <= verdict["monthly_cost_usd"]
    assert severity_for(savings).value == message["severity"]
    headline = f"saves ${savings:,.2f}/mo"
    assert message["title"].endswith(headline)
    assert sns_subject is None or sns_subject.endswith(headline)
    assert f"Saves: ${savings:,.2f}/month" in message["text"]
    # every arithmetic line is one the rules can check, and each checks out to the cent (percentages to 0.1)
    for line in verdict["arithmetic"]:
        pairs = [
            pair for pattern, check in _ARITHMETIC_RULES for match in pattern.finditer(line) for pair in check(match)
        ]
        assert pairs, f"no rule reads this arithmetic line (add one): {line}"
        for computed, stated, *tolerance in pairs:
            assert round(computed, 2) == pytest.approx(stated, abs=tolerance[0] if tolerance else 0.005), line
