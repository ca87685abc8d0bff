"""Bundled examples: the compliant reference and non-compliant variants of it.

Each example is the reference definition with one realistic mistake, so ``mlops-guard
demo`` shows what the rules report and tests can assert it.
"""

from __future__ import annotations

from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent

EXPECTED = {
    "outputs-keyed-by-execution.json": {"IO002", "IO003"},
    "ungated-promotion.json": {"ET001"},
    "unpinned-images-and-secret.json": {"RF003", "SC001"},
}


def example_paths() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.json"))


def reference_definition_path() -> Path:
    return EXAMPLES_DIR.parent / "reference" / "definition.json"
