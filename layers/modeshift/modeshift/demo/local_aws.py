"""A local AWS for the demo: a loopback moto server whose CloudWatch answers GetMetricData fast."""

from __future__ import annotations

import contextlib
import json
import logging
import shlex
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import numpy as np

from modeshift.errors import MissingExtraError

LOOPBACK = "127.0.0.1"
DUMMY_ACCESS_KEY_ID = "testing"
DUMMY_SECRET_ACCESS_KEY = "testing"
SUPPORTED_STATS = ("Average", "Sum", "Minimum", "Maximum", "SampleCount")

_EPOCH = datetime(1970, 1, 1)
_ONE_US = timedelta(microseconds=1)

MetricKey = tuple[str, str, frozenset[tuple[str, str]]]
GetMetricData = Callable[..., list[dict[str, Any]]]


# --------------------------------------------------------------------------- fast CloudWatch store


@dataclass(frozen=True, slots=True)
class _Points:
    """One metric's datapoints sorted by time: a plain Value datum is sum=min=max=value, count=1."""

    times_us: np.ndarray  # int64 microseconds since the epoch (UTC)
    sums: np.ndarray
    mins: np.ndarray
    maxs: np.ndarray
    counts: np.ndarray
    units: np.ndarray  # object array of unit strings (or None)

    def window(self, start_us: int, end_us: int, unit: str | None) -> _Points:
        lo = int(np.searchsorted(self.times_us, start_us, side="left"))
        hi = int(np.searchsorted(self.times_us, end_us, side="left"))
        points = _Points(
            self.times_us[lo:hi],
            self.sums[lo:hi],
            self.mins[lo:hi],
            self.maxs[lo:hi],
            self.counts[lo:hi],
            self.units[lo:hi],
        )
        if unit is None:
            return points
        keep = points.units == unit
        return _Points(*(column[keep] for column in points._columns()))

    def _columns(self) -> tuple[np.ndarray, ...]:
        return (self.times_us, self.sums, self.mins, self.maxs, self.counts, self.units)

    @staticmethod
    def merge(first: _Points, second: _Points) -> _Points:
        columns = [np.concatenate((a, b)) for a, b in zip(first._columns(), second._columns(), strict=True)]
        order = np.argsort(columns[0], kind="stable")
        return _Points(*(column[order] for column in columns))


def _epoch_us(moment: datetime) -> int:
    """Microseconds since the epoch; moto stores naive datetimes that mean UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return (moment - _EPOCH) // _ONE_US


def _build_points(data: Iterable[Any]) -> dict[MetricKey, _Points]:
    """Group moto datums by metric identity into time-sorted arrays."""
    # Imported here so nothing loads moto until a local AWS is actually wanted.
    from moto.cloudwatch.models import MetricAggregatedDatum

    rows: dict[MetricKey, list[tuple[int, float, float, float, float, Any]]] = {}
    for datum in data:
        key = (datum.namespace, datum.name, frozenset((d.name, d.value) for d in datum.dimensions))
        when = _epoch_us(datum.timestamp)
        if isinstance(datum, MetricAggregatedDatum):
            row = (when, datum.sum, datum.min, datum.max, datum.sample_count, datum.unit)
        else:
            row = (when, datum.value, datum.value, datum.value, 1.0, datum.unit)
        rows.setdefault(key, []).append(row)

    points: dict[MetricKey, _Points] = {}
    for key, metric_rows in rows.items():
        times, sums, mins, maxs, counts, units = zip(*metric_rows, strict=True)
        times_us = np.asarray(times, dtype=np.int64)
        order = np.argsort(times_us, kind="stable")
        unit_array = np.empty(len(units), dtype=object)
        unit_array[:] = units
        points[key] = _Points(
            times_us[order],
            np.asarray(sums, dtype=np.float64)[order],
            np.asarray(mins, dtype=np.float64)[order],
            np.asarray(maxs, dtype=np.float64)[order],
            np.asarray(counts, dtype=np.float64)[order],
            unit_array[order],
        )
    return points


@dataclass(frozen=True, slots=True)
class _Index:
    source: list[Any]  # the backend's metric_data list this index was built from
    length: int
    points: dict[MetricKey, _Points]


_index_lock = threading.Lock()
_indexes: dict[int, _Index] = {}


def _index_for(backend: Any) -> _Index:
    """The backend's index, rebuilt when put_metric_data appended (moto only ever appends) or on reset."""
    data = backend.metric_data
    with _index_lock:
        index = _indexes.get(id(backend))
        if index is None or index.source is not data or index.length != len(data):
            snapshot = list(data)
            index = _Index(source=data, length=len(snapshot), points=_build_points(snapshot))
            _indexes[id(backend)] = index
        return index


