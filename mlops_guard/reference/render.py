"""Render the reference pipeline definition offline and deterministically.

``python -m mlops_guard.reference.render`` prints the definition;
``python -m mlops_guard.reference.render --write`` refreshes the committed ``definition.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEFINITION_PATH = PACKAGE_DIR / "definition.json"

#: What the committed definition is rendered for (an example account; nothing is called).
RENDER_REGION = "us-east-1"
RENDER_ROLE = "arn:aws:iam::123456789012:role/mlops-guard-reference-execution"
RENDER_BUCKET = "mlops-guard-reference-123456789012"

# Needed before the SDK is imported (it resolves a region at import) and by ModelTrainer,
# which validates the role through IAM unless told not to. Only set when absent.
_ENV_DEFAULTS = {
    "AWS_DEFAULT_REGION": RENDER_REGION,
    "AWS_ACCESS_KEY_ID": "offline-render",
    "AWS_SECRET_ACCESS_KEY": "offline-render",
    "SAGEMAKER_VALIDATE_ROLE": "false",
}


@contextlib.contextmanager
def _render_environment() -> Iterator[None]:
    """Env defaults for the SDK and a fixed working dir, restored afterwards."""
    saved = {key: os.environ.get(key) for key in _ENV_DEFAULTS}
    cwd = os.getcwd()
    try:
        for key, value in _ENV_DEFAULTS.items():
            os.environ.setdefault(key, value)
        # Relative ``code=`` paths from the package dir: the SDK's code hash covers the
        # path string, so it must not depend on where the checkout lives.
        os.chdir(PACKAGE_DIR)
        yield
    finally:
        os.chdir(cwd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def offline_session(default_bucket: str):
    """A ``PipelineSession`` that never calls AWS: the bucket is taken as given, uploads of
    step code only compute the URI they would have (``s3://<bucket>/<pipeline>/code/<sha256>/``).
    """
    import boto3
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    class OfflinePipelineSession(PipelineSession):
        def default_bucket(self):  # no CreateBucket/HeadBucket
            return self._default_bucket_name_override or default_bucket

        def upload_data(self, path, bucket=None, key_prefix="data", callback=None, **kwargs):
            bucket = bucket or self.default_bucket()
            if os.path.isdir(path):
                return f"s3://{bucket}/{key_prefix}"
            return f"s3://{bucket}/{key_prefix}/{os.path.basename(path)}"

    boto_session = boto3.Session(region_name=os.environ.get("AWS_DEFAULT_REGION", RENDER_REGION))
    return OfflinePipelineSession(boto_session=boto_session, default_bucket=default_bucket)


def _silence_sdk_telemetry() -> None:
    """The SDK starts a thread per job call that posts telemetry; offline that only costs time."""
    try:
        import sagemaker.core.telemetry.telemetry_logging as telemetry
    except ImportError:  # pragma: no cover - other SDK layouts
        return
    telemetry._send_telemetry_request = lambda *args, **kwargs: None


def render_definition(
    region: str = RENDER_REGION,
    role: str = RENDER_ROLE,
    default_bucket: str = RENDER_BUCKET,
    **kwargs,
) -> str:
    """Render the reference pipeline with the SDK, offline; returns pretty, stable JSON."""
    import logging

    with _render_environment():
        _silence_sdk_telemetry()
        from mlops_guard.reference.pipeline import get_pipeline

        loggers = [logging.getLogger(name) for name in ("sagemaker", "botocore", "boto3")]
        levels = [logger.level for logger in loggers]
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pipeline = get_pipeline(
                    region=region,
                    role=role,
                    default_bucket=default_bucket,
                    sagemaker_session=offline_session(default_bucket),
                    **kwargs,
                )
                raw = pipeline.definition()
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)
    return json.dumps(json.loads(raw), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlops_guard.reference.render",
        description="Render the reference pipeline definition offline.",
    )
    parser.add_argument(
        "--write", action="store_true", help=f"refresh the committed copy ({DEFINITION_PATH.name})"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed copy is stale"
    )
    args = parser.parse_args(argv)
    rendered = render_definition()
    if args.write:
        DEFINITION_PATH.write_text(rendered, encoding="utf-8")
        print(f"wrote {DEFINITION_PATH}")
        return 0
    if args.check:
        current = DEFINITION_PATH.read_text(encoding="utf-8") if DEFINITION_PATH.exists() else ""
        if current != rendered:
            print(f"{DEFINITION_PATH} is stale: run with --write", file=sys.stderr)
            return 1
        print(f"{DEFINITION_PATH} is fresh")
        return 0
    sys.stdout.write(rendered)
    return 0


if __name__ == "__main__":
    sys.exit(main())
