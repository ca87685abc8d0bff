"""Find rules the way pytest finds tests, and check them when they load.

A rules directory holds files named ``check_*.py``; in each, every function named
``check_*`` is a rule and must carry ``@rule`` metadata. Parameters are checked against
the declared fixtures here, at load time, so a misspelled fixture is an error naming the
rule and the parameter, not a rule that silently never runs.
"""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
import zlib
from collections import namedtuple
from collections.abc import Callable, Iterable
from fnmatch import fnmatch
from pathlib import Path

from mlops_guard.authoring import RULE_ATTRIBUTE, SETTINGS_ATTRIBUTE, RuleInfo
from mlops_guard.digest import content_digest
from mlops_guard.errors import InputError
from mlops_guard.fixtures import FIXTURES, RULE_SETTINGS
from mlops_guard.meta_rules import META_RULES

FILE_GLOB = "check_*.py"
FUNCTION_PREFIX = "check_"


_CO_GENERATOR = 0x20


class Rule(namedtuple("Rule", "info function parameters domain each file builtin")):
    """A loaded rule: its metadata, the function, the fixtures it asks for, the domain
    (definition or metadata) it applies to, and its parametrising fixture if any."""

    __slots__ = ()

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def doc(self) -> str:
        import inspect

        return inspect.cleandoc(self.function.__doc__ or "")

    @property
    def settings(self) -> dict | None:
        """The rule's own policy section, as declared by ``@rule(settings=...)``."""
        return getattr(self.function, SETTINGS_ATTRIBUTE, None)

    @property
    def is_generator(self) -> bool:
        return bool(self.function.__code__.co_flags & _CO_GENERATOR)


def load_rules(
    directories: Iterable[tuple[Path, bool]],
    domains: Iterable[str] | None = None,
    known_ids: set[str] | None = None,
) -> list[Rule]:
    """All rules from ``(directory, is_builtin)`` pairs, sorted by id.

    With ``domains`` (e.g. ``{"definition"}`` for ``check``), rule files known from the
    manifest to hold only rules of other domains are not imported: a pre-commit check of
    a JSON definition does not pay for the metadata audit's rules. Ids of skipped files
    still count for the duplicate check, and are added to ``known_ids`` when it is given
    (every id a selector may name, whatever the command loads).

    A rules directory, subdirectory or rule file that cannot be read is an error: a team's
    rules are never dropped quietly.
    """
    wanted = set(domains) if domains is not None else None
    manifest = _Manifest.open() if wanted is not None else None
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for directory, builtin in directories:
        for path in rule_files(directory):
            source = _read_source(path)
            digest = content_digest(source)
            known = manifest.get(path, digest) if manifest is not None else None
            if known is not None and not wanted.intersection(domain for _, domain in known):
                found_ids = [(rule_id, None) for rule_id, _ in known]
            else:
                loaded = list(_rules_in(path, builtin, source, digest))
                if manifest is not None:
                    manifest.put(path, digest, [(rule.id, rule.domain) for rule in loaded])
                found_ids = [(rule.id, rule) for rule in loaded]
            for rule_id, rule in found_ids:
                if rule_id in seen:
                    raise InputError(
                        f"duplicate rule id {rule_id}: also defined in {seen[rule_id]}",
                        file=str(path),
                        where=rule.function.__name__ if rule else None,
                    )
                seen[rule_id] = str(path)
                if rule is not None and (wanted is None or rule.domain in wanted):
                    rules.append(rule)
    if manifest is not None:
        manifest.save()
    if known_ids is not None:
        known_ids.update(seen)
    return sorted(rules, key=lambda item: item.id)


def all_rule_infos(rules: Iterable[Rule]) -> list[RuleInfo]:
    """Every rule a user can meet, by id: the loaded ones and the engine's own meta rules
    (MG001...), which no rule file declares. What ``mlops-guard rules`` and the README's rule
    table list."""
    return sorted([*(rule.info for rule in rules), *META_RULES], key=lambda info: info.id)


def rule_files(directory: Path) -> list[Path]:
    """The ``check_*.py`` files under ``directory``, sorted, outside hidden and ``__``
    directories. Unlike ``Path.rglob``, a directory that cannot be listed (permissions, a
    path too long) is an error naming it, not a silently smaller set of rules."""

    def unreadable(error: OSError) -> None:
        reason = error.strerror or error.__class__.__name__
        raise InputError(f"cannot read rules directory: {reason}", file=error.filename)

    if not directory.is_dir():
        if os.path.lexists(directory) and not os.access(directory, os.R_OK):
            raise InputError("cannot read rules directory: Permission denied", file=str(directory))
        raise InputError("rules directory not found", file=str(directory))
    found = []
    for root, subdirectories, files in os.walk(directory, onerror=unreadable):
        subdirectories[:] = [name for name in subdirectories if not name.startswith((".", "__"))]
        found.extend(Path(root, name) for name in files if fnmatch(name, FILE_GLOB))
    return sorted(found)


