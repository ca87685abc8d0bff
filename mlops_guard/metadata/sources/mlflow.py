"""The ``mlflow`` source: an MLflow tracking server's experiments and runs.

Mapping onto the model (experiment -> trial -> component):

* an MLflow experiment is an :class:`Experiment` (its ``mlflow.note.content`` tag is
  the description; all its tags are kept);
* each top-level run (no ``mlflow.parentRunId`` tag) is a :class:`Trial` named by its
  run id, holding the run itself as the first component followed by all its
  descendant runs (nested runs of any depth), ordered by start time;
* each run is a :class:`TrialComponent` named by its run id: params (strings, as MLflow
  stores them), metrics with their full history (``get_metric_history``), tags (so
  ``mlflow.source.git.commit`` is ``tags["mlflow.source.git.commit"]``), logged datasets
  as input artifacts and the top-level artifact paths as output artifacts.

``tracking_uri`` may be a local file store, a ``sqlite:`` database, an HTTP server, or
a SageMaker managed MLflow tracking server ARN (with the ``sagemaker-mlflow`` plugin
installed). Local stores are opened read-only and must exist
(:mod:`mlops_guard.metadata.sources._mlflow_store`).

What MLflow cannot read never passes as an empty store: the warnings it logs when it
skips an entry, an experiment or run whose reading fails, and whatever was not read
before the ``timeout`` are listed in ``unreadable`` (MG005 in an audit).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from mlops_guard.metadata.errors import MetadataInputError

if TYPE_CHECKING:
    from mlops_guard.metadata.model import MetadataStore

READING = ("MLflow", "experiments")
# With a timeout, how long past it a read still waiting on the store is given to finish.
GRACE_SECONDS = 10.0


def fetch_store(
    *, tracking_uri: str, experiment_prefix: str | None = None, timeout: float | None = None
) -> MetadataStore:
    """Read every active experiment (optionally by name prefix) and its active runs.

    Raises :class:`MetadataInputError` when the store cannot be opened or listed at all;
    an experiment or run that cannot be read is listed in the store's ``unreadable``.
    With a ``timeout``, experiments and runs not started by then are listed as not read,
    and a read still waiting on the store a grace period later (a server that never
    answers: MLflow's own HTTP timeouts and retries add up to many minutes) is abandoned
    on its thread: the store is then an error, not a pass.
    """
    from mlops_guard.errors import require_extra
    from mlops_guard.metadata.sources._mlflow_runs import Reading, read_store
    from mlops_guard.metadata.sources._mlflow_store import read_only_uri

    require_extra("mlflow", "mlflow", "reading MLflow")
    uri = read_only_uri(tracking_uri)
    if timeout is None:
        return read_store(uri, tracking_uri, experiment_prefix, Reading(None))
    outcome: dict[str, object] = {}

    def read() -> None:
        try:
            outcome["store"] = read_store(uri, tracking_uri, experiment_prefix, Reading(timeout))
        except BaseException as error:  # handed to the caller's thread below
            outcome["error"] = error

    worker = threading.Thread(target=read, name="mlops-guard-mlflow-read", daemon=True)
    worker.start()
    worker.join(timeout + GRACE_SECONDS)
    if worker.is_alive():
        raise MetadataInputError(
            f"no answer within the --timeout of {timeout:g} s: the store was not read",
            where=f"mlflow {tracking_uri}",
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["store"]


def add_options(parser, command: str) -> None:
    """``--tracking-uri`` and ``--experiment-prefix`` (``audit mlflow``, ``export mlflow``)."""
    uri_help = "MLflow tracking URI" if command == "export" else None
    parser.add_argument("--tracking-uri", required=True, metavar="URI", help=uri_help)
    parser.add_argument("--experiment-prefix", metavar="P", help="only experiments named P*")


def fetch_options(args) -> dict:
    return {"tracking_uri": args.tracking_uri, "experiment_prefix": args.experiment_prefix}


def label(options: dict) -> str:
    return f"mlflow:{options['tracking_uri']}"
