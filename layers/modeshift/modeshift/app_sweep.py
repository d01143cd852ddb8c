"""The organization-wide sweep behind the state machine (statemachine/sweep.asl.json), one function per step:
list the targets (account × region × cluster) → analyse one cluster per worker → merge into one document,
publish what changed and keep the alarms. Every file lives under `sweeps/<run id>/` in the report bucket."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from modeshift.adapters.aws_errors import translated
from modeshift.aws import AwsClients
from modeshift.config import Settings
from modeshift.domain.models import ClusterError
from modeshift.domain.pricing import load_embedded_catalog
from modeshift.domain.report import AnalysisReport, PricingInfo, build_report, merge_reports
from modeshift.errors import ConfigurationError, ModeshiftError
from modeshift.fleet import resolve_scopes, scope_for
from modeshift.service import analyze_cluster, cluster_error
from modeshift.service import list_targets as list_clusters

logger = logging.getLogger(__name__)

PREFIX = "sweeps"
LATEST_KEY = f"{PREFIX}/latest/modeshift-analysis.json"
MAX_SUMMARY_ERRORS = 20
PART_READERS = 8
WORKER_SESSION_NAME = "modeshift-sweep"  # parallel GetObject calls while merging
_CLUSTER_NAME = r"^[A-Za-z0-9_-]{1,255}$"
_RUN_ID = r"^[A-Za-z0-9_.:-]{1,80}$"


def targets_key(run_id: str) -> str:
    return f"{PREFIX}/{run_id}/targets.json"


def listing_errors_key(run_id: str) -> str:
    return f"{PREFIX}/{run_id}/listing-errors.json"


def part_key(run_id: str, account: str, region: str, cluster: str) -> str:
    return f"{PREFIX}/{run_id}/parts/{account}/{region}/{cluster}.json"


def merged_key(run_id: str) -> str:
    return f"{PREFIX}/{run_id}/modeshift-analysis.json"


class SweepTarget(BaseModel):
    """One item of the Distributed Map: a cluster in an account and region."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    cluster: str = Field(pattern=_CLUSTER_NAME)

    @field_validator("cluster", mode="before")
    @classmethod
    def _name_of_arn(cls, value: Any) -> Any:
        """The Clusters setting may name a cluster by ARN: the map item carries its name."""
        if isinstance(value, str) and value.startswith("arn:") and ":cluster/" in value:
            return value.rsplit("/", 1)[-1]
        return value


class WorkerRequest(BaseModel):
    """What the map hands each worker (its ItemSelector)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str = Field(pattern=_RUN_ID)
    bucket: str = Field(min_length=3, max_length=63)
    target: SweepTarget


@dataclass(frozen=True, slots=True)
class Home:
    """The account and region the app runs in: its clusters are read with the app's own role, and only there is
    the task ledger (a regional table fed by this account's task events)."""

    account: str
    region: str


def _bucket(settings: Settings) -> str:
    if not settings.report_bucket:
        raise ConfigurationError("MODESHIFT_REPORT_BUCKET is not set: the sweep keeps its parts there")
    return settings.report_bucket


def _put_json(s3: Any, bucket: str, key: str, body: Any) -> None:
    with translated(f"PutObject {key}", "s3:PutObject", connection_errors=True):
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(body, separators=(",", ":")).encode("utf-8") if not isinstance(body, str) else body,
            ContentType="application/json",
            ServerSideEncryption="AES256",
        )


def _get(s3: Any, bucket: str, key: str) -> bytes | None:
    """An object's bytes, or None when it does not exist."""
    try:
        with translated(f"GetObject {key}", "s3:GetObject", connection_errors=True):
            return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ModeshiftError as exc:
        if "NoSuchKey" in str(exc) or "Not Found" in str(exc):
            return None
        raise


# --------------------------------------------------------------------------- step 1: the targets


