"""Slack: Block Kit rendering (limits at each boundary, mrkdwn escaping, lenient parsing, one snapshot) and the
webhook URL rules (allow-listed host, https, no whitespace, never quoted in an error)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from modeshift.adapters.slack_webhook import (
    SlackWebhookClient,
    WebhookUrl,
    WebhookUrlError,
    validate_webhook_url,
    webhook_url_problem,
)
from modeshift.config import settings_from_env
from modeshift.domain.models import LaunchMode, Pattern, WorkloadVerdict, WorkloadVerdictKind
from modeshift.domain.notifications import build_notification
from modeshift.domain.slack import (
    ELLIPSIS,
    FIELD_MAX_CHARS,
    HEADER_MAX_CHARS,
    MAX_BLOCKS,
    MAX_FIELDS,
    SECTION_TEXT_MAX_CHARS,
    SlackNotice,
    bullet_limit,
    escape,
    fit,
    parse_notice,
    render_slack_message,
)
from modeshift.errors import ConfigurationError
from tests.events import load_event

SNAPSHOT = Path(__file__).parent / "snapshots" / "slack_sns_verdict_notification.json"


def notice(**overrides: Any) -> SlackNotice:
    values: dict[str, Any] = {
        "type": "move_to_fargate",
        "severity": "medium",
        "cluster": "payments-prod",
        "subject": "service:checkout-api",
        "title": "modeshift: payments-prod/service:checkout-api move to FARGATE, saves $109.78/mo",
        "monthly_savings_usd": 109.78,
        "reasons": ["steady load at 31 % reservation"],
        "verdict": {"current_mode": "EC2", "recommended_mode": "FARGATE", "confidence": 0.86},
    }
    values.update(overrides)
    return SlackNotice.model_validate(values)


def texts(value: Any) -> list[str]:
    """Every "text" string in a payload, however deep."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                found.append(item)
            else:
                found += texts(item)
    elif isinstance(value, list):
        for item in value:
            found += texts(item)
    return found


def assert_within_slack_limits(payload: dict[str, Any]) -> None:
    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_MAX_CHARS
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= SECTION_TEXT_MAX_CHARS
            fields = block.get("fields", [])
            assert len(fields) <= MAX_FIELDS
            assert all(len(field["text"]) <= FIELD_MAX_CHARS for field in fields)
        if block["type"] == "context":
            assert all(len(element["text"]) <= FIELD_MAX_CHARS for element in block["elements"])
    assert payload["text"]


def last_note(payload: dict[str, Any]) -> str:
    block = payload["blocks"][-1]
    assert block["type"] == "context"
    return str(block["elements"][0]["text"])


# ---------------------------------------------------------------- fit and escape


def test_fit_keeps_text_at_the_limit_and_cuts_one_over() -> None:
    assert fit("a" * 10, 10) == ("a" * 10, False)
    assert fit("a" * 11, 10) == ("a" * 9 + ELLIPSIS, True)


def test_fit_counts_escaped_characters_and_never_splits_an_entity() -> None:
    assert fit("&" * 3, 15) == ("&amp;" * 3, False)
    text, cut = fit("&" * 4, 15)
    assert cut and text.endswith(ELLIPSIS) and len(text) <= 15
    assert text.removesuffix(ELLIPSIS).replace("&amp;", "") == ""


def test_escape_turns_slack_control_characters_into_entities() -> None:
    assert escape("a & <b> &amp;") == "a &amp; &lt;b&gt; &amp;amp;"


# ---------------------------------------------------------------- limits at each boundary


def test_slack_header_is_kept_when_title_is_exactly_150_chars() -> None:
    payload = render_slack_message(notice(title="t" * HEADER_MAX_CHARS))
    assert payload["blocks"][0]["text"]["text"] == "t" * HEADER_MAX_CHARS
    assert "shortened" not in json.dumps(payload)


def test_slack_header_is_cut_and_said_so_when_title_is_151_chars() -> None:
    payload = render_slack_message(notice(title="t" * (HEADER_MAX_CHARS + 1)))
    header = payload["blocks"][0]["text"]["text"]
    assert len(header) == HEADER_MAX_CHARS and header.endswith(ELLIPSIS)
    assert "shortened to fit Slack: title" in last_note(payload)
    assert_within_slack_limits(payload)


def test_slack_header_is_cut_when_escaping_pushes_it_over_150() -> None:
    payload = render_slack_message(notice(title="t" * (HEADER_MAX_CHARS - 2) + "&"))
    header = payload["blocks"][0]["text"]["text"]
    assert len(header) <= HEADER_MAX_CHARS and "&amp" not in header and header.endswith(ELLIPSIS)


def _why_sections(payload: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in payload["blocks"] if "text" in b and b["text"]["text"].startswith("*Why")]


