"""The result cache: unchanged definition files are replayed, anything that could change
their findings makes them checked again, and what is reported never differs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_guard import cache_store, resources
from mlops_guard.cli import main
from tests.engine.test_loaders import json_values
from tests.engine.test_robustness import POINTERS, mutated
from tests.rules.conftest import REFERENCE_PATH

EXAMPLES = Path(__file__).resolve().parents[2] / "mlops_guard" / "examples"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MLOPS_GUARD_NO_CACHE", raising=False)


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(["check", *args])
    return code, capsys.readouterr().out


def result_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "results").glob("*.cache"))


def stored_entries(path: Path) -> dict:
    """A result file's entries, as this user's mlops-guard reads them."""
    entries = cache_store.read_json(path)
    assert isinstance(entries, dict), "a result file this user's mlops-guard wrote"
    return entries


def with_unused_parameter(path: Path) -> Path:
    definition = json.loads(REFERENCE_PATH.read_text())
    definition["Parameters"].append({"Name": "Unused", "Type": "String"})
    path.write_text(json.dumps(definition, indent=2))
    return path


@pytest.mark.parametrize("fmt", ["json", "text", "sarif"])
def test_a_second_run_reports_the_same_bytes(tmp_path, capsys, fmt):
    for source in [REFERENCE_PATH, *sorted(EXAMPLES.glob("*.json"))]:
        (tmp_path / source.name).write_bytes(source.read_bytes())
    first = run(capsys, ".", "--format", fmt)
    assert result_files(tmp_path), "the first run stores its findings"
    second = run(capsys, ".", "--format", fmt)
    assert second == first
    assert first[0] == 1


def test_findings_are_replayed_from_the_cache(tmp_path, capsys):
    """Proof that the second run reads the cache: a message changed in the stored entry,
    and tagged with this user's key, is what it reports (nobody edits the cache; this
    only shows who answered)."""
    path = with_unused_parameter(tmp_path / "pipeline.json")
    code, out = run(capsys, str(path), "--select", "ST006", "--fail-on", "warning")
    assert code == 1 and "parameter 'Unused' is never used" in out
    (stored,) = result_files(tmp_path)
    entries = stored_entries(stored)
    entries["pipeline.json"][1][0][1][0][3] = "replayed message"
    cache_store.write_json(stored, entries)
    code, out = run(capsys, str(path), "--select", "ST006", "--fail-on", "warning")
    assert code == 1 and "replayed message" in out


def test_an_entry_edited_without_the_key_is_not_trusted(tmp_path, capsys):
    """Whoever can write to the cache directory (or restores it from another branch's CI
    cache) but does not hold this user's key cannot make a file pass: an entry saying the
    file has no findings is a miss, and the file is checked again."""
    path = with_unused_parameter(tmp_path / "pipeline.json")
    first = run(capsys, str(path), "--fail-on", "warning")
    assert first[0] == 1
    (stored,) = result_files(tmp_path)
    entries = stored_entries(stored)
    entries["pipeline.json"][1] = [[entries["pipeline.json"][1][0][0], []]]
    raw = stored.read_bytes()
    header = raw[: raw.index(b"\n", len(cache_store.MAGIC)) + 1]
    stored.write_bytes(header + json.dumps(entries, sort_keys=True).encode())
    assert run(capsys, str(path), "--fail-on", "warning") == first
    stored.write_text(json.dumps(entries))  # as the format was before entries were tagged
    assert run(capsys, str(path), "--fail-on", "warning") == first


def test_a_changed_file_is_checked_again(tmp_path, capsys):
    path = with_unused_parameter(tmp_path / "pipeline.json")
    assert run(capsys, str(path), "--fail-on", "warning")[0] == 1
    path.write_bytes(REFERENCE_PATH.read_bytes())
    code, out = run(capsys, str(path), "--fail-on", "warning")
    assert code == 0 and "All checks passed" in out


def test_policy_selection_and_no_cache_are_respected(tmp_path, capsys):
    path = with_unused_parameter(tmp_path / "pipeline.json")
    assert run(capsys, str(path), "--fail-on", "warning")[0] == 1
    policy = tmp_path / "team.yaml"
    policy.write_text("extends: default\nignore: [ST006]\n")
    assert run(capsys, str(path), "--policy", str(policy), "--fail-on", "warning")[0] == 0
    assert run(capsys, str(path), "--ignore", "ST006", "--fail-on", "warning")[0] == 0
    # Severity overrides apply to replayed findings as to fresh ones.
    policy.write_text("extends: default\nseverity: {ST006: error}\n")
    for _ in range(2):
        code, out = run(capsys, str(path), "--policy", str(policy))
        assert code == 1 and "ST006 error" in out
    count = len(result_files(tmp_path))
    assert run(capsys, str(path), "--no-cache", "--select", "NM")[0] == 0
    assert len(result_files(tmp_path)) == count, "--no-cache writes nothing"


def test_a_changed_team_rule_is_run_again(tmp_path):
    """Each run is its own process here, as on the command line: a process imports a
    rule file once."""
    rules = tmp_path / "team_rules"
    rules.mkdir()
    rule_file = rules / "check_team.py"
    source = (
        "from mlops_guard import rule\n\n"
        '@rule(id="TM001", category="naming", summary="s")\n'
        "def check_team(definition):\n"
        '    """Fires when told to."""\n'
        "    assert {ok}, 'team rule fired'\n"
    )
    rule_file.write_text(source.format(ok="True"))
    path = tmp_path / "pipeline.json"
    path.write_bytes(REFERENCE_PATH.read_bytes())
    command = [sys.executable, "-m", "mlops_guard", "check", str(path), "--rules-dir", str(rules)]
    assert subprocess.run(command, capture_output=True, text=True).returncode == 0
    assert result_files(tmp_path)
    rule_file.write_text(source.format(ok="False"))
    checked = subprocess.run(command, capture_output=True, text=True)
    assert checked.returncode == 1 and "team rule fired" in checked.stdout


def test_a_damaged_cache_is_ignored(tmp_path, capsys):
    path = with_unused_parameter(tmp_path / "pipeline.json")
    first = run(capsys, str(path), "--fail-on", "warning")
    (stored,) = result_files(tmp_path)
    digest, _ = stored_entries(stored)["pipeline.json"]
    for damage in ("{not json", '{"pipeline.json": [1, 2, 3]}', '{"pipeline.json": ["x", 5]}'):
        stored.write_text(damage)
        assert run(capsys, str(path), "--fail-on", "warning") == first
        # The same damage tagged with this user's key (a bug, not an attacker): still a miss.
        stored.write_bytes(b"")
        cache_store.write(stored, damage.encode())
        assert run(capsys, str(path), "--fail-on", "warning") == first
    cache_store.write_json(stored, {"pipeline.json": [digest, [["name", [["too", "short"]]]]]})
    assert run(capsys, str(path), "--fail-on", "warning") == first


def test_templates_are_not_cached_and_errors_are_not_either(tmp_path, capsys):
    template = {
        "Resources": {
            "Pipeline": {
                "Type": "AWS::SageMaker::Pipeline",
                "Properties": {
                    "PipelineName": "daily",
                    "PipelineDefinition": {"PipelineDefinitionBody": REFERENCE_PATH.read_text()},
                },
            }
        }
    }
    (tmp_path / "template.json").write_text(json.dumps(template))
    (tmp_path / "broken.json").write_text('{"Version": "2020-12-01", "Steps": [}')
    assert run(capsys, "template.json")[0] in (0, 1)
    assert (
        not result_files(tmp_path) or "template.json" not in result_files(tmp_path)[0].read_text()
    )
    for _ in range(2):
        assert main(["check", "broken.json"]) == 2
        assert "invalid JSON" in capsys.readouterr().err


def test_files_without_a_pipeline_are_remembered_but_named_ones_still_fail(tmp_path, capsys):
    (tmp_path / "settings.json").write_text('{"not": "a pipeline"}')
    (tmp_path / "pipeline.json").write_bytes(REFERENCE_PATH.read_bytes())
    for _ in range(2):
        code, out = run(capsys, ".")
        assert code == 0 and "1 target" in out
    stored = stored_entries(result_files(tmp_path)[0])
    assert stored["settings.json"][1] == []
    for _ in range(2):
        assert main(["check", "settings.json"]) == 2
        assert "not a pipeline definition" in capsys.readouterr().err
    assert main(["check", "--skip-unrecognized", "settings.json"]) == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(POINTERS), json_values), min_size=1, max_size=3))
def test_replayed_findings_equal_fresh_ones_on_mutated_definitions(tmp_path_factory, mutations):
    """Whatever the rules say about a file (findings, crashes, odd characters in
    messages), the replay says the same, in every output format's terms."""
    work = tmp_path_factory.mktemp("replay")
    path = work / "pipeline.json"
    path.write_text(json.dumps(mutated(mutations), indent=1))
    arguments = [str(path), "--format", "json"]
    fresh = subprocess_free_check(arguments, work / "cache-fresh", cached=False)
    first = subprocess_free_check(arguments, work / "cache", cached=True)
    replayed = subprocess_free_check(arguments, work / "cache", cached=True)
    assert fresh == first == replayed


