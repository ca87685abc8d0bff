"""One line per finding, ruff-style, then a summary line.

Each finding is exactly one line whatever its text holds: line breaks, controls and
surrogates from the checked files are shown as escapes (:mod:`.safe_text`).
"""

from __future__ import annotations

from collections import Counter

from mlops_guard.reporters.safe_text import printable


def format_location(location) -> str:
    text = location.file
    if location.line is not None:
        text += f":{location.line}:{location.column}"
    return text


def render(result, context) -> str:
    lines = []
    for finding in result.findings:
        where = format_location(finding.location)
        pointer = f" [{finding.location.pointer}]" if finding.location.pointer else ""
        line = f"{where}: {finding.rule} {finding.severity}: {finding.message}{pointer}"
        lines.append(printable(line))
    counts = Counter(finding.severity for finding in result.findings)
    noun = "target" if result.targets == 1 else "targets"
    if result.findings:
        parts = [f"{counts[s]} {s}" for s in ("error", "warning", "info") if counts[s]]
        summary = f"Found {len(result.findings)} finding{'s' if len(result.findings) != 1 else ''}"
        summary += f" ({', '.join(parts)}) in {result.targets} {noun}"
    else:
        rules = "rule" if result.rules == 1 else "rules"
        summary = f"All checks passed: {result.targets} {noun}, {result.rules} {rules}"
    if result.suppressed:
        summary += f"; {len(result.suppressed)} suppressed"
    lines.append(summary + ".")
    return "\n".join(lines) + "\n"
