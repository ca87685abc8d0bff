"""Map JSON pointers to line and column in YAML text, and load YAML with its marks.

Findings name places by JSON pointer; users need ``file:line:col``. PyYAML's composer
already knows where every node starts, so the YAML is composed once, the data is
constructed from those same nodes (no second parse), and the marks are kept.

A mapping entry is located at its *key* (the line a reader looks for: ``Steps:``), a
sequence item at the item's first character. Pointers that name a place the text does
not have (inside a value a loader rewrote, such as a short intrinsic tag) fall back to
the nearest enclosing node, like :class:`~mlops_guard.loaders.json_marks.JsonMarks`.
"""

from __future__ import annotations

from collections.abc import Callable

import yaml

from mlops_guard.pointer import escape


class YamlMarks:
    """``pointer -> (line, column)`` (1-based) for one composed YAML document.

    ``tag_key`` lets a loader that turns a tagged node into a one-key mapping (``!Ref x``
    into ``{"Ref": "x"}``) name that key, so pointers through it still resolve.
    """

    def __init__(self, root: yaml.Node | None, tag_key: Callable[[str], str | None] | None = None):
        self._root = root
        self._tag_key = tag_key
        self._positions: dict[str, tuple[int, int]] | None = None

    @classmethod
    def from_text(cls, text: str, loader=None, shown: str = "<yaml>") -> YamlMarks:
        """Marks for ``text``, composed within the limits of :mod:`.safe_yaml` (which
        make the recursive walk below safe: no cycles, bounded depth and size)."""
        from mlops_guard.loaders import safe_yaml

        return cls(safe_yaml.compose(text, shown, loader))

    def locate(self, pointer: str) -> tuple[int, int] | None:
        positions = self._build()
        while True:
            if pointer in positions:
                return positions[pointer]
            if not pointer:
                return None
            pointer = pointer.rsplit("/", 1)[0]

    def node(self, pointer: str) -> yaml.Node | None:
        return self._node_at(pointer)

    def _node_at(self, pointer: str) -> yaml.Node | None:
        from mlops_guard.pointer import split

        node = self._root
        for token in split(pointer):
            node = _child(node, token)
            if node is None:
                return None
        return node

    def _build(self) -> dict[str, tuple[int, int]]:
        if self._positions is None:
            positions: dict[str, tuple[int, int]] = {}
            if self._root is not None:
                positions[""] = _start(self._root)
                self._walk(self._root, "", positions)
            self._positions = positions
        return self._positions

    def _walk(self, node: yaml.Node, pointer: str, positions: dict) -> None:
        key = self._tag_key(node.tag) if self._tag_key and node.tag.startswith("!") else None
        if key is not None:
            # ``!Sub "..."`` was loaded as {"Fn::Sub": "..."}: the value is the node itself.
            pointer = f"{pointer}/{escape(key)}"
            positions.setdefault(pointer, _start(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                child = f"{pointer}/{escape(key_node.value)}"
                positions.setdefault(child, _start(key_node))
                self._walk(value_node, child, positions)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = f"{pointer}/{index}"
                positions.setdefault(child, _start(item))
                self._walk(item, child, positions)


def last_line(node: yaml.Node, lines: list[str]) -> int:
    """The last line (1-based) holding text of ``node``: a block node's end mark sits at
    the start of whatever follows it, often the next key's indentation."""
    line, column = node.end_mark.line, node.end_mark.column
    before = lines[line][:column] if line < len(lines) else ""
    last = line if before.strip() == "" else line + 1
    return max(last, node.start_mark.line + 1)


def _start(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _child(node: yaml.Node, token: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == token:
                return value_node
        return None
    if isinstance(node, yaml.SequenceNode) and token.isdigit() and int(token) < len(node.value):
        return node.value[int(token)]
    return None


def load_with_marks(
    text: str, loader_class, shown: str = "<yaml>"
) -> tuple[object, yaml.Node | None]:
    """Parse ``text`` once with ``loader_class``: the data and the root node it came from,
    bounded by :mod:`.safe_yaml` (aliases, recursive anchors, depth, string length).

    Raises ``yaml.YAMLError`` for invalid YAML, like ``yaml.load``, and ``InputError`` for
    YAML beyond the limits.
    """
    from mlops_guard.loaders import safe_yaml

    return safe_yaml.load_with_nodes(text, shown, loader_class)


def line_of(text: str, path: list[str | int]) -> int | None:
    """The line (1-based) of the deepest key of ``path`` present in the YAML ``text``;
    for policy files, whose validation errors name keys, not pointers."""
    from mlops_guard.errors import InputError

    try:
        marks = YamlMarks.from_text(text)
    except (yaml.YAMLError, InputError):
        return None
    pointer = "".join(f"/{escape(part)}" for part in path)
    position = marks.locate(pointer)
    return position[0] if position else None
