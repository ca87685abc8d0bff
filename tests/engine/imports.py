"""Which modules a Python source imports, read from its syntax: nothing is imported, so a
test can check the layering of modules (a rule file, the entry point) without running them."""

from __future__ import annotations

import ast


def imported_modules(source: str) -> set[str]:
    """Every module an ``import`` or ``from ... import`` names, with the names imported
    from a package (``from mlops_guard import audit`` imports ``mlops_guard.audit``);
    lazy imports inside functions count too."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found
