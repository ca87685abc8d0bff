"""``audit mlflow`` on corrupt and mistyped stores: never a pass, never a write.

A real MLflow file store is written through ``MlflowClient`` once, copied for each test
and damaged in one way an interrupted writer, a bad copy or a hand edit leaves it.
Whatever the damage, the audit exits 2 with one line on stderr (an error naming the
path, or MG005 findings naming what MLflow skipped), never a traceback, never exit 0,
and the store's bytes and file list are the same afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_guard.audit import cli

pytest.importorskip("mlflow")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A file store: one experiment with two runs (params, metrics, tags), and Default."""
    from mlflow.tracking import MlflowClient

    store = tmp_path_factory.mktemp("mlflow-pristine") / "mlruns"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
        client = MlflowClient(tracking_uri=str(store))
        experiment = client.create_experiment("forecast-daily")
        for day in range(2):
            run = client.create_run(experiment, run_name=f"day-{day}")
            client.log_param(run.info.run_id, "learning_rate", "0.1")
            client.log_metric(run.info.run_id, "mape", 0.05, step=0)
            client.set_tag(run.info.run_id, "mlflow.note.content", "daily forecast")
            client.set_terminated(run.info.run_id)
    return store


class Store:
    """A copy of the pristine store and the places a corruption aims at."""

    def __init__(self, root: Path):
        self.root = root
        self.experiment = next(
            p for p in root.iterdir() if p.is_dir() and p.name not in ("0", ".trash")
        )
        self.run = sorted(p for p in self.experiment.iterdir() if p.is_dir())[0]


