"""How an MLflow store's experiments and runs become the model's (the mapping is described
in :mod:`mlops_guard.metadata.sources.mlflow`), and what of them could not be read.

Imported when the ``mlflow`` source reads, never by the parsers that import the source.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from mlops_guard.metadata.errors import MetadataInputError
from mlops_guard.metadata.model import (
    Artifact,
    Experiment,
    MetadataStore,
    MetricPoint,
    MetricSummary,
    Trial,
    TrialComponent,
    Unreadable,
)

PARENT_TAG = "mlflow.parentRunId"
NOTE_TAG = "mlflow.note.content"
PAGE_SIZE = 1000


def read_store(uri: str, tracking_uri: str, prefix: str | None, reading: Reading) -> MetadataStore:
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from mlops_guard.metadata.sources._mlflow_store import SkippedEntries, file_store_allowed

    try:
        with SkippedEntries() as skipped, file_store_allowed(uri):
            client = MlflowClient(tracking_uri=uri)
            experiments = [
                experiment
                for found in _all_experiments(client)
                if (experiment := reading.experiment(client, found, prefix))
            ]
    except MlflowException as error:
        raise MetadataInputError(_one_line(error.message), where=f"mlflow {tracking_uri}") from None
    except Exception as error:  # whatever a corrupt store makes MLflow raise
        raise MetadataInputError(
            f"cannot read the store: {type(error).__name__}: {_one_line(error)}",
            where=f"mlflow {tracking_uri}",
        ) from None
    unreadable = reading.unreadable + [
        Unreadable(what="mlflow:the store (MLflow warned while reading it)", reason=message)
        for message in skipped.messages
    ]
    return MetadataStore(
        experiments=sorted(experiments, key=lambda e: e.name),
        unreadable=sorted(unreadable, key=lambda item: (item.what, item.reason)),
    )


class Reading:
    """One read of a store: the deadline, and the experiments and runs not read."""

    def __init__(self, timeout: float | None):
        self.timeout = timeout
        self.end = None if timeout is None else time.monotonic() + timeout
        self.unreadable: list[Unreadable] = []

    def late(self, what: str) -> bool:
        if self.end is None or time.monotonic() < self.end:
            return False
        reason = f"not read: the --timeout of {self.timeout:g} s had passed"
        self.unreadable.append(Unreadable(what=what, reason=reason))
        return True

    def failed(self, what: str, error: Exception) -> None:
        message = getattr(error, "message", None) or error
        reason = f"{type(error).__name__}: {_one_line(message)}"
        self.unreadable.append(Unreadable(what=what, reason=reason))

    def experiment(self, client, found, prefix: str | None) -> Experiment | None:
        what = f"mlflow:experiment {found.experiment_id}"
        try:
            name = found.name
            if not isinstance(name, str):
                raise TypeError(f"its name is {type(name).__name__}, not text")
            if prefix and not name.startswith(prefix):
                return None
            what = f"mlflow:experiment {found.experiment_id} ({name})"
            if self.late(what):
                return None
            return _experiment(client, found, self)
        except Exception as error:  # a corrupt entry is unreadable, not fatal
            self.failed(what, error)
            return None

    def component(self, client, run) -> TrialComponent | None:
        what = f"mlflow:run {run.info.run_id}"
        if self.late(what):
            return None
        try:
            return _component(client, run)
        except Exception as error:  # a corrupt entry is unreadable, not fatal
            self.failed(what, error)
            return None


def _one_line(text) -> str:
    return " ".join(str(text).split())[:500]


def _all_experiments(client):
    token = None
    while True:
        page = client.search_experiments(max_results=PAGE_SIZE, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def _all_runs(client, experiment_id: str) -> list:
    runs, token = [], None
    while True:
        page = client.search_runs(
            [experiment_id],
            max_results=PAGE_SIZE,
            page_token=token,
            order_by=["attribute.start_time ASC"],
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _experiment(client, experiment, reading: Reading) -> Experiment:
    runs = _all_runs(client, experiment.experiment_id)
    by_id = {run.info.run_id: run for run in runs}

    def root(run) -> str:
        seen = set()
        while run.data.tags.get(PARENT_TAG) in by_id and run.info.run_id not in seen:
            seen.add(run.info.run_id)
            run = by_id[run.data.tags[PARENT_TAG]]
        return run.info.run_id

    families: dict[str, list] = {}
    for run in runs:
        families.setdefault(root(run), []).append(run)
    trials = []
    for root_id, members in families.items():
        top = by_id[root_id]
        members.sort(key=lambda run: (run.info.run_id != root_id, run.info.start_time or 0))
        components = [reading.component(client, run) for run in members]
        trials.append(
            Trial(
                name=root_id,
                display_name=top.info.run_name,
                tags=dict(top.data.tags),
                components=[component for component in components if component is not None],
            )
        )
    tags = dict(experiment.tags or {})
    return Experiment(
        name=experiment.name,
        description=tags.get(NOTE_TAG),
        tags=tags,
        trials=sorted(trials, key=lambda trial: trial.name),
    )


def _component(client, run) -> TrialComponent:
    info, data = run.info, run.data
    return TrialComponent(
        name=info.run_id,
        display_name=info.run_name,
        description=data.tags.get(NOTE_TAG),
        status=info.status,
        start_time=_time(info.start_time),
        end_time=_time(info.end_time),
        tags=dict(data.tags),
        parameters=dict(data.params),
        metrics={
            key: _metric(client, info.run_id, key, last) for key, last in data.metrics.items()
        },
        input_artifacts=_datasets(run),
        output_artifacts={
            item.path: Artifact(
                uri=f"{info.artifact_uri.rstrip('/')}/{item.path}",
                media_type="inode/directory" if item.is_dir else None,
            )
            for item in client.list_artifacts(info.run_id)
        },
    )


def _metric(client, run_id: str, key: str, last: float) -> MetricSummary:
    history = sorted(client.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp))
    values = [point.value for point in history]
    return MetricSummary(
        last=last,
        min=min(values) if values else None,
        max=max(values) if values else None,
        avg=sum(values) / len(values) if values else None,
        count=len(values),
        series=[
            MetricPoint(step=point.step, timestamp=_time(point.timestamp), value=point.value)
            for point in history
        ],
    )


def _datasets(run) -> dict[str, Artifact]:
    inputs = getattr(run, "inputs", None)
    found = {}
    for dataset_input in getattr(inputs, "dataset_inputs", None) or []:
        dataset = dataset_input.dataset
        found[dataset.name] = Artifact(
            uri=_dataset_uri(dataset.source) or f"digest:{dataset.digest}",
            media_type=dataset.source_type,
        )
    return found


def _dataset_uri(source: str | None) -> str | None:
    """MLflow stores a dataset's source as JSON (``{"uri": ...}`` for most kinds)."""
    if not source:
        return None
    try:
        parsed = json.loads(source)
    except ValueError:
        return source
    if isinstance(parsed, dict):
        for key in ("uri", "url", "path", "table_name"):
            if isinstance(parsed.get(key), str):
                return parsed[key]
    return source


def _time(milliseconds: int | None) -> datetime | None:
    if milliseconds is None:
        return None
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
