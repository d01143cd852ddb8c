"""The analyze-fleet use case behind the Lambda handler: trigger → analysis → publish → alarms → summary."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from modeshift.adapters.alarms import ReservationAlarmManager
from modeshift.adapters.sns_publisher import SnsPublisher
from modeshift.adapters.verdict_state import DynamoDbVerdictStateStore
from modeshift.aws import AwsClients
from modeshift.config import Settings
from modeshift.domain.models import ClusterVerdictKind
from modeshift.domain.render import Audience
from modeshift.domain.triggers import AlarmTrigger, IgnoredTrigger, SweepTrigger, Trigger
from modeshift.errors import ModeshiftError
from modeshift.publish import publish_verdicts
from modeshift.service import analyze

logger = logging.getLogger(__name__)

MAX_SUMMARY_ERRORS = 20  # the summary stays small; logs carry the rest


def _settings_for(trigger: SweepTrigger | AlarmTrigger, settings: Settings) -> Settings:
    if isinstance(trigger, AlarmTrigger):
        return settings.merged(clusters=(trigger.cluster,))
    # An event naming clusters narrows the run; otherwise MODESHIFT_CLUSTERS (or every cluster) applies.
    return settings.merged(clusters=trigger.clusters or None)


def handle_trigger(trigger: Trigger, settings: Settings, clients: AwsClients, now: datetime) -> dict[str, Any]:
    """Analyse what the trigger asks for, publish what changed (topic and table set), keep the alarms
    (manage_alarms, sweeps only). Returns a JSON-able summary; AWS failures of the analysis itself raise."""
    if isinstance(trigger, IgnoredTrigger):
        return {"status": "ignored", "reason": trigger.reason}
    run_settings = _settings_for(trigger, settings)
    report = analyze(run_settings, clients, now)
    errors = [f"cluster {e.cluster}: {e.error}" for e in report.errors]
    summary: dict[str, Any] = {
        "status": "ok",
        "trigger": "alarm" if isinstance(trigger, AlarmTrigger) else "sweep",
        "event_id": trigger.event_id,
        "clusters": sorted(c.cluster for c in report.clusters),
        "workload_count": report.totals.workload_count,
        "verdict_counts": report.totals.verdict_counts,
        "cluster_verdict_counts": report.totals.cluster_verdict_counts,
        "monthly_savings_usd": report.totals.monthly_savings_usd,
        "publish": None,
        "alarms": None,
    }
    if settings.topic_arn and settings.table_name:
        store = DynamoDbVerdictStateStore(clients.client("dynamodb"), settings.table_name, settings.retention_days)
        publisher = SnsPublisher(
            clients.client("sns"), settings.topic_arn, audiences=[Audience(a) for a in settings.notify_audiences]
        )
        published = publish_verdicts(
            report,
            store,
            publisher,
            now,
            cooldown=timedelta(hours=settings.cooldown_hours),
            digest_threshold=settings.digest_threshold,
        )
        errors += published.errors
        summary["publish"] = {k: v for k, v in published.as_dict().items() if k != "errors"}
    if settings.manage_alarms and isinstance(trigger, SweepTrigger):
        ec2_clusters = [c.cluster for c in report.clusters if c.verdict is not ClusterVerdictKind.NO_EC2_CAPACITY]
        try:
            changes = ReservationAlarmManager(clients.client("cloudwatch")).ensure(
                ec2_clusters,
                settings.alarm_reservation_threshold_pct,
                scope=run_settings.clusters or None,
                keep=[e.cluster for e in report.errors],
            )
            summary["alarms"] = changes.as_dict()
        except ModeshiftError as exc:
            # The verdicts are out already; a failed alarm sync is reported, and retried next sweep.
            logger.warning("low-reservation alarms not synchronised: %s", exc)
            errors.append(f"alarms: {exc}")
    summary["error_count"] = len(errors)
    summary["errors"] = errors[:MAX_SUMMARY_ERRORS]
    return summary
