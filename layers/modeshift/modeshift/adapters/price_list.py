"""Opt-in refresh of EC2, Fargate and ECS Managed Instances prices from the AWS Price List API (boto3 `pricing`)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any

from modeshift.adapters.aws_errors import translated
from modeshift.domain.models import Architecture, FargateRates
from modeshift.domain.pricing import PRICE_LIST_API, PriceCatalog

logger = logging.getLogger(__name__)

_OPERATION = "GetProducts"
_PERMISSION = "pricing:GetProducts"
_MAX_RESULTS = 100

# Usage types carry a region prefix (USE1-, USW2-, EU-, APS3- ...) except some us-east-1 EC2 rows;
# everything after it must match exactly, so ARM, Windows, Spot and ephemeral storage rows, whose
# suffixes differ, are never read as x86 on-demand.
_REGION_PREFIX = re.compile(r"^[A-Z]{2,5}\d*-")
_FARGATE_SUFFIXES: dict[str, tuple[Architecture, str]] = {
    "Fargate-vCPU-Hours:perCPU": (Architecture.X86_64, "vcpu_hour_usd"),
    "Fargate-GB-Hours": (Architecture.X86_64, "gb_hour_usd"),
    "Fargate-ARM-vCPU-Hours:perCPU": (Architecture.ARM64, "vcpu_hour_usd"),
    "Fargate-ARM-GB-Hours": (Architecture.ARM64, "gb_hour_usd"),
}


# ECS Managed Instances management fee rows: `ECS-Managed-Instances:<type>` (us-east-1 carries no region prefix,
# so the name is matched anywhere after a prefix rather than by stripping one).
_MANAGED_INSTANCES_FEE = re.compile(r"(?:^|-)ECS-Managed-Instances:(?P<type>[a-z0-9-]+\.[a-z0-9-]+)$")


def usage_type_suffix(usage_type: str) -> str:
    """The usage type without its region prefix: "USW2-Fargate-GB-Hours" → "Fargate-GB-Hours"."""
    return _REGION_PREFIX.sub("", usage_type, count=1)


def _term_match(field: str, value: str) -> dict[str, str]:
    return {"Type": "TERM_MATCH", "Field": field, "Value": value}


def on_demand_usd_prices(product: dict[str, Any]) -> list[float]:
    """Every positive USD price under terms.OnDemand.*.*.priceDimensions.*.pricePerUnit.USD."""
    prices: list[float] = []
    for offer in (product.get("terms", {}).get("OnDemand") or {}).values():
        for dimension in (offer.get("priceDimensions") or {}).values():
            raw = (dimension.get("pricePerUnit") or {}).get("USD")
            try:
                price = float(str(raw))
            except ValueError:
                continue
            if price > 0:
                prices.append(price)
    return prices


class PriceListReader:
    """Reads Linux on-demand prices for one region at a time; any pricing endpoint serves every region."""

    def __init__(self, client: Any, *, max_pages: int = 100) -> None:
        self._client = client
        self._max_pages = max_pages

    def _products(self, service_code: str, filters: list[dict[str, str]]) -> Iterator[dict[str, Any]]:
        """Every product of a filtered GetProducts, following NextToken; unreadable entries are skipped."""
        token: str | None = None
        for _ in range(self._max_pages):
            kwargs: dict[str, Any] = {
                "ServiceCode": service_code,
                "Filters": filters,
                "FormatVersion": "aws_v1",
                "MaxResults": _MAX_RESULTS,
            }
            if token:
                kwargs["NextToken"] = token
            page = self._call(kwargs)
            for entry in page.get("PriceList", []):
                try:
                    product = json.loads(entry) if isinstance(entry, str) else entry
                except json.JSONDecodeError:
                    logger.warning("skipping a Price List entry that is not JSON")
                    continue
                if isinstance(product, dict):
                    yield product
            next_token = page.get("NextToken")
            if not next_token or next_token == token:
                return
            token = next_token
        logger.warning("stopped reading %s prices after %d pages", service_code, self._max_pages)

    def _call(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        with translated(_OPERATION, _PERMISSION, connection_errors=True):
            response: dict[str, Any] = self._client.get_products(**kwargs)
        return response

    def ec2_on_demand_hourly_usd(self, region: str, instance_type: str) -> float | None:
        """Shared-tenancy Linux on-demand USD per hour of `instance_type`, or None when the API has none.

        Several rows that disagree also give None: choosing one would be a guess.
        """
        filters = [
            _term_match("instanceType", instance_type),
            _term_match("regionCode", region),
            _term_match("operatingSystem", "Linux"),
            _term_match("tenancy", "Shared"),
            _term_match("preInstalledSw", "NA"),
            _term_match("capacitystatus", "Used"),
        ]
        prices: set[float] = set()
        for product in self._products("AmazonEC2", filters):
            attributes = product.get("product", {}).get("attributes", {})
            if usage_type_suffix(str(attributes.get("usagetype", ""))) != f"BoxUsage:{instance_type}":
                continue
            if attributes.get("marketoption", "OnDemand") != "OnDemand":
                continue
            prices.update(on_demand_usd_prices(product))
        if len(prices) > 1:
            logger.warning("Price List API gave %s in %s several prices: %s", instance_type, region, prices)
            return None
        return prices.pop() if prices else None

    def fargate_rates(self, region: str) -> dict[Architecture, FargateRates]:
        """Linux on-demand Fargate rates per architecture; an architecture missing either rate is left out."""
        return self.ecs_prices(region)[0]

    def ecs_prices(self, region: str) -> tuple[dict[Architecture, FargateRates], dict[str, float]]:
        """One sweep of the region's AmazonECS products: Fargate Linux on-demand rates per architecture, and
        the ECS Managed Instances management fee per instance type (USD per instance-hour)."""
        found: dict[Architecture, dict[str, float]] = {}
        fees: dict[str, float] = {}
        for product in self._products("AmazonECS", [_term_match("regionCode", region)]):
            attributes = product.get("product", {}).get("attributes", {})
            usage_type = str(attributes.get("usagetype", ""))
            prices = on_demand_usd_prices(product)
            if not prices:
                continue
            fee = _MANAGED_INSTANCES_FEE.search(usage_type)
            if fee is not None:
                fees[fee["type"]] = prices[0]
                continue
            match = _FARGATE_SUFFIXES.get(usage_type_suffix(usage_type))
            if match is not None:
                architecture, field = match
                found.setdefault(architecture, {})[field] = prices[0]
        rates = {
            architecture: FargateRates(**values)
            for architecture, values in found.items()
            if {"vcpu_hour_usd", "gb_hour_usd"} <= values.keys()
        }
        return rates, fees

    def refresh(self, catalog: PriceCatalog, region: str, instance_types: Iterable[str]) -> PriceCatalog:
        """The catalog with this region's Fargate on-demand and EC2 prices replaced by what the API returns.

        Refreshed cells are marked "price-list-api"; anything the API did not price (and Fargate Spot,
        which the API does not list as a plain rate) keeps its embedded value.
        """
        ec2 = {
            instance_type: price
            for instance_type in dict.fromkeys(instance_types)
            if (price := self.ec2_on_demand_hourly_usd(region, instance_type)) is not None
        }
        fargate, fees = self.ecs_prices(region)
        return catalog.with_prices(
            region, fargate=fargate, ec2_on_demand=ec2, managed_instances_fee=fees, source=PRICE_LIST_API
        )


__all__ = ["PriceListReader", "on_demand_usd_prices", "usage_type_suffix"]
