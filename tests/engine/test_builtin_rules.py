"""Meta-tests over the built-in rules: ids, docs, proof, and the documentation table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlops_guard.authoring import CATEGORIES, RULE_ID
from mlops_guard.docs import main as docs_main
from mlops_guard.registry import all_rule_infos, load_rules
from mlops_guard.resources import builtin_rules_dir

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules([(builtin_rules_dir(), True)])
TEST_SOURCES = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
PREFIXES = {
    "naming": "NM",
    "recorded-fields": "RF",
    "idempotent-outputs": "IO",
    "evaluation-thresholds": "ET",
    "structure": "ST",
    "security": "SC",
    "operations": "OP",
}


def test_ids_are_unique_well_formed_and_prefixed_by_category():
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert RULE_ID.match(rule.id)
        assert rule.info.category in CATEGORIES
        assert rule.id.startswith(PREFIXES[rule.info.category]), rule.id


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_every_rule_documents_what_why_and_how(rule):
    doc = rule.doc
    for part in ("What it checks:", "Why it matters:", "How to fix:"):
        assert part in doc, f"{rule.id} docstring lacks {part!r}"
    assert doc.index("What it checks:") < doc.index("Why it matters:") < doc.index("How to fix:")


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_every_rule_is_exercised_by_a_test(rule):
    """Each rule id appears in a test that selects it or asserts it fired."""
    assert re.search(rf"[\"']{rule.id}[\"']", TEST_SOURCES), f"no test names {rule.id}"


def test_every_category_has_rules():
    present = {info.category for info in all_rule_infos(RULES)}
    assert present == set(CATEGORIES)


def test_readme_rule_table_is_current():
    assert docs_main(["--check"]) == 0, "run: python -m mlops_guard.docs --write"
