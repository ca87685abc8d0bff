"""``mlops-guard fixtures`` shows every fixture a rule may ask for, with its docs, by the
targets it exists for, and the policy sections the loaded rules declare."""

from __future__ import annotations

import json
import re

from mlops_guard.cli import main
from mlops_guard.fixtures import FIXTURES
from tests.rules.conftest import ROOT

TEAM_RULE = '''
from mlops_guard import Setting, rule


@rule(id="TM003", category="structure", summary="s",
      settings={"max_steps": Setting(int, default=12, doc="The most steps.")})
def check_size(definition, rule_settings):
    """Doc."""
'''


def test_every_fixture_is_listed_with_its_doc_under_its_domain(capsys):
    assert main(["fixtures", "--isolated"]) == 0
    out = capsys.readouterr().out
    blocks = {block.split(":\n", 1)[0]: block for block in out.strip().split("\n\n")}
    titles = {
        "definition": "Rules that check pipeline definitions (mlops-guard check)",
        "metadata": "Rules that check recorded metadata (mlops-guard audit)",
        "any": "Any rule",
    }
    assert sorted(blocks) == sorted(titles.values())
    for fixture in FIXTURES.values():
        block = blocks[titles[fixture.domain]]
        assert re.search(rf"^  {fixture.name} \(", block, re.M), fixture.name
        assert " ".join(fixture.doc.split()) in " ".join(block.split())
    assert "  step (the rule runs once per item)" in out
    assert "  definition (one per target)" in out
    assert "  policy (the same for the whole run)" in out
    assert "Rule settings" not in out  # no built-in rule declares a section


def test_json_lists_the_fixtures_and_the_team_rules_sections(tmp_path, capsys):
    (tmp_path / "check_size.py").write_text(TEAM_RULE)
    assert main(["fixtures", "--format", "json", "--isolated", "--rules-dir", str(tmp_path)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [item["name"] for item in listed["fixtures"]] == list(FIXTURES)
    assert listed["fixtures"][1] == {
        "name": "step", "domain": "definition", "each": True, "doc": FIXTURES["step"].doc,
    }  # fmt: skip
    assert listed["rule_settings"] == {
        "TM003": {
            "max_steps": {"type": "int", "required": False, "doc": "The most steps.", "default": 12}
        }
    }


def test_text_ends_with_the_team_rules_sections(tmp_path, capsys):
    (tmp_path / "check_size.py").write_text(TEAM_RULE)
    assert main(["fixtures", "--isolated", "--rules-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.endswith(
        "Rule settings of the loaded rules:\n"
        "  Policy section (rule_settings): rules.TM003\n"
        "    max_steps: int (default: 12)\n"
        "        The most steps.\n"
    )


def test_the_readme_lists_every_fixture():
    """The README's fixture table (Writing rules) names every fixture the engine has."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Writing rules") : text.index("## Inputs")]
    rows = re.findall(r"^  \| (.+?) \|", section, re.M)
    named = {name for row in rows for name in re.findall(r"`(\w+)`", row)}
    assert set(FIXTURES) <= named
