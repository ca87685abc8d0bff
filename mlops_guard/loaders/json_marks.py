"""Map JSON pointers back to line and column in the JSON text they were parsed from.

``json.loads`` (C, fast) parses every file; positions are only needed for files that
have findings, so they are computed lazily, in one regex-driven pass over the text that
records where each value starts.
"""

from __future__ import annotations

import bisect
import re

from mlops_guard.pointer import escape

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.DOTALL)


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
        for match in _TOKEN.finditer(self._text):
            token = match.group()
            char = token[0]
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
                pending_key = json.loads(token)
                expecting_key = False
                continue
            # A value starts here: name it by its place in the enclosing container.
            if not stack:
                pointer = ""
            elif stack[-1][1]:
                pointer = stack[-1][0] + "/" + escape(pending_key or "")
            else:
                pointer = stack[-1][0] + "/" + str(stack[-1][2])
            offsets.setdefault(pointer, match.start())
            if char == "{":
                stack.append([pointer, True, 0])
                expecting_key = True
            elif char == "[":
                stack.append([pointer, False, 0])
                expecting_key = False
        self._offsets = offsets
        return offsets
