"""The weekly-report use case: analysis → week-over-week report → private S3 pages → one summary on the topic."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from botocore.config import Config

from modeshift.adapters.aws_errors import translated
from modeshift.adapters.change_store import DynamoDbChangeStore
from modeshift.adapters.sns_publisher import ALL_AUDIENCES, SnsPublisher
from modeshift.app_sweep import LATEST_KEY as SWEEP_LATEST_KEY
from modeshift.aws import AwsClients
from modeshift.config import Settings
from modeshift.domain.changes import Change, ChangeOutcome, newly_regressed, track_changes
from modeshift.domain.notifications import severity_for
from modeshift.domain.render import (
    AUDIENCE_ATTRIBUTE,
    CHAT_DESCRIPTION_MAX_CHARS,
    CHAT_TITLE_MAX_CHARS,
    Audience,
    clip,
    escape_markdown,
)
from modeshift.domain.report import AnalysisReport, Totals
from modeshift.domain.weekly import WeeklyReport, build_weekly, render_html, render_json
from modeshift.errors import ConfigurationError, ModeshiftError
from modeshift.publish import publish_regressions
from modeshift.service import analyze

logger = logging.getLogger(__name__)

LATEST_KEY = "reports/latest.json"
HISTORY_PREFIX = "reports/analyses/"
HISTORY_WEEKS = 8  # how far back a change is measured from (the recorded changes are read as far)
PUT_ATTEMPTS = 3
PUT_BACKOFF_SECONDS = 0.5  # doubled after each failed attempt
TOP_ACTIONS = 5
MESSAGE_TYPE = "weekly_report"


def report_keys(now: datetime) -> tuple[str, str]:
    folder = f"reports/{now:%Y-%m-%d}"
    return f"{folder}/modeshift-report.html", f"{folder}/modeshift-report.json"


def _put(s3: Any, bucket: str, key: str, body: str, content_type: str, sleep: Callable[[float], None]) -> None:
    """PutObject with SSE, retried with exponential backoff; the last failure raises a modeshift error."""
    delay = PUT_BACKOFF_SECONDS
    for attempt in range(1, PUT_ATTEMPTS + 1):
        try:
            with translated("PutObject", "s3:PutObject", connection_errors=True):
                s3.put_object(
                    Bucket=bucket,
                    Key=key,
                    Body=body.encode("utf-8"),
                    ContentType=content_type,
                    ServerSideEncryption="AES256",
                )
            return
        except ModeshiftError as exc:
            if attempt == PUT_ATTEMPTS:
                raise
            logger.warning("put %s failed (attempt %d): %s", key, attempt, exc)
            sleep(delay)
            delay *= 2


def _signer(clients: AwsClients) -> Any:
    """An S3 client that presigns with SigV4 (X-Amz-Expires, up to 7 days), never the legacy SigV2."""
    return clients.session.client("s3", region_name=clients.region, config=Config(signature_version="s3v4"))


def read_previous(s3: Any, bucket: str, key: str = LATEST_KEY) -> AnalysisReport | None:
    """Last week's analysis document (or the one at `key`), or None on the first week (or when unreadable)."""
    try:
        with translated("GetObject", "s3:GetObject", connection_errors=True):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ModeshiftError as exc:
        # without s3:ListBucket a missing key answers AccessDenied, not NoSuchKey: a week with no document
        if not any(code in str(exc) for code in ("NoSuchKey", "Not Found", "AccessDenied")):
            logger.warning("%s unreadable, treated as missing: %s", key, exc)
        return None
    try:
        return AnalysisReport.model_validate_json(body)
    except ValueError as exc:
        logger.warning("%s is not a valid analysis document, treated as missing: %s", key, exc)
        return None


def history_key(at: datetime) -> str:
    """Where the analysis of `at`'s ISO week is kept: one per week (a later run that week replaces it)."""
    year, week, _ = at.isocalendar()
    return f"{HISTORY_PREFIX}{year}-W{week:02d}.json"


def read_history(s3: Any, bucket: str, now: datetime) -> list[AnalysisReport]:
    """The analyses of the HISTORY_WEEKS weeks before this one that exist, oldest first (by key: no listing)."""
    found = (read_previous(s3, bucket, history_key(now - timedelta(weeks=n))) for n in range(HISTORY_WEEKS, 0, -1))
    return [doc for doc in found if doc is not None]


def _recorded_changes(settings: Settings, clients: AwsClients, report: AnalysisReport, now: datetime) -> list[Change]:
    """What record_changes stored for the report's clusters; none (and a warning) when the table cannot be read:
    the analysis diff still finds the changes, without their caller."""
    if not settings.table_name:
        return []
    store = DynamoDbChangeStore(clients.client("dynamodb"), settings.table_name, settings.retention_days)
    try:
        return store.changes(sorted({w.cluster for w in report.workloads}), since=now - timedelta(weeks=HISTORY_WEEKS))
    except ModeshiftError as exc:
        logger.warning("recorded changes unreadable, using the analysis diff alone: %s", exc)
        return []


