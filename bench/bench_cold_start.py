"""Cold start: import time of each handler module in a fresh interpreter, as a ratio to a bare Powertools handler.

Also prints the built layer's unzipped size when `sam build` has run (.aws-sam/build/ModeshiftLayer).
Figures only; the machine is noisy, so each figure is the median of several fresh processes.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7
HANDLERS = {
    name: ROOT / "functions" / name / "app.py"
    for name in (
        "analyze_fleet",
        "ingest_task_events",
        "list_targets",
        "analyze_cluster",
        "merge_sweep",
        "weekly_report",
        "notify_slack",
    )
}
BARE_HANDLER = """
from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="bench")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return {}
"""
# Import one file as a module and print how long that took, in a fresh process.
PROBE = """
import importlib.util, sys, time
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("handler_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
assert callable(module.lambda_handler)
print(time.perf_counter() - t0)
"""


def _median_import_seconds(path: Path) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "layers" / "modeshift"),
        "POWERTOOLS_SERVICE_NAME": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    samples = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", PROBE, str(path)], env=env, check=True, capture_output=True, text=True
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def _layer_size_mb() -> float | None:
    layer = ROOT / ".aws-sam" / "build" / "ModeshiftLayer"
    if not layer.is_dir():
        return None
    return sum(f.stat().st_size for f in layer.rglob("*") if f.is_file()) / 2**20


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(BARE_HANDLER)
        baseline = _median_import_seconds(bare)
    print(f"bare Powertools handler import: {baseline * 1000:.0f} ms (median of {RUNS} fresh processes)")
    for name, path in HANDLERS.items():
        seconds = _median_import_seconds(path)
        print(f"{name:<20} import: {seconds * 1000:.0f} ms  ratio to bare: {seconds / baseline:.2f}x")
    size = _layer_size_mb()
    print("built layer: " + (f"{size:.1f} MB unzipped" if size is not None else "not built (run `sam build`)"))


if __name__ == "__main__":
    main()
