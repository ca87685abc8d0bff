"""Rules cannot be switched off by the interpreter nor dropped by an unreadable directory.

Rules report by ``assert``; under ``python -O`` (or ``PYTHONOPTIMIZE``) an ordinary import
would compile every check away and the gate would pass everything. And a team's rules
directory, or a part of it, that cannot be read must stop the run rather than leave its
rules out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_guard.cli import main
from tests.rules.conftest import REFERENCE_PATH, ROOT

EXAMPLE = ROOT / "mlops_guard" / "examples" / "ungated-promotion.json"

TEAM_RULE = (
    "from mlops_guard import rule\n\n"
    '@rule(id="TM001", category="naming", summary="Team rule")\n'
    "def check_team(definition):\n"
    '    """Fires on every pipeline: it proves the rule ran."""\n'
    "    assert False, 'team rule fired'\n"
)


def cli(*args: str, optimize: bool, cwd: Path | None = None, env: dict | None = None):
    """``mlops-guard`` in a fresh interpreter, with ``-O`` or without, this checkout's
    code first on the path."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    environment.pop("PYTHONOPTIMIZE", None)
    environment.update(env or {})
    command = [sys.executable, *(["-O"] if optimize else []), "-m", "mlops_guard", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=environment)


@pytest.fixture
def team_rules(tmp_path) -> Path:
    rules = tmp_path / "team_rules"
    rules.mkdir()
    (rules / "check_team.py").write_text(TEAM_RULE)
    return rules


def test_dash_o_strips_asserts_in_this_interpreter():
    """The premise: ``-O`` really strips ``assert`` in this interpreter."""
    probe = [sys.executable, "-O", "-c", "assert False"]
    assert subprocess.run(probe, capture_output=True).returncode == 0


@pytest.mark.parametrize("cached", [False, True], ids=["no-cache", "cache"])
def test_the_bundled_example_reports_the_same_under_dash_o(tmp_path, cached):
    """``check`` of the ungated-promotion example prints the same report and exit code
    with and without ``-O``, uncached, and with the cache (whichever run filled it)."""
    env = {"MLOPS_GUARD_CACHE_DIR": str(tmp_path / "cache")}
    flags = [] if cached else ["--no-cache"]
    plain = cli("check", str(EXAMPLE), *flags, optimize=False, env=env)
    assert plain.returncode == 1 and "ET001" in plain.stdout, plain.stderr
    for _ in range(2):
        optimized = cli("check", str(EXAMPLE), *flags, optimize=True, env=env)
        assert (optimized.returncode, optimized.stdout, optimized.stderr) == (
            plain.returncode,
            plain.stdout,
            plain.stderr,
        )
    again = cli("check", str(EXAMPLE), *flags, optimize=False, env=env)
    assert (again.returncode, again.stdout) == (plain.returncode, plain.stdout)


def test_pythonoptimize_does_not_silence_a_team_rule(tmp_path, team_rules):
    definition = tmp_path / "pipeline.json"
    definition.write_bytes(REFERENCE_PATH.read_bytes())
    for env in ({"PYTHONOPTIMIZE": "2"}, {"PYTHONOPTIMIZE": "1", "MLOPS_GUARD_NO_CACHE": "1"}):
        checked = cli(
            "check", str(definition), "--rules-dir", str(team_rules), optimize=False, env=env
        )
        assert checked.returncode == 1, checked.stderr
        assert "TM001" in checked.stdout and "team rule fired" in checked.stdout


def test_a_rule_error_still_names_its_line_under_dash_o(tmp_path, team_rules):
    """Compiling rule files by hand keeps tracebacks and line numbers right."""
    (team_rules / "check_team.py").write_text(TEAM_RULE + "\nraise RuntimeError('broken')\n")
    checked = cli("check", str(REFERENCE_PATH), "--rules-dir", str(team_rules), optimize=True)
    assert checked.returncode == 2
    assert checked.stderr.strip().splitlines() == [
        f"mlops-guard: error: {team_rules / 'check_team.py'}: line 8: "
        "cannot import rules: RuntimeError: broken"
    ]


def test_the_rule_tests_pass_under_dash_o():
    """The built-in rules' own tests (every rule fires on its minimal mutation) run
    under ``-O``: pytest's rewritten test asserts survive it, so a rule silenced by the
    interpreter would fail its test."""
    command = [
        sys.executable,
        "-O",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "-x",
        str(ROOT / "tests" / "rules" / "test_structure.py"),
        str(ROOT / "tests" / "rules" / "test_security.py"),
    ]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=environment)
    assert process.returncode == 0, process.stdout[-2000:]
    assert " passed" in process.stdout


def test_rule_files_leave_no_bytecode_in_the_rules_directory(tmp_path, team_rules):
    cli("check", str(REFERENCE_PATH), "--rules-dir", str(team_rules), optimize=True)
    cli("check", str(REFERENCE_PATH), "--rules-dir", str(team_rules), optimize=False)
    assert sorted(path.name for path in team_rules.iterdir()) == ["check_team.py"]


# An unreadable rules directory is an error, never fewer rules.


