"""Wiring: boto3 clients built lazily, once, from the standard SDK environment."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as SdkConnectionError

from modeshift.adapters.aws_errors import THROTTLING_CODES, translated
from modeshift.errors import ConfigurationError, CredentialsError

# Adaptive retry mode backs off on throttling and slows every call of one client down to the rate AWS
# accepts; the CloudWatch reader adds its own bounded retries on top for GetMetricData, whose 50 TPS
# limit is shared by the whole account. Five attempts of at most READ_TIMEOUT_SECONDS each bound how
# long one call can hang on an endpoint that never answers (nine attempts were nine minutes).
TOTAL_MAX_ATTEMPTS = 5
READ_TIMEOUT_SECONDS = 60
CONNECT_TIMEOUT_SECONDS = 10
_RETRY_CONFIG = Config(
    retries={"total_max_attempts": TOTAL_MAX_ATTEMPTS, "mode": "adaptive"},
    read_timeout=READ_TIMEOUT_SECONDS,
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    user_agent_extra="modeshift",
)

# The Price List API answers only in these regions, for every region's prices.
PRICING_ENDPOINT_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")
# A boto3 session is not thread-safe: clients and resources are created under one lock (they are then shared
# freely, clients being thread-safe); units of work on a thread pool may share one session.
_CREATE_LOCK = threading.RLock()
# An assumed member-account session lasts an hour, the member role's MaxSessionDuration.
ASSUMED_SESSION_SECONDS = 3600


class AwsClients:
    """Creates each service client on first use; AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL apply.

    `on_retry`, when set, hears one line for every failed attempt the SDK is about to retry, so a slow
    or throttled call shows as such instead of as a progress line that never changes.
    """

    def __init__(
        self,
        region: str | None = None,
        session: boto3.session.Session | None = None,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self._session = session
        self._region = region
        self.on_retry = on_retry

    @functools.cached_property
    def session(self) -> boto3.session.Session:
        try:
            return self._session or boto3.session.Session(region_name=self._region)
        except BotoCoreError as exc:  # e.g. ProfileNotFound
            raise CredentialsError(str(exc)) from None

    @property
    def region(self) -> str:
        region = self._region or self.session.region_name
        if not region:
            raise CredentialsError("no AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION")
        if region not in self._known_regions():
            raise ConfigurationError(f"unknown AWS region {region!r}: ECS is not offered there")
        return region

    def _known_regions(self) -> set[str]:
        regions: set[str] = set()
        for partition in self.session.get_available_partitions():
            regions.update(self.session.get_available_regions("ecs", partition_name=partition))
        return regions

    def client(self, service: str, region: str | None = None) -> Any:
        return self._client(service, region or self.region)

    @functools.cache  # noqa: B019 - one client per (service, region) for the life of this object
    def _client(self, service: str, region: str) -> Any:
        with _CREATE_LOCK:
            try:
                client = self.session.client(service, region_name=region, config=_RETRY_CONFIG)
            except NoRegionError:
                raise CredentialsError("no AWS region configured") from None
        client.meta.events.register("needs-retry", self._report_retry)
        return client

    def dynamodb_table(self, name: str) -> Any:
        """A DynamoDB Table resource (the ledger reader queries with key-condition builders)."""
        with _CREATE_LOCK:
            resource = self.session.resource("dynamodb", region_name=self.region, config=_RETRY_CONFIG)
        resource.meta.client.meta.events.register("needs-retry", self._report_retry)
        return resource.Table(name)

    def in_region(self, region: str) -> AwsClients:
        """The same credentials, another region (clients of its own; the session is shared)."""
        with _CREATE_LOCK:
            session = self.session
        return AwsClients(region=region, session=session, on_retry=self.on_retry)

    def caller_account(self) -> str:
        """The account these credentials belong to (STS GetCallerIdentity needs no permission)."""
        with translated("GetCallerIdentity", "sts:GetCallerIdentity", connection_errors=True):
            return str(self.client("sts").get_caller_identity()["Account"])

    def assume_role(self, role_arn: str, region: str, session_name: str, external_id: str | None = None) -> AwsClients:
        """Clients for another account, through a role it trusts us with (read-only: stacksets/member-role.yaml).
        A refused AssumeRole raises AccessDeniedError naming sts:AssumeRole and the role."""
        request: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": session_name[:64],
            "DurationSeconds": ASSUMED_SESSION_SECONDS,
        }
        if external_id:
            request["ExternalId"] = external_id
        with translated(f"AssumeRole {role_arn}", "sts:AssumeRole", connection_errors=True):
            credentials = self.client("sts").assume_role(**request)["Credentials"]
        with _CREATE_LOCK:
            session = boto3.session.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=region,
            )
        return AwsClients(region=region, session=session, on_retry=self.on_retry)

    def _report_retry(
        self, attempts: int, operation: Any = None, response: Any = None, caught_exception: Any = None, **_: Any
    ) -> None:
        """botocore's needs-retry hook, only to tell: returning None leaves the retry decision to the SDK."""
        if self.on_retry is None or attempts >= TOTAL_MAX_ATTEMPTS:
            return
        reason = _failure(response, caught_exception)
        if reason is not None:
            name = getattr(operation, "name", "AWS call")
            self.on_retry(f"{name}: attempt {attempts} of {TOTAL_MAX_ATTEMPTS} failed ({reason}); retrying")

    def pricing_client(self) -> Any:
        region = self.region if self.region in PRICING_ENDPOINT_REGIONS else PRICING_ENDPOINT_REGIONS[0]
        return self._client("pricing", region)

    def check_credentials(self) -> None:
        """Fail early, with exit code 2, when the SDK can find no credentials at all."""
        try:
            credentials = self.session.get_credentials()
        except (PartialCredentialsError, BotoCoreError) as exc:
            raise CredentialsError(f"AWS credentials are incomplete: {exc}") from None
        if credentials is None:
            raise CredentialsError(
                "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            )


def _failure(response: Any, caught_exception: Any) -> str | None:
    """Why an attempt failed, in a few words; None when it did not (needs-retry also follows successes)."""
    if isinstance(caught_exception, ReadTimeoutError):
        return f"no answer within {READ_TIMEOUT_SECONDS} s"
    if isinstance(caught_exception, SdkConnectionError):
        return "connection failed"
    if caught_exception is not None:
        return type(caught_exception).__name__
    if not response:
        return None
    http, parsed = response
    code = str((parsed or {}).get("Error", {}).get("Code", ""))
    if code in THROTTLING_CODES:
        return f"throttled: {code}"
    status = int(getattr(http, "status_code", 0) or 0)
    if status >= 500:
        return f"{code or 'error'}, HTTP {status}"
    return None


__all__ = ["AwsClients", "CredentialsError", "NoCredentialsError"]
