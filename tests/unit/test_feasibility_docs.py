"""The README's feasibility table is the rule table in code, so documentation cannot drift from the rules."""

from __future__ import annotations

from pathlib import Path

from modeshift.domain.feasibility import RULES, readme_table

README = Path(__file__).resolve().parents[2] / "docs" / "how-verdicts-are-reached.md"


def test_readme_feasibility_table_equals_the_rules_in_code_when_generated() -> None:
    assert readme_table() in README.read_text(encoding="utf-8")


def test_readme_table_names_every_rule_once_with_its_source_when_generated() -> None:
    rows = [line for line in readme_table().splitlines()[2:]]

    assert [row.split("|")[1].strip(" `") for row in rows] == [rule.code for rule in RULES]
    assert all(rule.source.startswith(("AWS: ", "modeshift ")) for rule in RULES)
    assert len({rule.code for rule in RULES}) == len(RULES)
