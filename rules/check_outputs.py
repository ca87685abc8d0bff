"""Idempotent-output rules: a re-run for a day overwrites that day's data and nothing else.

Daily batch pipelines are re-run: after a failure, for a backfill, by a retry. Each run
must write to a place chosen by its run date alone (``.../dt=<ExecutionDate>/``), never by
the execution, the moment the definition was rendered or a generated job name, and no two
outputs may share a place.

Every rule here judges the same output locations: the step outputs of the kinds in
``output_kinds`` plus the ``extra_outputs`` pointers (where they hold an expression or a
URI; a local path at that position in another step of the type is no location). A location
that is one parameter reference as a whole (``{"Get": "Parameters.OutputPath"}``) is judged
by the parameter's default, and the finding says so.
"""

from __future__ import annotations

import fnmatch
import heapq
import re
from collections import namedtuple
from collections.abc import Iterator

from mlops_guard import Violation, compiled, rule
from mlops_guard.definition import Output, render_expression
from mlops_guard.pointer import join, resolve

_JOB_NAME_REFERENCE = re.compile(r"Job(Name|Arn)$")
_PARAMETER = re.compile(r"\{Parameters\.([^{}]+)\}")


class Location(namedtuple("Location", "output template parameter default", defaults=(None, None))):
    """An output location as the rules judge it: the ``Output``, its rendered ``template``
    (for a value that is one parameter reference as a whole, the parameter's default),
    and that ``parameter`` with its ``default``."""

    __slots__ = ()

    @property
    def label(self) -> str:
        return f"output {self.output.name!r} of step {self.output.step.name!r}"

    @property
    def shown(self) -> str:
        """The location as a message shows it."""
        if self.parameter is None:
            return self.template
        if isinstance(self.default, str):
            return f"{{Parameters.{self.parameter}}} (judged by its default {self.default!r})"
        return f"{{Parameters.{self.parameter}}} (a parameter with no default)"


def output_locations(definition, settings) -> list[Location]:
    """The outputs the policy covers, in document order, each once (shared by the IO
    rules through the definition's memo)."""
    key = ("check_outputs.output_locations", id(settings))
    return definition.memo(key, lambda: _output_locations(definition, settings))


def _output_locations(definition, settings) -> list[Location]:
    kinds = set(settings.output_kinds)
    outputs = [output for output in definition.outputs if output.kind in kinds]
    seen = {output.pointer for output in outputs}
    for output in _extra_outputs(definition, settings.extra_outputs):
        if output.pointer not in seen:
            seen.add(output.pointer)
            outputs.append(output)
    return [_locate(definition, output) for output in outputs]


def _extra_outputs(definition, extra) -> Iterator[Output]:
    for step in definition.steps:
        for relative in extra.get(step.type, None) or ():
            relative = relative if relative.startswith("/") else "/" + relative
            try:
                value = resolve(step.arguments, relative)
            except (KeyError, IndexError, TypeError, ValueError):
                continue
            if isinstance(value, str) and "://" not in value:
                continue  # a local path or a flag at that position in this step: no location
            yield Output(step, "extra", relative, step.arguments_pointer + relative, value)


def _parameter_reference(value) -> str | None:
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("Get"), str):
        path = value["Get"]
        if path.startswith("Parameters."):
            return path.split(".", 1)[1]
    return None


def _locate(definition, output: Output) -> Location:
    name = _parameter_reference(output.value)
    if name is None:
        return Location(output, render_expression(output.value))
    parameter = definition.parameters_by_name.get(name)
    default = parameter.default if parameter is not None else None
    if isinstance(default, str):
        return Location(output, default, name, default)
    return Location(output, render_expression(output.value), name, None)


def path_segments(template: str) -> list[str]:
    """``s3://b/x/dt=1/`` -> ``["s3://b", "x", "dt=1"]``; the bucket carries the scheme."""
    scheme, separator, rest = template.partition("://")
    if not separator:
        rest, scheme = template, ""
    rest = rest.strip("/")
    if not rest:
        return []
    parts = rest.split("/")
    if scheme:
        parts[0] = f"{scheme}://{parts[0]}"
    return parts


def partition_problem(template: str, key: str, run_date: str) -> tuple[str, str] | None:
    """Why ``template`` is not partitioned by ``<key>={Parameters.<run_date>}``, and the
    offending partition segment (empty if there is none); None when it is."""
    wanted = f"{key}={{Parameters.{run_date}}}"
    segments = path_segments(template)
    if wanted in segments:
        return None
    keyed = [segment for segment in segments if segment.startswith(f"{key}=")]
    if keyed and "{" not in keyed[0]:
        return f"its partition {keyed[0]!r} is a literal: every run writes it", keyed[0]
    if keyed:
        return f"its partition {keyed[0]!r} is not the run date {wanted}", keyed[0]
    if f"{{Parameters.{run_date}}}" in template:
        return f"it uses {run_date}, but not as a path segment {wanted}", ""
    return f"it has no path segment {wanted}", ""