def subprocess_free_check(arguments: list[str], cache: Path, *, cached: bool):
    """One ``check`` in this process with its own cache directory: (exit code, stdout,
    stderr)."""
    import contextlib
    import io
    import os

    saved = os.environ.get("MLOPS_GUARD_CACHE_DIR")
    os.environ["MLOPS_GUARD_CACHE_DIR"] = str(cache)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check", *arguments, *([] if cached else ["--no-cache"])])
    finally:
        resources._caching_disabled = False  # --no-cache holds for a whole process
        if saved is None:
            del os.environ["MLOPS_GUARD_CACHE_DIR"]
        else:
            os.environ["MLOPS_GUARD_CACHE_DIR"] = saved
    return code, out.getvalue(), err.getvalue()


def test_a_terraform_file_reading_a_definition_never_enters_its_entry(tmp_path, capsys):
    """A ``.tf`` target points at the JSON it reads with ``file()``; its findings belong
    to the Terraform file's run, never to the JSON file's cache entry."""
    pytest.importorskip("hcl2")
    (tmp_path / "pipeline.json").write_bytes(REFERENCE_PATH.read_bytes())
    terraform = tmp_path / "z.tf"
    terraform.write_text(
        'resource "aws_sagemaker_pipeline" "p" {\n'
        '  pipeline_name = "BadName_pipe"\n'
        '  role_arn = "arn:aws:iam::123456789012:role/x"\n'
        '  pipeline_definition = file("${path.module}/pipeline.json")\n'
        "}\n"
    )
    fresh = run(capsys, ".", "--no-cache")
    assert "BadName_pipe" in fresh[1]
    assert run(capsys, ".") == fresh
    assert run(capsys, ".") == fresh
    assert run(capsys, "pipeline.json") == run(capsys, "pipeline.json", "--no-cache")
    terraform.unlink()
    code, out = run(capsys, ".")
    assert code == 0 and "BadName_pipe" not in out


