"""Experiment and pipeline metadata: one model, read from SageMaker, MLflow or a file.

Rules check a :class:`MetadataStore`; sources (:mod:`mlops_guard.metadata.sources`)
build one, and :func:`dump_store` / :func:`load_store` move it through a JSON or YAML
export. What the metadata rules and the audit's report ask of a store lives beside the
model: :mod:`~mlops_guard.metadata.recorded_runs` (experiment kinds, executions, metric
values), :mod:`~mlops_guard.metadata.thresholds` (meeting a threshold, a baseline,
drift), :mod:`~mlops_guard.metadata.model_packages`,
:mod:`~mlops_guard.metadata.output_partitions` and
:mod:`~mlops_guard.metadata.store_lookup` (where an item is, what of it was not read), and
:mod:`~mlops_guard.metadata.operations` (schedules and failure notifications, judged alike
in templates and in deployed pipelines; templates carry them as the pydantic-free records
of :mod:`~mlops_guard.metadata.plain`).

Importing this package is cheap: the names below are loaded on first use (the model
loads pydantic, never boto3 or mlflow), because rule files import the standard-library
modules above on every ``check`` of a definition.
"""

from __future__ import annotations

import importlib

_MODEL_NAMES = (
    "Artifact",
    "Execution",
    "ExecutionPartition",
    "Experiment",
    "GluePartition",
    "GlueTable",
    "MetadataStore",
    "MetricPoint",
    "MetricSummary",
    "ModelPackage",
    "ModelPackageGroup",
    "ModelReport",
    "Notification",
    "OutputListing",
    "Pipeline",
    "Schedule",
    "Trial",
    "TrialComponent",
    "Unreadable",
)
_HOME = {
    **dict.fromkeys(_MODEL_NAMES, "mlops_guard.metadata.model"),
    "MetadataInputError": "mlops_guard.metadata.errors",
    "dump_store": "mlops_guard.metadata.io",
    "dumps_store": "mlops_guard.metadata.io",
    "load_store": "mlops_guard.metadata.io",
    "store_from_document": "mlops_guard.metadata.io",
}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