def literals(value, pointer: str) -> list[tuple[str, str]]:
    """Every literal string inside an expression, with its pointer (built only for the
    strings found, not for every node walked)."""
    found: list[tuple[str, list]] = []
    _collect_literals(value, [], found)
    return [(text, join(pointer, *tokens)) for text, tokens in found]


def literal_texts(value) -> list[str]:
    """The literal strings of an expression, without pointers: the cheap first look
    (pointers are built by :func:`literals` only for a value that has a finding)."""
    found: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is str:
            found.append(node)
        elif kind is dict:
            if len(node) != 1 or type(node.get("Get")) is not str:
                stack.extend(node.values())
        elif kind is list:
            stack.extend(node)
    return found


def _collect_literals(value, tokens: list, found: list) -> None:
    kind = type(value)
    if kind is str:
        found.append((value, list(tokens)))
    elif kind is dict:
        if len(value) == 1 and type(value.get("Get")) is str:
            return
        for key, child in value.items():
            tokens.append(key)
            _collect_literals(child, tokens, found)
            tokens.pop()
    elif kind is list:
        for index, child in enumerate(value):
            tokens.append(index)
            _collect_literals(child, tokens, found)
            tokens.pop()


def _exempt(step_name: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(step_name, pattern) for pattern in patterns)


_HANDOFFS = {
    "function": "an @step function's results",
    "notebook": "a notebook job's executed notebook",
}


def _sdk_handoff(definition, location: Location) -> str | None:
    """What SDK machinery owns an output location it chose itself under the execution id,
    or None: the results an ``@step`` function returns (``<s3_base_uri>/<step>/<build
    time>/<execution id>/results`` in SDK v3, ``<s3_base_uri>/<execution id>/<step>/
    results`` in v2) and a notebook job's executed notebook
    (``<root>/<pipeline>/<execution id>/<step>``). Those are hand-offs between steps and
    run records, read through the step's properties, not the pipeline's data outputs.

    Which Training steps those are is the step's ``sdk_runner``
    (:attr:`mlops_guard.definition.Step.sdk_runner`)."""
    output = location.output
    if output.kind != "training" or location.parameter is not None:
        return None
    kind = _HANDOFFS.get(output.step.sdk_runner)
    if kind is None:
        return None
    references = definition.references_under(output.pointer)
    if not any(ref.path == "Execution.PipelineExecutionId" for ref in references):
        return None  # a location the author chose: judged like any other
    return kind


def data_locations(definition, settings) -> list[Location]:
    """The output locations IO001-IO003 judge: the covered outputs except the SDK's own
    hand-offs between steps (see :func:`_sdk_handoff`)."""
    key = ("check_outputs.data_locations", id(settings))
    return definition.memo(
        key,
        lambda: [
            location
            for location in output_locations(definition, settings)
            if _sdk_handoff(definition, location) is None
        ],
    )


@rule(id="IO001", category="idempotent-outputs", summary="A run-date parameter exists")
def check_run_date_parameter(definition, settings):
    """What it checks: the pipeline declares the run-date parameter named by
    ``run_date_parameter`` (default ``ExecutionDate``), of type ``String``, with a default
    that matches ``run_date_format`` (default ``YYYY-MM-DD``). A pipeline that writes no
    data output (none of the locations IO002 and IO003 judge: it only registers, deploys
    or hands results between ``@step`` functions) needs none, and is not asked for one
    (a parameter nothing uses would only be ST006's finding).

    Why it matters: the run date is what makes a daily run repeatable. Without it a
    backfill or a re-run after a failure cannot say which day it produces, and outputs end
    up keyed by execution ids or timestamps instead.

    How to fix: ``ParameterString(name="ExecutionDate", default_value="2024-01-31")`` and
    pass the scheduled day when starting an execution (EventBridge input transformer or
    ``PipelineParameters``).
    """
    name = settings.run_date_parameter
    parameter = definition.parameters_by_name.get(name)
    if parameter is None:
        if not data_locations(definition, settings):
            return  # nothing to partition: the parameter would only be unused (ST006)
        at = "/Parameters" if isinstance(definition.raw.get("Parameters"), list) else ""
        declared = ", ".join(repr(p.name) for p in definition.parameters) or "none"
        yield Violation(
            f"no run-date parameter {name!r} (String, default matching "
            f"{settings.run_date_format}); declared parameters: {declared}",
            at=at,
        )
        return
    if parameter.type != "String":
        yield Violation(
            f"run-date parameter {name!r} is of type {parameter.type!r}, not 'String'",
            at=join(parameter.pointer, "Type"),
            subject=name,
        )
    if not parameter.has_default:
        yield Violation(
            f"run-date parameter {name!r} has no default: every start must pass it and its "
            f"format ({settings.run_date_format}) cannot be checked",
            at=parameter.pointer,
            subject=name,
        )
    elif not isinstance(parameter.default, str) or not compiled(settings.run_date_format).search(
        parameter.default
    ):
        yield Violation(
            f"default {parameter.default!r} of run-date parameter {name!r} does not match "
            f"{settings.run_date_format}",
            at=join(parameter.pointer, "DefaultValue"),
            subject=name,
        )


