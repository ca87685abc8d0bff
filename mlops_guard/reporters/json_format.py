"""The stable JSON output (schema documented in the README, "Output formats")."""

from __future__ import annotations

import json
from collections import Counter

SCHEMA_VERSION = 1


def render(result, context) -> str:
    counts = Counter(finding.severity for finding in result.findings)
    document = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "mlops-guard", "version": context.get("version")},
        "summary": {
            "targets": result.targets,
            "rules": result.rules,
            "findings": len(result.findings),
            "suppressed": len(result.suppressed),
            "by_severity": {s: counts[s] for s in ("error", "warning", "info")},
        },
        "findings": [finding.to_dict() for finding in result.findings],
        "suppressed": [finding.to_dict() for finding in result.suppressed],
    }
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
