"""The rules engine: discovery, injection by name, both reporting styles, crashes,
selection, severities and waivers, driven through team rule files like a user's."""

from __future__ import annotations

import datetime as dt
import json
import sys
import textwrap
from pathlib import Path

import pytest

from mlops_guard import engine
from mlops_guard.definition import Definition
from mlops_guard.errors import InputError
from mlops_guard.registry import load_rules
from mlops_guard.selection import Selection
from mlops_guard.targets import Target
from tests.rules.conftest import policy_with, reference_definition


def rules_dir(tmp_path: Path, source: str, name: str = "check_team.py") -> Path:
    directory = tmp_path / "team_rules"
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(textwrap.dedent(source), encoding="utf-8")
    return directory


def target(definition: dict | None = None, file: str = "pipelines/daily.json") -> Target:
    return Target(
        file=file,
        kind="definition",
        name="daily-demand-forecast",
        definition=Definition(definition or reference_definition(), name="daily-demand-forecast"),
    )


def run(directory: Path, policy: dict | None = None, targets=None, **kwargs):
    settings = policy_with(policy)
    rules = load_rules([(directory, False)])
    selection = Selection.from_policy(settings, kwargs.pop("select", None))
    return engine.run(targets or [target()], rules, settings, selection, **kwargs)


ASSERT_RULE = '''
from mlops_guard import rule

@rule(id="TM001", category="naming", summary="Steps are short")
def check_short_steps(step):
    """Steps are short."""
    assert len(step.name) <= 7, f"step {step.name} is long"
'''


def test_assert_style_runs_once_per_step(tmp_path):
    result = run(rules_dir(tmp_path, ASSERT_RULE))
    messages = sorted(f.message for f in result.findings)
    long_names = sorted(
        f"step {s.name} is long"
        for s in Definition(reference_definition()).steps
        if len(s.name) > 7
    )
    assert messages == long_names and messages
    finding = result.findings[0]
    assert finding.subject in {"TrainEvaluation", "CheckEvaluation", "EvaluationFailed"}
    assert finding.location.pointer.startswith("/Steps/")


def test_yield_style_with_pointers(tmp_path):
    source = '''
    from mlops_guard import Violation, rule

    @rule(id="TM002", category="structure", severity="warning", summary="List parameters")
    def check_parameters(definition):
        """Reports each parameter."""
        for parameter in definition.parameters:
            yield Violation(f"parameter {parameter.name}", at=parameter.pointer + "/Name")
    '''
    result = run(rules_dir(tmp_path, source))
    assert [f.location.pointer for f in result.findings] == [
        f"/Parameters/{i}/Name" for i in range(len(reference_definition()["Parameters"]))
    ]
    assert {f.severity for f in result.findings} == {"warning"}


def test_crashing_rule_is_a_finding_and_the_run_goes_on(tmp_path):
    source = '''
    from mlops_guard import Violation, rule

    @rule(id="TM003", category="structure", summary="Crashes half way")
    def check_crash(definition):
        """Yields once then crashes."""
        yield Violation("before the crash")
        raise KeyError("Boom")

    @rule(id="TM004", category="structure", summary="Still runs")
    def check_after(definition):
        """Runs after the crash."""
        assert False, "second rule ran"
    '''
    result = run(rules_dir(tmp_path, source))
    by_rule = {(f.rule, f.message.split(":")[0]) for f in result.findings}
    assert ("TM003", "before the crash") in by_rule
    crash = [f for f in result.findings if f.extra.get("crashed")]
    assert len(crash) == 1 and crash[0].rule == "TM003"
    assert "KeyError" in crash[0].message and "Boom" in crash[0].message
    assert any(f.rule == "TM004" and f.message == "second rule ran" for f in result.findings)


