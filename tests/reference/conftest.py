"""Helpers for the reference pipeline tests: the CLI as a subprocess, snapshots of outputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RUN_DATE = "2026-11-22"
NEXT_DATE = "2026-11-23"


def cli(*args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """``python -m mlops_guard.reference <args>`` as users run it."""
    return subprocess.run(
        [sys.executable, "-m", "mlops_guard.reference", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def interrupted_run(*args: str, hold_step: str, env: dict | None = None) -> str:
    """Start a run that pauses while publishing ``hold_step``'s output, SIGKILL its process
    group there; returns what it printed."""
    import signal

    process = subprocess.Popen(
        [sys.executable, "-m", "mlops_guard.reference", "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {}), "MLOPS_GUARD_REFERENCE_HOLD": hold_step},
        start_new_session=True,
    )
    printed = []
    try:
        for line in process.stdout:
            printed.append(line)
            if line.startswith(f"hold: {hold_step}"):
                break
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        process.stdout.close()
    assert printed and printed[-1].startswith(f"hold: {hold_step}"), "".join(printed)
    return "".join(printed)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden leftovers included) by relative path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def s3_snapshot(client, bucket: str, prefix: str) -> dict[str, bytes]:
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return {
        key[len(prefix) :]: client.get_object(Bucket=bucket, Key=key)["Body"].read()
        for key in sorted(keys)
    }


def relocated(files: dict[str, bytes], old: str, new: str) -> dict[str, bytes]:
    """Metadata names the output location: compare runs in two places with it replaced."""
    return {
        name: data.replace(old.encode(), new.encode()) if name.endswith(".json") else data
        for name, data in files.items()
    }


@pytest.fixture(scope="session")
def clean_local_run(tmp_path_factory) -> Path:
    """One clean local run of the reference pipeline for RUN_DATE."""
    pytest.importorskip("sklearn")
    output = tmp_path_factory.mktemp("clean") / "out"
    result = cli("run", "--date", RUN_DATE, "--output", str(output))
    assert result.returncode == 0, result.stdout + result.stderr
    return output
