"""Naming rules: names SageMaker accepts, and names that follow the team's convention.

Each kind of name has two rules. The odd-numbered one checks SageMaker's own limit (the
API or the pipeline definition schema rejects the name: an error); the even-numbered one
checks the team's convention from ``naming`` in the policy (a warning). A name that
already breaks SageMaker's limit is reported by the limit rule only.
"""

from __future__ import annotations

import re

from mlops_guard import PIPELINE_NAME, Violation, compiled, rule

# SageMaker's limits, from the API reference and the pipeline definition JSON schema.
PIPELINE_LIMIT = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
"""``CreatePipeline.PipelineName``: 1-256 letters, digits and hyphens, no leading hyphen."""
STEP_LIMIT = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")
"""Step ``Name`` in the pipeline definition schema: 1-64 letters, digits, ``-`` and ``_``."""
PARAMETER_LIMIT = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")
"""Parameter ``Name`` in the pipeline definition schema: same as step names."""
EXPERIMENT_LIMIT = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$")
"""``PipelineExperimentConfig`` experiment and trial names: 1-120, no leading hyphen."""
EXPERIMENT_CHARSET = re.compile(r"[^a-zA-Z0-9-]")

_HYPHENATED = "letters, digits and hyphens, starting with a letter or digit"
_STEP_LIKE = "letters, digits, '-' and '_'"
LIMITS = {
    "pipeline": (PIPELINE_LIMIT, 256, f"1-256 {_HYPHENATED}"),
    "step": (STEP_LIMIT, 64, f"1-64 {_STEP_LIKE}"),
    "parameter": (PARAMETER_LIMIT, 64, f"1-64 {_STEP_LIKE}"),
    "experiment": (EXPERIMENT_LIMIT, 120, f"1-120 {_HYPHENATED}"),
    "trial": (EXPERIMENT_LIMIT, 120, f"1-120 {_HYPHENATED}"),
}

# SDK v2's ModelStep names its generated steps "<name>-RegisterModel", "<name>-CreateModel"
# and "<name>-RepackModel-<n>"; the convention applies to the part the author chose.
_SDK_SUFFIX = re.compile(r"-(?:RegisterModel|CreateModel|RepackModel(?:-\d+)?)$")


def limit_problem(kind: str, name: str) -> str | None:
    """Why SageMaker would reject ``name`` as a ``kind`` name, or None."""
    pattern, max_length, description = LIMITS[kind]
    if len(name) > max_length:
        return f"is {len(name)} characters long, over SageMaker's limit of {max_length}"
    if not pattern.fullmatch(name):
        return f"violates SageMaker's limit ({description})"
    return None


def convention_problem(settings, kind: str, name: str) -> str | None:
    """Why ``name`` does not follow the policy's ``naming.<kind>`` convention, or None."""
    convention = settings[kind]
    what = convention.get("description") or f"pattern {convention.get('pattern')}"
    max_length = convention.get("max_length")
    if max_length is not None and len(name) > max_length:
        return f"is {len(name)} characters long, over the team convention's limit of {max_length}"
    pattern = convention.get("pattern")
    if pattern and not compiled(pattern).search(name):
        return f"does not follow the team convention: {what}"
    return None


def _experiment_names(definition):
    """``(field, pointer, value)`` for the names in ``PipelineExperimentConfig``."""
    config = definition.experiment_config
    if config is None:
        return
    for field, kind in (("ExperimentName", "experiment"), ("TrialName", "trial")):
        if field in config:
            yield kind, field, f"/PipelineExperimentConfig/{field}", config[field]


def _join_literals(value, pointer):
    """Literal parts of a ``Std:Join`` (separator and string values), with pointers."""
    join = value.get("Std:Join") if isinstance(value, dict) else None
    if not isinstance(join, dict):
        return
    values = join.get("Values") if isinstance(join.get("Values"), list) else []
    separator = join.get("On")
    if isinstance(separator, str) and separator and len(values) > 1:
        yield separator, f"{pointer}/Std:Join/On"
    for index, item in enumerate(values):
        if isinstance(item, str):
            yield item, f"{pointer}/Std:Join/Values/{index}"
        else:
            yield from _join_literals(item, f"{pointer}/Std:Join/Values/{index}")