def list_targets(settings: Settings, clients: AwsClients, home: Home, run_id: str) -> dict[str, Any]:
    """Every account × region × cluster to analyse, written as the map's item list (a JSON array in S3).
    An account or region that cannot be read is a listing error, kept for the merge; the rest is listed."""
    bucket = _bucket(settings)
    scopes, errors = resolve_scopes(settings, clients, home=home.account)
    listed = list_clusters(settings, scopes)
    errors += listed.errors
    items = [
        SweepTarget(account=t.scope.account or home.account, region=t.scope.region, cluster=t.cluster).model_dump()
        for t in listed.targets
    ]
    s3 = clients.client("s3")
    _put_json(s3, bucket, targets_key(run_id), items)
    _put_json(s3, bucket, listing_errors_key(run_id), [e.model_dump(mode="json") for e in errors])
    logger.info("sweep %s: %d targets, %d listing errors", run_id, len(items), len(errors))
    return {
        "run_id": run_id,
        "bucket": bucket,
        "targets_key": targets_key(run_id),
        "target_count": len(items),
        "listing_error_count": len(errors),
        "max_concurrency": settings.concurrency,
        "tolerated_failure_percentage": settings.tolerated_failure_pct,
    }


# --------------------------------------------------------------------------- step 2: one cluster


def analyze_target(
    settings: Settings, clients: AwsClients, home: Home, request: WorkerRequest, now: datetime
) -> dict[str, Any]:
    """Analyse one cluster and write its part. A cluster that cannot be analysed (denied, throttled, gone) is a
    part holding only its error: the worker succeeds, the merge reports it. Only a crash fails the worker."""
    target = request.target
    key = part_key(request.run_id, target.account, target.region, target.cluster)
    try:
        scope = scope_for(settings, clients, home.account, target.account, target.region, WORKER_SESSION_NAME)
        part = analyze_cluster(settings, scope, target.cluster, now)
    except ModeshiftError as exc:
        logger.warning("cluster %s/%s/%s not analysed: %s", target.account, target.region, target.cluster, exc)
        part = _error_part(settings, now, target, exc)
    _put_json(clients.client("s3"), request.bucket, key, part.model_dump_json())
    return {
        "key": key,
        **target.model_dump(),
        "workload_count": len(part.workloads),
        "error_count": len(part.errors),
    }


def _error_part(settings: Settings, now: datetime, target: SweepTarget, exc: ModeshiftError) -> AnalysisReport:
    catalog = load_embedded_catalog()
    return build_report(
        generated_at=now,
        region=target.region,
        lookback_days=settings.lookback_days,
        goal=settings.goal,
        pricing=PricingInfo(source=catalog.source, as_of=catalog.as_of),
        workloads=[],
        clusters=[],
        errors=[cluster_error(target.cluster, exc, target.account, target.region)],
        confidence_floor=settings.confidence_floor,
        accounts=[target.account],
        regions=[target.region],
    )


# --------------------------------------------------------------------------- step 3: one document


def map_results_prefix(run_id: str) -> str:
    """Where the Distributed Map's ResultWriter puts this run's manifest (statemachine/sweep.asl.json)."""
    return f"{PREFIX}/{run_id}/map-results/"


def _manifest_key(s3: Any, bucket: str, run_id: str, map_output: dict[str, Any] | None) -> str | None:
    """The map's manifest: named in its output, or (a map that stopped outputs only its error) found under
    this run's results prefix, which the map writes to even when it fails."""
    details = (map_output or {}).get("ResultWriterDetails") or {}
    if details.get("Key"):
        return str(details["Key"])
    keys = [k for k in _list_keys(s3, bucket, map_results_prefix(run_id)) if k.endswith("/manifest.json")]
    return keys[0] if len(keys) == 1 else None


def _list_keys(s3: Any, bucket: str, prefix: str) -> set[str]:
    """Every key under a prefix. Listing first means a missing object is never fetched: without s3:ListBucket
    on the object itself, S3 would answer a missing key with 403, not 404."""
    with translated(f"ListObjectsV2 {prefix}", "s3:ListBucket", connection_errors=True):
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return {str(o["Key"]) for page in pages for o in page.get("Contents", [])}


def _map_failures(
    s3: Any, bucket: str, run_id: str, map_output: dict[str, Any] | None
) -> dict[tuple[str, str, str], str]:
    """Why each failed worker failed, from the Distributed Map's ResultWriter manifest (FAILED result files:
    a JSON array of child executions, each with its Input, Error and Cause)."""
    key = _manifest_key(s3, bucket, run_id, map_output)
    if not key:
        return {}
    manifest_raw = _get(s3, bucket, key)
    if manifest_raw is None:
        return {}
    failures: dict[tuple[str, str, str], str] = {}
    manifest = json.loads(manifest_raw)
    for entry in (manifest.get("ResultFiles") or {}).get("FAILED") or []:
        raw = _get(s3, bucket, entry.get("Key", ""))
        for execution in json.loads(raw or b"[]"):
            try:
                target = WorkerRequest.model_validate_json(execution.get("Input") or "{}").target
            except ValidationError:
                continue
            cause = " ".join(str(execution.get(k) or "") for k in ("Error", "Cause")).strip()
            failures[(target.account, target.region, target.cluster)] = cause[:500] or "failed"
    return failures


