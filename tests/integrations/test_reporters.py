"""CI output formats: SARIF validated against the official 2.1.0 schema (a copy of
oasis-tcs/sarif-spec ``sarif-2.1/schema/sarif-schema-2.1.0.json`` is committed beside
this file, so the test runs offline), JUnit XML and GitHub workflow commands."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema

from mlops_guard.engine import RunResult
from mlops_guard.findings import Finding, Location
from mlops_guard.reporters import render
from tests.integrations.conftest import run_cli
from tests.integrations.templates import cfn_yaml

SCHEMA = Path(__file__).with_name("sarif-schema-2.1.0.json")


def _context():
    from mlops_guard.session import prepare

    session = prepare(None)
    return {"version": "0.1.0", "rules": session.rules, "command": "check"}


def _result() -> RunResult:
    active = Finding(
        "ST001",
        "structure",
        "error",
        "reference to unknown step 'X'",
        Location("pipelines/my pipeline.yaml", "/Steps/2", 12, 5),
        "daily-demand-forecast",
        "Train",
    )
    waived = Finding(
        "ST006", "structure", "warning", "unused", Location("a.json", "/Parameters/0"), "p"
    )._replace(suppressed="kept for the backfill job")
    inline = Finding(
        "NM001",
        "naming",
        "info",
        "name",
        Location("t.yaml", "", 3, 1),
        "p",
        suppressed="legacy",
        extra={"suppression": "inSource"},
    )
    return RunResult(findings=[active], suppressed=[waived, inline], targets=2, rules=10)


def test_sarif_validates_against_the_official_schema():
    document = json.loads(render("sarif", _result(), _context()))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(document)
    run = document["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert "How to fix" in rules["ST001"]["help"]["text"]
    assert rules["ST006"]["defaultConfiguration"]["level"] == "warning"
    assert rules["MG004"]["shortDescription"]["text"]
    first, waived, inline = run["results"]
    assert first["ruleId"] == "ST001" and first["level"] == "error"
    assert run["tool"]["driver"]["rules"][first["ruleIndex"]]["id"] == "ST001"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "pipelines/my%20pipeline.yaml"
    assert location["region"] == {"startLine": 12, "startColumn": 5}
    assert first["locations"][0]["properties"]["pointer"] == "/Steps/2"
    assert first["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == (
        "daily-demand-forecast/Train"
    )
    assert first["partialFingerprints"]["mlopsGuard/v1"] == _result().findings[0].fingerprint()
    assert "region" not in waived["locations"][0]["physicalLocation"]
    assert waived["suppressions"] == [
        {"kind": "external", "justification": "kept for the backfill job"}
    ]
    assert inline["suppressions"][0]["kind"] == "inSource" and inline["level"] == "note"


def test_sarif_of_a_real_run_validates(tmp_path, reference):
    reference["Steps"][2]["DependsOn"] = ["NoSuchStep"]
    (tmp_path / "pipeline.yaml").write_text(cfn_yaml(reference))
    result = run_cli("check", "pipeline.yaml", "--format", "sarif", "-o", "out.sarif", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    document = json.loads((tmp_path / "out.sarif").read_text())
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(document)
    [found] = document["runs"][0]["results"]
    assert found["ruleId"] == "ST001"
    assert found["locations"][0]["physicalLocation"]["region"]["startLine"] > 20


def test_junit_is_valid_xml_with_a_suite_per_rule():
    root = ET.fromstring(render("junit", _result(), _context()))
    assert root.tag == "testsuites"
    assert root.get("failures") == "1" and root.get("skipped") == "2"
    suites = {suite.get("name").split()[0]: suite for suite in root}
    st001 = suites["ST001"]
    [case] = st001.findall("testcase")
    failure = case.find("failure")
    assert failure.get("message") == "reference to unknown step 'X'"
    assert "pipelines/my pipeline.yaml:12:5" in failure.text
    assert suites["ST006"].find("testcase/skipped") is not None
    assert suites["ST002"].get("failures") == "0"  # checked, passed


def test_github_annotations_escape_data_and_properties():
    finding = Finding(
        "ST001",
        "structure",
        "error",
        "100% broken\nsecond line",
        Location("dir/a,b:c.json", "/Steps/0", 3, 7),
        "p",
    )
    info = finding._replace(severity="info", location=Location("x.json"))
    text = render("github", RunResult(findings=[finding, info], targets=1, rules=1), _context())
    lines = text.splitlines()
    assert lines[0] == (
        "::error file=dir/a%2Cb%3Ac.json,line=3,col=7,title=ST001::"
        "100%25 broken%0Asecond line [/Steps/0]"
    )
    assert lines[1].startswith("::notice file=x.json,title=ST001::")
    assert lines[-1].startswith("Found 2 findings")
