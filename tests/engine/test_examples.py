"""The bundled examples are the reference with one mistake each, and the demo shows it."""

from __future__ import annotations

import json

import pytest

from mlops_guard.cli import main
from mlops_guard.examples import EXPECTED, example_paths
from mlops_guard.examples import main as examples_main


def test_examples_are_generated_from_the_current_reference():
    assert examples_main([]) == 0, "run: python -m mlops_guard.examples --write"


@pytest.mark.parametrize("path", example_paths(), ids=lambda path: path.name)
def test_each_example_trips_the_rules_it_is_made_for(path, capsys):
    assert main(["check", str(path), "--format", "json"]) == 1

    fired = {finding["rule"] for finding in json.loads(capsys.readouterr().out)["findings"]}
    assert EXPECTED[path.name] <= fired


def test_demo_passes_the_reference_and_fails_the_examples(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "== Reference pipeline (compliant)\nAll checks passed" in out
    assert out.rstrip().endswith("every example shows findings.")


def test_demo_with_an_example_that_passes_is_a_tool_error(monkeypatch, capsys):
    from mlops_guard.examples import reference_definition_path

    # Fault injection: the "non-compliant" examples are the compliant reference.
    monkeypatch.setattr("mlops_guard.examples.example_paths", lambda: [reference_definition_path()])
    assert main(["demo"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("mlops-guard: error: demo: unexpected result")
