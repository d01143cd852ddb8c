"""Tests of the price-catalog build script's parsers (on excerpts of its real sources) and of the shipped catalog."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from modeshift.domain.models import Architecture
from modeshift.domain.pricing import EMBEDDED, PriceCatalog, load_embedded_catalog
from modeshift.errors import PriceNotFoundError

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "layers" / "modeshift" / "scripts" / "build_price_catalog.py"
CATALOG_FILE = ROOT / "layers" / "modeshift" / "modeshift" / "data" / "price_catalog.json"
FIXTURES = ROOT / "tests" / "fixtures" / "pricing"

# Families the ec2.shop pricing-page copies (published 2025-04-04) have no Linux entry for in a region
NOT_IN_EC2SHOP_SNAPSHOT = {
    "us-west-1": {"m7a", "c7gn", "m8g", "c8g"},
    "ca-central-1": {"m7a", "c7gn", "m8g", "c8g", "r8g"},
    "sa-east-1": {"m7a", "c7gn", "m8g", "c8g", "r8g"},
    "eu-west-2": {"m7a", "c7gn", "c8g", "r8g"},
    "eu-central-1": {"c7gn"},
    "ap-south-1": {"m7a", "c7gn", "m8g"},
    "ap-northeast-1": {"m8g"},
    "ap-northeast-2": {"m6a", "c6a", "m7a", "c7gn", "m8g", "c8g", "r8g"},
    "ap-southeast-1": {"m7a", "c7gn", "m8g", "c8g", "r8g"},
    "ap-southeast-2": {"c7gn", "m8g", "c8g"},
}
# Of those, the families the anycloud catalog (SkyPilot layout, one row per offering zone) has no row for in a
# region it covers: AWS does not offer them there. It has no sa-east-1 row at all.
EXPECTED_NOT_OFFERED = {
    "us-west-1": {"m7a", "c7gn"},
    "ca-central-1": {"m7a", "c7gn"},
    "eu-central-1": {"c7gn"},
    "ap-south-1": {"m7a", "c7gn"},
    "ap-northeast-2": {"m6a", "c6a", "m7a", "c7gn"},
    "ap-southeast-1": {"m7a", "c7gn"},
    "ap-southeast-2": {"c7gn"},
}
EXPECTED_MISSING = {"sa-east-1": {"m7a", "c7gn", "m8g", "c8g", "r8g"}}
# Unedited lines of anycloud-sh/catalog aws/vms.csv at 5134b89 (header, c7gn.medium and c8g.medium rows of a few
# regions); the empty SpotPrice of eu-west-2 is in the file too
ANYCLOUD_VMS_EXCERPT = """\
InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,AvailabilityZone,Arch,LocalDiskType,NVMeSupported,LocalDiskSize,LocalDiskCount,MaximumEfaInterfaces
c7gn.medium,,,1.0,2.0,,0.074,,eu-west-2,euw2-az4,arm64,,False,,,
c7gn.medium,,,1.0,2.0,,0.0624,0.022400,us-east-1,use1-az1,arm64,,False,,,
c7gn.medium,,,1.0,2.0,,0.0624,0.024500,us-east-1,use1-az2,arm64,,False,,,
c8g.medium,,,1.0,2.0,,0.04488,0.014500,ap-northeast-2,apne2-az1,arm64,,False,,,
c8g.medium,,,1.0,2.0,,0.04488,0.015700,ap-northeast-2,apne2-az2,arm64,,False,,,
c8g.medium,,,1.0,2.0,,0.04348,0.022500,ca-central-1,cac1-az1,arm64,,False,,,
c8g.medium,,,1.0,2.0,,0.04722,0.021200,eu-west-2,euw2-az1,arm64,,False,,,
c8g.medium,,,1.0,2.0,,0.03988,0.015800,us-east-1,use1-az1,arm64,,False,,,
"""
PRICING_PAGE_FIXTURES = ("ec2shop_sa-east-1_ondemand_excerpt.json", "ec2shop_eu-west-1_ondemand_excerpt.json")


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_price_catalog", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


build = _load_script()


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    return json.loads(CATALOG_FILE.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- parsers


def test_parse_karpenter_prices_reads_region_type_price_when_given_generated_go() -> None:
    text = _fixture("karpenter_pricing_aws_excerpt.go")
    prices = build.parse_karpenter_prices(text)
    assert set(prices) == {"us-east-1"}
    assert prices["us-east-1"]["c5.large"] == 0.085
    assert prices["us-east-1"]["c5.9xlarge"] == 1.53
    assert prices["us-east-1"]["t4g.medium"] == 0.0336
    assert prices["us-east-1"]["z1d.metal"] == 4.464
    assert build.karpenter_generated_on(text) == "2026-07-20"


def test_parse_karpenter_instance_types_reads_cpu_memory_and_arch_when_given_reference() -> None:
    shapes = build.parse_karpenter_instance_types(_fixture("karpenter_instance_types_excerpt.md"))
    assert shapes["c7gn.medium"] == build.Shape(vcpu=1, memory_mib=2048, architecture="arm64")
    assert shapes["m5.large"] == build.Shape(vcpu=2, memory_mib=8192, architecture="x86_64")
    assert shapes["t4g.medium"] == build.Shape(vcpu=2, memory_mib=4096, architecture="arm64")


def test_parse_fgcalc_data_reads_on_demand_and_spot_rates_when_given_data_js() -> None:
    text = _fixture("fgcalc_data_excerpt.js")
    rates = build.parse_fgcalc_data(text)
    assert set(rates) == {"ca-central-1", "us-east-1"}
    assert rates["us-east-1"] == {"fargate": (0.04048, 0.004445), "fargate_spot": (0.01288561, 0.00141493)}
    assert rates["ca-central-1"]["fargate"] == (0.04456, 0.004865)
    assert build.fgcalc_verified_on(text) == "2026-09-29"


def test_parse_skypilot_vms_keeps_one_price_per_region_when_zones_agree() -> None:
    prices = build.parse_skypilot_vms(_fixture("skypilot_vms_excerpt.csv"))
    assert prices["eu-west-1"]["c5.large"] == 0.096
    assert prices["ap-northeast-1"]["c5.large"] == 0.107
    assert prices["eu-central-1"]["c6g.medium"] == 0.0388
    assert prices["us-east-1"]["a1.medium"] == 0.0255


def test_parse_skypilot_vms_raises_when_zones_of_a_region_disagree() -> None:
    text = _fixture("skypilot_vms_excerpt.csv").replace(
        "c5.large,,,2.0,4.0,,0.096,0.051800,eu-west-1", "c5.large,,,2.0,4.0,,0.097,0.051800,eu-west-1"
    )
    with pytest.raises(build.SourceFormatError, match="zones disagree"):
        build.parse_skypilot_vms(text)


def test_parse_skypilot_vms_reads_anycloud_catalog_when_given_its_full_header_and_empty_spot_prices() -> None:
    prices = build.parse_skypilot_vms(ANYCLOUD_VMS_EXCERPT)
    assert prices == {
        "eu-west-2": {"c7gn.medium": 0.074, "c8g.medium": 0.04722},
        "us-east-1": {"c7gn.medium": 0.0624, "c8g.medium": 0.03988},
        "ap-northeast-2": {"c8g.medium": 0.04488},
        "ca-central-1": {"c8g.medium": 0.04348},
    }


def test_not_offered_families_lists_a_family_only_where_a_covered_region_has_no_row_of_it() -> None:
    prices = build.parse_skypilot_vms(ANYCLOUD_VMS_EXCERPT)
    # c7gn has rows in eu-west-2 and us-east-1 only; regions without any row (sa-east-1) are not judged, and
    # families without any row (m5) are unknown, not unoffered
    assert build.not_offered_families(prices) == {"ap-northeast-2": ["c7gn"], "ca-central-1": ["c7gn"]}
    assert build.not_offered_families({}) == {}


def test_parse_ec2_pricing_page_reads_linux_prices_of_its_region_when_given_ec2shop_json() -> None:
    text = _fixture("ec2shop_sa-east-1_ondemand_excerpt.json")
    prices = build.parse_ec2_pricing_page(text)
    assert prices == {
        "sa-east-1": {
            "g6.2xlarge": 1.66173,
            "t4g.medium": 0.0536,
            "m5.large": 0.153,
            "c6g.medium": 0.0524,
            "c5.large": 0.131,
            "c5.metal": 6.288,
        }
    }
    assert build.ec2_pricing_page_published_on(text) == "2025-04-04"
    eu_west_1 = build.parse_ec2_pricing_page(_fixture("ec2shop_eu-west-1_ondemand_excerpt.json"))
    assert eu_west_1["eu-west-1"]["c7gn.medium"] == 0.0705


def test_parse_ec2_pricing_page_raises_when_entries_of_a_type_disagree_or_location_is_unknown() -> None:
    text = _fixture("ec2shop_eu-west-1_ondemand_excerpt.json")
    document = json.loads(text)
    entries = document["regions"]["EU (Ireland)"]
    entries["c5 large again"] = {**entries["c5 large EU Ireland Linux"], "price": "0.0970000000"}
    with pytest.raises(build.SourceFormatError, match="entries disagree"):
        build.parse_ec2_pricing_page(json.dumps(document))
    with pytest.raises(build.SourceFormatError, match="unknown location"):
        build.parse_ec2_pricing_page(text.replace('"EU (Ireland)":', '"EU (Atlantis)":'))


@pytest.mark.parametrize(
    "parse",
    [
        "parse_karpenter_prices",
        "parse_karpenter_instance_types",
        "parse_fgcalc_data",
        "parse_skypilot_vms",
        "parse_ec2_pricing_page",
    ],
)
def test_parsers_raise_source_format_error_when_layout_is_not_the_expected_one(parse: str) -> None:
    with pytest.raises(build.SourceFormatError):
        getattr(build, parse)("something else entirely\n")


# --------------------------------------------------------------------------- build


def _catalog_from_fixtures(**overrides: Any) -> dict[str, Any]:
    karpenter_text = _fixture("karpenter_pricing_aws_excerpt.go")
    fargate_text = _fixture("fgcalc_data_excerpt.js")
    pages = [_fixture(name) for name in PRICING_PAGE_FIXTURES]
    arguments: dict[str, Any] = {
        "karpenter_prices": build.parse_karpenter_prices(karpenter_text),
        "shapes": build.parse_karpenter_instance_types(_fixture("karpenter_instance_types_excerpt.md")),
        "fargate_x86": build.parse_fgcalc_data(fargate_text),
        "skypilot_prices": build.parse_skypilot_vms(_fixture("skypilot_vms_excerpt.csv")),
        "pricing_page_prices": {
            region: prices for page in pages for region, prices in build.parse_ec2_pricing_page(page).items()
        },
        "source_dates": {
            build.KARPENTER: build.karpenter_generated_on(karpenter_text),
            build.FGCALC: build.fgcalc_verified_on(fargate_text),
            build.EC2SHOP: min(build.ec2_pricing_page_published_on(page) for page in pages),
        },
    }
    return build.build_catalog(**{**arguments, **overrides})


def test_build_catalog_copies_each_price_from_one_source_when_given_excerpts() -> None:
    catalog = _catalog_from_fixtures()
    regions = catalog["regions"]
    # us-east-1 from Karpenter; types without a shape (c5.xlarge, t4g.large ...) and outside the sizes stay out
    assert regions["us-east-1"]["ec2_on_demand"] == {"c5.large": 0.085, "t4g.medium": 0.0336}
    assert regions["us-east-1"]["cell_sources"]["ec2_on_demand"] == build.KARPENTER
    # the pricing-page copies where they list the region (preferred over SkyPilot), only what they list
    assert regions["eu-west-1"]["ec2_on_demand"] == {"m5.large": 0.107, "c5.large": 0.096, "c7gn.medium": 0.0705}
    assert regions["eu-west-1"]["cell_sources"]["ec2_on_demand"] == build.EC2SHOP
    assert regions["sa-east-1"]["ec2_on_demand"] == {
        "m5.large": 0.153,
        "c5.large": 0.131,
        "t4g.medium": 0.0536,
        "c6g.medium": 0.0524,
    }
    # SkyPilot for the regions neither lists
    assert regions["eu-central-1"]["ec2_on_demand"] == {"c6g.medium": 0.0388}
    assert regions["eu-central-1"]["cell_sources"]["ec2_on_demand"] == build.SKYPILOT
    assert regions["ap-south-1"]["ec2_on_demand"] == {}
    assert "ec2_on_demand" not in regions["ap-south-1"]["cell_sources"]
    # Fargate x86 only where fgcalc lists the region; arm64 only where a document gave it
    assert regions["ca-central-1"]["fargate"] == {"x86_64": {"vcpu_hour_usd": 0.04456, "gb_hour_usd": 0.004865}}
    assert regions["eu-west-1"]["fargate"] == {"arm64": {"vcpu_hour_usd": 0.03238, "gb_hour_usd": 0.00356}}
    assert regions["eu-central-1"]["fargate"] == {}
    assert catalog["as_of"] == "2025-04-04"
    assert {source["id"]: source["date"] for source in catalog["sources"]}[build.EC2SHOP] == "2025-04-04"
    PriceCatalog.model_validate({**catalog, "source": EMBEDDED})


def test_build_catalog_names_the_source_of_a_type_another_source_filled_in_when_sources_mix() -> None:
    # Karpenter's us-east-1 excerpt lacks m5.large; a pricing-page table giving it fills that one cell
    catalog = _catalog_from_fixtures(pricing_page_prices={"us-east-1": {"m5.large": 0.096, "c5.large": 0.5}})
    us_east_1 = catalog["regions"]["us-east-1"]
    assert us_east_1["ec2_on_demand"] == {"m5.large": 0.096, "c5.large": 0.085, "t4g.medium": 0.0336}
    assert us_east_1["cell_sources"]["ec2_on_demand"] == build.KARPENTER
    assert us_east_1["cell_sources"]["ec2_on_demand.m5.large"] == build.EC2SHOP
    assert "ec2_on_demand.c5.large" not in us_east_1["cell_sources"]


def test_build_catalog_records_not_offered_families_apart_from_missing_ones_when_given_anycloud_rows() -> None:
    karpenter_shapes = build.parse_karpenter_instance_types(_fixture("karpenter_instance_types_excerpt.md"))
    shapes = {**karpenter_shapes, "c8g.medium": build.Shape(vcpu=1, memory_mib=2048, architecture="arm64")}
    catalog = _catalog_from_fixtures(shapes=shapes, anycloud_prices=build.parse_skypilot_vms(ANYCLOUD_VMS_EXCERPT))
    regions = catalog["regions"]
    # anycloud fills what no earlier source priced, and says so per type
    assert regions["eu-west-2"]["ec2_on_demand"] == {"c7gn.medium": 0.074, "c8g.medium": 0.04722}
    assert regions["eu-west-2"]["cell_sources"]["ec2_on_demand"] == build.ANYCLOUD
    assert regions["ca-central-1"]["ec2_on_demand"] == {"c8g.medium": 0.04348}
    # a covered region without c7gn rows: not offered, named after its source
    assert regions["ca-central-1"]["ec2_not_offered"] == ["c7gn"]
    assert regions["ca-central-1"]["cell_sources"]["ec2_not_offered"] == build.ANYCLOUD
    # no row at all for sa-east-1: nothing is claimed there
    assert "ec2_not_offered" not in regions["sa-east-1"]
    lines = build.coverage_table(catalog)
    assert lines[0].split() == list(build.FAMILIES)
    row = next(line for line in lines if line.startswith("ca-central-1")).split()[1:]
    ca_central_1 = dict(zip(build.FAMILIES, row, strict=True))
    assert (ca_central_1["c8g"], ca_central_1["c7gn"], ca_central_1["m7a"]) == ("P", "N", ".")
    assert lines[-1].endswith("(of 350)")
    # the embedded model keeps the two apart: "not offered" is not an unknown price
    model = PriceCatalog.model_validate({**catalog, "source": EMBEDDED})
    assert model.ec2_not_offered("ca-central-1", "c7gn.large")
    assert not model.ec2_not_offered("sa-east-1", "c7gn.large")
    with pytest.raises(PriceNotFoundError, match=r"c7gn\.large is not offered in region ca-central-1"):
        model.ec2_hourly_usd("ca-central-1", "c7gn.large")
    with pytest.raises(PriceNotFoundError, match=r"no EC2 on-demand price for c7gn\.large in region sa-east-1"):
        model.ec2_hourly_usd("sa-east-1", "c7gn.large")


def test_build_catalog_does_not_record_not_offered_when_another_source_prices_the_family() -> None:
    anycloud = build.parse_skypilot_vms(ANYCLOUD_VMS_EXCERPT)
    pages = {"ca-central-1": {"c7gn.medium": 0.0687}}
    catalog = _catalog_from_fixtures(anycloud_prices=anycloud, pricing_page_prices=pages)
    assert catalog["regions"]["ca-central-1"]["ec2_on_demand"]["c7gn.medium"] == 0.0687
    assert "ec2_not_offered" not in catalog["regions"]["ca-central-1"]
    conflicts = build.offered_conflicts(build.not_offered_families(anycloud), pages, "ec2shop")
    assert conflicts == ["ca-central-1 c7gn: priced by ec2shop, no anycloud row"]


def test_render_writes_one_line_per_region_and_reads_back_equal() -> None:
    catalog = _catalog_from_fixtures()
    text = build.render(catalog)
    assert json.loads(text) == catalog
    lines = text.splitlines()
    assert all(any(line.startswith(f'"{region}":') for line in lines) for region in catalog["regions"])


# --------------------------------------------------------------------------- the shipped catalog


def _numbers(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)


def test_shipped_catalog_is_dated_and_every_part_names_a_dated_source(shipped: dict[str, Any]) -> None:
    catalog = load_embedded_catalog()
    assert catalog.as_of.isoformat() == shipped["as_of"]
    ids = {source.id for source in catalog.sources}
    assert {build.KARPENTER, build.KARPENTER_TYPES, build.FGCALC, build.EC2SHOP, build.ANYCLOUD} <= ids
    assert all(source.commit or source.date for source in catalog.sources)
    assert min(source.date for source in catalog.sources if source.date) == shipped["as_of"]
    for region, prices in catalog.regions.items():
        assert set(prices.cell_sources.values()) <= ids, region


def test_shipped_catalog_is_exactly_what_the_script_renders(shipped: dict[str, Any]) -> None:
    assert build.render(shipped) == CATALOG_FILE.read_text(encoding="utf-8")
    assert CATALOG_FILE.stat().st_size < 300_000


def test_shipped_catalog_lists_every_wanted_region_with_fargate_and_spot_x86() -> None:
    catalog = load_embedded_catalog()
    assert set(build.REGIONS) <= set(catalog.regions)
    for region in build.REGIONS:
        assert catalog.fargate_rates(region, Architecture.X86_64).vcpu_hour_usd > 0
        assert catalog.fargate_rates(region, Architecture.X86_64, spot=True).vcpu_hour_usd > 0


def test_shipped_catalog_has_fargate_arm_exactly_where_a_source_gave_it() -> None:
    catalog = load_embedded_catalog()
    expected = {
        (cell.region, cell.kind) for cell in build.TRANSCRIBED_FARGATE if cell.architecture == Architecture.ARM64
    }
    for region in build.REGIONS:
        prices = catalog.regions[region]
        assert (Architecture.ARM64 in prices.fargate) == ((region, "fargate") in expected), region
        assert (Architecture.ARM64 in prices.fargate_spot) == ((region, "fargate_spot") in expected), region


def test_shipped_catalog_prices_every_family_except_the_not_offered_and_the_missing_ones(
    shipped: dict[str, Any],
) -> None:
    catalog = load_embedded_catalog()
    from_anycloud = 0
    for region in build.REGIONS:
        cells = build.family_coverage(shipped["regions"][region])
        assert {family for family, mark in cells.items() if mark == "N"} == EXPECTED_NOT_OFFERED.get(region, set())
        assert {family for family, mark in cells.items() if mark == "."} == EXPECTED_MISSING.get(region, set())
        prices = catalog.regions[region]
        if prices.ec2_not_offered:
            assert prices.cell_sources["ec2_not_offered"] == build.ANYCLOUD, region
        # what the pricing-page copy lacked and a region offers comes from the anycloud rows, per type
        filled = NOT_IN_EC2SHOP_SNAPSHOT.get(region, set()) - EXPECTED_MISSING.get(region, set())
        filled -= EXPECTED_NOT_OFFERED.get(region, set())
        for name in prices.ec2_on_demand:
            if name.partition(".")[0] in filled:
                assert prices.cell_sources[f"ec2_on_demand.{name}"] == build.ANYCLOUD, (region, name)
                from_anycloud += 1
    assert from_anycloud == 19 * 8  # 19 region x family pairs, medium to 16xlarge each
    assert catalog.ec2_hourly_usd("ap-northeast-2", "c8g.xlarge") == 0.17952
    assert catalog.ec2_hourly_usd("eu-west-2", "c7gn.large") == 0.148
    assert catalog.ec2_not_offered("eu-central-1", "c7gn.large")


def test_shipped_catalog_takes_us_east_1_from_karpenter_and_the_other_regions_from_the_pricing_page() -> None:
    catalog = load_embedded_catalog()
    for region in build.REGIONS:
        expected = build.KARPENTER if region == "us-east-1" else build.EC2SHOP
        assert catalog.regions[region].cell_sources["ec2_on_demand"] == expected, region
    assert catalog.ec2_hourly_usd("sa-east-1", "m5.large") == 0.153
    assert catalog.ec2_hourly_usd("eu-west-1", "m8g.16xlarge") == 3.20128


def test_shipped_catalog_has_a_shape_for_every_priced_type_and_no_price_at_or_below_zero(
    shipped: dict[str, Any],
) -> None:
    catalog = load_embedded_catalog()
    for prices in catalog.regions.values():
        assert set(prices.ec2_on_demand) <= set(catalog.instance_types)
    assert all(number > 0 for number in _numbers(shipped["regions"]))
    assert all(number > 0 for number in _numbers(shipped["instance_types"]))


@pytest.mark.parametrize(
    ("region", "instance_type", "hourly"),
    [
        ("us-east-1", "m5.large", 0.096),
        ("us-east-1", "c5.large", 0.085),
        ("us-east-1", "m7i.large", 0.1008),
        ("us-east-1", "m6g.large", 0.077),
        ("us-east-1", "r7g.large", 0.1071),
        ("us-east-1", "t3.medium", 0.0416),
        ("us-east-1", "t3a.medium", 0.0376),
        ("us-east-2", "m6g.large", 0.077),
        ("eu-west-1", "c5.large", 0.096),
        ("eu-central-1", "c5.large", 0.097),
        ("ap-northeast-1", "c5.large", 0.107),
    ],
)
def test_shipped_catalog_keeps_aws_facts_ec2_prices(region: str, instance_type: str, hourly: float) -> None:
    assert load_embedded_catalog().ec2_hourly_usd(region, instance_type) == hourly


def test_shipped_catalog_carries_windows_and_ephemeral_rates_only_where_a_source_gave_them() -> None:
    catalog = load_embedded_catalog()
    us_east_1 = catalog.regions["us-east-1"]
    assert us_east_1.fargate_windows is not None
    assert us_east_1.fargate_windows.os_license_vcpu_hour_usd == 0.046
    assert us_east_1.fargate_ephemeral_gb_hour_usd == 0.000111
    others = [prices for region, prices in catalog.regions.items() if region != "us-east-1"]
    assert all(prices.fargate_windows is None and prices.fargate_ephemeral_gb_hour_usd is None for prices in others)
    # the one Managed Instances fee a source gave (AWS-FACTS, us-east-1 c6a.2xlarge); the rest come from the API
    assert us_east_1.managed_instances_fee == {"c6a.2xlarge": 0.037}
    assert us_east_1.cell_sources["managed_instances_fee"] == "aws-facts"
    assert all(not prices.managed_instances_fee for prices in others)
