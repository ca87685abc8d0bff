"""Text that every output can carry, whatever the checked files held.

Findings quote what they found: step names, URIs, file names. Those come from hostile or
broken input as often as from good input, so a report must survive lone surrogates (a
JSON ``"\\ud800"``, or a file name that is not UTF-8: Python keeps its bytes as surrogate
escapes ``\\udc80``-``\\udcff``), control characters (a newline that would forge a report
line, an ANSI escape that rewrites the terminal) and bidirectional overrides (text that
reads differently from what it is). Each is shown as a backslash escape: a surrogate
escape as the byte it stands for (``\\xff``, as ``ls -b`` shows it), a line break or tab
as ``\\n``, ``\\r``, ``\\t``, anything else as ``\\xNN`` below U+0100 and ``\\uXXXX``
above. Escaping is needed only at the edges: the findings themselves keep the exact text,
so fingerprints and baselines do not change.
"""

from __future__ import annotations

import re

_SURROGATES = "\ud800-\udfff"
_CONTROLS = "\x00-\x1f\x7f-\x9f"
_LINE_AND_BIDI = "\u2028\u2029\u202a-\u202e\u2066-\u2069"

UNPRINTABLE = re.compile(f"[{_CONTROLS}{_LINE_AND_BIDI}{_SURROGATES}]")
"""What a one-line, terminal-safe text must not hold."""

NOT_UNICODE = re.compile(f"[{_SURROGATES}]")
"""What no UTF-8 encoder (and no strict JSON parser) accepts: lone surrogates."""

NOT_XML = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{_SURROGATES}\ufffe\uffff]")
"""Characters XML 1.0 forbids even as character references."""


NOT_A_FILE_BYTE = re.compile("[\ud800-\udc7f\udd00-\udfff]")
"""Lone surrogates that are not the surrogate escape of a file name's byte."""

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    character = match.group()
    code = ord(character)
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a file name that is not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    if character in _SHORT:
        return _SHORT[character]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` without line breaks, controls, bidi overrides or surrogates."""
    return UNPRINTABLE.sub(_escape, text)


def one_line(text: str) -> str:
    """``text`` as one printable line: whitespace runs (newlines too) become one space."""
    return printable(" ".join(text.split()))


def unicode_only(text: str) -> str:
    """``text`` encodable as UTF-8: lone surrogates escaped, everything else kept."""
    return NOT_UNICODE.sub(_escape, text)


def file_name_bytes(text: str) -> bytes:
    """The bytes of a file name: surrogate escapes back to the bytes they stand for (as
    ``os.fsencode`` does), any other lone surrogate (not from a file system) escaped."""
    return NOT_A_FILE_BYTE.sub(_escape, text).encode("utf-8", "surrogateescape")


def xml_text(text: str) -> str:
    """``text`` that XML 1.0 can hold (tab, newline and carriage return are kept)."""
    return NOT_XML.sub(_escape, text)


def unicode_document(value):
    """A JSON-ready document (dicts, lists, strings, numbers) with every string, keys
    included, passed through :func:`unicode_only`; other values are returned as they are."""
    if isinstance(value, str):
        return unicode_only(value) if NOT_UNICODE.search(value) else value
    if isinstance(value, dict):
        return {unicode_document(key): unicode_document(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [unicode_document(item) for item in value]
    return value
