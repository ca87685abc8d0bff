"""Caches save time and never change a result.

Whoever can write to the cache directory (another local user, a CI cache restored from
another branch) without this user's key cannot change what ``check`` reports; an edit
that keeps a rule file's size and time is still seen; ``--no-cache`` reads and writes no
cache at all; cache files are written without following planted symlinks, with private
permissions, and a directory others may write to is not used. Every cache reader treats
a damaged file as a miss.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_guard import cache_store, registry, resources
from mlops_guard.cli import main
from mlops_guard.digest import content_digest
from mlops_guard.loaders import python_module
from mlops_guard.policy import load as policy_load
from tests.engine.test_loaders import json_values
from tests.rules.conftest import ROOT

EXAMPLE = ROOT / "mlops_guard" / "examples" / "ungated-promotion.json"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MLOPS_GUARD_CACHE_KEY_FILE", str(tmp_path / "config" / "cache-key"))
    monkeypatch.delenv("MLOPS_GUARD_NO_CACHE", raising=False)
    (tmp_path / "pipeline.json").write_bytes(EXAMPLE.read_bytes())
    cache_store.reset()


def check(capsys, *args: str) -> tuple[int, str, str]:
    """One ``check`` in this process, as a fresh process would run it (``--no-cache``
    holds for a whole process; caches already checked are checked again)."""
    resources._caching_disabled = False
    cache_store.reset()
    code = main(["check", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cache_files(tmp_path: Path) -> dict[str, float]:
    root = tmp_path / "cache"
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*"))}


def tampered(path: Path, value) -> None:
    """``path`` holding ``value`` under the tag it had: what an attacker without the key
    can write."""
    raw = path.read_bytes()
    header = raw[: raw.index(b"\n", len(cache_store.MAGIC)) + 1]
    path.write_bytes(header + json.dumps(value, sort_keys=True).encode())


def team_policy(tmp_path: Path) -> Path:
    policy = tmp_path / "team.yaml"
    policy.write_text("extends: default\n")
    return policy


# Content and integrity bind every entry.


def test_an_edited_policy_entry_is_not_trusted(tmp_path, capsys):
    policy = team_policy(tmp_path)
    fresh = check(capsys, "pipeline.json", "--policy", str(policy))
    assert fresh[0] == 1 and "ET001" in fresh[1]
    (entry_file,) = (tmp_path / "cache" / "policies").iterdir()
    entry = cache_store.read_json(entry_file)
    entry["policy"]["ignore"] = ["ALL"]
    tampered(entry_file, entry)
    assert check(capsys, "pipeline.json", "--policy", str(policy)) == fresh
    entry_file.write_text(json.dumps(entry))  # untagged, as older versions wrote
    assert check(capsys, "pipeline.json", "--policy", str(policy)) == fresh
    # Tagged with this user's key it would be believed: which is why the key is private,
    # and why --no-cache must not read it.
    entry["policy"]["ignore"] = ["ET001"]  # (ignoring ALL is a usage error of its own)
    cache_store.write_json(entry_file, entry)
    assert "ET001" not in check(capsys, "pipeline.json", "--policy", str(policy))[1]
    assert check(capsys, "pipeline.json", "--policy", str(policy), "--no-cache") == fresh


def test_no_cache_in_the_environment_reads_no_cache_either(tmp_path, capsys, monkeypatch):
    policy = team_policy(tmp_path)
    fresh = check(capsys, "pipeline.json", "--policy", str(policy))
    (entry_file,) = (tmp_path / "cache" / "policies").iterdir()
    entry = cache_store.read_json(entry_file)
    entry["policy"]["ignore"] = ["ALL"]
    cache_store.write_json(entry_file, entry)
    monkeypatch.setenv("MLOPS_GUARD_NO_CACHE", "1")
    assert check(capsys, "pipeline.json", "--policy", str(policy)) == fresh


def test_a_manifest_cannot_hide_definition_rules(tmp_path, capsys):
    fresh = check(capsys, "pipeline.json", "--no-cache")
    assert fresh[0] == 1 and "ET001" in fresh[1]
    assert check(capsys, "pipeline.json") == fresh
    manifest_file = tmp_path / "cache" / "rules-manifest.cache"
    manifest = cache_store.read_json(manifest_file)
    for entry in manifest.values():
        entry["rules"] = [[rule_id, "metadata"] for rule_id, _ in entry["rules"]]
    tampered(manifest_file, manifest)
    for results in (tmp_path / "cache" / "results").glob("*.cache"):
        results.unlink()
    assert check(capsys, "pipeline.json") == fresh
    manifest_file.write_text(json.dumps(manifest))
    assert check(capsys, "pipeline.json") == fresh


def test_a_rule_file_edited_keeping_its_size_and_time_is_seen(tmp_path, capsys):
    """The manifest and the result cache key rule files by their bytes: an edit (or a
    checkout) that keeps size and modification time cannot make a rule disappear."""
    rules = tmp_path / "team_rules"
    rules.mkdir()
    rule_file = rules / "check_team.py"
    source = (
        "from mlops_guard import rule\n\n"
        '@rule(id="TM001", category="naming", summary="Team rule")\n'
        "def check_team({fixture}):\n"
        '    """Fires on everything it is given."""\n'
        "    assert False, 'team rule fired'\n"
    )
    rule_file.write_text(source.format(fixture="experiment"))
    before = rule_file.stat()
    assert "TM001" not in check(capsys, "pipeline.json", "--rules-dir", str(rules))[1]
    rule_file.write_text(source.format(fixture="definition"))
    os.utime(rule_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert rule_file.stat().st_size == before.st_size
    # A fresh process: this one has the first version imported.
    command = [sys.executable, "-m", "mlops_guard", "check", "pipeline.json"]
    checked = subprocess.run(
        [*command, "--rules-dir", str(rules)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert checked.returncode == 1 and "team rule fired" in checked.stdout, checked.stderr


def test_a_cache_written_under_another_key_is_not_trusted(tmp_path, capsys, monkeypatch):
    """A cache directory restored from another machine or branch comes without the key
    that wrote it: every entry is a miss."""
    policy = team_policy(tmp_path)
    fresh = check(capsys, "pipeline.json", "--policy", str(policy))
    (entry_file,) = (tmp_path / "cache" / "policies").iterdir()
    entry = cache_store.read_json(entry_file)
    entry["policy"]["ignore"] = ["ALL"]
    cache_store.write_json(entry_file, entry)  # valid under the first key
    monkeypatch.setenv("MLOPS_GUARD_CACHE_KEY_FILE", str(tmp_path / "other" / "cache-key"))
    assert check(capsys, "pipeline.json", "--policy", str(policy)) == fresh


# --no-cache bypasses every cache.


def test_no_cache_reads_and_writes_nothing(tmp_path):
    command = [sys.executable, "-m", "mlops_guard", "check", "pipeline.json", "--no-cache"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.run(command, capture_output=True, text=True, env=env)
    assert first.returncode == 1 and "ET001" in first.stdout
    assert not (tmp_path / "cache").exists()
    assert not (tmp_path / "config").exists(), "not even a key is made"
    env["MLOPS_GUARD_NO_CACHE"] = "1"
    second = subprocess.run(command[:-1], capture_output=True, text=True, env=env)
    assert (second.returncode, second.stdout) == (first.returncode, first.stdout)
    assert not (tmp_path / "cache").exists()


# Files are created safely.


def test_cache_files_are_private(tmp_path):
    team_rules = tmp_path / "team_rules"  # a team's rule file is compiled into the cache
    team_rules.mkdir()
    (team_rules / "check_team.py").write_text(
        "from mlops_guard import rule\n\n"
        '@rule(id="TM001", category="naming", summary="Team rule")\n'
        "def check_team(definition):\n"
        '    """Never fails."""\n'
    )
    command = [sys.executable, "-m", "mlops_guard", "check", "pipeline.json", "--rules-dir"]
    command.append(str(team_rules))
    for _ in range(2):  # a fresh process, so that rule files are compiled (and cached)
        subprocess.run(command, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    root = tmp_path / "cache"
    paths = [root, *root.rglob("*")]
    assert {"policies", "results", "code", "rules-manifest.cache"} <= {p.name for p in paths}
    for path in paths:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    key = tmp_path / "config" / "cache-key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert not any(p.name == "cache-key" for p in paths), "the key lives outside the cache"


def test_the_key_goes_to_the_config_directory_by_default(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MLOPS_GUARD_CACHE_KEY_FILE")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    check(capsys, "pipeline.json")
    key = tmp_path / "xdg" / "mlops-guard" / "cache-key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_a_planted_symlink_is_replaced_not_written_through(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    entry = tmp_path / "cache" / "policies" / "planted.cache"
    entry.parent.mkdir(parents=True, mode=0o700)
    entry.symlink_to(victim)
    # The names the old code used for its temporary files, for this and nearby pids.
    for pid in range(os.getpid() - 5, os.getpid() + 5):
        entry.with_suffix(f".{pid}.tmp").symlink_to(victim)
    cache_store.write(entry, b"payload")
    assert victim.read_text() == "precious\n"
    assert not entry.is_symlink() and stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert cache_store.read(entry) == b"payload"


def test_planted_symlinks_in_a_used_cache_change_nothing(tmp_path, capsys):
    fresh = check(capsys, "pipeline.json")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    root = tmp_path / "cache"
    planted = [*root.glob("policies/*.cache"), root / "rules-manifest.cache"]
    for path in planted:
        # A symlink to a correctly tagged copy: even that is not read through the link.
        copy = path.with_name("copy-of-" + path.name)
        copy.write_bytes(path.read_bytes())
        path.unlink()
        path.symlink_to(copy)
    (lock,) = root.glob("results/*.lock")
    lock.unlink()
    lock.symlink_to(tmp_path / "created-by-lock")
    (tmp_path / "pipeline.json").write_text(EXAMPLE.read_text() + "\n")  # a new entry
    assert check(capsys, "pipeline.json") == fresh
    assert victim.read_text() == "precious\n"
    assert not (tmp_path / "created-by-lock").exists()
    assert not any(path.is_symlink() for path in planted), "rewritten as files"


def test_a_symlinked_entry_is_not_read(tmp_path):
    entry = tmp_path / "cache" / "policies" / "a.cache"
    cache_store.write(entry, b"payload")
    copy = entry.with_name("elsewhere")
    entry.rename(copy)
    entry.symlink_to(copy)
    assert cache_store.read(entry) is None


@pytest.mark.parametrize("where", ["root", "subdirectory"])
def test_a_directory_others_may_write_to_is_not_used(tmp_path, capsys, where):
    fresh = check(capsys, "pipeline.json", "--no-cache")
    check(capsys, "pipeline.json")
    directory = tmp_path / "cache" / ("" if where == "root" else "results")
    directory.chmod(0o777)
    before = cache_files(tmp_path)
    (tmp_path / "pipeline.json").write_text(EXAMPLE.read_text() + "\n")
    code, out, err = check(capsys, "pipeline.json")
    assert (code, out) == fresh[:2]
    assert err == (
        f"mlops-guard: warning: cache directory {directory} is writable by other users:"
        " running without cache\n"
    )
    assert cache_files(tmp_path) == before, "nothing read, nothing written"


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a directory away needs root"
)
def test_a_directory_owned_by_another_user_is_not_used(tmp_path, capsys):
    fresh = check(capsys, "pipeline.json", "--no-cache")
    check(capsys, "pipeline.json")
    os.chown(tmp_path / "cache", 54321, -1)
    before = cache_files(tmp_path)
    (tmp_path / "pipeline.json").write_text(EXAMPLE.read_text() + "\n")
    code, out, err = check(capsys, "pipeline.json")
    assert (code, out) == fresh[:2]
    assert err == (
        f"mlops-guard: warning: cache directory {tmp_path / 'cache'} is owned by another user:"
        " running without cache\n"
    )
    assert cache_files(tmp_path) == before


def test_a_subdirectory_that_is_a_symlink_is_not_used(tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "cache").mkdir(mode=0o700)
    (tmp_path / "cache" / "policies").symlink_to(elsewhere)
    code, out, err = check(capsys, "pipeline.json")
    assert code == 1 and "ET001" in out
    assert "is not a directory: running without cache" in err
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("damage", ["readable by others", "wrong length", "symlink"])
def test_a_key_that_is_not_private_turns_caching_off(tmp_path, capsys, damage):
    key = tmp_path / "config" / "cache-key"
    key.parent.mkdir(mode=0o700)
    if damage == "readable by others":
        key.write_bytes(os.urandom(32))
        key.chmod(0o644)
    elif damage == "wrong length":
        key.write_bytes(b"short")
        key.chmod(0o600)
    else:
        target = tmp_path / "some-key"
        target.write_bytes(os.urandom(32))
        target.chmod(0o600)
        key.symlink_to(target)
    code, out, err = check(capsys, "pipeline.json")
    assert code == 1 and "ET001" in out
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mlops-guard: warning: cache key {key}")
    assert not (tmp_path / "cache").exists()


# Every reader: damaged is a miss, never a crash.

damaged = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.sampled_from([b"", cache_store.MAGIC, cache_store.MAGIC + b"0" * 64 + b"\n"]),
)


def plant(path: Path, data: bytes, how: str) -> None:
    """``data`` at ``path``: as is, tagged with this user's key (a bug rather than an
    attacker), or as a valid tagged file cut short."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if how == "raw":
        path.unlink(missing_ok=True)
        path.write_bytes(data)
    elif how == "tagged":
        cache_store.write(path, data)
    else:
        cache_store.write(path, b'{"policy": {}, "files": [], "digests": {}}' + data)
        whole = path.read_bytes()
        path.write_bytes(whole[: len(data) % len(whole)])


