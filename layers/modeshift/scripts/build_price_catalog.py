#!/usr/bin/env python3
"""Writes modeshift's embedded price catalog (modeshift/data/price_catalog.json) from dated public sources.

Not part of the Lambda layer: the layer's Makefile copies only modeshift/. Run it from the repository
root with copies of the source files (each pinned in SOURCES below; update a pin when you refresh):

    K=<bare or full clone of github.com/aws/karpenter-provider-aws>
    git --git-dir=$K show 6fc13b5:pkg/providers/pricing/zz_generated.pricing_aws.go > karpenter-prices.go
    git --git-dir=$K show 692ccdd:website/content/en/docs/reference/instance-types.md > karpenter-types.md
    # theuves/fgcalc src/utils/data.js (the version headed "verified 2026-09-29") -> fgcalc-data.js
    # skypilot-org/skypilot-catalog catalogs/v8/aws/vms.csv at e385a0d             -> skypilot-vms.csv
    # anycloud-sh/catalog aws/vms.csv at 5134b89 (rows of the families it is used for) -> anycloud-vms.csv
    E=<bare or full clone of github.com/yeo/ec2.shop>
    for r in us-east-1 us-east-2 us-west-1 us-west-2 ca-central-1 sa-east-1 eu-west-1 eu-west-2 \\
             eu-central-1 ap-south-1 ap-northeast-1 ap-northeast-2 ap-southeast-1 ap-southeast-2; do
        git --git-dir=$E show 73696e3:data/ec2/$r-ondemand.json > ec2shop-$r-ondemand.json
    done
    python layers/modeshift/scripts/build_price_catalog.py \\
        --karpenter-prices karpenter-prices.go --karpenter-instance-types karpenter-types.md \\
        --fargate-js fgcalc-data.js --ec2-pricing-json ec2shop-*-ondemand.json --skypilot-vms skypilot-vms.csv \\
        --anycloud-vms anycloud-vms.csv --out layers/modeshift/modeshift/data/price_catalog.json

EC2 prices of a type in a region come from the first source that gives one: Karpenter (us-east-1), then
the ec2.shop copies of the AWS pricing-page JSON, then SkyPilot, then the anycloud catalog.

"Not offered" is not "unknown price". The anycloud file has the SkyPilot vms.csv layout, which lists a
type in a region only where AWS offers it in one of the region's zones. So for a region the file covers
(it has rows there) and a family the file has rows for, no row of that family in that region means AWS
did not offer the family there; the catalog records it under `ec2_not_offered` (unless another source
prices the family there, which the build reports as a conflict). A region the file has no rows for at
all (sa-east-1) proves nothing, and its unpriced families stay "missing". The build prints a region x
family table: P priced, N not offered, . missing.

Rules: a price is copied from a source or left out, never derived from another region, size or ratio
(modeshift then says "price not in catalog"). `as_of` is the date of the oldest dated source used.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LAYER_DIR = Path(__file__).resolve().parents[1]
DEFAULT_OUT = LAYER_DIR / "modeshift" / "data" / "price_catalog.json"

REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
)

FAMILIES = (
    "m5",
    "m6i",
    "m7i",
    "c5",
    "c6i",
    "c7i",
    "r5",
    "r6i",
    "r7i",
    "t3",
    "t3a",
    "t4g",
    "m6a",
    "c6a",
    "m7a",
    "m6g",
    "c6g",
    "r6g",
    "m7g",
    "c7g",
    "r7g",
    "c7gn",
    "m8g",
    "c8g",
    "r8g",
)

# medium to 16xlarge; c5 has a 9xlarge instead of an 8xlarge
SIZES = ("medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "9xlarge", "12xlarge", "16xlarge")

KARPENTER = "karpenter-prices"
KARPENTER_TYPES = "karpenter-instance-types"
SKYPILOT = "skypilot-catalog"
ANYCLOUD = "anycloud-catalog"
EC2SHOP = "ec2shop-pricing-page"
FGCALC = "fgcalc"
AWS_FACTS = "aws-facts"
BASECODE = "basecode-sa-east-1"
ECS_PRICING_PAGE = "ecs-pricing-page"

# Pins of the snapshots this catalog was built from; the parsers read dates from the files where they
# carry one (Karpenter's "generated at", fgcalc's "verified" header) and those win over these dates.
SOURCES: dict[str, dict[str, str]] = {
    KARPENTER: {
        "title": "Karpenter AWS provider: generated on-demand Linux prices (InitialOnDemandPricesAWS)",
        "url": "https://github.com/aws/karpenter-provider-aws",
        "repository": "aws/karpenter-provider-aws",
        "path": "pkg/providers/pricing/zz_generated.pricing_aws.go",
        "commit": "6fc13b5236fd04fd16ff3f9dc7490d0813994099",
        "date": "2026-07-20",
        "covers": "EC2 on-demand Linux prices, us-east-1 (the generated table holds no other commercial region)",
    },
    KARPENTER_TYPES: {
        "title": "Karpenter AWS provider: generated instance-type reference (instance-cpu, instance-memory, arch)",
        "url": "https://github.com/aws/karpenter-provider-aws",
        "repository": "aws/karpenter-provider-aws",
        "path": "website/content/en/docs/reference/instance-types.md",
        "commit": "692ccdd0629e488300821443f0fa0bc3c3e08047",
        "date": "2026-07-11",
        "covers": "instance shapes (vCPU, memory MiB, architecture)",
    },
    EC2SHOP: {
        "title": "ec2.shop: committed copies of the per-region on-demand Linux JSON behind "
        "aws.amazon.com/ec2/pricing/on-demand (manifest source ec2-ondemand-without-sec-sel)",
        "url": "https://github.com/yeo/ec2.shop",
        "repository": "yeo/ec2.shop",
        "path": "data/ec2/<region>-ondemand.json",
        "commit": "73696e380ae600b175f859850a726edebd1de72f",
        "date": "2025-04-04",
        "covers": "EC2 on-demand Linux prices per region (one file per region; a family AWS did not yet "
        "offer in a region on that date is absent there)",
    },
    SKYPILOT: {
        "title": "SkyPilot catalog: AWS VMs (on-demand Linux price per region and zone)",
        "url": "https://github.com/skypilot-org/skypilot-catalog",
        "repository": "skypilot-org/skypilot-catalog",
        "path": "catalogs/v8/aws/vms.csv",
        "commit": "e385a0d348eda9cefd9806423e7725944dc249e4",
        "date": "",
        "covers": "EC2 on-demand Linux prices outside us-east-1 (regions the catalog lists)",
    },
    ANYCLOUD: {
        "title": "anycloud catalog: AWS VMs in the SkyPilot vms.csv layout (on-demand Linux price per region "
        "and zone; a type has rows only in the zones that offer it)",
        "url": "https://github.com/anycloud-sh/catalog",
        "repository": "anycloud-sh/catalog",
        "path": "aws/vms.csv",
        "commit": "5134b895047c454c834c6db730af077e06bdbdca",
        # the repository's history from its first commit (69b86f0, 2026-04-02, "Bootstrap catalogs with
        # SkyPilot AWS/GCP/Lambda data") to 62ff0a9 (2026-05-20) keeps this path as one unchanged blob
        # (42e7641); the rows were read at 5134b89, the one version of the file the code index holds
        "date": "2026-04-02",
        "covers": "EC2 on-demand Linux prices of m7a, c7gn, c8g, m8g, r8g (and c6a.xlarge, m6a.4xlarge) in the "
        "catalog regions it lists (all but sa-east-1), and which of those families a region does not offer",
    },
    FGCALC: {
        "title": "fgcalc: Fargate Linux/x86 rates, on-demand from the AmazonECS Price List bulk API "
        "(offer published 2026-09-11), Spot from the feed behind aws.amazon.com/fargate/pricing",
        "url": "https://github.com/theuves/fgcalc",
        "repository": "theuves/fgcalc",
        "path": "src/utils/data.js",
        "commit": "",
        "date": "2026-09-29",
        "covers": "Fargate and Fargate Spot x86_64 vCPU-hour and GB-hour rates per region",
    },
    AWS_FACTS: {
        "title": "modeshift shared/AWS-FACTS.md, figures gathered from the AWS Fargate pricing page "
        "and the Price List in January 2026",
        "url": "",
        "repository": "",
        "path": "shared/AWS-FACTS.md",
        "commit": "",
        "date": "2026-01-15",
        "covers": "Fargate arm64 rates it lists as published; Windows and ephemeral-storage rates (us-east-1)",
    },
    BASECODE: {
        "title": "apoloferreira/basecode doc/custo02.md: the São Paulo Fargate table of "
        "aws.amazon.com/pt/fargate/pricing (x86 figures match sa-east-1)",
        "url": "https://github.com/apoloferreira/basecode",
        "repository": "apoloferreira/basecode",
        "path": "doc/custo02.md",
        "commit": "cb793a6b7fbe729c40b8a0a314f96da5a2d365a0",
        "date": "2026-02-03",
        "covers": "Fargate and Fargate Spot arm64 rates, sa-east-1",
    },
    ECS_PRICING_PAGE: {
        "title": "AWS ECS pricing page (ECS Anywhere)",
        "url": "https://aws.amazon.com/ecs/pricing/",
        "repository": "",
        "path": "",
        "commit": "",
        "date": "2026-01-15",
        "covers": "ECS Anywhere USD per registered on-premises instance-hour",
    },
}

ECS_ANYWHERE_INSTANCE_HOUR_USD = 0.01025
ECS_ANYWHERE_NOTE = (
    "ECS Anywhere: USD 0.01025 per hour for each registered on-premises (mi-) instance, every region "
    "(AWS ECS pricing page, seen 2026-01); the operator's own hardware is not included."
)


@dataclass(frozen=True)
class FargateCell:
    """One transcribed Fargate rate pair: kind is "fargate" or "fargate_spot"."""

    region: str
    kind: str
    architecture: str
    vcpu_hour_usd: float
    gb_hour_usd: float
    source: str


# Fargate arm64 figures no machine-readable source republishes per region, copied from the documents
# named in SOURCES. AWS-FACTS' starred (derived) cells are not here.
TRANSCRIBED_FARGATE: tuple[FargateCell, ...] = (
    *(
        FargateCell(region, "fargate", "arm64", 0.03238, 0.00356, AWS_FACTS)
        for region in ("us-east-1", "us-east-2", "us-west-2", "eu-west-1")
    ),
    *(
        FargateCell(region, "fargate", "arm64", 0.04045, 0.00442, AWS_FACTS)
        for region in ("ap-southeast-1", "ap-northeast-1")
    ),
    FargateCell("ap-south-1", "fargate", "arm64", 0.02383, 0.00261, AWS_FACTS),
    FargateCell("ap-southeast-2", "fargate", "arm64", 0.03885, 0.00426, AWS_FACTS),
    FargateCell("sa-east-1", "fargate", "arm64", 0.0557, 0.00612, BASECODE),
    FargateCell("sa-east-1", "fargate_spot", "arm64", 0.01870297, 0.00205498, BASECODE),
)

# Windows Fargate (vCPU-hour, OS licence per vCPU-hour, GB-hour) and ephemeral storage per GB-hour
TRANSCRIBED_WINDOWS: dict[str, tuple[float, float, float, str]] = {
    "us-east-1": (0.09148, 0.046, 0.01005, AWS_FACTS),
}
TRANSCRIBED_EPHEMERAL: dict[str, tuple[float, str]] = {
    "us-east-1": (0.000111, AWS_FACTS),
}
# ECS Managed Instances management fee, USD per instance-hour, per instance type: the one figure AWS-FACTS
# carries. The Price List API (`ECS-Managed-Instances:<type>` usage types under AmazonECS) has the rest: run
# modeshift with MODESHIFT_USE_PRICE_LIST_API=true to price Managed Instances on other types and regions.
TRANSCRIBED_MANAGED_INSTANCES_FEE: dict[str, dict[str, tuple[float, str]]] = {
    "us-east-1": {"c6a.2xlarge": (0.037, AWS_FACTS)},
}


class SourceFormatError(ValueError):
    """A source file does not have the layout its parser expects."""


@dataclass(frozen=True)
class Shape:
    vcpu: int
    memory_mib: int
    architecture: str


# --------------------------------------------------------------------------- parsers


_GO_REGION = re.compile(r'^\s*"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)": \{\s*$')
_GO_PRICE = re.compile(r'"(?P<type>[a-z0-9-]+\.[a-z0-9-]+)": (?P<price>\d+(?:\.\d+)?)')
_GO_GENERATED = re.compile(r"// generated at (?P<stamp>\d{4}-\d{2}-\d{2})T")


def parse_karpenter_prices(text: str) -> dict[str, dict[str, float]]:
    """Region -> instance type -> USD per hour from Karpenter's zz_generated.pricing_aws.go."""
    prices: dict[str, dict[str, float]] = {}
    region: str | None = None
    for line in text.splitlines():
        if match := _GO_REGION.match(line):
            region = match["region"]
            prices.setdefault(region, {})
            continue
        if region is None:
            continue
        for pair in _GO_PRICE.finditer(line):
            prices[region][pair["type"]] = float(pair["price"])
    if not prices:
        raise SourceFormatError("no region map found in the Karpenter pricing file")
    return prices


