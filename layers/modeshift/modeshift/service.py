"""The analysis use case: collect -> classify -> price -> advise, shared by the CLI and the Lambda handlers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
from botocore.exceptions import ReadTimeoutError

from modeshift.adapters.cloudwatch import (
    CloudWatchMetricLister,
    CloudWatchMetricsReader,
    MetricQuery,
    align_window,
    choose_period,
)
from modeshift.adapters.dynamodb_ledger import TaskLedgerReader
from modeshift.adapters.ecs import EcsInventoryReader
from modeshift.aws import AwsClients
from modeshift.config import Settings
from modeshift.domain.classify import classify_workloads, summarize_cluster_usage
from modeshift.domain.models import (
    INSTANCE_MODES,
    ClusterError,
    ClusterInventory,
    ClusterUsage,
    ClusterVerdict,
    MetricSeries,
    Pattern,
    TaskCountSource,
    WorkloadFeatures,
    WorkloadUsage,
    WorkloadVerdict,
)
from modeshift.domain.noise import apply_snooze
from modeshift.domain.options import PolicyOptions
from modeshift.domain.policy import (
    PricingContext,
    WorkloadSubject,
    advise_cluster,
    advise_workload,
    allocate_cluster_cost,
    assess_cluster,
    reserved_units,
)
from modeshift.domain.pricing import PriceCatalog, load_embedded_catalog
from modeshift.domain.report import (
    MULTIPLE_REGIONS,
    AnalysisReport,
    PricingInfo,
    build_report,
    merge_reports,
    plural,
)
from modeshift.errors import AccessDeniedError, AwsTooSlowError, ClusterNotFoundError, ModeshiftError, ThrottledError

logger = logging.getLogger(__name__)

ECS_NS = "AWS/ECS"
CI_NS = "ECS/ContainerInsights"
# Calibrate a SampleCount-based task estimate when it disagrees with today's desired count by more
# than this factor (metrics published coarser than once a minute per task, as synthetic data is).
_CALIBRATION_TOLERANCE = 1.5

Progress = Callable[[str], None]


def _no_progress(_: str) -> None:
    return None


# What to try when AWS is too slow or throttles, per phase (the CLI flag, then the MODESHIFT_* setting).
_FEWER_CLUSTERS = "try fewer clusters per run (--cluster NAME, or MODESHIFT_CLUSTERS), or run again later"
_SMALLER_FETCH = (
    "try a shorter lookback (--lookback-days, or MODESHIFT_LOOKBACK_DAYS) or fewer clusters per run "
    "(--cluster NAME, or MODESHIFT_CLUSTERS)"
)


@contextmanager
def _phase(name: str, advice: str) -> Iterator[None]:
    """Name the phase, and what to try, when AWS timed out or kept throttling after every retry in it."""
    try:
        yield
    except ReadTimeoutError as exc:
        raise AwsTooSlowError(name, f"AWS did not answer in time ({exc})", advice) from exc
    except ThrottledError as exc:
        raise AwsTooSlowError(name, str(exc), advice) from exc


@dataclass
class _Workload:
    subject: WorkloadSubject
    keys: dict[str, str] = field(default_factory=dict)


@dataclass
class _Collected:
    inventories: list[ClusterInventory]
    errors: list[ClusterError]
    warnings: list[str]
    ledger: TaskLedgerReader | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """One account and region to analyse, and the clients that read it (the caller's, or an assumed role's)."""

    clients: AwsClients
    region: str
    account: str | None = None
    # whether the task ledger (MODESHIFT_TABLE_NAME) describes this scope: only the app's own account and region
    ledger: bool = True

    def label(self, cluster: str) -> str:
        return "/".join(part for part in (self.account, self.region, cluster) if part)


@dataclass(frozen=True, slots=True)
class Target:
    """One unit of work: a cluster in an account and region."""

    scope: Scope
    cluster: str


def analyze(
    settings: Settings,
    clients: AwsClients,
    now: datetime,
    progress: Progress = _no_progress,
    account: str | None = None,
) -> AnalysisReport:
    """Read one account and region (the clients'), read-only: every cluster of the Clusters setting, or all."""
    clients.check_credentials()
    if clients.on_retry is None:
        clients.on_retry = progress  # a call the SDK retries shows as such, not as a line that never changes
    return analyze_scopes(settings, [Scope(clients=clients, region=clients.region, account=account)], now, progress)


def analyze_scopes(
    settings: Settings,
    scopes: Sequence[Scope],
    now: datetime,
    progress: Progress = _no_progress,
    errors: Sequence[ClusterError] = (),
) -> AnalysisReport:
    """Every cluster of every scope, one cluster per unit of work on a pool of `settings.concurrency` threads;
    one document. A unit that fails becomes an error naming its account, region and cluster: the others are
    still analysed. Only when nothing could be analysed because AWS was too slow does the run itself fail."""
    listed = list_targets(settings, scopes)
    found = [*errors, *listed.errors]
    targets = listed.targets
    slow = list(listed.slow)
    labelled = len(scopes) > 1
    prices = PriceRefresher()
    parts: list[AnalysisReport] = []

    def unit(target: Target) -> AnalysisReport:
        say = progress
        if labelled:
            label = target.scope.label(target.cluster)

            def say(line: str) -> None:
                progress(f"{label}: {line}")

        return analyze_cluster(settings, target.scope, target.cluster, now, say, prices)

    workers = max(1, min(settings.concurrency, len(targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="modeshift-unit") as pool:
        futures = {pool.submit(unit, target): target for target in targets}
        for done, future in enumerate(as_completed(futures), start=1):
            target = futures[future]
            label = target.scope.label(target.cluster) if labelled else target.cluster
            try:
                part = future.result()
            except ModeshiftError as exc:
                if isinstance(exc, AwsTooSlowError):
                    slow.append(exc)
                found.append(_error(target.cluster, exc, target.scope))
                progress(f"failed {label} ({done}/{len(targets)}): {exc}")
                continue
            except Exception as exc:  # a bug met in one cluster's data must not cost the others their verdicts
                logger.exception("analysis of %s failed", label)
                failure = f"analysis failed: {type(exc).__name__}: {exc}"
                found.append(ClusterError(cluster=target.cluster, error=failure, **_where(target.scope)))
                progress(f"failed {label} ({done}/{len(targets)}): {failure}")
                continue
            parts.append(part)
            if labelled or len(targets) > 1:
                progress(f"analysed {label} ({done}/{len(targets)}): {plural(len(part.workloads), 'workload')}")
    if slow and not parts and len(slow) == len(found):
        raise slow[0]
    catalog = load_embedded_catalog()
    regions = sorted({scope.region for scope in scopes})
    return merge_reports(
        sorted(parts, key=lambda p: tuple(p.accounts) + tuple(p.regions) + tuple(c.cluster for c in p.clusters)),
        generated_at=now,
        region=regions[0] if len(regions) == 1 else MULTIPLE_REGIONS,
        lookback_days=settings.lookback_days,
        goal=settings.goal,
        pricing=PricingInfo(
            source=catalog.source,
            as_of=catalog.as_of,
            notes=(prices.note(settings.use_price_list_api),),
        ),
        errors=found,
        confidence_floor=settings.confidence_floor,
    )


def cluster_error(cluster: str, exc: ModeshiftError, account: str | None, region: str | None) -> ClusterError:
    """A cluster ("*": a whole account and region) that could not be analysed, and the permission it lacked."""
    permission = exc.permission if isinstance(exc, AccessDeniedError) else None
    return ClusterError(cluster=cluster, error=str(exc), missing_permission=permission, account=account, region=region)


def _error(cluster: str, exc: ModeshiftError, scope: Scope) -> ClusterError:
    return cluster_error(cluster, exc, scope.account, scope.region)


def _where(scope: Scope) -> dict[str, str | None]:
    return {"account": scope.account, "region": scope.region}


@dataclass
class Listed:
    """The units of work of a run, and the scopes (or named clusters) that yielded none."""

    targets: list[Target] = field(default_factory=list)
    errors: list[ClusterError] = field(default_factory=list)
    slow: list[AwsTooSlowError] = field(default_factory=list)


def list_targets(settings: Settings, scopes: Sequence[Scope]) -> Listed:
    """One target per cluster of each scope: every cluster ListClusters returns, or those the Clusters setting
    names. In one scope a named cluster is taken as named (a missing one is reported by its analysis); across
    several, a name is looked up in each scope and reported once as missing when no scope has it."""
    listed = Listed()
    across = len(scopes) > 1 and bool(settings.clusters)
    seen: set[str] = set()
    for scope in scopes:
        if settings.clusters and not across:
            listed.targets += [Target(scope, name) for name in settings.clusters]
            continue
        try:
            with _phase("reading the clusters", _FEWER_CLUSTERS):
                names = EcsInventoryReader(
                    scope.clients.client("ecs"), scope.clients.client("ec2")
                ).list_cluster_names()
        except ModeshiftError as exc:
            if isinstance(exc, AwsTooSlowError):
                listed.slow.append(exc)
            listed.errors.append(_error("*", exc, scope))
            continue
        if across:
            existing = set(names)
            names = [name for name in settings.clusters if name in existing]
            seen.update(names)
        listed.targets += [Target(scope, name) for name in names]
    failed_scopes = any(e.cluster == "*" for e in listed.errors)
    if across and not failed_scopes:
        for name in settings.clusters:
            if name not in seen:
                listed.errors.append(ClusterError(cluster=name, error=str(ClusterNotFoundError(name))))
    return listed


class PriceRefresher:
    """Price List API refreshes shared by the units of one run: each region and instance type asked once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._catalogs: dict[str, PriceCatalog] = {}
        self._asked: dict[str, set[str]] = {}
        self._failures: list[str] = []

    def catalog(
        self, settings: Settings, clients: AwsClients, region: str, inventories: Sequence[ClusterInventory]
    ) -> PriceCatalog:
        with self._lock:
            catalog = self._catalogs.get(region) or load_embedded_catalog()
            if not settings.use_price_list_api:
                return catalog
            types = {i.instance_type for inv in inventories for i in inv.container_instances if i.instance_type}
            asked = self._asked.setdefault(region, set())
            if region in self._catalogs and types <= asked:
                return catalog
            refreshed, failure = _refresh_prices(catalog, clients, region, sorted(types - asked) or sorted(types))
            asked.update(types)
            self._catalogs[region] = refreshed
            if failure:
                self._failures.append(failure)
            return refreshed

    def note(self, used: bool) -> str:
        if not used:
            return "figures from the embedded catalog, not the Price List API"
        if self._failures:
            return f"Price List API refresh failed ({self._failures[0]}); figures from the embedded catalog"
        return "figures refreshed from the Price List API where it answered"


def analyze_cluster(
    settings: Settings,
    scope: Scope,
    cluster: str,
    now: datetime,
    progress: Progress = _no_progress,
    prices: PriceRefresher | None = None,
) -> AnalysisReport:
    """One unit of work: one cluster read, measured, classified, priced and judged. Its series are dropped when
    it returns: memory is bounded by the cluster, not the fleet. A cluster that cannot be read is in `errors`."""
    clients, region = scope.clients, scope.region
    ledger = (
        TaskLedgerReader(clients.dynamodb_table(settings.table_name)) if settings.table_name and scope.ledger else None
    )
    with _phase("reading the clusters", _FEWER_CLUSTERS):
        collected = _collect_inventory([cluster], clients, progress, ledger)
    catalog = (prices or PriceRefresher()).catalog(settings, clients, region, collected.inventories)

    period = choose_period(settings.lookback_days, settings.metric_period_seconds)
    start, end, n_periods = align_window(now, settings.lookback_days, period)
    workloads, cluster_keys, queries = _plan_queries(collected.inventories, period)
    progress(f"fetching {len(queries)} metric series ({n_periods} periods of {period} s each)")
    reader = CloudWatchMetricsReader(
        clients.client("cloudwatch"),
        on_progress=lambda done, total: progress(f"metrics: call {done}/{total}"),
    )
    with _phase(f"fetching {settings.lookback_days} days of metrics", _SMALLER_FETCH):
        series = reader.fetch(queries, start, end)
        # Container Insights clusters whose RunningTaskCount came back empty fall back to SampleCount.
        series.update(_fetch_fallback_counts(reader, workloads, series, period, start, end, progress))

    usages = [_usage(w, series, period, n_periods, collected, start, end) for w in workloads]
    for w, usage in zip(workloads, usages, strict=True):
        w.subject = replace(w.subject, task_count_source=usage.task_count_source)
    progress(f"classifying {len(workloads)} workloads")
    options = settings.policy_options()
    features = classify_workloads(usages, options.thresholds)
    del usages
    context = PricingContext(
        catalog=catalog,
        region=region,
        observed_registered_memory_mib=_observed_registered_memory(collected.inventories),
    )

    workload_verdicts: list[WorkloadVerdict] = []
    cluster_verdicts: list[ClusterVerdict] = []
    where = {"account": scope.account, "region": region}
    for inventory in collected.inventories:
        indexes = [i for i, w in enumerate(workloads) if w.subject.cluster == inventory.name]
        progress(f"advising {inventory.name} ({plural(len(indexes), 'workload')})")
        verdicts, cluster_verdict = _advise_cluster(
            inventory, indexes, workloads, features, series, cluster_keys, n_periods, context, options, now
        )
        workload_verdicts += [v.model_copy(update=where) for v in verdicts]
        cluster_verdicts.append(cluster_verdict.model_copy(update=where))

    return build_report(
        generated_at=now,
        region=region,
        lookback_days=settings.lookback_days,
        goal=settings.goal,
        pricing=PricingInfo(source=catalog.source, as_of=catalog.as_of),
        workloads=workload_verdicts,
        clusters=cluster_verdicts,
        errors=[e.model_copy(update=where) for e in collected.errors],
        warnings=collected.warnings,
        confidence_floor=settings.confidence_floor,
        accounts=[scope.account] if scope.account else [],
        regions=[region],
    )


def _advise_cluster(
    inventory: ClusterInventory,
    indexes: Sequence[int],
    workloads: Sequence[_Workload],
    features: Sequence[WorkloadFeatures],
    series: dict[str, MetricSeries],
    cluster_keys: dict[str, dict[str, str]],
    n_periods: int,
    prices: PricingContext,
    options: PolicyOptions,
    now: datetime,
) -> tuple[list[WorkloadVerdict], ClusterVerdict]:
    """The cluster's capacity judged, its cost shared out over the workloads on it, every workload advised."""
    assessment = None
    shares = {}
    coverage = 0.0
    if inventory.has_ec2_capacity:
        keys = cluster_keys[inventory.name]
        cluster_usage = ClusterUsage(
            cpu_reservation_pct=series.get(keys["cpu_reservation"]),
            memory_reservation_pct=series.get(keys["memory_reservation"]),
            instance_count=series.get(keys["instance_count"]) if "instance_count" in keys else None,
            expected_periods=n_periods,
        )
        summary = summarize_cluster_usage(cluster_usage)
        coverage = summary.coverage
        assessment = assess_cluster(inventory, summary, prices, options)
        reservations = {}
        for i in indexes:
            subject = workloads[i].subject
            # Self-managed capacity (EC2, or ECS Anywhere) is billed per instance: share it out.
            fractions = subject.mix_fractions()
            on_capacity = sum(fractions.get(mode, 0.0) for mode in INSTANCE_MODES)
            if on_capacity <= 0:
                continue
            size = subject.task_definition.size()
            # Without measured usage, today's desired count is the honest basis for its share.
            tasks = features[i].avg_tasks
            if features[i].pattern is Pattern.INSUFFICIENT_DATA or tasks is None:
                tasks = float(subject.desired_count)
            if subject.daemon and tasks <= 0:
                # A daemon runs one task on every instance, whatever its metrics or desired count say.
                tasks = float(sum(1 for ci in inventory.container_instances if ci.status == "ACTIVE"))
            reservations[subject.workload] = (
                reserved_units(size, tasks * on_capacity, assessment.binding_resource) if size else 0.0
            )
        shares = allocate_cluster_cost(assessment, reservations)
    verdicts = [
        apply_snooze(
            advise_workload(
                workloads[i].subject, features[i], prices, options, shares.get(workloads[i].subject.workload)
            ),
            workloads[i].subject.tags,
            now.date(),
        )
        for i in indexes
    ]
    return verdicts, advise_cluster(inventory, assessment, verdicts, options, coverage)


# --------------------------------------------------------------------------- collection


def _collect_inventory(
    names: Sequence[str], clients: AwsClients, progress: Progress, ledger: TaskLedgerReader | None = None
) -> _Collected:
    ecs = EcsInventoryReader(clients.client("ecs"), clients.client("ec2"))
    lister = CloudWatchMetricLister(clients.client("cloudwatch"))
    inventories: list[ClusterInventory] = []
    errors: list[ClusterError] = []
    warnings: list[str] = []
    for position, name in enumerate(names, start=1):
        progress(f"reading cluster {position}/{len(names)}: {name}")
        try:
            families = _container_insights_families(lister, name, warnings)
            families += _ledger_families(ledger, name, warnings)
            inventories.append(ecs.read_cluster(name, extra_families=sorted(set(families))))
        except AccessDeniedError as exc:
            errors.append(ClusterError(cluster=name, error=str(exc), missing_permission=exc.permission))
        except ClusterNotFoundError as exc:
            errors.append(ClusterError(cluster=name, error=str(exc)))
        except ModeshiftError as exc:
            errors.append(ClusterError(cluster=name, error=str(exc)))
    warnings.extend(getattr(ecs, "warnings", []))
    return _Collected(inventories=inventories, errors=errors, warnings=warnings, ledger=ledger)


def _ledger_families(ledger: TaskLedgerReader | None, cluster: str, warnings: list[str]) -> list[str]:
    """Task families the task-event ledger saw run outside services in this cluster."""
    if ledger is None:
        return []
    try:
        return ledger.families(cluster)
    except ModeshiftError as exc:
        warnings.append(f"cannot read the task ledger for {cluster}: {exc}")
        return []


def _container_insights_families(lister: CloudWatchMetricLister, cluster: str, warnings: list[str]) -> list[str]:
    """Task families Container Insights saw in this cluster: how standalone and scheduled tasks show up."""
    try:
        return lister.dimension_values(CI_NS, "CpuReserved", {"ClusterName": cluster}, "TaskDefinitionFamily")
    except AccessDeniedError as exc:
        warnings.append(f"cannot list Container Insights task families in {cluster}: {exc}")
        return []


def _plan_queries(
    inventories: Sequence[ClusterInventory], period: int
) -> tuple[list[_Workload], dict[str, dict[str, str]], list[MetricQuery]]:
    workloads: list[_Workload] = []
    cluster_keys: dict[str, dict[str, str]] = {}
    queries: list[MetricQuery] = []

    def add(namespace: str, metric: str, dims: tuple[tuple[str, str], ...], stat: str) -> str:
        key = f"{namespace}|{metric}|{'|'.join(f'{n}={v}' for n, v in dims)}|{stat}"
        queries.append(MetricQuery(key, namespace, metric, dims, stat, period))
        return key

    for inv in inventories:
        cdims = (("ClusterName", inv.name),)
        if inv.has_ec2_capacity:
            keys = {
                "cpu_reservation": add(ECS_NS, "CPUReservation", cdims, "Average"),
                "memory_reservation": add(ECS_NS, "MemoryReservation", cdims, "Average"),
            }
            if inv.container_insights:
                keys["instance_count"] = add(CI_NS, "ContainerInstanceCount", cdims, "Average")
            cluster_keys[inv.name] = keys
        for svc in inv.services:
            dims = (("ClusterName", inv.name), ("ServiceName", svc.name))
            subject = WorkloadSubject(
                cluster=inv.name,
                workload=f"service:{svc.name}",
                service=svc.name,
                task_definition=svc.task_definition,
                current_mode=svc.current_mode,
                desired_count=svc.desired_count,
                tags=svc.tags,
                daemon=svc.daemon,
                service_placement_constraints=svc.placement_constraints,
                platform_version=svc.platform_version,
                cluster_has_ec2_capacity_provider=inv.has_ec2_capacity_provider,
                cluster_has_managed_instances_provider=bool(inv.managed_instances_providers),
                current_mix=svc.current_mix,
            )
            w = _Workload(subject)
            w.keys = {
                "cpu_avg": add(ECS_NS, "CPUUtilization", dims, "Average"),
                "cpu_max": add(ECS_NS, "CPUUtilization", dims, "Maximum"),
                "mem_avg": add(ECS_NS, "MemoryUtilization", dims, "Average"),
                "mem_max": add(ECS_NS, "MemoryUtilization", dims, "Maximum"),
            }
            if inv.container_insights:
                w.keys["running_tasks"] = add(CI_NS, "RunningTaskCount", dims, "Average")
            else:
                w.keys["cpu_samples"] = add(ECS_NS, "CPUUtilization", dims, "SampleCount")
            workloads.append(w)
        for fam in inv.standalone_families:
            dims = (("ClusterName", inv.name), ("TaskDefinitionFamily", fam.family))
            subject = WorkloadSubject(
                cluster=inv.name,
                workload=f"family:{fam.family}",
                service=None,
                task_definition=fam.task_definition,
                current_mode=fam.current_mode,
                desired_count=fam.running_count,
                cluster_has_ec2_capacity_provider=inv.has_ec2_capacity_provider,
                cluster_has_managed_instances_provider=bool(inv.managed_instances_providers),
            )
            w = _Workload(subject)
            if inv.container_insights:
                w.keys = {
                    "ci_cpu_utilized": add(CI_NS, "CpuUtilized", dims, "Average"),
                    "ci_cpu_reserved": add(CI_NS, "CpuReserved", dims, "Average"),
                    "ci_mem_utilized": add(CI_NS, "MemoryUtilized", dims, "Average"),
                    "ci_mem_utilized_max": add(CI_NS, "MemoryUtilized", dims, "Maximum"),
                    "ci_mem_reserved": add(CI_NS, "MemoryReserved", dims, "Average"),
                }
            workloads.append(w)
    return workloads, cluster_keys, queries


def _fetch_fallback_counts(
    reader: CloudWatchMetricsReader,
    workloads: Sequence[_Workload],
    series: dict[str, MetricSeries],
    period: int,
    start: datetime,
    end: datetime,
    progress: Progress = _no_progress,
) -> dict[str, MetricSeries]:
    extra: list[MetricQuery] = []
    for w in workloads:
        key = w.keys.get("running_tasks")
        if key is None or series[key].present > 0 or w.subject.service is None:
            continue
        dims = (("ClusterName", w.subject.cluster), ("ServiceName", w.subject.service))
        sample_key = (
            f"{ECS_NS}|CPUUtilization|ClusterName={w.subject.cluster}|ServiceName={w.subject.service}|SampleCount"
        )
        w.keys["cpu_samples"] = sample_key
        extra.append(MetricQuery(sample_key, ECS_NS, "CPUUtilization", dims, "SampleCount", period))
    if not extra:
        return {}
    progress(f"fetching {len(extra)} more series: task counts from SampleCount where RunningTaskCount is empty")
    return reader.fetch(extra, start, end)


def _usage(
    w: _Workload,
    series: dict[str, MetricSeries],
    period: int,
    n_periods: int,
    collected: _Collected,
    start: datetime,
    end: datetime,
) -> WorkloadUsage:
    keys = w.keys
    if w.subject.service is None:
        from_ledger = _ledger_usage(w, collected, start, end)
        if from_ledger is not None:
            return from_ledger
    if "ci_cpu_reserved" in keys:
        return _family_usage(w, series, n_periods)
    if w.subject.service is None:
        return WorkloadUsage(expected_periods=n_periods)
    tasks: MetricSeries | None = None
    source: TaskCountSource = "none"
    running = series.get(keys.get("running_tasks", ""))
    if running is not None and running.present > 0:
        tasks, source = running, "container_insights"
    elif "cpu_samples" in keys and series[keys["cpu_samples"]].present > 0:
        tasks, source = _tasks_from_samples(series[keys["cpu_samples"]], period, w.subject.desired_count)
    return WorkloadUsage(
        cpu_avg_pct=series.get(keys["cpu_avg"]),
        cpu_max_pct=series.get(keys["cpu_max"]),
        memory_avg_pct=series.get(keys["mem_avg"]),
        memory_max_pct=series.get(keys["mem_max"]),
        task_count=tasks,
        task_count_source=source,
        expected_periods=n_periods,
    )


def _tasks_from_samples(samples: MetricSeries, period: int, desired_count: int) -> tuple[MetricSeries, TaskCountSource]:
    """Running tasks from SampleCount: ECS publishes one sample per task per minute (AWS-FACTS)."""
    tasks = samples.values * (60.0 / period)
    source: TaskCountSource = "cpu_samplecount"
    recent = tasks[-12:]
    recent = recent[~np.isnan(recent)]
    if desired_count > 0 and recent.size:
        level = float(recent.mean())
        ratio = desired_count / level if level > 0 else float("inf")
        if not (1 / _CALIBRATION_TOLERANCE <= ratio <= _CALIBRATION_TOLERANCE) and np.isfinite(ratio):
            tasks = tasks * ratio
            source = "cpu_samplecount_calibrated"
    return MetricSeries(start=samples.start, period_seconds=samples.period_seconds, values=tasks), source


def _ledger_usage(w: _Workload, collected: _Collected, start: datetime, end: datetime) -> WorkloadUsage | None:
    """A standalone family's running tasks per hour from the task ledger: exact task-seconds, no sampling."""
    if collected.ledger is None:
        return None
    group = w.subject.workload
    try:
        if group not in collected.ledger.groups(w.subject.cluster):
            return None
        hourly = collected.ledger.hourly(w.subject.cluster, group, start, end)
    except ModeshiftError as exc:
        collected.warnings.append(f"cannot read the task ledger for {w.subject.cluster}/{group}: {exc}")
        return None
    return WorkloadUsage(
        task_count=hourly.task_count,
        task_count_source="task_ledger",
        expected_periods=len(hourly.avg_tasks),
    )


def _family_usage(w: _Workload, series: dict[str, MetricSeries], n_periods: int) -> WorkloadUsage:
    """Standalone families: tasks = reserved memory ÷ the task's memory; utilisation = utilised ÷ reserved."""
    keys = w.keys
    size = w.subject.task_definition.size()
    reserved_mem = series[keys["ci_mem_reserved"]]
    reserved_cpu = series[keys["ci_cpu_reserved"]]
    tasks = None
    source: TaskCountSource = "none"
    if size is not None and size.memory_mib > 0 and reserved_mem.present > 0:
        tasks = MetricSeries(reserved_mem.start, reserved_mem.period_seconds, reserved_mem.values / size.memory_mib)
        source = "container_insights_memory_reserved"

    def ratio(num: MetricSeries, den: MetricSeries) -> MetricSeries:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(den.values > 0, 100.0 * num.values / den.values, np.nan)
        return MetricSeries(num.start, num.period_seconds, values)

    return WorkloadUsage(
        cpu_avg_pct=ratio(series[keys["ci_cpu_utilized"]], reserved_cpu),
        cpu_max_pct=None,
        memory_avg_pct=ratio(series[keys["ci_mem_utilized"]], reserved_mem),
        memory_max_pct=ratio(series[keys["ci_mem_utilized_max"]], reserved_mem),
        task_count=tasks,
        task_count_source=source,
        expected_periods=n_periods,
    )


def _observed_registered_memory(inventories: Sequence[ClusterInventory]) -> dict[str, int]:
    seen: dict[str, int] = {}
    for inv in inventories:
        for instance in inv.container_instances:
            if instance.instance_type and instance.registered_memory_mib > 0:
                # The smallest registration seen is the safe one to plan on.
                previous = seen.get(instance.instance_type)
                seen[instance.instance_type] = (
                    min(previous, instance.registered_memory_mib) if previous else instance.registered_memory_mib
                )
    return seen


def _refresh_prices(
    catalog: PriceCatalog, clients: AwsClients, region: str, types: Sequence[str]
) -> tuple[PriceCatalog, str | None]:
    """The catalog with what the Price List API answers for this region and these types; why not, if not."""
    from modeshift.adapters.price_list import PriceListReader

    try:
        return PriceListReader(clients.pricing_client()).refresh(catalog, region, list(types)), None
    except ModeshiftError as exc:
        return catalog, str(exc)