def fuzz(test):
    return settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )(given(data=damaged, how=st.sampled_from(["raw", "tagged", "truncated"]))(test))


@fuzz
def test_policy_cache_reader(tmp_path, data, how):
    plant(policy_load._cache_file("k"), data, how)
    assert policy_load._read_cache("k") is None


@fuzz
def test_rules_manifest_reader(tmp_path, data, how):
    builtin = [(ROOT / "rules", True)]
    expected = [rule.id for rule in registry.load_rules(builtin) if rule.domain == "definition"]
    rule_file = ROOT / "rules" / "check_structure.py"
    plant(tmp_path / "cache" / "rules-manifest.cache", data, how)
    assert registry._Manifest.open().get(rule_file, content_digest(rule_file.read_bytes())) is None
    plant(tmp_path / "cache" / "rules-manifest.cache", data, how)
    assert [rule.id for rule in registry.load_rules(builtin, ("definition",))] == expected


@fuzz
def test_render_cache_reader(tmp_path, data, how):
    path = tmp_path / "cache" / "renders" / "k.cache"
    plant(path, data, how)
    value = python_module._read_cached(path)
    assert value is None or (isinstance(value, dict) and "definition" in value)


@fuzz
def test_compiled_rule_cache_reader(tmp_path, data, how):
    rule_file = ROOT / "rules" / "check_naming.py"
    source = rule_file.read_bytes()
    digest = content_digest(source)
    registry._code(rule_file, source, digest)  # fills the cache, to find its file
    (code_file,) = (tmp_path / "cache" / "code").iterdir()
    plant(code_file, data, how)
    code = registry._code(rule_file, source, digest)
    assert code == compile(source, str(rule_file), "exec", dont_inherit=True, optimize=0)


