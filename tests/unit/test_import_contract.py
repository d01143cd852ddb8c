"""The pure core stays free of boto3 and of the environment."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "check_import_contract", Path(__file__).resolve().parents[1] / "check_import_contract.py"
)
assert _SPEC and _SPEC.loader
contract = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(contract)


def test_domain_package_imports_no_aws_sdk_when_checked():
    assert contract.violations() == []


def test_import_contract_flags_boto3_and_environ_when_a_module_uses_them(tmp_path: Path):
    (tmp_path / "bad.py").write_text("import boto3\nimport os\nx = os.environ['A']\n")
    (tmp_path / "good.py").write_text("import math\n")
    problems = contract.violations(tmp_path)
    assert problems == ["bad.py:1 imports boto3", "bad.py:3 reads the environment"]