def test_slack_section_holds_reasons_that_fill_exactly_3000_chars() -> None:
    longest = bullet_limit("Why")
    rest = SECTION_TEXT_MAX_CHARS - len("*Why*") - 2 * len("\n• ") - longest
    payload = render_slack_message(notice(reasons=["r" * longest, "s" * rest]))
    (section,) = _why_sections(payload)
    assert len(section) == SECTION_TEXT_MAX_CHARS and ELLIPSIS not in section


def test_slack_section_continues_in_a_second_block_one_char_over_3000() -> None:
    longest = bullet_limit("Why")
    rest = SECTION_TEXT_MAX_CHARS - len("*Why*") - 2 * len("\n• ") - longest
    payload = render_slack_message(notice(reasons=["r" * longest, "s" * (rest + 1)]))
    sections = _why_sections(payload)
    assert len(sections) == 2 and sections[1].startswith("*Why (continued)*")
    assert ELLIPSIS not in "".join(sections)
    assert_within_slack_limits(payload)


def test_slack_bullet_is_cut_one_char_over_its_limit() -> None:
    (kept,) = _why_sections(render_slack_message(notice(reasons=["r" * bullet_limit("Why")])))
    assert not kept.endswith(ELLIPSIS)
    (cut,) = _why_sections(render_slack_message(notice(reasons=["r" * (bullet_limit("Why") + 1)])))
    assert cut.endswith(ELLIPSIS) and len(cut) == len(kept)


def test_slack_one_huge_reason_is_cut_to_one_section() -> None:
    payload = render_slack_message(notice(reasons=["<" * 5_000]))
    (section,) = _why_sections(payload)
    assert len(section) <= SECTION_TEXT_MAX_CHARS and section.endswith(ELLIPSIS)
    assert "shortened to fit Slack: why" in last_note(payload)


def test_slack_field_is_kept_at_2000_chars_and_cut_above() -> None:
    label = "*Cluster*\n"
    at_limit = render_slack_message(notice(cluster="c" * (FIELD_MAX_CHARS - len(label))))
    fields = next(b["fields"] for b in at_limit["blocks"] if "fields" in b)
    assert len(fields[1]["text"]) == FIELD_MAX_CHARS and not fields[1]["text"].endswith(ELLIPSIS)
    over = render_slack_message(notice(cluster="c" * (FIELD_MAX_CHARS - len(label) + 1)))
    fields = next(b["fields"] for b in over["blocks"] if "fields" in b)
    assert len(fields[1]["text"]) == FIELD_MAX_CHARS and fields[1]["text"].endswith(ELLIPSIS)
    assert_within_slack_limits(over)


def test_slack_fields_never_exceed_ten() -> None:
    verdict = {
        "current_mode": "EC2",
        "recommended_mode": "FARGATE",
        "current_monthly_cost_usd": 300,
        "recommended_monthly_cost_usd": 200,
        "wasted_monthly_cost_usd": 50,
        "confidence": 0.9,
    }
    payload = render_slack_message(notice(verdict=verdict))
    fields = next(b["fields"] for b in payload["blocks"] if "fields" in b)
    assert len(fields) <= MAX_FIELDS


@pytest.mark.parametrize("reasons", [44, 45, 46, 200])
def test_slack_blocks_stay_within_50_and_say_what_was_left_out(reasons: int) -> None:
    # header, context, fields, one section per ~2,900-character reason, the snooze hint
    payload = render_slack_message(notice(reasons=[f"{i} " + "x" * 2_900 for i in range(reasons)]))
    assert_within_slack_limits(payload)
    total = 3 + reasons + 1
    if total <= MAX_BLOCKS:
        assert len(payload["blocks"]) == total
    else:
        assert len(payload["blocks"]) == MAX_BLOCKS
        assert f"{total - (MAX_BLOCKS - 1)} more blocks left out" in last_note(payload)


def test_slack_message_says_so_when_sns_already_truncated_it() -> None:
    payload = render_slack_message(notice(truncated=True, truncation_note="evidence removed to fit"))
    assert "evidence removed to fit" in last_note(payload)


# ---------------------------------------------------------------- escaping


def test_slack_escapes_control_characters_in_every_user_derived_string() -> None:
    nasty = "<!channel> & <https://evil.example|click>"
    payload = render_slack_message(
        notice(
            title=nasty,
            cluster=nasty,
            subject=f"service:{nasty}",
            region=nasty,
            type=nasty,
            severity=nasty,
            reasons=[nasty],
            arithmetic=[nasty],
            verdict={"current_mode": nasty, "recommended_mode": nasty},
        )
    )
    for text in texts(payload):
        assert "<" not in text and ">" not in text, text
        assert text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").count("&") == 0, text
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in payload["text"]


