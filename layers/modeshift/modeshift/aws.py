"""Wiring: boto3 clients built lazily, once, from the standard SDK environment."""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, NoCredentialsError, NoRegionError, PartialCredentialsError

from modeshift.errors import ConfigurationError, CredentialsError

# Adaptive retry mode backs off on throttling across calls of one client; the readers add their own
# bounded retries on top for GetMetricData, whose 50 TPS limit is shared by the whole account.
_RETRY_CONFIG = Config(retries={"max_attempts": 8, "mode": "adaptive"}, user_agent_extra="modeshift")

# The Price List API answers only in these regions, for every region's prices.
PRICING_ENDPOINT_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")


class AwsClients:
    """Creates each service client on first use; AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL apply."""

    def __init__(self, region: str | None = None, session: boto3.session.Session | None = None) -> None:
        self._session = session
        self._region = region

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
        try:
            return self.session.client(service, region_name=region, config=_RETRY_CONFIG)
        except NoRegionError:
            raise CredentialsError("no AWS region configured") from None

    def dynamodb_table(self, name: str) -> Any:
        """A DynamoDB Table resource (the ledger reader queries with key-condition builders)."""
        return self.session.resource("dynamodb", region_name=self.region, config=_RETRY_CONFIG).Table(name)

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


__all__ = ["AwsClients", "CredentialsError", "NoCredentialsError"]