def karpenter_generated_on(text: str) -> str:
    """The date in the file's "// generated at <RFC 3339>" line, or "" when absent."""
    match = _GO_GENERATED.search(text)
    return match["stamp"] if match else ""


_MD_TYPE = re.compile(r"^### `(?P<type>[a-z0-9-]+\.[a-z0-9-]+)`\s*$")
_MD_LABEL = re.compile(r"^\s*\|(?P<label>[a-z0-9./-]+)\|(?P<value>[^|]*)\|\s*$")
_ARCHITECTURES = {"amd64": "x86_64", "arm64": "arm64"}


def parse_karpenter_instance_types(text: str) -> dict[str, Shape]:
    """Instance type -> shape from the Karpenter instance-type reference (labels table of each type)."""
    labels: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if match := _MD_TYPE.match(line):
            current = labels.setdefault(match["type"], {})
            continue
        if current is not None and (label := _MD_LABEL.match(line)):
            current[label["label"]] = label["value"].strip()
    shapes: dict[str, Shape] = {}
    for instance_type, values in labels.items():
        try:
            shapes[instance_type] = Shape(
                vcpu=int(values["karpenter.k8s.aws/instance-cpu"]),
                memory_mib=int(values["karpenter.k8s.aws/instance-memory"]),
                architecture=_ARCHITECTURES[values["kubernetes.io/arch"]],
            )
        except (KeyError, ValueError):
            continue  # a type without the three labels (or an unknown arch) has no usable shape
    if not shapes:
        raise SourceFormatError("no instance type with cpu, memory and arch labels found")
    return shapes