def test_slack_plain_text_message_is_escaped_too() -> None:
    payload = render_slack_message(parse_notice("disk <full> & more", "a <subject>"))
    assert payload["blocks"][0]["text"]["text"] == "a &lt;subject&gt;"
    assert "disk &lt;full&gt; &amp; more" in json.dumps(payload)


# ---------------------------------------------------------------- lenient parsing


def test_parse_notice_reads_the_machine_json() -> None:
    record = load_event("sns_verdict_notification")["Records"][0]["Sns"]
    parsed = parse_notice(record["Message"], record["Subject"])
    assert (parsed.type, parsed.severity, parsed.cluster, parsed.subject) == (
        "move_to_fargate",
        "medium",
        "payments-prod",
        "service:checkout-api",
    )
    assert parsed.monthly_savings_usd == 224.59
    assert parsed.reasons and parsed.arithmetic  # taken from the verdict object


def test_parse_notice_accepts_missing_fields_nesting_and_text() -> None:
    minimal = parse_notice(json.dumps({"verdict": {"workload": "service:a", "verdict": "keep"}}), "subj")
    assert (minimal.subject, minimal.title, minimal.monthly_savings_usd) == ("service:a", "subj", None)
    nested = parse_notice(json.dumps({"default": json.dumps({"type": "tune_capacity", "cluster": "c"})}))
    assert (nested.type, nested.cluster) == ("tune_capacity", "c")
    text = parse_notice("just words", None)
    assert (text.title, text.text) == ("modeshift notification", "just words")
    odd = parse_notice(json.dumps({"monthly_savings_usd": "lots", "reasons": "one", "severity": None}))
    assert (odd.monthly_savings_usd, odd.reasons, odd.severity) == (None, ("one",), "")
    assert_within_slack_limits(render_slack_message(odd))


# ---------------------------------------------------------------- snapshot


