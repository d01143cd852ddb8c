"""What `pip install .` brings: only what `analyze` and `report` need; the demo's local AWS is the `demo` extra."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from modeshift.cli import main
from modeshift.demo import local_aws

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "analysis-demo.json"
# Packages a plain `pip install .` does not bring: the demo's local AWS and the Lambda handlers' toolkit.
OPTIONAL = ("moto", "flask", "werkzeug", "aws_lambda_powertools", "aws_xray_sdk", "yaml")


def _project() -> dict[str, object]:
    project: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project


def test_install_leaves_moto_to_the_demo_extra_when_installed_without_extras() -> None:
    project = _project()
    extras = project["optional-dependencies"]
    assert isinstance(extras, dict)

    core = " ".join(str(d) for d in project["dependencies"])  # type: ignore[attr-defined]
    assert "moto" not in core and "powertools" not in core
    assert any(d.startswith("moto[server]") for d in extras["demo"])
    # .ci/run installs `-e '.[test]'`: the test extra must bring the demo's moto and the handlers' Powertools
    assert any(d.startswith("modeshift[") and "demo" in d and "lambda" in d for d in extras["test"])


def test_analyze_and_report_import_no_optional_package_when_none_is_installed(tmp_path: Path) -> None:
    # A fresh interpreter in which every optional package fails to import, as after a plain `pip install .`.
    script = f"""
import importlib.abc, sys
BLOCKED = {OPTIONAL!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)")
        return None
sys.meta_path.insert(0, Block())
import modeshift.cli, modeshift.service, modeshift.aws, modeshift.config, modeshift.adapters.price_list
status = modeshift.cli.main(["report", {str(FIXTURE)!r}, "--output-dir", {str(tmp_path)!r}])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
print(status, loaded)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False, cwd=ROOT
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0 []"
    assert (tmp_path / "modeshift-report.html").is_file()


def test_demo_fails_with_one_line_naming_the_install_command_when_moto_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # A None entry makes `import moto.server` raise ImportError, as it does when the extra is not installed.
    monkeypatch.setitem(sys.modules, "moto.server", None)
    monkeypatch.setattr(local_aws, "demo_install_command", lambda: "python -m pip install '/src/modeshift[demo]'")

    status = main(["demo", "--quiet", "--report-dir", str(tmp_path / "report")])

    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1
    assert err[0].startswith("modeshift: `modeshift demo` needs its local AWS")
    assert err[0].endswith("Add it with: python -m pip install '/src/modeshift[demo]'")
    assert not (tmp_path / "report").exists()


def test_demo_install_command_reinstalls_the_source_folder_when_modeshift_was_installed_from_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(local_aws.sys, "executable", "/venv/bin/python")

    monkeypatch.setattr(local_aws, "_installed_from", lambda: ("/src/modeshift", True))
    assert local_aws.demo_install_command() == "/venv/bin/python -m pip install -e '/src/modeshift[demo]'"
    monkeypatch.setattr(local_aws, "_installed_from", lambda: ("/src/modeshift", False))
    assert local_aws.demo_install_command() == "/venv/bin/python -m pip install '/src/modeshift[demo]'"
    monkeypatch.setattr(local_aws, "_installed_from", lambda: (None, False))
    assert local_aws.demo_install_command() == "/venv/bin/python -m pip install 'modeshift[demo]'"
