"""Turn the paths a user gives into targets.

Each loader module recognises one kind of file and returns targets, or ``None`` when the
file is not its kind. Explicitly named files that no loader recognises are an input
error; files met while walking a directory are skipped quietly. What cannot be read (a
directory that cannot be listed, a FIFO or device, a file over the size limit of
:mod:`.limits`) is an input error, named or met.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from mlops_guard.errors import InputError, name_file
from mlops_guard.loaders import limits
from mlops_guard.targets import Target

SKIPPED_DIRECTORIES = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
        ".mlops-guard-cache",
    }
)
Loader = Callable[[Path, str, str], "list[Target] | None"]


LOADERS_BY_SUFFIX = {  # tried in order; the first that recognises the file reads it
    ".json": (
        ("definition_json", "load"),
        ("cloudformation", "load_json"),
        ("terraform_plan", "load_plan_json"),
    ),
    ".yaml": (("cloudformation", "load_yaml"),),
    ".yml": (("cloudformation", "load_yaml"),),
    ".template": (("cloudformation", "load_yaml"),),
    ".tf": (("terraform_hcl", "load_tf"),),
}
"""The one table of input formats: a file's lower-cased suffix -> the loaders (module of
this package, function) that may read it. A walk, the pytest plugin, the error for a named
file of another kind and (checked by a test) the pre-commit hook's ``files:`` pattern all
follow it; a new input format is one loader module and a row here."""


def checked_suffixes() -> str:
    """The suffixes of :data:`LOADERS_BY_SUFFIX` as words: ``.json, .yaml or .tf``."""
    *most, last = LOADERS_BY_SUFFIX
    return f"{', '.join(most)} or {last}" if most else last


def _loaders_for(suffix: str) -> tuple[tuple[str, str], ...]:
    return LOADERS_BY_SUFFIX.get(suffix, ())


def is_checked_kind(path: Path) -> bool:
    """Whether some loader reads files named like ``path`` (decided before reading it)."""
    return bool(_loaders_for(path.suffix.lower()))


def decode(data: bytes) -> str:
    """UTF-8 text with newlines as ``Path.read_text`` gives them (``\r\n`` and ``\r``
    become ``\n``), so line numbers are the same however the file was read."""
    text = data.decode("utf-8")
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _resolve(module: str, function: str) -> Loader | None:
    """Import a loader only when the ones before it did not recognise the file, so a JSON
    definition check never imports the YAML or HCL machinery."""
    import importlib

    try:
        loaded = importlib.import_module(f"mlops_guard.loaders.{module}")
    except ModuleNotFoundError as error:
        if error.name != f"mlops_guard.loaders.{module}":
            raise
        return None
    return getattr(loaded, function, None)


def display_path(path: Path) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        relative = str(path)
    shown = relative if not relative.startswith("..") else str(path)
    return shown.replace(os.sep, "/")


def iter_files(paths: Iterable[str]) -> Iterator[tuple[Path, bool]]:
    """Files to check, each with whether the user named it explicitly.

    Fails closed: a path that cannot be looked at, a directory that cannot be listed
    (unreadable, or deeper than the system allows a path to be) and a named or met file
    of a kind some loader reads that is not a regular file (FIFO, socket, device, a
    symlink to one) or is over the size limit are input errors, found by ``stat`` before
    anything opens the file. Symlinks to files are followed; symlinks to directories are
    not walked into (like ``git``, which stores the link), so a link loop cannot hang.
    """
    for raw in paths:
        path = Path(raw)
        try:
            status = os.stat(path)
        except FileNotFoundError:
            raise InputError("no such file or directory", file=raw) from None
        except OSError as error:
            raise InputError(f"cannot read: {error.strerror or error}", file=raw) from None
        if stat.S_ISDIR(status.st_mode):
            largest = limits.max_file_bytes()
            for candidate in _walk(path):
                try:
                    found = os.stat(candidate)
                    fine = stat.S_ISREG(found.st_mode) and found.st_size <= largest
                except OSError:
                    fine = False
                if not fine:  # stat again, to say why, naming the file as it is shown
                    limits.refuse_special(candidate, display_path(candidate), largest)
                yield candidate, False
        else:
            if is_checked_kind(path):  # others are never opened (see load_file)
                limits.check_status(status, raw)
            yield path, True


def _walk(top: Path) -> Iterator[Path]:
    """Files under ``top`` that some loader reads, in ``os.walk``'s order (a directory's
    files, then its subdirectories, sorted), without recursion and without skipping a
    directory that cannot be listed (``os.walk`` would, silently)."""
    pending = [top]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError as error:
            raise InputError(
                f"cannot read directory: {error.strerror or error}",
                file=display_path(directory),
            ) from None
        files, subdirectories = [], []
        for entry in entries:
            try:
                is_directory = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_directory = False
            if is_directory:
                if entry.name not in SKIPPED_DIRECTORIES and not entry.name.endswith(".egg-info"):
                    subdirectories.append(entry.name)
            elif _loaders_for(Path(entry.name).suffix.lower()):
                files.append(entry.name)
        for name in sorted(files):
            yield directory / name
        pending.extend(directory / name for name in sorted(subdirectories, reverse=True))


def iter_targets(paths: Iterable[str], *, strict: bool = True) -> Iterator[Target]:
    """Targets one file at a time, so a run over thousands of files holds only the one
    being checked (and the garbage collector never scans the rest)."""
    for path, explicit in iter_files(paths):
        yield from load_file(path, explicit=explicit and strict)


def load_paths(paths: Iterable[str], *, strict: bool = True) -> list[Target]:
    return list(iter_targets(paths, strict=strict))


def load_file(path: Path, *, explicit: bool, data: bytes | None = None) -> list[Target]:
    """The targets in one file; ``data`` is its content when the caller already read it."""
    shown = display_path(path)
    loaders = _loaders_for(path.suffix.lower())
    if not loaders:
        if explicit:
            raise InputError(
                f"not a file mlops-guard checks: expected {checked_suffixes()}",
                file=shown,
            )
        return []
    if data is None:
        text = limits.read_text(path, shown)
    else:
        if len(data) > limits.max_file_bytes():
            raise InputError(
                f"file of {len(data)} bytes is larger than the limit of "
                f"{limits.max_file_bytes()} (MLOPS_GUARD_MAX_FILE_BYTES): not read",
                file=shown,
            )
        try:
            text = decode(data)
        except UnicodeDecodeError as error:
            raise InputError(f"not UTF-8 text (byte {error.start})", file=shown) from None
    for module, function in loaders:
        loader = _resolve(module, function)
        try:
            found = loader(path, text, shown) if loader else None
        except InputError:
            raise
        except Exception as error:  # a loader's bug: the tool error names the file
            name_file(error, shown)
            raise
        if found is not None:
            return found
    if explicit:
        raise InputError(
            "not a pipeline definition: expected an object with 'Version' and 'Steps', "
            "describe-pipeline output with 'PipelineDefinition', or a template holding "
            "AWS::SageMaker::Pipeline",
            file=shown,
            where="/",
        )
    return []
