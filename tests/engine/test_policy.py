"""Policy discovery, extends, validation errors and the validated-policy cache."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlops_guard.errors import InputError
from mlops_guard.policy.load import load_policy, resolve_policy_source
from mlops_guard.resources import default_policy_path
from tests.engine.files import write


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path / "cache"))


def test_default_policy_loads_and_carries_the_conventions():
    policy = load_policy(str(default_policy_path())).settings
    assert policy.idempotent_outputs.run_date_parameter == "ExecutionDate"
    assert policy.idempotent_outputs.partition_key == "dt"
    assert policy.evaluation_thresholds.thresholds[0]["metric"] == "mape"
    assert policy.naming.experiment_kinds.debug.match == "^debug-"


def test_extends_overrides_only_what_it_names(tmp_path):
    team = write(
        tmp_path / "team.yaml",
        """
        extends: default
        idempotent_outputs:
          partition_key: date
        evaluation_thresholds:
          thresholds:
            - {metric: rmse, direction: lower_is_better, value: 12.5}
        """,
    )
    policy = load_policy(str(team)).settings
    assert policy.idempotent_outputs.partition_key == "date"
    assert policy.idempotent_outputs.run_date_parameter == "ExecutionDate"  # inherited
    assert [t.metric for t in policy.evaluation_thresholds.thresholds] == ["rmse"]


def test_extends_chain_of_files(tmp_path):
    write(tmp_path / "base.yaml", "extends: default\nfail_on: warning\n")
    child = write(tmp_path / "sub" / "child.yaml", "extends: ../base.yaml\nignore: [ST006]\n")
    loaded = load_policy(str(child))
    assert loaded.settings.fail_on == "warning"
    assert loaded.settings.ignore == ("ST006",)
    assert len(loaded.files) == 3


def test_extends_cycle_is_an_input_error(tmp_path):
    write(tmp_path / "a.yaml", "extends: b.yaml\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\n")
    with pytest.raises(InputError, match="cycle"):
        load_policy(str(tmp_path / "a.yaml"))


def test_unknown_key_names_file_key_path_and_line(tmp_path):
    policy = write(
        tmp_path / "team.yaml",
        """
        extends: default
        naming:
          step:
            patern: "^[A-Z]"
        """,
    )
    with pytest.raises(InputError) as error:
        load_policy(str(policy))
    text = str(error.value)
    assert str(policy) in text
    assert "naming.step.patern" in text
    assert "line 5" in text
    assert "unknown key" in text


def test_wrong_type_and_bad_regex_are_reported(tmp_path):
    bad_type = write(tmp_path / "a.yaml", "operations:\n  recent_executions: many\n")
    with pytest.raises(InputError, match=r"operations\.recent_executions"):
        load_policy(str(bad_type))
    bad_regex = write(tmp_path / "b.yaml", "naming:\n  step:\n    pattern: '[A-Z'\n")
    with pytest.raises(InputError, match="regular expression"):
        load_policy(str(bad_regex))


def test_waiver_requires_reason_and_target(tmp_path):
    no_reason = write(tmp_path / "a.yaml", "waivers:\n  - {rule: IO002, step: Train}\n")
    with pytest.raises(InputError, match=r"waivers\.0\.reason"):
        load_policy(str(no_reason))
    no_target = write(tmp_path / "b.yaml", "waivers:\n  - {rule: IO002, reason: legacy}\n")
    with pytest.raises(InputError, match="at least one of file, pipeline, step"):
        load_policy(str(no_target))


def test_broken_yaml_names_the_line(tmp_path):
    broken = write(tmp_path / "a.yaml", "select: [ALL\nignore: []\n")
    with pytest.raises(InputError) as error:
        load_policy(str(broken))
    assert "invalid YAML" in str(error.value) and "line" in str(error.value)


def test_discovery_order(tmp_path):
    project = tmp_path / "repo"
    nested = project / "pipelines" / "abalone"
    nested.mkdir(parents=True)
    assert resolve_policy_source(None, nested).path == default_policy_path()
    write(project / ".mlops-guard.yaml", "extends: default\n")
    assert resolve_policy_source(None, nested).path == project / ".mlops-guard.yaml"
    write(project / "pyproject.toml", "[project]\nname = 'x'\n")
    assert resolve_policy_source(None, nested).kind == "yaml"  # no section: not a policy
    write(project / "pyproject.toml", "[tool.mlops-guard]\nextends = 'default'\nfail-on = 'info'\n")
    source = resolve_policy_source(None, nested)
    assert source.kind == "pyproject"
    assert load_policy(None, nested).settings.fail_on == "info"


def test_explicit_missing_policy_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_policy(str(tmp_path / "nope.yaml"))


def test_cached_policy_is_read_without_pydantic(tmp_path):
    """The pre-commit path: a second load of an unchanged policy skips validation; an
    ordinary policy is validated without pydantic even cold (``policy.plain``), one that
    needs a coercion (``"7"`` for a number) by pydantic."""
    policy = write(tmp_path / "team.yaml", "extends: default\nfail_on: warning\n")
    code = textwrap.dedent(
        f"""
        import sys
        from mlops_guard.policy.load import load_policy
        settings = load_policy({str(policy)!r}).settings
        print(settings.fail_on, "pydantic" in sys.modules)
        """
    )
    env = {
        "MLOPS_GUARD_CACHE_DIR": str(tmp_path / "cache"),
        "MLOPS_GUARD_CACHE_KEY_FILE": os.environ["MLOPS_GUARD_CACHE_KEY_FILE"],
        "PATH": "/usr/bin:/bin",
    }
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert first.stdout.split() == ["warning", "False"]
    assert second.stdout.split() == ["warning", "False"]
    # Editing the extended file invalidates the cache.
    write(tmp_path / "team.yaml", "extends: default\nfail_on: info\n")
    third = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert third.stdout.split() == ["info", "False"]
    coerced = "extends: default\nfail_on: info\noperations: {recent_executions: '7'}\n"
    write(tmp_path / "team.yaml", coerced)
    fourth = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert fourth.stdout.split() == ["info", "True"], fourth.stderr


def readme_example_policy() -> str:
    """The team policy the README's Quick start shows (the first ``.mlops-guard.yaml``)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("```yaml\n# .mlops-guard.yaml\n") + len("```yaml\n")
    return readme[start : readme.index("```", start)]


