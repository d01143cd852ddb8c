"""Unit tests of the Price List reader against botocore's Stubber (moto does not implement pricing)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from modeshift.adapters.price_list import PriceListReader, usage_type_suffix
from modeshift.domain.models import Architecture, FargateRates
from modeshift.domain.pricing import EMBEDDED, PRICE_LIST_API, load_embedded_catalog
from modeshift.errors import AccessDeniedError, AwsCallError, ThrottledError

X86 = Architecture.X86_64
ARM = Architecture.ARM64


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def _product(service_code: str, attributes: dict[str, str], on_demand_usd: str, reserved_usd: str = "") -> str:
    """One PriceList entry as the API sends it: a JSON string with product, terms and version."""
    sku = f"SKU{zlib.crc32(json.dumps(attributes, sort_keys=True).encode()):010d}"
    terms: dict[str, Any] = {
        "OnDemand": {
            f"{sku}.JRTCKXETXF": {
                "offerTermCode": "JRTCKXETXF",
                "sku": sku,
                "effectiveDate": "2026-01-01T00:00:00Z",
                "priceDimensions": {
                    f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                        "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT7",
                        "description": f"{attributes.get('usagetype', '')} on demand",
                        "beginRange": "0",
                        "endRange": "Inf",
                        "unit": "Hrs",
                        "appliesTo": [],
                        "pricePerUnit": {"USD": on_demand_usd},
                    }
                },
                "termAttributes": {},
            }
        }
    }
    if reserved_usd:
        terms["Reserved"] = {
            f"{sku}.4NA7Y494T4": {
                "offerTermCode": "4NA7Y494T4",
                "sku": sku,
                "priceDimensions": {
                    f"{sku}.4NA7Y494T4.6YS6EN2CT7": {"unit": "Hrs", "pricePerUnit": {"USD": reserved_usd}}
                },
                "termAttributes": {"LeaseContractLength": "1yr", "PurchaseOption": "No Upfront"},
            }
        }
    return json.dumps(
        {
            "product": {"productFamily": "Compute Instance", "attributes": attributes, "sku": sku},
            "serviceCode": service_code,
            "terms": terms,
            "version": "20260115000000",
            "publicationDate": "2026-01-15T00:00:00Z",
        }
    )


def _ec2(instance_type: str, region: str, usd: str, usage_prefix: str = "", **extra: str) -> str:
    attributes = {
        "servicecode": "AmazonEC2",
        "instanceType": instance_type,
        "regionCode": region,
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
        "licenseModel": "No License required",
        "operation": "RunInstances",
        "usagetype": f"{usage_prefix}BoxUsage:{instance_type}",
        "vcpu": "2",
        "memory": "8 GiB",
        "marketoption": "OnDemand",
        **extra,
    }
    return _product("AmazonEC2", attributes, usd, reserved_usd="0.0600000000")


def _fargate(region: str, usage_type: str, usd: str) -> str:
    attributes = {
        "servicecode": "AmazonECS",
        "regionCode": region,
        "usagetype": usage_type,
        "tenancy": "Shared",
    }
    return _product("AmazonECS", attributes, usd)


def _ec2_params(instance_type: str, region: str, token: str | None = None) -> dict[str, Any]:
    filters = [
        ("instanceType", instance_type),
        ("regionCode", region),
        ("operatingSystem", "Linux"),
        ("tenancy", "Shared"),
        ("preInstalledSw", "NA"),
        ("capacitystatus", "Used"),
    ]
    params: dict[str, Any] = {
        "ServiceCode": "AmazonEC2",
        "Filters": [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in filters],
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    if token:
        params["NextToken"] = token
    return params


def _ecs_params(region: str, token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "ServiceCode": "AmazonECS",
        "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    if token:
        params["NextToken"] = token
    return params


def _page(entries: list[str], token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": entries}
    if token:
        page["NextToken"] = token
    return page


# Rows whose usage types look like Fargate x86 but are not: ARM is matched separately, the rest never.
_DECOY_ROWS = [
    ("Fargate-Windows-vCPU-Hours:perCPU", "0.0914800000"),
    ("Fargate-Windows-GB-Hours", "0.0100500000"),
    ("Fargate-Windows-OS-Hours:perCPU", "0.0460000000"),
    ("SpotUsage-Fargate-vCPU-Hours:perCPU", "0.0126400000"),
    ("SpotUsage-Fargate-GB-Hours", "0.0013900000"),
    ("Fargate-EphemeralStorage-GB-Hours", "0.0001110000"),
    ("Fargate-ARM-EphemeralStorage-GB-Hours", "0.0001110000"),
]


# --------------------------------------------------------------------------- EC2


@pytest.mark.parametrize(
    ("region", "usage_prefix", "usd", "expected"),
    [("us-east-1", "", "0.0960000000", 0.096), ("us-west-2", "USW2-", "0.0960000000", 0.096)],
)
def test_ec2_price_reads_on_demand_term_when_product_matches(
    client: Any, stubber: Stubber, region: str, usage_prefix: str, usd: str, expected: float
) -> None:
    stubber.add_response(
        "get_products", _page([_ec2("m5.large", region, usd, usage_prefix)]), _ec2_params("m5.large", region)
    )
    assert PriceListReader(client).ec2_on_demand_hourly_usd(region, "m5.large") == expected


def test_ec2_price_follows_next_token_when_paginated(client: Any, stubber: Stubber) -> None:
    other_usage = _ec2("c5.large", "eu-west-1", "0.2000000000", "EU-", usagetype="EU-DedicatedUsage:c5.large")
    stubber.add_response("get_products", _page([other_usage], "page-2"), _ec2_params("c5.large", "eu-west-1"))
    stubber.add_response(
        "get_products",
        _page([_ec2("c5.large", "eu-west-1", "0.0960000000", "EU-")]),
        _ec2_params("c5.large", "eu-west-1", "page-2"),
    )
    assert PriceListReader(client).ec2_on_demand_hourly_usd("eu-west-1", "c5.large") == 0.096


@pytest.mark.parametrize(
    "entries",
    [
        [],
        [_ec2("m5.large", "us-east-1", "0.0000000000")],
        [_ec2("m5.large", "us-east-1", "0.0960000000", usagetype="HostBoxUsage:m5.large")],
        [_ec2("m5.large", "us-east-1", "0.0500000000", marketoption="CapacityBlock")],
        [
            _ec2("m5.large", "us-east-1", "0.0960000000"),
            _ec2("m5.large", "us-east-1", "0.1200000000", sku="x"),
        ],
        ["not json"],
    ],
)
def test_ec2_price_is_none_when_no_single_on_demand_price_matches(
    client: Any, stubber: Stubber, entries: list[str]
) -> None:
    stubber.add_response("get_products", _page(entries), _ec2_params("m5.large", "us-east-1"))
    assert PriceListReader(client).ec2_on_demand_hourly_usd("us-east-1", "m5.large") is None


# --------------------------------------------------------------------------- Fargate


def test_fargate_rates_match_suffix_not_decoys_when_rows_mix(client: Any, stubber: Stubber) -> None:
    decoys = [_fargate("us-east-1", f"USE1-{suffix}", usd) for suffix, usd in _DECOY_ROWS]
    page_1 = [
        *decoys[:4],
        _fargate("us-east-1", "USE1-Fargate-vCPU-Hours:perCPU", "0.0404800000"),
        _fargate("us-east-1", "USE1-Fargate-ARM-GB-Hours", "0.0035600000"),
    ]
    page_2 = [
        _fargate("us-east-1", "USE1-Fargate-GB-Hours", "0.0044450000"),
        _fargate("us-east-1", "USE1-Fargate-ARM-vCPU-Hours:perCPU", "0.0323800000"),
        *decoys[4:],
    ]
    stubber.add_response("get_products", _page(page_1, "tok"), _ecs_params("us-east-1"))
    stubber.add_response("get_products", _page(page_2), _ecs_params("us-east-1", "tok"))
    rates = PriceListReader(client).fargate_rates("us-east-1")
    assert rates == {
        X86: FargateRates(vcpu_hour_usd=0.04048, gb_hour_usd=0.004445),
        ARM: FargateRates(vcpu_hour_usd=0.03238, gb_hour_usd=0.00356),
    }


def test_fargate_rates_leave_out_architecture_when_a_rate_is_missing(client: Any, stubber: Stubber) -> None:
    entries = [
        _fargate("ap-south-1", "APS3-Fargate-vCPU-Hours:perCPU", "0.0425600000"),
        _fargate("ap-south-1", "APS3-Fargate-GB-Hours", "0.0046550000"),
        _fargate("ap-south-1", "APS3-Fargate-ARM-vCPU-Hours:perCPU", "0.0340500000"),
    ]
    stubber.add_response("get_products", _page(entries), _ecs_params("ap-south-1"))
    rates = PriceListReader(client).fargate_rates("ap-south-1")
    assert rates == {X86: FargateRates(vcpu_hour_usd=0.04256, gb_hour_usd=0.004655)}


@pytest.mark.parametrize(
    ("usage_type", "suffix"),
    [
        ("USE1-Fargate-vCPU-Hours:perCPU", "Fargate-vCPU-Hours:perCPU"),
        ("EU-Fargate-GB-Hours", "Fargate-GB-Hours"),
        ("APS3-Fargate-ARM-GB-Hours", "Fargate-ARM-GB-Hours"),
        ("USE1-SpotUsage-Fargate-GB-Hours", "SpotUsage-Fargate-GB-Hours"),
        ("BoxUsage:m5.large", "BoxUsage:m5.large"),
        ("Fargate-GB-Hours", "Fargate-GB-Hours"),
    ],
)
def test_usage_type_suffix_strips_only_region_prefix_when_present(usage_type: str, suffix: str) -> None:
    assert usage_type_suffix(usage_type) == suffix


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("AccessDeniedException", 400, AccessDeniedError),
        ("ThrottlingException", 400, ThrottledError),
        ("InvalidParameterException", 400, AwsCallError),
        ("InternalErrorException", 500, AwsCallError),
    ],
)
def test_reader_raises_modeshift_error_when_get_products_fails(
    client: Any, stubber: Stubber, code: str, status: int, error: type[Exception]
) -> None:
    stubber.add_client_error("get_products", service_error_code=code, http_status_code=status)
    with pytest.raises(error) as raised:
        PriceListReader(client).fargate_rates("us-east-1")
    if isinstance(raised.value, AccessDeniedError):
        assert raised.value.permission == "pricing:GetProducts"
    if isinstance(raised.value, AwsCallError):
        assert raised.value.code == code
        assert raised.value.operation == "GetProducts"


# --------------------------------------------------------------------------- refresh


def test_refresh_marks_api_cells_and_keeps_embedded_rest_when_region_refreshed(client: Any, stubber: Stubber) -> None:
    stubber.add_response(
        "get_products",
        _page([_ec2("c5.large", "ap-south-1", "0.0850000000", "APS3-")]),
        _ec2_params("c5.large", "ap-south-1"),
    )
    stubber.add_response("get_products", _page([]), _ec2_params("c7gn.large", "ap-south-1"))
    stubber.add_response(
        "get_products",
        _page(
            [
                _fargate("ap-south-1", "APS3-Fargate-vCPU-Hours:perCPU", "0.0430000000"),
                _fargate("ap-south-1", "APS3-Fargate-GB-Hours", "0.0047000000"),
            ]
        ),
        _ecs_params("ap-south-1"),
    )
    embedded = load_embedded_catalog()
    refreshed = PriceListReader(client).refresh(embedded, "ap-south-1", ["c5.large", "c7gn.large", "c5.large"])
    assert refreshed.source == PRICE_LIST_API
    assert refreshed.ec2_hourly_usd("ap-south-1", "c5.large") == 0.085
    assert refreshed.ec2_source("ap-south-1", "c5.large") == PRICE_LIST_API
    assert not refreshed.has_ec2_price("ap-south-1", "c7gn.large")
    assert refreshed.fargate_rates("ap-south-1", X86) == FargateRates(vcpu_hour_usd=0.043, gb_hour_usd=0.0047)
    assert refreshed.fargate_source("ap-south-1", X86) == PRICE_LIST_API
    assert refreshed.fargate_source("ap-south-1", X86, spot=True) == EMBEDDED
    assert refreshed.fargate_rates("ap-south-1", X86, spot=True) == embedded.fargate_rates("ap-south-1", X86, spot=True)
    assert refreshed.as_of == embedded.as_of
    assert embedded.source == EMBEDDED


def test_refresh_returns_catalog_unchanged_when_api_prices_nothing(client: Any, stubber: Stubber) -> None:
    stubber.add_response("get_products", _page([]), _ec2_params("m5.large", "us-east-1"))
    stubber.add_response("get_products", _page([]), _ecs_params("us-east-1"))
    embedded = load_embedded_catalog()
    assert PriceListReader(client).refresh(embedded, "us-east-1", ["m5.large"]) is embedded


# --------------------------------------------------------------------------- ECS Managed Instances


def test_ecs_prices_read_managed_instances_fee_per_type_in_any_region_prefix(client: Any, stubber: Stubber) -> None:
    """Fee rows are `ECS-Managed-Instances:<type>`: us-east-1 carries no region prefix, other regions do (the
    shape seen in a public Price List recording); the fee never mixes with Fargate rates."""
    entries = [
        _fargate("us-east-1", "ECS-Managed-Instances:c6a.2xlarge", "0.0370000000"),
        _fargate("us-east-1", "USW2-ECS-Managed-Instances:m6i.large", "0.0115000000"),
        _fargate("us-east-1", "USE1-Fargate-vCPU-Hours:perCPU", "0.0404800000"),
        _fargate("us-east-1", "USE1-Fargate-GB-Hours", "0.0044450000"),
        _fargate("us-east-1", "ECS-Managed-Instances-Storage:GB", "0.0001000000"),  # not a per-type fee
    ]
    stubber.add_response("get_products", _page(entries), _ecs_params("us-east-1"))

    rates, fees = PriceListReader(client).ecs_prices("us-east-1")

    assert fees == {"c6a.2xlarge": 0.037, "m6i.large": 0.0115}
    assert rates == {X86: FargateRates(vcpu_hour_usd=0.04048, gb_hour_usd=0.004445)}


def test_refresh_records_managed_instances_fees_as_api_cells_when_the_api_lists_them(
    client: Any, stubber: Stubber
) -> None:
    stubber.add_response("get_products", _page([]), _ec2_params("m5.large", "eu-west-1"))
    stubber.add_response(
        "get_products",
        _page([_fargate("eu-west-1", "EU-ECS-Managed-Instances:m5.large", "0.0120000000")]),
        _ecs_params("eu-west-1"),
    )
    embedded = load_embedded_catalog()

    refreshed = PriceListReader(client).refresh(embedded, "eu-west-1", ["m5.large"])

    assert refreshed.regions["eu-west-1"].managed_instances_fee == {"m5.large": 0.012}
    assert "eu-west-1/managed_instances_fee/m5.large" in refreshed.api_items
    assert refreshed.regions["eu-west-1"].fargate == embedded.regions["eu-west-1"].fargate
