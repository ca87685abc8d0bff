"""The DAG of a SageMaker pipeline definition (any definition dict, no SDK needed).

Edges come from ``DependsOn``, from property references (``{"Get": "Steps.X..."}`` anywhere
in a step's arguments, including ``Std:JsonGet`` property files) and from condition
branches (``IfSteps`` / ``ElseSteps``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_STEP_REF = re.compile(r"^Steps\.([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class StepInfo:
    """A step with where it sits: top level, or in a branch of a condition step."""

    name: str
    type: str
    body: dict
    #: ``(condition step name, "if" | "else")`` for branch steps, else None.
    branch: tuple[str, str] | None = None


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    #: ``depends_on`` | ``data`` | ``if`` | ``else``
    kind: str


def iter_steps(definition: dict) -> Iterator[StepInfo]:
    """Every step, branch steps right after their condition step, in definition order."""

    def walk(steps: list, branch: tuple[str, str] | None) -> Iterator[StepInfo]:
        for step in steps or []:
            if not isinstance(step, dict) or "Name" not in step:
                continue
            yield StepInfo(step["Name"], step.get("Type", ""), step, branch)
            if step.get("Type") == "Condition":
                arguments = step.get("Arguments") or {}
                yield from walk(arguments.get("IfSteps"), (step["Name"], "if"))
                yield from walk(arguments.get("ElseSteps"), (step["Name"], "else"))

    yield from walk(definition.get("Steps") or [], None)


def _references(value: Any, skip_branches: bool) -> Iterator[str]:
    if isinstance(value, dict):
        get = value.get("Get")
        if isinstance(get, str):
            match = _STEP_REF.match(get)
            if match:
                yield match.group(1)
        for key, item in value.items():
            if skip_branches and key in ("IfSteps", "ElseSteps"):
                continue
            yield from _references(item, skip_branches)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item, skip_branches)


def step_edges(definition: dict) -> list[Edge]:
    """Unique edges, in a stable order (by target step, then kind, then source)."""
    steps = list(iter_steps(definition))
    names = {step.name for step in steps}
    edges: list[Edge] = []
    seen: set[tuple[str, str, str]] = set()

    def add(source: str, target: str, kind: str) -> None:
        key = (source, target, kind)
        if source in names and source != target and key not in seen:
            seen.add(key)
            edges.append(Edge(source, target, kind))

    for step in steps:
        if step.branch:
            add(step.branch[0], step.name, step.branch[1])
        for source in step.body.get("DependsOn") or []:
            add(source, step.name, "depends_on")
        body = {key: value for key, value in step.body.items() if key != "DependsOn"}
        for source in _references(body, skip_branches=True):
            add(source, step.name, "data")
    return edges


def topological_order(definition: dict) -> list[str]:
    """Step names so that every edge's source comes first (ties: definition order)."""
    order = [step.name for step in iter_steps(definition)]
    incoming: dict[str, set[str]] = {name: set() for name in order}
    for edge in step_edges(definition):
        incoming[edge.target].add(edge.source)
    done: list[str] = []
    while len(done) < len(order):
        ready = [name for name in order if name not in done and incoming[name] <= set(done)]
        if not ready:
            cycle = sorted(set(order) - set(done))
            raise ValueError(f"the pipeline has a dependency cycle among {cycle}")
        done.append(ready[0])
    return done


def _mermaid_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def to_mermaid(definition: dict) -> str:
    """A ``flowchart TD`` of the steps; condition steps as rhombi, edges labelled."""
    lines = ["flowchart TD"]
    for step in iter_steps(definition):
        node = _mermaid_id(step.name)
        label = f"{step.name}<br/><small>{step.type}</small>"
        if step.type == "Condition":
            lines.append(f'    {node}{{"{label}"}}')
        elif step.type == "Fail":
            lines.append(f'    {node}[["{label}"]]')
        else:
            lines.append(f'    {node}["{label}"]')
    for edge in step_edges(definition):
        source, target = _mermaid_id(edge.source), _mermaid_id(edge.target)
        if edge.kind == "data":
            lines.append(f"    {source} --> {target}")
        elif edge.kind == "depends_on":
            lines.append(f"    {source} -.->|depends on| {target}")
        else:
            lines.append(f"    {source} -->|{edge.kind}| {target}")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(definition: dict, name: str = "pipeline") -> str:
    """A Graphviz digraph of the steps."""
    shapes = {"Condition": "diamond", "Fail": "octagon"}
    lines = [f"digraph {_dot_quote(name)} {{", "    rankdir=TB;", "    node [shape=box];"]
    for step in iter_steps(definition):
        shape = shapes.get(step.type, "box")
        label = _dot_quote(f"{step.name}\\n{step.type}").replace("\\\\n", "\\n")
        lines.append(f"    {_dot_quote(step.name)} [label={label}, shape={shape}];")
    for edge in step_edges(definition):
        attributes = {
            "data": "",
            "depends_on": ' [style=dashed, label="depends on"]',
            "if": ' [label="if"]',
            "else": ' [label="else", color=red]',
        }[edge.kind]
        lines.append(f"    {_dot_quote(edge.source)} -> {_dot_quote(edge.target)}{attributes};")
    lines.append("}")
    return "\n".join(lines) + "\n"
