"""Reading the store an audit checks: from SageMaker, MLflow, or export files.

The metadata layer (:mod:`mlops_guard.metadata.sources`) does the reading; this module
adds what only the audit needs: several export files merged into one history (the
reference pipeline writes one file per run date), a boto3 session whose API calls the
progress bar can count, and labels that name where findings come from.
"""

from __future__ import annotations

from pathlib import Path

from mlops_guard.errors import InputError

EXPORT_SUFFIXES = (".json", ".yaml", ".yml")


def read_sagemaker(args, session=None, on_call=None):
    """``(store, label)`` from SageMaker; ``on_call`` is told of every API call made."""
    from mlops_guard.errors import require_extra
    from mlops_guard.metadata.sources import sagemaker

    require_extra("boto3", "aws", "audit sagemaker")
    if session is None:
        session = _session(args.region, args.profile)
    if on_call is not None:
        session.events.register("before-call", lambda **_: on_call())
    store = sagemaker.fetch_store(
        since=args.since,
        experiment_prefix=args.experiment_prefix,
        series=False,  # no rule reads metric time series; one value per run is plotted
        session=session,
        timeout=args.timeout,
    )
    region = session.region_name or "default-region"
    return store, f"sagemaker:{region}"


def _session(region: str | None, profile: str | None):
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.session.Session(region_name=region, profile_name=profile)
    except BotoCoreError as error:
        raise InputError(" ".join(str(error).split()), where="sagemaker") from None


def read_mlflow(args):
    from mlops_guard.metadata.sources import mlflow

    store = mlflow.fetch_store(
        tracking_uri=args.tracking_uri,
        experiment_prefix=args.experiment_prefix,
        timeout=args.timeout,
    )
    return store, f"mlflow:{args.tracking_uri}"


def read_files(paths: list[str]):
    """``(store, label)`` of export files (directories: every export file under them,
    sorted), merged: experiments by name, trials by name, runs by name (later files win)."""
    from mlops_guard.metadata.io import load_store

    files = export_files(paths)
    stores = [load_store(path) for path in files]
    label = str(files[0]) if len(files) == 1 else " ".join(paths)
    return merge(stores), label


def export_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EXPORT_SUFFIXES
            )
            if not found:
                raise InputError("no .json/.yaml export files in this directory", file=text)
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError("no such file or directory", file=text)
    return files


def merge(stores: list):
    """One store of many: what several exports of the same account or tracker hold."""
    from mlops_guard.metadata.model import MetadataStore

    if len(stores) == 1:
        return stores[0]
    experiments: dict[str, object] = {}
    pipelines: dict[str, object] = {}
    unreadable = []
    for store in stores:
        for experiment in store.experiments:
            if experiment.name not in experiments:
                experiments[experiment.name] = experiment.model_copy(update={"trials": []})
            merged = experiments[experiment.name]
            merged.tags = {**merged.tags, **experiment.tags}
            merged.trials = _merge_trials(merged.trials, experiment.trials)
        for pipeline in store.pipelines:
            pipelines[pipeline.name] = pipeline
        unreadable.extend(store.unreadable)
    return MetadataStore(
        experiments=[experiments[name] for name in sorted(experiments)],
        pipelines=[pipelines[name] for name in sorted(pipelines)],
        unreadable=unreadable,
    )


def _merge_trials(existing: list, incoming: list) -> list:
    trials = {trial.name: trial for trial in existing}
    for trial in incoming:
        if trial.name in trials:
            runs = {c.name: c for c in trials[trial.name].components}
            runs.update({c.name: c for c in trial.components})
            trial = trial.model_copy(update={"components": list(runs.values())})
        trials[trial.name] = trial
    return [trials[name] for name in sorted(trials)]
