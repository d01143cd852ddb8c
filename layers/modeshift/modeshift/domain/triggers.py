"""What started an analyze run: a schedule, a low-reservation alarm, a manual invoke, or nothing to act on.

`parse_trigger` is total: any input (wrong types, missing fields, foreign events) becomes an
`IgnoredTrigger` carrying the reason, never an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ALARM_NAME_PREFIX = "modeshift-"
ALARM_NAME_SUFFIX = "-low-reservation"
SCHEDULED_DETAIL_TYPE = "Scheduled Event"
ALARM_DETAIL_TYPE = "CloudWatch Alarm State Change"
SCHEDULE_SOURCES = frozenset({"aws.events", "aws.scheduler"})
ALARM_SOURCE = "aws.cloudwatch"
# ECS cluster names: up to 255 letters, digits, hyphens and underscores.
_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_ALARM_NAME = re.compile(rf"^{re.escape(ALARM_NAME_PREFIX)}(?P<cluster>.+){re.escape(ALARM_NAME_SUFFIX)}$")
# Keys a console/CLI invoke may carry: `{}` or `{"clusters": ["a", "b"]}`.
_MANUAL_KEYS = frozenset({"clusters"})
# One DescribeClusters call takes at most 100 clusters; a longer list is not a run anyone meant (and each
# name costs AWS calls): refused before any name is looked at.
MAX_TRIGGER_CLUSTERS = 100


@dataclass(frozen=True, slots=True)
class SweepTrigger:
    """Analyse every cluster (or `clusters`, when the event names some)."""

    event_id: str | None
    clusters: tuple[str, ...] = ()
    source: str = "manual"


@dataclass(frozen=True, slots=True)
class AlarmTrigger:
    """A modeshift low-reservation alarm went into ALARM: analyse that one cluster now."""

    event_id: str | None
    alarm_name: str
    cluster: str


@dataclass(frozen=True, slots=True)
class IgnoredTrigger:
    reason: str
    event_id: str | None = None


Trigger = SweepTrigger | AlarmTrigger | IgnoredTrigger


def alarm_name_for(cluster: str) -> str:
    """The one low-reservation alarm modeshift keeps per EC2-backed cluster."""
    return f"{ALARM_NAME_PREFIX}{cluster}{ALARM_NAME_SUFFIX}"


def account_and_region_of(function_arn: Any) -> tuple[str | None, str | None]:
    """(account, region) of an ARN such as arn:aws:lambda:us-east-1:123456789012:function:name."""
    if not isinstance(function_arn, str):
        return None, None
    parts = function_arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        return None, None
    return parts[4] or None, parts[3] or None


def parse_trigger(event: Any, *, account: str | None = None, region: str | None = None) -> Trigger:
    """Classify a Lambda event; `account`/`region`, when given, must match an EventBridge envelope's."""
    if not isinstance(event, Mapping):
        return IgnoredTrigger(f"event is a {type(event).__name__}, not a JSON object")
    event_id = event.get("id") if isinstance(event.get("id"), str) else None
    if "source" not in event and "detail-type" not in event and "detail" not in event:
        return _manual(event)
    source = event.get("source")
    detail_type = event.get("detail-type")
    if not isinstance(source, str) or not isinstance(detail_type, str):
        return IgnoredTrigger("EventBridge envelope without string source and detail-type", event_id)
    if account is not None and event.get("account") != account:
        return IgnoredTrigger(f"event from account {event.get('account')!r}, this function runs in {account}", event_id)
    if region is not None and event.get("region") != region:
        return IgnoredTrigger(f"event from region {event.get('region')!r}, this function runs in {region}", event_id)
    if detail_type == SCHEDULED_DETAIL_TYPE and source in SCHEDULE_SOURCES:
        return _scheduled(event.get("detail"), event_id, source)
    if detail_type == ALARM_DETAIL_TYPE and source == ALARM_SOURCE:
        return _alarm(event.get("detail"), event_id)
    return IgnoredTrigger(f"unhandled event: source {source!r}, detail-type {detail_type!r}", event_id)


def _clusters(value: Any) -> tuple[str, ...] | str:
    """A tuple of at most MAX_TRIGGER_CLUSTERS valid cluster names, or the reason the value is not one."""
    if not isinstance(value, list | tuple):
        return f"clusters must be a list of cluster names, got {type(value).__name__}"
    if len(value) > MAX_TRIGGER_CLUSTERS:
        return f"{len(value)} clusters named, at most {MAX_TRIGGER_CLUSTERS} per event"
    bad = [v for v in value if not isinstance(v, str) or not _CLUSTER_NAME.match(v)]
    if bad:
        return f"invalid cluster name(s): {', '.join(_shown(b) for b in bad[:3])}"
    return tuple(dict.fromkeys(value))


