"""A policy is validated without pydantic when it can be (``policy.plain``), and then to
exactly what pydantic gives: the same values, the same keys in the same order. Whatever
pydantic would coerce or reject is left to pydantic, which explains it."""

from __future__ import annotations

import datetime as dt
import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mlops_guard.policy import describe, plain
from mlops_guard.policy.model import Policy
from mlops_guard.resources import default_policy_path
from tests.rules.conftest import places

SCHEMA = json.loads(plain.SCHEMA_FILE.read_text())
ODD = [
    "3", "7.5", "yes", "", "2026-01-01", "(", "[a-", 3, 0, -1, 2**60, 1.5, float("nan"),
    float("inf"), True, False, None, [], ["x"], {}, {"x": 1}, {1: "x"}, dt.date(2026, 1, 2),
    dt.datetime(2026, 1, 2, 3, 4), (1, 2),
]  # fmt: skip
"""Values pydantic may coerce, reject or dump differently: put anywhere, they must never
make the two disagree."""


def pydantic_result(document):
    try:
        return Policy.model_validate(document).model_dump(mode="json")
    except ValidationError:
        return None


def same(document) -> None:
    """Whenever ``plain`` answers, pydantic accepts the policy and gives the same JSON."""
    fast = plain.validated(document)
    if fast is not None:
        expected = pydantic_result(document)
        assert expected is not None, document
        assert json.dumps(fast) == json.dumps(expected), document


def test_the_shipped_schema_is_the_model():
    """``policy-schema.json`` is what ``python -m mlops_guard.policy.describe`` writes
    from ``model.py`` today: a change to the model without it fails here."""
    assert plain.SCHEMA_FILE.read_text() == describe.render()


def test_the_default_policy_needs_no_pydantic():
    document = yaml.safe_load(default_policy_path().read_text())
    assert plain.validated(document) is not None
    same(document)


def _strings(kind):
    _, pattern, shortest = kind
    if pattern:
        return st.from_regex(pattern, fullmatch=True)
    # one shorter than allowed too: a value too short is pydantic's to refuse
    return st.text(alphabet="ab.*_-:^$(", min_size=max(0, (shortest or 0) - 1), max_size=6)


def _values(kind, depth=0, odd=True):
    tag = kind[0]
    if tag == "str":
        good = _strings(kind)
    elif tag == "bool":
        good = st.booleans()
    elif tag == "int":
        good = st.integers(-2, 9)
    elif tag == "float":
        good = st.one_of(st.floats(-2, 9, allow_nan=False), st.integers(-2, 9))
    elif tag == "literal":
        good = st.sampled_from(kind[1:])
    elif tag == "list":
        good = st.lists(_values(kind[1], depth + 1, odd), max_size=2)
    elif tag == "map":
        keys = st.from_regex(kind[2], fullmatch=True) if kind[2] else st.text("abc", max_size=3)
        good = st.dictionaries(keys, _values(kind[1], depth + 1, odd), max_size=2)
    elif tag == "model":
        good = _documents(kind[1], depth + 1, odd)
    elif tag == "optional":
        good = st.one_of(st.none(), _values(kind[1], depth, odd))
    elif tag == "date":
        good = st.dates()
    else:  # any
        leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3))
        good = st.recursive(leaves, _containers, max_leaves=4)
    return st.one_of(good, good, good, st.sampled_from(ODD)) if odd else good


def _containers(inner):
    return st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner, max_size=2)


def _documents(name, depth=0, odd=True):
    """Policies (or sections) built from the schema: with ``odd``, any value may be one of
    ``ODD`` and an unknown key may appear; without, every value is of its type (what
    ``plain`` should answer for, unless a validator refuses it)."""
    fields = SCHEMA["models"][name]["fields"]
    if depth > 3:
        return st.just({})
    required = {
        f: _values(kind, depth, odd) for f, kind, default in fields if default == "<required>"
    }
    optional = {
        f: _values(kind, depth, odd) for f, kind, default in fields if default != "<required>"
    }
    unknown = ["unknown", "Extends"] if odd else []
    extra = st.dictionaries(st.sampled_from(unknown or ["-"]), st.just(1), max_size=len(unknown))
    return st.builds(lambda known, more: {**known, **more},
                     st.fixed_dictionaries(required, optional=optional), extra)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(document=st.one_of(_documents("Policy", odd=False), _documents("Policy")))
def test_plain_and_pydantic_agree_on_generated_policies(document):
    same(document)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_model_agrees_on_its_own(data):
    """Each model (a waiver, a threshold, the drift settings...) on its own, so that
    sections deep in the policy are met as often as the top."""
    from mlops_guard.policy import model

    name = data.draw(st.sampled_from(sorted(SCHEMA["models"])))
    document = data.draw(_documents(name, odd=data.draw(st.booleans())))
    try:
        fast = plain._model(name, document, SCHEMA["models"])
    except plain._Unsure:
        return
    expected = getattr(model, name).model_validate(document).model_dump(mode="json")
    assert json.dumps(fast) == json.dumps(expected), (name, document)


def test_what_pydantic_must_decide_is_left_to_it():
    """Coercions and rejections are pydantic's: ``plain`` does not answer."""
    for document in (
        {"operations": {"recent_executions": "7"}},  # coerced to 7
        {"operations": {"recent_executions": 0}},  # below its minimum
        {"evaluation_thresholds": {"drift": {"tolerance": float("nan")}}},
        {"waivers": [{"rule": "RF001", "reason": "r", "expires": "2026-12-31"}]},
        {"waivers": [{"rule": "RF001", "reason": "r"}]},  # no target
        {"security": {"secret_name_pattern": "("}},  # not a regular expression
        {"rules": {"lowercase": {}}},  # not a rule id
        {"modules": [{"entry": "pkg.mod:get\n"}]},
        {"unknown": 1},
        {"version": True},
    ):
        assert plain.validated(document) is None, document


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_policy_broken_in_one_place_agrees(data):
    """A valid model broken in exactly one place (a value replaced by an odd one, an
    unknown key added, a key removed, a string emptied): ``plain`` must leave it to
    pydantic or give pydantic's answer."""
    from mlops_guard.policy import model

    name = data.draw(st.sampled_from(sorted(SCHEMA["models"])))
    document = data.draw(_documents(name, odd=False))
    path = data.draw(st.sampled_from(list(places(document))))
    parent, key = document, None
    for part in path[:-1]:
        parent = parent[part]
    how = data.draw(st.sampled_from(["odd", "unknown", "remove", "empty"]))
    if not path or how == "unknown":
        target = document
        for part in path:
            target = target[part]
        if isinstance(target, dict):
            target["unknown_key"] = 1
    else:
        key = path[-1]
        if how == "remove" and isinstance(parent, dict):
            del parent[key]
        elif how == "empty":
            parent[key] = ""
        else:
            parent[key] = data.draw(st.sampled_from(ODD))
    try:
        fast = plain._model(name, document, SCHEMA["models"])
    except plain._Unsure:
        return
    try:
        expected = getattr(model, name).model_validate(document).model_dump(mode="json")
    except ValidationError:
        raise AssertionError(f"plain accepted what pydantic refuses: {name} {document}") from None
    assert json.dumps(fast) == json.dumps(expected), (name, document)