@rule(id="NM001", category="naming", summary="Pipeline name is one SageMaker accepts")
def check_pipeline_name_limit(definition):
    """What it checks: the pipeline name, when known (a ``describe-pipeline`` document, a
    template, a rendered module), matches SageMaker's ``PipelineName`` constraint:
    1-256 characters of letters, digits and hyphens, starting with a letter or digit
    (``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$``).

    Why it matters: ``CreatePipeline``/``UpdatePipeline`` reject any other name, so the
    deployment fails after review.

    How to fix: rename the pipeline, e.g. ``daily-demand-forecast`` instead of
    ``daily_demand_forecast``.
    """
    name = definition.name
    if name is None:
        return
    problem = limit_problem("pipeline", name)
    if problem:
        yield Violation(f"pipeline name {name!r} {problem}", at=PIPELINE_NAME, subject=name)


@rule(
    id="NM002",
    category="naming",
    severity="warning",
    summary="Pipeline name follows the team convention",
)
def check_pipeline_name_convention(definition, settings):
    """What it checks: the pipeline name, when known, matches ``naming.pipeline.pattern``
    and is at most ``naming.pipeline.max_length`` characters (default: kebab-case starting
    with a letter, at most 82).

    Why it matters: one naming scheme makes pipelines, their experiments and their
    outputs findable; job names derived from the pipeline name must also fit SageMaker's
    shorter job-name limits.

    How to fix: rename the pipeline to the convention, e.g. ``daily-demand-forecast``.
    """
    name = definition.name
    if name is None or limit_problem("pipeline", name):
        return
    problem = convention_problem(settings, "pipeline", name)
    if problem:
        yield Violation(f"pipeline name {name!r} {problem}", at=PIPELINE_NAME, subject=name)


@rule(id="NM003", category="naming", summary="Step names are ones SageMaker accepts")
def check_step_name_limit(step):
    """What it checks: each step name, nested ones included, has 1-64 characters of
    letters, digits, ``-`` and ``_`` (the pipeline definition schema's
    ``^[A-Za-z0-9\\-_]{1,64}$``).

    Why it matters: SageMaker rejects the definition at ``UpsertPipeline``; spaces and dots
    also break the ``Steps.<name>...`` references other steps use.

    How to fix: rename the step, e.g. ``TrainEvaluation`` instead of ``Train evaluation``,
    and update the references and ``DependsOn`` entries that name it.
    """
    problem = limit_problem("step", step.name)
    if problem:
        yield Violation(f"step name {step.name!r} {problem}", at=f"{step.pointer}/Name")


@rule(
    id="NM004",
    category="naming",
    severity="warning",
    summary="Step names follow the team convention",
)
def check_step_name_convention(step, settings):
    """What it checks: each step name matches ``naming.step.pattern`` and
    ``naming.step.max_length`` (default: PascalCase). The suffixes SDK v2 adds to model
    steps (``-RegisterModel``, ``-CreateModel``, ``-RepackModel-<n>``) are ignored: the
    convention applies to the name the author chose.

    Why it matters: step names appear in the console, in execution histories, in job
    names and in every ``Steps.<name>`` reference; one scheme keeps them readable.

    How to fix: rename the step, e.g. ``PreProc`` instead of ``pre_proc``.
    """
    if limit_problem("step", step.name):
        return
    name = _SDK_SUFFIX.sub("", step.name)
    problem = convention_problem(settings, "step", name)
    if problem:
        yield Violation(f"step name {name!r} {problem}", at=f"{step.pointer}/Name")


