"""The process that renders a run's Python pipeline modules, apart from the checker.

Run as ``python -m mlops_guard.loaders.render_worker JOBS`` with a JSON list of requests
on stdin, each ``{"root", "module", "function", "kwargs", "output"}``; each request's
result is written to its ``output`` file as ``{"definition", "name"}`` or ``{"error",
"traceback"}``.

Importing the SageMaker SDK costs seconds, rendering a module about one. So this process
imports the SDK once and then *forks* one child per module, up to ``JOBS`` at a time:
every module starts from the same freshly imported interpreter (its own ``sys.path``
entry and working directory, its own ``sys.modules``, environment and SDK state, nothing
left over from the module rendered before it), yet none pays the import again. A worker
that rendered modules one after another in one interpreter would save the same import
but let each module see what the previous one imported or patched (two repositories'
``pipelines`` packages are the common case). Where ``fork`` is unavailable (Windows), or
the import left threads running (forking those is unsafe), each module is rendered in a
fresh ``python -m mlops_guard.loaders.render_worker --one REQUEST`` instead: isolated the
same way, paying the import each time, still up to ``JOBS`` at once.

Offline by default: AWS calls the SDK makes while rendering (default bucket checks,
uploads of local code) go to moto's in-process mock when moto is installed, and the
SDK's telemetry sender is silenced. ``MLOPS_GUARD_RENDER_ONLINE=1`` renders against the
real account instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading

PRELOADED = ("sagemaker.mlops.workflow", "sagemaker.core.workflow.pipeline_context")
"""What v3 pipeline modules import (v2's ``sagemaker.workflow`` is imported by the module
itself when these are absent); importing a module the SDK does not have is skipped."""


def _offline_environment() -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
    if os.environ.get("MLOPS_GUARD_RENDER_ONLINE"):
        return
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        os.environ[key] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)


def _offline():
    if os.environ.get("MLOPS_GUARD_RENDER_ONLINE"):
        return contextlib.nullcontext()
    try:
        from moto import mock_aws
    except ImportError:
        return contextlib.nullcontext()
    return mock_aws()


def _silence_telemetry() -> None:
    for name in (
        "sagemaker.core.telemetry.telemetry_logging",
        "sagemaker.telemetry.telemetry_logging",
    ):
        try:
            module = __import__(name, fromlist=["_send_telemetry_request"])
        except Exception:
            continue
        module._send_telemetry_request = lambda *args, **kwargs: None


WARMED_CLIENTS = ("sagemaker", "s3", "sts", "iam", "sagemaker-runtime")
"""The AWS clients the SDK creates while building a pipeline (whose models are parsed
before forking)."""


def _preload() -> None:
    """Import the SDK (and moto) the way a rendered module would, and parse the AWS
    models its sessions load, so forked children find both done; a missing SDK is the
    module's own error to report."""
    with _offline():
        for name in PRELOADED:
            with contextlib.suppress(Exception):
                __import__(name)
        _silence_telemetry()
        with contextlib.suppress(Exception):
            import boto3

            session = boto3.Session()
            for service in WARMED_CLIENTS:
                session.client(service)
            session.resource("s3")


def _parse_models_once() -> None:
    """botocore parses its JSON models (several MB) again for every session, and the SDK
    makes about six sessions per pipeline: half of a render's time. In this process each
    file is parsed once and shared; botocore treats a loaded model as read-only (the
    extras it merges into one are the same every time), and renders stay byte-identical."""
    try:
        from botocore import loaders
    except ImportError:
        return
    load = loaders.JSONFileLoader.load_file
    parsed: dict = {}

    def load_once(self, file_path):
        if file_path not in parsed:
            parsed[file_path] = load(self, file_path)
        return parsed[file_path]

    loaders.JSONFileLoader.load_file = load_once


def render(request: dict) -> dict:
    """Render one module in this process: ``{"definition", "name"}`` or an error."""
    root = request["root"]
    sys.path.insert(0, root)
    os.chdir(root)
    try:
        with _offline():
            _silence_telemetry()
            import importlib

            module = importlib.import_module(request["module"])
            function = getattr(module, request["function"], None)
            if function is None:
                raise LookupError(
                    f"module {request['module']} has no function {request['function']!r}"
                )
            pipeline = function(**request["kwargs"])
            definition = json.loads(pipeline.definition())
            return {"definition": definition, "name": getattr(pipeline, "name", None)}
    except BaseException as error:  # SystemExit from user code is an error too
        import traceback

        return {"error": _described(error), "traceback": traceback.format_exc()}


def _described(error: BaseException) -> str:
    """One line; a missing SDK names the extra that installs it."""
    missing = getattr(error, "name", None) if isinstance(error, ModuleNotFoundError) else None
    if missing and missing.partition(".")[0] == "sagemaker":
        return (
            f"rendering Python pipeline modules needs the 'sdk' extra ({missing} is not "
            "installed): pip install 'mlops-guard[sdk]'"
        )
    return f"{error.__class__.__name__}: {error}"


def _write(path: str, result: dict) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(result, handle, sort_keys=True)


def _render_in_child(request: dict) -> int:
    """Fork a child that renders ``request``, writes its result and exits at once (no
    cleanup of the state it shares with this process)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        _write(request["output"], render(request))
        code = 0
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _render_in_subprocess(request: dict) -> subprocess.Popen:
    command = [sys.executable, "-m", "mlops_guard.loaders.render_worker", "--one"]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, text=True)
    process.stdin.write(json.dumps(request))
    process.stdin.close()
    return process


def render_all(requests: list[dict], jobs: int) -> None:
    """Render every request, at most ``jobs`` at a time; a child that died without a
    result (killed, ``os._exit`` in the module) gets one naming its exit status."""
    forking = hasattr(os, "fork") and threading.active_count() == 1
    waiting = list(reversed(requests))
    running: dict = {}
    while waiting or running:
        while waiting and len(running) < max(1, jobs):
            request = waiting.pop()
            if forking:
                running[_render_in_child(request)] = request
            else:
                process = _render_in_subprocess(request)
                running[process.pid] = (request, process)
        if forking:
            pid, status = os.wait()
            request = running.pop(pid)
            code = os.waitstatus_to_exitcode(status)
        else:
            pid, (request, process) = next(iter(running.items()))
            code = process.wait()
            running.pop(pid)
        if not os.path.exists(request["output"]):
            _write(request["output"], {"error": f"renderer exited with {code}"})


def main(argv: list[str]) -> int:
    _offline_environment()
    _parse_models_once()
    if argv[:1] == ["--one"]:
        request = json.loads(sys.stdin.read())
        _write(request["output"], render(request))
        return 0
    jobs = int(argv[0]) if argv else 1
    requests = json.loads(sys.stdin.read())
    if hasattr(os, "fork"):
        _preload()
    render_all(requests, jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
