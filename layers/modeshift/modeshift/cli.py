"""The `modeshift` command: `analyze` a real account (read-only) or run the `demo` against a local AWS."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

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
from modeshift.domain.models import Goal
from modeshift.domain.report import AnalysisReport, render_table, to_json
from modeshift.domain.weekly import build_weekly, render_html
from modeshift.domain.weekly import render_json as render_weekly_json
from modeshift.errors import ConfigurationError, CredentialsError, ModeshiftError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

DEMO_REGION = "us-east-1"
DEFAULT_REPORT_DIR = "modeshift-report"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse would exit itself; raising keeps one exit path and one message format.
        raise _UsageError(f"{self.prog}: {message}")


def _percent(text: str) -> float:
    value = float(text)
    if not 0 <= value < 100:
        raise argparse.ArgumentTypeError(f"{text} is not a percentage in [0, 100)")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must not be negative")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="modeshift", description=__doc__)
    parser.add_argument("--version", action="version", version=f"modeshift {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--output", choices=("table", "json"), default="table", help="table (default) or json")
        p.add_argument("--quiet", action="store_true", help="no progress display on stderr")

    analyze = sub.add_parser("analyze", help="analyse the account the AWS SDK environment points at (read-only)")
    analyze.add_argument("--region", help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION / profile)")
    analyze.add_argument(
        "--cluster",
        action="append",
        default=None,
        metavar="NAME",
        help="analyse only this cluster (repeatable; default: every cluster)",
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
    report.add_argument("input", metavar="INPUT.json", help="this week's `modeshift analyze --output json` document")
    report.add_argument("--previous", metavar="PREV.json", help="last week's document, for the week-over-week trend")
    report.add_argument(
        "--output-dir",
        default=DEFAULT_REPORT_DIR,
        metavar="DIR",
        help=f"where to write modeshift-report.html and .json (default {DEFAULT_REPORT_DIR}/)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    if args.command == "report":
        return run_report(args)
    progress = _Progress(sys.stderr, enabled=not args.quiet)
    try:
        report = run_demo(progress) if args.command == "demo" else run_analyze(args, progress)
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
    _emit(report, args.output, sys.stdout)
    if args.command == "demo":
        try:
            html_path, _ = write_weekly_report(report, None, Path(args.report_dir))
        except OSError as exc:
            print(f"modeshift: cannot write the weekly report: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        print(f"weekly report: {html_path}", file=sys.stderr)
    if report.errors and not report.clusters:
        # Nothing could be analysed: scripts must not mistake an empty report for a clean fleet.
        return EXIT_FAILURE
    return EXIT_OK


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


def write_weekly_report(current: AnalysisReport, previous: AnalysisReport | None, out_dir: Path) -> tuple[Path, Path]:
    """Write modeshift-report.html and modeshift-report.json into out_dir; return both paths."""
    weekly = build_weekly(current, previous)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / "modeshift-report.html"
    json_path = out_dir / "modeshift-report.json"
    html_path.write_text(render_html(weekly), encoding="utf-8")
    json_path.write_text(render_weekly_json(weekly) + "\n", encoding="utf-8")
    return html_path, json_path


def run_report(args: argparse.Namespace) -> int:
    """`modeshift report`: local files in, the weekly page and its JSON out; a bad input file is exit 2."""
    try:
        current = _read_analysis(args.input)
        previous = _read_analysis(args.previous) if args.previous else None
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    try:
        paths = write_weekly_report(current, previous, Path(args.output_dir))
    except OSError as exc:
        print(f"modeshift report: cannot write to {args.output_dir}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    for path in paths:
        print(path)
    return EXIT_OK


def run_analyze(args: argparse.Namespace, progress: _Progress) -> AnalysisReport:
    from modeshift.aws import AwsClients
    from modeshift.config import settings_from_env
    from modeshift.service import analyze

    settings = settings_from_env().merged(
        region=args.region,
        clusters=tuple(args.cluster) if args.cluster else None,
        lookback_days=args.lookback_days,
        goal=args.goal,
        min_savings_usd=args.min_savings_usd,
        ec2_discount_pct=args.ec2_discount_pct,
        fargate_discount_pct=args.fargate_discount_pct,
    )
    clients = AwsClients(region=settings.region)
    return analyze(settings, clients, datetime.now(UTC), progress)


def run_demo(progress: _Progress) -> AnalysisReport:
    """Start a local AWS, seed the demo fleet, and run the very same analyze path against it."""
    from modeshift.demo.fleet import seed_demo_fleet
    from modeshift.demo.local_aws import LocalAws

    now = datetime.now(UTC)
    progress("starting the local AWS (moto server on 127.0.0.1)")
    with LocalAws() as local, _demo_environment(local.endpoint_url):
        progress("seeding the demo fleet with 14 days of metrics")
        import boto3

        seed_demo_fleet(boto3.session.Session(region_name=DEMO_REGION), DEMO_REGION, now)
        args = build_parser().parse_args(["analyze", "--region", DEMO_REGION])
        return run_analyze(args, progress)


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


def _emit(report: AnalysisReport, output: str, stream: TextIO) -> None:
    stream.write(to_json(report) if output == "json" else render_table(report))
    stream.write("\n")


class _Progress:
    """One status line on stderr, rewritten in place on a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO, enabled: bool = True) -> None:
        self._stream = stream
        self._enabled = enabled
        self._tty = enabled and stream.isatty()
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


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
