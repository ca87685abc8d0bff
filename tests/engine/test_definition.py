"""The shared analysis of a definition: the one walk every rule reads from must agree
with the plain, slow way of asking the same questions."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_guard.definition import Definition
from mlops_guard.pointer import resolve
from tests.rules.conftest import REFERENCE_PATH

REFERENCE = json.loads(REFERENCE_PATH.read_text())


def containers(node, pointer=""):
    """Every object and array with its pointer: the slow way."""
    yield pointer, node
    if isinstance(node, dict):
        for key, child in node.items():
            if isinstance(child, dict | list):
                token = key.replace("~", "~0").replace("/", "~1")
                yield from containers(child, f"{pointer}/{token}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            if isinstance(child, dict | list):
                yield from containers(child, f"{pointer}/{index}")


ALL_POINTERS = [pointer for pointer, _ in containers(REFERENCE)]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ALL_POINTERS))
def test_references_under_a_pointer_are_those_below_it(pointer):
    definition = Definition(REFERENCE)
    every = definition.references
    expected = [r for r in every if r.pointer == pointer or r.pointer.startswith(pointer + "/")]
    assert definition.references_under(pointer) == expected


def test_every_reference_points_at_its_get_expression():
    definition = Definition(REFERENCE)
    assert len(definition.references) > 20
    for reference in definition.references:
        assert resolve(REFERENCE, reference.pointer) == {"Get": reference.path}
        if reference.kind == "Parameters":
            assert reference.parameter_name == reference.path.split(".", 1)[1]
        if reference.kind == "Steps":
            assert reference.path.startswith(f"Steps.{reference.step_name}")


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["Environment", "HyperParameters", "ProcessingInputs", "Outputs", "Values"]),
    st.text(alphabet="ab/~", min_size=1, max_size=4),
)
def test_nodes_under_a_key_match_the_slow_walk(key, odd_key):
    """Indexed keys and others alike, with keys that need escaping in pointers."""
    document = json.loads(json.dumps(REFERENCE))
    document["Steps"][0]["Arguments"][odd_key] = {key: {"A": "1"}}
    definition = Definition(document)
    expected = [
        (pointer, node)
        for pointer, node in containers(document)
        if pointer and _last_key(pointer) == key
    ]
    assert definition.nodes_under_key(key) == expected
    for pointer, node in expected:
        assert resolve(document, pointer) is node


def _last_key(pointer: str) -> str:
    token = pointer.rsplit("/", 1)[1]
    return token.replace("~1", "/").replace("~0", "~")


def test_step_at_finds_the_innermost_step():
    definition = Definition(REFERENCE)
    for step in definition.steps:
        assert definition.step_at(step.pointer) is step
        assert definition.step_at(step.arguments_pointer + "/X/0") is step
    assert definition.step_at("/Parameters/0") is None
    assert definition.step_at("/Steps") is None
