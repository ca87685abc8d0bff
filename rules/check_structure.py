"""Structure rules: a definition that SageMaker would reject, or that hides a mistake.

These rules need no policy: references must resolve, the DAG must be acyclic, names
unique, parameters used, and cache expiries valid ISO 8601 durations.
"""

from __future__ import annotations

import re
from collections import namedtuple

from mlops_guard import Violation, rule
from mlops_guard.definition import JOB_STEP_TYPES


def _items(value) -> list[dict]:
    """The objects of a list (``[]`` for anything else): shapes SageMaker would reject
    are reported where the shape itself is checked, not here."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _name(value) -> str | None:
    """A name that can be compared: a string, else None (which names nothing)."""
    return value if isinstance(value, str) else None


@rule(id="ST001", category="structure", summary="References point at steps that exist")
def check_step_references(definition):
    """What it checks: every ``{"Get": "Steps.X..."}`` and every ``DependsOn`` entry names a
    step of this pipeline.

    Why it matters: SageMaker rejects the definition at ``UpsertPipeline`` time, or worse,
    a renamed step silently breaks a hand-edited definition in review.

    How to fix: rename the reference to the step's current name, e.g.
    ``{"Get": "Steps.TrainEvaluation.PropertyFiles.EvaluationReport"}``.
    """
    names = definition.steps_by_name
    for reference in definition.references:
        target = reference.step_name
        if reference.kind == "Steps" and target not in names:
            yield Violation(f"reference to unknown step {target!r}", at=reference.pointer)
    for step in definition.steps:
        for index, needed in enumerate(step.depends_on):
            if needed not in names:
                yield Violation(
                    f"step {step.name!r} depends on unknown step {needed!r}",
                    at=f"{step.pointer}/DependsOn/{index}",
                    subject=step.name,
                )


@rule(id="ST002", category="structure", summary="References point at parameters that exist")
def check_parameter_references(definition):
    """What it checks: every ``{"Get": "Parameters.X"}`` names a declared parameter.

    Why it matters: an undeclared parameter fails the pipeline at execution start, after
    it was deployed.

    How to fix: declare the parameter in ``Parameters`` (with a default) or correct the
    name.
    """
    declared = definition.parameters_by_name
    for reference in definition.references:
        name = reference.parameter_name
        if reference.kind == "Parameters" and name not in declared:
            yield Violation(f"reference to undeclared parameter {name!r}", at=reference.pointer)


@rule(id="ST003", category="structure", summary="Property-file references resolve")
def check_property_file_references(definition):
    """What it checks: ``Steps.X.PropertyFiles.Y`` names a property file that step ``X``
    declares, and each declared property file names one of its step's outputs.

    Why it matters: a condition reading a missing property file fails at run time, after
    the expensive training already ran.

    How to fix: declare the file on the evaluation step (``PropertyFiles`` with
    ``PropertyFileName``, ``OutputName``, ``FilePath``) and use the same name in ``JsonGet``.
    """
    declared = definition.property_files
    for reference in definition.references:
        parts = reference.path.split(".")
        is_property_file = len(parts) >= 4 and parts[0] == "Steps" and parts[2] == "PropertyFiles"
        if (
            is_property_file
            and parts[1] in definition.steps_by_name
            and (parts[1], parts[3]) not in declared
        ):
            yield Violation(
                f"step {parts[1]!r} declares no property file {parts[3]!r}", at=reference.pointer
            )
    for step in definition.steps:
        if step.type != "Processing" or not step.property_files:
            continue
        config = step.arguments.get("ProcessingOutputConfig")
        outputs = config.get("Outputs") if isinstance(config, dict) else None
        names = {_name(item.get("OutputName")) for item in _items(outputs)} - {None}
        for index, item in enumerate(step.property_files):
            if _name(item.get("OutputName")) not in names:
                yield Violation(
                    f"property file {item.get('PropertyFileName')!r} reads output "
                    f"{item.get('OutputName')!r}, which step {step.name!r} does not have",
                    at=f"{step.pointer}/PropertyFiles/{index}",
                    subject=step.name,
                )


@rule(id="ST004", category="structure", summary="Step dependencies form no cycle")
def check_cycles(definition):
    """What it checks: following ``DependsOn``, data references and condition branches
    never leads from a step back to itself.

    Why it matters: SageMaker refuses cyclic pipelines; a cycle usually means a step
    reads the output of a step that runs after it.

    How to fix: break the cycle by reading the upstream step's output instead, or drop
    the extra ``DependsOn``.
    """
    if _order(definition).acyclic:
        return  # the common case, known from the analysis ST011 shares
    graph = definition.upstream
    state: dict[str, int] = {}
    reported: set[frozenset] = set()
    for step in definition.steps:
        if state.get(step.name) is None:
            yield from _cycles_from(definition, graph, state, reported, step.name, [step.name])


def _cycles_from(definition, graph, state: dict, reported: set, name: str, path: list[str]):
    """The cycles met depth-first from ``name`` (a module function, not a closure: a
    closure that calls itself is a reference cycle, which keeps the definition alive
    until the cyclic garbage collector runs)."""
    state[name] = 1
    for needed in sorted(graph.get(name, ())):
        if needed not in graph:
            continue
        if state.get(needed) == 1:
            cycle = [*path[path.index(needed) :], needed] if needed in path else [name, needed]
            key = frozenset(cycle)
            if key not in reported:
                reported.add(key)
                yield Violation(
                    "dependency cycle: " + " -> ".join(reversed(cycle)),
                    at=definition.steps_by_name[name].pointer,
                    subject=name,
                )
        elif state.get(needed) is None:
            yield from _cycles_from(definition, graph, state, reported, needed, [*path, needed])
    state[name] = 2


@rule(id="ST005", category="structure", summary="Step names are unique")
def check_duplicate_steps(definition):
    """What it checks: no two steps, nested ones included, share a name.

    Why it matters: step names are the keys of every reference and of the execution's
    step list; SageMaker rejects duplicates.

    How to fix: give each step a distinct name that says its job (``PreProc``, ``Train``).
    """
    seen: dict[str, str] = {}
    for step in definition.steps:
        if step.name in seen:
            yield Violation(
                f"step name {step.name!r} is also used at {seen[step.name]}",
                at=step.pointer,
                subject=step.name,
            )
        else:
            seen[step.name] = step.pointer


@rule(id="ST006", category="structure", severity="warning", summary="Every parameter is used")
def check_unused_parameters(definition, parameter):
    """What it checks: each declared parameter is referenced somewhere in the definition.

    Why it matters: an unused parameter invites people to set it and believe it had an
    effect (a run date that changes nothing is the classic case).

    How to fix: wire the parameter into the step that should use it, or delete it.
    """
    used = definition.used_parameters
    assert parameter.name in used, f"parameter {parameter.name!r} is never used"


_DURATION = re.compile(
    r"^P?(?:(N)Y)?(?:(N)M)?(?:(N)W)?(?:(N)D)?(?:T(?:(N)H)?(?:(N)M)?(?:(N)S)?)?$".replace(
        "N", r"\d+(?:[.,]\d+)?"
    ),
    re.IGNORECASE,
)


def parse_expiry(value: str) -> bool | None:
    """True for a positive duration SageMaker accepts, False for zero, None if malformed.

    SageMaker reads ``ExpireAfter`` as an ISO 8601 duration but also takes the short forms
    its documentation shows (``30d``, ``5y``, ``T16m``, ``30dT5h``): the ``P`` is optional
    and the unit letters are case-insensitive. Only what it would reject is reported.
    """
    match = _DURATION.match(value)
    if not match or value.upper().rstrip("T") in ("", "P") or value.upper().endswith("T"):
        return None
    return any(float(group.replace(",", ".")) for group in match.groups() if group)


@rule(id="ST007", category="structure", summary="Cache expiry is a valid duration")
def check_cache_expiry(step):
    """What it checks: a step's ``CacheConfig.ExpireAfter`` is a duration SageMaker accepts:
    ISO 8601 (``PT1H``, ``P30D``) or its documented short forms (``30d``, ``T16m``), and
    caching that is enabled has one.

    Why it matters: SageMaker rejects malformed durations; caching without expiry reuses
    results of an old code or data version forever.

    How to fix: ``"CacheConfig": {"Enabled": true, "ExpireAfter": "P30D"}``.
    """
    config = step.raw.get("CacheConfig")
    if not isinstance(config, dict) or not config.get("Enabled"):
        return
    expiry = config.get("ExpireAfter")
    at = f"{step.pointer}/CacheConfig"
    if expiry is None:
        yield Violation(f"step {step.name!r} caches without ExpireAfter", at=at)
        return
    valid = parse_expiry(str(expiry)) if isinstance(expiry, str) else None
    if valid is None:
        yield Violation(
            f"ExpireAfter {expiry!r} is not an ISO 8601 duration", at=f"{at}/ExpireAfter"
        )
    elif not valid:
        yield Violation(
            f"ExpireAfter {expiry!r} is zero: the cache never hits", at=f"{at}/ExpireAfter"
        )


def _segments(template: str) -> tuple[str, ...]:
    """A location compared by path segments (``s3://b/x/`` and ``s3://b/x`` are one)."""
    scheme, sep, rest = template.partition("://")
    if not sep:
        scheme, rest = "", template
    return (scheme, *(part for part in rest.split("/") if part))


def _branches(definition, name: str) -> dict[str, str]:
    """Condition name -> the branch (``IfSteps``/``ElseSteps``) holding step ``name``,
    for every condition it is nested in."""
    found, step = {}, definition.steps_by_name.get(name)
    while step is not None and step.condition:
        found.setdefault(step.condition, step.branch)
        step = definition.steps_by_name.get(step.condition)
    return found


def _exclusive(definition, first: str, second: str) -> bool:
    """The two steps sit in different branches of one condition: never both run."""
    a, b = _branches(definition, first), _branches(definition, second)
    return any(b.get(condition) not in (None, branch) for condition, branch in a.items())


_JOB_FOLDER_KINDS = ("training", "tuning", "automl")
"""Outputs SageMaker writes under a folder named by the job (``<path>/<job name>/...``):
a literal location under the path cannot name what the job writes, only the path itself
(read as a whole prefix) contains it."""


@rule(id="ST011", category="structure", summary="No step reads what an unordered step writes")
def check_data_races(definition):
    """What it checks: a step that reads a location (a processing input, a training or
    AutoML channel, a transform input, a model's artifacts) by the same expression as
    another step's output location, or a location under it (for training, tuning and
    AutoML outputs, which SageMaker writes under a folder named by the generated job name,
    only the location itself), waits for that step: through
    ``DependsOn``, a property reference, or a condition, directly or through a chain of
    other steps. Steps in different branches of one condition never both run and are not
    compared; locations built from an expression the model cannot read are not compared.

    Why it matters: SageMaker starts every step whose dependencies are met at once; a
    reader that nothing orders after the writer can start first and read yesterday's
    data, or nothing, and the run still succeeds.

    How to fix: read the writer's output through its property
    (``{"Get": "Steps.PreProc.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}``),
    which also orders the steps, or add the writer to the reader's ``DependsOn``.
    """
    from mlops_guard.definition import render_expression

    outputs = definition.outputs
    if not outputs:
        return
    order = _order(definition)
    before = order.before
    writers = {output.step.name for output in outputs}
    if order.acyclic and _all_ordered(definition, before, writers):
        return
    readers = []
    for step in definition.steps:
        name = step.name
        unordered = writers.difference(before.get(name, ()))  # writers not before it
        unordered.discard(name)
        if (
            unordered
            and any(name not in before.get(writer, ()) for writer in unordered)
            and step.jobs
        ):
            readers.append(step)  # a job step some writer is not ordered with
    if not readers:
        return
    writes: dict[tuple, list] = {}
    for output in outputs:
        template = render_expression(output.value)
        if "{?}" not in template and "{JsonGet" not in template:
            written = _segments(template)
            writes.setdefault(written[:2], []).append((output, written, template))
    for step in readers:
        for job in step.jobs:
            for name, pointer, value in job.inputs:
                template = value if type(value) is str else render_expression(value)
                read = _segments(template)
                candidates = writes.get(read[:2])
                if candidates is None or "{?}" in template or "{JsonGet" in template:
                    continue
                for output, written, shown in candidates:
                    if not _unordered_read(definition, step, output, read, written):
                        continue
                    writer = output.step.name
                    yield Violation(
                        f"step {step.name!r} reads {template} (input {name!r}), which step "
                        f"{writer!r} writes (output {output.name!r}: {shown}), and nothing "
                        f"orders the two: {step.name!r} can start before {writer!r} has "
                        "written it",
                        at=pointer,
                        subject=step.name,
                    )


def _all_ordered(definition, before: dict[str, set[str]], writers: set[str]) -> bool:
    """Every two steps that write or run a job are ordered (one runs before the other):
    no race is possible, and the pairwise search is skipped. In a graph without a cycle
    each ordered pair appears in exactly one of the two steps' ancestors, so the steps
    are all ordered exactly when those counts add up to the number of pairs."""
    can_read = [step.name for step in definition.steps if step.type in JOB_STEP_TYPES]
    involved = writers.union(can_read)
    ordered = sum(len(involved.intersection(before.get(name, ()))) for name in involved)
    return ordered == len(involved) * (len(involved) - 1) // 2


class _Order(namedtuple("_Order", "before acyclic")):
    """What orders a definition's steps: step name -> every step that must run before it
    (``before``), and whether the steps form no cycle."""

    __slots__ = ()


def _order(definition) -> _Order:
    """The order of the steps, analysed once per definition for ST004 and ST011."""

    def build() -> _Order:
        graph = definition.upstream
        found = _closure(graph)
        if found is not None:
            return _Order(found, True)
        found = {}  # a cycle (ST004's finding): what each step can reach of it
        for name in graph:
            _ancestors(graph, found, name, frozenset({name}))
        return _Order(found, False)

    return definition.memo("check_structure.order", build)


def _closure(graph: dict) -> dict[str, set[str]] | None:
    """Step name -> every step before it, for a graph without a cycle (None if it has
    one): each step's ancestors are its own needs and theirs, computed once."""
    found: dict[str, set[str]] = {}
    for name in graph:
        if name not in found and not _close(graph, found, name, set()):
            return None
    return found


def _close(graph: dict, found: dict, name: str, open_: set) -> bool:
    """Fill ``found[name]``; False on meeting a step still open (a cycle)."""
    open_.add(name)
    result: set[str] = set()
    for needed in graph.get(name, ()):
        result.add(needed)
        if needed in open_:
            return False
        if needed not in found and not _close(graph, found, needed, open_):
            return False
        result |= found[needed]
    open_.discard(name)
    found[name] = result
    return True


def _ancestors(graph: dict, found: dict, name: str, trail: frozenset) -> set[str]:
    """Every step before ``name``, memoised in ``found`` (a module function: see
    :func:`_cycles_from`)."""
    if name in found:
        return found[name]
    result: set[str] = set()
    for needed in graph.get(name, ()):
        result.add(needed)
        if needed not in trail:  # a cycle is ST004's finding
            result |= _ancestors(graph, found, needed, trail | {needed})
    found[name] = result
    return result


def _unordered_read(definition, step, output, read: tuple, written: tuple) -> bool:
    """``step`` reads (``read``) what ``output`` writes (``written``), and nothing orders
    the two steps."""
    writer = output.step.name
    if writer == step.name or read[: len(written)] != written:
        return False
    if output.kind in _JOB_FOLDER_KINDS and read != written:
        return False  # it writes into a folder named by its generated job name
    before = _order(definition).before
    if writer in before.get(step.name, ()) or step.name in before.get(writer, ()):
        return False
    return not _exclusive(definition, step.name, writer)