@rule(id="IO002", category="idempotent-outputs", summary="Outputs are partitioned by run date")
def check_run_date_partition(definition, settings):
    """What it checks: every data output location (step outputs of the kinds in
    ``output_kinds`` and the ``extra_outputs`` pointers) has a full path segment
    ``<partition_key>=<run-date parameter>``, such as
    ``s3://bucket/predictions/dt={ExecutionDate}/``. A literal date (``dt=2024-01-01``)
    is reported too: it never changes. Steps matching ``exempt_steps`` are skipped; an
    output that is one parameter is judged by that parameter's default. The locations the
    SDK chooses itself under the execution id for an ``@step`` function's results and a
    notebook job's executed notebook are hand-offs between steps, read through the step's
    properties, not data outputs: neither IO002 nor IO003 judges them (a location the
    author set for such a step, without the execution id, is judged like any other).

    Why it matters: with one partition per run date, re-running a day replaces exactly
    that day's data, and readers (Glue, Athena) find each day where they expect it.

    How to fix: build the location with ``Join``:
    ``Join(on="/", values=[base_uri, "predictions", Join(on="", values=["dt=", execution_date])])``.
    """
    key, run_date = settings.partition_key, settings.run_date_parameter
    for location in data_locations(definition, settings):
        step = location.output.step
        if _exempt(step.name, settings.exempt_steps):
            continue
        problem = partition_problem(location.template, key, run_date)
        if problem is None:
            continue
        problem, partition = problem
        at = location.output.pointer
        if partition and location.parameter is None:
            for text, pointer in literals(location.output.value, location.output.pointer):
                if partition in text:
                    at = pointer
                    break
        yield Violation(
            f"{location.label} is not partitioned by run date: {problem}: {location.shown}",
            at=at,
            subject=step.name,
        )


@rule(
    id="IO003",
    category="idempotent-outputs",
    summary="Output locations do not change per execution or per render",
)
def check_stable_locations(definition, settings):
    """What it checks: no output location uses an execution variable listed in
    ``forbidden_variables`` (``Execution.PipelineExecutionId``, ``StartDateTime``, ...) or a
    job name generated per execution (``Execution.TrainingJobName``,
    ``Steps.X.TrainingJobName``), and no literal part matches ``volatile_patterns``: the
    timestamps the SDK bakes into default job names when it renders the definition
    (``s3://bucket/script-eval-2026-11-23-07-24-33-718/output/evaluation``) or Unix epoch
    seconds from ``int(time.time())``. The SDK's own hand-offs of ``@step`` functions and
    notebook jobs are not judged (see IO002).

    Why it matters: a location that differs per execution makes every re-run write
    somewhere new, so the bad output of the run it repeats stays where readers find it and
    storage grows with every retry. A render timestamp changes with every deploy.

    How to fix: set each output's destination explicitly from stable parts and the run
    date (``<base>/<step>/<output>/dt=<ExecutionDate>``) instead of relying on the SDK's
    default destinations.
    """
    forbidden = set(settings.forbidden_variables)
    patterns = [compiled(pattern) for pattern in settings.volatile_patterns]
    for location in data_locations(definition, settings):
        output = location.output
        subject = output.step.name
        references = definition.references_under(output.pointer)
        for reference in references:
            if reference.path in forbidden:
                yield Violation(
                    f"{location.label} depends on {reference.path}, which differs per "
                    f"execution, so a re-run writes somewhere new: {location.shown}",
                    at=reference.pointer,
                    subject=subject,
                )
            elif _JOB_NAME_REFERENCE.search(reference.path):
                yield Violation(
                    f"{location.label} depends on {reference.path}, a job name generated "
                    f"per execution, so a re-run writes somewhere new: {location.shown}",
                    at=reference.pointer,
                    subject=subject,
                )
        texts = []
        if any(
            pattern.search(text) for text in literal_texts(output.value) for pattern in patterns
        ):
            texts = [
                (text, pointer, "") for text, pointer in literals(output.value, output.pointer)
            ]
        for reference in references:
            parameter = definition.parameters_by_name.get(reference.parameter_name or "")
            if parameter is not None and isinstance(parameter.default, str):
                where = f" (default of parameter {parameter.name!r})"
                texts.append((parameter.default, reference.pointer, where))
        for text, pointer, where in texts:
            for pattern in patterns:
                match = pattern.search(text)
                if match:
                    yield Violation(
                        f"{location.label} contains {match.group(0)!r}{where}, a timestamp "
                        f"or generated name fixed when the definition was rendered (matches "
                        f"volatile_patterns): every deploy writes somewhere new: "
                        f"{location.shown}",
                        at=pointer,
                        subject=subject,
                    )
                    break