def _validation_error(message: str) -> Exception:
    from moto.cloudwatch.exceptions import ValidationError

    return ValidationError(message)


def _aggregate(points: _Points, start_us: int, period_us: int, stat: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-period statistic over periods [start + k·period, …); only periods holding data appear."""
    if points.times_us.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    buckets = (points.times_us - start_us) // period_us
    firsts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    periods = buckets[firsts]
    if stat == "Minimum":
        values = np.minimum.reduceat(points.mins, firsts)
    elif stat == "Maximum":
        values = np.maximum.reduceat(points.maxs, firsts)
    elif stat == "Sum":
        values = np.add.reduceat(points.sums, firsts)
    elif stat == "SampleCount":
        values = np.add.reduceat(points.counts, firsts)
    else:  # Average
        counts = np.add.reduceat(points.counts, firsts)
        sums = np.add.reduceat(points.sums, firsts)
        with_samples = counts > 0  # moto has no Average for zero samples; CloudWatch never stores one
        periods, values = periods[with_samples], sums[with_samples] / counts[with_samples]
    return periods, values


def _is_true(flag: Any) -> bool:
    if isinstance(flag, str):
        return flag.lower() != "false"
    return bool(flag)


def _metric_stat_result(
    query: dict[str, Any],
    index: _Index,
    extra: dict[MetricKey, _Points],
    start_time: datetime,
    start_us: int,
    end_us: int,
    scan_by: str,
) -> dict[str, Any]:
    metric_stat = query["MetricStat"]
    metric = metric_stat["Metric"]
    stat = metric_stat["Stat"]
    if stat not in SUPPORTED_STATS:
        raise _validation_error(
            f"The local CloudWatch supports the statistics {', '.join(SUPPORTED_STATS)}; "
            f"query {query['Id']} asked for {stat}."
        )
    period_seconds = int(metric_stat["Period"])
    if period_seconds <= 0:
        raise _validation_error(f"The parameter Period of query {query['Id']} must be positive.")
    # Real CloudWatch identifies a metric by namespace, name and the exact set of dimensions.
    # moto ignores the namespace when dimensions are given and, without dimensions, matches every
    # dimension set: this store follows CloudWatch, not moto.
    key: MetricKey = (
        metric["Namespace"],
        metric["MetricName"],
        frozenset((d["Name"], d["Value"]) for d in metric.get("Dimensions") or ()),
    )
    unit = metric_stat.get("Unit")
    points: _Points | None = None
    for store in (index.points, extra):
        found = store.get(key)
        if found is None:
            continue
        selected = found.window(start_us, end_us, unit)
        points = selected if points is None else _Points.merge(points, selected)

    timestamps: list[datetime] = []
    values: list[float] = []
    if points is not None:
        period_us = period_seconds * 1_000_000
        periods, stat_values = _aggregate(points, start_us, period_us, stat)
        timestamps = [start_time + timedelta(microseconds=int(k) * period_us) for k in periods.tolist()]
        values = [float(v) for v in stat_values.tolist()]
    if scan_by == "TimestampDescending":
        timestamps.reverse()
        values.reverse()
    return {
        "id": query["Id"],
        "label": query.get("Label") or f"{metric['MetricName']} {stat}",
        "values": values,
        "timestamps": timestamps,
        "status_code": "Complete",
    }


def fast_get_metric_data(
    backend: Any,
    queries: list[dict[str, Any]],
    start_time: datetime,
    end_time: datetime,
    scan_by: str = "TimestampAscending",
) -> list[dict[str, Any]]:
    """moto's CloudWatchBackend.get_metric_data answered from a per-metric, time-sorted numpy index.

    Same result shape and period grid as moto (periods start at StartTime, gaps absent). Metric math
    is evaluated by moto's own expression parser over these results; Metrics Insights (SELECT …)
    queries go to moto's original implementation.
    """
    start_time = start_time.replace(microsecond=0)
    end_time = end_time.replace(microsecond=0)
    if start_time > end_time:
        raise _validation_error("The parameter EndTime must be greater than StartTime.")
    if start_time == end_time:
        raise _validation_error("The parameter StartTime must not equal parameter EndTime.")

    index = _index_for(backend)
    provided = backend.aws_metric_data  # computed on the fly by moto (S3 bucket metrics): never cached
    extra = _build_points(provided) if provided else {}
    start_us, end_us = _epoch_us(start_time), _epoch_us(end_time)

    results: list[dict[str, Any]] = []
    to_return: list[dict[str, Any]] = []
    for query in queries:
        if "MetricStat" not in query:
            continue
        result = _metric_stat_result(query, index, extra, start_time, start_us, end_us, scan_by)
        results.append(result)
        if _is_true(query.get("ReturnData", True)):
            to_return.append(dict(result))

    math_queries = [q for q in queries if "Expression" in q and not q["Expression"].startswith("SELECT")]
    if math_queries:
        from moto.cloudwatch.metric_data_expression_parser import parse_expression

        for query in math_queries:
            values, timestamps = parse_expression(query["Expression"], results)
            to_return.append(
                {
                    "id": query["Id"],
                    "label": query.get("Label") or query["Id"],
                    "values": values,
                    "timestamps": timestamps,
                    "status_code": "Complete",
                }
            )
    insights_queries = [q for q in queries if "Expression" in q and q["Expression"].startswith("SELECT")]
    if insights_queries:
        to_return.extend(_moto_get_metric_data()(backend, insights_queries, start_time, end_time, scan_by))
    return to_return


_install_lock = threading.Lock()
_install_count = 0
_original: GetMetricData | None = None


def _moto_get_metric_data() -> GetMetricData:
    """moto's own get_metric_data, whether or not the fast store is installed."""
    from moto.cloudwatch.models import CloudWatchBackend

    return _original if _original is not None else CloudWatchBackend.get_metric_data


def install_fast_cloudwatch() -> None:
    """Make every moto CloudWatch backend in this process answer GetMetricData from the fast store.

    Re-entrant: each install needs one uninstall; the last restores moto's method.
    """
    global _install_count, _original
    from moto.cloudwatch.models import CloudWatchBackend

    with _install_lock:
        if _install_count == 0:
            _original = CloudWatchBackend.get_metric_data
            CloudWatchBackend.get_metric_data = fast_get_metric_data  # type: ignore[method-assign, assignment]
        _install_count += 1


def uninstall_fast_cloudwatch() -> None:
    global _install_count, _original
    from moto.cloudwatch.models import CloudWatchBackend

    with _install_lock:
        if _install_count == 0:
            return
        _install_count -= 1
        if _install_count == 0 and _original is not None:
            CloudWatchBackend.get_metric_data = _original  # type: ignore[method-assign]
            _original = None
            with _index_lock:
                _indexes.clear()


# --------------------------------------------------------------------------- the `demo` extra


def demo_install_command() -> str:
    """The one shell command that adds the `demo` extra (moto's server) to this installation of modeshift.

    pip records where modeshift was installed from (PEP 610 direct_url.json): a source folder gets
    that folder back, editable when it was; anything else the package name.
    """
    python = shlex.quote(sys.executable)
    source, editable = _installed_from()
    if source is None:
        return f"{python} -m pip install 'modeshift[demo]'"
    return f"{python} -m pip install {'-e ' if editable else ''}{shlex.quote(source + '[demo]')}"


def _installed_from() -> tuple[str | None, bool]:
    from importlib import metadata

    try:
        text = metadata.distribution("modeshift").read_text("direct_url.json")
        direct = json.loads(text) if text else {}
    except (metadata.PackageNotFoundError, ValueError):
        return None, False
    url = urllib.parse.urlparse(str(direct.get("url", "")))
    if url.scheme != "file" or "dir_info" not in direct:
        return None, False
    return urllib.request.url2pathname(url.path), bool(direct["dir_info"].get("editable"))


def require_demo_extra() -> None:
    """Raise MissingExtraError, whose message is the command that fixes it, when moto's server is missing."""
    try:
        import moto.server  # noqa: F401 - the import is the check: it needs moto[server]'s Flask too
    except ImportError:
        raise MissingExtraError(
            "`modeshift demo` needs its local AWS (moto's server), the optional `demo` extra, which is not "
            f"installed. Add it with: {demo_install_command()}"
        ) from None


# --------------------------------------------------------------------------- loopback server


class LocalAwsError(RuntimeError):
    """The local AWS could not start or answer."""


def _threaded_moto_server_class() -> type:
    from moto.server import ThreadedMotoServer

    class _ReportingMotoServer(ThreadedMotoServer):
        """ThreadedMotoServer whose start() returns (instead of hanging) when the socket cannot bind."""

        startup_error: BaseException | None = None

        def _server_entry(self) -> None:
            try:
                super()._server_entry()
            except BaseException as exc:
                self.startup_error = exc
                self._server_ready_event.set()

    return _ReportingMotoServer


class LocalAws:
    """A moto server on 127.0.0.1 (a free port the kernel picks) for the length of a `with` block.

    The fast CloudWatch store is installed while it runs. moto's backends are process-wide, so by
    default the state is reset on start and on stop. The server always stops on exit, also when the
    block raised.
    """

    def __init__(
        self,
        region: str = "us-east-1",
        *,
        fast_cloudwatch: bool = True,
        reset: bool = True,
        ready_timeout_seconds: float = 10.0,
    ) -> None:
        self.region = region
        self._fast_cloudwatch = fast_cloudwatch
        self._reset = reset
        self._ready_timeout_seconds = ready_timeout_seconds
        self._server: Any = None
        self._port: int | None = None
        self._installed = False
        self._werkzeug_level: int | None = None

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> LocalAws:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        if self._server is not None:
            raise LocalAwsError("the local AWS is already running")
        require_demo_extra()
        werkzeug_logger = logging.getLogger("werkzeug")
        self._werkzeug_level = werkzeug_logger.level
        werkzeug_logger.setLevel(logging.WARNING)  # one access-log line per request otherwise
        if self._fast_cloudwatch:
            install_fast_cloudwatch()
            self._installed = True
        try:
            # Port 0: the kernel hands out a free port atomically, no pick-then-bind race.
            server = _threaded_moto_server_class()(ip_address=LOOPBACK, port=0, verbose=False)
            self._server = server
            server.start()
            if server.startup_error is not None:
                raise LocalAwsError(f"moto server failed to start: {server.startup_error}")
            host, port = server.get_host_and_port()
            if host != LOOPBACK:
                raise LocalAwsError(f"moto server bound {host}, not {LOOPBACK}")
            self._port = port
            self._wait_until_ready()
            if self._reset:
                self._post("/moto-api/reset")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        server, self._server = self._server, None
        try:
            if server is not None:
                if self._reset and self._port is not None and server.startup_error is None:
                    # stopping matters more than tidying moto's memory
                    with contextlib.suppress(OSError, LocalAwsError):
                        self._post("/moto-api/reset")
                if server.startup_error is None:
                    server.stop()
        finally:
            self._port = None
            if self._installed:
                uninstall_fast_cloudwatch()
                self._installed = False
            if self._werkzeug_level is not None:
                logging.getLogger("werkzeug").setLevel(self._werkzeug_level)
                self._werkzeug_level = None

    @property
    def running(self) -> bool:
        return self._server is not None and self._port is not None

    # ----------------------------------------------------------------- addresses and clients

    @property
    def port(self) -> int:
        if self._port is None:
            raise LocalAwsError("the local AWS is not running")
        return self._port

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def environ(self) -> dict[str, str]:
        """Variables that point boto3 (and so the normal analysis) at this local AWS."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def session(self) -> Any:
        """A boto3 Session with dummy credentials in this region (pass endpoint_url to its clients)."""
        import boto3

        return boto3.Session(
            aws_access_key_id=DUMMY_ACCESS_KEY_ID,
            aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
            region_name=self.region,
        )

    def client(self, service_name: str, **kwargs: Any) -> Any:
        """A boto3 client for this local AWS."""
        return self.session().client(service_name, endpoint_url=self.endpoint_url, **kwargs)

    # ----------------------------------------------------------------- helpers

    def _post(self, path: str) -> None:
        request = urllib.request.Request(self.endpoint_url + path, data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=self._ready_timeout_seconds) as response:
            response.read()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self._ready_timeout_seconds
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            try:
                url = self.endpoint_url + "/moto-api/"
                with urllib.request.urlopen(url, timeout=1.0) as response:
                    response.read()
                return
            except urllib.error.HTTPError:
                return  # any HTTP answer means the server is serving
            except OSError as exc:
                last_error = exc
                time.sleep(0.05)
        raise LocalAwsError(f"moto server on {self.endpoint_url} did not answer: {last_error}")


def metric_keys(backend: Any) -> Sequence[MetricKey]:
    """The metric identities the fast store holds for a backend (for tests and diagnostics)."""
    return tuple(_index_for(backend).points)