def _shown(value: Any) -> str:
    """A value quoted for a reason, cut short (a reason is logged and returned, never a payload); a container
    is named by its type only (its repr could be huge or nested beyond the recursion limit)."""
    if not isinstance(value, str | int | float | bool | None):
        return f"<{type(value).__name__}>"
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "…"


def _manual(event: Mapping[str, Any]) -> Trigger:
    unknown = sorted(str(k) for k in event if k not in _MANUAL_KEYS)
    if unknown:
        return IgnoredTrigger(f"not an EventBridge event and not a manual invoke: unknown keys {unknown[:5]}")
    if "clusters" not in event:
        return SweepTrigger(event_id=None)
    clusters = _clusters(event["clusters"])
    if isinstance(clusters, str):
        return IgnoredTrigger(f"manual invoke: {clusters}")
    return SweepTrigger(event_id=None, clusters=clusters)


def _scheduled(detail: Any, event_id: str | None, source: str) -> Trigger:
    # EventBridge Scheduler sends detail as the *string* "{}" (AWS-FACTS); a rule sends an object.
    if isinstance(detail, str):
        try:
            detail = json.loads(detail) if detail.strip() else {}
        except (ValueError, RecursionError):  # RecursionError: a string nested thousands of levels deep
            return IgnoredTrigger("scheduled event whose detail string is not JSON", event_id)
    if detail is None:
        detail = {}
    if not isinstance(detail, Mapping):
        return IgnoredTrigger(f"scheduled event whose detail is a {type(detail).__name__}", event_id)
    if "clusters" in detail:
        clusters = _clusters(detail["clusters"])
        if isinstance(clusters, str):
            return IgnoredTrigger(f"scheduled event: {clusters}", event_id)
        return SweepTrigger(event_id=event_id, clusters=clusters, source=source)
    return SweepTrigger(event_id=event_id, source=source)


def _alarm(detail: Any, event_id: str | None) -> Trigger:
    if not isinstance(detail, Mapping):
        return IgnoredTrigger("alarm state change without a detail object", event_id)
    name = detail.get("alarmName")
    if not isinstance(name, str) or not name:
        return IgnoredTrigger("alarm state change without alarmName", event_id)
    if not name.startswith(ALARM_NAME_PREFIX):
        return IgnoredTrigger(f"alarm {_shown(name)} is not a modeshift alarm", event_id)
    state = detail.get("state")
    value = state.get("value") if isinstance(state, Mapping) else None
    if value != "ALARM":
        return IgnoredTrigger(f"alarm {_shown(name)} is in state {_shown(value)}, not ALARM", event_id)
    cluster = _cluster_of_alarm(detail, name)
    if isinstance(cluster, IgnoredTrigger):
        return IgnoredTrigger(cluster.reason, event_id)
    return AlarmTrigger(event_id=event_id, alarm_name=name, cluster=cluster)


def _cluster_of_alarm(detail: Mapping[str, Any], name: str) -> str | IgnoredTrigger:
    """The cluster in the alarm's name (`modeshift-<cluster>-low-reservation`), which every ClusterName
    dimension of its metrics must repeat: modeshift writes both, so a disagreement is not modeshift's alarm."""
    match = _ALARM_NAME.match(name)
    if match is None or not _CLUSTER_NAME.match(match.group("cluster")):
        return IgnoredTrigger(f"alarm {_shown(name)} names no cluster (modeshift-<cluster>-low-reservation)")
    cluster = match.group("cluster")
    others = [value for value in _dimension_values(detail.get("configuration"), "ClusterName") if value != cluster]
    if others:
        return IgnoredTrigger(
            f"alarm {_shown(name)} is named for cluster {cluster!r} but its ClusterName dimension says "
            f"{', '.join(_shown(v) if v[:1] != '<' else v for v in others[:3])}: rejected"
        )
    return cluster


def _dimension_values(configuration: Any, dimension: str) -> list[str]:
    """Every value the metrics give `dimension`, without repeats; a value that is not a string as `<type>`
    (never a cluster name, so the caller sees a disagreement)."""
    if not isinstance(configuration, Mapping):
        return []
    metrics = configuration.get("metrics")
    if not isinstance(metrics, list):
        return []
    values: list[str] = []
    for member in metrics:
        stat = member.get("metricStat") if isinstance(member, Mapping) else None
        metric = stat.get("metric") if isinstance(stat, Mapping) else None
        dims = metric.get("dimensions") if isinstance(metric, Mapping) else None
        found: list[Any] = []
        if isinstance(dims, Mapping):  # the event's shape: {"ClusterName": "shop-ec2"}
            if dimension in dims:
                found.append(dims[dimension])
        elif isinstance(dims, list):  # the API's shape: [{"Name": ..., "Value": ...}]
            for item in dims:
                if isinstance(item, Mapping) and (item.get("Name") or item.get("name")) == dimension:
                    found.append(item.get("Value", item.get("value")))
        for value in found:
            text = value if isinstance(value, str) else f"<{type(value).__name__}>"
            if text not in values:
                values.append(text)
    return values