def merge_sweep(
    settings: Settings, clients: AwsClients, home: Home, state: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Read every part the workers wrote, merge them into one analysis document (the same JSON contract as
    `modeshift analyze`), write it (this run's and `latest`), then publish what changed and keep the alarms.
    A target without a part is an error naming its account, region and cluster (and why, when the map says)."""
    # Publishing (SNS, verdict state, alarms, renderings) is the merge's alone: the workers never import it.
    from modeshift.app_analyze import deliver

    listed = state.get("targets") or {}
    run_id, bucket = str(listed.get("run_id", "")), str(listed.get("bucket") or _bucket(settings))
    s3 = clients.client("s3")
    targets = [SweepTarget.model_validate(t) for t in json.loads(_get(s3, bucket, targets_key(run_id)) or b"[]")]
    errors = [ClusterError.model_validate(e) for e in json.loads(_get(s3, bucket, listing_errors_key(run_id)) or b"[]")]
    failures = _map_failures(s3, bucket, run_id, state.get("map"))
    map_error = state.get("map_error")

    written = _list_keys(s3, bucket, f"{PREFIX}/{run_id}/parts/")

    def read(target: SweepTarget) -> AnalysisReport | ClusterError:
        key = part_key(run_id, target.account, target.region, target.cluster)
        raw = _get(s3, bucket, key) if key in written else None
        if raw is None:
            why = failures.get((target.account, target.region, target.cluster)) or (
                f"the map stopped: {map_error.get('Error', '')}" if isinstance(map_error, dict) else "no result"
            )
            return ClusterError(
                cluster=target.cluster, error=f"worker failed: {why}", account=target.account, region=target.region
            )
        return AnalysisReport.model_validate_json(raw)

    with ThreadPoolExecutor(max_workers=PART_READERS) as pool:
        read_all = list(pool.map(read, targets))
    parts = [p for p in read_all if isinstance(p, AnalysisReport)]
    errors += [e for e in read_all if isinstance(e, ClusterError)]
    catalog = load_embedded_catalog()
    report = merge_reports(
        parts,
        generated_at=now,
        region=home.region,  # only when nothing was listed: merge_reports takes the regions of parts and errors
        lookback_days=settings.lookback_days,
        goal=settings.goal,
        pricing=PricingInfo(source=catalog.source, as_of=catalog.as_of),
        errors=errors,
        confidence_floor=settings.confidence_floor,
    )
    document = report.model_dump_json()
    _put_json(s3, bucket, merged_key(run_id), document)
    _put_json(s3, bucket, LATEST_KEY, document)
    delivered = deliver(
        report,
        settings,
        clients,
        now,
        sync_alarms=True,
        alarm_scope=settings.clusters,
        home=(home.account, home.region),
    )
    problems = [f"{e.account}/{e.region}/{e.cluster}: {e.error}" for e in report.errors] + delivered.errors
    return {
        "status": "ok",
        "run_id": run_id,
        "document": merged_key(run_id),
        "accounts": list(report.accounts),
        "regions": list(report.regions),
        "cluster_count": report.totals.cluster_count,
        "workload_count": report.totals.workload_count,
        "failed_cluster_count": report.totals.failed_cluster_count,
        "monthly_savings_usd": report.totals.monthly_savings_usd,
        "publish": delivered.publish,
        "alarms": delivered.alarms,
        "error_count": len(problems),
        "errors": problems[:MAX_SUMMARY_ERRORS],
    }


def home_of(function_arn: Any, settings: Settings) -> Home:
    """The app's own account and region, from the invoked function's ARN (the region setting as fallback)."""
    parts = function_arn.split(":") if isinstance(function_arn, str) else []
    account = parts[4] if len(parts) > 5 else ""
    region = (parts[3] if len(parts) > 5 else "") or settings.region or ""
    if not account or not region:
        raise ConfigurationError(f"cannot tell the app's account and region from {function_arn!r}")
    return Home(account=account, region=region)


class ListRequest(BaseModel):
    """What the state machine hands the first step: the execution's name, which names the run's folder."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    run_id: str = Field(pattern=_RUN_ID)
