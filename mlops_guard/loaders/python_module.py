"""Render Python pipeline modules (``pkg.module:get_pipeline``) into definitions.

This executes the user's code, so it only happens when asked: ``--module`` on the
command line or ``modules:`` in the policy. Rendering runs in a subprocess (the user's
SDK, their ``sys.path``, no state leaking into the checker) and its result is cached by
a hash of the module's source tree, the function, its arguments and the SDK version,
so an unchanged module is never rendered twice.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

from mlops_guard import cache_store
from mlops_guard.definition import Definition
from mlops_guard.errors import InputError
from mlops_guard.loaders import display_path
from mlops_guard.loaders.definition_json import check_shape, is_definition
from mlops_guard.resources import cache_dir
from mlops_guard.targets import Target

SKIP_PARTS = {"__pycache__", ".git", ".venv", "venv", "node_modules", ".mypy_cache"}


def render_modules(specs: list[dict], *, debug: bool = False) -> list[Target]:
    return [
        render_module(spec["entry"], spec.get("kwargs") or {}, spec.get("path", "."), debug)
        for spec in specs
    ]


def module_root(root: Path, module: str) -> Path:
    """The directory the module's top-level package is imported from: ``root`` when the
    module lives there (a repository checkout), else wherever ``sys.path`` finds it (an
    installed package). Found without importing anything."""
    from importlib.machinery import PathFinder

    top = module.split(".")[0]
    if (root / top).is_dir() or (root / f"{top}.py").is_file():
        return root
    spec = PathFinder.find_spec(top, [str(root), *sys.path])
    if spec is None or not spec.origin:
        raise InputError(f"module {module!r} not found under {display_path(root)}", file=module)
    origin = Path(spec.origin)
    return origin.parent.parent if origin.name == "__init__.py" else origin.parent


def module_file(root: Path, module: str) -> Path:
    """The module's source file."""
    base = module_root(root, module).joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    raise InputError(f"module {module!r} not found under {display_path(root)}", file=module)


def source_digest(root: Path, module: str) -> str:
    """A hash of every file of the module's top-level package (or the module alone)."""
    root = module_root(root, module)
    top = root / module.split(".")[0]
    files = (
        sorted(p for p in top.rglob("*") if p.is_file() and not SKIP_PARTS.intersection(p.parts))
        if top.is_dir()
        else [module_file(root, module)]
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _sdk_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("sagemaker")
    except metadata.PackageNotFoundError:
        return "none"


def cache_key(root: Path, entry: str, kwargs: dict) -> str:
    module = entry.split(":")[0]
    parts = [source_digest(root, module), entry, json.dumps(kwargs, sort_keys=True), _sdk_version()]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def render_module(entry: str, kwargs: dict, path: str = ".", debug: bool = False) -> Target:
    if ":" not in entry:
        raise InputError(
            "expected MODULE:FUNCTION, e.g. pipelines.abalone.pipeline:get_pipeline", file=entry
        )
    module, function = entry.split(":", 1)
    root = module_root(Path(path).resolve(), module)
    source = module_file(root, module)
    key = cache_key(root, entry, kwargs)
    cached = cache_dir() / "renders" / f"{key}.cache"
    rendered = _read_cached(cached)
    if rendered is None:
        rendered = _render(root, module, function, kwargs, debug)
        _write_cached(cached, rendered)
    definition = rendered["definition"]
    shown = display_path(source)
    if not is_definition(definition):
        raise InputError(f"{entry} did not return a pipeline definition", file=shown)
    check_shape(definition, shown)
    name = rendered.get("name")
    text = source.read_text(encoding="utf-8")
    return Target(
        file=shown,
        kind="definition",
        name=name or module,
        definition=Definition(definition, name=name),
        locate=_step_locator(text, definition, function),
        facts={"module": entry},
        suppressions=_inline_suppressions(text),
    )


def _inline_suppressions(text: str) -> list:
    try:
        from mlops_guard.suppressions import parse_comments
    except ImportError:
        return []
    return parse_comments(text)


def _read_cached(path: Path) -> dict | None:
    rendered = cache_store.read_json(path)  # tagged by this user, else a miss
    return rendered if isinstance(rendered, dict) and "definition" in rendered else None


def _write_cached(path: Path, rendered: dict) -> None:
    cache_store.write_json(path, rendered)


def _render(root: Path, module: str, function: str, kwargs: dict, debug: bool) -> dict:
    command = [
        sys.executable,
        "-m",
        "mlops_guard.loaders.render_worker",
        str(root),
        module,
        function,
        json.dumps(kwargs),
    ]
    process = subprocess.run(command, capture_output=True, text=True, cwd=root)
    if process.returncode != 0:
        lines = [line for line in process.stderr.strip().splitlines() if line.strip()]
        message = lines[-1] if lines else f"renderer exited with {process.returncode}"
        if debug:
            sys.stderr.write(process.stderr)
        raise InputError(message.removeprefix("render-error: "), file=f"{module}:{function}")
    try:
        return json.loads(process.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise InputError("renderer printed no definition", file=f"{module}:{function}") from None


def _step_locator(text: str, definition: dict, function: str):
    """Best effort: a step's findings point at the line that names the step in the module
    (``name="Train"``); anything else at the ``def`` of the pipeline function."""
    lines = text.splitlines()
    def_line = next(
        (i + 1 for i, line in enumerate(lines) if re.match(rf"\s*def\s+{function}\b", line)), 1
    )
    names = {}
    for step in _all_steps(definition):
        pattern = re.compile(r"""name\s*=\s*(?:[rf]?)["']""" + re.escape(step[1]) + r"""["']""")
        line = next((i + 1 for i, text_line in enumerate(lines) if pattern.search(text_line)), None)
        if line:
            names[step[0]] = line

    def locate(pointer: str):
        best = None
        for step_pointer, line in names.items():
            if (pointer == step_pointer or pointer.startswith(step_pointer + "/")) and (
                best is None or len(step_pointer) > len(best[0])
            ):
                best = (step_pointer, line)
        return (best[1] if best else def_line, 1)

    return locate


def _all_steps(definition: dict):
    return [(step.pointer, step.name) for step in Definition(definition).steps]
