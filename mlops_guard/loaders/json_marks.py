"""Map JSON pointers back to line and column in the JSON text they were parsed from.

``json.loads`` (C, fast) parses every file; positions are only needed for files that
have findings, so they are computed lazily, in one regex-driven pass over the text that
records where each value starts.
"""

from __future__ import annotations

import bisect
import re

from mlops_guard.pointer import escape

_TOKEN = re.compile(r'[{}\[\]:,"]|[^\s{}\[\]:,"]+')
"""Structural characters, the opening quote of a string, and bare values (numbers,
``true``...). A string is skipped by :func:`string_end`, not matched by a regular
expression: ``re`` keeps backtracking state for every character of a repeated group, which
made a 50-million-character string cost gigabytes."""


def string_end(text: str, start: int) -> int:
    """The offset just after the string whose opening quote is at ``start``."""
    position = start
    while True:
        position = text.find('"', position + 1)
        if position < 0:
            return len(text)  # unterminated: only for text that json.loads accepted
        backslashes = 0
        while text[position - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return position + 1


class JsonMarks:
    """Lazily built ``pointer -> (line, column)`` for one JSON text (1-based)."""

    def __init__(self, text: str, line_offset: int = 0, column_offset: int = 0):
        self._text = text
        self._line_offset = line_offset
        self._column_offset = column_offset
        self._offsets: dict[str, int] | None = None
        self._line_starts: list[int] | None = None

    def locate(self, pointer: str) -> tuple[int, int] | None:
        offsets = self._build()
        while True:
            if pointer in offsets:
                return self._position(offsets[pointer])
            if not pointer:
                return None
            pointer = pointer.rsplit("/", 1)[0]  # fall back to the nearest parent

    def _position(self, offset: int) -> tuple[int, int]:
        if self._line_starts is None:
            starts = [0]
            starts.extend(match.end() for match in re.finditer("\n", self._text))
            self._line_starts = starts
        line = bisect.bisect_right(self._line_starts, offset) - 1
        column = offset - self._line_starts[line]
        if line == 0:
            column += self._column_offset
        return line + 1 + self._line_offset, column + 1

    def _build(self) -> dict[str, int]:
        if self._offsets is not None:
            return self._offsets
        import json

        offsets: dict[str, int] = {}
        # Each frame: [pointer of container, is_object, next index or pending key]
        stack: list[list] = []
        expecting_key = False
        pending_key: str | None = None
        text = self._text
        position = 0
        while True:
            match = _TOKEN.search(text, position)
            if match is None:
                break
            start = match.start()
            char = text[start]
            position = string_end(text, start) if char == '"' else match.end()
            if char == ",":
                if stack and not stack[-1][1]:
                    stack[-1][2] += 1
                expecting_key = bool(stack and stack[-1][1])
                continue
            if char == ":":
                continue
            if char in "}]":
                stack.pop()
                expecting_key = False
                continue
            if expecting_key and char == '"':
                key = text[start + 1 : position - 1]
                pending_key = json.loads(text[start:position]) if "\\" in key else key
                expecting_key = False
                continue
            # A value starts here: name it by its place in the enclosing container.
            if not stack:
                pointer = ""
            elif stack[-1][1]:
                pointer = stack[-1][0] + "/" + escape(pending_key or "")
            else:
                pointer = stack[-1][0] + "/" + str(stack[-1][2])
            offsets.setdefault(pointer, start)
            if char == "{":
                stack.append([pointer, True, 0])
                expecting_key = True
            elif char == "[":
                stack.append([pointer, False, 0])
                expecting_key = False
        self._offsets = offsets
        return offsets
