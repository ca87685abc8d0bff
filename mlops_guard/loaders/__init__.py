"""Turn the paths a user gives into targets.

Each loader module recognises one kind of file and returns targets, or ``None`` when the
file is not its kind. Explicitly named files that no loader recognises are an input
error; files met while walking a directory are skipped quietly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from mlops_guard.errors import InputError
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


LOADERS_BY_SUFFIX = {
    ".json": (
        ("definition_json", "load"),
        ("cloudformation", "load_json"),
        ("terraform", "load_plan_json"),
    ),
    ".yaml": (("cloudformation", "load_yaml"),),
    ".yml": (("cloudformation", "load_yaml"),),
    ".template": (("cloudformation", "load_yaml"),),
    ".tf": (("terraform", "load_tf"),),
}


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
    """Files to check, each with whether the user named it explicitly."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(
                    d for d in dirs if d not in SKIPPED_DIRECTORIES and not d.endswith(".egg-info")
                )
                for name in sorted(files):
                    candidate = Path(root) / name
                    if _loaders_for(candidate.suffix.lower()):
                        yield candidate, False
        elif path.exists():
            yield path, True
        else:
            raise InputError("no such file or directory", file=raw)


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
                "not a file mlops-guard checks: expected .json, .yaml, .yml, .template or .tf",
                file=shown,
            )
        return []
    try:
        text = path.read_text(encoding="utf-8") if data is None else decode(data)
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 text (byte {error.start})", file=shown) from None
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", file=shown) from None
    for module, function in loaders:
        loader = _resolve(module, function)
        found = loader(path, text, shown) if loader else None
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
