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

Workers are forked (``os.fork``, see :class:`_Worker`): the checker is single-threaded when
they start, and a forked worker begins with the session already loaded (the policy, the
rules, a rules directory's own code), where a spawned one would pay the interpreter start
and load and run all of that again. Where ``fork`` is not the platform's safe choice
(Windows, macOS), a run stays in one process. Small runs (a pre-commit hook's handful of
files) stay in one process too: starting workers would cost more than it saves.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
from collections.abc import Iterator

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
    """Whether workers can be forked: on Linux (where ``fork`` is the safe default; on
    macOS and Windows a run stays in one process)."""
    return sys.platform == "linux" and hasattr(os, "fork")


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
    if cache is None or not cache.entries:
        return len(files)  # nothing to replay (a cold cache): no file need be read
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
"""What forked workers inherit: the session, the result cache (if used), debug, and the
run's files (chunks are handed to workers as indices into them)."""

_FRAME = struct.Struct("<qq")
"""A chunk handed to a worker: the indices of its first file and of the file after it."""
_LENGTH = struct.Struct("<Q")
"""The length of a worker's pickled answer, before it."""


def _checked_in_workers(
    files, listing_error, cache, session, jobs, debug
) -> Iterator[ReplayedFindings]:
    import gc

    _STATE.update(session=session, cache=cache, debug=debug, files=files)
    workers: list[_Worker] = []
    try:
        # The last few files are checked here before the workers start: what the first
        # check of a run builds on first use (the lazily imported rule helpers, the API
        # model's shapes and generated checkers, compiled patterns) is then inherited by
        # every worker instead of built again in each.
        low, high = 0, len(files)
        start = max(low, high - WARM_UP)
        done: dict[int, tuple] = {start: _check_chunk(start, high)}  # first file -> result
        high = start
        # What the workers inherit is never collected there: keep the collector from
        # scanning (and so copying) the session's objects in every worker.
        gc.freeze()
        workers = [_Worker.start() for _ in range(jobs - 1)]
        # This process is one of the ``jobs``: each worker takes chunks from the front
        # (one running, one waiting, topped up whenever this process is between chunks)
        # and this process takes them from the back until the two meet. Chunks shrink as
        # the files left do (guided scheduling), so when they meet no one is left with
        # much more than the others to do.
        while low < high:
            for worker in workers:
                while low < high and len(worker.waiting) < AHEAD:
                    end = min(high, low + _chunk_size(high - low, jobs))
                    worker.hand(low, end)
                    low = end
                done.update(worker.collect(block=False))
            if low < high:
                start = max(low, high - _chunk_size(high - low, jobs))
                done[start] = _check_chunk(start, high)
                high = start
        for worker in workers:
            worker.finish()
            done.update(worker.collect(block=True))
        for first in sorted(done):
            checked, error, stored = done[first]
            if cache is not None:
                cache.adopt(stored)  # saved once, with the run's own (commands.check)
            yield from _replayed(checked, error)
    finally:
        for worker in workers:
            worker.stop()
        _STATE.clear()
        gc.unfreeze()
    if listing_error is not None:
        raise listing_error


AHEAD = 2
"""Chunks handed to a worker and not yet collected: one running and one waiting, so it
never waits for this process to finish a chunk of its own before it gets the next."""


def _chunk_size(left: int, jobs: int) -> int:
    return max(MIN_CHUNK, left // (jobs * 3))


class _Worker:
    """A forked worker process, fed chunks (``(first, end)`` indices into the run's
    files, which it inherited) down one pipe and answering with each chunk's result up
    another, in order.

    ``os.fork`` and two pipes rather than ``concurrent.futures``: importing
    ``multiprocessing`` and the executor costs 13-18 ms on the critical path of every
    parallel run, and its feeder and manager threads compete with this process's own
    checking; the protocol needed here is only "check files first..end, send the result".
    A worker that stops (killed, out of memory) closes its pipe: the run fails in one line.
    """

    def __init__(self, pid: int, tasks: int, results: int):
        self.pid, self.tasks, self.results = pid, tasks, results
        self.waiting: list[int] = []  # first file of each chunk handed, in order

    @classmethod
    def start(cls) -> _Worker:
        task_read, task_write = os.pipe()
        result_read, result_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the caller's code
            status = 1
            try:
                os.close(task_write)
                os.close(result_read)
                _serve(task_read, result_write)
                status = 0
            finally:
                os._exit(status)  # no interpreter teardown, no flushing the parent's buffers
        os.close(task_read)
        os.close(result_write)
        return cls(pid, task_write, result_read)

    def hand(self, first: int, end: int) -> None:
        _write_all(self.tasks, _FRAME.pack(first, end))
        self.waiting.append(first)

    def collect(self, *, block: bool) -> Iterator[tuple[int, tuple]]:
        """``(first, result)`` of the chunks this worker has finished (all of them when
        ``block``; those already answered otherwise)."""
        import select

        while self.waiting:
            if not block and not select.select([self.results], [], [], 0)[0]:
                return
            yield self.waiting.pop(0), _receive(self.results)

    def finish(self) -> None:
        """No more chunks: the worker exits once it has answered those it has."""
        os.close(self.tasks)
        self.tasks = -1

    def stop(self) -> None:
        import signal

        for descriptor in (self.tasks, self.results):
            if descriptor >= 0:
                os.close(descriptor)
        self.tasks = self.results = -1
        if self.waiting:  # stopped early (an error, an interrupt): do not wait for it
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _serve(tasks: int, results: int) -> None:
    """In a worker: check each chunk handed down ``tasks`` and send its result up
    ``results``, until ``tasks`` is closed."""
    import pickle

    while True:
        header = _read_exactly(tasks, _FRAME.size)
        if header is None:
            return
        first, end = _FRAME.unpack(header)
        try:
            answer = (True, _check_chunk(first, end))
        except Exception as error:  # a bug, reported by the parent as a tool error
            answer = (False, f"{error.__class__.__name__}: {error}")
        payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        _write_all(results, _LENGTH.pack(len(payload)) + payload)


def _receive(results: int) -> tuple:
    import pickle

    header = _read_exactly(results, _LENGTH.size)
    payload = _read_exactly(results, _LENGTH.unpack(header)[0]) if header else None
    if payload is None:
        raise InputError(
            "a worker process checking files stopped unexpectedly (killed, or out of "
            "memory): nothing was reported; --jobs 1 checks in this process",
            where="check",
        )
    finished, result = pickle.loads(payload)
    if not finished:
        raise RuntimeError(f"a worker process failed: {result}")
    return result


def _read_exactly(descriptor: int, size: int) -> bytes | None:
    """``size`` bytes, or None at the end of the pipe (the other side closed it)."""
    parts, left = [], size
    while left:
        part = os.read(descriptor, min(left, 1 << 20))
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


def _replayed(checked: list[tuple], error: tuple | None) -> Iterator[ReplayedFindings]:
    """A chunk's targets as the engine takes remembered ones, then its input error."""
    for file, name, findings, suppressions in checked:
        yield ReplayedFindings(file, name, findings, suppressions)
    if error is not None:
        message, file, where = error
        raise InputError(message, file=file, where=where)


def _check_chunk(first: int, end: int):
    """Load and check the run's files ``first..end`` (replaying what the cache holds) and
    return each target's file, name, raw findings and suppressions, in order, the input
    error that stopped the chunk, if one did, and what the result cache should store for
    the chunk (the run saves it once, see ``ResultCache.for_chunk``)."""
    from mlops_guard.loaders import iter_targets

    session, debug = _STATE["session"], _STATE["debug"]
    files = _STATE["files"][first:end]
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
        session.run(
            targets(),
            debug=debug,
            record=record,
        )
    except InputError as stopped:
        error = (stopped.message, stopped.file, stopped.where)
    return checked, error, cache.stored if cache else {}
