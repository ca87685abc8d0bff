"""Experiment metadata rules: how recorded experiments are named and what each run records.

These run on a metadata store (``mlops-guard audit``), not on definitions. Each
experiment has a *kind* (``naming.experiment_kinds``, the first whose ``match`` regex is
found in its name): pipeline experiments are named after their pipeline and hold one
trial per execution, debug experiments name their trials freely; each kind lists the
fields its runs must record (``required_fields``), and ``recorded_fields.runs`` says
what counts as evidence of each field.

A run is a trial component. Every run of a kind that requires a field must record it,
unless the field's ``applies_to`` globs (source type from the run's source ARN, e.g.
``training-job``, or step display name) leave the run out: a Predict step has no
hyperparameters to record. Runs whose records could not be read are reported as not
evaluated, never as passing.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

from mlops_guard import NotEvaluated, Violation, rule
from mlops_guard.metadata import recorded_runs, store_lookup
from mlops_guard.pointer import join


def _limits(spec, name: str, what: str) -> str | None:
    if spec.max_length and len(name) > spec.max_length:
        return f"{what} name {name!r} is {len(name)} characters, more than {spec.max_length}"
    if spec.pattern and not re.fullmatch(spec.pattern, name):
        extra = f" ({spec.description})" if spec.description else ""
        return f"{what} name {name!r} does not match {spec.pattern}{extra}"
    return None


def _trials(store, experiment):
    base = store_lookup.experiment_pointer(store, experiment)
    for index, trial in enumerate(experiment.trials):
        yield trial, join(base, "trials", index), f"{experiment.name}/{trial.name}"


def _runs(store, experiment):
    for trial, pointer, subject in _trials(store, experiment):
        for index, component in enumerate(trial.components):
            yield component, join(pointer, "components", index), f"{subject}/{component.name}"


# -- naming -----------------------------------------------------------------------------


@rule(id="NM101", category="naming", summary="Experiment names are ones SageMaker accepts")
def check_experiment_name(experiment, settings):
    """What it checks: each recorded experiment's name matches ``naming.experiment``
    (pattern and ``max_length``; by default SageMaker's own limit: 1-120 characters of
    letters, digits and single or repeated hyphens, starting and ending alphanumeric).

    Why it matters: a name SageMaker refuses makes the pipeline's ``CreateExperiment`` fail
    at the first execution; in an export from elsewhere (MLflow) it means the runs cannot
    be moved to SageMaker Experiments as they are.

    How to fix: rename the experiment (for pipeline experiments: the pipeline), e.g.
    ``daily-demand-forecast`` rather than ``daily_demand_forecast``.
    """
    problem = _limits(settings.experiment, experiment.name, "experiment")
    assert problem is None, problem


@rule(id="NM102", category="naming", summary="Trial names are ones SageMaker accepts")
def check_trial_names(experiment, store, settings):
    """What it checks: each trial's name matches ``naming.trial`` (pattern and
    ``max_length``; SageMaker's limit by default). Debug experiments name their trials
    freely, but within these limits too.

    Why it matters: SageMaker rejects other names, so a tracker that writes them loses the
    run's grouping, or the export cannot be replayed.

    How to fix: name trials with letters, digits and hyphens, at most 120 characters.
    """
    for trial, pointer, subject in _trials(store, experiment):
        problem = _limits(settings.trial, trial.name, "trial")
        if problem:
            yield Violation(problem, at=pointer, subject=subject)


@rule(id="NM103", category="naming", summary="Run names are ones SageMaker accepts")
def check_component_names(experiment, store, settings):
    """What it checks: each trial component's (run's) name matches
    ``naming.trial_component`` (pattern and ``max_length``; SageMaker's limit by default).

    Why it matters: SageMaker rejects other names; the job's metadata is then not recorded
    at all.

    How to fix: name runs with letters, digits and hyphens, at most 120 characters (jobs
    started by pipelines get such names automatically).
    """
    for component, pointer, subject in _runs(store, experiment):
        problem = _limits(settings.trial_component, component.name, "run")
        if problem:
            yield Violation(problem, at=pointer, subject=subject)


@rule(id="NM104", category="naming", summary="A pipeline experiment is named after its pipeline")
def check_experiment_pipeline(experiment, store, settings):
    """What it checks: an experiment of a kind with ``pipeline: true`` has the name of the
    pipeline whose executions it records (the pipeline named in its trials' execution
    ARNs); when it records none, a deployed pipeline of the store must have its name.

    Why it matters: SageMaker's default ``PipelineExperimentConfig`` names the experiment
    after the pipeline, and every dashboard and this audit find a pipeline's history by
    that name; an experiment named otherwise is history nobody looks at.

    How to fix: keep ``ExperimentName`` = ``ExecutionVariables.PIPELINE_NAME`` in the
    pipeline's experiment config, or rename the experiment to match its kind (e.g.
    ``debug-...`` for hand-run experiments).
    """
    kind = recorded_runs.experiment_kind(settings, experiment.name)
    if kind is None or not kind.settings.pipeline:
        return
    recorded = recorded_runs.experiment_pipelines(experiment)
    others = sorted(recorded - {experiment.name})
    if others:
        yield (
            f"pipeline experiment {experiment.name!r} records executions of pipeline "
            f"{', '.join(repr(name) for name in others)}: name it after its pipeline"
        )
        return
    deployed = {pipeline.name for pipeline in store.pipelines}
    if not recorded and deployed and experiment.name not in deployed:
        yield (
            f"pipeline experiment {experiment.name!r} records no execution and no deployed "
            f"pipeline has its name (deployed: {', '.join(sorted(deployed))})"
        )


@rule(id="NM105", category="naming", summary="A pipeline trial is named by its execution id")
def check_trial_execution(experiment, store, settings):
    """What it checks: in a pipeline experiment, each trial's name matches the kind's
    ``trial_pattern`` and equals the execution id of the pipeline execution it records (the
    last part of its ``pipeline_execution_arn``), and all its runs belong to that one
    execution. Extra trials are allowed only when they match ``metric_trial_pattern``
    (e.g. ``metrics-...`` trials holding metrics computed later).

    Why it matters: the execution id is how a run is traced back to the execution, its
    parameters and its logs; a trial named otherwise, or mixing executions, breaks that.

    How to fix: keep ``TrialName`` = ``ExecutionVariables.PIPELINE_EXECUTION_ID`` in the
    experiment config; put ad-hoc metrics in a trial named ``metrics-<something>``.
    """
    kind = recorded_runs.experiment_kind(settings, experiment.name)
    if kind is None or not kind.settings.pipeline:
        return
    pattern = kind.settings.trial_pattern
    for trial, pointer, subject in _trials(store, experiment):
        if recorded_runs.is_metric_trial(kind, trial):
            continue
        arns = recorded_runs.execution_arns(trial)
        ids = sorted(
            {parsed[1] for parsed in map(recorded_runs.parse_execution_arn, arns) if parsed}
        )
        if pattern and not re.search(pattern, trial.name):
            extra = kind.settings.metric_trial_pattern
            allowed = f" or, for an extra trial, {extra}" if extra else ""
            yield Violation(
                f"trial {trial.name!r} is not named by an execution id ({pattern}){allowed}",
                at=pointer,
                subject=subject,
            )
        elif len(ids) > 1:
            yield Violation(
                f"trial {trial.name!r} holds runs of {len(ids)} executions ({', '.join(ids)}): "
                "one trial per execution",
                at=pointer,
                subject=subject,
            )
        elif ids and ids[0] != trial.name:
            yield Violation(
                f"trial {trial.name!r} records execution {ids[0]!r}: name it by that id",
                at=pointer,
                subject=subject,
            )


@rule(id="NM106", category="naming", summary="A pipeline execution has one trial")
def check_one_trial_per_execution(experiment, store, settings):
    """What it checks: in a pipeline experiment, no two execution trials record the same
    pipeline execution.

    Why it matters: two trials for one execution split its runs, so one of them lacks the
    evaluation metrics and the other the training parameters; thresholds and drift are
    then judged on half an execution.

    How to fix: let the pipeline create the trial (``PipelineExperimentConfig``) and do not
    create trials for executions by hand.
    """
    kind = recorded_runs.experiment_kind(settings, experiment.name)
    if kind is None or not kind.settings.pipeline:
        return
    first: dict[str, str] = {}
    for trial, pointer, subject in _trials(store, experiment):
        if recorded_runs.is_metric_trial(kind, trial):
            continue
        for arn in recorded_runs.execution_arns(trial):
            if arn in first:
                yield Violation(
                    f"trials {first[arn]!r} and {trial.name!r} both record execution {arn}",
                    at=pointer,
                    subject=subject,
                )
            else:
                first[arn] = trial.name


@rule(id="NM107", category="naming", summary="Experiments carry the required tags")
def check_experiment_tags(experiment, settings):
    """What it checks: each experiment has every tag of ``naming.required_tags`` plus its
    kind's ``required_tags``, with a non-empty value.

    Why it matters: tags are how cost, ownership and retention are attributed; an
    experiment without an owner tag is one nobody cleans up or answers for.

    How to fix: add the tags (``AddTags`` on the experiment ARN, or ``tags`` when the
    pipeline is upserted: SageMaker copies pipeline tags to its experiment).
    """
    kind = recorded_runs.experiment_kind(settings, experiment.name)
    required = list(settings.required_tags) + list(kind.settings.required_tags if kind else ())
    missing = [tag for tag in dict.fromkeys(required) if not experiment.tags.get(tag)]
    assert not missing, (
        f"experiment {experiment.name!r} lacks required tag{'s' if len(missing) > 1 else ''} "
        f"{', '.join(missing)}"
    )


# -- recorded fields ------------------------------------------------------------------------


def _values(mapping, globs):
    return [
        (key, value) for key, value in mapping.items() if any(fnmatchcase(key, g) for g in globs)
    ]


def _has_evidence(component, spec, glob_kind: str, glob: str) -> bool:
    pattern = spec.pattern
    if glob_kind == "metrics":
        return any(
            recorded_runs.metric_last(component, key) is not None
            for key, _ in _values(component.metrics, [glob])
        )
    source = {
        "parameters": component.parameters,
        "tags": component.tags,
        "artifacts": {name: a.uri for name, a in component.input_artifacts.items()},
    }[glob_kind]
    for _key, value in _values(source, [glob]):
        text = str(value).strip()
        if text and (not pattern or re.search(pattern, text)):
            return True
    return False


def _missing_evidence(component, spec) -> list[str]:
    """The globs (as ``kind glob``) lacking evidence; empty when the field is recorded."""
    globs = [
        (kind, glob)
        for kind in ("parameters", "tags", "artifacts", "metrics")
        for glob in spec[kind]
    ]
    lacking = [(k, g) for k, g in globs if not _has_evidence(component, spec, k, g)]
    if spec.require == "all":
        return [f"{k[:-1]} {g}" for k, g in lacking]
    if len(lacking) < len(globs):
        return []
    return [f"{k[:-1]} {g}" for k, g in lacking] or ["no evidence is defined for it"]


def _describe(field: str, spec, missing: list[str]) -> str:
    how = " and ".join(missing) if spec.require == "all" else " or ".join(missing)
    matching = f" matching {spec.pattern}" if spec.pattern else ""
    need = "needs" if spec.require == "all" else "expected"
    return f"records no {field.replace('_', ' ')} ({need} {how}{matching})"


def _check_field(experiment, store, policy, field: str):
    kind = recorded_runs.experiment_kind(policy.naming, experiment.name)
    if kind is None or field not in kind.settings.required_fields:
        return
    if field not in policy.recorded_fields.runs:
        return  # RF107 reports the policy gap, once
    spec = policy.recorded_fields.runs[field]
    for component, pointer, subject in _runs(store, experiment):
        if not recorded_runs.applies(spec.applies_to, component):
            continue
        unread = store_lookup.unread_about(store, component.name)
        if unread:
            yield NotEvaluated(store_lookup.could_not_read(unread), at=pointer, subject=subject)
            continue
        missing = _missing_evidence(component, spec)
        if missing:
            step = component.display_name or component.name
            yield Violation(f"run {step!r} {_describe(field, spec, missing)}", pointer, subject)


@rule(id="RF101", category="recorded-fields", summary="Runs record their code version")
def check_run_code_version(experiment, store, policy):
    """What it checks: where the experiment's kind requires ``code_version``, each run
    records it as ``recorded_fields.runs.code_version`` says (by default a
    ``code_version``, ``git_commit`` or ``image_digest`` parameter, or an
    ``mlflow.source.git.commit`` tag).

    Why it matters: a model whose code version is unknown cannot be rebuilt or explained;
    "which commit produced yesterday's forecast?" must have an answer.

    How to fix: log the commit or the code's hash as a parameter of each job (the
    reference records ``code_version: sha256:<script hash>`` or the image digest).
    """
    yield from _check_field(experiment, store, policy, "code_version")


@rule(id="RF102", category="recorded-fields", summary="Runs record their data version")
def check_run_data_version(experiment, store, policy):
    """What it checks: where the kind requires ``data_version``, each run records which
    data it read in a versioned form: by default a ``data_version`` parameter or an input
    artifact whose URI carries a run-date partition (``dt=YYYY-MM-DD``), an S3
    ``versionId`` or a ``/v<N>/`` path segment.

    Why it matters: "latest" data cannot be read again; a dated or versioned URI can, so
    the run can be reproduced and its metrics compared like for like.

    How to fix: read inputs from dated partitions (``.../dt=2026-11-20/``) or versioned
    objects, and record them as input artifacts or a ``data_version`` parameter.
    """
    yield from _check_field(experiment, store, policy, "data_version")


@rule(id="RF103", category="recorded-fields", summary="Training runs record hyperparameters")
def check_run_hyperparameters(experiment, store, policy):
    """What it checks: where the kind requires ``hyperparameters``, each run it applies
    to (by default training and tuning jobs: ``applies_to``) records at least one non-empty
    hyperparameter (parameters ``hp.*`` by default).

    Why it matters: without its hyperparameters a model cannot be retrained to the same
    result, and a changed hyperparameter cannot be told from changed data.

    How to fix: log hyperparameters as parameters of the training run (SageMaker records
    a training job's ``HyperParameters``; the reference logs them as ``hp.<name>``).
    """
    yield from _check_field(experiment, store, policy, "hyperparameters")


@rule(id="RF104", category="recorded-fields", summary="Runs record the metrics the policy names")
def check_run_metrics(experiment, store, policy):
    """What it checks: where the kind requires ``metrics``, each run it applies to (by
    default training jobs and ``*Evaluation`` steps) records a value for every metric of
    ``recorded_fields.runs.metrics`` (``mape`` by default; each name a glob).

    Why it matters: thresholds and drift (ET1xx) are judged on recorded metrics; a run
    without them is a model nobody evaluated.

    How to fix: log the metric on the run (``MetricDefinitions`` of a training job,
    ``BatchPutMetrics`` or ``mlflow.log_metric`` from an evaluation step).
    """
    yield from _check_field(experiment, store, policy, "metrics")


@rule(id="RF105", category="recorded-fields", summary="Runs record their environment")
def check_run_environment(experiment, store, policy):
    """What it checks: where the kind requires ``environment``, each run records what it
    ran on: by default both an ``image_uri`` and an ``instance_type`` parameter
    (``require: all``).

    Why it matters: the same code on another image or instance type can give other
    results and other costs; without the record the difference cannot be found.

    How to fix: log the image URI (with its digest) and the instance type as parameters
    of each job.
    """
    yield from _check_field(experiment, store, policy, "environment")


@rule(id="RF106", category="recorded-fields", summary="Runs carry a note where required")
def check_run_note(experiment, store, policy):
    """What it checks: where the kind requires ``note`` (by default debug experiments),
    each run records a free-text note: a ``note`` parameter or tag, or MLflow's
    ``mlflow.note.content`` tag.

    Why it matters: a hand-run experiment without a word on what was tried is noise a
    month later; the note is what makes it a result.

    How to fix: add the note when logging the run (``mlflow.set_tag("mlflow.note.content",
    "...")``, or a ``note`` parameter).
    """
    yield from _check_field(experiment, store, policy, "note")


_BUILTIN_FIELDS = (
    "code_version",
    "data_version",
    "hyperparameters",
    "metrics",
    "environment",
    "note",
)


@rule(id="RF107", category="recorded-fields", summary="Runs record the team's other fields")
def check_run_other_fields(experiment, store, policy):
    """What it checks: the fields an experiment kind requires that RF101-RF106 do not
    cover (a team's own, e.g. ``owner``), each recorded as its
    ``recorded_fields.runs.<field>`` entry says; and that every required field has such an
    entry.

    Why it matters: a field the policy requires but nothing checks is a requirement on
    paper only.

    How to fix: record the field on each run, or define its evidence under
    ``recorded_fields.runs``.
    """
    kind = recorded_runs.experiment_kind(policy.naming, experiment.name)
    if kind is None:
        return
    for field in kind.settings.required_fields:
        if field not in policy.recorded_fields.runs:
            yield (
                f"experiment kind {kind.name!r} requires {field!r}, but recorded_fields.runs "
                f"defines no evidence of it: add recorded_fields.runs.{field} to the policy"
            )
        elif field not in _BUILTIN_FIELDS:
            yield from _check_field(experiment, store, policy, field)
