"""The documentation a user copies from is checked against the code it describes."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = ROOT / "layers" / "modeshift" / "modeshift" / "adapters"


def _actions_called(path: Path, service: str, receivers: tuple[str, ...]) -> set[str]:
    """IAM actions of the boto3 calls a module makes: `self._ecs.describe_services(` → ecs:DescribeServices."""
    text = path.read_text(encoding="utf-8")
    names = set()
    for receiver in receivers:
        names |= set(re.findall(rf"{receiver}\.(?!get_paginator)([a-z_]+)\(", text))
        names |= set(re.findall(rf'{receiver}\.get_paginator\(\s*"([a-z_]+)"', text))
    return {f"{service}:" + "".join(part.title() for part in name.split("_")) for name in names}


def test_cli_policy_grants_exactly_the_read_calls_the_inventory_and_metrics_readers_make() -> None:
    policy = json.loads((ROOT / "docs" / "cli-policy.json").read_text(encoding="utf-8"))
    granted = {action for statement in policy["Statement"] for action in statement["Action"]}
    called = (
        _actions_called(ADAPTERS / "ecs.py", "ecs", ("self._ecs",))
        | _actions_called(ADAPTERS / "ecs.py", "ec2", ("self._ec2",))
        | _actions_called(ADAPTERS / "cloudwatch.py", "cloudwatch", ("self._client",))
    )

    assert granted == called
    assert all(statement["Effect"] == "Allow" for statement in policy["Statement"])
    assert not any(action.split(":")[1].startswith(("Put", "Create", "Delete", "Update")) for action in granted)


def test_readme_links_only_to_documents_that_exist() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\((docs/[^)#]+)", text)

    assert targets
    assert all((ROOT / target).is_file() for target in targets), targets
