"""Subprocess entry point that imports a user's pipeline module and prints its definition.

Run as ``python -m mlops_guard.loaders.render_worker ROOT MODULE FUNCTION KWARGS_JSON``.
Offline by default: AWS calls the SDK makes while rendering (default bucket checks,
uploads of local code) go to moto's in-process mock when moto is installed, and the
SDK's telemetry sender is silenced. ``MLOPS_GUARD_RENDER_ONLINE=1`` renders against the
real account instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys


def _offline():
    if os.environ.get("MLOPS_GUARD_RENDER_ONLINE"):
        return contextlib.nullcontext()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        os.environ[key] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
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


def main(argv: list[str]) -> int:
    root, module_name, function_name, kwargs_json = argv
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
    sys.path.insert(0, root)
    os.chdir(root)
    try:
        with _offline():
            _silence_telemetry()
            import importlib

            module = importlib.import_module(module_name)
            function = getattr(module, function_name, None)
            if function is None:
                raise LookupError(f"module {module_name} has no function {function_name!r}")
            pipeline = function(**json.loads(kwargs_json))
            definition = json.loads(pipeline.definition())
            name = getattr(pipeline, "name", None)
    except Exception as error:  # reported as one line by the parent
        import traceback

        traceback.print_exc()
        print(f"render-error: {error.__class__.__name__}: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"definition": definition, "name": name}, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
