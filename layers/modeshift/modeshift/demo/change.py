"""The demo's one change: catalog leaves its EC2 host for Fargate halfway through the 14 days.

What an operator would do, through the same APIs: modeshift's analysis of the week before (only that
cluster, seven days ending halfway), then the service re-created on Fargate. The CloudTrail event AWS
would deliver for that CreateService call (EventBridge `AWS API Call via CloudTrail`, dated halfway) goes
through the same reading as record_changes; the weekly page then measures the switch.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from modeshift.demo import seed
from modeshift.demo.fleet import (
    CATALOG,
    CATALOG_CPU_UNITS,
    CATALOG_MEMORY_MIB,
    CATALOG_TASKS,
    LEGACY_CLUSTER,
    LOOKBACK_DAYS,
)
from modeshift.domain.changes import Change, change_from_cloudtrail
from modeshift.domain.report import AnalysisReport

DEMO_ACCOUNT = "123456789012"
DEMO_PRINCIPAL = f"arn:aws:sts::{DEMO_ACCOUNT}:assumed-role/PlatformAdmin/demo-operator"


# the analysis the operator read, a little before they made the move
ANALYSED_BEFORE_MOVE = timedelta(minutes=10)


def moved_at(now: datetime) -> datetime:
    """Halfway through the lookback, to the second (CloudTrail's eventTime has no fraction)."""
    return (now - timedelta(days=LOOKBACK_DAYS / 2)).replace(microsecond=0)


def analyse_before(session: Any, region: str, now: datetime) -> AnalysisReport:
    """The analysis an operator had when they moved: legacy-ec2 alone, the seven days before the move."""
    from modeshift.aws import AwsClients
    from modeshift.config import build_settings
    from modeshift.service import analyze

    settings = build_settings(
        {"region": region, "clusters": (LEGACY_CLUSTER,), "lookback_days": int(LOOKBACK_DAYS / 2)}
    )
    return analyze(settings, AwsClients(region=region, session=session), moved_at(now) - ANALYSED_BEFORE_MOVE)


def move_to_fargate(session: Any, region: str, now: datetime) -> Change:
    """Re-create catalog on Fargate (a Fargate revision, awsvpc) and read the CloudTrail event for it."""
    ecs, ec2 = session.client("ecs", region_name=region), session.client("ec2", region_name=region)
    task_definition = seed.register_task_definition(
        ecs, CATALOG, cpu_units=CATALOG_CPU_UNITS, memory_mib=CATALOG_MEMORY_MIB, compatibilities=("FARGATE",)
    )
    ecs.delete_service(cluster=LEGACY_CLUSTER, service=CATALOG, force=True)
    network = seed.create_network(ec2, cidr="10.43.0.0/16")
    seed.create_service(
        ecs, LEGACY_CLUSTER, CATALOG, task_definition, desired_count=CATALOG_TASKS, launch_type="FARGATE",
        network=network,
    )  # fmt: skip
    change = change_from_cloudtrail(_create_service_event(region, moved_at(now), task_definition))
    if change is None:  # a CreateService that sets a launch type is always a change
        raise ValueError("the demo's CreateService event records no change")
    return change


def _create_service_event(region: str, at: datetime, task_definition: str) -> dict[str, Any]:
    """The EventBridge event for the CreateService call above, shaped as events/cloudtrail_ecs_*.json."""
    when = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": f"modeshift-demo-{at:%Y%m%d%H%M}",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ecs",
        "account": DEMO_ACCOUNT,
        "time": when,
        "region": region,
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {"type": "AssumedRole", "arn": DEMO_PRINCIPAL, "accountId": DEMO_ACCOUNT},
            "eventTime": when,
            "eventSource": "ecs.amazonaws.com",
            "eventName": "CreateService",
            "awsRegion": region,
            "requestParameters": {
                "cluster": LEGACY_CLUSTER,
                "serviceName": CATALOG,
                "taskDefinition": task_definition,
                "desiredCount": CATALOG_TASKS,
                "launchType": "FARGATE",
            },
            "eventID": f"modeshift-demo-{at:%Y%m%d%H%M}",
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "eventCategory": "Management",
        },
    }