def test_readme_example_policy_passes_the_bundled_reference(tmp_path):
    """What a new team copies first must pass the compliant reference: same run-date
    parameter, and a threshold list that keeps the default gate."""
    import datetime

    import yaml

    from mlops_guard import engine
    from mlops_guard.loaders import load_paths
    from mlops_guard.resources import default_policy_path
    from mlops_guard.session import prepare
    from tests.rules.conftest import REFERENCE_PATH

    text = readme_example_policy()
    team = write(tmp_path / ".mlops-guard.yaml", text)
    session = prepare(str(team), domains=("definition",))
    default = load_policy(str(default_policy_path())).settings
    kept = {t["metric"] for t in session.policy.evaluation_thresholds.thresholds}
    assert {t["metric"] for t in default.evaluation_thresholds.thresholds} <= kept
    # The waivers are dated: judge on a day they hold (unused waivers are warnings).
    expiries = [w["expires"] for w in yaml.safe_load(text).get("waivers", []) if "expires" in w]
    today = min(expiries) - datetime.timedelta(days=1) if expiries else None
    result = engine.run(
        load_paths([str(REFERENCE_PATH)]),
        session.rules,
        session.policy,
        session.selection,
        policy_file=str(team),
        today=today,
    )
    failing = [f for f in result.findings if f.severity == "error"]
    assert failing == [] and not result.failed(session.policy["fail_on"])
    assert {f.rule for f in result.findings} <= {"MG002"}  # the example's waiver is unused
