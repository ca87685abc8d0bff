"""A JSON document for scripts (schema version 1, kept stable: additions are new keys).

The output is ASCII (``json`` escapes the rest) and valid Unicode: lone surrogates from
the checked files are shown as backslash text (:mod:`.safe_text`), since strict JSON
parsers reject them even escaped.
"""

from __future__ import annotations

import json
from collections import Counter

from mlops_guard.reporters.safe_text import unicode_document

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
    return json.dumps(unicode_document(document), indent=2, sort_keys=False) + "\n"
