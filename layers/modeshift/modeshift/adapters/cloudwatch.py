"""CloudWatch adapter: plans GetMetricData within AWS's limits, reads regular series, lists dimension values."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from botocore.exceptions import ClientError

from modeshift.adapters.aws_errors import is_throttling, translate
from modeshift.domain.models import MetricSeries
from modeshift.errors import AccessDeniedError, AwsCallError

logger = logging.getLogger(__name__)

# GetMetricData service limits (AWS-FACTS "Service limits").
MAX_QUERIES_PER_CALL = 500
MAX_DATAPOINTS_PER_CALL = 100_800

# Retention tiers: (oldest data still served in days, the period must be a multiple of this many seconds).
# A query reaching further back than a tier with a finer period gets no datapoints at all, silently.
RETENTION_TIERS: tuple[tuple[float, int], ...] = ((15.0, 60), (63.0, 300), (455.0, 3600))

STATISTICS = frozenset({"Average", "Maximum", "Minimum", "Sum", "SampleCount"})

_GET_METRIC_DATA_PERMISSION = "cloudwatch:GetMetricData"
_LIST_METRICS_PERMISSION = "cloudwatch:ListMetrics"


@dataclass(frozen=True)
class MetricQuery:
    """One statistic of one metric. `key` is the caller's identifier (any string, unique within a fetch);
    `dimensions` are (name, value) pairs sent in the order given; `period_seconds` is the series step."""

    key: str
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    period_seconds: int

    def __post_init__(self) -> None:
        if self.stat not in STATISTICS:
            raise ValueError(f"unsupported statistic {self.stat!r}: use one of {sorted(STATISTICS)}")
        if self.period_seconds <= 0:
            raise ValueError("period_seconds must be positive")


# --------------------------------------------------------------------------- pure planning


def choose_period(lookback_days: float, preferred_seconds: int = 300) -> int:
    """The finest period (seconds) ≥ `preferred_seconds` that CloudWatch still serves for the whole lookback.

    Up to 15 days back any multiple of 60 s works, up to 63 days a multiple of 300 s, up to 455 days a
    multiple of 3600 s; the result is the preferred period rounded up to the tier's multiple.
    Raises ValueError for a lookback that is not positive or older than 455 days.
    """
    if not lookback_days > 0:
        raise ValueError(f"lookback_days must be positive, got {lookback_days}")
    if preferred_seconds <= 0:
        raise ValueError(f"preferred_seconds must be positive, got {preferred_seconds}")
    for max_days, step_seconds in RETENTION_TIERS:
        if lookback_days <= max_days:
            return math.ceil(preferred_seconds / step_seconds) * step_seconds
    raise ValueError(
        f"lookback of {lookback_days:g} days is beyond CloudWatch's 455-day retention: "
        "no period can serve it; use 455 days or less"
    )


def align_window(now: datetime, lookback_days: float, period_seconds: int) -> tuple[datetime, datetime, int]:
    """(start, end, periods) for a lookback ending at `now`, both ends on period boundaries, in UTC.

    end = `now` floored to a multiple of the period since the Unix epoch (the period still in progress
    is left out, it would read low); start = end − periods × period where periods = ⌈lookback / period⌉,
    i.e. exactly end − lookback whenever the lookback is a whole number of periods.
    `now` must be timezone-aware.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if period_seconds <= 0:
        raise ValueError("period_seconds must be positive")
    if not lookback_days > 0:
        raise ValueError(f"lookback_days must be positive, got {lookback_days}")
    epoch_seconds = math.floor(now.timestamp())
    end = datetime.fromtimestamp(epoch_seconds - epoch_seconds % period_seconds, tz=UTC)
    periods = math.ceil(round(lookback_days * 86_400, 6) / period_seconds)
    start = end - timedelta(seconds=periods * period_seconds)
    return start, end, periods


def calls_for_batch(n_queries: int, points_per_query: int, max_datapoints: int = MAX_DATAPOINTS_PER_CALL) -> int:
    """API calls one GetMetricData request costs: its datapoints / page size, rounded up (≥ 1 call)."""
    if n_queries <= 0:
        return 0
    return max(1, math.ceil(n_queries * points_per_query / max_datapoints))


