"""Experiment and pipeline metadata: one model, read from SageMaker, MLflow or a file.

Rules check a :class:`MetadataStore`; sources (:mod:`mlops_guard.metadata.sources`)
build one, and :func:`dump_store` / :func:`load_store` move it through a JSON or YAML
export. Importing this package loads pydantic only, never boto3 or mlflow.
"""

from mlops_guard.metadata.errors import MetadataInputError
from mlops_guard.metadata.io import dump_store, dumps_store, load_store, store_from_document
from mlops_guard.metadata.model import (
    Artifact,
    Execution,
    ExecutionPartition,
    Experiment,
    GluePartition,
    GlueTable,
    MetadataStore,
    MetricPoint,
    MetricSummary,
    ModelPackage,
    ModelPackageGroup,
    ModelReport,
    Notification,
    OutputListing,
    Pipeline,
    Schedule,
    Trial,
    TrialComponent,
    Unreadable,
)

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
