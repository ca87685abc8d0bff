"""Bounds on what one input file can make mlops-guard do.

Hostile input is normal input: a file checked in CI may be written to exhaust the
machine that checks it. Every file is therefore read only if it is a regular file no
larger than a limit (a FIFO, a device or ``/dev/zero`` is refused before it is opened for
reading), and every parsed document is measured once, without recursion, before any
walker sees it: nesting deeper than a limit, or a string longer than a limit, is an input
error naming where. The walkers after that (definition model, rules, intrinsic resolver,
line marks) may then recurse: the depth they meet is bounded.

The defaults are far above anything a real pipeline reaches (SageMaker accepts a
definition of at most 1,000,000 characters, CloudFormation a template of at most 1 MB
from S3; the deepest public definition nests 19 levels) and each can be changed with an
environment variable:

``MLOPS_GUARD_MAX_FILE_BYTES`` (32 MiB), ``MLOPS_GUARD_MAX_STRING_CHARS`` (4 MiB),
``MLOPS_GUARD_MAX_DEPTH`` (100 levels), ``MLOPS_GUARD_MAX_YAML_ALIAS_NODES`` (10,000
nodes that YAML aliases may add beyond the document's own, see :mod:`.safe_yaml`) and
``MLOPS_GUARD_MAX_HCL_TOKENS`` (50,000 brackets, commas and ``=`` outside heredocs in one
``.tf`` file: the HCL parser is slow, see :mod:`.terraform`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mlops_guard.errors import InputError

DEFAULTS = {
    "MLOPS_GUARD_MAX_FILE_BYTES": 32 * 1024 * 1024,
    "MLOPS_GUARD_MAX_STRING_CHARS": 4 * 1024 * 1024,
    "MLOPS_GUARD_MAX_DEPTH": 100,
    "MLOPS_GUARD_MAX_YAML_ALIAS_NODES": 10_000,
    "MLOPS_GUARD_MAX_HCL_TOKENS": 50_000,
}


def limit(name: str) -> int:
    """The limit ``name`` (one of :data:`DEFAULTS`), from the environment when set there."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return DEFAULTS[name]
    try:
        value = int(raw.strip().replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise InputError(f"expected a positive whole number, got {raw!r}", where=name)
    return value


def max_file_bytes() -> int:
    return limit("MLOPS_GUARD_MAX_FILE_BYTES")


def max_string_chars() -> int:
    return limit("MLOPS_GUARD_MAX_STRING_CHARS")


def max_depth() -> int:
    return limit("MLOPS_GUARD_MAX_DEPTH")


def max_alias_nodes() -> int:
    return limit("MLOPS_GUARD_MAX_YAML_ALIAS_NODES")


def max_hcl_tokens() -> int:
    return limit("MLOPS_GUARD_MAX_HCL_TOKENS")


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
)


