"""The weekly report page in a real browser: headless Chromium renders it without errors, with sized charts.

Needs Debian's `chromium`; `.ci/install-chromium` installs it (the project's `.ci/run` calls it). The test
fails rather than skips without it, so a missing browser is never mistaken for a passing page. The screenshot
is kept in `artifacts/weekly-report.png` for a person to look at.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from modeshift.domain.report import AnalysisReport
from modeshift.domain.weekly import build_weekly, render_html

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "analysis-demo.json"
ARTIFACTS = ROOT / "artifacts"
CHART_IDS = {"chart-waste", "chart-savings", "chart-utilisation", "chart-trend"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Injected into a copy of the page only (the page itself has no script): records uncaught errors, failed
# resource loads and console.error/warn, then writes each chart's rendered size into a data attribute that
# --dump-dom shows.
_PROBE_HEAD = (
    "<script>window.__problems=[];"
    "addEventListener('error',e=>__problems.push('error: '+(e.message||(e.target&&(e.target.src||e.target.href)))),"
    "true);"
    "for(const level of ['error','warn']){const orig=console[level];"
    "console[level]=(...a)=>{__problems.push(level+': '+a.join(' '));orig.apply(console,a)}}</script>"
)
_PROBE_BODY = (
    "<script>document.querySelectorAll('svg').forEach(s=>{const r=s.getBoundingClientRect();"
    "s.setAttribute('data-rendered',Math.round(r.width)+'x'+Math.round(r.height))});"
    "document.body.setAttribute('data-problems',JSON.stringify(__problems));"
    "document.body.setAttribute('data-probe','done')</script>"
)


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.fail("chromium is not installed: run .ci/install-chromium (the project's .ci/run does) and retry")
    return path


def _run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,2600",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module")
def page_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    current = AnalysisReport.model_validate_json(FIXTURE.read_text())
    document = json.loads(FIXTURE.read_text())
    document["generated_at"] = "2026-11-22T06:00:00Z"
    document["totals"]["monthly_savings_usd"] = 900.0
    document["totals"]["wasted_monthly_cost_usd"] = 1200.0
    previous = AnalysisReport.model_validate(document)
    path = tmp_path_factory.mktemp("weekly") / "modeshift-report.html"
    path.write_text(render_html(build_weekly(current, previous)), encoding="utf-8")
    return path


def test_report_page_renders_every_chart_with_a_size_and_no_errors_when_opened_in_chromium(
    page_path: Path, tmp_path: Path
) -> None:
    page = page_path.read_text(encoding="utf-8")
    probe = page_path.with_name("probe.html")
    probe.write_text(
        page.replace("<head>", "<head>" + _PROBE_HEAD, 1).replace("</body>", _PROBE_BODY + "</body>", 1),
        encoding="utf-8",
    )

    result = _run_chromium(tmp_path, "--dump-dom", probe.as_uri())

    dom = result.stdout
    assert 'data-probe="done"' in dom, f"the probe did not run: {result.stderr[-2000:]}"
    problems = json.loads(re.search(r"data-problems=\"([^\"]*)\"", dom).group(1).replace("&quot;", '"'))  # type: ignore[union-attr]
    assert problems == []
    assert "Uncaught" not in result.stderr
    sizes = dict(re.findall(r'<svg id="([^"]+)"[^>]*data-rendered="(\d+x\d+)"', dom))
    assert set(sizes) == CHART_IDS
    for chart, size in sizes.items():
        width, height = (int(n) for n in size.split("x"))
        assert width > 100 and height > 50, f"{chart} rendered at {size}"
    assert "First week" not in dom and "Compared with the report of 2026-11-22" in dom


def test_report_page_screenshot_is_saved_as_an_artifact_when_rendered_in_chromium(
    page_path: Path, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "weekly-report.png"
    shot.unlink(missing_ok=True)

    result = _run_chromium(tmp_path, f"--screenshot={shot}", page_path.as_uri())

    assert shot.is_file(), f"no screenshot written: {result.stderr[-2000:]}"
    data = shot.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2600)
    assert len(data) > 50_000  # a blank page compresses to a few KB; charts and text do not
