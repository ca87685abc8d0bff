"""Checking a big tree on every core, with the report a single process would write.

A monorepo or an organisation's exported definitions can hold thousands of files the
result cache has not seen (in CI it is usually cold). When a run has at least
:data:`MIN_FILES` such files and more than one core, the files are split, in order, into
chunks that worker processes (and this one) load and check; each replays from and fills
the result cache through the cache's own ``targets``/``record``, as a sequential run does,
and the run saves what all of them stored once.
What comes back for each target is its *raw* findings (before selection, severities,
waivers and suppressions) and its inline suppressions: the parent turns them into
replayed targets, in the original order, and the engine finishes the run exactly as it
finishes one whose files all come from the cache. Same findings, same order, same bytes,
same exit code; an input error is the first one a sequential run would have met.

Workers are forked (the ``fork`` start method): the checker is single-threaded when the
pool starts, and a forked worker begins with the session already loaded (the policy, the
rules, a rules directory's own code), where a spawned one would pay the interpreter start
and load and run all of that again. Where ``fork`` is not the platform's safe choice
(Windows, macOS), a run stays in one process. Small runs (a pre-commit hook's handful of
files) stay in one process too: starting workers would cost more than it saves.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator

from mlops_guard.errors import InputError
from mlops_guard.targets import ReplayedFindings

MIN_FILES = 64
"""Fewest uncached files worth checking in worker processes (below it, forking and
collecting the results costs more than a second core saves)."""

MIN_CHUNK = 8
"""Fewest files in a chunk: each chunk reads and writes the result cache once."""

WARM_UP = 2
"""Files this process checks before it forks the workers (see ``_checked_in_workers``)."""


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def can_fork() -> bool:
    if sys.platform != "linux":
        return False
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def file_targets(paths, *, strict: bool, cache, session, jobs: int | None, debug: bool):
    """The targets of ``paths`` for ``engine.run``: loaded one at a time in this process
    (as always) unless the run is big enough to spread over ``jobs`` workers, then
    replayed targets carrying what the workers found."""
    from mlops_guard.loaders import iter_targets

    def sequential():
        return cache.targets(paths, strict=strict) if cache else iter_targets(paths, strict=strict)

    jobs = jobs or default_jobs()
    if jobs < 2:
        return sequential()
    files, listing_error = _listed(paths, strict)
    if len(files) < MIN_FILES or not can_fork() or _uncached(files, cache) < MIN_FILES:
        return sequential()
    return _checked_in_workers(files, listing_error, cache, session, jobs, debug)


def _listed(paths, strict: bool) -> tuple[list[tuple[str, bool]], InputError | None]:
    """Every file of the run with whether it must hold a pipeline, and the error that
    ended the listing (a path that does not exist), raised once the files before it are
    checked, as a sequential run raises it."""
    from mlops_guard.loaders import iter_files

    files = []
    try:
        for path, explicit in iter_files(paths):
            files.append((str(path), explicit and strict))
    except InputError as error:
        return files, error
    return files, None


def _uncached(files: list[tuple[str, bool]], cache, enough: int = MIN_FILES) -> int:
    """How many of ``files`` the result cache cannot replay, counted up to ``enough`` (an
    estimate, and only the question "is it worth workers?": the workers decide for
    themselves, and reading every file twice before they start would cost what they save)."""
    if cache is None:
        return len(files)
    from pathlib import Path

    from mlops_guard.digest import content_digest
    from mlops_guard.loaders import display_path, is_checked_kind, limits

    count = 0
    for path, explicit in files:
        try:
            if is_checked_kind(Path(path)):  # never read what no loader takes
                shown = display_path(Path(path))
                digest = content_digest(limits.read_bytes(path, shown))
                if cache._replay(shown, digest, must_hold=explicit) is not None:
                    continue
        except (InputError, AttributeError, TypeError):
            pass  # whoever reads it reports why it cannot be read
        count += 1
        if count >= enough:
            break
    return count


_STATE: dict = {}
"""What forked workers inherit: the session, whether to use the result cache, debug."""


def _checked_in_workers(
    files, listing_error, cache, session, jobs, debug
) -> Iterator[ReplayedFindings]:
    import gc
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    _STATE.update(session=session, cache=cache, debug=debug)
    context = multiprocessing.get_context("fork")
    try:
        # The last few files are checked here before the workers start: what the first
        # check of a run builds on first use (the lazily imported rule helpers, the API
        # model's shapes and generated checkers, compiled patterns) is then inherited by
        # every worker instead of built again in each.
        low, high = 0, len(files)
        start = max(low, high - WARM_UP)
        done: list = [(start, _check_chunk(files[start:high]))]  # (first file, result)
        high = start
        # What the workers inherit is never collected there: keep the collector from
        # scanning (and so copying) the session's objects in every worker.
        gc.freeze()
        # This process is one of the ``jobs``: the workers take chunks from the front,
        # one running and one waiting each, and this process takes them from the back
        # until the two meet. Chunks shrink as the files left do (guided scheduling), so
        # when they meet no one is left with much more than the others to do.
        try:
            with ProcessPoolExecutor(max_workers=jobs - 1, mp_context=context) as pool:
                ahead = 2 * (jobs - 1)
                handed: list = []  # (first file, future), front to middle; done: back

                def size() -> int:
                    return max(MIN_CHUNK, (high - low) // (jobs * 3))

                while low < high:
                    while low < high and sum(not f.done() for _, f in handed) < ahead:
                        end = min(high, low + size())
                        handed.append((low, pool.submit(_check_chunk, files[low:end])))
                        low = end
                    if low < high:
                        start = max(low, high - size())
                        done.append((start, _check_chunk(files[start:high])))
                        high = start
                results = [future.result() for _, future in handed]
                results += [result for _, result in reversed(done)]
        except BrokenProcessPool:
            raise InputError(
                "a worker process checking files stopped unexpectedly (killed, or out of "
                "memory): nothing was reported; --jobs 1 checks in this process",
                where="check",
            ) from None
        for checked, error, stored in results:
            if cache is not None:
                cache.adopt(stored)  # saved once, with the run's own (commands.check)
            yield from _replayed(checked, error)
    finally:
        _STATE.clear()
        gc.unfreeze()
    if listing_error is not None:
        raise listing_error


def _replayed(checked: list[tuple], error: tuple | None) -> Iterator[ReplayedFindings]:
    """A chunk's targets as the engine takes remembered ones, then its input error."""
    for file, name, findings, suppressions in checked:
        yield ReplayedFindings(file, name, findings, suppressions)
    if error is not None:
        message, file, where = error
        raise InputError(message, file=file, where=where)


