"""Opening an MLflow tracking store for reading only, and hearing what MLflow skips.

MLflow opens a store for writing: a path that does not exist becomes a new file store
(``.trash``, ``0/meta.yaml``), a ``sqlite:`` path a new database, and a store without
its trash folder or default experiment gets them. An audit must never write to what it
audits, so :func:`read_only_uri` checks a local store *before* MLflow sees it (a path
that is not there is an error naming it) and gives SQLite databases to MLflow through
SQLite's read-only URI form (``file:...?mode=ro``, with ``uri=true`` for the driver).

MLflow skips what it cannot read with a log warning ("Malformed experiment ...",
"Wrong experiment ID ...") and carries on; :class:`SkippedEntries` catches those
records while the store is read so each becomes an unreadable part (MG005) instead of
a line on stderr above a passing report. :func:`census` refuses a file store holding
what would hang or mislead MLflow's reader: FIFOs and devices, symlinks that lead
nowhere or in a loop, directories it may not list.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from mlops_guard.metadata.errors import MetadataInputError

TRASH = ".trash"
ALLOW_FILE_STORE = "MLFLOW_ALLOW_FILE_STORE"
# Tracking URIs without a scheme that are not paths.
REMOTE_NAMES = frozenset({"databricks", "databricks-uc", "uc"})
# Subtrees the audit never reads beyond their top level (MLflow lists artifacts one
# level deep); what a run logged there is the run's business.
_NOT_WALKED = frozenset({"artifacts"})
# experiment/run/<one of these>/key: one file per metric, parameter or tag.
_RUN_VALUES = frozenset({"metrics", "params", "tags"})


def read_only_uri(tracking_uri: str) -> str:
    """The URI to give MLflow for ``tracking_uri``: local stores checked and read-only.

    Remote stores (HTTP, Databricks, a SageMaker tracking server ARN) are given as is:
    their server decides, and reading is all the audit asks of it.
    """
    parts = urlsplit(tracking_uri)
    if parts.scheme == "sqlite":
        return _sqlite(tracking_uri)
    if is_file_store(tracking_uri):
        _file_store(Path(unquote(parts.path) if parts.scheme == "file" else tracking_uri))
    return tracking_uri


def _sqlite(tracking_uri: str) -> str:
    prefix = "sqlite:///"
    rest = tracking_uri[len(prefix) :] if tracking_uri.startswith(prefix) else ""
    path, _, query = rest.partition("?")
    path = path.removeprefix("file:")
    if not path or path.startswith(":memory:"):
        raise MetadataInputError(
            "not a database file to audit (use sqlite:///PATH)", file=tracking_uri
        )
    database = Path(unquote(path) if rest.startswith("file:") else path)
    try:
        info = database.stat()
    except OSError as error:
        raise MetadataInputError(
            f"no such MLflow database ({error.strerror or error})", file=str(database)
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise MetadataInputError("not a regular file (an MLflow database)", file=str(database))
    options = [item for item in query.split("&") if item and item.split("=")[0] != "mode"]
    options = [item for item in options if item.split("=")[0] != "uri"]
    located = quote(str(database.absolute()), safe="/")
    return f"sqlite:///file:{located}?{'&'.join(['mode=ro', *options, 'uri=true'])}"


def _file_store(root: Path) -> None:
    """A local file store must exist, be a directory and have been opened by MLflow
    before (its trash folder): MLflow would create whatever is missing."""
    try:
        info = root.stat()
    except OSError as error:
        raise MetadataInputError(
            f"no such MLflow tracking store ({error.strerror or error})", file=str(root)
        ) from None
    if not stat.S_ISDIR(info.st_mode):
        raise MetadataInputError("not a directory (an MLflow file store)", file=str(root))
    if not (root / TRASH).is_dir():
        raise MetadataInputError(
            f"not an MLflow file store (no {TRASH} directory; MLflow would create one)",
            file=str(root),
        )
    problems = census(root)
    if problems:
        where, problem = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise MetadataInputError(f"{problem}{more}: the store is not read", file=where)


def is_file_store(tracking_uri: str) -> bool:
    """A local directory store (a path or a ``file:`` URI)."""
    if tracking_uri in REMOTE_NAMES:
        return False
    return urlsplit(tracking_uri).scheme in ("", "file")


@contextlib.contextmanager
def file_store_allowed(uri: str):
    """MLflow 3 refuses file stores unless ``MLFLOW_ALLOW_FILE_STORE`` is set, to move
    users who *write* to one onto a database; the audit only reads an existing store,
    checked beforehand, so it is allowed while the store is read."""
    if not is_file_store(uri):
        yield
        return
    saved = os.environ.get(ALLOW_FILE_STORE)
    os.environ[ALLOW_FILE_STORE] = "true"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(ALLOW_FILE_STORE, None)
        else:
            os.environ[ALLOW_FILE_STORE] = saved


def census(root: Path) -> list[tuple[str, str]]:
    """``(path, problem)`` for each entry of a file store MLflow cannot be trusted to
    read: not a regular file or directory, a symlink that does not resolve, a directory
    that cannot be listed, an empty directory where a run keeps its values (MLflow reads
    the files under ``metrics``/``params``/``tags``, so an empty one is a value it drops
    without a word). Walks without recursion and without following symlinks."""
    problems: list[tuple[str, str]] = []
    pending: list[tuple[str, tuple[str, ...]]] = [(str(root), ())]
    while pending:
        directory, parts = pending.pop()
        try:
            with os.scandir(directory) as entries:
                found = list(entries)
        except OSError as error:
            problems.append((directory, f"cannot list ({error.strerror or error})"))
            continue
        if not found and len(parts) >= 4 and parts[2] in _RUN_VALUES:
            problems.append((directory, f"an empty directory among a run's {parts[2]}"))
        for entry in found:
            problem = _entry_problem(entry)
            if problem is not None:
                problems.append((entry.path, problem))
            elif entry.is_dir(follow_symlinks=False) and entry.name not in _NOT_WALKED:
                pending.append((entry.path, (*parts, entry.name)))
    return sorted(problems)


def _entry_problem(entry: os.DirEntry) -> str | None:
    try:
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISLNK(mode):
            target = os.stat(entry.path)  # follows: a loop or a dangling link raises
            mode = target.st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                return "a symlink to something that is not a file or directory"
            return None
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        if not os.access(entry.path, os.R_OK | (os.X_OK if stat.S_ISDIR(mode) else 0)):
            return "cannot be read (permission denied)"
        return None
    return "not a regular file or directory"


class SkippedEntries(logging.Handler):
    """While active, takes every warning MLflow logs (on its own loggers or the root
    logger, where its file store writes) and keeps it instead of printing it.

    A run directory without its ``meta.yaml`` is skipped with a *debug* record
    ("Malformed run ..."), as MLflow allows artifact folders beside runs: the root
    logger is opened to debug records while the store is read so those are kept too.
    """

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []
        self._saved: list[tuple[logging.Logger, list, bool, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        skipped = record.name == "root" and str(record.msg).startswith("Malformed")
        if record.levelno < logging.WARNING and not skipped:
            return
        try:
            text = record.getMessage()
        except Exception:  # a malformed log call is still something MLflow skipped
            text = str(record.msg)
        line = " ".join(text.split())[:500]
        if line not in self.messages:
            self.messages.append(line)

    def __enter__(self) -> SkippedEntries:
        root = logging.getLogger()
        for logger in (root, logging.getLogger("mlflow")):
            self._saved.append((logger, logger.handlers[:], logger.propagate, logger.level))
            logger.handlers = [self]
            logger.propagate = False
        root.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *_) -> None:
        for logger, handlers, propagate, level in self._saved:
            logger.handlers, logger.propagate = handlers, propagate
            logger.setLevel(level)
        self._saved.clear()