def _read_source(path: Path) -> bytes:
    """The rule file's bytes; a FIFO or device named ``check_*.py`` is refused unread."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                raise InputError("cannot read rule file: not a regular file", file=str(path))
            return handle.read()
    except OSError as error:
        reason = error.strerror or error.__class__.__name__
        raise InputError(f"cannot read rule file: {reason}", file=str(path)) from None


class _Manifest:
    """Which rule ids and domains each rule file holds, keyed by the file's path and a
    digest of its bytes, cached between runs (through ``cache_store``: tagged with this
    user's key, so a planted or edited manifest is not believed) so that files of other
    domains can be skipped without importing them."""

    def __init__(self, path: Path, entries: dict):
        self.path = path
        self.entries = entries
        self.changed = False

    @classmethod
    def open(cls) -> _Manifest:
        from mlops_guard import cache_store
        from mlops_guard.resources import cache_dir

        path = cache_dir() / "rules-manifest.cache"
        entries = cache_store.read_json(path)
        return cls(path, entries if isinstance(entries, dict) else {})

    def get(self, path: Path, digest: str) -> list[tuple[str, str]] | None:
        entry = self.entries.get(str(path.resolve()))
        if not (isinstance(entry, dict) and entry.get("digest") == digest):
            return None
        rules = entry.get("rules")
        if not isinstance(rules, list) or not all(
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(part, str) for part in item)
            for item in rules
        ):
            return None
        return [tuple(item) for item in rules]

    def put(self, path: Path, digest: str, rules: list[tuple[str, str]]) -> None:
        entry = {"digest": digest, "rules": [list(item) for item in rules]}
        name = str(path.resolve())
        if self.entries.get(name) != entry:  # unchanged: the file is not written again
            self.entries[name] = entry
            self.changed = True

    def save(self) -> None:
        from mlops_guard import cache_store

        if self.changed:
            cache_store.write_json(self.path, self.entries)


def _import(path: Path, source: bytes, digest: str, builtin: bool = False):
    """Run a rule file as a module, from the bytes that were digested.

    Compiled with ``optimize=0`` whatever the interpreter's ``-O``: rules report with
    ``assert``, and an optimised compile would delete every check. Bytecode is not
    written to ``__pycache__`` in the rules directory (whose ``.opt-1.pyc`` files would hold
    asserts-stripped code); the compiled code is kept in the cache instead, under the
    file's digest, path and the interpreter's bytecode version.
    """
    directory = str(path.resolve().parent).encode("utf-8", "surrogateescape")
    name = f"mlops_guard_rules_{zlib.crc32(directory):08x}.{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        exec(_code(path, source, digest, builtin), module.__dict__)
    except SyntaxError as error:
        del sys.modules[name]
        raise InputError(
            f"syntax error: {error.msg}", file=str(path), where=f"line {error.lineno}"
        ) from None
    except Exception as error:  # a team's rule file failing to import is bad input
        del sys.modules[name]
        line = _error_line(error, path)
        raise InputError(
            f"cannot import rules: {error.__class__.__name__}: {error}", file=str(path), where=line
        ) from None
    return module


def _code(path: Path, source: bytes, digest: str, builtin: bool = False):
    """The compiled rule file: for a built-in one, the bytecode beside it in the package
    (:func:`_package_bytecode`); else from the cache when this user compiled these bytes
    at this path with this interpreter before."""
    import marshal
    import types

    from mlops_guard import cache_store
    from mlops_guard.digest import sha256
    from mlops_guard.resources import cache_dir

    if builtin:
        code = _package_bytecode(path, source)
        if code is not None:
            return code
    stamp = f"{digest}\0{path}\0{importlib.util.MAGIC_NUMBER.hex()}"
    key = sha256(stamp.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    cached = cache_dir() / "code" / f"{key}.cache"
    payload = cache_store.read(cached)
    if payload is not None:
        try:
            code = marshal.loads(payload)
            if isinstance(code, types.CodeType):
                return code
        except (ValueError, EOFError, TypeError):
            pass
    code = compile(source, str(path), "exec", dont_inherit=True, optimize=0)
    cache_store.write(cached, marshal.dumps(code))
    if builtin:
        _write_package_bytecode(path, source, code)
    return code


_HASH_BASED = 0b11
"""``.pyc`` flags: validated by the source's hash (PEP 552), checked on every load."""


def _package_bytecode(path: Path, source: bytes):
    """The bytecode of a built-in rule file in the package's own ``__pycache__`` (the
    unoptimised ``.pyc`` that keeps ``assert``, written by pip at install time or by
    :func:`_write_package_bytecode`), when it was compiled from these bytes; else None.

    A cold run (CI's usual case: an empty cache) would otherwise compile every rule file
    again, about 30 ms. The package is trusted as its modules are: a ``.pyc`` is taken by
    the checks Python's import applies (magic number; the source's hash, or its size and
    modification time for pip's timestamp-based files).
    """
    import marshal
    import types

    try:
        data = Path(importlib.util.cache_from_source(str(path), optimization="")).read_bytes()
    except (OSError, ValueError, NotImplementedError):
        return None
    if len(data) < 16 or data[:4] != importlib.util.MAGIC_NUMBER:
        return None
    flags = int.from_bytes(data[4:8], "little")
    if flags & 0b1:
        if data[8:16] != importlib.util.source_hash(source):
            return None
    else:
        try:
            mtime = int(path.stat().st_mtime)
        except OSError:
            return None
        if data[8:16] != (
            (mtime & 0xFFFFFFFF).to_bytes(4, "little")
            + (len(source) & 0xFFFFFFFF).to_bytes(4, "little")
        ):
            return None
    try:
        code = marshal.loads(memoryview(data)[16:])
    except (ValueError, EOFError, TypeError):
        return None
    return code if isinstance(code, types.CodeType) else None


def _write_package_bytecode(path: Path, source: bytes, code) -> None:
    """Keep a built-in rule file's bytecode beside it, as Python's import does for any
    module of the package (and not where the interpreter is told not to write bytecode,
    or cannot: a read-only install)."""
    import marshal

    from mlops_guard.cache_store import replace_file

    if sys.dont_write_bytecode:
        return
    header = importlib.util.MAGIC_NUMBER + _HASH_BASED.to_bytes(4, "little")
    payload = header + importlib.util.source_hash(source) + marshal.dumps(code)
    try:
        target = Path(importlib.util.cache_from_source(str(path), optimization=""))
        target.parent.mkdir(exist_ok=True)
    except (OSError, ValueError, NotImplementedError):
        return  # only a faster next run is lost
    replace_file(target, payload)


def _error_line(error: BaseException, path: Path) -> str | None:
    import traceback

    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == str(path)]
    return f"line {frames[-1].lineno}" if frames else None


