"""Every adapter shares one translation of botocore failures; these are its rules."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from modeshift.adapters.aws_errors import translate, translated
from modeshift.errors import AccessDeniedError, AwsCallError, CredentialsError, ThrottledError


def _client_error(code: str, message: str = "details") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "DescribeServices")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("AccessDeniedException", AccessDeniedError),
        ("AccessDenied", AccessDeniedError),
        ("UnauthorizedOperation", AccessDeniedError),
        ("AuthorizationError", AccessDeniedError),
        ("UnrecognizedClientException", CredentialsError),
        ("ExpiredToken", CredentialsError),
        ("ThrottlingException", ThrottledError),
        ("RequestLimitExceeded", ThrottledError),
        ("ProvisionedThroughputExceededException", ThrottledError),
        ("TooManyRequestsException", ThrottledError),
        ("InvalidParameterException", AwsCallError),
    ],
)
def test_translate_maps_code_to_the_library_error_when_aws_answers_with_it(code: str, expected: type) -> None:
    error = translate(_client_error(code), operation="DescribeServices", permission="ecs:DescribeServices")
    assert type(error) is expected


def test_translate_names_the_missing_permission_when_access_is_denied() -> None:
    error = translate(_client_error("AccessDeniedException", "no"), operation="X", permission="ecs:DescribeServices")
    assert isinstance(error, AccessDeniedError)
    assert error.permission == "ecs:DescribeServices"
    assert "ecs:DescribeServices" in str(error) and "(no)" in str(error)


def test_translate_keeps_operation_and_code_when_error_is_unknown() -> None:
    error = translate(_client_error("ValidationError", "bad"), operation="GetMetricData", permission="p")
    assert isinstance(error, AwsCallError)
    assert (error.operation, error.code) == ("GetMetricData", "ValidationError")


def test_translated_lets_connection_errors_through_unless_asked_to_translate_them() -> None:
    failure = EndpointConnectionError(endpoint_url="https://ecs.example")
    with pytest.raises(EndpointConnectionError), translated("ListClusters", "ecs:ListClusters"):
        raise failure
    with (
        pytest.raises(AwsCallError, match="EndpointConnectionError"),
        translated("Publish", "sns:Publish", connection_errors=True),
    ):
        raise failure