def parse_skypilot_vms(text: str) -> dict[str, dict[str, float]]:
    """Region -> instance type -> USD per hour from SkyPilot's AWS vms.csv (one row per zone).

    Zones of a region must agree on the on-demand price; a disagreement means the file is not what the
    parser expects, so it raises rather than picking one.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = {"InstanceType", "Price", "Region"} - set(reader.fieldnames or ())
    if missing:
        raise SourceFormatError(f"SkyPilot vms.csv lacks columns {sorted(missing)}")
    prices: dict[str, dict[str, float]] = {}
    for row in reader:
        if not row["Price"]:
            continue
        region, instance_type, price = row["Region"], row["InstanceType"], float(row["Price"])
        seen = prices.setdefault(region, {}).setdefault(instance_type, price)
        if seen != price:
            raise SourceFormatError(f"{instance_type} in {region}: zones disagree ({seen} vs {price})")
    return prices


def not_offered_families(prices: Mapping[str, Mapping[str, float]]) -> dict[str, list[str]]:
    """Region -> wanted families the table has rows for elsewhere but none in that region, from a table read
    from a file that lists a type only where it is offered (the SkyPilot vms.csv layout).

    Only regions with at least one row are judged (a region the file leaves out proves nothing), and only
    families with a row somewhere (a family the input omits is unknown, not unoffered).
    """
    present = {region: {name.partition(".")[0] for name in table} for region, table in prices.items() if table}
    families = {family for found in present.values() for family in found if family in FAMILIES}
    return {
        region: sorted(families - found, key=FAMILIES.index) for region, found in present.items() if families - found
    }


# Location names of the AWS pricing-page JSON, for the regions this catalog covers
_AWS_LOCATIONS = {
    "US East (N. Virginia)": "us-east-1",
    "US East (Ohio)": "us-east-2",
    "US West (N. California)": "us-west-1",
    "US West (Oregon)": "us-west-2",
    "Canada (Central)": "ca-central-1",
    "South America (Sao Paulo)": "sa-east-1",
    "EU (Ireland)": "eu-west-1",
    "EU (London)": "eu-west-2",
    "EU (Frankfurt)": "eu-central-1",
    "Asia Pacific (Mumbai)": "ap-south-1",
    "Asia Pacific (Tokyo)": "ap-northeast-1",
    "Asia Pacific (Seoul)": "ap-northeast-2",
    "Asia Pacific (Singapore)": "ap-southeast-1",
    "Asia Pacific (Sydney)": "ap-southeast-2",
}


def _pricing_page_document(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise SourceFormatError(f"not JSON: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("regions"), dict):
        raise SourceFormatError("no 'regions' map found in the pricing-page JSON")
    return document


def parse_ec2_pricing_page(text: str) -> dict[str, dict[str, float]]:
    """Region -> instance type -> USD per hour from one ec2.shop data/ec2/<region>-ondemand.json.

    The file is AWS's pricing-page JSON: {"manifest": ..., "regions": {location: {name: entry}}}, each
    entry with "Instance Type", "price" and "Operating System". Only Linux entries without pre-installed
    software are read; two entries of a type with different prices raise rather than picking one.
    """
    prices: dict[str, dict[str, float]] = {}
    for location, entries in _pricing_page_document(text)["regions"].items():
        region = _AWS_LOCATIONS.get(location)
        if region is None:
            raise SourceFormatError(f"unknown location {location!r}")
        if not isinstance(entries, dict):
            raise SourceFormatError(f"{location}: entries are not a map")
        table = prices.setdefault(region, {})
        for entry in entries.values():
            try:
                instance_type, price = entry["Instance Type"], float(entry["price"])
                linux = entry["Operating System"] == "Linux" and entry.get("Pre Installed S/W", "NA") == "NA"
            except (KeyError, TypeError, ValueError) as error:
                raise SourceFormatError(f"{location}: entry without type, price or OS ({error})") from error
            if not linux:
                continue
            seen = table.setdefault(instance_type, price)
            if seen != price:
                raise SourceFormatError(f"{instance_type} in {region}: entries disagree ({seen} vs {price})")
    if not any(prices.values()):
        raise SourceFormatError("no priced entry found in the pricing-page JSON")
    return prices


def ec2_pricing_page_published_on(text: str) -> str:
    """The day of the manifest's "hawkFilePublicationDate", or "" when absent."""
    manifest = _pricing_page_document(text).get("manifest") or {}
    stamp = manifest.get("hawkFilePublicationDate", "") if isinstance(manifest, dict) else ""
    return stamp[:10] if re.fullmatch(r"\d{4}-\d{2}-\d{2}T.*", stamp or "") else ""


