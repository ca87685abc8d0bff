"""The one way mlops-guard reads YAML: safe, and bounded before anything is built.

PyYAML's safe loaders never run code, but they accept two shapes that make every walker
after them explode: *aliases* (``*a`` reuses the node anchored ``&a``; nine levels of ten
aliases each stand for a billion nodes, "billion laughs") and *recursive anchors* (``&a
[*a]``, a cycle, which PyYAML builds as a self-containing list). The composer shares an
aliased node instead of copying it, so composing costs no more than the text; the cost
comes later, from whatever walks the result as a tree.

So a document is composed first (with libyaml's C parser where it is installed, as
before), then measured in one pass over its distinct nodes, without recursion: the number
of nodes it stands for once aliases are expanded, its depth, its longest scalar, and
whether an alias points back into its own anchor. Only a document within the limits of
:mod:`.limits` is constructed. The same approach bounds aliases in other YAML readers
(a budget of expanded nodes relative to the document, as Go's ``yaml.v3`` and Rust's
``serde_yaml`` do), here as an absolute budget of added nodes: CloudFormation does not
accept aliases at all, and a policy file needs few.
"""

from __future__ import annotations

import yaml

from mlops_guard.errors import InputError
from mlops_guard.loaders import limits


def safe_loader_class():
    """libyaml's safe loader when PyYAML was built with it (fast), else PyYAML's."""
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def compose(text: str, shown: str, loader_class=None) -> yaml.Node | None:
    """The measured root node of ``text`` (None for an empty document).

    Raises ``yaml.YAMLError`` for text that is not YAML and :class:`InputError` for YAML
    beyond the limits.
    """
    loader = (loader_class or safe_loader_class())(text)
    try:
        root = _composed(loader, shown)
    finally:
        loader.dispose()
    if root is not None:
        measure(root, shown)
    return root


def load_with_nodes(
    text: str, shown: str, loader_class=None, wanted=None
) -> tuple[object, yaml.Node | None]:
    """The data of ``text`` and the root node it was built from (one parse).

    With ``wanted``, a composed document for which ``wanted(root)`` is false is neither
    measured nor built: the data is None. Raises ``yaml.YAMLError`` for text that is not
    YAML and :class:`InputError` for YAML beyond the limits, before any data is built.
    """
    loader = (loader_class or safe_loader_class())(text)
    try:
        root = _composed(loader, shown)
        if root is None or (wanted is not None and not wanted(root)):
            return None, root
        measure(root, shown)
        return loader.construct_document(root), root
    finally:
        loader.dispose()


def load(text: str, shown: str, loader_class=None):
    """The data of ``text``, like ``yaml.safe_load`` but bounded."""
    return load_with_nodes(text, shown, loader_class)[0]


def _composed(loader, shown: str) -> yaml.Node | None:
    """The loader's single document. libyaml stops at 1,000 levels of nesting by itself;
    PyYAML's pure-Python composer (when libyaml is missing) recurses instead."""
    try:
        return loader.get_single_node()
    except RecursionError:
        raise InputError(
            f"nested deeper than the limit of {limits.max_depth()} levels (MLOPS_GUARD_MAX_DEPTH)",
            file=shown,
        ) from None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _where(node: yaml.Node) -> str:
    mark = node.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}"


def measure(root: yaml.Node, shown: str) -> None:
    """Refuse a composed document with a recursive anchor, aliases that expand it by more
    than the alias budget, nesting deeper than the depth limit, or a scalar longer than
    the string limit. One depth-first pass over the distinct nodes; an aliased node's
    expanded size and depth are computed once and reused."""
    deepest = limits.max_depth()
    longest = limits.max_string_chars()
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, depth)
    open_nodes: set[int] = set()  # nodes whose children are being measured
    distinct = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            children = _children(node)
            size = 1 + sum(measured[id(child)][0] for child in children)
            depth = 1 + max((measured[id(child)][1] for child in children), default=0)
            if depth > deepest:
                raise InputError(
                    f"nested deeper than the limit of {deepest} levels (MLOPS_GUARD_MAX_DEPTH)",
                    file=shown,
                    where=_where(node),
                )
            measured[key] = (size, depth)
            open_nodes.discard(key)
            continue
        if key in measured:
            continue  # an alias of a node already measured
        if key in open_nodes:
            raise InputError(
                "recursive YAML anchor: an alias refers to the node that contains it",
                file=shown,
                where=_where(node),
            )
        distinct += 1
        if isinstance(node, yaml.ScalarNode):
            if len(node.value) > longest:
                raise InputError(
                    f"a string of {len(node.value)} characters is longer than the limit of "
                    f"{longest} (MLOPS_GUARD_MAX_STRING_CHARS)",
                    file=shown,
                    where=_where(node),
                )
            measured[key] = (1, 1)
            continue
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)))
    added = measured[id(root)][0] - distinct
    budget = limits.max_alias_nodes()
    if added > budget:
        raise InputError(
            f"YAML aliases expand the document by {added} nodes, more than the limit of "
            f"{budget} (MLOPS_GUARD_MAX_YAML_ALIAS_NODES)",
            file=shown,
        )


def problem(error: yaml.YAMLError) -> tuple[str, str | None]:
    """What is wrong with invalid YAML, and where, for a one-line input error."""
    mark = getattr(error, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
    text = getattr(error, "problem", None) or (str(error).splitlines() or [""])[0]
    return text, where
