"""Import contract: modeshift.domain (pure rules) must not import boto3, botocore or os.environ readers."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[1] / "layers" / "modeshift" / "modeshift" / "domain"
FORBIDDEN_MODULES = ("boto3", "botocore", "modeshift.adapters", "modeshift.aws", "modeshift.config")


def violations(root: Path = DOMAIN) -> list[str]:
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_MODULES):
                    found.append(f"{path.name}:{node.lineno} imports {name}")
            if isinstance(node, ast.Attribute) and node.attr == "environ":
                found.append(f"{path.name}:{node.lineno} reads the environment")
    return found


if __name__ == "__main__":
    problems = violations()
    for problem in problems:
        print(problem)
    sys.exit(1 if problems else 0)