def measure_changes(
    settings: Settings,
    clients: AwsClients,
    s3: Any,
    bucket: str,
    report: AnalysisReport,
    previous: AnalysisReport | None,
) -> tuple[list[ChangeOutcome], list[ChangeOutcome]]:
    """Every change of the last HISTORY_WEEKS weeks measured, and the regressions this week is the first to see."""
    now = report.generated_at
    history = {d.generated_at: d for d in [*read_history(s3, bucket, now), previous] if d}
    history.pop(report.generated_at, None)
    earlier = sorted(history.values(), key=lambda d: d.generated_at)
    recorded = _recorded_changes(settings, clients, report, now)
    policy = settings.policy_options()
    outcomes = list(track_changes([*earlier, report], recorded, policy=policy))
    before = track_changes(earlier, recorded, policy=policy) if earlier else ()
    return outcomes, newly_regressed(outcomes, before)


def summary_text(
    weekly: WeeklyReport, link: str | None, missing_reason: str | None, analysis_totals: Totals | None = None
) -> str:
    """The summary in words; `analysis_totals` (the analysis document's) adds the unconfirmed savings apart."""
    t = weekly.totals
    lines = [
        f"modeshift weekly report, {weekly.region}, {weekly.generated_at:%Y-%m-%d}",
        f"Workloads: {t.workload_count} in {t.cluster_count} clusters; "
        f"current cost {t.current_monthly_cost_usd:,.2f} USD/month",
        f"Possible saving: {t.monthly_savings_usd:,.2f} USD/month; waste {t.wasted_monthly_cost_usd:,.2f} USD/month",
    ]
    if analysis_totals is not None and analysis_totals.unconfirmed_monthly_savings_usd > 0:
        lines.append(
            f"Unconfirmed: {analysis_totals.unconfirmed_monthly_savings_usd:,.2f} USD/month more, from verdicts with "
            f"confidence below {analysis_totals.confidence_floor:.2f} (not in the saving above)"
        )
    lines.append(f"Actions: {t.action_count}; failed clusters: {t.failed_cluster_count}")
    record = weekly.track_record
    if weekly.changes and record is not None:
        line = f"Changes: {len(weekly.changes)} seen, {record.measured_count} measured"
        if record.ratio is not None:
            line += (
                f"; advised ones realised {record.realised_usd:,.2f} of {record.promised_usd:,.2f} USD/month "
                f"promised ({record.ratio:.0%})"
            )
        lines.append(line)
    if weekly.no_data:
        lines.append("No data this week.")
    actions = weekly.top_actions[:TOP_ACTIONS]
    if actions:
        lines.append("")
        lines.append("Top actions:")
        for i, a in enumerate(actions, 1):
            what = f"{a.cluster}/{a.workload}" if a.workload else a.cluster
            lines.append(f"{i}. {what}: {a.change} (saves {a.monthly_savings_usd:,.2f} USD/month)")
    lines.append("")
    lines.append(f"Report: {link}" if link else f"report missing: {missing_reason}")
    return "\n".join(lines)


def summary_body(
    weekly: WeeklyReport,
    audience: Audience,
    subject: str,
    link: str | None,
    missing_reason: str | None,
    analysis_totals: Totals | None = None,
) -> str:
    """The summary as each audience's subscribers expect it: JSON (machine), text (email), a chat card."""
    if audience is Audience.MACHINE:
        unconfirmed: dict[str, float] = {}
        if analysis_totals is not None:
            # additive keys: the savings held apart from totals.monthly_savings_usd, and the floor that did it
            unconfirmed = {
                "unconfirmed_monthly_savings_usd": analysis_totals.unconfirmed_monthly_savings_usd,
                "confidence_floor": analysis_totals.confidence_floor,
            }
        return json.dumps(
            {
                "schema_version": weekly.schema_version,
                "type": MESSAGE_TYPE,
                "generated_at": weekly.generated_at.isoformat(),
                "region": weekly.region,
                "no_data": weekly.no_data,
                "totals": weekly.totals.model_dump(mode="json"),
                **unconfirmed,
                "top_actions": [a.model_dump(mode="json") for a in weekly.top_actions[:TOP_ACTIONS]],
                # additive: modeshift's own track record over the changes measured
                "track_record": None if weekly.track_record is None else weekly.track_record.model_dump(mode="json"),
                "report_url": link,
                "report_missing": missing_reason,
            }
        )
    text = summary_text(weekly, link, missing_reason, analysis_totals)
    if audience is Audience.EMAIL:
        return text
    head = text.rpartition("\n\n")[0]  # the last paragraph is the link (or why there is none)
    tail = f"Report: {link}" if link else f"report missing: {escape_markdown(missing_reason or '')}"
    card = {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": clip(escape_markdown(subject), CHAT_TITLE_MAX_CHARS),
            "description": clip(escape_markdown(head), CHAT_DESCRIPTION_MAX_CHARS - 1_000) + "\n\n" + tail,
            "keywords": ["modeshift", MESSAGE_TYPE],
            "threadId": "modeshift-weekly",
        },
    }
    return json.dumps(card)