def test_bare_assert_uses_the_summary(tmp_path):
    source = '''
    from mlops_guard import rule

    @rule(id="TM005", category="structure", summary="Never passes")
    def check_never(definition):
        """Fails."""
        assert False
    '''
    assert [f.message for f in run(rules_dir(tmp_path, source)).findings] == ["Never passes"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def check_x(step):\n    '''d'''\n", "no @rule"),
        (
            "from mlops_guard import rule\n@rule(id='TM010', category='naming', summary='s')\n"
            "def check_x(stepp):\n    '''d'''\n",
            "unknown fixture 'stepp'",
        ),
        (
            "from mlops_guard import rule\n@rule(id='TM011', category='naming', summary='s')\n"
            "def check_x(step, parameter):\n    '''d'''\n",
            "one kind of item",
        ),
        (
            "from mlops_guard import rule\n@rule(id='TM012', category='naming', summary='s')\n"
            "def check_x(step, experiment):\n    '''d'''\n",
            "mixes definition and metadata",
        ),
        (
            "from mlops_guard import rule\n@rule(id='TM013', category='naming', summary='s')\n"
            "def check_x(policy):\n    '''d'''\n",
            "nothing to check",
        ),
        (
            "from mlops_guard import rule\n@rule(id='TM014', category='naming', summary='s')\n"
            "def check_x(step):\n    pass\n",
            "no docstring",
        ),
        (
            "from mlops_guard import rule\n@rule(id='tm1', category='naming', summary='s')\n"
            "def check_x(step):\n    '''d'''\n",
            "must be 2-4 capital letters",
        ),
        (
            "from mlops_guard import rule\n@rule(id='TM015', category='style', summary='s')\n"
            "def check_x(step):\n    '''d'''\n",
            "category 'style'",
        ),
        ("import nonexistent_module_xyz\n", "ModuleNotFoundError"),
        ("def check_x(:\n", "syntax error"),
    ],
)
def test_bad_rule_files_are_load_errors_naming_the_problem(tmp_path, source, expected):
    directory = rules_dir(tmp_path, source)
    with pytest.raises(InputError, match=expected) as error:
        load_rules([(directory, False)])
    assert "check_team.py" in str(error.value)


def test_duplicate_rule_id_is_an_error(tmp_path):
    body = (
        "from mlops_guard import rule\n@rule(id='{id}', category='naming', summary='s')\n"
        "def check_{n}(step):\n    '''d'''\n"
    )
    rules_dir(tmp_path, body.format(id="TM020", n="a"), "check_one.py")
    directory = rules_dir(tmp_path, body.format(id="TM020", n="b"), "check_two.py")
    with pytest.raises(InputError, match="duplicate rule id TM020"):
        load_rules([(directory, False)])


def test_duplicate_of_a_builtin_id_is_an_error(tmp_path):
    from mlops_guard.resources import builtin_rules_dir

    body = (
        "from mlops_guard import rule\n@rule(id='ST001', category='naming', summary='s')\n"
        "def check_a(step):\n    '''d'''\n"
    )
    directory = rules_dir(tmp_path, body)
    with pytest.raises(InputError, match="duplicate rule id ST001"):
        load_rules([(builtin_rules_dir(), True), (directory, False)])


def test_selection_precedence_and_severity_overrides(tmp_path):
    source = '''
    from mlops_guard import rule

    @rule(id="TM101", category="naming", summary="one")
    def check_one(definition):
        """One."""
        assert False

    @rule(id="TM102", category="naming", summary="two")
    def check_two(definition):
        """Two."""
        assert False
    '''
    directory = rules_dir(tmp_path, source)

    def ids(policy):
        return sorted((f.rule, f.severity) for f in run(directory, policy).findings)

    assert ids({}) == [("TM101", "error"), ("TM102", "error")]
    assert ids({"ignore": ["TM1"]}) == []
    assert ids({"ignore": ["TM"], "select": ["TM102"]}) == [("TM102", "error")]
    assert ids({"select": ["TM"], "ignore": ["TM102"]}) == [("TM101", "error")]
    assert ids({"severity": {"TM": "info", "TM102": "warning"}}) == [
        ("TM101", "info"),
        ("TM102", "warning"),
    ]
    assert ids({"per_path_ignores": {"pipelines/*": ["TM101"]}}) == [("TM102", "error")]
    assert ids({"per_path_ignores": {"other/*": ["TM101"]}}) == [
        ("TM101", "error"),
        ("TM102", "error"),
    ]


