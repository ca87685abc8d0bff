"""Findings of unchanged definition files, remembered between runs (as ruff and mypy do).

A pre-commit run over a repository, or a CI job re-checking a branch, mostly meets files
it has checked before. The findings of a pipeline definition file depend only on its
bytes, the path shown for it, and the run's rules, policy and selection, so they are
stored under the file's digest in a cache file named by a digest of everything else, and
replayed instead of parsing and checking the file again. Only files whose findings depend
on their own text are cached (definition JSON and ``describe-pipeline`` output, marked
``standalone`` by their loader); templates and Terraform may read other files and are
always checked. Raw findings are stored: severities, waivers, suppressions and baselines
are applied to replayed findings exactly as to fresh ones.

The cache file is read and written through ``cache_store``: only an entry this user's
mlops-guard wrote under this fingerprint is replayed, so an edited, planted or restored
file cannot change a run's findings. ``--no-cache`` or ``MLOPS_GUARD_NO_CACHE=1`` turns it
off (with every other cache); ``--debug`` turns this one off too (a crash's traceback is not
worth remembering).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mlops_guard import __version__, cache_store
from mlops_guard.digest import content_digest, sha256
from mlops_guard.findings import Finding, Location
from mlops_guard.loaders import display_path, is_checked_kind, iter_files, load_file
from mlops_guard.loaders.limits import read_bytes
from mlops_guard.resources import PACKAGE_DIR, cache_dir
from mlops_guard.targets import ReplayedFindings, Target

FORMAT = 1
"""Bumped when the stored shape changes."""


class ResultCache:
    """Stored findings by shown path: ``{path: [digest of bytes, [[target name,
    [finding, ...]], ...]]}`` for one run fingerprint."""

    def __init__(self, path: Path, entries: dict):
        self.path = path
        self.entries = entries
        self._pending: dict[str, tuple[str, list]] = {}
        self._owners: dict[int, str] = {}
        """``id`` of each target this cache loaded -> its file's entry in ``_pending``
        (other targets may name the same file: a Terraform ``file()`` of it)."""

    @classmethod
    def open(cls, session) -> ResultCache:
        path = cache_dir() / "results" / f"{fingerprint(session)}.cache"
        entries = cache_store.read_json(path)
        if isinstance(entries, dict):
            with contextlib.suppress(OSError, NotImplementedError):
                os.utime(path, follow_symlinks=False)  # in use: not pruned (see _prune)
        return cls(path, entries if isinstance(entries, dict) else {})

    def targets(
        self, paths: Iterable[str], *, strict: bool = True
    ) -> Iterator[Target | ReplayedFindings]:
        """Like ``loaders.iter_targets``, but an unchanged file's targets carry their
        remembered findings instead of a parsed definition."""
        for path, explicit in iter_files(paths):
            if not is_checked_kind(path):  # never read what no loader takes (/dev/zero)
                yield from load_file(path, explicit=explicit and strict)
                continue
            shown = display_path(path)
            data = read_bytes(path, shown)  # within the limits: a swapped-in FIFO cannot hang
            digest = content_digest(data)
            replayed = self._replay(shown, digest, must_hold=explicit and strict)
            if replayed is not None:
                yield from replayed
                continue
            targets = load_file(path, explicit=explicit and strict, data=data)
            if all(target.standalone for target in targets):
                # Files that hold no pipeline (met in a directory) are remembered too.
                self._pending[shown] = (digest, [])
                self._owners.update((id(target), shown) for target in targets)
            yield from targets

    def record(self, target: Target, findings: list[Finding]) -> None:
        """The engine's callback: one checked target's raw findings, kept if this cache
        loaded the target (and so knows the file it came from holds it alone)."""
        shown = self._owners.pop(id(target), None)
        pending = self._pending.get(shown) if shown is not None else None
        if pending is None:
            return
        stored = [_stored(finding) for finding in findings]
        if any(item is None for item in stored):
            del self._pending[shown]  # not JSON-exact: check this file every time
            return
        pending[1].append([target.name, stored])

    def for_chunk(self) -> ResultCache:
        """A cache that replays from the same entries and keeps what it stores apart, for
        one chunk of a parallel check (see :mod:`mlops_guard.parallel`): the chunk hands
        its :attr:`stored` back, and one :meth:`save` writes them all, instead of every
        chunk reading and rewriting the cache file."""
        return ResultCache(self.path, self.entries)

    @property
    def stored(self) -> dict[str, tuple[str, list]]:
        """What this cache would write on :meth:`save`, by shown path."""
        return self._pending

    def adopt(self, stored: dict[str, tuple[str, list]]) -> None:
        """Write ``stored`` (another chunk's :attr:`stored`) on the next :meth:`save`."""
        self._pending.update(stored)

    def save(self) -> None:
        if not self._pending:
            return
        # pre-commit runs several processes at once: under a lock, keep what the others
        # stored since this run read the file.
        with _locked(self.path.with_suffix(".lock")):
            stored = cache_store.read_json(self.path)
            if isinstance(stored, dict):
                entries = stored
            else:
                entries = {}
                _prune(self.path.parent)
            entries.update(self.entries)
            for shown, (digest, records) in self._pending.items():
                entries[shown] = [digest, records]
            self.entries = entries
            cache_store.write_json(self.path, entries)

    def _replay(self, shown: str, digest: str, *, must_hold: bool) -> list[ReplayedFindings] | None:
        entry = self.entries.get(shown)
        if not (isinstance(entry, list) and len(entry) == 2 and entry[0] == digest):
            return None
        if must_hold and not entry[1]:
            return None  # named explicitly, it must hold a pipeline: let the loader say why
        try:
            return [
                ReplayedFindings(shown, _text(name), [_finding(item) for item in findings])
                for name, findings in entry[1]
            ]
        except (TypeError, ValueError):
            return None  # not the shape this module stores: check the file again


def fingerprint(session) -> str:
    """Everything besides a file that decides its raw findings: this version, the
    validated policy, a digest of every Python file of the rules directories (rule files
    and the helpers they import: their bytes, not their size and time, which an edit or a
    checkout can keep) and the selection. In a source checkout the engine's own files are
    stamped too, by size and time (a developer's edits; reading them all would cost each
    run milliseconds, and an installed engine is named by its version)."""
    rule_directories = {os.path.dirname(rule.file) for rule in session.rules}
    stamps = []
    for file in sorted({f for d in rule_directories for f in _python_files(d)}):
        try:
            with open(file, "rb") as handle:
                stamps.append([file, content_digest(handle.read())])
        except OSError:
            stamps.append([file, None])
    if not (PACKAGE_DIR / "_builtin").is_dir():
        # A source checkout (editable install): the engine's code may change without a
        # new version.
        for file in sorted(_python_files(str(PACKAGE_DIR))):
            try:
                stat = os.stat(file)
                stamps.append([file, stat.st_size, stat.st_mtime_ns])
            except OSError:
                stamps.append([file, None, None])
    selection = session.selection
    key = {
        "format": FORMAT,
        "version": __version__,
        "policy": session.policy.to_dict(),
        "rules": stamps,
        "ids": [rule.id for rule in session.rules],
        "select": selection.select,
        "ignore": selection.ignore,
        "per_path_ignores": selection.per_path_ignores,
        "cwd": os.getcwd(),  # shown paths are relative to it
    }
    return sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _python_files(directory: str) -> Iterator[str]:
    for root, directories, files in os.walk(directory):
        directories[:] = [name for name in directories if name != "__pycache__"]
        yield from (os.path.join(root, name) for name in files if name.endswith(".py"))


@contextmanager
def _locked(path: Path):
    """An exclusive lock on ``path`` where the platform has ``fcntl``; without it (or if
    the lock file cannot be made safely) concurrent saves may drop each other's entries,
    which only costs speed."""
    try:
        import fcntl
    except ImportError:
        descriptor = None
    else:
        descriptor = cache_store.lock_file(path)
    if descriptor is None:
        yield
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


STALE_SECONDS = 14 * 24 * 3600


def _prune(directory: Path) -> None:
    """Drop result files not used for two weeks (a policy or rule change starts a new
    file; the old ones would otherwise pile up), and untagged ``.json`` ones older
    versions wrote."""
    import time

    try:
        for path in [*directory.glob("*.cache"), *directory.glob("*.json")]:
            if time.time() - path.stat().st_mtime > STALE_SECONDS:
                path.unlink()
                path.with_suffix(".lock").unlink(missing_ok=True)
    except OSError:
        pass


def _text(value) -> str:
    if not isinstance(value, str):
        raise TypeError("not a stored target name")
    return value


def _stored(finding: Finding) -> list | None:
    location = finding.location
    item = [
        finding.rule,
        finding.category,
        finding.severity,
        finding.message,
        [location.file, location.pointer, location.line, location.column],
        finding.target,
        finding.subject,
        finding.extra or {},
    ]
    try:
        if json.loads(json.dumps(item)) != item:
            return None
    except (TypeError, ValueError):
        return None
    return item


def _finding(item: list) -> Finding:
    rule, category, severity, message, location, target, subject, extra = item
    file, pointer, line, column = location
    if not (
        all(isinstance(text, str) for text in (rule, category, severity, message, file))
        and all(isinstance(text, str | None) for text in (pointer, target, subject))
        and all(isinstance(number, int | None) for number in (line, column))
        and isinstance(extra, dict)
    ):
        raise TypeError("not a stored finding")
    return Finding(
        rule, category, severity, message, Location(*location), target, subject, None, extra
    )