_LISTED_CLASHES = 20
"""Other outputs named in one IO004 finding; more are counted. A definition with
thousands of outputs at one place would otherwise make findings whose total size grows
with the square of the number of outputs."""


def _one_output(later: Location, other: Location) -> bool:
    """A step's argument naming its own output: one output, not two."""
    extra = "extra" in (later.output.kind, other.output.kind)
    return extra and later.output.step.pointer == other.output.step.pointer


def _meet(first: list[str], second: list[str]) -> bool:
    common = min(len(first), len(second))
    return first[:common] == second[:common]


def _skipped_after(entries, index: int, after: int, same_step) -> int:
    """How many locations met by ``entries[index]`` after ``entries[after]`` are the same
    output (only outputs of its own step can be, so only they are looked at)."""
    later, _literal, resolved = entries[index]
    return sum(
        1
        for other in same_step
        if after < other < index
        and _meet(resolved, entries[other][2])
        and _one_output(later, entries[other][0])
    )


@rule(id="IO004", category="idempotent-outputs", summary="No two outputs share a location")
def check_distinct_locations(definition, settings):
    """What it checks: no two output locations are the same, and none lies inside another.
    Locations are compared by path segments (``s3://b/train`` and ``s3://b/train-eval`` are
    distinct, ``s3://b/`` contains ``s3://b/x/dt=...``), with parameter references replaced
    by their defaults; the finding says when only the defaults make them meet.

    Why it matters: re-running one step (or overwriting its partition) then deletes or
    mixes the data of another, and a reader of one output picks up the files of the other.
    Training steps add a job-name folder under their path, but a shared prefix still mixes
    both steps' artifacts for readers, lifecycle rules and cleanups.

    A finding names at most 20 other outputs and counts the rest ("and 7 more outputs").

    How to fix: give every output its own prefix, e.g. ``<base>/<step>/<output>/dt=...``
    (the reference pipeline's layout).
    """
    defaults = {p.name: p.default for p in definition.parameters if isinstance(p.default, str)}

    def substitute(match: re.Match) -> str:
        return defaults.get(match.group(1), match.group(0))

    entries = []
    for location in output_locations(definition, settings):
        literal = path_segments(location.template)
        resolved = path_segments(_PARAMETER.sub(substitute, location.template))
        if resolved:
            entries.append((location, literal, resolved))
    # Two locations meet when one's segments are a prefix of the other's. Index each
    # earlier location under its own path (for the same location, or one it is inside)
    # and under every proper prefix of it (for one inside the later location): each
    # location then finds the ones it meets by lookups, not by comparing with all others.
    exact: dict[tuple, list[int]] = {}
    below: dict[tuple, list[int]] = {}
    by_step: dict[str, list[int]] = {}
    for index, (later, literal, resolved) in enumerate(entries):
        path = tuple(resolved)
        sources = [exact[path[:n]] for n in range(1, len(path) + 1) if path[:n] in exact]
        if path in below:
            sources.append(below[path])
        clashes = []
        taken = 0  # locations met so far: listed, or the same output
        for other_index in heapq.merge(*sources):  # each list is in document order
            other, other_literal, other_resolved = entries[other_index]
            if _one_output(later, other):
                taken += 1
                continue
            if len(clashes) == _LISTED_CLASHES:
                same_step = by_step.get(later.output.step.pointer, ())
                more = sum(map(len, sources)) - taken
                more -= _skipped_after(entries, index, other_index, same_step)
                clashes.append(f"{more} more outputs")
                break
            taken += 1
            if len(resolved) == len(other_resolved):
                relation = "the same location as"
            elif len(resolved) > len(other_resolved):
                relation = "inside the location of"
            else:
                relation = "a prefix of the location of"
            common = min(len(literal), len(other_literal))
            if literal[:common] != other_literal[:common]:
                relation = "by the parameters' defaults, " + relation
            clashes.append(f"{relation} {other.label} ({other.shown})")
        exact.setdefault(path, []).append(index)
        for length in range(1, len(path)):
            below.setdefault(path[:length], []).append(index)
        by_step.setdefault(later.output.step.pointer, []).append(index)
        if clashes:
            yield Violation(
                f"{later.label} writes to {later.shown}, " + "; and ".join(clashes),
                at=later.output.pointer,
                subject=later.output.step.name,
            )
