"""One translation of botocore failures into modeshift errors, shared by every adapter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from modeshift.errors import AccessDeniedError, AwsCallError, CredentialsError, ModeshiftError, ThrottledError

ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException", "AuthorizationError"}
)
# Codes with which AWS rejects the credentials themselves, not one permission.
CREDENTIAL_CODES = frozenset(
    {"UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "AuthFailure"}
)
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "KMSThrottlingException",
    }
)


def error_code(exc: ClientError) -> tuple[str, str]:
    """AWS's error code and message from a ClientError."""
    error = exc.response.get("Error", {})
    return str(error.get("Code", "Unknown")), str(error.get("Message", ""))


def is_throttling(exc: ClientError) -> bool:
    return error_code(exc)[0] in THROTTLING_CODES


def translate(exc: ClientError | BotoCoreError, *, operation: str, permission: str) -> ModeshiftError:
    """The modeshift error for one failed call: AccessDenied names the IAM action `permission`."""
    if isinstance(exc, BotoCoreError):
        return AwsCallError(operation, type(exc).__name__, str(exc))
    code, message = error_code(exc)
    if code in ACCESS_DENIED_CODES or code.startswith("AccessDenied"):
        detail = f"access denied: the caller lacks {permission}" + (f" ({message})" if message else "")
        return AccessDeniedError(permission, detail)
    if code in CREDENTIAL_CODES:
        return CredentialsError(f"AWS rejected the credentials calling {operation}: {code}: {message}")
    if code in THROTTLING_CODES:
        return ThrottledError(f"{operation} kept being throttled: {code}: {message}")
    return AwsCallError(operation, code, message)


@contextmanager
def translated(operation: str, permission: str, *, connection_errors: bool = False) -> Iterator[None]:
    """Re-raise a ClientError (and, if asked, a connection-level BotoCoreError) as a modeshift error."""
    try:
        yield
    except ClientError as exc:
        raise translate(exc, operation=operation, permission=permission) from exc
    except BotoCoreError as exc:
        if not connection_errors:
            raise
        raise translate(exc, operation=operation, permission=permission) from exc
