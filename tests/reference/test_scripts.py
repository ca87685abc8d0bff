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
HELPERS = ("StepInputError", "parse_execution_date", "require_file", "load_model", "run")
IMAGE = SCRIPTS.parent / "image" / "Dockerfile"


def test_scripts_share_their_helpers_through_step_common():
    """One copy of the helpers: no script defines them again, and the image puts the
    module beside train.py on PYTHONPATH, where uploaded processing scripts find it."""
    for name in STEP_SCRIPTS:
        source = (SCRIPTS / f"{name}.py").read_text()
        assert re.search(r"^\s*from \.?step_common import", source, re.M), name
        for helper in HELPERS:
            assert not re.search(rf"^(def|class) {helper}\b", source, re.M), (name, helper)
    dockerfile = IMAGE.read_text()
    assert re.search(r"^COPY .*scripts/step_common\.py.* /opt/ml/code/", dockerfile, re.M)
    assert re.search(r"^ENV .*PYTHONPATH=/opt/ml/code\b", dockerfile, re.M)


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