# The sweep runs daily by default; a document older than this is not this week's fleet.
SWEEP_DOCUMENT_MAX_AGE = timedelta(days=7)


def this_week(settings: Settings, clients: AwsClients, s3: Any, now: datetime) -> AnalysisReport:
    """The last sweep's merged document (every account, region and cluster it covers) when it is recent;
    otherwise this account and region analysed now, as before the sweep existed."""
    swept = read_previous(s3, settings.report_bucket or "", SWEEP_LATEST_KEY)
    if swept is not None and timedelta(0) <= now - swept.generated_at <= SWEEP_DOCUMENT_MAX_AGE:
        return swept
    if swept is not None:
        logger.warning("last sweep document from %s is not this week's: analysing now", swept.generated_at)
    try:
        account: str | None = clients.caller_account()  # verdicts name their account, as the sweep's do
    except ModeshiftError as exc:
        logger.warning("account unknown (%s): verdicts will not name it", exc)
        account = None
    return analyze(settings, clients, now, account=account)


def run_weekly_report(
    settings: Settings, clients: AwsClients, now: datetime, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Analyse, write the HTML/JSON pages and the new baseline to S3, publish one summary. Returns a summary."""
    if not settings.report_bucket or not settings.topic_arn:
        raise ConfigurationError("weekly report needs MODESHIFT_REPORT_BUCKET and MODESHIFT_TOPIC_ARN")
    bucket = settings.report_bucket
    s3 = clients.client("s3")
    report = this_week(settings, clients, s3, now)
    previous = read_previous(s3, bucket)
    changes, regressions = measure_changes(settings, clients, s3, bucket, report, previous)
    weekly = build_weekly(report, previous, changes)
    html_key, json_key = report_keys(now)
    link: str | None = None
    missing: str | None = None
    try:
        _put(s3, bucket, html_key, render_html(weekly), "text/html; charset=utf-8", sleep)
        _put(s3, bucket, json_key, render_json(weekly), "application/json", sleep)
        link = _signer(clients).generate_presigned_url(
            "get_object",
            Params={"Bucket": bucket, "Key": html_key},
            ExpiresIn=settings.report_link_expiry_seconds,
        )
    except ModeshiftError as exc:
        logger.error("weekly report not written: %s", exc)
        missing = str(exc)
    if link is not None:
        try:
            # the new baseline only once this week's page exists, so a failed week is compared again next time
            _put(s3, bucket, LATEST_KEY, report.model_dump_json(), "application/json", sleep)
            _put(s3, bucket, history_key(now), report.model_dump_json(), "application/json", sleep)
        except ModeshiftError as exc:
            logger.warning("baseline for next week not written: %s", exc)
    # before the summary: a failed publish raises and the whole run is retried, the summary with it
    regressed = publish_regressions(
        regressions,
        report,
        SnsPublisher(clients.client("sns"), settings.topic_arn, (Audience(a) for a in settings.notify_audiences)),
        digest_threshold=settings.digest_threshold,
    )
    severity = severity_for(weekly.totals.monthly_savings_usd).value
    subject = f"modeshift weekly: save {weekly.totals.monthly_savings_usd:,.0f} USD/month"[:99]
    sns = clients.client("sns")
    message_ids = []
    audiences = {Audience(a) for a in settings.notify_audiences} or {Audience.MACHINE}
    for audience in sorted(audiences, key=ALL_AUDIENCES.index):  # machine first, as for verdicts
        attributes = {"type": MESSAGE_TYPE, "severity": severity, "cluster": "*", AUDIENCE_ATTRIBUTE: audience.value}
        with translated("Publish", "sns:Publish", connection_errors=True):
            response = sns.publish(
                TopicArn=settings.topic_arn,
                Subject=subject,
                Message=summary_body(weekly, audience, subject, link, missing, report.totals),
                MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
            )
        message_ids.append(str(response.get("MessageId", "")))
    return {
        "status": "ok" if link else "report_missing",
        "html_key": html_key if link else None,
        "json_key": json_key if link else None,
        "first_week": weekly.trend.first_week,
        "change_count": len(changes),
        "regression_messages": regressed,
        "monthly_savings_usd": weekly.totals.monthly_savings_usd,
        "message_ids": message_ids,
        "missing_reason": missing,
    }
