"""JSON pointers (RFC 6901): the one way we name a place inside a document."""

from __future__ import annotations

from collections.abc import Iterable


def escape(token: str | int) -> str:
    if type(token) is int:
        return str(token)
    if "~" in token or "/" in token:
        return token.replace("~", "~0").replace("/", "~1")
    return token


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def join(base: str, *tokens: str | int) -> str:
    # Rules build pointers in their inner loops: escape only what needs it.
    for token in tokens:
        if type(token) is int:
            base = f"{base}/{token}"
        elif "~" in token or "/" in token:
            base = f"{base}/{escape(token)}"
        else:
            base = f"{base}/{token}"
    return base


def split(pointer: str) -> list[str]:
    if not pointer:
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"not a JSON pointer: {pointer!r}")
    return [unescape(token) for token in pointer[1:].split("/")]


def from_path(path: Iterable[str | int]) -> str:
    return join("", *path)


def resolve(document, pointer: str):
    """The value at ``pointer``; raises KeyError/IndexError if it is not there."""
    node = document
    for token in split(pointer):
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node
