"""Render Python pipeline modules (``pkg.module:get_pipeline``) into definitions.

This executes the user's code, so it only happens when asked: ``--module`` on the
command line or ``modules:`` in the policy. Rendering runs outside the checker (the
user's SDK, their ``sys.path``, no state leaking into the checker): every module of a run
that the cache does not hold is rendered by one :mod:`render_worker` process, which
imports the SDK once and renders the modules in parallel, each in a fresh fork of itself.
Results are cached by a hash of the module's source tree, the function, its arguments
and the SDK version, so an unchanged module is never rendered twice, and a run whose
modules are all cached starts no renderer at all.
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


def render_modules(
    specs: list[dict], *, debug: bool = False, jobs: int | None = None, errors: list | None = None
) -> list[Target]:
    """The targets of ``specs`` (``{"entry", "kwargs", "path"}``), in their order.

    A module that cannot be found is an input error at once (nothing ran). One that fails
    to render (its code raised, or it returned no pipeline) is an :class:`InputError`
    naming it: appended to ``errors`` when given, the other modules still rendered and
    returned, else raised. ``jobs`` bounds how many render at once (default: the cores
    available)."""
    prepared = [
        _Module(spec["entry"], spec.get("kwargs") or {}, spec.get("path", ".")) for spec in specs
    ]
    missing = [module for module in prepared if module.rendered is None]
    if missing:
        # the same module and arguments listed twice are rendered once
        unique = list({module.cached: module for module in missing}.values())
        _render_missing(unique, debug, jobs)
        for module in missing:
            same = next(other for other in unique if other.cached == module.cached)
            module.rendered, module.error = same.rendered, same.error
    targets = []
    for module in prepared:
        try:
            targets.append(module.target())
        except InputError as error:
            if errors is None:
                raise
            errors.append(error)
    return targets


class _Module:
    """One module to check: where its source is, its cache entry, and once known what
    rendering it gave (``rendered``; ``None`` until rendered or read from the cache)."""

    def __init__(self, entry: str, kwargs: dict, path: str):
        if ":" not in entry:
            raise InputError(
                "expected MODULE:FUNCTION, e.g. pipelines.abalone.pipeline:get_pipeline",
                file=entry,
            )
        self.entry, self.kwargs = entry, kwargs
        self.module, self.function = entry.split(":", 1)
        self.root = module_root(Path(path).resolve(), self.module)
        self.source = module_file(self.root, self.module)
        self.cached = cache_dir() / "renders" / f"{cache_key(self.root, entry, kwargs)}.cache"
        self.rendered: dict | None = _read_cached(self.cached)
        self.error: str | None = None

    def request(self, output: Path) -> dict:
        return {
            "root": str(self.root),
            "module": self.module,
            "function": self.function,
            "kwargs": self.kwargs,
            "output": str(output),
        }

    def target(self) -> Target:
        if self.rendered is None:
            raise InputError(self.error or "renderer printed no definition", file=self.entry)
        definition = self.rendered["definition"]
        shown = display_path(self.source)
        if not is_definition(definition):
            raise InputError(f"{self.entry} did not return a pipeline definition", file=shown)
        check_shape(definition, shown)
        name = self.rendered.get("name")
        text = self.source.read_text(encoding="utf-8")
        return Target(
            file=shown,
            kind="definition",
            name=name or self.module,
            definition=Definition(definition, name=name),
            locate=_step_locator(text, definition, self.function),
            facts={"module": self.entry},
            suppressions=_inline_suppressions(text),
        )


def _render_missing(modules: list[_Module], debug: bool, jobs: int | None) -> None:
    """Render ``modules`` in one :mod:`render_worker` run and cache what rendered."""
    import tempfile

    from mlops_guard.parallel import default_jobs

    with tempfile.TemporaryDirectory(prefix="mlops-guard-render-") as temporary:
        outputs = [Path(temporary) / f"{index}.json" for index in range(len(modules))]
        requests = [module.request(output) for module, output in zip(modules, outputs, strict=True)]
        command = [sys.executable, "-m", "mlops_guard.loaders.render_worker"]
        command.append(str(min(jobs or default_jobs(), len(modules))))
        process = subprocess.run(
            command,
            input=json.dumps(requests),
            capture_output=True,
            text=True,
            cwd=temporary,
            env=_renderer_environment(),
        )
        if debug:
            sys.stderr.write(process.stdout + process.stderr)
        for module, output in zip(modules, outputs, strict=True):
            try:
                result = json.loads(output.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                lines = [line for line in process.stderr.splitlines() if line.strip()]
                module.error = lines[-1] if lines else f"renderer exited with {process.returncode}"
                continue
            if "error" in result:
                module.error = result["error"]
                if debug:
                    sys.stderr.write(result.get("traceback") or "")
            else:
                module.rendered = result
                _write_cached(module.cached, result)


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
    """One module's target (see :func:`render_modules`)."""
    return render_modules([{"entry": entry, "kwargs": kwargs, "path": path}], debug=debug)[0]


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


def _renderer_environment() -> dict:
    """The environment for the renderer: this one, and when this mlops_guard is not an
    installed package (a source checkout run from its directory), its directory on
    ``PYTHONPATH`` so that the renderer runs the same code as the checker."""
    import os
    import site

    home = Path(__file__).resolve().parents[2]
    installed = {Path(path).resolve() for path in site.getsitepackages()}
    installed.add(Path(site.getusersitepackages()).resolve())
    environment = dict(os.environ)
    if home not in installed:
        paths = [str(home), environment.get("PYTHONPATH")]
        environment["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    return environment


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
