"""The weekly report page in a real browser: headless Chromium renders it without errors, with sized charts,
on a desktop (1280 px) and on a phone (400 px) without anything running off the side or text shrinking.

Needs Debian's `chromium`; `.ci/install-chromium` installs it (the project's `.ci/run` calls it). The test
fails rather than skips without it, so a missing browser is never mistaken for a passing page. The screenshots
are kept in `artifacts/weekly-report.png` and `artifacts/weekly-report-400px.png` for a person to look at.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from modeshift.domain.report import AnalysisReport
from modeshift.domain.weekly import build_weekly, render_html

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "analysis-demo.json"
ARTIFACTS = ROOT / "artifacts"
CHART_IDS = {"chart-waste", "chart-savings", "chart-utilisation", "chart-trend"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DESKTOP_PX, PHONE_PX = 1280, 400
WINDOW_HEIGHT_PX = 2600
MIN_CHART_TEXT_PX = 10  # 13 px by design; a viewBox scaled to a phone made it ~6 px
SCREENSHOTS = {DESKTOP_PX: "weekly-report.png", PHONE_PX: "weekly-report-400px.png"}
# an unbroken name, as an ARN is: the page must wrap it, not scroll sideways
LONG_CLUSTER = "arn:aws:ecs:eu-west-1:123456789012:cluster/" + "a-cluster-name-with-no-space-in-it-" * 3

# Injected into a copy of the page only (the page itself has no script): records uncaught errors, failed
# resource loads and console.error/warn; then measures the layout and hands everything, as JSON, to the frame's
# parent page, whose DOM --dump-dom prints.
_PROBE_HEAD = (
    "<script>window.__problems=[];"
    "addEventListener('error',e=>__problems.push('error: '+(e.message||(e.target&&(e.target.src||e.target.href)))),"
    "true);"
    "for(const level of ['error','warn']){const orig=console[level];"
    "console[level]=(...a)=>{__problems.push(level+': '+a.join(' '));orig.apply(console,a)}}</script>"
)
# charts: each chart's rendered size; scrollWidth against the viewport, and every element reaching past its right
# edge; minFont: the smallest chart text as drawn (font size × the SVG's scale); clipped: chart text drawn
# outside its chart, where the SVG cuts it off.
_PROBE_BODY = (
    "<script>(()=>{const vw=innerWidth,root=document.documentElement,charts={},clipped=[];let minFont=1e9;"
    "document.querySelectorAll('svg').forEach(s=>{const r=s.getBoundingClientRect();"
    "charts[s.id]=Math.round(r.width)+'x'+Math.round(r.height)});"
    "document.querySelectorAll('svg text').forEach(t=>{const m=t.getScreenCTM();"
    "minFont=Math.min(minFont,parseFloat(getComputedStyle(t).fontSize)*(m?Math.hypot(m.a,m.b):1));"
    "const r=t.getBoundingClientRect(),c=t.ownerSVGElement.getBoundingClientRect();"
    "if(r.width>0&&(r.left<c.left-1||r.right>c.right+1))clipped.push(t.textContent)});"
    "const wide=[...document.body.querySelectorAll('*')].filter(e=>e.getBoundingClientRect().right>vw+1)"
    ".map(e=>e.tagName.toLowerCase()+(e.id?'#'+e.id:'')).slice(0,10);"
    "parent.document.body.setAttribute('data-probe',JSON.stringify({problems:__problems,charts:charts,"
    "viewport:vw,clientWidth:root.clientWidth,scrollWidth:root.scrollWidth,minFont:minFont,clipped:clipped,"
    "wide:wide,text:document.body.innerText}))})()</script>"
)


def _framed(page: str, width: int) -> str:
    """The page in a frame exactly `width` px wide. Headless Chromium lays its window out at least 500 px wide
    whatever --window-size says, but a frame is a viewport of its own (media queries, innerWidth) at any width;
    srcdoc keeps it same-origin, so the probe can write to the parent."""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>frame</title></head><body style='margin:0'>"
        f"<iframe title='weekly report' style='border:0;display:block;width:{width}px;height:{WINDOW_HEIGHT_PX}px' "
        f'srcdoc="{html.escape(page, quote=True)}"></iframe></body></html>'
    )


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.fail("chromium is not installed: run .ci/install-chromium (the project's .ci/run does) and retry")
    return path


def _run_chromium(tmp_path: Path, *args: str, width: int = DESKTOP_PX) -> subprocess.CompletedProcess[str]:
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
        f"--window-size={width},{WINDOW_HEIGHT_PX}",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module")
def page_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    this_week = json.loads(FIXTURE.read_text())
    # the nightly family's verdict (confidence 0.47) falls under the floor: its saving shows apart
    this_week["totals"]["unconfirmed_monthly_savings_usd"] = 168.4
    this_week["totals"]["confidence_floor"] = 0.5
    this_week["errors"] = [{"cluster": LONG_CLUSTER, "error": "access denied: the caller lacks ecs:DescribeServices"}]
    current = AnalysisReport.model_validate(this_week)
    document = json.loads(FIXTURE.read_text())
    document["generated_at"] = "2026-11-22T06:00:00Z"
    document["totals"]["monthly_savings_usd"] = 900.0
    document["totals"]["wasted_monthly_cost_usd"] = 1200.0
    previous = AnalysisReport.model_validate(document)
    path = tmp_path_factory.mktemp("weekly") / "modeshift-report.html"
    path.write_text(render_html(build_weekly(current, previous)), encoding="utf-8")
    return path


def _probe(page_path: Path, tmp_path: Path, width: int) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    page = page_path.read_text(encoding="utf-8")
    # The page's Content-Security-Policy forbids scripts (it has none): the probe copy drops it to measure.
    page = re.sub(r"<meta http-equiv='Content-Security-Policy'[^>]*>", "", page, count=1)
    probed = page.replace("<head>", "<head>" + _PROBE_HEAD, 1).replace("</body>", _PROBE_BODY + "</body>", 1)
    probe = page_path.with_name(f"probe-{width}.html")
    probe.write_text(_framed(probed, width), encoding="utf-8")
    result = _run_chromium(tmp_path, "--dump-dom", probe.as_uri(), width=width)
    match = re.search(r'<body[^>]* data-probe="([^"]*)"', result.stdout)
    assert match is not None, f"the probe did not run: {result.stderr[-2000:]}"
    found: dict[str, Any] = json.loads(html.unescape(match.group(1)))
    return found, result


def test_report_page_renders_every_chart_with_a_size_and_no_errors_when_opened_in_chromium(
    page_path: Path, tmp_path: Path
) -> None:
    found, result = _probe(page_path, tmp_path, DESKTOP_PX)

    assert found["problems"] == []
    assert "Uncaught" not in result.stderr
    assert set(found["charts"]) == CHART_IDS
    for chart, size in found["charts"].items():
        width, height = (int(n) for n in size.split("x"))
        assert width > 100 and height > 50, f"{chart} rendered at {size}"
    assert "First week" not in found["text"] and "Compared with the report of 2026-11-22" in found["text"]
    assert "unconfirmed: $168.40/month (confidence below 0.5)" in found["text"]


@pytest.mark.parametrize("width", [DESKTOP_PX, PHONE_PX])
def test_report_page_fits_the_window_with_legible_chart_text_when_it_is_desktop_or_phone_wide(
    page_path: Path, tmp_path: Path, width: int
) -> None:
    found, _ = _probe(page_path, tmp_path, width)

    assert (found["viewport"], found["clientWidth"]) == (width, width)
    assert found["scrollWidth"] <= width, f"the page scrolls sideways at {width} px: {found['wide']}"
    assert found["wide"] == []
    assert found["minFont"] >= MIN_CHART_TEXT_PX, f"chart text drawn at {found['minFont']:.1f} px"
    assert found["clipped"] == []
    assert found["problems"] == []


@pytest.mark.parametrize("width", [DESKTOP_PX, PHONE_PX])
def test_report_page_screenshot_is_saved_as_an_artifact_when_rendered_in_chromium(
    page_path: Path, tmp_path: Path, width: int
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / SCREENSHOTS[width]
    shot.unlink(missing_ok=True)

    framed = page_path.with_name(f"framed-{width}.html")
    framed.write_text(_framed(page_path.read_text(encoding="utf-8"), width), encoding="utf-8")

    result = _run_chromium(tmp_path, f"--screenshot={shot}", framed.as_uri(), width=width)

    assert shot.is_file(), f"no screenshot written: {result.stderr[-2000:]}"
    data = shot.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    shot_width, shot_height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (shot_width, shot_height) == (width, WINDOW_HEIGHT_PX)
    assert len(data) > 50_000  # a blank page compresses to a few KB; charts and text do not