_JS_REGION = re.compile(
    r'"region":\s*"(?P<region>[a-z0-9-]+)".*?"FARGATE":\s*\{\s*"cpu":\s*(?P<cpu>[\d.]+),\s*"ram":\s*(?P<ram>[\d.]+)'
    r'\s*\},\s*"FARGATE_SPOT":\s*\{\s*"cpu":\s*(?P<spot_cpu>[\d.]+),\s*"ram":\s*(?P<spot_ram>[\d.]+)',
    re.DOTALL,
)
_JS_VERIFIED = re.compile(r"verified (?P<day>\d{4}-\d{2}-\d{2})")


def parse_fgcalc_data(text: str) -> dict[str, dict[str, tuple[float, float]]]:
    """Region -> {"fargate" | "fargate_spot": (vCPU-hour, GB-hour)} from fgcalc's src/utils/data.js."""
    rates: dict[str, dict[str, tuple[float, float]]] = {}
    for match in _JS_REGION.finditer(text):
        rates[match["region"]] = {
            "fargate": (float(match["cpu"]), float(match["ram"])),
            "fargate_spot": (float(match["spot_cpu"]), float(match["spot_ram"])),
        }
    if not rates:
        raise SourceFormatError("no region with FARGATE and FARGATE_SPOT rates found")
    return rates


