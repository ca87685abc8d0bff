"""Experiment and pipeline metadata: one model, read from SageMaker, MLflow or a file.

Rules check a :class:`MetadataStore`; sources (:mod:`mlops_guard.metadata.sources`)
build one, and :func:`dump_store` / :func:`load_store` move it through a JSON or YAML
export. Using this package loads pydantic only, never boto3 or mlflow.
"""

_HOMES = {
    "MetadataInputError": "errors",
    **dict.fromkeys(("dump_store", "dumps_store", "load_store", "store_from_document"), "io"),
}
"""Where each name of ``__all__`` lives, when not in :mod:`.model`. The names are imported
on first use (PEP 562), so importing a pydantic-free module of this package
(:mod:`.operations`, which the template loaders use) does not build the model."""


def __getattr__(name: str):
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{_HOMES.get(name, 'model')}"), name)
    globals()[name] = value
    return value


__all__ = [
    "Artifact",
    "Execution",
    "ExecutionPartition",
    "Experiment",
    "GluePartition",
    "GlueTable",
    "MetadataInputError",
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
    "dump_store",
    "dumps_store",
    "load_store",
    "store_from_document",
]
