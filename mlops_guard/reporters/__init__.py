"""Output formats, one module each, all rendering the same :class:`RunResult`."""

from __future__ import annotations

import importlib
import importlib.util

FORMATS = {
    "text": "mlops_guard.reporters.text",
    "json": "mlops_guard.reporters.json_format",
    "sarif": "mlops_guard.reporters.sarif",
    "junit": "mlops_guard.reporters.junit",
    "github": "mlops_guard.reporters.github",
}


def available_formats() -> list[str]:
    return [name for name, module in FORMATS.items() if importlib.util.find_spec(module)]


def render(format_name: str, result, context) -> str:
    """``context`` carries what some formats need besides findings (rule docs, tool
    version, the command's name)."""
    module = importlib.import_module(FORMATS[format_name])
    return module.render(result, context)
