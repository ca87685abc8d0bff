"""The reference daily train-and-predict SageMaker pipeline of mlops-guard.

The compliant baseline users copy and the fixture the rule tests mutate. Importing this
package needs neither the SageMaker SDK nor pandas: those are imported when a pipeline is
built (``get_pipeline``), rendered (``render_definition``) or run (``run_reference``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEFINITION_PATH = Path(__file__).resolve().parent / "definition.json"

__all__ = [
    "DEFINITION_PATH",
    "get_pipeline",
    "load_definition",
    "render_definition",
    "run_reference",
]


def load_definition() -> dict:
    """The committed rendered definition (no SDK needed)."""
    return json.loads(DEFINITION_PATH.read_text(encoding="utf-8"))


def get_pipeline(region: str, role: str, default_bucket: str, *args: Any, **kwargs: Any):
    """Build the reference pipeline with the SDK (see ``pipeline.get_pipeline``)."""
    from mlops_guard.reference.pipeline import get_pipeline as build

    return build(region, role, default_bucket, *args, **kwargs)


def render_definition(**kwargs: Any) -> str:
    """Render the definition offline with the SDK (see ``render.render_definition``)."""
    from mlops_guard.reference.render import render_definition as render

    return render(**kwargs)


def run_reference(date: str, output: str, **kwargs: Any):
    """Run the reference pipeline locally (see ``runner.run_reference``)."""
    from mlops_guard.reference.runner import run_reference as run

    return run(date, output, **kwargs)
