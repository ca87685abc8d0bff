"""Rule tests start from the reference pipeline and mutate it minimally.

``reference`` is a fresh deep copy of the committed reference definition for each test;
``check`` runs rules on a definition dict through the real engine with the default
policy (optionally overridden) and returns the findings.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_guard import engine
from mlops_guard.definition import Definition
from mlops_guard.loaders.json_marks import JsonMarks
from mlops_guard.policy.load import policy_with as load_policy_with
from mlops_guard.policy.settings import Settings
from mlops_guard.registry import load_rules
from mlops_guard.resources import builtin_rules_dir
from mlops_guard.selection import Selection
from mlops_guard.targets import Target
from mlops_guard.testing import find_step as find_step  # re-exported for the rule tests
from mlops_guard.testing import reference_definition

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_PATH = ROOT / "mlops_guard" / "reference" / "definition.json"


_RULES = None


@pytest.fixture
def reference() -> dict:
    return reference_definition()


def builtin_rules():
    global _RULES
    if _RULES is None:
        _RULES = load_rules([(builtin_rules_dir(), True)])
    return _RULES


def policy_with(overrides: dict | None = None) -> Settings:
    return load_policy_with(overrides or {}, "test-policy").settings


def run_check(
    definition: dict,
    select: list[str] | None = None,
    policy: dict | None = None,
    *,
    name: str = "daily-demand-forecast",
    file: str = "definition.json",
) -> list:
    """Findings of the selected rules (default: all) on ``definition``."""
    settings = policy_with(policy)
    text = json.dumps(definition, indent=2)
    target = Target(
        file=file,
        kind="definition",
        name=name,
        definition=Definition(definition, name=name),
        locate=JsonMarks(text).locate,
    )
    selection = Selection.from_policy(settings, select=select)
    return engine.run([target], builtin_rules(), settings, selection).findings


@pytest.fixture
def check():
    return run_check


def step_index(definition: dict, name: str) -> tuple[list, int]:
    """The list holding step ``name`` (top level or a condition branch) and its index."""

    def search(steps):
        for index, step in enumerate(steps):
            if step.get("Name") == name:
                return steps, index
            if step.get("Type") == "Condition":
                for key in ("IfSteps", "ElseSteps"):
                    found = search(step["Arguments"].get(key, []))
                    if found:
                        return found
        return None

    found = search(definition["Steps"])
    if found is None:
        raise KeyError(name)
    return found


def rule_ids(findings) -> set[str]:
    return {finding.rule for finding in findings}


def batch_transform_step() -> dict:
    """A minimal Transform step ``BatchScore`` reading an unversioned ``s3://b/in/``."""
    return {
        "Name": "BatchScore",
        "Type": "Transform",
        "Arguments": {
            "ModelName": "m",
            "TransformInput": {"DataSource": {"S3DataSource": {"S3Uri": "s3://b/in/"}}},
            "TransformOutput": {"S3OutputPath": "s3://b/out/"},
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        },
    }


def places(value, path=()):
    """Every place in a JSON-like document, as a path of keys and indexes: containers and
    leaves, the document itself first (for tests that break a document in one place)."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from places(item, (*path, index))
