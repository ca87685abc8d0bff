"""Where metadata comes from: ``sagemaker``, ``mlflow`` or a ``file`` export.

Each source is a module with a ``fetch_store(**options) -> MetadataStore`` function;
:func:`export` picks one by name so the CLI needs no knowledge of their options. A
source's heavy dependencies (boto3, mlflow) are imported only when it runs.

:data:`SOURCES` is the one table of sources: ``mlops-guard audit`` has a subcommand for
each and ``mlops-guard export`` one for each live source, with the table's help text; a
test keeps both in step with it.
"""

from __future__ import annotations

import importlib
from collections import namedtuple

from mlops_guard.metadata.errors import MetadataInputError
from mlops_guard.metadata.model import MetadataStore


class Source(namedtuple("Source", "summary live")):
    """A metadata source: ``summary`` says what it reads (the help of its subcommands);
    ``live`` that it is a service read over the network (``audit --timeout`` applies, and
    ``export`` writes what it reads to a file), not export files already written."""

    __slots__ = ()


SOURCES = {
    "sagemaker": Source("SageMaker Experiments and Pipelines (boto3)", live=True),
    "mlflow": Source("an MLflow tracking store or server", live=True),
    "file": Source("metadata export files", live=False),
}
"""Every metadata source, by the name the CLI and :func:`export` take (its module here)."""


def export(source_name: str, **options) -> MetadataStore:
    """Read a store from the named source; bad names/options raise MetadataInputError."""
    if source_name not in SOURCES:
        raise MetadataInputError(
            f"unknown metadata source {source_name!r} (expected one of: {', '.join(SOURCES)})"
        )
    module = importlib.import_module(f"mlops_guard.metadata.sources.{source_name}")
    try:
        return module.fetch_store(**options)
    except TypeError as error:
        if "fetch_store()" in str(error):
            raise MetadataInputError(f"{source_name}: {error}") from None
        raise
