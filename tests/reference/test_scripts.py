"""Step scripts: self-contained, shared helpers in sync, deterministic data, strict dates."""

from __future__ import annotations

import datetime
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "mlops_guard" / "reference" / "scripts"
STEP_SCRIPTS = ["extract", "preproc", "train", "evaluate", "predict", "postproc"]
BLOCK = re.compile(r"# --- shared step helpers.*?# --- end of shared step helpers", re.S)


def test_shared_helpers_identical_in_every_script():
    blocks = {name: BLOCK.search((SCRIPTS / f"{name}.py").read_text()) for name in STEP_SCRIPTS}
    assert all(blocks.values()), [n for n, b in blocks.items() if not b]
    assert len({b.group(0) for b in blocks.values()}) == 1


def test_scripts_import_nothing_of_ours():
    for name in STEP_SCRIPTS:
        assert "mlops_guard" not in (SCRIPTS / f"{name}.py").read_text(), name


def test_synthetic_series_does_not_depend_on_the_run_date():
    pytest.importorskip("numpy")
    from mlops_guard.reference.data import synthetic_history

    early = synthetic_history(datetime.date(2026, 11, 22), 60)
    late = synthetic_history(datetime.date(2026, 11, 23), 60)
    assert early["date"].iloc[-1] == "2026-11-21"
    assert early.iloc[1:].reset_index(drop=True).equals(late.iloc[:-1].reset_index(drop=True))
    weekday = early[[datetime.date.fromisoformat(d).weekday() < 5 for d in early["date"]]]
    weekend = early[[datetime.date.fromisoformat(d).weekday() >= 5 for d in early["date"]]]
    assert weekend["applications"].mean() < 0.6 * weekday["applications"].mean()


@pytest.mark.parametrize("date", ["2026-11-31", "2026/11/22", "22-11-2026", ""])
def test_scripts_reject_malformed_dates(tmp_path, date):
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "extract.py"), "--execution-date", date,
         "--source", "synthetic://x", "--output-dir", str(tmp_path / "out")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().startswith("Extract: error: malformed ExecutionDate")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