def _check_chunk(files: Iterable[tuple[str, bool]]):
    """In a worker: load and check ``files`` (replaying what the cache holds) and return
    each target's file, name, raw findings and suppressions, in order, the input error
    that stopped the chunk, if one did, and what the result cache should store for the
    chunk (the run saves it once, see ``ResultCache.for_chunk``)."""
    from mlops_guard import engine
    from mlops_guard.loaders import iter_targets

    session, debug = _STATE["session"], _STATE["debug"]
    cache = _STATE["cache"].for_chunk() if _STATE["cache"] else None
    checked: list[tuple] = []

    def targets():
        for path, explicit in files:
            # strict=explicit: a file met in a directory is read as a sequential run reads it
            if cache:
                loaded = cache.targets([path], strict=explicit)
            else:
                loaded = iter_targets([path], strict=explicit)
            for target in loaded:
                if isinstance(target, ReplayedFindings):  # the engine records what it checks
                    checked.append((target.file, target.name, target.findings, target.suppressions))
                yield target

    def record(target, findings):
        checked.append((target.file, target.name, findings, target.suppressions))
        if cache:
            cache.record(target, findings)

    error = None
    try:
        engine.run(
            targets(),
            session.rules,
            session.policy,
            session.selection,
            policy_file=session.policy_file,
            debug=debug,
            record=record,
        )
    except InputError as stopped:
        error = (stopped.message, stopped.file, stopped.where)
    return checked, error, cache.stored if cache else {}