def fingerprint(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (not following symlinks): kind, mode and content."""
    seen = {}
    for directory, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            path = Path(directory, name)
            info = path.lstat()
            key = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                seen[key] = f"link {os.readlink(path)}"
            elif stat.S_ISREG(info.st_mode):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                seen[key] = f"file {oct(info.st_mode)} {digest}"
            else:
                seen[key] = f"{stat.S_IFMT(info.st_mode)} {oct(info.st_mode)}"
    return seen


def _rewrite_meta(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, text
    path.write_text(text.replace(old, new))


def _run_id_of(store: Store) -> str:
    return store.run.name


CORRUPTIONS = {
    "empty experiment meta.yaml": lambda s: (s.experiment / "meta.yaml").write_text(""),
    "missing experiment meta.yaml": lambda s: (s.experiment / "meta.yaml").unlink(),
    "experiment meta.yaml is a list": lambda s: (s.experiment / "meta.yaml").write_text(
        "- name\n- forecast-daily\n"
    ),
    "experiment meta.yaml names another id": lambda s: _rewrite_meta(
        s.experiment / "meta.yaml", f"experiment_id: '{s.experiment.name}'", "experiment_id: '9'"
    ),
    "experiment name is not text": lambda s: _rewrite_meta(
        s.experiment / "meta.yaml", "name: forecast-daily", "name: [1, 2]"
    ),
    "empty run meta.yaml": lambda s: (s.run / "meta.yaml").write_text(""),
    "missing run meta.yaml": lambda s: (s.run / "meta.yaml").unlink(),
    "run meta.yaml names another experiment": lambda s: _rewrite_meta(
        s.run / "meta.yaml", f"experiment_id: '{s.experiment.name}'", "experiment_id: '0'"
    ),
    "run meta.yaml names another run": lambda s: _rewrite_meta(
        s.run / "meta.yaml", f"run_id: {_run_id_of(s)}", "run_id: 0123456789abcdef"
    ),
    "truncated run meta.yaml": lambda s: (s.run / "meta.yaml").write_text(
        (s.run / "meta.yaml").read_text()[:40] + "\n  - [unclosed"
    ),
    "metric file with garbage lines": lambda s: (s.run / "metrics" / "mape").write_text(
        "1700000000000 0.05 0\nthis is not a metric line at all\n"
    ),
    "metric value that is not a number": lambda s: (s.run / "metrics" / "mape").write_text(
        "1700000000000 zero 0\n"
    ),
    "params file that is a directory": lambda s: (
        (s.run / "params" / "learning_rate").unlink(),
        (s.run / "params" / "learning_rate").mkdir(),
    ),
    "tag with binary content": lambda s: (s.run / "tags" / "mlflow.note.content").write_bytes(
        b"\xff\xfe\x00\x80 not text"
    ),
    "run directory is a symlink loop": lambda s: (
        shutil.rmtree(s.run),
        s.run.symlink_to(s.run.name),
    ),
    "metric file is a dangling symlink": lambda s: (
        (s.run / "metrics" / "mape").unlink(),
        (s.run / "metrics" / "mape").symlink_to("/nonexistent/mape"),
    ),
    "param file is a FIFO": lambda s: (
        (s.run / "params" / "learning_rate").unlink(),
        os.mkfifo(s.run / "params" / "learning_rate"),
    ),
    "no trash folder": lambda s: (s.root / ".trash").rmdir(),
}


def _audit(capsys, uri: str) -> tuple[int, str, str]:
    code = cli.main(["mlflow", "--tracking-uri", uri, "--format", "json"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_fails_closed(code: int, out: str, err: str) -> list[str]:
    """Exit 2 and one stderr line; returns the MG005 messages (none for an error)."""
    assert code == 2, (out, err)
    assert "Traceback" not in err
    assert err.startswith("mlops-guard: error: ") and err.count("\n") == 1, err
    if not out:
        return []
    messages = [f["message"] for f in json.loads(out)["findings"] if f["rule"] == "MG005"]
    assert messages, out
    assert "the audit does not pass" in err
    return messages


@pytest.mark.parametrize("damage", sorted(CORRUPTIONS))
def test_corrupt_store_never_passes_and_is_not_written(pristine, tmp_path, capsys, damage):
    store = Store(Path(shutil.copytree(pristine, tmp_path / "mlruns", symlinks=True)))
    CORRUPTIONS[damage](store)
    before = fingerprint(store.root)
    code, out, err = _audit(capsys, str(store.root))
    _assert_fails_closed(code, out, err)
    assert fingerprint(store.root) == before


def test_skipped_experiment_is_mg005_naming_it(pristine, tmp_path, capsys):
    store = Store(Path(shutil.copytree(pristine, tmp_path / "mlruns")))
    (store.experiment / "meta.yaml").write_text("")
    code, out, err = _audit(capsys, str(store.root))
    [message] = _assert_fails_closed(code, out, err)
    assert f"Malformed experiment '{store.experiment.name}'" in message


def test_unreadable_run_directory(pristine, tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("running as root: file permissions do not stop reading")
    store = Store(Path(shutil.copytree(pristine, tmp_path / "mlruns")))
    store.run.chmod(0)
    try:
        code, out, err = _audit(capsys, str(store.root))
    finally:
        store.run.chmod(0o755)
    _assert_fails_closed(code, out, err)


def test_intact_store_is_read_without_writing(pristine, tmp_path, capsys):
    store = Store(Path(shutil.copytree(pristine, tmp_path / "mlruns")))
    before = fingerprint(store.root)
    code, out, err = _audit(capsys, store.root.as_uri())
    assert code == 1, err  # ET/RF rules on a bare experiment: findings, all read
    assert not [f for f in json.loads(out)["findings"] if f["rule"] == "MG005"]
    assert fingerprint(store.root) == before


def _sqlite_store(path: Path) -> str:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{path}"
    client = MlflowClient(tracking_uri=uri)
    run = client.create_run(client.create_experiment("forecast-daily"), run_name="day-0")
    client.set_terminated(run.info.run_id)
    return uri


def test_sqlite_store_is_opened_read_only(tmp_path, capsys):
    uri = _sqlite_store(tmp_path / "db" / "mlflow.db")
    before = fingerprint(tmp_path / "db")
    code, out, err = _audit(capsys, uri)
    assert code == 1, err
    assert "forecast-daily" in out
    assert fingerprint(tmp_path / "db") == before  # no journal, no new rows


def test_sqlite_without_mlflow_tables_is_an_error_not_a_new_schema(tmp_path, capsys):
    database = tmp_path / "other.db"
    with sqlite3.connect(database) as connection:
        connection.execute("create table unrelated (x)")
    before = fingerprint(tmp_path)
    code, out, err = _audit(capsys, f"sqlite:///{database}")
    assert (code, out) == (2, "")
    assert err.startswith("mlops-guard: error: ") and err.count("\n") == 1
    assert fingerprint(tmp_path) == before


@pytest.mark.parametrize(
    "uri",
    [
        "{tmp}/mlruns-typo",
        "file://{tmp}/mlruns-typo",
        "sqlite:///{tmp}/mlflow-typo.db",
        "sqlite:///{tmp}/missing-dir/mlflow.db",
        "sqlite:///:memory:",
    ],
)
def test_mistyped_store_is_one_line_and_nothing_is_created(tmp_path, uri):
    uri = uri.format(tmp=tmp_path)
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_ALLOW_FILE_STORE": "true"}
    done = subprocess.run(
        [sys.executable, "-m", "mlops_guard", "audit", "mlflow", "--tracking-uri", uri],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("mlops-guard: error: ") and done.stderr.count("\n") == 1
    assert "typo" in done.stderr or "memory" in done.stderr or "missing-dir" in done.stderr
    assert list(tmp_path.iterdir()) == []