def lower_bound_calls(
    n_queries: int,
    points_per_query: int,
    max_queries: int = MAX_QUERIES_PER_CALL,
    max_datapoints: int = MAX_DATAPOINTS_PER_CALL,
) -> int:
    """No plan can use fewer calls: max(⌈queries / 500⌉, ⌈queries × points / 100,800⌉)."""
    if n_queries <= 0:
        return 0
    return max(math.ceil(n_queries / max_queries), math.ceil(n_queries * points_per_query / max_datapoints))


def _best_batch_size(points_per_query: int, max_queries: int, max_datapoints: int) -> int:
    """The batch size that fetches the most queries per call.

    A request may carry more datapoints than one page (AWS pages it with NextToken), so a batch of n
    queries costs ⌈n × points / page⌉ calls. Ties go to the smaller batch: fewer pages per request.
    """
    best_n, best_calls = 1, calls_for_batch(1, points_per_query, max_datapoints)
    for n in range(2, max_queries + 1):
        calls = calls_for_batch(n, points_per_query, max_datapoints)
        if n * best_calls > best_n * calls:
            best_n, best_calls = n, calls
    return best_n


def plan_batches(
    queries: Sequence[MetricQuery],
    points_per_query: int,
    max_queries: int = MAX_QUERIES_PER_CALL,
    max_datapoints: int = MAX_DATAPOINTS_PER_CALL,
) -> list[list[MetricQuery]]:
    """Split queries into GetMetricData requests (each ≤ `max_queries`) costing as few calls as possible.

    All queries of a fetch share one window and period, so each returns `points_per_query` datapoints.
    Every batch but the last has the size with the best queries-per-call ratio (see `_best_batch_size`):
    when a page holds a whole number of series (100,800 % points == 0) that is min(500, 100,800 // points)
    and the plan meets `lower_bound_calls` exactly; otherwise a batch may span several pages, which beats
    one-page batches (e.g. 3000 points: 470 queries in 14 pages instead of 33 per page). Queries keep
    their order; each appears exactly once.
    """
    if points_per_query <= 0:
        raise ValueError(f"points_per_query must be positive, got {points_per_query}")
    if max_queries <= 0 or max_datapoints <= 0:
        raise ValueError("max_queries and max_datapoints must be positive")
    size = _best_batch_size(points_per_query, max_queries, max_datapoints)
    return [list(queries[i : i + size]) for i in range(0, len(queries), size)]


# --------------------------------------------------------------------------- errors


# --------------------------------------------------------------------------- reader