def fgcalc_verified_on(text: str) -> str:
    """The date of the file's "verified YYYY-MM-DD" header, or "" when absent."""
    match = _JS_VERIFIED.search(text)
    return match["day"] if match else ""


# --------------------------------------------------------------------------- catalog


def wanted_type(instance_type: str) -> bool:
    family, _, size = instance_type.partition(".")
    return family in FAMILIES and size in SIZES


def _rates(vcpu: float, gb: float) -> dict[str, float]:
    return {"vcpu_hour_usd": vcpu, "gb_hour_usd": gb}


def build_catalog(
    *,
    karpenter_prices: Mapping[str, Mapping[str, float]],
    shapes: Mapping[str, Shape],
    fargate_x86: Mapping[str, Mapping[str, tuple[float, float]]],
    skypilot_prices: Mapping[str, Mapping[str, float]] | None = None,
    pricing_page_prices: Mapping[str, Mapping[str, float]] | None = None,
    anycloud_prices: Mapping[str, Mapping[str, float]] | None = None,
    source_dates: Mapping[str, str] | None = None,
    regions: Iterable[str] = REGIONS,
) -> dict[str, Any]:
    """The catalog as a JSON-ready dict: every cell copied from one named source, none derived."""
    sources = {key: dict(value) for key, value in SOURCES.items()}
    for key, day in (source_dates or {}).items():
        if day:
            sources[key]["date"] = day
    used: set[str] = {ECS_PRICING_PAGE, KARPENTER_TYPES}
    region_entries: dict[str, dict[str, Any]] = {}
    priced_types: set[str] = set()
    unoffered = not_offered_families(anycloud_prices or {})
    for region in regions:
        entry: dict[str, Any] = {"fargate": {}, "fargate_spot": {}, "ec2_on_demand": {}}
        cells: dict[str, str] = {}
        if region in fargate_x86:
            for kind in ("fargate", "fargate_spot"):
                entry[kind]["x86_64"] = _rates(*fargate_x86[region][kind])
                cells[f"{kind}.x86_64"] = FGCALC
            used.add(FGCALC)
        for cell in TRANSCRIBED_FARGATE:
            if cell.region == region:
                entry[cell.kind][cell.architecture] = _rates(cell.vcpu_hour_usd, cell.gb_hour_usd)
                cells[f"{cell.kind}.{cell.architecture}"] = cell.source
                used.add(cell.source)
        if region in TRANSCRIBED_WINDOWS:
            vcpu, licence, gb, source = TRANSCRIBED_WINDOWS[region]
            entry["fargate_windows"] = {"vcpu_hour_usd": vcpu, "os_license_vcpu_hour_usd": licence, "gb_hour_usd": gb}
            cells["fargate_windows"] = source
            used.add(source)
        if region in TRANSCRIBED_EPHEMERAL:
            rate, source = TRANSCRIBED_EPHEMERAL[region]
            entry["fargate_ephemeral_gb_hour_usd"] = rate
            cells["fargate_ephemeral"] = source
            used.add(source)
        fees = TRANSCRIBED_MANAGED_INSTANCES_FEE.get(region, {})
        if fees:
            entry["managed_instances_fee"] = {name: fee for name, (fee, _) in sorted(fees.items())}
            cells["managed_instances_fee"] = next(iter(fees.values()))[1]
            used.update(source for _, source in fees.values())
        ec2, origins = _ec2_prices(
            region,
            (
                (KARPENTER, karpenter_prices),
                (EC2SHOP, pricing_page_prices),
                (SKYPILOT, skypilot_prices),
                (ANYCLOUD, anycloud_prices),
            ),
            shapes,
        )
        if ec2:
            order = sorted(ec2, key=_type_order)
            entry["ec2_on_demand"] = {name: ec2[name] for name in order}
            # the source of most cells names the part; a type another source filled in is named on its own
            main = max(set(origins.values()), key=lambda source: (list(origins.values()).count(source), source))
            cells["ec2_on_demand"] = main
            cells.update({f"ec2_on_demand.{name}": origins[name] for name in order if origins[name] != main})
            used.update(origins.values())
            priced_types |= set(ec2)
        # a family another source prices here is offered, whatever the anycloud rows say (see conflicts())
        priced_families = {name.partition(".")[0] for name in ec2}
        not_offered = [family for family in unoffered.get(region, []) if family not in priced_families]
        if not_offered:
            entry["ec2_not_offered"] = not_offered
            cells["ec2_not_offered"] = ANYCLOUD
            used.add(ANYCLOUD)
        entry["cell_sources"] = cells
        region_entries[region] = entry
    if skypilot_prices:
        families = sorted(
            {name.partition(".")[0] for prices in skypilot_prices.values() for name in prices if wanted_type(name)}
        )
        sources[SKYPILOT]["covers"] += f"; families present in the input used: {', '.join(families)}"
    shipped_sources = [{"id": key, **sources[key]} for key in SOURCES if key in used]
    dated = [source["date"] for source in shipped_sources if source["date"]]
    return {
        "as_of": min(dated),
        "currency": "USD",
        "source_note": _source_note(),
        "ecs_anywhere_instance_hour_usd": ECS_ANYWHERE_INSTANCE_HOUR_USD,
        "ecs_anywhere_note": ECS_ANYWHERE_NOTE,
        "instance_types": {
            name: {
                "vcpu": shapes[name].vcpu,
                "memory_mib": shapes[name].memory_mib,
                "architecture": shapes[name].architecture,
            }
            for name in sorted(priced_types, key=_type_order)
        },
        "regions": region_entries,
        "sources": shipped_sources,
    }


