"""The library's own errors: adapters turn botocore failures into these at the edge."""

from __future__ import annotations


class ModeshiftError(Exception):
    """Base of every error modeshift raises on purpose."""


class ConfigurationError(ModeshiftError):
    """Bad settings or arguments: the user can fix it (CLI exit code 2)."""


class MissingExtraError(ConfigurationError):
    """A command needs an optional part of modeshift that is not installed; the message names the install command."""


class CredentialsError(ModeshiftError):
    """No usable AWS credentials or region (CLI exit code 2)."""


class AccessDeniedError(ModeshiftError):
    """AWS refused one call; `permission` names the IAM action that is missing."""

    def __init__(self, permission: str, message: str = "") -> None:
        self.permission = permission
        super().__init__(message or f"access denied: the caller lacks {permission}")


class ClusterNotFoundError(ModeshiftError):
    def __init__(self, cluster: str) -> None:
        self.cluster = cluster
        super().__init__(f"cluster {cluster!r} does not exist in this account and region")


class ThrottledError(ModeshiftError):
    """AWS kept throttling after every retry."""


class AwsTooSlowError(ModeshiftError):
    """AWS timed out, or kept throttling, in one phase of the analysis; `phase` names it, `advice` what to try."""

    def __init__(self, phase: str, cause: str, advice: str) -> None:
        self.phase = phase
        self.advice = advice
        super().__init__(f"{phase}: {cause}; {advice}")


class PriceNotFoundError(ModeshiftError):
    """The catalog (and the Price List API, if allowed) has no price for this item: never guess one."""


class AwsCallError(ModeshiftError):
    """Any other AWS failure, with the operation and AWS's own code."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        self.operation = operation
        self.code = code
        super().__init__(f"{operation} failed: {code}: {message}")
