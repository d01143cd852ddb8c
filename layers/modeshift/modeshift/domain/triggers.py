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
    """A tuple of valid cluster names, or the reason the value is not one."""
    if not isinstance(value, list | tuple):
        return f"clusters must be a list of cluster names, got {type(value).__name__}"
    bad = [v for v in value if not isinstance(v, str) or not _CLUSTER_NAME.match(v)]
    if bad:
        return f"invalid cluster name(s): {', '.join(repr(b) for b in bad[:3])}"
    return tuple(dict.fromkeys(value))


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
        except ValueError:
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
        return IgnoredTrigger(f"alarm {name!r} is not a modeshift alarm", event_id)
    state = detail.get("state")
    value = state.get("value") if isinstance(state, Mapping) else None
    if value != "ALARM":
        return IgnoredTrigger(f"alarm {name!r} is in state {value!r}, not ALARM", event_id)
    cluster = _cluster_of_alarm(detail, name)
    if cluster is None:
        return IgnoredTrigger(f"alarm {name!r} names no ClusterName dimension and no cluster in its name", event_id)
    return AlarmTrigger(event_id=event_id, alarm_name=name, cluster=cluster)


def _cluster_of_alarm(detail: Mapping[str, Any], name: str) -> str | None:
    """ClusterName from the alarm's metrics (any member of a metric-math alarm), else from its name."""
    match = _ALARM_NAME.match(name)
    from_name = match.group("cluster") if match and _CLUSTER_NAME.match(match.group("cluster")) else None
    found = _dimension_values(detail.get("configuration"), "ClusterName")
    if len(found) == 1:
        return found[0]
    if from_name is not None and (not found or from_name in found):
        return from_name
    return None


def _dimension_values(configuration: Any, dimension: str) -> list[str]:
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
        value: Any = None
        if isinstance(dims, Mapping):  # the event's shape: {"ClusterName": "shop-ec2"}
            value = dims.get(dimension)
        elif isinstance(dims, list):  # the API's shape: [{"Name": ..., "Value": ...}]
            for item in dims:
                if isinstance(item, Mapping) and (item.get("Name") or item.get("name")) == dimension:
                    value = item.get("Value", item.get("value"))
        if isinstance(value, str) and _CLUSTER_NAME.match(value) and value not in values:
            values.append(value)
    return values
