"""No rule crashes on a definition that loads: random subtrees of the reference are
replaced by random JSON, and every built-in rule must report or stay silent, never raise."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_guard import engine
from mlops_guard.errors import InputError
from mlops_guard.loaders import load_file
from mlops_guard.selection import Selection
from tests.engine.test_loaders import all_pointers, json_values
from tests.rules.conftest import builtin_rules, policy_with, reference_definition

REFERENCE = reference_definition()
POINTERS = [p for p in all_pointers(REFERENCE) if p]


def replace(document, pointer: str, value):
    *parents, last = pointer[1:].split("/")
    node = document
    for token in parents:
        node = node[int(token)] if isinstance(node, list) else node[token]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return document


def mutated(mutations) -> dict:
    """A copy of the reference with each ``(pointer, value)`` applied where it still
    applies (an earlier mutation may have removed the place)."""
    document = json.loads(json.dumps(REFERENCE))
    for pointer, value in mutations:
        try:
            replace(document, pointer, value)
        except (KeyError, IndexError, TypeError, ValueError):
            continue
    return document


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(POINTERS), json_values), min_size=1, max_size=3))
def test_no_rule_crashes_on_mutated_definitions(tmp_path_factory, mutations):
    path = tmp_path_factory.mktemp("fuzz") / "pipeline.json"
    path.write_text(json.dumps(mutated(mutations)))
    try:
        targets = load_file(path, explicit=True)
    except InputError:
        return
    policy = policy_with()
    selection = Selection.from_policy(policy)
    result = engine.run(targets, builtin_rules(), policy, selection)
    crashed = [f for f in result.findings if f.extra.get("crashed")]
    assert crashed == [], crashed[0].message