def _ec2_prices(
    region: str,
    ranked: Iterable[tuple[str, Mapping[str, Mapping[str, float]] | None]],
    shapes: Mapping[str, Shape],
) -> tuple[dict[str, float], dict[str, str]]:
    """Wanted, shaped types of the region -> price, and -> source: each from the first source giving it."""
    prices: dict[str, float] = {}
    origins: dict[str, str] = {}
    for source, table in ranked:
        for name, price in ((table or {}).get(region) or {}).items():
            if name not in prices and wanted_type(name) and name in shapes and price > 0:
                prices[name] = price
                origins[name] = source
    return prices, origins


def _type_order(instance_type: str) -> tuple[int, str, int]:
    family, _, size = instance_type.partition(".")
    return (FAMILIES.index(family) if family in FAMILIES else len(FAMILIES), family, SIZES.index(size))


def _source_note() -> str:
    return (
        "Linux list prices in USD per hour, copied by layers/modeshift/scripts/build_price_catalog.py from the "
        "dated public sources in `sources`; `cell_sources` in each region names the source of each part. "
        "No price is derived from another region, size or ratio: a cell no source gave is absent, and modeshift "
        "reports 'price not in catalog' for it unless the Price List API refresh is enabled. Fargate Spot rates "
        "float; each is a dated snapshot. as_of is the date of the oldest dated source used. Instance memory is "
        "nominal; ECS registers less."
    )


