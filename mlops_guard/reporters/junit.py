"""JUnit XML, for CI systems that show test reports (GitLab ``artifacts:reports:junit``,
Jenkins, Azure DevOps).

One ``testsuite`` per rule, so a report reads "NM002: 2 failures"; one ``testcase`` per
finding (a ``failure``) or per suppressed finding (``skipped``, with the reason). A rule
without findings gets one passing test case, so the report also shows what was checked.

The document is well-formed whatever the findings quote: characters XML 1.0 forbids even
as references (most C0 controls, lone surrogates) are shown as backslash text
(:mod:`.safe_text`). ElementTree writes them as they are, and they can only occur inside
attribute values and text, so the serialized document is cleaned once.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from mlops_guard.reporters.safe_text import xml_text


def render(result, context) -> str:
    from mlops_guard.reporters.text import format_location

    summaries = {rule.id: rule.info.summary for rule in context.get("rules") or ()}
    findings = defaultdict(list)
    for finding in result.findings:
        findings[finding.rule].append((finding, False))
    for finding in result.suppressed:
        findings[finding.rule].append((finding, True))
    root = ET.Element("testsuites", name="mlops-guard")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for rule_id in sorted(set(summaries) | set(findings)):
        summary = summaries.get(rule_id, "")
        suite = ET.SubElement(root, "testsuite", name=f"{rule_id} {summary}".strip())
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        for finding, suppressed in findings.get(rule_id, []):
            where = format_location(finding.location)
            name = " ".join(part for part in (finding.target, finding.subject) if part)
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"mlops-guard.{rule_id}",
                name=f"{name or finding.location.file} ({where})",
                file=finding.location.file,
            )
            if finding.location.line is not None:
                case.set("line", str(finding.location.line))
            counts["tests"] += 1
            if suppressed:
                ET.SubElement(case, "skipped", message=f"suppressed: {finding.suppressed}")
                counts["skipped"] += 1
                continue
            failure = ET.SubElement(case, "failure", message=finding.message, type=finding.severity)
            pointer = f"\npointer: {finding.location.pointer}" if finding.location.pointer else ""
            failure.text = f"{where}: {finding.rule} {finding.severity}: {finding.message}{pointer}"
            counts["failures"] += 1
        if not counts["tests"]:
            ET.SubElement(suite, "testcase", classname=f"mlops-guard.{rule_id}", name="no findings")
            counts["tests"] = 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("errors", "0")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    ET.indent(root)
    document = xml_text(ET.tostring(root, encoding="unicode"))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + document + "\n"