def one_error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_an_unlistable_subdirectory_is_an_error(tmp_path, capsys, team_rules, monkeypatch):
    """What a non-root user meets on a subdirectory without read permission (injected
    here, as root reads everything: the next test uses real permissions)."""
    hidden_away = team_rules / "security"
    hidden_away.mkdir()
    (hidden_away / "check_more.py").write_text(TEAM_RULE.replace("TM001", "TM002"))
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == str(hidden_away):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code = main(["check", str(REFERENCE_PATH), "--rules-dir", str(team_rules)])
    assert code == 2
    assert one_error_line(capsys) == (
        f"mlops-guard: error: {hidden_away}: cannot read rules directory: Permission denied"
    )


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads every directory"
)
@pytest.mark.parametrize("where", ["directory", "subdirectory", "file"])
def test_unreadable_rules_are_an_error(tmp_path, capsys, team_rules, where):
    target = {
        "directory": team_rules,
        "subdirectory": team_rules / "more",
        "file": team_rules / "check_team.py",
    }[where]
    if where == "subdirectory":
        target.mkdir()
        (target / "check_more.py").write_text(TEAM_RULE.replace("TM001", "TM002"))
    mode = target.stat().st_mode
    target.chmod(0)
    try:
        code = main(["check", str(REFERENCE_PATH), "--rules-dir", str(team_rules)])
    finally:
        target.chmod(mode)
    assert code == 2
    assert "cannot read rule" in one_error_line(capsys)


def test_a_tree_deeper_than_path_max_is_an_error(tmp_path, capsys, team_rules):
    """A path too long to open is a fault even root meets."""
    name = "d" * 200
    start = os.getcwd()
    os.chdir(team_rules)
    try:
        for _ in range(25):  # about 5,000 characters below the rules directory
            os.mkdir(name)
            os.chdir(name)
        Path("check_deep.py").write_text(TEAM_RULE.replace("TM001", "TM003"))
    finally:
        os.chdir(start)
    code = main(["check", str(REFERENCE_PATH), "--rules-dir", str(team_rules)])
    assert code == 2
    line = one_error_line(capsys)
    assert "cannot read rules directory: File name too long" in line


def test_a_fifo_named_like_a_rule_file_is_refused_unread(tmp_path, capsys, team_rules):
    os.mkfifo(team_rules / "check_pipe.py")
    code = main(["check", str(REFERENCE_PATH), "--rules-dir", str(team_rules)])
    assert code == 2
    assert one_error_line(capsys) == (
        f"mlops-guard: error: {team_rules / 'check_pipe.py'}: cannot read rule file: "
        "not a regular file"
    )


def test_a_missing_rules_directory_is_still_an_error(tmp_path, capsys):
    code = main(["check", str(REFERENCE_PATH), "--rules-dir", str(tmp_path / "nope")])
    assert code == 2
    assert "rules directory not found" in one_error_line(capsys)


# Built-in rules come from the package's own bytecode on a cold run, never a stale one.


def test_builtin_rules_take_the_package_bytecode_of_their_bytes(tmp_path, monkeypatch):
    """A cold run (no cache, CI's usual case) takes a built-in rule file's bytecode from
    the package's ``__pycache__`` instead of compiling it again; bytecode of other bytes
    (an edited file) is never taken, and a team's rule file never gets one."""
    import importlib.util
    import py_compile

    from mlops_guard import registry

    monkeypatch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    rule = tmp_path / "builtin" / "check_team.py"
    rule.parent.mkdir()
    rule.write_text(TEAM_RULE)
    source = rule.read_bytes()
    compiled = Path(importlib.util.cache_from_source(str(rule), optimization=""))

    registry._code(rule, source, "d1", builtin=True)  # compiled, and kept beside it
    assert compiled.is_file()

    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled again")

    monkeypatch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path / "cold"))
    with monkeypatch.context() as patched:
        patched.setattr("builtins.compile", no_compiling)
        code = registry._code(rule, source, "d1", builtin=True)
    namespace: dict = {}
    exec(code, namespace)
    with pytest.raises(AssertionError, match="team rule fired"):
        namespace["check_team"](None)  # asserts kept: the unoptimised bytecode

    edited = source.replace(b"team rule fired", b"edited rule fired")
    code = registry._code(rule, edited, "d2", builtin=True)  # the .pyc is of other bytes
    assert "edited rule fired" in code.co_consts or any(
        "edited rule fired" in getattr(const, "co_consts", ()) for const in code.co_consts
    )

    # pip's timestamp-based bytecode: taken while the file's size and time match
    py_compile.compile(str(rule), cfile=str(compiled), optimize=0, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)  # fmt: skip
    assert registry._package_bytecode(rule, source) is not None
    os.utime(rule, (1, 1))
    assert registry._package_bytecode(rule, source) is None

    team = tmp_path / "team" / "check_team.py"
    team.parent.mkdir()
    team.write_text(TEAM_RULE)
    registry._code(team, team.read_bytes(), "d3", builtin=False)
    assert sorted(path.name for path in team.parent.iterdir()) == ["check_team.py"]


def test_builtin_rules_fire_under_dash_o_from_package_bytecode():
    """After a normal run has left the built-in rules' bytecode in the package, a run
    under ``-O`` still reports: it reads the unoptimised bytecode, never ``.opt-1``."""
    assert cli("check", str(EXAMPLE), optimize=False).returncode == 1
    checked = cli("check", str(EXAMPLE), "--no-cache", optimize=True)
    assert checked.returncode == 1, checked.stderr
    assert "ET001" in checked.stdout
