"""What the model-registry and output-partition rules, and the HTML report, need to know
about what pipelines produced: approved model packages and their evaluation metrics, and
the partition folders under each output's base prefix.

As in :mod:`mlops_guard.audit.facts`, answering these once keeps the rules short and has
the report show exactly what the rules judged. Only the standard library is imported.
"""

from __future__ import annotations

import re
from datetime import date
from fnmatch import fnmatchcase

from mlops_guard.audit import facts
from mlops_guard.pointer import join

APPROVED = "approved"

# -- model packages ---------------------------------------------------------------------


def judged_groups(store, registry) -> list[tuple[int, object]]:
    """``(index, group)`` of the groups ``model_registry.groups`` selects."""
    return [
        (index, group)
        for index, group in enumerate(store.model_package_groups)
        if fnmatchcase(group.name, registry.groups)
    ]


def approved(group) -> list[tuple[int, object]]:
    """``(index, package)`` of the approved versions, oldest first (by version number)."""
    found = [
        (index, package)
        for index, package in enumerate(group.packages)
        if (package.approval_status or "").lower() == APPROVED
    ]
    return sorted(found, key=lambda item: (item[1].version or 0, item[1].arn))


def status_counts(group) -> dict[str, int]:
    """Versions by approval status (``Approved``, ``PendingManualApproval``, ``Rejected``)."""
    counts: dict[str, int] = {}
    for package in group.packages:
        status = package.approval_status or "unknown"
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items()))


def package_pointer(group_index: int, package_index: int) -> str:
    return join("/model_package_groups", group_index, "packages", package_index)


def package_label(group, package) -> str:
    """``group/3``: what findings call a model package version."""
    return f"{group.name}/{package.version if package.version is not None else package.arn}"


def producing_pipeline(group, package) -> str:
    """The pipeline that registered a package: the one its ``GeneratedBy`` execution ARN
    names, else the group's name (thresholds match it with their ``pipelines`` glob)."""
    parsed = facts.parse_execution_arn(package.generated_by)
    return parsed[0] if parsed else group.name


def evaluation_reports(package, registry) -> list[str]:
    """The accepted report slots the package carries, in the policy's order."""
    return [slot for slot in registry.evaluation_reports if slot in package.reports]


def report_metric(package, registry, metric: str) -> tuple[float, str, str] | None:
    """``(value, slot, path)`` of ``metric`` in the package's accepted reports: the first
    ``metric_paths`` entry found, in the first report slot that has one."""
    for slot in evaluation_reports(package, registry):
        values = package.reports[slot].values or {}
        for template in registry.metric_paths:
            path = template.replace("{metric}", metric)
            if path in values:
                return values[path], slot, path
    return None


def unread_package(store, package, *, reports: bool = True) -> list:
    """What could not be read about this package: its description and, with
    ``reports``, its evaluation reports (rules on metric values need those)."""
    pattern = re.compile(re.escape(package.arn) + r"(?![\w/.-])")
    return [
        item
        for item in store.unreadable
        if pattern.search(item.what)
        and (reports or item.what.startswith("sagemaker:DescribeModelPackage "))
    ]


# -- output partitions ------------------------------------------------------------------

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
    return facts.unread_about(store, f"s3:ListObjectsV2 {listing.base_uri} ")


def unread_catalog(store, table=None) -> list:
    names = ["glue:GetDatabases", "glue:GetTables"]
    if table is not None:
        names.append(f"glue:GetPartitions {table.database}.{table.name} ")
    return facts.unread_about(store, *names)


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