def _rules_in(path: Path, builtin: bool, source: bytes, digest: str) -> Iterable[Rule]:
    module = _import(path, source, digest, builtin)
    for name, function in vars(module).items():
        if not name.startswith(FUNCTION_PREFIX) or not callable(function):
            continue
        if getattr(function, "__module__", None) != module.__name__:
            continue
        info = getattr(function, RULE_ATTRIBUTE, None)
        where = f"{name} (line {function.__code__.co_firstlineno})"
        if not isinstance(info, RuleInfo):
            raise InputError(
                "rule function has no @rule(...) metadata", file=str(path), where=where
            )
        yield _check(info, function, str(path), where, builtin)


def _check(info: RuleInfo, function: Callable, file: str, where: str, builtin: bool) -> Rule:
    code = function.__code__
    parameters = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    domains = set()
    each = []
    for parameter in parameters:
        fixture = FIXTURES.get(parameter)
        if fixture is None:
            known = ", ".join(sorted(FIXTURES))
            raise InputError(
                f"rule {info.id} asks for unknown fixture {parameter!r} (known: {known})",
                file=file,
                where=where,
            )
        if fixture.domain != "any":
            domains.add(fixture.domain)
        if parameter == RULE_SETTINGS and getattr(function, SETTINGS_ATTRIBUTE, None) is None:
            raise InputError(
                f"rule {info.id} asks for {RULE_SETTINGS} but declares no settings "
                "(@rule(..., settings={...}))",
                file=file,
                where=where,
            )
        if fixture.each:
            each.append(parameter)
    if len(domains) > 1:
        raise InputError(
            f"rule {info.id} mixes definition and metadata fixtures", file=file, where=where
        )
    if len(each) > 1:
        raise InputError(
            f"rule {info.id} asks for {' and '.join(each)}: a rule iterates over one kind of item",
            file=file,
            where=where,
        )
    if not domains:
        raise InputError(
            f"rule {info.id} asks for nothing to check (definition, step, experiment, ...)",
            file=file,
            where=where,
        )
    if not (function.__doc__ or "").strip():
        raise InputError(f"rule {info.id} has no docstring to document it", file=file, where=where)
    return Rule(info, function, parameters, domains.pop(), each[0] if each else None, file, builtin)
