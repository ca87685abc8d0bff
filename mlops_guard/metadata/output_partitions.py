"""What pipelines wrote under each output's base prefix, as the output-partition rules judge it.

Which outputs are judged, the run-date partition folders under each base prefix, and
where the Glue partitions over them point. The output-partition rules (IO101-IO104) and
the audit's HTML report both use these, so the report shows exactly what was judged.

Only the standard library is imported: rule files import this on every ``check``.
"""

from __future__ import annotations

import re
from datetime import date
from fnmatch import fnmatchcase

from mlops_guard.metadata.store_lookup import unread_about
from mlops_guard.pointer import join

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def partition_date(folder: str, key: str) -> str | None:
    """The date of a ``<key>=YYYY-MM-DD/`` folder (a real calendar date), else None."""
    name, separator, value = folder.rstrip("/").partition("=")
    if not separator or name != key or not folder.endswith("/") or not _DATE.match(value):
        return None
    try:
        date.fromisoformat(value)
    except ValueError:
        return None
    return value


def written_dates(listing) -> list[str]:
    """Dates of the well-formed partition folders under the base prefix, sorted."""
    found = (partition_date(folder, listing.partition_key) for folder in listing.folders)
    return sorted(value for value in found if value)


def judged_outputs(store, settings) -> list[tuple[int, object]]:
    """``(index, listing)`` of outputs not exempt by ``idempotent_outputs.exempt_steps``."""
    return [
        (index, listing)
        for index, listing in enumerate(store.outputs)
        if not any(fnmatchcase(listing.step, glob) for glob in settings.exempt_steps)
    ]


def output_pointer(index: int) -> str:
    return join("/outputs", index)


def output_subject(listing) -> str:
    return f"{listing.pipeline}/{listing.step}/{listing.output}"


def unread_listing(store, listing) -> list:
    # The trailing space: a listing of s3://b/p/ is not one of s3://b/p/sub/.
    return unread_about(store, f"s3:ListObjectsV2 {listing.base_uri} ")


def unread_catalog(store, table=None) -> list:
    names = ["glue:GetDatabases", "glue:GetTables"]
    if table is not None:
        names.append(f"glue:GetPartitions {table.database}.{table.name} ")
    return unread_about(store, *names)


def normal_prefix(uri: str) -> str:
    """``s3a://b/p`` -> ``s3://b/p/``: prefixes as compared."""
    scheme, separator, rest = uri.partition("://")
    if separator and scheme.lower() in ("s3a", "s3n"):
        uri = f"s3://{rest}"
    return uri.rstrip("/") + "/"


def expected_partition_location(table, partition) -> str:
    """Where a Glue partition's data should be: its own ``key=value/`` under the table."""
    segments = "/".join(
        f"{key}={value}" for key, value in zip(table.partition_keys, partition.values, strict=False)
    )
    return normal_prefix(table.location) + (f"{segments}/" if segments else "")


def table_dates(table, key: str) -> set[str] | None:
    """The values of partition key ``key`` the table has partitions for; None when the
    table is not partitioned by it."""
    if key not in table.partition_keys:
        return None
    position = table.partition_keys.index(key)
    return {p.values[position] for p in table.partitions if len(p.values) > position}
