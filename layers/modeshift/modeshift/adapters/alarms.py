"""CloudWatch adapter keeping one low-reservation alarm per EC2-backed cluster, and none for the others.

Alarm `modeshift-<cluster>-low-reservation`: metric math MAX([CPUReservation, MemoryReservation])
(AWS/ECS, ClusterName, 5-minute Average) below the threshold for 6 of 6 periods. Missing data is not
breaching: AWS/ECS publishes nothing while no task runs, and that is not low reservation of something
running. The alarm has no actions: its state change reaches the analyze function through EventBridge.
Alarms without the `modeshift-` prefix, or not of this name shape, are never touched.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any

from modeshift.adapters.aws_errors import translated
from modeshift.domain.triggers import ALARM_NAME_PREFIX, ALARM_NAME_SUFFIX, alarm_name_for

PERIOD_SECONDS = 300
EVALUATION_PERIODS = 6
DATAPOINTS_TO_ALARM = 6
TREAT_MISSING_DATA = "notBreaching"
COMPARISON = "LessThanThreshold"
_DELETE_BATCH = 100  # DeleteAlarms takes at most 100 names


def _mapped(action: str) -> AbstractContextManager[None]:
    return translated(action, f"cloudwatch:{action}", connection_errors=True)


@dataclass
class AlarmChanges:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return asdict(self)


def cluster_of_alarm_name(name: str) -> str | None:
    if name.startswith(ALARM_NAME_PREFIX) and name.endswith(ALARM_NAME_SUFFIX):
        cluster = name[len(ALARM_NAME_PREFIX) : -len(ALARM_NAME_SUFFIX)]
        return cluster or None
    return None


def alarm_definition(cluster: str, threshold_pct: float) -> dict[str, Any]:
    """The PutMetricAlarm request for one cluster."""
    dims = [{"Name": "ClusterName", "Value": cluster}]

    def stat(query_id: str, metric: str) -> dict[str, Any]:
        return {
            "Id": query_id,
            "MetricStat": {
                "Metric": {"Namespace": "AWS/ECS", "MetricName": metric, "Dimensions": dims},
                "Period": PERIOD_SECONDS,
                "Stat": "Average",
            },
            "ReturnData": False,
        }

    return {
        "AlarmName": alarm_name_for(cluster),
        "AlarmDescription": (
            f"modeshift: the EC2 capacity of ECS cluster {cluster} is less than {threshold_pct:g}% reserved "
            f"(the larger of CPU and memory) for {EVALUATION_PERIODS * PERIOD_SECONDS // 60} minutes; "
            "re-analyses the cluster. Managed by modeshift: edits are overwritten."
        ),
        "ActionsEnabled": True,
        "Metrics": [
            stat("cpu", "CPUReservation"),
            stat("memory", "MemoryReservation"),
            {
                "Id": "reservation",
                "Expression": "MAX([cpu, memory])",
                "Label": "max(CPU, memory) reservation %",
                "ReturnData": True,
            },
        ],
        "ComparisonOperator": COMPARISON,
        "Threshold": float(threshold_pct),
        "EvaluationPeriods": EVALUATION_PERIODS,
        "DatapointsToAlarm": DATAPOINTS_TO_ALARM,
        "TreatMissingData": TREAT_MISSING_DATA,
    }


def _signature(alarm: dict[str, Any]) -> tuple[Any, ...]:
    """What must match for an existing alarm to be left alone (request and DescribeAlarms shapes alike)."""

    def metric(query: dict[str, Any]) -> tuple[Any, ...]:
        stat = query.get("MetricStat") or {}
        inner = stat.get("Metric") or {}
        dims = tuple(sorted((d.get("Name"), d.get("Value")) for d in inner.get("Dimensions") or []))
        return (
            query.get("Id"),
            query.get("Expression"),
            bool(query.get("ReturnData", True)),
            inner.get("Namespace"),
            inner.get("MetricName"),
            dims,
            stat.get("Period"),
            stat.get("Stat"),
        )

    return (
        alarm.get("ComparisonOperator"),
        float(alarm.get("Threshold") or 0.0),
        int(alarm.get("EvaluationPeriods") or 0),
        int(alarm.get("DatapointsToAlarm") or 0),
        alarm.get("TreatMissingData"),
        tuple(sorted((metric(q) for q in alarm.get("Metrics") or []), key=lambda m: str(m[0]))),
        tuple(alarm.get("AlarmActions") or ()),
    )


class ReservationAlarmManager:
    def __init__(self, cloudwatch_client: Any) -> None:
        self._client = cloudwatch_client

    def existing(self) -> dict[str, dict[str, Any]]:
        """Every metric alarm whose name starts with `modeshift-` (all pages)."""
        found: dict[str, dict[str, Any]] = {}
        paginator = self._client.get_paginator("describe_alarms")
        with _mapped("DescribeAlarms"):
            for page in paginator.paginate(AlarmNamePrefix=ALARM_NAME_PREFIX, AlarmTypes=["MetricAlarm"]):
                for alarm in page.get("MetricAlarms", []):
                    name = str(alarm.get("AlarmName", ""))
                    if name.startswith(ALARM_NAME_PREFIX):  # never trust a filter with a delete
                        found[name] = alarm
        return found

    def ensure(
        self,
        cluster_names_with_ec2: Iterable[str],
        threshold_pct: float,
        *,
        scope: Collection[str] | None = None,
        keep: Collection[str] = (),
    ) -> AlarmChanges:
        """One alarm per EC2-backed cluster, put only when missing or different; delete the stale ones.

        scope: the clusters this run looked at (None = the whole account); alarms of clusters outside
        it, or in `keep` (clusters that could not be read this run), are left as they are.
        """
        wanted = {name: alarm_definition(name, threshold_pct) for name in dict.fromkeys(cluster_names_with_ec2)}
        existing = self.existing()
        changes = AlarmChanges()
        for definition in wanted.values():
            name = definition["AlarmName"]
            current = existing.get(name)
            if current is not None and _signature(current) == _signature(definition):
                changes.unchanged.append(name)
                continue
            with _mapped("PutMetricAlarm"):
                self._client.put_metric_alarm(**definition)
            (changes.created if current is None else changes.updated).append(name)
        stale = []
        for name in sorted(existing):
            cluster = cluster_of_alarm_name(name)
            if cluster is None or cluster in wanted or cluster in keep:
                continue
            if scope is not None and cluster not in scope:
                continue
            stale.append(name)
        for first in range(0, len(stale), _DELETE_BATCH):
            with _mapped("DeleteAlarms"):
                self._client.delete_alarms(AlarmNames=stale[first : first + _DELETE_BATCH])
        changes.deleted.extend(stale)
        return changes
