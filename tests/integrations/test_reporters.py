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


# -- hostile text: what the checked files hold never breaks a report -------------------------

HOSTILE = "a\ud800b\udcffc\x1b[31md\ne\rf\x00g\x7fh\u202ei\u2028j\ufffek%l,m:né"


def _hostile_result() -> RunResult:
    finding = Finding(
        "ST001",
        "structure",
        "error",
        f"step {HOSTILE!s} is odd",
        Location(f"dir/{HOSTILE}.json", f"/Steps/{HOSTILE}", 3, 7),
        HOSTILE,
        HOSTILE,
    )
    waived = finding._replace(rule="ST006", suppressed=HOSTILE)
    return RunResult(findings=[finding], suppressed=[waived], targets=1, rules=2)


def _no_lone_surrogates(value) -> None:
    json.dumps(value, ensure_ascii=False).encode("utf-8")


def test_fingerprint_of_any_text_and_unchanged_for_plain_text():
    plain = Finding("ST001", "structure", "error", "m", Location("a.json"), "p", "s")
    # The key of plain text is what it always was: baselines written before stay valid.
    assert plain.fingerprint() == "52e6f1950c603b79a9a6aca9"
    assert len(_hostile_result().findings[0].fingerprint()) == 24


def test_text_report_keeps_one_line_per_finding():
    text = render("text", _hostile_result(), _context())
    lines = text.splitlines()
    assert len(lines) == 2 and lines[1].startswith("Found 1 finding")
    assert "a\\ud800b\\xffc\\x1b[31md\\ne\\rf\\x00g\\x7fh\\u202ei\\u2028j" in lines[0]
    assert "\ufffek%l,m:né" in lines[0]  # printable text, non-ASCII included, stays as it is
    text.encode("utf-8")


def test_json_and_sarif_are_valid_unicode():
    document = json.loads(render("json", _hostile_result(), _context()))
    _no_lone_surrogates(document)
    [finding] = document["findings"]
    assert finding["target"].startswith("a\\ud800b\\xffc\x1b[31md\ne")  # controls kept by JSON
    sarif = json.loads(render("sarif", _hostile_result(), _context()))
    _no_lone_surrogates(sarif)
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).validate(sarif)
    uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    # The name's own byte 0xFF is kept; the lone surrogate no file system gives is text.
    assert uri["uri"].startswith("dir/a%5Cud800b%FFc%1B")


def test_junit_is_well_formed_whatever_the_messages_hold():
    text = render("junit", _hostile_result(), _context())
    root = ET.fromstring(text)
    failure = root.find(".//failure")
    assert failure.get("message").startswith("step a\\ud800b\\xffc\\x1b[31md\ne\rf\\x00g")
    assert root.find(".//skipped") is not None
    text.encode("utf-8")


def test_github_annotations_stay_one_line():
    text = render("github", _hostile_result(), _context())
    lines = text.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("::error file=dir/a\\ud800b\\xffc\\x1b[31md%0Ae%0Df\\x00g")
    assert "%25l%2Cm%3An" in lines[0]  # property escaping still applies


def rule_counts(outputs: dict[str, str]) -> dict[str, int]:
    """The number of rules each report says it checked (the engine's own MG rules apart:
    SARIF describes them all, JUnit lists one only when it has findings)."""
    text = outputs["text"].splitlines()[-1]
    sarif = json.loads(outputs["sarif"])["runs"][0]["tool"]["driver"]["rules"]
    suites = ET.fromstring(outputs["junit"]).findall("testsuite")
    return {
        "text": int(text.rsplit(", ", 1)[1].split()[0]),
        "json": json.loads(outputs["json"])["summary"]["rules"],
        "sarif": sum(1 for rule in sarif if not rule["id"].startswith("MG")),
        "junit": sum(1 for suite in suites if not suite.get("name").startswith("MG")),
    }


def test_every_report_of_a_check_counts_the_rules_that_ran(tmp_path, reference):
    (tmp_path / "pipeline.json").write_text(json.dumps(reference))
    outputs = {}
    for name in ("text", "json", "sarif", "junit"):
        done = run_cli(
            "check", "pipeline.json", "--select", "ST,NM", "--format", name, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        outputs[name] = done.stdout
    counts = rule_counts(outputs)
    assert len(set(counts.values())) == 1, counts
    assert counts["text"] < 40  # the selection, not every rule loaded
