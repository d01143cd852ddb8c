"""The analyze-fleet use case behind the Lambda handler: trigger → analysis → publish → alarms → summary."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from modeshift.adapters.alarms import ReservationAlarmManager
from modeshift.adapters.ecs import EcsInventoryReader
from modeshift.adapters.sns_publisher import SnsPublisher
from modeshift.adapters.verdict_state import DynamoDbVerdictStateStore
from modeshift.aws import AwsClients
from modeshift.config import Settings
from modeshift.domain.models import ClusterError, ClusterVerdict, ClusterVerdictKind
from modeshift.domain.render import Audience
from modeshift.domain.report import AnalysisReport
from modeshift.domain.triggers import AlarmTrigger, IgnoredTrigger, SweepTrigger, Trigger
from modeshift.errors import ModeshiftError
from modeshift.publish import publish_verdicts
from modeshift.service import analyze

logger = logging.getLogger(__name__)

MAX_SUMMARY_ERRORS = 20  # the summary stays small; logs carry the rest


@dataclass(frozen=True, slots=True)
class _Targets:
    """The clusters a trigger may analyse: None = the Clusters setting, or every cluster when it is empty."""

    clusters: tuple[str, ...] | None
    refused: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


def _targets(trigger: SweepTrigger | AlarmTrigger, settings: Settings, clients: AwsClients) -> _Targets:
    """The Clusters setting is a boundary, not a default: a named cluster outside it is refused; the rest must
    exist (ListClusters), an unknown name is reported, not analysed."""
    named = (trigger.cluster,) if isinstance(trigger, AlarmTrigger) else trigger.clusters
    if not named:
        return _Targets(clusters=None)
    scope = set(settings.clusters)
    refused = tuple(name for name in named if scope and name not in scope)
    allowed = [name for name in named if name not in refused]
    if refused:
        logger.warning("refused: clusters outside the Clusters setting %s: %s", sorted(scope), list(refused))
    unknown: tuple[str, ...] = ()
    if allowed:
        existing = set(EcsInventoryReader(clients.client("ecs"), clients.client("ec2")).list_cluster_names())
        unknown = tuple(name for name in allowed if name not in existing)
        if unknown:
            logger.warning("not analysed: no such cluster in this account and region: %s", list(unknown))
    return _Targets(clusters=tuple(name for name in allowed if name not in unknown), refused=refused, unknown=unknown)


@dataclass
class Delivered:
    """What publishing a report and keeping its alarms did (None: not configured, or not asked)."""

    publish: dict[str, Any] | None = None
    alarms: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)


def deliver(
    report: AnalysisReport,
    settings: Settings,
    clients: AwsClients,
    now: datetime,
    *,
    sync_alarms: bool,
    alarm_scope: tuple[str, ...],
    home: tuple[str, str] | None = None,
) -> Delivered:
    """Publish what changed (when the topic and table are set) and, for a sweep with manage_alarms, keep one
    low-reservation alarm per EC2 cluster of the app's own account and region (`home`; every cluster when None).
    Failures are returned as errors: the verdicts already out are not undone."""
    delivered = Delivered()
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
            home=home,
        )
        delivered.errors += published.errors
        delivered.publish = {k: v for k, v in published.as_dict().items() if k != "errors"}
    if settings.manage_alarms and sync_alarms:

        def at_home(v: ClusterVerdict | ClusterError) -> bool:
            return home is None or v.account is None or (v.account, v.region) == home

        ec2_clusters = [
            c.cluster for c in report.clusters if at_home(c) and c.verdict is not ClusterVerdictKind.NO_EC2_CAPACITY
        ]
        try:
            changes = ReservationAlarmManager(clients.client("cloudwatch")).ensure(
                ec2_clusters,
                settings.alarm_reservation_threshold_pct,
                scope=alarm_scope or None,
                keep=[e.cluster for e in report.errors if at_home(e)],
            )
            delivered.alarms = changes.as_dict()
        except ModeshiftError as exc:
            # The verdicts are out already; a failed alarm sync is reported, and retried next sweep.
            logger.warning("low-reservation alarms not synchronised: %s", exc)
            delivered.errors.append(f"alarms: {exc}")
    return delivered


def handle_trigger(trigger: Trigger, settings: Settings, clients: AwsClients, now: datetime) -> dict[str, Any]:
    """Analyse what the trigger asks for, publish what changed (topic and table set), keep the alarms
    (manage_alarms, sweeps only). Returns a JSON-able summary; AWS failures of the analysis itself raise.

    Never analyses or publishes a cluster outside the Clusters setting (when set) or one that does not exist.
    """
    if isinstance(trigger, IgnoredTrigger):
        return {"status": "ignored", "reason": trigger.reason}
    targets = _targets(trigger, settings, clients)
    checked = {"refused_clusters": list(targets.refused), "unknown_clusters": list(targets.unknown)}
    if targets.clusters == ():
        # An empty list would mean "every cluster" to the analysis: nothing is left, so nothing runs.
        return {"status": "ignored", "reason": "no cluster left to analyse", "event_id": trigger.event_id, **checked}
    run_settings = settings.merged(clusters=targets.clusters)
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
        **checked,
        "publish": None,
        "alarms": None,
    }
    delivered = deliver(
        report,
        settings,
        clients,
        now,
        sync_alarms=isinstance(trigger, SweepTrigger),
        alarm_scope=run_settings.clusters,
    )
    summary["publish"], summary["alarms"] = delivered.publish, delivered.alarms
    errors += delivered.errors
    summary["error_count"] = len(errors)
    summary["errors"] = errors[:MAX_SUMMARY_ERRORS]
    return summary
