"""Did the switch pay? Changes to a workload (mode, task size, scale-in), where they came from, what they saved.

Rules (amounts USD; times timezone-aware):
- a *change* is a workload whose launch mode, task size (CPU units / MiB) or desired count moved. It is
  known from a CloudTrail-recorded ECS call (`UpdateService`, `CreateService`, `PutClusterCapacityProviders`)
  or, without CloudTrail, from two consecutive analysis documents. A desired count that moved counts only
  after a `scale_in` verdict: Application Auto Scaling moves desired counts all day long;
- *promised* is the saving of the verdict open when the change happened, when the change is what it
  advised (the mode it recommended; a new size after `rightsize`; fewer tasks after `scale_in`); None when
  modeshift had not advised it;
- *realised* = (cost per task-hour before − cost per task-hour after) × task-hours after, a month's worth:
  cost per task-hour = a workload's monthly cost / (its average task count × 730 h), both from one analysis
  (one collection, one catalog), so load growth does not pass for a lost saving;
- each side needs classification's minimum data (not `insufficient_data`, a data span of at least
  `Thresholds.min_span_hours`) and the after side at least `min_span_hours` past the change; otherwise
  realised is None and `not_measured` says why;
- confidence = the lower data coverage of the two sides × the share of the after analysis' lookback that
  surely follows the change;
- a change *regressed* when it costs more than before by the savings threshold: −realised >=
  `min_savings_usd` and >= `min_savings_pct` % of what the same task-hours cost before.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from modeshift.domain.models import HOURS_PER_MONTH, LaunchMode, Pattern, WorkloadVerdict, WorkloadVerdictKind
from modeshift.domain.notifications import SUBJECT_MAX_CHARS, Notification, fit_to_size, severity_for
from modeshift.domain.options import PolicyOptions, Thresholds
from modeshift.domain.report import AnalysisReport

ChangeSource = Literal["cloudtrail", "analysis_diff"]
ChangeKind = Literal["mode", "task_size", "desired_count"]

# Capacity providers every account has; any other name is the operator's own (EC2 Auto Scaling group or
# ECS Managed Instances): which of the two only the next analysis can tell.
_BUILTIN_PROVIDERS = {"FARGATE": LaunchMode.FARGATE, "FARGATE_SPOT": LaunchMode.FARGATE_SPOT}
_LAUNCH_TYPES = {"EC2": LaunchMode.EC2, "FARGATE": LaunchMode.FARGATE, "EXTERNAL": LaunchMode.EXTERNAL}
CLUSTER_WORKLOAD = "cluster"  # a change to a cluster's default capacity provider strategy
_RECORDED_CALLS = ("UpdateService", "CreateService", "PutClusterCapacityProviders")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class OpenVerdict(_Model):
    """The verdict open for a workload when it changed: kind, the mode it recommended, its monthly saving."""

    kind: str
    recommended_mode: str | None = None
    monthly_savings_usd: float = 0.0


class Change(_Model):
    """One change to one workload (`service:NAME`, `family:NAME`, or `cluster` for a default strategy)."""

    cluster: str
    workload: str
    # where the cluster lives: two accounts' `prod/service:web` are two workloads (None: not known)
    account: str | None = None
    region: str | None = None
    changed_at: datetime
    source: ChangeSource
    kinds: tuple[ChangeKind, ...] = ()
    from_mode: str | None = None
    to_mode: str | None = None
    # the task definition the service was pointed at (CloudTrail) and the sizes the analyses saw
    task_definition: str | None = None
    from_task_size: dict[str, int] | None = None
    to_task_size: dict[str, int] | None = None
    from_desired_count: int | None = None
    to_desired_count: int | None = None
    principal: str | None = None
    event_id: str | None = None
    # the CloudTrail eventName (UpdateService, CreateService, PutClusterCapacityProviders); None for a diff
    call: str | None = None
    open_verdict: OpenVerdict | None = None


class ChangeOutcome(_Model):
    """A change with what it promised and what it saved (the weekly report's `changes` entry)."""

    cluster: str
    workload: str
    account: str | None = None
    region: str | None = None
    from_mode: str | None
    to_mode: str | None
    changed_at: datetime
    source: ChangeSource
    kinds: tuple[ChangeKind, ...] = ()
    principal: str | None = None
    promised_monthly_savings_usd: float | None
    realised_monthly_savings_usd: float | None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    arithmetic: tuple[str, ...] = ()
    # why realised is None (too recent, too little data); None when measured
    not_measured: str | None = None
    regressed: bool = False


class TrackRecord(_Model):
    """Promised and realised over the measured changes modeshift advised; ratio = realised ÷ promised."""

    promised_usd: float
    realised_usd: float
    ratio: float | None
    # measured changes nobody was told to make, summed apart
    unadvised_realised_usd: float = 0.0
    measured_count: int = 0
    pending_count: int = 0


# --------------------------------------------------------------------------- CloudTrail → change


class MalformedChangeEvent(ValueError):
    """A CloudTrail event that cannot be read as an ECS change; rejected alone."""


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedChangeEvent(f"{what} is missing or not a string")
    return value


def _name(value: str) -> str:
    """`arn:aws:ecs:…:service/cluster/name` or `…:cluster/name` → name; a bare name stays as it is."""
    return value.rsplit("/", 1)[-1]


def mode_of_strategy(strategy: object) -> LaunchMode | None:
    """The mode most tasks of a capacity-provider strategy land on: the provider with the largest base, then
    weight; an operator's own provider counts as EC2 (the next analysis says if it is Managed Instances)."""
    if not isinstance(strategy, list) or not strategy:
        return None
    best: tuple[int, int] | None = None
    mode: LaunchMode | None = None
    for item in strategy:
        if not isinstance(item, dict) or not isinstance(item.get("capacityProvider"), str):
            raise MalformedChangeEvent("capacityProviderStrategy item without a capacityProvider")
        rank = (int(item.get("weight") or 0), int(item.get("base") or 0))
        if best is None or rank > best:
            best = rank
            mode = _BUILTIN_PROVIDERS.get(item["capacityProvider"], LaunchMode.EC2)
    return mode


def _principal(identity: object) -> str | None:
    if not isinstance(identity, dict):
        return None
    for key in ("arn", "principalId", "invokedBy"):
        value = identity.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def change_from_cloudtrail(event: Mapping[str, Any]) -> Change | None:
    """The change an EventBridge `AWS API Call via CloudTrail` event for ECS records, or None when the call
    changes no mode, size or count (a failed call, a redeploy, another setting). MalformedChangeEvent when the
    event cannot be read."""
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedChangeEvent("the event has no detail object")
    name = _text(detail.get("eventName"), "detail.eventName")
    if name not in _RECORDED_CALLS:
        raise MalformedChangeEvent(f"detail.eventName {name!r} is not one of {', '.join(_RECORDED_CALLS)}")
    if detail.get("errorCode"):
        return None  # the call failed: nothing changed
    try:
        changed_at = datetime.fromisoformat(_text(detail.get("eventTime"), "detail.eventTime").replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedChangeEvent(f"detail.eventTime is not a timestamp: {exc}") from exc
    if changed_at.tzinfo is None:
        raise MalformedChangeEvent("detail.eventTime has no time zone")
    request = detail.get("requestParameters")
    if not isinstance(request, dict):
        raise MalformedChangeEvent("detail.requestParameters is missing")
    cluster = _name(request.get("cluster") or "default") if isinstance(request.get("cluster", ""), str) else None
    if cluster is None:
        raise MalformedChangeEvent("requestParameters.cluster is not a string")
    account, region = event.get("account"), event.get("region") or detail.get("awsRegion")
    common: dict[str, Any] = {
        "cluster": cluster,
        "account": account if isinstance(account, str) and account else None,
        "region": region if isinstance(region, str) and region else None,
        "changed_at": changed_at,
        "source": "cloudtrail",
        "principal": _principal(detail.get("userIdentity")),
        "event_id": detail.get("eventID") if isinstance(detail.get("eventID"), str) else None,
        "call": name,
    }
    if name == "PutClusterCapacityProviders":
        mode = mode_of_strategy(request.get("defaultCapacityProviderStrategy"))
        if mode is None:
            return None
        return Change(workload=CLUSTER_WORKLOAD, kinds=("mode",), to_mode=mode.value, **common)
    key = "service" if name == "UpdateService" else "serviceName"
    service = _name(_text(request.get(key), f"requestParameters.{key}"))
    kinds: list[ChangeKind] = []
    mode = mode_of_strategy(request.get("capacityProviderStrategy"))
    if mode is None and isinstance(request.get("launchType"), str):
        mode = _LAUNCH_TYPES.get(request["launchType"])
    if mode is not None:
        kinds.append("mode")
    task_definition = request.get("taskDefinition")
    if task_definition is not None and not isinstance(task_definition, str):
        raise MalformedChangeEvent("requestParameters.taskDefinition is not a string")
    if task_definition:
        kinds.append("task_size")  # a new revision may change cpu/memory: the analyses tell
    desired = request.get("desiredCount")
    if desired is not None and (isinstance(desired, bool) or not isinstance(desired, int)):
        raise MalformedChangeEvent("requestParameters.desiredCount is not an integer")
    if desired is not None:
        kinds.append("desired_count")
    if not kinds or (name == "UpdateService" and kinds == ["desired_count"] and _autoscaling(detail)):
        return None
    return Change(
        workload=f"service:{service}",
        kinds=tuple(kinds),
        to_mode=None if mode is None else mode.value,
        task_definition=task_definition or None,
        to_desired_count=desired,
        **common,
    )


def _autoscaling(detail: Mapping[str, Any]) -> bool:
    identity = detail.get("userIdentity")
    invoked = identity.get("invokedBy") if isinstance(identity, dict) else None
    return isinstance(invoked, str) and "application-autoscaling" in invoked


# --------------------------------------------------------------------------- analysis diff


def _task_size(w: WorkloadVerdict) -> dict[str, int] | None:
    size = w.evidence.get("task_size")
    if not isinstance(size, dict):
        return None
    cpu, memory = size.get("cpu_units"), size.get("memory_mib")
    return {"cpu_units": cpu, "memory_mib": memory} if isinstance(cpu, int) and isinstance(memory, int) else None


def _desired(w: WorkloadVerdict) -> int | None:
    value = w.evidence.get("desired_count")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def open_verdict_of(w: WorkloadVerdict) -> OpenVerdict:
    return OpenVerdict(
        kind=w.verdict.value, recommended_mode=w.recommended_mode.value, monthly_savings_usd=w.monthly_savings_usd
    )


def diff_analyses(previous: AnalysisReport, current: AnalysisReport) -> tuple[Change, ...]:
    """Workloads in both documents whose mode, task size or (after a scale_in verdict) desired count moved.

    The change happened between the two analyses; it is dated at the later one, the first time it was seen,
    so no after-side hour is counted that may precede it."""
    before = _Workloads(previous)
    found: list[Change] = []
    for w in current.workloads:
        old = before.get(where(w))
        if old is None:
            continue
        kinds: list[ChangeKind] = []
        if old.current_mode is not w.current_mode:
            kinds.append("mode")
        old_size, new_size = _task_size(old), _task_size(w)
        if old_size and new_size and old_size != new_size:
            kinds.append("task_size")
        old_count, new_count = _desired(old), _desired(w)
        if (
            old.verdict is WorkloadVerdictKind.SCALE_IN
            and old_count is not None
            and new_count is not None
            and new_count < old_count
        ):
            kinds.append("desired_count")
        if kinds:
            found.append(
                Change(
                    cluster=w.cluster,
                    workload=w.workload,
                    account=w.account,
                    region=w.region,
                    changed_at=current.generated_at,
                    source="analysis_diff",
                    kinds=tuple(kinds),
                    from_mode=old.current_mode.value,
                    to_mode=w.current_mode.value,
                    from_task_size=old_size,
                    to_task_size=new_size,
                    from_desired_count=old_count,
                    to_desired_count=new_count,
                    open_verdict=open_verdict_of(old),
                )
            )
    return tuple(found)


# --------------------------------------------------------------------------- measurement


def _ordered(documents: Iterable[AnalysisReport]) -> list[AnalysisReport]:
    return sorted(documents, key=lambda d: d.generated_at)


Where = tuple[str | None, str | None, str, str]


def where(item: WorkloadVerdict | Change | ChangeOutcome) -> Where:
    """A workload's identity across documents: account, region, cluster, workload."""
    return (item.account, item.region, item.cluster, item.workload)


def _same(a: Where, b: Where) -> bool:
    """The same workload: equal names, and equal account and region where both sides know them (a document
    written before verdicts named their account, or a call without one, matches on the names)."""
    return a[2:] == b[2:] and all(x is None or y is None or x == y for x, y in zip(a[:2], b[:2], strict=True))


class _Workloads:
    """One document's workloads by where they live; a document without accounts and regions is found by name."""

    def __init__(self, document: AnalysisReport) -> None:
        self._exact = {where(w): w for w in document.workloads}
        self._by_name: dict[tuple[str, str], list[WorkloadVerdict]] = {}
        for w in document.workloads:
            self._by_name.setdefault((w.cluster, w.workload), []).append(w)

    def get(self, key: Where) -> WorkloadVerdict | None:
        found = self._exact.get(key)
        if found is not None:
            return found
        named = [w for w in self._by_name.get(key[2:], []) if _same(where(w), key)]
        return named[0] if len(named) == 1 else None


Index = dict[int, _Workloads]


def index_workloads(documents: Iterable[AnalysisReport]) -> Index:
    """Each document's workloads by where they live, keyed by the document's id: one pass, then lookups."""
    return {id(d): _Workloads(d) for d in documents}


def _features(w: WorkloadVerdict) -> dict[str, Any]:
    features = w.evidence.get("features")
    return features if isinstance(features, dict) else {}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _short_of_data(w: WorkloadVerdict, thresholds: Thresholds, side: str) -> str | None:
    """Why one side cannot be measured (classification's minimum data), or None when it can."""
    features = _features(w)
    span = _number(features.get("data_span_hours")) or 0.0
    avg = _number(features.get("avg_tasks"))
    if w.pattern is Pattern.INSUFFICIENT_DATA or span < thresholds.min_span_hours:
        return f"{side}: not enough data ({span:.0f} h of datapoints, {thresholds.min_span_hours:.0f} h needed)"
    if avg is None or avg <= 0:
        return f"{side}: no task ran, so there is no cost per task-hour"
    if w.evidence.get("cost_known") is False:
        return f"{side}: its cost is unknown (an instance type the catalog does not price)"
    return None


def _per_task_hour(w: WorkloadVerdict) -> tuple[float, float]:
    """(cost per task-hour, task-hours per month) of one analysed workload."""
    task_hours = float(_features(w)["avg_tasks"]) * HOURS_PER_MONTH
    return w.current_monthly_cost_usd / task_hours, task_hours


def _advised(change: Change, after: WorkloadVerdict | None) -> bool:
    """Whether the open verdict asked for this change (its mode, a new size after rightsize, fewer tasks)."""
    verdict = change.open_verdict
    if verdict is None or verdict.monthly_savings_usd <= 0:
        return False
    to_mode = after.current_mode.value if after is not None else change.to_mode
    if verdict.kind.startswith("move_to_"):
        return to_mode is not None and to_mode == verdict.recommended_mode
    if verdict.kind == WorkloadVerdictKind.RIGHTSIZE.value:
        return "task_size" in change.kinds
    if verdict.kind == WorkloadVerdictKind.SCALE_IN.value:
        return "desired_count" in change.kinds
    return False


def _observed(change: Change, before: WorkloadVerdict | None, after: WorkloadVerdict | None) -> tuple[ChangeKind, ...]:
    """What really moved, once the analyses on both sides are known (a new revision may keep its size, a
    strategy may name the mode it already ran on); a desired count counts only after a scale_in verdict."""
    kinds = list(change.kinds)
    verdict = change.open_verdict
    if "desired_count" in kinds and (verdict is None or verdict.kind != WorkloadVerdictKind.SCALE_IN.value):
        kinds.remove("desired_count")
    if before is None or after is None:
        return tuple(kinds)
    observed: list[ChangeKind] = []
    if before.current_mode is not after.current_mode:
        observed.append("mode")
    if _task_size(before) != _task_size(after):
        observed.append("task_size")
    if "desired_count" in kinds:
        observed.append("desired_count")
    return tuple(observed)


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _rate(value: float) -> str:
    return f"${value:,.4f}"


def measure(
    change: Change,
    documents: Sequence[AnalysisReport],
    thresholds: Thresholds,
    policy: PolicyOptions,
    until: datetime | None = None,
    index: Index | None = None,
) -> ChangeOutcome:
    """Promised against realised for one change, from the analyses on each side of it (any order); `until`,
    the workload's next change, bounds the after side so a later change is not credited to this one."""
    docs = [d for d in _ordered(documents) if until is None or d.generated_at < until]
    index = index if index is not None else index_workloads(docs)
    key = where(change)

    def find(doc: AnalysisReport) -> WorkloadVerdict | None:
        return index[id(doc)].get(key)

    before_doc = next(
        (d for d in reversed(docs) if d.generated_at < change.changed_at and find(d) is not None),
        None,
    )
    after_doc = next(
        (d for d in reversed(docs) if d.generated_at >= change.changed_at and find(d) is not None),
        None,
    )
    before = None if before_doc is None else find(before_doc)
    after = None if after_doc is None else find(after_doc)
    open_verdict = change.open_verdict or (None if before is None else open_verdict_of(before))
    change = change.model_copy(update={"open_verdict": open_verdict})
    change = change.model_copy(update={"kinds": _observed(change, before, after)})
    advised = _advised(change, after)
    promised = open_verdict.monthly_savings_usd if advised and open_verdict is not None else None
    found_at = after or before
    outcome: dict[str, Any] = {
        "cluster": change.cluster,
        "workload": change.workload,
        "account": change.account or (found_at.account if found_at is not None else None),
        "region": change.region or (found_at.region if found_at is not None else None),
        "from_mode": change.from_mode or (None if before is None else before.current_mode.value),
        "to_mode": (after.current_mode.value if after is not None else change.to_mode),
        "changed_at": change.changed_at,
        "source": change.source,
        "kinds": change.kinds,
        "principal": change.principal,
        "promised_monthly_savings_usd": promised,
        "realised_monthly_savings_usd": None,
    }
    min_after = timedelta(hours=thresholds.min_span_hours)
    if before is None or before_doc is None:
        if change.call == "CreateService":
            # a service no analysis saw before: new, not switched (kinds emptied, so track_changes drops it)
            return ChangeOutcome(**{**outcome, "kinds": ()}, not_measured="a new service: nothing to compare")
        return ChangeOutcome(**outcome, not_measured="no analysis from before the change")
    if after is None or after_doc is None or after_doc.generated_at - change.changed_at < min_after:
        seen = (
            "" if after_doc is None else f" (the last analysis is {_hours(after_doc.generated_at - change.changed_at)})"
        )
        return ChangeOutcome(
            **outcome,
            not_measured=f"too recent to measure: {thresholds.min_span_hours:.0f} h after the change needed{seen}",
        )
    short = _short_of_data(before, thresholds, "before") or _short_of_data(after, thresholds, "after")
    if short is not None:
        return ChangeOutcome(**outcome, not_measured=short)
    rate_before, hours_before = _per_task_hour(before)
    rate_after, hours_after = _per_task_hour(after)
    scale_in = "desired_count" in change.kinds
    # a scale-in saves the task-hours themselves; every other change, the price of each task-hour
    realised = (
        before.current_monthly_cost_usd - after.current_monthly_cost_usd
        if scale_in
        else (rate_before - rate_after) * hours_after
    )
    lookback_hours = after_doc.lookback_days * 24.0
    surely_after = (after_doc.generated_at - change.changed_at).total_seconds() / 3600.0
    clean = 1.0 if lookback_hours <= 0 else min(1.0, surely_after / lookback_hours)
    coverage = min(_number(_features(before).get("coverage")) or 0.0, _number(_features(after).get("coverage")) or 0.0)
    confidence = round(max(0.0, min(1.0, coverage * clean)), 2)
    avg_before = hours_before / HOURS_PER_MONTH
    avg_after = hours_after / HOURS_PER_MONTH
    arithmetic = [
        f"before ({before.current_mode.value}, analysis of {before_doc.generated_at:%Y-%m-%d}): "
        f"{_usd(before.current_monthly_cost_usd)}/month ÷ ({avg_before:,.2f} tasks avg × 730 h) = "
        f"{_rate(rate_before)} per task-hour",
        f"after ({after.current_mode.value}, analysis of {after_doc.generated_at:%Y-%m-%d}): "
        f"{_usd(after.current_monthly_cost_usd)}/month ÷ ({avg_after:,.2f} tasks avg × 730 h) = "
        f"{_rate(rate_after)} per task-hour",
        (
            f"realised (scale-in: fewer task-hours): {_usd(before.current_monthly_cost_usd)} − "
            f"{_usd(after.current_monthly_cost_usd)} = {_usd(realised)}/month"
            if scale_in
            else f"realised: ({_rate(rate_before)} − {_rate(rate_after)}) × {hours_after:,.0f} task-hours/month = "
            f"{_usd(realised)}/month"
        ),
        f"confidence: coverage {coverage:.2f} × {clean:.2f} of the after analysis' {after_doc.lookback_days}-day "
        f"lookback surely after the change = {confidence:.2f}",
    ]
    if before_doc.pricing.as_of != after_doc.pricing.as_of:
        arithmetic.append(
            f"prices: catalog of {before_doc.pricing.as_of} before, {after_doc.pricing.as_of} after; "
            "part of the difference may be a price change"
        )
    if promised is not None:
        arithmetic.append(f"promised: {_usd(promised)}/month ({open_verdict.kind if open_verdict else ''})")
    elif change.kinds:
        arithmetic.append(
            f"not advised by modeshift: {change.workload} moved {outcome['from_mode']} → {outcome['to_mode']} "
            f"on the operator's own call, which {'saves' if realised >= 0 else 'costs'} "
            f"{_usd(abs(realised))}/month"
        )
    cost_before_now = rate_before * hours_after
    regressed = -realised >= policy.min_savings_usd and -realised >= policy.min_savings_pct / 100.0 * cost_before_now
    return ChangeOutcome(
        **{**outcome, "realised_monthly_savings_usd": round(realised, 2)},
        confidence=confidence,
        arithmetic=tuple(arithmetic),
        regressed=regressed,
    )


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.0f} h after it"


# --------------------------------------------------------------------------- putting it together


def expand_cluster_changes(changes: Sequence[Change], diffs: Sequence[Change]) -> list[Change]:
    """A cluster default-strategy change (`PutClusterCapacityProviders`) becomes a change of each workload of
    that cluster the analyses saw switch mode after it, credited to the CloudTrail call (its time, its caller)."""
    out: list[Change] = []
    for change in changes:
        if change.workload != CLUSTER_WORKLOAD:
            out.append(change)
            continue
        for diff in diffs:
            same_cluster = _same((*where(diff)[:3], ""), (*where(change)[:3], ""))
            if same_cluster and "mode" in diff.kinds and diff.changed_at >= change.changed_at:
                out.append(
                    change.model_copy(
                        update={"workload": diff.workload, "from_mode": diff.from_mode, "to_mode": diff.to_mode}
                    )
                )
    return out


def track_changes(
    documents: Sequence[AnalysisReport],
    recorded: Sequence[Change] = (),
    *,
    thresholds: Thresholds | None = None,
    policy: PolicyOptions | None = None,
) -> tuple[ChangeOutcome, ...]:
    """Every change the documents show (consecutive diffs) or CloudTrail recorded, measured.

    A recorded change stands for the diffs of its workload between the analyses around it (CloudTrail knows
    when and who); a workload changed twice between two analyses is measured from its last recorded change."""
    policy = policy or PolicyOptions()
    thresholds = thresholds or policy.thresholds
    docs = _ordered(documents)
    index = index_workloads(docs)
    diffs = [c for prev, cur in pairwise(docs) for c in diff_analyses(prev, cur)]
    recorded_changes = expand_cluster_changes(recorded, diffs)
    covered: set[tuple[Where, datetime]] = set()
    for change in recorded_changes:
        for diff in diffs:
            if _same(where(diff), where(change)) and _between(docs, change.changed_at, diff.changed_at):
                covered.add((where(diff), diff.changed_at))
    latest: dict[tuple[Where, datetime | None], Change] = {}
    for change in sorted(recorded_changes, key=lambda c: c.changed_at):
        # one entry per workload and analysis interval: the last recorded call before the next analysis wins
        window = next((d.generated_at for d in docs if d.generated_at >= change.changed_at), None)
        latest[(where(change), window)] = change
    candidates = list(latest.values()) + [d for d in diffs if (where(d), d.changed_at) not in covered]
    candidates.sort(key=lambda c: (c.cluster, c.workload, c.account or "", c.region or "", c.changed_at))
    following: list[datetime | None] = [
        nxt.changed_at if _same(where(nxt), where(change)) else None for change, nxt in pairwise(candidates)
    ]
    following.append(None)  # the last change (if any) runs to the newest analysis
    outcomes = [
        o
        for o in (
            measure(c, docs, thresholds, policy, until, index) for c, until in zip(candidates, following, strict=False)
        )
        if o.kinds
    ]
    return tuple(sorted(outcomes, key=lambda o: (o.changed_at, o.cluster, o.workload)))


def _between(docs: Sequence[AnalysisReport], changed_at: datetime, seen_at: datetime) -> bool:
    """Whether a diff first seen at `seen_at` spans `changed_at` (no analysis in between the two)."""
    if changed_at > seen_at:
        return False
    return not any(changed_at < d.generated_at < seen_at for d in docs)


def track_record(outcomes: Sequence[ChangeOutcome]) -> TrackRecord:
    """Sum promised and realised over the measured changes modeshift advised; ratio realised ÷ promised."""
    advised = [
        o for o in outcomes if o.promised_monthly_savings_usd is not None and o.realised_monthly_savings_usd is not None
    ]
    promised = sum(o.promised_monthly_savings_usd or 0.0 for o in advised)
    realised = sum(o.realised_monthly_savings_usd or 0.0 for o in advised)
    unadvised = sum(
        o.realised_monthly_savings_usd or 0.0
        for o in outcomes
        if o.promised_monthly_savings_usd is None and o.realised_monthly_savings_usd is not None
    )
    return TrackRecord(
        promised_usd=round(promised, 2),
        realised_usd=round(realised, 2),
        ratio=round(realised / promised, 2) if promised > 0 else None,
        unadvised_realised_usd=round(unadvised, 2),
        measured_count=sum(1 for o in outcomes if o.realised_monthly_savings_usd is not None),
        pending_count=sum(1 for o in outcomes if o.realised_monthly_savings_usd is None),
    )


# --------------------------------------------------------------------------- the regression message

CHANGE_REGRESSED = "change_regressed"


def _key(outcome: ChangeOutcome) -> tuple[Where, datetime]:
    return (where(outcome), outcome.changed_at)


def newly_regressed(outcomes: Sequence[ChangeOutcome], earlier: Sequence[ChangeOutcome]) -> list[ChangeOutcome]:
    """Regressions not already found by the run before (measured without this week's analysis): each
    regression is announced once, in the first week that measures it, with no state to keep."""
    seen = {_key(o) for o in earlier if o.regressed}
    return [o for o in outcomes if o.regressed and _key(o) not in seen]


def regression_notification(outcome: ChangeOutcome, *, region: str, generated_at: datetime) -> Notification:
    """The `change_regressed` message: a change that costs more than before, with its arithmetic."""
    extra = -(outcome.realised_monthly_savings_usd or 0.0)
    moved = f"{outcome.from_mode or '?'} → {outcome.to_mode or '?'}"
    title = f"modeshift: {outcome.cluster}/{outcome.workload} costs ${extra:,.2f}/mo more since {moved}"
    lines = [
        title.removeprefix("modeshift: "),
        "",
        f"Cluster: {outcome.cluster}",
        f"Workload: {outcome.workload}",
        f"Changed: {outcome.changed_at:%Y-%m-%d %H:%M} UTC ({moved}"
        + (f", by {outcome.principal})" if outcome.principal else ")"),
        "Promised: "
        + (
            f"${outcome.promised_monthly_savings_usd:,.2f}/month"
            if outcome.promised_monthly_savings_usd is not None
            else "nothing (modeshift had not advised it)"
        ),
        f"Realised: -${extra:,.2f}/month (confidence {outcome.confidence or 0:.2f})",
        "",
        "Arithmetic:",
        *(f"- {line}" for line in outcome.arithmetic),
        "",
        "Check for bursts that grew, a Spot fallback to on-demand, or a task size too small (more tasks); "
        "`modeshift analyze` says where the workload is cheapest now.",
    ]
    raw = f"{outcome.cluster}|{outcome.workload}|{outcome.changed_at.isoformat()}|{CHANGE_REGRESSED}"
    notification = Notification(
        notification_id=hashlib.sha256(raw.encode()).hexdigest()[:32],
        type=CHANGE_REGRESSED,
        scope="workload",
        severity=severity_for(extra),
        cluster=outcome.cluster,
        subject=outcome.workload,
        region=region,
        generated_at=generated_at,
        monthly_savings_usd=outcome.realised_monthly_savings_usd or 0.0,
        title=title[:SUBJECT_MAX_CHARS],
        text="\n".join(lines),
        verdict=outcome.model_dump(mode="json"),
    )
    return fit_to_size(notification)
