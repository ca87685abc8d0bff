"""Watching and shaping botocore traffic at its own events, so its real parser runs.

Handlers are registered on a ``boto3.Session`` before the code under test creates its
clients (clients copy the session's handlers). ``before-call`` sees every operation;
``before-send`` may return an ``AWSResponse`` instead of sending, which botocore then
parses and retries exactly as a response from AWS.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable

import boto3
from botocore.awsrequest import AWSResponse, HeadersDict


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_):
        yield self.data


def json_response(request, body: dict, status: int = 200) -> AWSResponse:
    headers = HeadersDict(
        {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "injected"}
    )
    return AWSResponse(request.url, status, headers, _Body(json.dumps(body).encode()))


def error_response(request, code: str, message: str, status: int = 400) -> AWSResponse:
    response = json_response(request, {"__type": code, "message": message}, status)
    response.headers["x-amzn-ErrorType"] = code
    return response


def operation_of(request) -> str:
    """The operation of a JSON-protocol request (``X-Amz-Target: SageMaker.Search``)."""
    target = request.headers.get("X-Amz-Target", b"")
    target = target.decode() if isinstance(target, bytes) else target
    return target.rsplit(".", 1)[-1]


def request_json(request) -> dict:
    body = request.body or b"{}"
    return json.loads(body.decode() if isinstance(body, bytes) else body)


class Traffic:
    """A session whose clients report each operation called and each request sent."""

    def __init__(self, session: boto3.Session | None = None):
        self.session = session or boto3.Session()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.sent: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.session.events.register("before-call", self._on_call)

    def _on_call(self, model, **_):
        with self._lock:
            self.calls[(model.service_model.service_name, model.name)] += 1

    def on_send(self, event: str, handler: Callable) -> None:
        """``handler(request)`` for requests of ``event`` (e.g. ``sagemaker.Search``)."""

        def wrapper(request, **_):
            with self._lock:
                self.sent[event] += 1
            return handler(request)

        self.session.events.register(f"before-send.{event}", wrapper)
