"""The package's rooms: the command-line entry point is a leaf that nothing imports.

``mlops_guard.cli`` parses, dispatches and guards; a module that imported it back (for a
parser class, an option or an error) would make it a library and bring back the import
cycle between the entry point and the commands it runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mlops_guard

PACKAGE = Path(mlops_guard.__file__).resolve().parent


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_only_the_module_entry_point_imports_the_cli():
    importers = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "mlops_guard.cli" in _imported_modules(path)
    )
    assert importers == ["__main__.py"]


def test_the_commands_do_not_import_the_entry_point():
    assert not any(
        name == "mlops_guard.cli" or name.startswith("mlops_guard.cli.")
        for name in _imported_modules(PACKAGE / "commands.py")
    )
