"""When AWS is slow: each SDK retry shows on the progress line, and a timeout or throttling that outlasts the
retries names the phase of the analysis and what to try (a shorter lookback, fewer clusters)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from moto import mock_aws

from modeshift import aws
from modeshift.adapters.cloudwatch import CloudWatchMetricsReader
from modeshift.adapters.ecs import EcsInventoryReader
from modeshift.aws import AwsClients
from modeshift.cli import main
from modeshift.config import Settings
from modeshift.errors import AwsTooSlowError, ThrottledError
from modeshift.service import analyze

pytestmark = pytest.mark.integration

REGION = "us-east-1"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        boto3.client("ecs", region_name=REGION).create_cluster(clusterName="shop")
        yield


def _raise(exc: Exception) -> Any:
    def fail(*_: Any, **__: Any) -> Any:
        raise exc

    return fail


def test_analyze_names_the_metrics_phase_and_what_to_try_when_get_metric_data_times_out(
    account: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CloudWatchMetricsReader, "fetch", _raise(ReadTimeoutError(endpoint_url="https://monitoring")))

    with pytest.raises(AwsTooSlowError) as caught:
        analyze(Settings(region=REGION, lookback_days=14), AwsClients(region=REGION), NOW)

    assert caught.value.phase == "fetching 14 days of metrics"
    message = str(caught.value)
    assert message.startswith("fetching 14 days of metrics: AWS did not answer in time (Read timeout on endpoint")
    assert "--lookback-days" in message and "--cluster NAME" in message


def test_analyze_names_the_metrics_phase_when_get_metric_data_keeps_being_throttled(
    account: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttled = ThrottledError("GetMetricData kept being throttled: Throttling: Rate exceeded")
    monkeypatch.setattr(CloudWatchMetricsReader, "fetch", _raise(throttled))

    with pytest.raises(AwsTooSlowError) as caught:
        analyze(Settings(region=REGION, lookback_days=3), AwsClients(region=REGION), NOW)

    assert str(caught.value).startswith("fetching 3 days of metrics: GetMetricData kept being throttled")
    assert caught.value.__cause__ is throttled


def test_analyze_names_the_cluster_phase_when_ecs_times_out(account: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EcsInventoryReader, "list_cluster_names", _raise(ReadTimeoutError(endpoint_url="https://ecs")))

    with pytest.raises(AwsTooSlowError) as caught:
        analyze(Settings(region=REGION), AwsClients(region=REGION), NOW)

    assert caught.value.phase == "reading the clusters"
    assert "--cluster NAME" in str(caught.value)


def test_cli_prints_the_phase_and_what_to_try_on_one_line_when_analyze_times_out(
    account: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(CloudWatchMetricsReader, "fetch", _raise(ReadTimeoutError(endpoint_url="https://monitoring")))

    status = main(["analyze", "--region", REGION, "--quiet"])

    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert len(err) == 1
    assert err[0].startswith("modeshift: fetching 14 days of metrics: AWS did not answer in time")
    assert "try a shorter lookback (--lookback-days" in err[0]


# --------------------------------------------------------------------------- a throttling endpoint on loopback


class _ThrottleOnce(BaseHTTPRequestHandler):
    """ECS's JSON protocol: the first ListClusters is throttled, every later one answers an empty account."""

    calls = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).calls += 1
        if type(self).calls == 1:
            status, body = 400, {"__type": "ThrottlingException", "message": "Rate exceeded"}
        else:
            status, body = 200, {"clusterArns": []}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        return None


@pytest.fixture
def throttling_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    _ThrottleOnce.calls = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ThrottleOnce)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def test_analyze_shows_the_sdk_retry_on_the_progress_line_when_aws_throttles_a_call(throttling_endpoint: str) -> None:
    heard: list[str] = []

    report = analyze(Settings(region=REGION), AwsClients(region=REGION), NOW, heard.append)

    assert report.clusters == ()
    expected = f"ListClusters: attempt 1 of {aws.TOTAL_MAX_ATTEMPTS} failed (throttled: ThrottlingException); retrying"
    assert expected in heard
    assert _ThrottleOnce.calls == 2
