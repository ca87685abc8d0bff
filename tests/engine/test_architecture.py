"""``mlops_guard/ARCHITECTURE.md`` stays a true map: what it names exists, and every module
of the package is named in it (a new module means a sentence about its room)."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mlops_guard"
MAP = (PACKAGE / "ARCHITECTURE.md").read_text(encoding="utf-8")
NAMED = set(re.findall(r"`([A-Za-z0-9_./]+?\.(?:py|json))`", MAP))


def _modules() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py")
        and "scripts" not in path.relative_to(PACKAGE).parts
    )


def test_every_module_of_the_package_is_on_the_map():
    missing = [
        str(path.relative_to(PACKAGE))
        for path in _modules()
        if path.name not in {Path(name).name for name in NAMED}
    ]
    assert missing == [], f"ARCHITECTURE.md does not say where these belong: {missing}"


def test_every_file_the_map_names_exists():
    names = {path.name for path in PACKAGE.rglob("*") if path.is_file()}
    names |= {"__init__.py"}
    absent = sorted(
        name for name in NAMED if not name.startswith("tests/") and Path(name).name not in names
    )
    assert absent == [], f"ARCHITECTURE.md names files that do not exist: {absent}"


def test_every_dotted_name_on_the_paths_resolves():
    """``module.attribute`` in the paths of one check and one audit name real code."""
    import importlib

    dotted = set(re.findall(r"`((?:[a-z_]+\.)+[A-Za-z_]+)`", MAP))
    unresolved = []
    for name in sorted(dotted):
        if name.endswith((".py", ".json", ".md", ".toml")):
            continue
        name = name.removeprefix("mlops_guard.")
        module, _, attribute = name.rpartition(".")
        for candidate in (f"mlops_guard.{name}", f"mlops_guard.{module}"):
            try:
                found = importlib.import_module(candidate)
            except ImportError:
                continue
            if candidate.endswith(name) or hasattr(found, attribute):
                break
        else:
            unresolved.append(name)
    assert unresolved == [], f"ARCHITECTURE.md names what the code does not have: {unresolved}"