class CloudWatchMetricsReader:
    """Reads many metric statistics over one window with as few GetMetricData calls as the limits allow.

    `calls_made` counts every GetMetricData request sent (pages and throttled attempts included): it is
    what the 50 TPS limit sees. `on_progress(done, total)` is called after each page received with the
    pages received so far and the pages planned (raised to `done` should AWS page more finely).
    """

    def __init__(
        self,
        client: Any,
        *,
        max_queries_per_call: int = MAX_QUERIES_PER_CALL,
        max_datapoints_per_call: int = MAX_DATAPOINTS_PER_CALL,
        on_progress: Callable[[int, int], None] | None = None,
        max_attempts: int = 5,
        backoff_base_seconds: float = 0.5,
        backoff_cap_seconds: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not 1 <= max_queries_per_call <= MAX_QUERIES_PER_CALL:
            raise ValueError(f"max_queries_per_call must be within 1..{MAX_QUERIES_PER_CALL}")
        if not 1 <= max_datapoints_per_call <= MAX_DATAPOINTS_PER_CALL:
            raise ValueError(f"max_datapoints_per_call must be within 1..{MAX_DATAPOINTS_PER_CALL}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._client = client
        self._max_queries = max_queries_per_call
        self._max_datapoints = max_datapoints_per_call
        self._on_progress = on_progress
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base_seconds
        self._backoff_cap = backoff_cap_seconds
        self._sleep = sleep
        self._jitter = jitter
        self.calls_made = 0
        self._pages_done = 0
        self._pages_planned = 0

    def fetch(self, queries: Iterable[MetricQuery], start: datetime, end: datetime) -> dict[str, MetricSeries]:
        """One MetricSeries per query key over [start, end): values[i] is the statistic of the period
        starting at start + i × period, NaN where CloudWatch returned no datapoint (never zero).

        Use `align_window` for start and end: CloudWatch rounds StartTime down, so an unaligned start
        shifts every datapoint. Queries of different periods are planned separately.
        """
        query_list = list(queries)
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        if end <= start:
            raise ValueError("end must be after start")
        keys = [q.key for q in query_list]
        if len(set(keys)) != len(keys):
            raise ValueError("query keys must be unique within one fetch")

        window_seconds = (end - start).total_seconds()
        by_period: dict[int, list[MetricQuery]] = {}
        for query in query_list:
            by_period.setdefault(query.period_seconds, []).append(query)

        plans: list[tuple[int, int, list[list[MetricQuery]]]] = []
        for period, group in by_period.items():
            points = math.ceil(window_seconds / period)
            plans.append((period, points, plan_batches(group, points, self._max_queries, self._max_datapoints)))
        self._pages_done = 0
        self._pages_planned = sum(
            calls_for_batch(len(batch), points, self._max_datapoints)
            for _, points, batches in plans
            for batch in batches
        )

        result: dict[str, MetricSeries] = {}
        next_id = 0
        for period, points, batches in plans:
            for batch in batches:
                # Keys may be any string; AWS ids must match ^[a-z][a-zA-Z0-9_]*$ and be unique per call.
                ids = {f"q{next_id + i}": query for i, query in enumerate(batch)}
                next_id += len(batch)
                values = self._fetch_batch(ids, start, end, period, points)
                for query_id, query in ids.items():
                    result[query.key] = MetricSeries(start=start, period_seconds=period, values=values[query_id])
        return result

    def _fetch_batch(
        self, ids: dict[str, MetricQuery], start: datetime, end: datetime, period: int, points: int
    ) -> dict[str, np.ndarray]:
        # float32: percentages and task counts keep 7 significant digits, and a cluster's series take half the
        # memory; classification computes in float64 on its per-cluster stack (classify._stack).
        values = {query_id: np.full(points, np.nan, dtype=np.float32) for query_id in ids}
        request: dict[str, Any] = {
            "MetricDataQueries": [_query_payload(query_id, query) for query_id, query in ids.items()],
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
            "MaxDatapoints": self._max_datapoints,
        }
        start_epoch = start.timestamp()
        # A well-behaved API needs ⌈datapoints / page⌉ pages; far more means a token loop, not data.
        max_pages = 2 * calls_for_batch(len(ids), points, self._max_datapoints) + 10
        seen_tokens: set[str] = set()
        for _ in range(max_pages):
            response = self._call(request)
            self._pages_done += 1
            if self._on_progress is not None:
                self._on_progress(self._pages_done, max(self._pages_planned, self._pages_done))
            for message in response.get("Messages", []) or []:
                logger.warning("GetMetricData message: %s: %s", message.get("Code"), message.get("Value"))
            for item in response.get("MetricDataResults", []) or []:
                query_id = item.get("Id")
                if query_id not in values:
                    logger.warning("GetMetricData returned an unknown id %r; ignored", query_id)
                    continue
                status = item.get("StatusCode", "Complete")
                if status == "Forbidden":
                    raise AccessDeniedError(_GET_METRIC_DATA_PERMISSION)
                if status == "InternalError":
                    # Leaving NaN would read as "no data": say the data is missing instead.
                    raise AwsCallError("GetMetricData", "InternalError", f"no result for {ids[query_id].key!r}")
                _place(values[query_id], item.get("Timestamps", []), item.get("Values", []), start_epoch, period)
            token = response.get("NextToken")
            if not token:
                if any(r.get("StatusCode") == "PartialData" for r in response.get("MetricDataResults", [])):
                    logger.warning("GetMetricData reported PartialData without a NextToken: series may be short")
                return values
            if token in seen_tokens:
                raise AwsCallError("GetMetricData", "PaginationLoop", "the same NextToken came back twice")
            seen_tokens.add(token)
            request["NextToken"] = token
        raise AwsCallError("GetMetricData", "PaginationLoop", f"more than {max_pages} pages for one request")

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        """One GetMetricData request, retried on throttling with capped exponential backoff and jitter.

        botocore's own retries run first; these add a bounded outer layer because the 50 TPS limit is
        shared by everything in the account and region.
        """
        for attempt in range(1, self._max_attempts + 1):
            self.calls_made += 1
            try:
                response: dict[str, Any] = self._client.get_metric_data(**request)
                return response
            except ClientError as exc:
                if is_throttling(exc) and attempt < self._max_attempts:
                    ceiling = min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1))
                    # "Equal jitter": never zero, so the retry always waits, yet callers spread out.
                    self._sleep(ceiling / 2 + self._jitter() * ceiling / 2)
                    continue
                raise translate(exc, operation="GetMetricData", permission=_GET_METRIC_DATA_PERMISSION) from exc
        raise AssertionError("unreachable")  # pragma: no cover


