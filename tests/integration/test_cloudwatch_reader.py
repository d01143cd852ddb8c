"""CloudWatchMetricsReader and CloudWatchMetricLister against a limit-enforcing fake, moto, and Stubber."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from modeshift.adapters.cloudwatch import (
    CloudWatchMetricLister,
    CloudWatchMetricsReader,
    MetricQuery,
    calls_for_batch,
    plan_batches,
)
from modeshift.errors import AccessDeniedError, AwsCallError, ThrottledError
from tests.fixtures.fake_cloudwatch import FakeCloudWatch

pytestmark = pytest.mark.integration

REGION = "us-east-1"
START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
CI_NS = "ECS/ContainerInsights"


def _query(i: int, period: int = 60, stat: str = "Average", key: str | None = None) -> MetricQuery:
    dims = (("ClusterName", "prod"), ("ServiceName", f"svc-{i}"))
    return MetricQuery(f"svc-{i}/cpu" if key is None else key, "AWS/ECS", "CPUUtilization", dims, stat, period)


def _store(fake: FakeCloudWatch, query: MetricQuery, values: np.ndarray) -> None:
    fake.put_series(
        query.namespace, query.metric_name, query.dimensions, query.stat, START, query.period_seconds, values
    )


def _gappy_values(rng: np.random.Generator, points: int) -> np.ndarray:
    values = rng.uniform(0, 150, points).round(3)
    values[rng.random(points) < 0.2] = np.nan  # periods with no datapoint
    return values


# --------------------------------------------------------------------------- (a) limit-enforcing fake


def test_fake_rejects_call_when_more_than_500_queries() -> None:
    fake = FakeCloudWatch()
    payload = [
        {"Id": f"q{i}", "MetricStat": {"Metric": {"Namespace": "n", "MetricName": "m"}, "Period": 60, "Stat": "Sum"}}
        for i in range(501)
    ]
    with pytest.raises(Exception, match="ValidationError"):
        fake.get_metric_data(MetricDataQueries=payload, StartTime=START, EndTime=START + timedelta(hours=1))


def test_reader_reassembles_paged_series_exactly_when_batches_span_pages() -> None:
    points = 3000  # 100,800 is not a multiple: the best batch (168 queries) spans 5 pages, cutting series
    rng = np.random.default_rng(42)
    fake = FakeCloudWatch()
    queries = [_query(i) for i in range(400)]
    expected: dict[str, np.ndarray] = {}
    for i, query in enumerate(queries):
        if i % 17 == 0:
            expected[query.key] = np.full(points, np.nan)  # never stored: no datapoints at all
            continue
        values = _gappy_values(rng, points) if i % 3 else rng.uniform(0, 100, points)
        _store(fake, query, values)
        expected[query.key] = values

    reader = CloudWatchMetricsReader(fake)
    series = reader.fetch(queries, START, START + timedelta(seconds=60 * points))

    assert set(series) == set(expected)
    for key, values in expected.items():
        assert series[key].start == START and series[key].period_seconds == 60
        # kept at float32 (half the memory of a cluster's series): exact to float32's 7 significant digits
        assert series[key].values.dtype == np.float32
        np.testing.assert_array_equal(series[key].values, values.astype(np.float32))
    assert max(fake.queries_per_call) <= 500
    assert max(fake.datapoints_per_page) == 100_800  # pages were filled to the limit, never beyond
    planned = sum(calls_for_batch(len(b), points) for b in plan_batches(queries, points))
    assert reader.calls_made == fake.calls <= planned


def test_reader_stays_within_limits_when_limits_are_tiny() -> None:
    points = 40
    rng = np.random.default_rng(7)
    fake = FakeCloudWatch(max_queries=7, max_datapoints=50)
    queries = [_query(i) for i in range(23)]
    for query in queries:
        _store(fake, query, _gappy_values(rng, points))

    reader = CloudWatchMetricsReader(fake, max_queries_per_call=7, max_datapoints_per_call=50)
    series = reader.fetch(queries, START, START + timedelta(seconds=60 * points))

    assert max(fake.queries_per_call) <= 7 and max(fake.datapoints_per_page) <= 50
    for query in queries:
        stored = fake._series[
            (query.namespace, query.metric_name, query.dimensions, query.stat, query.period_seconds)
        ].values
        np.testing.assert_array_equal(series[query.key].values, stored.astype(np.float32))


def test_reader_uses_one_call_per_500_queries_when_series_are_short() -> None:
    fake = FakeCloudWatch()
    queries = [_query(i) for i in range(1001)]
    for query in queries:
        _store(fake, query, np.arange(12, dtype=float))
    reader = CloudWatchMetricsReader(fake)
    reader.fetch(queries, START, START + timedelta(minutes=12))
    assert fake.queries_per_call == [500, 500, 1]
    assert reader.calls_made == 3


class _NewestFirstFake(FakeCloudWatch):
    """AWS's default scan order (newest first) whatever the reader asks for."""

    def get_metric_data(self, **request: Any) -> dict[str, Any]:
        request.pop("ScanBy", None)
        return super().get_metric_data(**request)


