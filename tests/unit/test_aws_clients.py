"""Clients are built with the SDK's adaptive retries and bounded timeouts, and say why an attempt is retried."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from modeshift import aws
from modeshift.aws import AwsClients


def _clients(**kwargs: Any) -> AwsClients:
    session = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="eu-west-1")
    return AwsClients(region="eu-west-1", session=session, **kwargs)


def _response(status: int, code: str | None = None) -> tuple[AWSResponse, dict[str, Any]]:
    parsed: dict[str, Any] = {"Error": {"Code": code, "Message": "m"}} if code else {}
    return AWSResponse("https://example.invalid", status, {}, None), parsed


def test_aws_clients_build_every_client_with_adaptive_retries_when_created() -> None:
    clients = _clients()

    built = [
        clients.client("ecs"),
        clients.client("cloudwatch"),
        clients.pricing_client(),
        clients.dynamodb_table("modeshift").meta.client,
    ]

    for client in built:
        config = client.meta.config
        assert config.retries == {"mode": "adaptive", "total_max_attempts": aws.TOTAL_MAX_ATTEMPTS}
        assert (config.read_timeout, config.connect_timeout) == (aws.READ_TIMEOUT_SECONDS, aws.CONNECT_TIMEOUT_SECONDS)


@pytest.mark.parametrize(
    ("response", "exception", "reason"),
    [
        (None, ReadTimeoutError(endpoint_url="https://x"), f"no answer within {aws.READ_TIMEOUT_SECONDS} s"),
        (None, EndpointConnectionError(endpoint_url="https://x"), "connection failed"),
        (_response(400, "ThrottlingException"), None, "throttled: ThrottlingException"),
        (_response(503, "ServiceUnavailable"), None, "ServiceUnavailable, HTTP 503"),
        (_response(200), None, None),
        (_response(400, "ValidationError"), None, None),
    ],
)
def test_aws_clients_name_why_an_attempt_failed_when_the_sdk_may_retry_it(
    response: Any, exception: Exception | None, reason: str | None
) -> None:
    heard: list[str] = []
    clients = _clients(on_retry=heard.append)

    answer = clients._report_retry(attempts=2, response=response, caught_exception=exception)

    assert answer is None  # the hook only tells: botocore's own handler decides whether to retry
    expected = (
        [] if reason is None else [f"AWS call: attempt 2 of {aws.TOTAL_MAX_ATTEMPTS} failed ({reason}); retrying"]
    )
    assert heard == expected


def test_aws_clients_stay_silent_when_the_last_attempt_fails() -> None:
    heard: list[str] = []
    clients = _clients(on_retry=heard.append)

    clients._report_retry(attempts=aws.TOTAL_MAX_ATTEMPTS, caught_exception=ReadTimeoutError(endpoint_url="x"))

    assert heard == []  # no retry follows: the error itself reaches the caller