def _query_payload(query_id: str, query: MetricQuery) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": query.namespace,
                "MetricName": query.metric_name,
                "Dimensions": [{"Name": name, "Value": value} for name, value in query.dimensions],
            },
            "Period": query.period_seconds,
            "Stat": query.stat,
        },
        "ReturnData": True,
    }


def _place(
    target: np.ndarray, timestamps: Sequence[datetime], values: Sequence[float], start_epoch: float, period: int
) -> None:
    """Write values into `target` at their period index (timestamps are period starts)."""
    if not timestamps:
        return
    if len(timestamps) != len(values):
        raise AwsCallError("GetMetricData", "MalformedResult", "Timestamps and Values differ in length")
    first = (timestamps[0].timestamp() - start_epoch) / period
    last = (timestamps[-1].timestamp() - start_epoch) / period
    if first.is_integer() and last.is_integer() and last - first + 1 == len(timestamps):
        # CloudWatch answers each series in ascending order, one datapoint per period start: n points spanning
        # exactly n aligned periods are every period in between (the common, gapless case) without reading
        # each timestamp, which was most of a worker's time.
        index = np.arange(int(first), int(last) + 1, dtype=np.int64)
    else:
        offsets = np.fromiter((ts.timestamp() for ts in timestamps), dtype=np.float64, count=len(timestamps))
        index = np.floor((offsets - start_epoch) / period).astype(np.int64)
    inside = (index >= 0) & (index < target.shape[0])
    if not inside.all():
        # moto (and an unaligned start) can return a period starting at or after EndTime.
        logger.debug("dropped %d datapoints outside the window", int((~inside).sum()))
    target[index[inside]] = np.asarray(values, dtype=np.float64)[inside]


# --------------------------------------------------------------------------- lister


class CloudWatchMetricLister:
    """Discovers dimension values through ListMetrics (e.g. TaskDefinitionFamily values of a cluster)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def dimension_values(
        self,
        namespace: str,
        metric_name: str,
        dimension_filters: dict[str, str],
        wanted_dimension: str,
    ) -> list[str]:
        """Sorted distinct values of `wanted_dimension` among metrics that carry every filter pair.

        Only valued filters go to AWS and everything is checked again here: moto matches a value-less
        dimension filter to nothing and ignores the namespace, and ListMetrics may repeat entries.
        """
        paginator = self._client.get_paginator("list_metrics")
        params: dict[str, Any] = {"Namespace": namespace, "MetricName": metric_name}
        if dimension_filters:
            params["Dimensions"] = [{"Name": k, "Value": v} for k, v in dimension_filters.items()]
        found: set[str] = set()
        try:
            for page in paginator.paginate(**params):
                for metric in page.get("Metrics", []):
                    if metric.get("Namespace") != namespace or metric.get("MetricName") != metric_name:
                        continue
                    dims = {d.get("Name"): d.get("Value") for d in metric.get("Dimensions", [])}
                    if any(dims.get(k) != v for k, v in dimension_filters.items()):
                        continue
                    value = dims.get(wanted_dimension)
                    if value:
                        found.add(value)
        except ClientError as exc:
            raise translate(exc, operation="ListMetrics", permission=_LIST_METRICS_PERMISSION) from exc
        return sorted(found)
