"""Reading the store an audit checks: from SageMaker, MLflow, export files, any source.

The metadata layer (:mod:`mlops_guard.metadata.sources`) does the reading, and each
source's module says how its options become ``fetch_store`` keywords and which label
names where its findings come from (:func:`read_source`). This module adds what only
the audit needs: several export files merged into one history (the reference pipeline
writes one file per run date), and a boto3 session whose API calls the progress bar can
count, reading what the policy asks for (:func:`read_sagemaker`).
"""

from __future__ import annotations

from pathlib import Path

from mlops_guard.errors import InputError

EXPORT_SUFFIXES = (".json", ".yaml", ".yml")


def read_sagemaker(args, boto_session=None, on_call=None, policy=None):
    """``(store, label)`` from SageMaker; ``on_call`` is told of every API call made.
    ``policy`` limits the model package groups read and the keys listed per output."""
    from mlops_guard.errors import require_extra
    from mlops_guard.metadata.sources import sagemaker

    require_extra("boto3", "aws", "audit sagemaker")
    options = sagemaker.fetch_options(args)
    if boto_session is None:
        boto_session = _boto_session(options["region"], options["profile"])
    if on_call is not None:
        boto_session.events.register("before-call", lambda **_: on_call())
    options.update(
        series=False,  # no rule reads metric time series; one value per run is plotted
        boto_session=boto_session,  # it, not region and profile, is what is read
        timeout=args.timeout,
        **_produced_options(policy),
    )
    return sagemaker.fetch_store(**options), sagemaker.label(options)


def _produced_options(policy) -> dict:
    if policy is None:
        return {}
    return {
        "model_package_groups": policy.evaluation_thresholds.model_registry.groups,
        "max_keys_per_prefix": policy.idempotent_outputs.max_keys_per_prefix,
    }


def _boto_session(region: str | None, profile: str | None):
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.session.Session(region_name=region, profile_name=profile)
    except BotoCoreError as error:
        raise InputError(" ".join(str(error).split()), where="sagemaker") from None


def read_source(source, args):
    """``(store, label)`` of a source the audit reads as it is (MLflow, and any new
    source): its options as its module maps them, and ``--timeout`` if it is live."""
    from mlops_guard.metadata.sources import export

    module = source.load()
    options = module.fetch_options(args)
    if source.live:
        options["timeout"] = args.timeout
    store = export(args.source, **options)
    return store, module.label(options)


def read_files(paths: list[str], loaded: list | None = None):
    """``(store, label)`` of export files (directories: every export file under them,
    sorted), merged: experiments by name, trials by name, runs by name (later files win).
    ``loaded`` is what :func:`load_files` already returned for ``paths``."""
    loaded = load_files(paths) if loaded is None else loaded
    files = [path for path, _store in loaded]
    label = str(files[0]) if len(files) == 1 else " ".join(paths)
    return merge([store for _path, store in loaded]), label


def load_files(paths: list[str]) -> list:
    """``(path, store)`` of every export file named or under the directories named."""
    from mlops_guard.metadata.io import load_store

    return [(path, load_store(path)) for path in export_files(paths)]


def export_files(paths: list[str]) -> list[Path]:
    """The export files named, or under the directories named (sorted). Every one is a
    regular file: a FIFO or device is never opened (it would hang or never end), and an
    export-named entry that is not a file, or a directory that cannot be listed, is an
    error rather than a part of the history quietly left out."""
    files: list[Path] = []
    for text in paths:
        path = Path(text)
        kind = _kind(path)
        if kind == "directory":
            found = sorted(_exports_under(path))
            if not found:
                raise InputError("no .json/.yaml export files in this directory", file=text)
            files.extend(found)
        elif kind == "file":
            files.append(path)
        elif kind is None:
            raise InputError("no such file or directory", file=text)
        else:
            raise InputError(f"not a regular file ({kind}): not read", file=text)
    return files


def _kind(path: Path) -> str | None:
    """``file``, ``directory``, another kind of entry, or None when nothing is there."""
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", file=str(path)) from None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    return "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"


def _exports_under(root: Path) -> list[Path]:
    """Export files under ``root``, without recursion; a directory reached twice (a
    symlink loop) is listed once."""
    import os

    found: list[Path] = []
    pending = [root]
    listed_dirs: set[tuple[int, int]] = set()
    while pending:
        directory = pending.pop()
        try:
            info = directory.stat()
            if (info.st_dev, info.st_ino) in listed_dirs:
                continue
            listed_dirs.add((info.st_dev, info.st_ino))
            with os.scandir(directory) as entries:
                listed = list(entries)
        except OSError as error:
            raise InputError(
                f"cannot list: {error.strerror or error}", file=str(directory)
            ) from None
        for entry in listed:
            path = Path(entry.path)
            if path.suffix.lower() not in EXPORT_SUFFIXES and _kind(path) == "directory":
                pending.append(path)
            elif path.suffix.lower() in EXPORT_SUFFIXES:
                kind = _kind(path)
                if kind is None:
                    raise InputError("a symlink to nothing: not read", file=entry.path)
                if kind != "file":
                    raise InputError(f"not a regular file ({kind}): not read", file=entry.path)
                found.append(path)
    return found


def merge(stores: list):
    """One store of many: what several exports of the same account or tracker hold."""
    from mlops_guard.metadata.model import MetadataStore

    if len(stores) == 1:
        return stores[0]
    experiments: dict[str, object] = {}
    pipelines: dict[str, object] = {}
    groups: dict[str, object] = {}
    outputs: dict[tuple, object] = {}
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
        # What was produced is a snapshot of the account: the latest file's view wins.
        groups.update((group.name, group) for group in store.model_package_groups)
        outputs.update(((o.pipeline, o.step, o.output, o.base_uri), o) for o in store.outputs)
        unreadable.extend(store.unreadable)
    return MetadataStore(
        experiments=[experiments[name] for name in sorted(experiments)],
        pipelines=[pipelines[name] for name in sorted(pipelines)],
        model_package_groups=[groups[name] for name in sorted(groups)],
        outputs=[outputs[key] for key in sorted(outputs)],
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