def render(catalog: Mapping[str, Any]) -> str:
    """Compact JSON: one line per top-level scalar, instance type, region and source."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    lines = ["{"]
    keys = list(catalog)
    for index, key in enumerate(keys):
        comma = "," if index < len(keys) - 1 else ""
        value = catalog[key]
        if isinstance(value, dict) and value and key in ("instance_types", "regions"):
            lines.append(f"{dump(key)}:{{")
            items = list(value.items())
            lines.extend(
                f"{dump(name)}:{dump(item)}{',' if i < len(items) - 1 else ''}" for i, (name, item) in enumerate(items)
            )
            lines.append(f"}}{comma}")
        elif isinstance(value, list) and value:
            lines.append(f"{dump(key)}:[")
            lines.extend(f"{dump(item)}{',' if i < len(value) - 1 else ''}" for i, item in enumerate(value))
            lines.append(f"]{comma}")
        else:
            lines.append(f"{dump(key)}:{dump(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def validate(catalog: Mapping[str, Any]) -> None:
    """Loads the catalog with modeshift's own model, as load_embedded_catalog() will."""
    sys.path.insert(0, str(LAYER_DIR))
    from modeshift.domain.pricing import EMBEDDED, PriceCatalog

    PriceCatalog.model_validate({**catalog, "source": EMBEDDED})


PRICED, NOT_OFFERED, MISSING = "P", "N", "."


def family_coverage(entry: Mapping[str, Any]) -> dict[str, str]:
    """Family -> P (priced), N (recorded as not offered in the region) or . (missing) for one region."""
    priced = {name.partition(".")[0] for name in entry["ec2_on_demand"]}
    not_offered = set(entry.get("ec2_not_offered", ()))
    return {
        family: PRICED if family in priced else NOT_OFFERED if family in not_offered else MISSING for family in FAMILIES
    }


def coverage_table(catalog: Mapping[str, Any]) -> list[str]:
    """The build report's region x family table (EC2) and region x Fargate-part table, then the totals."""
    width = max(len(region) for region in catalog["regions"])
    lines = [f"{'':{width}} " + " ".join(f"{family:>4}" for family in FAMILIES)]
    counts = dict.fromkeys((PRICED, NOT_OFFERED, MISSING), 0)
    for region, entry in catalog["regions"].items():
        cells = family_coverage(entry)
        for mark in cells.values():
            counts[mark] += 1
        lines.append(f"{region:{width}} " + " ".join(f"{cells[family]:>4}" for family in FAMILIES))
    parts = ("arm64", "arm spot", "windows", "ephemeral", "MI fee")
    lines.append(f"{'':{width}} " + " ".join(f"{part:>9}" for part in parts))
    for region, entry in catalog["regions"].items():
        marks = (
            "arm64" in entry["fargate"],
            "arm64" in entry["fargate_spot"],
            "fargate_windows" in entry,
            "fargate_ephemeral_gb_hour_usd" in entry,
            bool(entry.get("managed_instances_fee")),
        )
        lines.append(f"{region:{width}} " + " ".join(f"{PRICED if mark else MISSING:>9}" for mark in marks))
    lines.append(
        f"EC2 region x family pairs: {counts[PRICED]} priced, {counts[NOT_OFFERED]} not offered, "
        f"{counts[MISSING]} missing (of {sum(counts.values())})"
    )
    return lines


def coverage_gaps(catalog: Mapping[str, Any]) -> list[str]:
    """Region/family pairs (and Fargate cells) the catalog leaves unpriced, for the build report."""
    gaps: list[str] = []
    for region, entry in catalog["regions"].items():
        cells = family_coverage(entry)
        missing = [family for family, mark in cells.items() if mark == MISSING]
        not_offered = [family for family, mark in cells.items() if mark == NOT_OFFERED]
        if missing:
            gaps.append(f"{region}: no price for {', '.join(missing)}")
        if not_offered:
            gaps.append(f"{region}: not offered there: {', '.join(not_offered)}")
        for kind in ("fargate", "fargate_spot"):
            for arch in ("x86_64", "arm64"):
                if arch not in entry[kind]:
                    gaps.append(f"{region}: no {kind} {arch}")
    return gaps