def test_slack_payload_matches_snapshot() -> None:
    record = load_event("sns_verdict_notification")["Records"][0]["Sns"]
    payload = render_slack_message(parse_notice(record["Message"], record["Subject"]))
    assert_within_slack_limits(payload)
    if not SNAPSHOT.exists():  # first run writes it; review the file, then commit it
        SNAPSHOT.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert payload == json.loads(SNAPSHOT.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- 255-character names through the real message


def _long_verdict(name: str, reasons: tuple[str, ...]) -> WorkloadVerdict:
    return WorkloadVerdict(
        cluster=name,
        workload=f"service:{name}",
        service=name,
        task_family=name,
        verdict=WorkloadVerdictKind.MOVE_TO_FARGATE,
        current_mode=LaunchMode.EC2,
        recommended_mode=LaunchMode.FARGATE,
        pattern=Pattern.STEADY,
        current_monthly_cost_usd=296.67,
        recommended_monthly_cost_usd=72.08,
        monthly_savings_usd=224.59,
        confidence=0.86,
        reasons=reasons,
        arithmetic=tuple(f"line {i}: " + "a" * 2_500 for i in range(30)),
    )


@pytest.mark.parametrize(
    "name",
    [pytest.param("n" * 255, id="letters"), pytest.param("&" * 255, id="ampersands"), pytest.param("<" * 255, id="lt")],
)
def test_slack_message_keeps_every_field_within_limits_when_names_are_255_chars(name: str) -> None:
    reasons = tuple(f"reason {i} <!channel> & " + "r" * 2_900 for i in range(60))
    message = build_notification(_long_verdict(name, reasons), region="eu-west-1", generated_at=datetime.now(UTC))
    payload = render_slack_message(parse_notice(message.body(), message.title))
    assert_within_slack_limits(payload)
    assert len(payload["text"]) <= SECTION_TEXT_MAX_CHARS
    for text in texts(payload):
        assert "<" not in text and ">" not in text
        assert text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").count("&") == 0
    assert "run `modeshift analyze --output json` for the full verdict" in last_note(payload)


# ---------------------------------------------------------------- webhook URL rules

TOKEN = "SUPERSECRETTOKEN"
GOOD = f"https://hooks.slack.com/services/T000/B000/{TOKEN}"


@pytest.mark.parametrize(
    ("url", "hosts", "problem"),
    [
        (f"https://hooks.slack.com/services/T000/B000/SUPERSECRET\n{TOKEN}", None, "whitespace, a control character"),
        (f"https://hooks.slack.com/services/T000/B000/SUPERSECRET {TOKEN}", None, "whitespace"),
        (f"https://hooks.slack.com/services/T000/B000/{TOKEN}\t", None, "whitespace"),
        (f"https://hooks.slack.com/services/T000/B000/{TOKEN}\u00e9", None, "non-ASCII"),
        (f"https://hooks.slack.com/services/T000/B000/{TOKEN}\x00", None, "control character"),
        (f"https://evil.example.com/services/T000/B000/{TOKEN}", None, "allowed host"),
        (f"https://hooks.slack.com.evil.example/services/T000/B000/{TOKEN}", None, "allowed host"),
        (f"https://evil.example@hooks.slack.com/services/T000/B000/{TOKEN}", None, "user credentials"),
        (f"http://hooks.slack.com/services/T000/B000/{TOKEN}", None, "must use https"),
        (f"https://hooks.slack.com:8443/services/T000/B000/{TOKEN}", None, "default https port"),
        (f"https://hooks.slack.com:99999/services/T000/B000/{TOKEN}", None, "not a valid absolute URL"),
        (f"https://hooks.slack.com/services/T000/B000/{TOKEN}#frag", None, "fragment"),
        ("https://hooks.slack.com/", None, "no webhook path"),
        (f"ftp://hooks.slack.com/services/T000/B000/{TOKEN}", None, "must use https"),
        (f"hooks.slack.com/services/T000/B000/{TOKEN}", None, "not a valid absolute URL"),
        (f"https://[::1/services/T000/B000/{TOKEN}", None, "not a valid absolute URL"),
        # http only to a loopback host, and only one the allow-list names
        (f"http://127.0.0.1:8080/services/T000/B000/{TOKEN}", None, "allowed host"),
        (f"http://10.0.0.1/services/T000/B000/{TOKEN}", ("10.0.0.1",), "must use https"),
        (f"http://localhost.evil.example/services/T000/B000/{TOKEN}", ("localhost.evil.example",), "https"),
        ("", None, "is empty"),
        ("https://hooks.slack.com/" + "a" * 3_000, None, "longer than"),
    ],
)
def test_webhook_url_is_rejected_without_quoting_it_when_it_breaks_a_rule(
    url: str, hosts: tuple[str, ...] | None, problem: str
) -> None:
    found = webhook_url_problem(url, hosts) if hosts else webhook_url_problem(url)
    assert found is not None and problem in found
    with pytest.raises(WebhookUrlError) as raised:
        validate_webhook_url(url, hosts) if hosts else validate_webhook_url(url)
    for text in (str(raised.value), repr(raised.value), found):
        assert "SUPERSECRET" not in text and "T000" not in text and "evil" not in text
    assert raised.value.__cause__ is None and raised.value.__context__ is None


@pytest.mark.parametrize(
    ("url", "hosts"),
    [
        (GOOD, ("hooks.slack.com",)),
        (GOOD.replace("hooks.slack.com", "HOOKS.Slack.com"), ("hooks.slack.com",)),
        (GOOD.replace("/services/", ":443/services/"), ("hooks.slack.com",)),
        (GOOD + "?rotated=1", ("hooks.slack.com",)),
        (f"http://127.0.0.1:8080/services/T000/B000/{TOKEN}", ("hooks.slack.com", "127.0.0.1")),
        (f"http://localhost/services/T000/B000/{TOKEN}", ("localhost",)),
        (f"http://[::1]:9/services/T000/B000/{TOKEN}", ("::1",)),
        (f"https://hooks.example.org/services/T000/B000/{TOKEN}", ("hooks.example.org",)),
    ],
)
def test_webhook_url_is_accepted_when_it_follows_every_rule(url: str, hosts: tuple[str, ...]) -> None:
    checked = validate_webhook_url(url, hosts)
    assert checked.reveal() == url
    assert TOKEN not in repr(checked) and TOKEN not in str(checked) and TOKEN not in f"{checked!r} {checked}"


def test_webhook_client_never_shows_the_url_and_trusts_only_checked_urls() -> None:
    client = SlackWebhookClient(GOOD)
    assert TOKEN not in repr(client) and TOKEN not in repr(vars(client))
    with pytest.raises(WebhookUrlError):
        SlackWebhookClient("http://127.0.0.1:9/services/x")  # loopback not allow-listed by default
    assert SlackWebhookClient("http://127.0.0.1:9/services/x", allowed_hosts=("127.0.0.1",))
    assert SlackWebhookClient(WebhookUrl("http://127.0.0.1:9/services/x"))  # checked already, by the secret reader


def test_webhook_hosts_setting_defaults_to_slack_and_takes_exact_host_names() -> None:
    assert settings_from_env({}).slack_webhook_hosts == ("hooks.slack.com",)
    hosts = settings_from_env({"MODESHIFT_SLACK_WEBHOOK_HOSTS": "Hooks.Slack.com, 127.0.0.1,"}).slack_webhook_hosts
    assert hosts == ("hooks.slack.com", "127.0.0.1")
    for bad in ("*.slack.com", "https://hooks.slack.com", "hooks.slack.com:443", "hooks.slack.com/services", ","):
        with pytest.raises(ConfigurationError, match="slack_webhook_hosts"):
            settings_from_env({"MODESHIFT_SLACK_WEBHOOK_HOSTS": bad})
