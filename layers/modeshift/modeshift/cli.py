"""The `modeshift` command: `analyze` a real account (read-only) or run the `demo` against a local AWS."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from pydantic import ValidationError

from modeshift import __version__
from modeshift.domain.changes import ChangeOutcome, track_changes
from modeshift.domain.models import ClusterError, Goal, WorkloadVerdict
from modeshift.domain.report import (
    AnalysisReport,
    build_report,
    render_csv,
    render_markdown,
    render_table,
    to_json,
)
from modeshift.domain.weekly import build_weekly, render_html
from modeshift.domain.weekly import render_json as render_weekly_json
from modeshift.errors import ClusterNotFoundError, ConfigurationError, CredentialsError, ModeshiftError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NO_SUCH_CLUSTER = 3

DEMO_REGION = "us-east-1"
DEFAULT_REPORT_DIR = "modeshift-report"
# DescribeServices takes at most 10 services per call
_DESCRIBE_SERVICES_BATCH = 10

EXIT_STATUS_HELP = """exit status:
  0  analysed (some clusters may be listed under errors, e.g. for a missing permission)
  1  nothing could be analysed, or AWS failed
  2  bad arguments, settings, credentials or region
  3  a cluster named with --cluster (or MODESHIFT_CLUSTERS) does not exist; the others are still analysed"""

OUTPUT_HELP = (
    "table (default; fits the terminal, see --wide), json (the full document: the public contract), "
    "csv (one row per workload under the JSON field names; recommended_task_size as "
    "recommended_task_size.cpu_units and .memory_mib columns, current_mix and reasons as JSON text; "
    "evidence, arithmetic and alternatives only in json) or markdown (tables to paste into a ticket or PR)"
)


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse would exit itself; raising keeps one exit path and one message format.
        raise _UsageError(f"{self.prog}: {message}")


def _number(text: str, kind: type[int] | type[float]) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole number' if kind is int else 'number'}") from None


def _percent(text: str) -> float:
    value: float = _number(text, float)
    if not 0 <= value < 100:
        raise argparse.ArgumentTypeError(f"{text} is not a percentage in [0, 100)")
    return value


def _non_negative(text: str) -> float:
    value: float = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must not be negative")
    return value


def _positive_int(text: str) -> int:
    value: int = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _confidence(text: str) -> float:
    value: float = _number(text, float)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a confidence between 0 and 1")
    return value


def _tag(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key, value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="modeshift",
        description=__doc__,
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"modeshift {__version__}")
    # Not required here: `modeshift --bogus` must name the unknown flag, not a missing command (checked in main).
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="{analyze,demo,report}")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--output", choices=("table", "json", "csv", "markdown"), default="table", help=OUTPUT_HELP)
        p.add_argument(
            "--wide",
            action="store_true",
            help="table: every column and whole lines; otherwise the table fits the terminal "
            "(100 columns when stdout is not a terminal; COLUMNS overrides)",
        )
        p.add_argument("--quiet", action="store_true", help="no progress display on stderr")
        p.add_argument(
            "--debug",
            action="store_true",
            help="log every AWS SDK request to stderr (credentials, tokens and signatures redacted, "
            "response bodies left out)",
        )
        p.add_argument(
            "--service",
            action="append",
            default=None,
            metavar="NAME",
            help="show only workloads whose service or task family name matches (repeatable, any matches; "
            "shell globs such as 'web-*'; `service:NAME` and `family:NAME` work too); totals are recomputed "
            "and clusters are shown when they host a shown workload",
        )
        p.add_argument(
            "--min-confidence",
            type=_confidence,
            default=0.0,
            metavar="X",
            help="hide workload and cluster verdicts whose confidence is below X (0-1); totals are recomputed",
        )
        p.add_argument(
            "--confidence-floor",
            type=_confidence,
            default=None,
            metavar="X",
            help="savings of verdicts below this confidence are listed but summed apart as unconfirmed "
            "(default 0.5, or MODESHIFT_CONFIDENCE_FLOOR)",
        )

    analyze = sub.add_parser(
        "analyze",
        help="analyse the account the AWS SDK environment points at (read-only)",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    analyze.add_argument("--profile", help="AWS profile from ~/.aws/config (default: AWS_PROFILE or the default)")
    where = analyze.add_mutually_exclusive_group()
    where.add_argument("--region", help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION / profile)")
    where.add_argument(
        "--regions",
        metavar="R1,R2|all",
        help="several regions, comma-separated, or `all`: every region ECS is enabled in (ec2:DescribeRegions)",
    )
    analyze.add_argument(
        "--accounts",
        metavar="ID1,ID2|organization",
        help="other accounts, read through --role-name: 12-digit ids, comma-separated, or `organization`: every "
        "active account (organizations:ListAccounts, from the management or a delegated-administrator account)",
    )
    analyze.add_argument(
        "--role-name",
        metavar="NAME",
        help="the read-only role each other account trusts you with (stacksets/member-role.yaml)",
    )
    analyze.add_argument("--external-id", metavar="ID", help="the external id that role requires, if any")
    analyze.add_argument(
        "--concurrency",
        type=_positive_int,
        default=None,
        metavar="N",
        help="clusters analysed at once (default 4)",
    )
    analyze.add_argument(
        "--cluster",
        action="append",
        default=None,
        metavar="NAME",
        help="analyse only this cluster (repeatable; default: every cluster); one that does not exist is "
        "reported on stderr and makes the exit status 3",
    )
    analyze.add_argument("--lookback-days", type=_positive_int, default=None, help="days of metrics (default 14)")
    analyze.add_argument(
        "--goal",
        choices=[g.value for g in Goal],
        default=None,
        help="price, overhead or balanced (default balanced)",
    )
    analyze.add_argument(
        "--min-savings-usd",
        type=_non_negative,
        default=None,
        help="below this monthly saving the advice is keep (default 10)",
    )
    analyze.add_argument(
        "--ec2-discount-pct",
        type=_percent,
        default=None,
        help="discount you already get on EC2: Savings Plans, RIs (default 0)",
    )
    analyze.add_argument(
        "--fargate-discount-pct",
        type=_percent,
        default=None,
        help="discount you already get on Fargate: Compute Savings Plans (default 0)",
    )
    analyze.add_argument(
        "--tag",
        action="append",
        default=None,
        type=_tag,
        metavar="KEY=VALUE",
        help="show only services tagged KEY=VALUE (repeatable, all must match; VALUE may be a glob); "
        "task families carry no tags, so never match (reads the tags with ecs:DescribeServices)",
    )
    common(analyze)

    demo = sub.add_parser("demo", help="run the analysis against a local simulated account (no AWS needed)")
    common(demo)
    demo.add_argument(
        "--report-dir",
        default=DEFAULT_REPORT_DIR,
        metavar="DIR",
        help=f"also write the weekly report page here (default {DEFAULT_REPORT_DIR}/)",
    )

    report = sub.add_parser("report", help="render the weekly report page from `analyze --output json` files")
    report.add_argument(
        "input",
        metavar="INPUT.json",
        nargs="+",
        help="this week's `modeshift analyze --output json` document; give earlier ones too (any order, the newest "
        "is this week) to list the mode switches, resizes and scale-ins between them and what each saved",
    )
    report.add_argument("--previous", metavar="PREV.json", help="last week's document, for the week-over-week trend")
    report.add_argument(
        "--output-dir",
        default=DEFAULT_REPORT_DIR,
        metavar="DIR",
        help=f"where to write modeshift-report.html and .json (default {DEFAULT_REPORT_DIR}/)",
    )
    return parser


@dataclass(frozen=True)
class Analysis:
    """What one run found (`report`), what the filters and the confidence floor leave to show (`shown`), and
    the clusters the user named (an unknown one among them is exit status 3)."""

    report: AnalysisReport
    shown: AnalysisReport
    named_clusters: tuple[str, ...] = ()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.error("choose a command: analyze, demo or report (modeshift --help describes each)")
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    if args.command == "report":
        return run_report(args)
    progress = _Progress(sys.stderr, enabled=not args.quiet, rewrite=not args.debug)
    with sdk_debug_log(sys.stderr if args.debug else None):
        try:
            if args.command == "demo":
                report, demo_changes = run_demo(progress)
                # the analysis already applied the default floor (the demo ignores MODESHIFT_* settings)
                floor = report.totals.confidence_floor if args.confidence_floor is None else args.confidence_floor
                analysis = Analysis(report=report, shown=select(report, _criteria(args), {}, floor))
            else:
                analysis = run_analyze(args, progress)
        except (ConfigurationError, CredentialsError) as exc:
            progress.clear()
            print(f"modeshift: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except (NoCredentialsError, PartialCredentialsError, NoRegionError) as exc:
            progress.clear()
            print(f"modeshift: AWS credentials or region problem: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except EndpointConnectionError as exc:
            progress.clear()
            print(f"modeshift: cannot reach AWS: {exc} (check the region and AWS_ENDPOINT_URL)", file=sys.stderr)
            return EXIT_FAILURE
        except (ModeshiftError, ClientError, BotoCoreError) as exc:
            progress.clear()
            print(f"modeshift: {exc}", file=sys.stderr)
            return EXIT_FAILURE
    progress.clear()
    _emit(analysis.shown, args, sys.stdout)
    if args.command == "demo":
        try:
            html_path, _ = write_weekly_report(analysis.shown, None, Path(args.report_dir), demo_changes)
        except OSError as exc:
            print(f"modeshift: cannot write the weekly report: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        print(f"weekly report: {html_path}", file=sys.stderr)
    return _finish(analysis, sys.stderr)


def _finish(analysis: Analysis, stderr: TextIO) -> int:
    """Problems on stderr, whatever the output format; then the exit status they mean."""
    report = analysis.report
    for err in report.errors:
        missing = f" (missing permission: {err.missing_permission})" if err.missing_permission else ""
        qualified = len(report.accounts) > 1 or len(report.regions) > 1
        where = "/".join(p for p in (err.account, err.region, err.cluster) if p) if qualified else err.cluster
        print(f"modeshift: cluster {where} not analysed: {err.error}{missing}", file=stderr)
    for warning in analysis.shown.warnings[len(report.warnings) :]:
        print(f"modeshift: {warning}", file=stderr)
    if report.workloads and not analysis.shown.workloads:
        print("modeshift: no workload matches --service / --tag / --min-confidence", file=stderr)
    if any(cluster_not_found(err) for err in report.errors if err.cluster in analysis.named_clusters):
        return EXIT_NO_SUCH_CLUSTER
    if report.errors and not report.clusters:
        # Nothing could be analysed: scripts must not mistake an empty report for a clean fleet.
        return EXIT_FAILURE
    return EXIT_OK


def cluster_not_found(err: ClusterError) -> bool:
    """Whether the analysis reported this cluster as absent from the account and region (not, e.g., denied)."""
    name = err.cluster.rsplit("/", 1)[-1]  # a cluster named by ARN is looked up by its name
    return err.missing_permission is None and err.error == str(ClusterNotFoundError(name))


def _read_analysis(path: str) -> AnalysisReport:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _UsageError(f"modeshift report: cannot read {path}: {exc}") from exc
    try:
        return AnalysisReport.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        raise _UsageError(
            f"modeshift report: {path} is not a `modeshift analyze --output json` document "
            f"({exc.error_count()} problem(s); first: {where}: {first['msg']})"
        ) from exc


def write_weekly_report(
    current: AnalysisReport,
    previous: AnalysisReport | None,
    out_dir: Path,
    changes: Sequence[ChangeOutcome] = (),
) -> tuple[Path, Path]:
    """Write modeshift-report.html and modeshift-report.json into out_dir; return both paths."""
    weekly = build_weekly(current, previous, changes)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / "modeshift-report.html"
    json_path = out_dir / "modeshift-report.json"
    html_path.write_text(render_html(weekly), encoding="utf-8")
    json_path.write_text(render_weekly_json(weekly) + "\n", encoding="utf-8")
    return html_path, json_path


def run_report(args: argparse.Namespace) -> int:
    """`modeshift report`: local files in, the weekly page and its JSON out; a bad input file is exit 2."""
    try:
        documents = sorted((_read_analysis(path) for path in args.input), key=lambda d: d.generated_at)
        previous = _read_analysis(args.previous) if args.previous else None
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    current = documents[-1]
    if previous is None and len(documents) > 1:
        previous = documents[-2]  # the trend compares this week with the document before it
    history = documents if previous is None or previous in documents else [previous, *documents]
    changes = track_changes(history) if len(history) > 1 else ()
    try:
        paths = write_weekly_report(current, previous, Path(args.output_dir), changes)
    except OSError as exc:
        print(f"modeshift report: cannot write to {args.output_dir}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    for path in paths:
        print(path)
    return EXIT_OK


def run_analyze(args: argparse.Namespace, progress: _Progress) -> Analysis:
    from modeshift.aws import AwsClients
    from modeshift.config import settings_from_env
    from modeshift.fleet import resolve_scopes
    from modeshift.service import analyze_scopes

    regions = getattr(args, "regions", None)
    settings = settings_from_env().merged(
        region=args.region,
        regions=regions,
        accounts=getattr(args, "accounts", None),
        member_role_name=getattr(args, "role_name", None),
        external_id=getattr(args, "external_id", None),
        concurrency=getattr(args, "concurrency", None),
        clusters=tuple(args.cluster) if args.cluster else None,
        lookback_days=args.lookback_days,
        goal=args.goal,
        min_savings_usd=args.min_savings_usd,
        ec2_discount_pct=args.ec2_discount_pct,
        fargate_discount_pct=args.fargate_discount_pct,
        confidence_floor=args.confidence_floor,
    )
    home_region = settings.region
    if home_region is None and settings.regions and settings.regions != ("all",):
        home_region = settings.regions[0]  # --regions without a default region: STS and Organizations answer anywhere
    clients = AwsClients(region=home_region, session=_session(args.profile, home_region))
    clients.check_credentials()
    clients.on_retry = progress
    scopes, errors = resolve_scopes(settings, clients, progress)
    report = analyze_scopes(settings, scopes, datetime.now(UTC), progress, errors=errors)
    warnings: list[str] = []
    tags = _service_tags(scopes, report, progress, warnings) if args.tag else {}
    shown = select(report, _criteria(args), tags, settings.confidence_floor, warnings)
    return Analysis(report=report, shown=shown, named_clusters=settings.clusters)


def _session(profile: str | None, region: str | None) -> Any:
    """The boto3 session for --profile; None lets AwsClients build the default one (AWS_PROFILE applies)."""
    if profile is None:
        return None
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.session.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise CredentialsError(
            f"AWS profile {profile!r} is not in the AWS config or credentials file (aws configure list-profiles)"
        ) from None


def tag_key(verdict: WorkloadVerdict) -> tuple[str, str | None]:
    """Where a service's tags are filed: its cluster, qualified by account and region when the verdict names them
    (two accounts' `prod/web` are two services)."""
    where = "/".join(part for part in (verdict.account, verdict.region, verdict.cluster) if part)
    return where, verdict.service


def _service_tags(
    scopes: Sequence[Any], report: AnalysisReport, progress: _Progress, warnings: list[str]
) -> dict[tuple[str, str | None], dict[str, str]]:
    """Tags of every analysed service, for --tag, read in its own account and region: the analysis document does
    not carry them."""
    from modeshift.adapters.aws_errors import translated

    clients_of = {(scope.account, scope.region): scope.clients for scope in scopes}
    by_cluster: dict[tuple[str | None, str | None, str], list[str]] = {}
    for w in report.workloads:
        if w.service is not None:
            by_cluster.setdefault((w.account, w.region, w.cluster), []).append(w.service)
    tags: dict[tuple[str, str | None], dict[str, str]] = {}
    for position, ((account, region, cluster), services) in enumerate(sorted(by_cluster.items(), key=str), start=1):
        where = "/".join(part for part in (account, region, cluster) if part)
        progress(f"reading service tags for --tag: cluster {position}/{len(by_cluster)}: {where}")
        try:
            ecs = clients_of[(account, region)].client("ecs")
            for start in range(0, len(services), _DESCRIBE_SERVICES_BATCH):
                batch = services[start : start + _DESCRIBE_SERVICES_BATCH]
                with translated("DescribeServices", "ecs:DescribeServices"):
                    response = ecs.describe_services(cluster=cluster, services=batch, include=["TAGS"])
                for raw in response.get("services", []):
                    tags[(where, raw["serviceName"])] = {
                        t["key"]: t.get("value", "") for t in raw.get("tags", []) if "key" in t
                    }
        except ModeshiftError as exc:
            warnings.append(f"cannot read service tags in cluster {where} ({exc}): its services never match --tag")
    return tags


def _criteria(args: argparse.Namespace) -> Criteria:
    return Criteria(
        services=tuple(args.service or ()),
        tags=tuple(getattr(args, "tag", None) or ()),
        min_confidence=args.min_confidence,
    )


def run_demo(progress: _Progress) -> tuple[AnalysisReport, tuple[ChangeOutcome, ...]]:
    """Start a local AWS, seed the demo fleet, and run the very same analyze path against it; with the
    demo's one change (a service moved to Fargate halfway) measured from the analysis before it."""
    from modeshift.demo import change
    from modeshift.demo.fleet import seed_demo_fleet
    from modeshift.demo.local_aws import LocalAws, require_demo_extra

    require_demo_extra()  # before any progress line: without the extra, one line says how to add it
    now = datetime.now(UTC)
    progress("starting the local AWS (moto server on 127.0.0.1)")
    with LocalAws() as local, _demo_environment(local.endpoint_url):
        import boto3

        session = boto3.session.Session(region_name=DEMO_REGION)
        seed_demo_fleet(session, DEMO_REGION, now, progress=progress)
        progress("analysing the week before the demo's change, then making it")
        before = change.analyse_before(session, DEMO_REGION, now)
        moved = change.move_to_fargate(session, DEMO_REGION, now)
        args = build_parser().parse_args(["analyze", "--region", DEMO_REGION])
        report = run_analyze(args, progress).report
        return report, track_changes([before, report], [moved])


@contextlib.contextmanager
def _demo_environment(endpoint_url: str) -> Iterator[None]:
    # The demo must never touch a real account: point the SDK at the local server with dummy keys,
    # and drop any profile or MODESHIFT_* setting that could change the demo's answer.
    overrides = {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "modeshift-demo",
        "AWS_SECRET_ACCESS_KEY": "modeshift-demo",
        "AWS_DEFAULT_REGION": DEMO_REGION,
        "AWS_REGION": DEMO_REGION,
    }
    removed = [k for k in os.environ if k.startswith("MODESHIFT_") or k in ("AWS_PROFILE", "AWS_SESSION_TOKEN")]
    saved = {k: os.environ.get(k) for k in [*overrides, *removed]}
    try:
        for key in removed:
            os.environ.pop(key, None)
        os.environ.update(overrides)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Criteria:
    """--service globs (any matches), --tag pairs (all must match), --min-confidence."""

    services: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    min_confidence: float = 0.0


def _names(verdict: WorkloadVerdict) -> tuple[str, ...]:
    return (
        (verdict.workload, verdict.service) if verdict.service is not None else (verdict.workload, verdict.task_family)
    )


def wanted(
    verdict: WorkloadVerdict, criteria: Criteria, tags: Mapping[tuple[str, str | None], Mapping[str, str]]
) -> bool:
    """Whether a workload verdict passes every criterion: a name glob, every tag, the minimum confidence."""
    if verdict.confidence < criteria.min_confidence:
        return False
    if criteria.services and not any(fnmatchcase(n, p) for n in _names(verdict) for p in criteria.services):
        return False
    if criteria.tags:
        own = tags.get(tag_key(verdict)) if verdict.service is not None else None
        if own is None or not all(key in own and fnmatchcase(own[key], value) for key, value in criteria.tags):
            return False
    return True


def select(
    report: AnalysisReport,
    criteria: Criteria,
    tags: Mapping[tuple[str, str | None], Mapping[str, str]],
    confidence_floor: float,
    warnings: Sequence[str] = (),
) -> AnalysisReport:
    """The report as shown: only the wanted workloads (and, under a name or tag filter, only the clusters that
    host one), every cluster verdict under --min-confidence hidden, totals recomputed over what is shown."""
    if criteria == Criteria() and confidence_floor == report.totals.confidence_floor and not warnings:
        return report  # nothing to change: the document exactly as the analysis wrote it
    workloads = [w for w in report.workloads if wanted(w, criteria, tags)]
    hosts = {w.cluster for w in workloads}
    clusters = [
        c
        for c in report.clusters
        if c.confidence >= criteria.min_confidence and (not (criteria.services or criteria.tags) or c.cluster in hosts)
    ]
    return build_report(
        generated_at=report.generated_at,
        region=report.region,
        lookback_days=report.lookback_days,
        goal=report.goal,
        pricing=report.pricing,
        workloads=workloads,
        clusters=clusters,
        errors=report.errors,
        warnings=[*report.warnings, *warnings],
        confidence_floor=confidence_floor,
    )


# --------------------------------------------------------------------------- output


def terminal_width() -> int:
    """The terminal's columns (COLUMNS when set); 100 when stdout is not a terminal."""
    return shutil.get_terminal_size(fallback=(100, 24)).columns


def _emit(report: AnalysisReport, args: argparse.Namespace, stream: TextIO) -> None:
    if args.output == "json":
        text = to_json(report)
    elif args.output == "csv":
        text = render_csv(report)
    elif args.output == "markdown":
        text = render_markdown(report)
    else:
        text = render_table(report, None if args.wide else terminal_width())
    stream.write(text)
    stream.write("\n")


class _Progress:
    """One status line on stderr, rewritten in place on a terminal, plain lines otherwise (and under --debug)."""

    def __init__(self, stream: TextIO, enabled: bool = True, rewrite: bool = True) -> None:
        self._stream = stream
        self._enabled = enabled
        self._tty = enabled and rewrite and stream.isatty()
        self._width = 0

    def __call__(self, message: str) -> None:
        if not self._enabled:
            return
        if self._tty:
            text = message[:100]
            self._stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            self._stream.write(message + "\n")
        self._stream.flush()

    def clear(self) -> None:
        if self._tty and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0


# --------------------------------------------------------------------------- --debug

_SECRET_NAME = r"[\w.-]*(?:secret|token|password|credential|authorization|signature|assertion|access_?key_?id)[\w.-]*"
_REDACTED = "<redacted>"
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    # 'Authorization': b'AWS4-HMAC-SHA256 Credential=…', "SessionToken": "…" (dict reprs, JSON)
    (
        re.compile(rf"""(['"])({_SECRET_NAME})\1(\s*[:=]\s*)b?(['"])(?:\\.|(?!\4).)*\4""", re.I),
        rf"\1\2\1\3'{_REDACTED}'",
    ),
    # <SecretAccessKey>…</SecretAccessKey> (STS and other XML answers)
    (re.compile(rf"<({_SECRET_NAME})>[^<]*</\1>", re.I), rf"<\1>{_REDACTED}</\1>"),
    # the signature botocore.auth logs on the line after "Signature:"
    (re.compile(r"(Signature:\s*)[0-9a-f]{64}", re.I), rf"\1{_REDACTED}"),
    # x-amz-security-token:… (a header line of the canonical request SigV4 logs)
    (re.compile(rf"^({_SECRET_NAME}):.+$", re.I | re.M), rf"\1:{_REDACTED}"),
    # X-Amz-Signature=…&, Credential=AKIA…/…, WebIdentityToken=… (query strings, form bodies, auth headers)
    (re.compile(rf"\b({_SECRET_NAME})=[^&\s'\",]+", re.I), rf"\1={_REDACTED}"),
    # access key ids wherever they appear
    (re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}\b"), _REDACTED),
)


