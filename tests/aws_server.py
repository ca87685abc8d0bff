"""A real moto server on loopback for tests that talk to AWS through boto3.

The server runs as its own process (``python -m moto.server``) on a free port of
127.0.0.1 and is stopped by PID, so the code under test goes through botocore's real
HTTP stack, signing, parsing and retries: nothing of ours is stubbed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MotoServer:
    """A running moto server: its endpoint and the process that serves it."""

    endpoint_url: str
    process: subprocess.Popen

    def reset(self) -> None:
        """Forget every resource, so each test starts from an empty account."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).read()

    def client(self, service: str, **kwargs):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=kwargs.pop("region_name", FAKE_CREDENTIALS["AWS_DEFAULT_REGION"]),
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            **kwargs,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_moto_server(timeout: float = 30.0) -> MotoServer:
    port = free_port()
    env = {**os.environ, **FAKE_CREDENTIALS}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).read()
            return MotoServer(endpoint, process)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto server did not start in time")