def test_waivers_suppress_expire_and_report_unused(tmp_path):
    directory = rules_dir(tmp_path, ASSERT_RULE)
    today = dt.date(2026, 11, 23)
    waivers = [
        {
            "rule": "TM001",
            "step": "TrainEvaluation",
            "reason": "migrating",
            "expires": "2027-01-01",
        },
        {"rule": "TM001", "step": "CheckEvaluation", "reason": "old", "expires": "2026-01-01"},
        {"rule": "TM001", "pipeline": "other-*", "reason": "nothing matches"},
    ]
    result = run(directory, {"waivers": waivers}, today=today, policy_file="team.yaml")
    suppressed = [(f.subject, f.suppressed) for f in result.suppressed]
    assert suppressed == [("TrainEvaluation", "migrating")]
    active = {(f.rule, f.subject) for f in result.findings}
    assert ("TM001", "CheckEvaluation") in active  # expired waivers do not suppress
    assert ("TM001", "TrainEvaluation") not in active
    meta = {f.rule: f for f in result.findings if f.rule.startswith("MG")}
    assert "expired on 2026-01-01" in meta["MG001"].message
    assert meta["MG001"].location.pointer == "/waivers/1"
    assert "matches nothing" in meta["MG002"].message
    assert meta["MG002"].location.file == "team.yaml"


def test_run_is_deterministic(tmp_path):
    directory = rules_dir(tmp_path, ASSERT_RULE)
    first = [f.to_dict() for f in run(directory).findings]
    second = [f.to_dict() for f in run(directory).findings]
    assert json.dumps(first) == json.dumps(second)


def test_fixture_gives_the_rules_policy_slice(tmp_path):
    source = '''
    from mlops_guard import rule

    @rule(id="TM201", category="idempotent-outputs", summary="partition key")
    def check_key(definition, settings):
        """Reports the key."""
        assert False, settings.partition_key
    '''
    result = run(rules_dir(tmp_path, source), {"idempotent_outputs": {"partition_key": "day"}})
    assert [f.message for f in result.findings] == ["day"]


def test_check_skips_importing_rule_files_of_other_domains(tmp_path, monkeypatch):
    """A pre-commit check does not import metadata-only rule files once the manifest
    knows them; an edited file is imported again."""
    monkeypatch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    marker = tmp_path / "imported.txt"
    source = f'''
    from pathlib import Path
    Path({str(marker)!r}).open("a").write("x")
    from mlops_guard import rule

    @rule(id="TM301", category="naming", summary="audit only")
    def check_runs(run):
        """Metadata."""
    '''
    directory = rules_dir(tmp_path, source, "check_audit_only.py")
    first = load_rules([(directory, False)], domains={"definition"})
    assert first == [] and marker.read_text() == "x"
    for name in list(sys.modules):  # a new process would not have it imported
        if name.endswith(".check_audit_only"):
            del sys.modules[name]
    assert load_rules([(directory, False)], domains={"definition"}) == []
    assert marker.read_text() == "x", "not imported again"
    assert [rule.id for rule in load_rules([(directory, False)])] == ["TM301"]
    assert marker.read_text() == "xx", "all domains import everything"


def test_violation_extra_reaches_the_finding(tmp_path):
    source = '''
    from mlops_guard import Violation, rule

    @rule(id="TM401", category="structure", summary="extra")
    def check_extra(definition):
        """Carries details."""
        yield Violation("with details", extra={"metric": "mape", "value": 0.3})
    '''
    (finding,) = run(rules_dir(tmp_path, source)).findings
    assert finding.extra == {"metric": "mape", "value": 0.3}
