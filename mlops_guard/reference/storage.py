"""Where the local runner reads and publishes data: a local folder or S3 (through boto3).

Publishing a partition is all-or-nothing for readers of a local folder (written beside it,
then renamed into place) and converges on S3 (every object of the new content is written
only after the step finished, then keys of that partition the new content lacks are
removed). A re-run of the same content therefore ends byte-identical, wherever the
previous run was interrupted.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

#: Test hook: ``<StepName>`` makes the runner pause for good in the middle of publishing
#: that step's first output (after one file), so a test can kill it there.
HOLD_ENV = "MLOPS_GUARD_REFERENCE_HOLD"


class StorageError(Exception):
    """A location cannot be read or written (exit code 2 of the runner)."""


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def join_uri(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *[part.strip("/") for part in parts]])


def _hold(label: str | None, done: int) -> None:
    if label and done == 1 and os.environ.get(HOLD_ENV) == label:
        print(f"hold: {label} is publishing", flush=True)
        sys.stdout.flush()
        time.sleep(3600)


def _files(directory: Path) -> list[tuple[str, Path]]:
    return sorted(
        (path.relative_to(directory).as_posix(), path)
        for path in directory.rglob("*")
        if path.is_file()
    )


class Storage:
    """Both back ends behind one interface, chosen per URI."""

    def __init__(self) -> None:
        self._s3 = None

    @property
    def s3(self):
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        return self._s3

    # -- checks ---------------------------------------------------------------------------
    def check_writable(self, base: str) -> None:
        """Fail early (StorageError) if nothing can be written under ``base``."""
        import secrets

        # A name of this call's own: runs of other dates write to the same output at once.
        probe_name = f".mlops-guard-write-probe-{os.getpid()}-{secrets.token_hex(4)}"
        if is_s3(base):
            bucket, key = split_s3(base)
            probe = f"{key.rstrip('/')}/{probe_name}".lstrip("/")
            try:
                self.s3.put_object(Bucket=bucket, Key=probe, Body=b"")
                self.s3.delete_object(Bucket=bucket, Key=probe)
            except Exception as error:
                raise StorageError(f"output {base} is not writable: {_reason(error)}") from None
            return
        try:
            Path(base).mkdir(parents=True, exist_ok=True)
            probe_path = Path(base) / probe_name
            probe_path.write_bytes(b"")
            probe_path.unlink()
        except OSError as error:
            raise StorageError(f"output {base} is not writable: {_reason(error)}") from None

    # -- reading --------------------------------------------------------------------------
    def download(self, uri: str, destination: Path) -> list[str]:
        """Copy what ``uri`` names (S3Prefix semantics: an object/file or everything under
        it) into ``destination``; StorageError if there is nothing."""
        destination.mkdir(parents=True, exist_ok=True)
        copied: list[str] = []
        if is_s3(uri):
            bucket, key = split_s3(uri)
            key = key.rstrip("/")
            try:
                pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
                for page in pages:
                    for item in page.get("Contents", []):
                        if item["Key"] == key:
                            relative = key.rsplit("/", 1)[-1]
                        elif item["Key"].startswith(key + "/"):
                            relative = item["Key"][len(key) + 1 :]
                        else:
                            continue
                        target = destination / relative
                        target.parent.mkdir(parents=True, exist_ok=True)
                        body = self.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"]
                        target.write_bytes(body.read())
                        copied.append(relative)
            except Exception as error:
                raise StorageError(f"cannot read {uri}: {_reason(error)}") from None
        else:
            source = Path(uri)
            if source.is_file():
                shutil.copyfile(source, destination / source.name)
                copied.append(source.name)
            elif source.is_dir():
                for relative, path in _files(source):
                    target = destination / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, target)
                    copied.append(relative)
        if not copied:
            raise StorageError(f"missing input: nothing at {uri}")
        return copied

    def read_bytes(self, uri: str) -> bytes:
        try:
            if is_s3(uri):
                bucket, key = split_s3(uri)
                return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            return Path(uri).read_bytes()
        except Exception as error:
            raise StorageError(f"cannot read {uri}: {_reason(error)}") from None

    # -- publishing -----------------------------------------------------------------------
    def publish(self, source: Path, uri: str, label: str | None = None) -> list[str]:
        """Make the partition ``uri`` hold exactly the files of ``source``."""
        files = _files(source)
        try:
            if is_s3(uri):
                return self._publish_s3(files, uri, label)
            return self._publish_local(files, Path(uri), label)
        except StorageError:
            raise
        except Exception as error:
            raise StorageError(f"cannot write {uri}: {_reason(error)}") from None

    def _publish_s3(self, files: list[tuple[str, Path]], uri: str, label: str | None):
        bucket, key = split_s3(uri)
        prefix = key.rstrip("/") + "/"
        written = set()
        for done, (relative, path) in enumerate(files, start=1):
            self.s3.put_object(Bucket=bucket, Key=prefix + relative, Body=path.read_bytes())
            written.add(prefix + relative)
            _hold(label, done)
        stale = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            stale += [
                item["Key"] for item in page.get("Contents", []) if item["Key"] not in written
            ]
        for start in range(0, len(stale), 1000):
            self.s3.delete_objects(
                Bucket=bucket,
                Delete={
                    "Objects": [{"Key": k} for k in stale[start : start + 1000]],
                    "Quiet": True,
                },
            )
        return sorted(relative for relative, _ in files)

    def _publish_local(self, files: list[tuple[str, Path]], target: Path, label: str | None):
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.parent / f".{target.name}.partial"
        previous = target.parent / f".{target.name}.previous"
        for leftover in (partial, previous):
            if leftover.exists():
                shutil.rmtree(leftover)
        partial.mkdir()
        for done, (relative, path) in enumerate(files, start=1):
            destination = partial / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
            _hold(label, done)
        if target.exists():
            target.rename(previous)
        partial.rename(target)
        if previous.exists():
            shutil.rmtree(previous)
        return sorted(relative for relative, _ in files)


def _reason(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        details = response["Error"]
        return f"{details.get('Code', 'error')}: {details.get('Message', '')}".rstrip(": ")
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
