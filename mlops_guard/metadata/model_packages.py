"""The approved versions of the Model Registry, as the model-registry rules judge them.

Which groups and approved versions are judged, where a version is in the store and what
findings call it, which pipeline registered it, and the metric values its evaluation
reports carry. The model-registry rules (ET104-ET108) and the audit's HTML report both
use these, so the report shows exactly what the rules judged.

Only the standard library is imported: rule files import this on every ``check``.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

from mlops_guard.metadata.recorded_runs import parse_execution_arn
from mlops_guard.pointer import join

APPROVED = "approved"


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
    parsed = parse_execution_arn(package.generated_by)
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
