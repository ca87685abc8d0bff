"""Reading S3 and the Glue catalog for an audit: bounded, read-only, and never fatal.

Model package reports and output prefixes name S3 objects the audit does not own: a
missing object, a denied bucket or a report that is not JSON is a fact about the
account, recorded in ``unreadable`` (the audit then reports MG005 and exits 2), not a
crash of the whole export. Only errors of one read are caught here: no credentials or
no endpoint still fail the export as a whole.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from mlops_guard.metadata.model import Unreadable
from mlops_guard.metadata.sources._aws import MAX_PAGES, Reader, error_code

MAX_REPORT_BYTES = 1024 * 1024
MAX_REPORT_VALUES = 10_000
PAGE_KEYS = 1000  # S3 returns at most 1000 keys and folders a page


class NotReadable(Exception):
    """One item could not be read; the message is the reason recorded."""


@contextlib.contextmanager
def reading(reader: Reader, what: str) -> Iterator[None]:
    """Record any AWS error (after botocore's retries), a response that cannot be read
    or parsed, the deadline, or :class:`NotReadable` raised while reading ``what`` as
    unreadable, and carry on."""
    from botocore.exceptions import ClientError
    from botocore.parsers import ResponseParserError  # an S3 (XML) answer that is not XML

    from mlops_guard.metadata.sources._aws_responses import UnreadableResponse

    try:
        yield
    except ClientError as error:
        code = error_code(error) or "ClientError"
        message = error.response.get("Error", {}).get("Message") or ""
        reader.unreadable.append(Unreadable(what=what, reason=f"{code}: {message}".rstrip(": ")))
    except UnreadableResponse as error:
        reader.unreadable.append(Unreadable(what=what, reason=error.reason))
    except (NotReadable, ResponseParserError) as error:
        reader.unreadable.append(Unreadable(what=what, reason=" ".join(str(error).split())))


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")``; s3a/s3n are S3 too."""
    scheme, separator, rest = uri.partition("://")
    bucket, _, key = rest.partition("/")
    if not separator or scheme.lower() not in ("s3", "s3a", "s3n") or not bucket:
        raise NotReadable(f"not an S3 URI: {uri!r}")
    return bucket, key


def normal_prefix(uri: str) -> str:
    """A prefix URI as compared: ``s3://`` scheme, one trailing slash."""
    bucket, key = split_uri(uri)
    key = key.strip("/")
    return f"s3://{bucket}/{key}/" if key else f"s3://{bucket}/"


def read_json(s3, uri: str) -> object:
    """The JSON document at ``uri``, at most :data:`MAX_REPORT_BYTES` read."""
    bucket, key = split_uri(uri)
    response = s3.get_object(Bucket=bucket, Key=key)
    body = response["Body"]
    try:
        data = body.read(MAX_REPORT_BYTES + 1)
    finally:
        body.close()
    if len(data) > MAX_REPORT_BYTES:
        raise NotReadable(f"larger than {MAX_REPORT_BYTES} bytes")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise NotReadable(f"not a JSON document ({type(error).__name__})") from None


def numbers(document: object) -> dict[str, float]:
    """Every number in a JSON document by its path in JsonGet syntax (``a.b[0].c``)."""
    found: dict[str, float] = {}
    stack: list[tuple[str, object]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            if math.isfinite(value):
                found[path] = float(value)
                if len(found) > MAX_REPORT_VALUES:
                    raise NotReadable(f"more than {MAX_REPORT_VALUES} numbers")
        elif isinstance(value, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(value))
    return found


@dataclass
class Folder:
    """What a ``/``-delimited listing of one prefix found, relative to the prefix."""

    folders: list[str] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)


def list_folder(s3, uri: str, max_keys: int) -> Folder:
    """Sub-folders and objects directly under ``uri`` (a prefix ending with ``/``), paged;
    more than ``max_keys`` entries raises :class:`NotReadable`: never list a whole bucket."""
    bucket, prefix = split_uri(uri)
    found = Folder()
    params = {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/"}
    seen: set[str] = set()
    while True:
        page_size = min(PAGE_KEYS, max_keys - len(found.folders) - len(found.objects) + 1)
        response = _listed(s3.list_objects_v2(**params, MaxKeys=max(1, page_size)))
        found.folders.extend(
            item["Prefix"][len(prefix) :] for item in response.get("CommonPrefixes") or []
        )
        found.objects.extend(
            item["Key"][len(prefix) :]
            for item in response.get("Contents") or []
            if item["Key"] != prefix  # the folder's own marker object
        )
        if len(found.folders) + len(found.objects) > max_keys:
            raise NotReadable(
                f"more than {max_keys} keys and folders (idempotent_outputs.max_keys_per_prefix)"
            )
        token = response.get("NextContinuationToken")
        if not response.get("IsTruncated"):
            return found
        # A truncated page must lead somewhere new: anything else would end the listing
        # quietly, as if it were complete, or never end it.
        if not token or token in seen or len(seen) >= MAX_PAGES:
            raise NotReadable("paging stopped: a truncated listing without a new token")
        seen.add(token)
        params["ContinuationToken"] = token


def holds_objects(s3, uri: str) -> bool:
    """Whether any object other than folder markers is under ``uri`` (one small page)."""
    bucket, prefix = split_uri(uri)
    response = _listed(s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=10))
    keys = [item["Key"] for item in response.get("Contents") or []]
    return any(not key.endswith("/") for key in keys) or bool(response.get("IsTruncated"))


def _listed(response: dict) -> dict:
    """A ListObjectsV2 answer, or :class:`NotReadable`: botocore parses any well-formed
    XML (an HTML error page from a proxy, say) into an empty listing, which would pass
    for an empty prefix. Every real answer says whether it is truncated."""
    if not isinstance(response.get("IsTruncated"), bool):
        raise NotReadable("not a ListObjectsV2 answer (no IsTruncated)")
    return response