def redact(text: str) -> str:
    """The text with credentials, session tokens, signatures and access key ids replaced by <redacted>."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites each record before any handler formats it; response bodies are dropped, not redacted,
    because they can carry STS credentials or the environment values of task definitions."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.name == "botocore.parsers" and message.startswith("Response body"):
            message = "Response body: (not logged: it can carry credentials or task-definition environment values)"
        record.msg, record.args = redact(message), None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


@contextlib.contextmanager
def sdk_debug_log(stream: TextIO | None) -> Iterator[None]:
    """Under --debug, botocore's (and urllib3's) DEBUG log to `stream`, through RedactSecrets, and nowhere else."""
    if stream is None:
        yield
        return
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    levels = {"botocore": logging.DEBUG, "urllib3": logging.DEBUG, "botocore.hooks": logging.INFO}
    loggers = {name: logging.getLogger(name) for name in levels}
    saved = {name: (lg.level, lg.propagate) for name, lg in loggers.items()}
    for name, lg in loggers.items():
        lg.setLevel(levels[name])
    for name in ("botocore", "urllib3"):
        # nothing unredacted may reach the root logger's handlers
        loggers[name].propagate = False
        loggers[name].addHandler(handler)
    try:
        yield
    finally:
        for name in ("botocore", "urllib3"):
            loggers[name].removeHandler(handler)
        for name, (level, propagate) in saved.items():
            loggers[name].setLevel(level)
            loggers[name].propagate = propagate


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
