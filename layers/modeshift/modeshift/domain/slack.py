"""A modeshift notification (the SNS message) rendered as a Slack Block Kit payload within Slack's limits.

Rules:
- Slack limits: at most 50 blocks; a header's text at most 150 characters; a section's text at most
  3,000; at most 10 fields per section, each at most 2,000. A text that is too long is cut and ends in
  "…"; a message that lost anything says so in a final context block;
- `&`, `<` and `>` in every string that comes from the message are escaped (`&amp;`, `&lt;`, `&gt;`), so
  a workload named `<!channel>` or `a&b` cannot ping a channel or forge a link; limits count the
  escaped text;
- the message is parsed leniently: any JSON object with the fields below (missing ones get defaults),
  or plain text, which is posted as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_BLOCKS = 50
HEADER_MAX_CHARS = 150
SECTION_TEXT_MAX_CHARS = 3_000
MAX_FIELDS = 10
FIELD_MAX_CHARS = 2_000
# The top-level `text` is the notification fallback (push, screen readers); keep it to one section's worth.
FALLBACK_MAX_CHARS = 3_000
ELLIPSIS = "…"

SEVERITY_EMOJI = {"high": ":red_circle:", "medium": ":large_orange_circle:", "low": ":white_circle:"}


class SlackNotice(BaseModel):
    """What the Slack message needs from a modeshift notification (unknown fields are ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: str | None = None
    type: str = "notification"
    severity: str = "low"
    cluster: str = ""
    subject: str = ""
    region: str = ""
    title: str = "modeshift notification"
    text: str = ""
    monthly_savings_usd: float | None = None
    reasons: tuple[str, ...] = ()
    arithmetic: tuple[str, ...] = ()
    verdict: dict[str, Any] = Field(default_factory=dict)
    truncated: bool = False
    truncation_note: str | None = None

    @field_validator("reasons", "arithmetic", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        return tuple(str(item) for item in value)

    @field_validator("severity", "type", "cluster", "subject", "region", "title", "text", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return "" if value is None else str(value)


def parse_notice(message: str, sns_subject: str | None = None) -> SlackNotice:
    """The notice in an SNS message: a modeshift notification JSON (possibly one JSON string deep), else text."""
    data: Any = _json_or_none(message)
    if isinstance(data, str):  # a JSON string holding the JSON object
        data = _json_or_none(data)
    if isinstance(data, dict) and isinstance(data.get("default"), str):  # a per-protocol message structure
        inner = _json_or_none(data["default"])
        data = inner if isinstance(inner, dict) else {"text": data["default"]}
    if not isinstance(data, dict):
        return SlackNotice(title=sns_subject or "modeshift notification", text=message)
    return _notice_from(data, sns_subject)


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None


def _notice_from(data: Mapping[str, Any], sns_subject: str | None) -> SlackNotice:
    raw_verdict = data.get("verdict")
    verdict: dict[str, Any] = raw_verdict if isinstance(raw_verdict, dict) else {}
    values: dict[str, Any] = {key: data[key] for key in SlackNotice.model_fields if key in data}
    values["verdict"] = verdict
    # Fields a renderer may keep only inside the verdict object.
    for key in ("cluster", "monthly_savings_usd", "reasons", "arithmetic"):
        if values.get(key) in (None, "", [], ()) and key in verdict:
            values[key] = verdict[key]
    if not values.get("subject"):
        values["subject"] = data.get("workload") or verdict.get("workload") or ""
    if not values.get("type") and verdict.get("verdict"):
        values["type"] = verdict["verdict"]
    if not values.get("title"):
        values["title"] = sns_subject or "modeshift notification"
    if not isinstance(values.get("monthly_savings_usd"), int | float) or isinstance(
        values.get("monthly_savings_usd"), bool
    ):
        values.pop("monthly_savings_usd", None)
    return SlackNotice.model_validate(values)


# --------------------------------------------------------------------------- text helpers


def escape(text: str) -> str:
    """Slack's three control characters as entities (`&` first, so entities are not escaped twice)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(raw: str, limit: int) -> tuple[str, bool]:
    """`raw` escaped, cut so the escaped text is at most `limit` characters ending in "…"; (text, was cut).

    The cut is made on the raw text, so an entity is never split."""
    escaped = escape(raw)
    if len(escaped) <= limit:
        return escaped, False
    keep = min(limit - len(ELLIPSIS), len(raw))
    while keep > 0 and len(escape(raw[:keep])) > limit - len(ELLIPSIS):
        keep -= len(escape(raw[:keep])) - (limit - len(ELLIPSIS))
    return escape(raw[: max(keep, 0)]).rstrip() + ELLIPSIS, True


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}/month"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# --------------------------------------------------------------------------- blocks


def bullet_limit(heading: str) -> int:
    """The longest bullet text that fits a section under `heading`, even a continued one."""
    return SECTION_TEXT_MAX_CHARS - len(f"*{heading} (continued)*") - len("\n• ")


class _Builder:
    """Collects blocks and remembers what had to be cut."""

    def __init__(self) -> None:
        self.blocks: list[dict[str, Any]] = []
        self.cuts: list[str] = []

    def text(self, raw: str, limit: int, what: str) -> str:
        text, cut = fit(raw, limit)
        if cut:
            self.cuts.append(what)
        return text

    def header(self, raw: str) -> None:
        text = self.text(raw or "modeshift", HEADER_MAX_CHARS, "title")
        self.blocks.append({"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}})

    def context(self, mrkdwn: str) -> None:
        """`mrkdwn` must already be escaped (it mixes markup with escaped values)."""
        self.blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn}]})

    def fields(self, pairs: Iterable[tuple[str, str]]) -> None:
        items = [(label, value) for label, value in pairs if value]
        if len(items) > MAX_FIELDS:
            self.cuts.append(f"{len(items) - MAX_FIELDS} fields")
            items = items[:MAX_FIELDS]
        if not items:
            return
        fields = []
        for label, value in items:
            prefix = f"*{label}*\n"
            fields.append({"type": "mrkdwn", "text": prefix + self.text(value, FIELD_MAX_CHARS - len(prefix), label)})
        self.blocks.append({"type": "section", "fields": fields})

    def bullets(self, heading: str, lines: Iterable[str]) -> None:
        """A `*heading*` then one bullet per line, packed into as few sections as fit 3,000 characters each."""
        current = f"*{heading}*"
        bullet_max_chars = bullet_limit(heading)
        for line in lines:
            bullet = "\n• " + self.text(line, bullet_max_chars, heading.lower())
            if len(current) + len(bullet) > SECTION_TEXT_MAX_CHARS:
                self._section(current)
                current = f"*{heading} (continued)*"
            current += bullet
        self._section(current)

    def paragraph(self, raw: str, what: str) -> None:
        if raw.strip():
            self._section(self.text(raw, SECTION_TEXT_MAX_CHARS, what))

    def _section(self, mrkdwn: str) -> None:
        self.blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}})


def render_slack_message(notice: SlackNotice) -> dict[str, Any]:
    """The webhook payload: `text` (the fallback) and `blocks`, all within Slack's limits."""
    verdict = notice.verdict
    builder = _Builder()
    builder.header(notice.title)
    emoji = SEVERITY_EMOJI.get(notice.severity, ":white_circle:")
    parts = [
        f"{emoji} *{fit(notice.severity or 'low', 20)[0]}*",
        f"`{builder.text(notice.type, 100, 'type')}`",
        *(builder.text(part, 500, "names") for part in (notice.cluster, notice.subject, notice.region) if part),
    ]
    builder.context(" · ".join(parts))
    current_mode, recommended_mode = verdict.get("current_mode"), verdict.get("recommended_mode")
    builder.fields(
        [
            ("Saves", _money(notice.monthly_savings_usd) if notice.monthly_savings_usd is not None else ""),
            ("Cluster", notice.cluster),
            ("Workload", notice.subject if notice.subject and notice.subject != "cluster" else ""),
            ("Runs on", str(current_mode) if current_mode else ""),
            ("Recommended", str(recommended_mode) if recommended_mode else ""),
            ("Cost now", _optional_money(verdict.get("current_monthly_cost_usd", verdict.get("monthly_cost_usd")))),
            ("Recommended cost", _optional_money(verdict.get("recommended_monthly_cost_usd"))),
            ("Wasted", _optional_money(verdict.get("wasted_monthly_cost_usd"))),
            ("Confidence", f"{c:.2f}" if (c := _number(verdict.get("confidence"))) is not None else ""),
        ]
    )
    if notice.reasons:
        builder.bullets("Why", notice.reasons)
    if notice.arithmetic:
        builder.bullets("Arithmetic", notice.arithmetic)
    if not notice.reasons and not notice.arithmetic:
        builder.paragraph(notice.text, "text")
    if notice.subject.startswith("service:"):
        builder.context("To silence this workload, tag its ECS service `modeshift:snooze=YYYY-MM-DD`.")
    return _finish(builder, notice)


def _optional_money(value: Any) -> str:
    number = _number(value)
    return "" if number is None else _money(number)


def _finish(builder: _Builder, notice: SlackNotice) -> dict[str, Any]:
    blocks = builder.blocks
    notes: list[str] = []
    if len(blocks) > MAX_BLOCKS - 1:  # keep one block for the note below
        dropped = len(blocks) - (MAX_BLOCKS - 1)
        blocks = blocks[: MAX_BLOCKS - 1]
        notes.append(f"{dropped} more blocks left out")
    if builder.cuts:
        notes.append("shortened to fit Slack: " + ", ".join(dict.fromkeys(builder.cuts)))
    if notice.truncated:
        notes.append(notice.truncation_note or "the notification was shortened to fit SNS")
    if notes:
        note = "; ".join(notes) + "; run `modeshift analyze --output json` for the full verdict"
        blocks = [*blocks, {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(note, 1_900)[0]}]}]
    fallback = notice.title
    if notice.monthly_savings_usd is not None and "saves" not in notice.title.lower():
        fallback += f" (saves {_money(notice.monthly_savings_usd)})"
    return {"text": fit(fallback, FALLBACK_MAX_CHARS)[0], "blocks": blocks}
