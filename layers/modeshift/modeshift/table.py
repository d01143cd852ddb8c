"""The one DynamoDB table's item layout (pk/sk strings), shared by the ledger, verdict state and idempotency."""

from __future__ import annotations

# Key schema: pk (S) partition key, sk (S) sort key; TTL attribute `expires_at` (epoch seconds).
PK = "pk"
SK = "sk"
TTL_ATTRIBUTE = "expires_at"


def ledger_key(cluster: str, group: str, hour_iso: str) -> dict[str, str]:
    """Hourly task-ledger bucket: one per (cluster, group, hour); query a cluster with begins_with(sk, group)."""
    return {PK: f"LEDGER#{cluster}", SK: f"{group}#{hour_iso}"}


def task_key(task_arn: str) -> dict[str, str]:
    """The in-flight record of one task, which gates duplicates by the event's `version`."""
    return {PK: f"TASK#{task_arn}", SK: "TASK"}


def open_task_key(cluster: str, group: str, task_arn: str) -> dict[str, str]:
    """A task that started and has not stopped: one per task, query a cluster's with begins_with(sk, group)."""
    return {PK: f"OPEN#{cluster}", SK: f"{group}#{task_arn}"}


def verdict_key(cluster: str, subject: str) -> dict[str, str]:
    """Publication state of one verdict (subject = `service:NAME`, `family:NAME` or `cluster`)."""
    return {PK: f"VERDICT#{cluster}", SK: subject}


def change_key(cluster: str, workload: str, changed_at_iso: str, event_id: str) -> dict[str, str]:
    """One recorded change (CloudTrail): query a cluster's with the partition key alone; an event id makes a
    redelivered event the same item."""
    return {PK: f"CHANGE#{cluster}", SK: f"{workload}#{changed_at_iso}#{event_id}"}


# Powertools' idempotency records share the table under this partition-key prefix.
IDEMPOTENCY_PK_PREFIX = "IDEMPOTENCY#"