@pytest.fixture(scope="module")
def session():
    from mlops_guard.session import prepare

    return prepare(domains=("definition",))


@fuzz
def test_result_cache_reader(tmp_path, session, data, how):
    from mlops_guard.result_cache import ResultCache, fingerprint
    from mlops_guard.targets import ReplayedFindings

    plant(tmp_path / "cache" / "results" / f"{fingerprint(session)}.cache", data, how)
    targets = list(ResultCache.open(session).targets(["pipeline.json"]))
    assert targets and not any(isinstance(target, ReplayedFindings) for target in targets)


def test_a_tagged_entry_of_the_wrong_shape_is_a_miss(tmp_path):
    """Shapes, checked even behind a valid tag (an entry of a future format)."""
    entry = policy_load._cache_file("k")
    for value in (
        [],
        {"policy": [], "files": [], "digests": {}},
        {"policy": {}, "files": "x", "digests": {}},
        {"policy": {}, "files": [], "digests": []},
        {"policy": {}, "files": ["a"], "digests": {}},
    ):
        cache_store.write_json(entry, value)
        assert policy_load._read_cache("k") is None, value


def test_runs_starting_together_agree_on_one_key(tmp_path):
    """Pre-commit starts several processes at once on a machine with no key yet: one key
    is published, every run uses it, and what they stored is read back."""
    names = [f"p{index}.json" for index in range(6)]
    for name in names:
        (tmp_path / name).write_bytes(EXAMPLE.read_bytes())
    command = [sys.executable, "-m", "mlops_guard", "check"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen([*command, name], stdout=subprocess.DEVNULL, env=env) for name in names
    ]
    assert [process.wait() for process in processes] == [1] * len(names)
    assert [path.name for path in (tmp_path / "config").iterdir()] == ["cache-key"]
    (results,) = (tmp_path / "cache" / "results").glob("*.cache")
    assert sorted(cache_store.read_json(results)) == names
