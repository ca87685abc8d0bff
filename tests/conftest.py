"""Shared fixtures: paths of the project, and a moto server on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.aws_server import FAKE_CREDENTIALS, start_moto_server

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _caches_out_of_home(tmp_path_factory):
    """No test writes mlops-guard's caches (policies, renders, results), nor the key that
    tags them, into the home directory; tests that look at a cache set their own directory
    on top of this one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path_factory.mktemp("mlops-guard-cache")))
        key = tmp_path_factory.mktemp("mlops-guard-config") / "cache-key"
        patch.setenv("MLOPS_GUARD_CACHE_KEY_FILE", str(key))
        yield


@pytest.fixture(autouse=True)
def _caching_restored(monkeypatch):
    """``--no-cache`` (or an unusable cache) turns caching off for the rest of a process:
    an in-process run in one test must not turn it off for the next."""
    from mlops_guard import cache_store, resources

    monkeypatch.setattr(resources, "_caching_disabled", False)
    yield
    cache_store.reset()


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def _moto_server_process():
    pytest.importorskip("moto.server")
    server = start_moto_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def moto_server(_moto_server_process, monkeypatch):
    """A moto server on 127.0.0.1, emptied before each test, with boto3 pointed at it.

    ``AWS_ENDPOINT_URL`` is set so code under test that builds its own clients through
    the standard configuration reaches the server and nothing else.
    """
    _moto_server_process.reset()
    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", _moto_server_process.endpoint_url)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield _moto_server_process