def test_reader_places_values_by_timestamp_when_pages_come_newest_first() -> None:
    points = 30
    fake = _NewestFirstFake(max_datapoints=25)
    queries = [_query(i) for i in range(3)]
    for i, query in enumerate(queries):
        _store(fake, query, np.arange(points, dtype=float) + 100 * i)
    reader = CloudWatchMetricsReader(fake, max_datapoints_per_call=25)
    series = reader.fetch(queries, START, START + timedelta(seconds=60 * points))
    for i, query in enumerate(queries):
        np.testing.assert_array_equal(series[query.key].values, np.arange(points, dtype=float) + 100 * i)


def test_reader_maps_back_any_key_when_keys_are_not_valid_ids() -> None:
    fake = FakeCloudWatch()  # rejects ids outside ^[a-z][a-zA-Z0-9_]*$
    queries = [_query(0, key="Prod/svc a:CPU max"), _query(1, key="9-lives"), _query(2, key="")]
    for n, query in enumerate(queries):
        _store(fake, query, np.full(5, float(n)))
    series = CloudWatchMetricsReader(fake).fetch(queries, START, START + timedelta(minutes=5))
    assert {key: s.values.tolist() for key, s in series.items()} == {
        "Prod/svc a:CPU max": [0.0] * 5,
        "9-lives": [1.0] * 5,
        "": [2.0] * 5,
    }


def test_reader_returns_series_per_period_when_queries_mix_periods() -> None:
    fake = FakeCloudWatch()
    minute, hourly = _query(0, period=60), _query(1, period=3600, key="hourly")
    _store(fake, minute, np.arange(120, dtype=float))
    _store(fake, hourly, np.array([7.0, 8.0]))
    series = CloudWatchMetricsReader(fake).fetch([minute, hourly], START, START + timedelta(hours=2))
    assert len(series[minute.key]) == 120 and series["hourly"].values.tolist() == [7.0, 8.0]
    assert series["hourly"].period_seconds == 3600


def test_reader_reports_progress_up_to_total_when_fetch_ends() -> None:
    fake = FakeCloudWatch()
    queries = [_query(i) for i in range(60)]
    for query in queries:
        _store(fake, query, np.ones(4032))
    seen: list[tuple[int, int]] = []
    CloudWatchMetricsReader(fake, on_progress=lambda done, total: seen.append((done, total))).fetch(
        queries, START, START + timedelta(seconds=60 * 4032)
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]  # 25 + 25 + 10 series of 4032 points


def test_reader_raises_when_keys_repeat() -> None:
    with pytest.raises(ValueError, match="unique"):
        CloudWatchMetricsReader(FakeCloudWatch()).fetch([_query(0), _query(0)], START, START + timedelta(minutes=5))


