"""DAG pictures derived from a definition: every step and every edge appears."""

from __future__ import annotations

import re

from mlops_guard.reference import load_definition
from mlops_guard.reference.graph import step_edges, to_dot, to_mermaid, topological_order
from tests.reference.conftest import cli

EXPECTED_EDGES = {
    ("Extract", "PreProc", "data"),
    ("PreProc", "Train", "data"),
    ("PreProc", "TrainEvaluation", "data"),
    ("Train", "TrainEvaluation", "data"),
    ("TrainEvaluation", "CheckEvaluation", "data"),
    ("CheckEvaluation", "Predict", "if"),
    ("CheckEvaluation", "PostProc", "if"),
    ("CheckEvaluation", "EvaluationFailed", "else"),
    ("Train", "Predict", "data"),
    ("PreProc", "Predict", "data"),
    ("Predict", "PostProc", "data"),
    ("Predict", "PostProc", "depends_on"),
}
STEPS = {s for edge in EXPECTED_EDGES for s in edge[:2]}


def test_edges_of_the_reference():
    edges = {(e.source, e.target, e.kind) for e in step_edges(load_definition())}
    assert edges == EXPECTED_EDGES
    order = topological_order(load_definition())
    for source, target, _ in EXPECTED_EDGES:
        assert order.index(source) < order.index(target)


def test_mermaid_has_every_step_and_edge():
    result = cli("graph", "--format", "mermaid")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("flowchart TD\n")
    nodes = set(re.findall(r"^    (\w+)[\[{(]", text, re.M))
    assert nodes == STEPS
    arrows = set(re.findall(r"^    (\w+) (?:-->|-\.->)(?:\|([^|]+)\|)? (\w+)$", text, re.M))
    kinds = {None: "data", "": "data", "depends on": "depends_on", "if": "if", "else": "else"}
    assert {(a, b, kinds[label]) for a, label, b in arrows} == EXPECTED_EDGES


def test_dot_has_every_step_and_edge():
    result = cli("graph", "--format", "dot")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith('digraph "pipeline" {') and text.rstrip().endswith("}")
    assert set(re.findall(r'^    "(\w+)" \[label=', text, re.M)) == STEPS
    edges = set()
    for source, target, attributes in re.findall(r'^    "(\w+)" -> "(\w+)"(.*);$', text, re.M):
        label = re.search(r'label="([^"]+)"', attributes)
        kind = {"depends on": "depends_on"}.get(label.group(1), label.group(1)) if label else "data"
        edges.add((source, target, kind))
    assert edges == EXPECTED_EDGES


def test_generic_definition(tmp_path):
    """Any definition: DependsOn and property references in a plain dict."""
    definition = {
        "Steps": [
            {"Name": "A", "Type": "Processing", "Arguments": {}},
            {
                "Name": "B",
                "Type": "Training",
                "Arguments": {
                    "X": {"Get": "Steps.A.ProcessingOutputConfig.Outputs['o'].S3Output.S3Uri"}
                },
            },
            {"Name": "C-1", "Type": "Processing", "DependsOn": ["B"], "Arguments": {}},
        ]
    }
    assert {(e.source, e.target, e.kind) for e in step_edges(definition)} == {
        ("A", "B", "data"),
        ("B", "C-1", "depends_on"),
    }
    assert "C_1" in to_mermaid(definition)
    assert '"B" -> "C-1"' in to_dot(definition)
    path = tmp_path / "d.json"
    path.write_text(__import__("json").dumps(definition))
    result = cli("graph", "--definition", str(path))
    assert result.returncode == 0 and "A --> B" in result.stdout
