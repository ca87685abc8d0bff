"""A progress line on stderr for audits that take more than a moment.

Shown only when stderr is a terminal (a log file or CI pipe gets nothing, so reports
and logs stay clean) and only after ``delay`` seconds, so quick audits never flicker.
A background thread redraws the line; the work only bumps counters, which costs nothing
when the bar is off. ``MLOPS_GUARD_PROGRESS_DELAY`` overrides the delay (tests use 0).
"""

from __future__ import annotations

import os
import sys
import threading
import time

DEFAULT_DELAY = 0.5
INTERVAL = 0.1
WIDTH = 24


class Progress:
    """Phases with a counter (``calls``, ``targets``) and an optional total."""

    def __init__(self, stream=None, *, enabled: bool | None = None, delay: float | None = None):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = _is_terminal(self.stream) and os.environ.get("TERM") != "dumb"
        self.enabled = enabled
        env_delay = os.environ.get("MLOPS_GUARD_PROGRESS_DELAY")
        self.delay = delay if delay is not None else float(env_delay or DEFAULT_DELAY)
        self.label, self.unit, self.done, self.total = "", "", 0, None
        self._started = time.monotonic()
        self._drawn = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def phase(self, label: str, unit: str, total: int | None = None) -> None:
        self.label, self.unit, self.done, self.total = label, unit, 0, total
        if self._thread is not None and time.monotonic() - self._started >= self.delay:
            self._draw()  # show a new phase at once, however short it turns out to be

    def advance(self, count: int = 1) -> None:
        self.done += count  # an int add: atomic enough for a display counter

    def line(self) -> str:
        elapsed = time.monotonic() - self._started
        if self.total:
            filled = min(WIDTH, WIDTH * self.done // self.total)
            bar = "#" * filled + "." * (WIDTH - filled)
            return f"{self.label} [{bar}] {self.done}/{self.total} {self.unit} ({elapsed:.0f}s)"
        return f"{self.label}: {self.done} {self.unit} ({elapsed:.0f}s)"

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        while True:
            self._draw()
            if self._stop.wait(INTERVAL):
                return

    def _draw(self) -> None:
        """Redraw the line in place; nothing before the first phase names what is going on."""
        with self._lock:
            if not self.label or self._stop.is_set():
                return
            self.stream.write("\r\x1b[K" + self.line())
            self.stream.flush()
            self._drawn = True


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