def kind_of(mode: int) -> str:
    """What a non-regular file is, for a message."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def refuse_special(path: Path | str, shown: str, limit_bytes: int | None = None) -> os.stat_result:
    """``stat`` ``path`` (following symlinks) and refuse anything but a regular file of at
    most the file limit, before anything opens it."""
    try:
        status = os.stat(path)
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", file=shown) from None
    check_status(status, shown, limit_bytes)
    return status


def check_status(status: os.stat_result, shown: str, limit_bytes: int | None = None) -> None:
    """Refuse a ``stat`` result that is not a regular file of at most the file limit
    (``limit_bytes``, read from the environment when not given)."""
    if not stat.S_ISREG(status.st_mode):
        raise InputError(f"not a regular file ({kind_of(status.st_mode)}): not read", file=shown)
    if limit_bytes is None:
        limit_bytes = max_file_bytes()
    if status.st_size > limit_bytes:
        raise InputError(
            f"file of {status.st_size} bytes is larger than the limit of {limit_bytes} "
            "(MLOPS_GUARD_MAX_FILE_BYTES): not read",
            file=shown,
        )


def read_bytes(path: Path | str, shown: str) -> bytes:
    """The bytes of a regular file of at most the file limit; anything else is an input
    error. The file is opened without blocking and checked again once open, so a file
    swapped for a FIFO between the two looks cannot hang the run, and it is read only up
    to the limit, so one that grows meanwhile cannot exhaust memory."""
    limit_bytes = max_file_bytes()  # read once: the environment is slow to ask
    refuse_special(path, shown, limit_bytes)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", file=shown) from None
    try:
        status = os.fstat(descriptor)
        check_status(status, shown, limit_bytes)
        chunks, size = [], 0
        wanted = status.st_size + 1  # one read for a file that did not change
        while size <= limit_bytes:
            chunk = os.read(descriptor, max(1, min(wanted, limit_bytes + 1 - size)))
            wanted = 1 << 20
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", file=shown) from None
    finally:
        os.close(descriptor)
    if size > limit_bytes:
        raise InputError(
            f"file grew beyond the limit of {limit_bytes} bytes "
            "(MLOPS_GUARD_MAX_FILE_BYTES) while it was read",
            file=shown,
        )
    return b"".join(chunks)


def read_text(path: Path | str, shown: str) -> str:
    """:func:`read_bytes` decoded as UTF-8, newlines as ``Path.read_text`` gives them."""
    data = read_bytes(path, shown)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 text (byte {error.start})", file=shown) from None
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def check_document(document, shown: str, pointer: str = "", text_length: int | None = None) -> None:
    """Refuse a parsed JSON-like document nested deeper than the depth limit or holding a
    string (value or key) longer than the string limit; level by level, no recursion (the
    place of a defect is searched for only when there is one).

    ``text_length``, the length of the text the document was parsed from, when known: a
    text no longer than the string limit cannot hold a longer string, and then only the
    depth is measured (a quarter of the cost: this runs on every file of a big check).

    Only for trees (JSON, HCL): YAML with aliases is a graph and is measured by
    :mod:`.safe_yaml` before it is constructed.
    """
    deepest = max_depth()
    longest = max_string_chars()
    if text_length is not None and text_length <= longest:
        _check_depth(document, shown, pointer, deepest)
        return
    level = [document] if isinstance(document, dict | list) else []
    if isinstance(document, str) and len(document) > longest:
        _too_long(document, document, shown, pointer, longest)
    depth = 1
    while level:
        if depth > deepest:
            _too_deep(document, shown, pointer, deepest)
        below = []
        for node in level:
            if isinstance(node, dict):
                for key in node:
                    if isinstance(key, str) and len(key) > longest:
                        _too_long(document, key, shown, pointer, longest)
                children = node.values()
            else:
                children = node
            for child in children:
                if isinstance(child, dict | list):
                    below.append(child)
                elif isinstance(child, str) and len(child) > longest:
                    _too_long(document, child, shown, pointer, longest)
        level = below
        depth += 1


def _check_depth(document, shown: str, pointer: str, deepest: int) -> None:
    """The depth half of :func:`check_document`: only objects and arrays are visited."""
    level = [document] if type(document) is dict or type(document) is list else []
    depth = 1
    while level:
        if depth > deepest:
            _too_deep(document, shown, pointer, deepest)
        below: list = []
        append = below.append
        for node in level:
            for child in node.values() if type(node) is dict else node:
                kind = type(child)
                if kind is dict or kind is list:
                    append(child)
        level = below
        depth += 1


def _too_deep(document, shown: str, pointer: str, deepest: int):
    where = _find(document, lambda _node, at: at > deepest)
    raise InputError(
        f"nested deeper than the limit of {deepest} levels (MLOPS_GUARD_MAX_DEPTH)",
        file=shown,
        where=_shortened(pointer + where),
    )


def _too_long(document, string: str, shown: str, pointer: str, longest: int):
    where = _find(document, lambda node, _at: node is string)
    raise InputError(
        f"a string of {len(string)} characters is longer than the limit of {longest} "
        "(MLOPS_GUARD_MAX_STRING_CHARS)",
        file=shown,
        where=pointer + where or "/",
    )


def _find(document, wanted) -> str:
    """The pointer of the first node (or key: its object) for which ``wanted(node,
    depth)`` holds; only called to name the place of an error, so it may be slow."""
    from mlops_guard.pointer import escape

    stack: list[tuple[object, int, str]] = [(document, 1, "")]
    while stack:
        node, depth, where = stack.pop()
        if wanted(node, depth):
            return where
        if isinstance(node, dict):
            for key, child in reversed(list(node.items())):
                if wanted(key, depth + 1):
                    return where
                stack.append((child, depth + 1, f"{where}/{escape(str(key))}"))
        elif isinstance(node, list):
            for index in range(len(node) - 1, -1, -1):
                stack.append((node[index], depth + 1, f"{where}/{index}"))
    return ""


def _shortened(pointer: str, keep: int = 120) -> str:
    """A pointer fit for one line of an error: a place nested hundreds of levels deep is
    named by its start and its length."""
    if len(pointer) <= keep:
        return pointer or "/"
    return f"{pointer[:keep]}... ({pointer.count('/')} levels)"
