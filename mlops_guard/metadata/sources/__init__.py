"""Where metadata comes from: ``sagemaker``, ``mlflow`` or a ``file`` export.

Each source is a module with a ``fetch_store(**options) -> MetadataStore`` function;
:func:`export` picks one by name so the CLI needs no knowledge of their options. A
source's heavy dependencies (boto3, mlflow) are imported only when it runs.
"""

from __future__ import annotations

import importlib

from mlops_guard.metadata.errors import MetadataInputError
from mlops_guard.metadata.model import MetadataStore

SOURCES = ("sagemaker", "mlflow", "file")


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
