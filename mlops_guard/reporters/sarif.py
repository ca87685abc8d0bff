"""SARIF 2.1.0, for GitHub code scanning and other viewers of static analysis results.

One run; ``tool.driver.rules`` lists the rules that ran (built-in and team rules, see
:func:`mlops_guard.reporters.report_context`) and the engine's own rules, with their
documentation, so a viewer can show "why" and "how to fix" next
to a result. Suppressed findings are included with ``suppressions`` (``inSource`` for
inline comments, ``external`` for policy waivers and baselines), which is how code
scanning learns that a result was dismissed on purpose. ``partialFingerprints`` carry
:meth:`Finding.fingerprint`, which does not depend on line numbers, so alerts survive
reformatting. Strings are valid Unicode (lone surrogates shown as backslash text, see
:mod:`.safe_text`); a file name that is not UTF-8 keeps its bytes in its URI.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from mlops_guard.reporters.safe_text import file_name_bytes, unicode_document

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
FINGERPRINT_KEY = "mlopsGuard/v1"


def render(result, context) -> str:
    rules, index = _rules(context)
    results = [_result(f, index, None) for f in result.findings]
    results += [_result(f, index, _suppression(f)) for f in result.suppressed]
    driver = {
        "name": "mlops-guard",
        "version": str(context.get("version") or "0"),
        "informationUri": "https://pypi.org/project/mlops-guard/",
        "rules": rules,
    }
    run = {
        "tool": {"driver": driver},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
        "invocations": [{"executionSuccessful": True}],
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    document = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(unicode_document(document), indent=2) + "\n"


def _rules(context) -> tuple[list[dict], dict[str, int]]:
    from mlops_guard.meta_rules import META_RULE_DOCS, META_RULES

    entries = [(rule.info, rule.doc) for rule in context.get("rules") or ()]
    entries += [(info, META_RULE_DOCS.get(info.id, "")) for info in META_RULES]
    rules, index = [], {}
    for info, doc in sorted(entries, key=lambda entry: entry[0].id):
        if info.id in index:
            continue
        index[info.id] = len(rules)
        text = doc.strip() or info.summary
        rules.append(
            {
                "id": info.id,
                "name": _pascal(info.summary),
                "shortDescription": {"text": info.summary},
                "fullDescription": {"text": text},
                "help": {"text": text, "markdown": text},
                "defaultConfiguration": {"level": LEVELS[info.severity]},
                "properties": {"category": info.category, "tags": [info.category]},
            }
        )
    return rules, index


def _pascal(summary: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in summary).split()
    return "".join(word[:1].upper() + word[1:] for word in words) or "Rule"


def _result(finding, index: dict[str, int], suppression: dict | None) -> dict:
    location = finding.location
    physical = {"artifactLocation": {"uri": _uri(location.file), "uriBaseId": "%SRCROOT%"}}
    if location.line is not None:
        region = {"startLine": location.line}
        if location.column:
            region["startColumn"] = location.column
        physical["region"] = region
    logical_name = finding.subject or finding.target or location.file
    qualified = "/".join(part for part in (finding.target, finding.subject) if part)
    entry = {
        "ruleId": finding.rule,
        "level": LEVELS.get(finding.severity, "warning"),
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": physical,
                "logicalLocations": [
                    {"name": logical_name, "fullyQualifiedName": qualified or logical_name}
                ],
                "properties": {"pointer": location.pointer},
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint()},
        "properties": {
            "category": finding.category,
            "target": finding.target,
            "subject": finding.subject,
            "pointer": location.pointer,
        },
    }
    if finding.rule in index:
        entry["ruleIndex"] = index[finding.rule]
    if suppression is not None:
        entry["suppressions"] = [suppression]
    return entry


def _suppression(finding) -> dict:
    kind = (finding.extra or {}).get("suppression")
    return {
        "kind": "inSource" if kind == "inSource" else "external",
        "justification": finding.suppressed or "",
    }


def _uri(file: str) -> str:
    path = Path(file)
    if path.is_absolute():
        try:
            return path.as_uri()
        except (UnicodeEncodeError, ValueError):
            return "file://" + quote(file_name_bytes(file), safe="/")
    return quote(file_name_bytes(file.replace("\\", "/")), safe="/")
