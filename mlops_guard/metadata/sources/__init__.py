"""Where metadata comes from: ``sagemaker``, ``mlflow`` or a ``file`` export.

:data:`SOURCES` is the one table of sources: ``mlops-guard audit`` has a subcommand for
each and ``mlops-guard export`` one for each live source, with the table's help text; a
test keeps both in step with it. :func:`export` reads a store from a source by name.

Adding a source is one module and one row. The module (named by the row) has:

* ``fetch_store(**options) -> MetadataStore``: the reading; a live source also takes
  ``timeout`` (seconds, or None), which ``audit --timeout`` sets;
* ``add_options(parser, command)``: the options it adds to ``audit NAME`` and, if live,
  ``export NAME`` (``command`` is ``"audit"`` or ``"export"``, for what differs);
* ``fetch_options(args) -> dict``: the parsed options as ``fetch_store`` keywords;
* ``label(options) -> str``: where the findings of an audit of it are (``location.file``),
  from those keywords;
* ``READING``: what the audit's progress line says while it reads (a name, a unit).

The row names the module (any importable module, like a reporter's in
:data:`mlops_guard.reporters.FORMATS`), says what it reads and whether it is live.

A source module stays cheap to import (the parsers import it): heavy dependencies (boto3,
mlflow, the pydantic model) are imported when ``fetch_store`` runs. The audit reads a
source as ``fetch_store(**fetch_options(args))`` labelled ``label(options)``
(:func:`mlops_guard.audit.read_store.read_source`), except where it does more, which a
new source needs none of: SageMaker's API calls counted and the policy's limits
(:func:`~mlops_guard.audit.read_store.read_sagemaker`), several export files merged into
one history (:func:`~mlops_guard.audit.read_store.read_files`: the ``file`` module, read
only that way, has no ``fetch_options`` or ``label``), and the organisation-wide audits
and exports of :mod:`mlops_guard.audit.accounts`, whose options the ``sagemaker`` module
adds.
"""

from __future__ import annotations

import importlib
from collections import namedtuple
from typing import TYPE_CHECKING

from mlops_guard.metadata.errors import MetadataInputError

if TYPE_CHECKING:
    from types import ModuleType

    from mlops_guard.metadata.model import MetadataStore


class Source(namedtuple("Source", "module summary live")):
    """A metadata source: ``module`` reads it (see above); ``summary`` says what it reads
    (the help of its subcommands); ``live`` that it is a service read over the network
    (``audit --timeout`` applies, and ``export`` writes what it reads to a file), not
    export files already written."""

    __slots__ = ()

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


SOURCES = {
    "sagemaker": Source(
        "mlops_guard.metadata.sources.sagemaker",
        "SageMaker Experiments and Pipelines (boto3)",
        live=True,
    ),
    "mlflow": Source(
        "mlops_guard.metadata.sources.mlflow", "an MLflow tracking store or server", live=True
    ),
    "file": Source("mlops_guard.metadata.sources.file", "metadata export files", live=False),
}
"""Every metadata source, by the name the CLI and :func:`export` take."""


def export(source_name: str, **options) -> MetadataStore:
    """Read a store from the named source; bad names/options raise MetadataInputError."""
    if source_name not in SOURCES:
        raise MetadataInputError(
            f"unknown metadata source {source_name!r} (expected one of: {', '.join(SOURCES)})"
        )
    module = SOURCES[source_name].load()
    try:
        return module.fetch_store(**options)
    except TypeError as error:
        if "fetch_store()" in str(error):
            raise MetadataInputError(f"{source_name}: {error}") from None
        raise