@pytest.mark.parametrize("newline", ["\r", "\r\n"])
def test_line_numbers_do_not_depend_on_the_cache(tmp_path, capsys, newline):
    text = (EXAMPLES / "ungated-promotion.json").read_text()
    (tmp_path / "odd.json").write_bytes(text.replace("\n", newline).encode())
    (tmp_path / "broken.json").write_bytes(newline.join(['{"Steps": [', "  oops", "]}"]).encode())
    for name in ("odd.json", "broken.json"):
        fresh = main(["check", name, "--no-cache"]), capsys.readouterr()
        for _ in range(2):
            assert (main(["check", name]), capsys.readouterr()) == fresh


def test_a_changed_helper_of_a_team_rule_is_seen(tmp_path):
    rules = tmp_path / "team_rules"
    rules.mkdir()
    (rules / "check_team.py").write_text(
        "import os, sys\n"
        "sys.path.insert(0, os.path.dirname(__file__))\n"
        "from team_common import MAX_STEPS\n"
        "from mlops_guard import rule\n\n"
        '@rule(id="TM001", category="structure", summary="Few steps")\n'
        "def check_few_steps(definition):\n"
        '    """Fires when the pipeline has more steps than the team allows."""\n'
        "    assert len(definition.steps) <= MAX_STEPS, 'too many steps'\n"
    )
    (rules / "team_common.py").write_text("MAX_STEPS = 100\n")
    (tmp_path / "pipeline.json").write_bytes(REFERENCE_PATH.read_bytes())
    command = [
        sys.executable,
        "-m",
        "mlops_guard",
        "check",
        "pipeline.json",
        "--rules-dir",
        str(rules),
    ]
    assert subprocess.run(command, capture_output=True, text=True).returncode == 0
    (rules / "team_common.py").write_text("MAX_STEPS = 1\n")
    checked = subprocess.run(command, capture_output=True, text=True)
    assert checked.returncode == 1 and "too many steps" in checked.stdout


def test_files_no_loader_takes_are_not_read(tmp_path, capsys):
    assert main(["check", "/dev/zero"]) == 2
    assert "not a file mlops-guard checks" in capsys.readouterr().err


def test_concurrent_runs_keep_each_others_entries(tmp_path):
    names = [f"p{index}.json" for index in range(6)]
    for name in names:
        (tmp_path / name).write_bytes(REFERENCE_PATH.read_bytes())
    command = [sys.executable, "-m", "mlops_guard", "check"]
    processes = [subprocess.Popen([*command, name], stdout=subprocess.DEVNULL) for name in names]
    assert [process.wait() for process in processes] == [0] * len(names)
    (stored,) = result_files(tmp_path)
    assert sorted(stored_entries(stored)) == names