# --------------------------------------------------------------------------- (b) moto, real boto3 client


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def cloudwatch(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudwatch", region_name=REGION)


def test_reader_returns_stats_in_right_periods_and_nan_gaps_when_reading_moto(cloudwatch: Any) -> None:
    dims = (("ClusterName", "prod"), ("ServiceName", "web"))
    aws_dims = [{"Name": n, "Value": v} for n, v in dims]
    at = lambda period, seconds=0: START + timedelta(seconds=300 * period + seconds)  # noqa: E731
    cloudwatch.put_metric_data(
        Namespace="AWS/ECS",
        MetricData=[
            {"MetricName": "CPUUtilization", "Dimensions": aws_dims, "Timestamp": at(0), "Value": 10.0},
            {"MetricName": "CPUUtilization", "Dimensions": aws_dims, "Timestamp": at(0, 120), "Value": 30.0},
            {"MetricName": "CPUUtilization", "Dimensions": aws_dims, "Timestamp": at(2, 299), "Value": 50.0},
            {
                "MetricName": "CPUUtilization",
                "Dimensions": aws_dims,
                "Timestamp": at(4),
                "StatisticValues": {"SampleCount": 3, "Sum": 60.0, "Minimum": 5.0, "Maximum": 40.0},
            },
        ],
    )
    queries = [
        MetricQuery(stat.lower(), "AWS/ECS", "CPUUtilization", dims, stat, 300)
        for stat in ("Average", "Maximum", "SampleCount")
    ]
    queries.append(MetricQuery("silent", "AWS/ECS", "MemoryUtilization", dims, "Average", 300))

    series = CloudWatchMetricsReader(cloudwatch).fetch(queries, START, at(6))

    nan = np.nan
    np.testing.assert_array_equal(series["average"].values, [20.0, nan, 50.0, nan, 20.0, nan])
    np.testing.assert_array_equal(series["maximum"].values, [30.0, nan, 50.0, nan, 40.0, nan])
    np.testing.assert_array_equal(series["samplecount"].values, [2.0, nan, 1.0, nan, 3.0, nan])
    assert np.isnan(series["silent"].values).all() and len(series["silent"]) == 6  # no data is not zero
    assert series["average"].present == 3


# --------------------------------------------------------------------------- (c) retries and errors


def test_reader_backs_off_then_succeeds_when_throttled_twice() -> None:
    fake = FakeCloudWatch(fail_next=["Throttling", "ThrottlingException"])
    query = _query(0)
    _store(fake, query, np.array([1.0, 2.0]))
    sleeps: list[float] = []
    reader = CloudWatchMetricsReader(fake, sleep=sleeps.append, jitter=lambda: 0.0, backoff_base_seconds=0.5)
    series = reader.fetch([query], START, START + timedelta(minutes=2))
    assert series[query.key].values.tolist() == [1.0, 2.0]
    assert sleeps == [0.25, 0.5]  # exponential: half the ceiling when jitter draws 0
    assert reader.calls_made == 3


def test_reader_raises_throttled_when_retries_run_out() -> None:
    fake = FakeCloudWatch(fail_next=["RequestLimitExceeded"] * 9)
    sleeps: list[float] = []
    reader = CloudWatchMetricsReader(fake, sleep=sleeps.append, max_attempts=4, backoff_cap_seconds=1.5)
    with pytest.raises(ThrottledError):
        reader.fetch([_query(0)], START, START + timedelta(minutes=2))
    assert reader.calls_made == 4 and len(sleeps) == 3
    assert all(0 < s <= 1.5 for s in sleeps)  # capped, never zero


def _stubbed(aws_env: None) -> tuple[Any, Stubber]:
    client = boto3.client("cloudwatch", region_name=REGION)
    return client, Stubber(client)


@pytest.mark.parametrize("code", ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"])
def test_reader_raises_access_denied_with_permission_when_aws_refuses(aws_env: None, code: str) -> None:
    client, stubber = _stubbed(aws_env)
    stubber.add_client_error("get_metric_data", service_error_code=code, http_status_code=403)
    with stubber, pytest.raises(AccessDeniedError) as raised:
        CloudWatchMetricsReader(client, sleep=lambda _: None).fetch([_query(0)], START, START + timedelta(hours=1))
    assert raised.value.permission == "cloudwatch:GetMetricData"


def test_reader_raises_aws_call_error_with_code_when_request_is_invalid(aws_env: None) -> None:
    client, stubber = _stubbed(aws_env)
    stubber.add_client_error("get_metric_data", service_error_code="InvalidParameterValue", service_message="bad")
    with stubber, pytest.raises(AwsCallError) as raised:
        CloudWatchMetricsReader(client).fetch([_query(0)], START, START + timedelta(hours=1))
    assert raised.value.code == "InvalidParameterValue" and raised.value.operation == "GetMetricData"


@pytest.mark.parametrize(("status", "error"), [("Forbidden", AccessDeniedError), ("InternalError", AwsCallError)])
def test_reader_raises_instead_of_nan_when_a_result_failed(aws_env: None, status: str, error: type) -> None:
    client, stubber = _stubbed(aws_env)
    stubber.add_response(
        "get_metric_data",
        {"MetricDataResults": [{"Id": "q0", "Timestamps": [], "Values": [], "StatusCode": status}]},
    )
    with stubber, pytest.raises(error):
        CloudWatchMetricsReader(client).fetch([_query(0)], START, START + timedelta(hours=1))


def test_reader_follows_next_token_when_aws_pages_with_stubber(aws_env: None) -> None:
    client, stubber = _stubbed(aws_env)
    stamp = lambda minutes: START + timedelta(minutes=minutes)  # noqa: E731
    stubber.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {"Id": "q0", "Timestamps": [stamp(0), stamp(1)], "Values": [1.0, 2.0], "StatusCode": "PartialData"}
            ],
            "Messages": [{"Code": "MaxQueryTimeRangeExceed", "Value": "informational"}],
            "NextToken": "t1",
        },
    )
    stubber.add_response(
        "get_metric_data",
        # a timestamp inside a period (an unaligned StartTime) still lands in the period that holds it
        {"MetricDataResults": [{"Id": "q0", "Timestamps": [stamp(3.5)], "Values": [4.0], "StatusCode": "Complete"}]},
        expected_params={
            "MetricDataQueries": ANY,
            "StartTime": START,
            "EndTime": stamp(4),
            "ScanBy": "TimestampAscending",
            "MaxDatapoints": 100_800,
            "NextToken": "t1",
        },
    )
    with stubber:
        series = CloudWatchMetricsReader(client).fetch([_query(0)], START, stamp(4))
    np.testing.assert_array_equal(series[_query(0).key].values, [1.0, 2.0, np.nan, 4.0])