def offered_conflicts(
    unoffered: Mapping[str, Iterable[str]], priced: Mapping[str, Mapping[str, float]], name: str
) -> list[str]:
    """Families a source prices in a region that the anycloud rows say the region does not offer."""
    return [
        f"{region} {family}: priced by {name}, no anycloud row"
        for region, families in unoffered.items()
        for family in families
        if any(instance_type.partition(".")[0] == family for instance_type in priced.get(region, {}))
    ]


def cross_check(
    first: Mapping[str, Mapping[str, float]],
    second: Mapping[str, Mapping[str, float]],
    names: tuple[str, str] = ("karpenter", "skypilot"),
) -> list[str]:
    """Wanted types both sources price in the same region, where their prices differ."""
    differences: list[str] = []
    for region, prices in first.items():
        other = second.get(region, {})
        for name in sorted({n for n in set(prices) & set(other) if wanted_type(n)}, key=_type_order):
            if abs(prices[name] - other[name]) > 1e-9:
                differences.append(f"{region} {name}: {names[0]} {prices[name]} vs {names[1]} {other[name]}")
    return differences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--karpenter-prices", type=Path, required=True, help="zz_generated.pricing_aws.go")
    parser.add_argument("--karpenter-instance-types", type=Path, required=True, help="instance-types.md")
    parser.add_argument("--fargate-js", type=Path, required=True, help="fgcalc src/utils/data.js")
    parser.add_argument(
        "--ec2-pricing-json",
        type=Path,
        nargs="+",
        default=[],
        help="ec2.shop data/ec2/<region>-ondemand.json files (AWS pricing-page JSON), one per region",
    )
    parser.add_argument("--skypilot-vms", type=Path, help="SkyPilot catalogs/v8/aws/vms.csv (or rows of it)")
    parser.add_argument(
        "--anycloud-vms", type=Path, help="anycloud-sh/catalog aws/vms.csv (or the rows of the families it fills)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    karpenter_text = args.karpenter_prices.read_text(encoding="utf-8")
    fargate_text = args.fargate_js.read_text(encoding="utf-8")
    karpenter_prices = parse_karpenter_prices(karpenter_text)
    skypilot_prices = parse_skypilot_vms(args.skypilot_vms.read_text(encoding="utf-8")) if args.skypilot_vms else None
    anycloud_prices = parse_skypilot_vms(args.anycloud_vms.read_text(encoding="utf-8")) if args.anycloud_vms else None
    pricing_page_prices: dict[str, dict[str, float]] = {}
    published: list[str] = []
    for path in args.ec2_pricing_json:
        page_text = path.read_text(encoding="utf-8")
        for region, prices in parse_ec2_pricing_page(page_text).items():
            if region in pricing_page_prices:
                raise SourceFormatError(f"{path}: {region} is given by two pricing-page files")
            pricing_page_prices[region] = prices
        published.append(ec2_pricing_page_published_on(page_text))
    catalog = build_catalog(
        karpenter_prices=karpenter_prices,
        shapes=parse_karpenter_instance_types(args.karpenter_instance_types.read_text(encoding="utf-8")),
        fargate_x86=parse_fgcalc_data(fargate_text),
        skypilot_prices=skypilot_prices,
        pricing_page_prices=pricing_page_prices or None,
        anycloud_prices=anycloud_prices,
        source_dates={
            KARPENTER: karpenter_generated_on(karpenter_text),
            FGCALC: fgcalc_verified_on(fargate_text),
            # the oldest publication among the files, if every file carries one
            EC2SHOP: min(published) if published and all(published) else "",
        },
    )
    validate(catalog)
    text = render(catalog)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text.encode())} bytes, as of {catalog['as_of']})", file=sys.stderr)
    for line in (
        *cross_check(karpenter_prices, skypilot_prices or {}),
        *cross_check(karpenter_prices, pricing_page_prices, ("karpenter", "ec2shop")),
        *cross_check(pricing_page_prices, skypilot_prices or {}, ("ec2shop", "skypilot")),
        *cross_check(karpenter_prices, anycloud_prices or {}, ("karpenter", "anycloud")),
        *cross_check(pricing_page_prices, anycloud_prices or {}, ("ec2shop", "anycloud")),
        *offered_conflicts(not_offered_families(anycloud_prices or {}), karpenter_prices, "karpenter"),
        *offered_conflicts(not_offered_families(anycloud_prices or {}), pricing_page_prices, "ec2shop"),
    ):
        print(f"  sources differ: {line}", file=sys.stderr)
    for gap in coverage_gaps(catalog):
        print(f"  not priced: {gap}", file=sys.stderr)
    for line in coverage_table(catalog):
        print(line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