@rule(id="NM005", category="naming", summary="Parameter names are ones SageMaker accepts")
def check_parameter_name_limit(parameter):
    """What it checks: each pipeline parameter name has 1-64 characters of letters,
    digits, ``-`` and ``_`` (the pipeline definition schema's ``^[A-Za-z0-9\\-_]{1,64}$``).

    Why it matters: SageMaker rejects the definition, and ``StartPipelineExecution`` could
    not pass a value to such a parameter anyway.

    How to fix: rename the parameter, e.g. ``ExecutionDate`` instead of ``execution.date``,
    and update the ``{"Get": "Parameters..."}`` references.
    """
    problem = limit_problem("parameter", parameter.name)
    if problem:
        yield Violation(
            f"parameter name {parameter.name!r} {problem}", at=f"{parameter.pointer}/Name"
        )


@rule(
    id="NM006",
    category="naming",
    severity="warning",
    summary="Parameter names follow the team convention",
)
def check_parameter_name_convention(parameter, settings):
    """What it checks: each parameter name matches ``naming.parameter.pattern`` and
    ``naming.parameter.max_length`` (default: PascalCase).

    Why it matters: parameters are what schedulers and people pass at execution start;
    one scheme avoids ``execution_date`` here and ``ExecutionDate`` there.

    How to fix: rename the parameter, e.g. ``InputDataUri`` instead of ``input_data_uri``.
    """
    if limit_problem("parameter", parameter.name):
        return
    problem = convention_problem(settings, "parameter", parameter.name)
    if problem:
        yield Violation(
            f"parameter name {parameter.name!r} {problem}", at=f"{parameter.pointer}/Name"
        )


@rule(
    id="NM007", category="naming", summary="Experiment and trial names are ones SageMaker accepts"
)
def check_experiment_name_limit(definition):
    """What it checks: literal ``ExperimentName`` and ``TrialName`` values in
    ``PipelineExperimentConfig`` have 1-120 letters, digits and hyphens, starting with a
    letter or digit (``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$``); for ``Std:Join`` names, the
    literal parts and the separator use only letters, digits and hyphens. Names taken
    from ``Get`` expressions are checked by RF001.

    Why it matters: SageMaker creates the experiment and trial at execution start; a name
    it rejects fails every execution.

    How to fix: use hyphens instead of ``_``, ``.`` or spaces, e.g.
    ``demand-forecast-experiments``, or take the name from ``Execution.PipelineName``.
    """
    for kind, field, pointer, value in _experiment_names(definition):
        if isinstance(value, str):
            problem = limit_problem(kind, value)
            if problem:
                yield Violation(f"{field} {value!r} {problem}", at=pointer)
            continue
        for literal, at in _join_literals(value, pointer):
            bad = sorted(set(EXPERIMENT_CHARSET.findall(literal)))
            if bad:
                shown = "".join(bad)
                yield Violation(
                    f"{field} joins the literal {literal!r}, whose characters {shown!r} "
                    "violate SageMaker's limit (letters, digits and hyphens only)",
                    at=at,
                )


@rule(
    id="NM008",
    category="naming",
    severity="warning",
    summary="Literal experiment and trial names follow the team convention",
)
def check_experiment_name_convention(definition, settings):
    """What it checks: literal ``ExperimentName`` and ``TrialName`` values in
    ``PipelineExperimentConfig`` match ``naming.experiment`` and ``naming.trial``
    (pattern and max_length).

    Why it matters: experiment names are how runs are found later; a name outside the
    convention hides the pipeline's runs from the team's dashboards and audits.

    How to fix: rename to the convention, or better, take the names from the execution
    (``Execution.PipelineName`` and ``Execution.PipelineExecutionId``, see RF001).
    """
    for kind, field, pointer, value in _experiment_names(definition):
        if not isinstance(value, str) or limit_problem(kind, value):
            continue
        problem = convention_problem(settings, kind, value)
        if problem:
            yield Violation(f"{field} {value!r} {problem}", at=pointer)