# --------------------------------------------------------------------------- (d) lister


def _metric(cluster: str, **dims: str) -> dict[str, Any]:
    dimensions = [{"Name": "ClusterName", "Value": cluster}] + [{"Name": k, "Value": v} for k, v in dims.items()]
    return {"Namespace": CI_NS, "MetricName": "CpuReserved", "Dimensions": dimensions}


def test_lister_deduplicates_values_when_pages_repeat_entries(aws_env: None) -> None:
    client, stubber = _stubbed(aws_env)
    family = "TaskDefinitionFamily"
    stubber.add_response(
        "list_metrics",
        {
            "Metrics": [_metric("prod", **{family: "api"}), _metric("prod", **{family: "batch"})],
            "NextToken": "more",
        },
    )
    stubber.add_response(
        "list_metrics",
        {
            "Metrics": [
                _metric("prod", **{family: "api"}),  # repeated entry
                _metric("prod", ServiceName="web"),  # no family dimension
                _metric("staging", **{family: "other"}),  # another cluster despite the filter
            ]
        },
    )
    with stubber:
        values = CloudWatchMetricLister(client).dimension_values(CI_NS, "CpuReserved", {"ClusterName": "prod"}, family)
    assert values == ["api", "batch"]


def test_lister_finds_family_values_when_reading_moto(cloudwatch: Any) -> None:
    def put(cluster: str, **dims: str) -> None:
        metric = _metric(cluster, **dims)
        cloudwatch.put_metric_data(
            Namespace=CI_NS,
            MetricData=[{"MetricName": "CpuReserved", "Dimensions": metric["Dimensions"], "Value": 256.0}],
        )

    put("prod", TaskDefinitionFamily="api")
    put("prod", TaskDefinitionFamily="api")
    put("prod", TaskDefinitionFamily="nightly")
    put("prod", ServiceName="web")
    put("staging", TaskDefinitionFamily="other")
    values = CloudWatchMetricLister(cloudwatch).dimension_values(
        CI_NS, "CpuReserved", {"ClusterName": "prod"}, "TaskDefinitionFamily"
    )
    assert values == ["api", "nightly"]


def test_lister_raises_access_denied_with_permission_when_aws_refuses(aws_env: None) -> None:
    client, stubber = _stubbed(aws_env)
    stubber.add_client_error("list_metrics", service_error_code="AccessDenied", http_status_code=403)
    with stubber, pytest.raises(AccessDeniedError) as raised:
        CloudWatchMetricLister(client).dimension_values(CI_NS, "CpuReserved", {"ClusterName": "prod"}, "X")
    assert raised.value.permission == "cloudwatch:ListMetrics"
