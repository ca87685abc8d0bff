"""Built-in rules import no command package.

A rule file is imported by every command that runs rules (``check`` on each commit,
``audit``, the pytest plugin): what it needs lives beside the model it judges
(:mod:`mlops_guard.definition`, :mod:`mlops_guard.metadata`), never in the code of a
command, which would tie the rules to one command and make every ``check`` load it.
Read from the source's imports, so a rule importing a command lazily is caught too.
"""

from __future__ import annotations

import pytest

from tests.engine.imports import imported_modules
from tests.rules.conftest import ROOT

COMMAND_PACKAGES = (
    "mlops_guard.audit",
    "mlops_guard.cli",
    "mlops_guard.commands",
    "mlops_guard.metadata.cli",
)
RULE_FILES = sorted((ROOT / "rules").glob("check_*.py"))


def is_command(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in COMMAND_PACKAGES)


def test_the_rule_files_are_found():
    assert len(RULE_FILES) >= 10


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda path: path.name)
def test_a_rule_file_imports_no_command_package(path):
    commands = sorted(filter(is_command, imported_modules(path.read_text(encoding="utf-8"))))
    assert commands == [], f"{path.name} imports {', '.join(commands)}"


@pytest.mark.parametrize(
    "source",
    [
        "from mlops_guard.audit import facts",
        "from mlops_guard import audit",
        "import mlops_guard.cli",
        "def f():\n    from mlops_guard.metadata.cli import main",
    ],
)
def test_the_check_sees_each_form_of_import(source):
    assert any(map(is_command, imported_modules(source)))


def test_the_metadata_model_and_its_queries_are_allowed():
    source = "from mlops_guard.metadata import recorded_runs\nfrom mlops_guard import rule"
    assert not any(map(is_command, imported_modules(source)))
