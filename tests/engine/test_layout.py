"""The package's rooms: the command-line entry point is a leaf that nothing imports.

``mlops_guard.cli`` parses, dispatches and guards; a module that imported it back (for a
parser class, an option or an error) would make it a library and bring back the import
cycle between the entry point and the commands it runs.
"""

from __future__ import annotations

from pathlib import Path

import mlops_guard
from tests.engine.imports import imported_modules

PACKAGE = Path(mlops_guard.__file__).resolve().parent


def _imported_modules(path: Path) -> set[str]:
    return imported_modules(path.read_text(encoding="utf-8"))


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
