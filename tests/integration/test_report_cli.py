"""`modeshift report` and the demo's weekly page: analysis JSON files in, the page and its JSON out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modeshift import cli
from modeshift.cli import EXIT_OK, EXIT_USAGE, main, write_weekly_report
from modeshift.domain.report import AnalysisReport

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "analysis-demo.json"


def _previous_week(tmp_path: Path) -> Path:
    document = json.loads(FIXTURE.read_text())
    document["generated_at"] = "2026-11-22T06:00:00Z"
    document["totals"]["monthly_savings_usd"] = 1000.0
    path = tmp_path / "previous.json"
    path.write_text(json.dumps(document))
    return path


def test_report_writes_the_page_and_json_when_given_an_analysis_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["report", str(FIXTURE), "--previous", str(_previous_week(tmp_path)), "--output-dir", str(out)])

    printed = capsys.readouterr().out.split()
    assert code == EXIT_OK
    assert printed == [str(out / "modeshift-report.html"), str(out / "modeshift-report.json")]
    page = (out / "modeshift-report.html").read_text()
    document = json.loads((out / "modeshift-report.json").read_text())
    assert "modeshift weekly report" in page
    assert "Compared with the report of 2026-11-22" in page
    assert document["trend"]["first_week"] is False
    assert document["totals"]["monthly_savings_usd"] == 1721.76
    assert len(document["top_actions"]) == 5


def test_report_defaults_to_the_modeshift_report_directory_when_no_output_dir_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    assert main(["report", str(FIXTURE)]) == EXIT_OK
    assert (tmp_path / "modeshift-report" / "modeshift-report.html").is_file()
    assert json.loads((tmp_path / "modeshift-report" / "modeshift-report.json").read_text())["trend"]["first_week"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "is not a `modeshift analyze --output json` document"),
        ('{"region": "us-east-1"}', "generated_at"),
        ("[]", "is not a `modeshift analyze --output json` document"),
    ],
)
def test_report_exits_2_with_a_clear_message_when_the_input_is_not_an_analysis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)

    code = main(["report", str(bad), "--output-dir", str(tmp_path / "out")])

    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert str(bad) in err and expected in err
    assert not (tmp_path / "out").exists()


def test_report_exits_2_when_the_previous_file_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", str(FIXTURE), "--previous", str(tmp_path / "nope.json")])

    assert code == EXIT_USAGE
    assert "cannot read" in capsys.readouterr().err


def test_demo_writes_the_weekly_page_on_stderr_and_keeps_stdout_the_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The real demo takes ~30 s and is covered by test_cli_analyze; here its analysis is the fixture document.
    analysis = AnalysisReport.model_validate_json(FIXTURE.read_text())
    monkeypatch.setattr(cli, "run_demo", lambda progress: (analysis, ()))

    code = main(["demo", "--output", "json", "--quiet", "--report-dir", str(tmp_path / "weekly")])

    captured = capsys.readouterr()
    page = tmp_path / "weekly" / "modeshift-report.html"
    assert code == EXIT_OK
    assert AnalysisReport.model_validate_json(captured.out) == analysis
    assert f"weekly report: {page}" in captured.err
    assert page.is_file() and (tmp_path / "weekly" / "modeshift-report.json").is_file()


def test_write_weekly_report_creates_nested_directories_when_missing(tmp_path: Path) -> None:
    analysis = AnalysisReport.model_validate_json(FIXTURE.read_text())

    html_path, json_path = write_weekly_report(analysis, None, tmp_path / "a" / "b")

    assert html_path.read_text().startswith("<!DOCTYPE html>")
    assert json.loads(json_path.read_text())["schema_version"] == "2.0"


def _moved_to_fargate(document: dict, generated_at: str, cost_usd: float) -> dict:
    """The fixture's week with service:web already moved from EC2 to Fargate (kept there, no saving left)."""
    moved = json.loads(json.dumps(document))
    moved["generated_at"] = generated_at
    web = next(w for w in moved["workloads"] if w["workload"] == "service:web")
    web.update(
        current_mode="FARGATE",
        recommended_mode="FARGATE",
        verdict="keep",
        current_monthly_cost_usd=cost_usd,
        recommended_monthly_cost_usd=cost_usd,
        monthly_savings_usd=0.0,
    )
    return moved


def test_report_lists_the_switch_and_what_it_saved_when_given_analyses_from_before_and_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(FIXTURE.read_text())
    web_before = next(w for w in document["workloads"] if w["workload"] == "service:web")
    before = dict(document, generated_at="2026-11-16T03:00:00Z")
    paths = []
    for name, doc in (
        ("c.json", _moved_to_fargate(document, "2026-11-30T03:00:00Z", 20.0)),
        ("a.json", before),
        ("b.json", _moved_to_fargate(document, "2026-11-23T03:00:00Z", 20.0)),
    ):
        (tmp_path / name).write_text(json.dumps(doc))
        paths.append(str(tmp_path / name))
    out = tmp_path / "out"

    assert main(["report", *paths, "--output-dir", str(out)]) == EXIT_OK

    weekly = json.loads((out / "modeshift-report.json").read_text())
    (change,) = weekly["changes"]
    assert (change["workload"], change["from_mode"], change["to_mode"], change["source"]) == (
        "service:web",
        "EC2",
        "FARGATE",
        "analysis_diff",
    )
    assert change["promised_monthly_savings_usd"] == web_before["monthly_savings_usd"]
    avg = web_before["evidence"]["features"]["avg_tasks"]
    expected = (web_before["current_monthly_cost_usd"] / (avg * 730) - 20.0 / (avg * 730)) * avg * 730
    assert change["realised_monthly_savings_usd"] == pytest.approx(expected, abs=0.01)
    assert weekly["track_record"]["ratio"] == pytest.approx(expected / web_before["monthly_savings_usd"], abs=0.01)
    assert weekly["trend"]["previous_generated_at"].startswith("2026-11-23")
    assert "Changes and what they saved" in (out / "modeshift-report.html").read_text()
