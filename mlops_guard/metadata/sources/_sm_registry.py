"""The SageMaker Model Registry: model package groups, their versions, and the evaluation
reports of the approved ones (read from S3).

An ``Approved`` model package is what a deployment pipeline picks up, so it is the real
gate. Every version of a group is listed (pending and rejected ones are counted by the
audit, not judged); only approved ones are described and have their ``ModelMetrics``
reports read. A report is kept as every number in it by JSON path, so the policy's
``metric_paths`` can find a metric offline, in an export, without the report itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from mlops_guard.metadata.model import ModelPackage, ModelPackageGroup, ModelReport
from mlops_guard.metadata.sources import _s3
from mlops_guard.metadata.sources._aws import Reader, is_not_found, pages

APPROVED = "Approved"
# ModelMetrics sections and the report slots SageMaker defines in each.
REPORT_SLOTS = {
    "ModelQuality": ("Statistics", "Constraints"),
    "ModelDataQuality": ("Statistics", "Constraints"),
    "Bias": ("Report", "PreTrainingReport", "PostTrainingReport"),
    "Explainability": ("Report",),
}


@dataclass
class Options:
    groups: str = "*"  # glob on model package group names


def read_model_packages(reader: Reader, options: Options) -> list[ModelPackageGroup]:
    sagemaker, s3 = reader.client("sagemaker"), reader.client("s3")
    summaries: list[dict] = []
    with reader.guard("sagemaker:ListModelPackageGroups (model registry)"):
        summaries = [
            summary
            for summary in pages(
                sagemaker.list_model_package_groups,
                "ModelPackageGroupSummaryList",
                MaxResults=100,
            )
            if fnmatchcase(summary["ModelPackageGroupName"], options.groups)
        ]

    def versions(summary: dict) -> list[dict]:
        name = summary["ModelPackageGroupName"]
        found: list[dict] = []
        with reader.guard(f"sagemaker:ListModelPackages {name} (model registry)"):
            found = list(
                pages(
                    sagemaker.list_model_packages,
                    "ModelPackageSummaryList",
                    ModelPackageGroupName=name,
                    ModelPackageType="Versioned",
                    MaxResults=100,
                )
            )
        return found

    listed = reader.map(versions, summaries)
    approved = [
        item for group in listed for item in group if item.get("ModelApprovalStatus") == APPROVED
    ]
    described = dict(
        zip(
            [item["ModelPackageArn"] for item in approved],
            reader.map(lambda item: _approved(reader, sagemaker, s3, item), approved),
            strict=True,
        )
    )
    groups = []
    for summary, items in zip(summaries, listed, strict=True):
        packages = [described.get(item["ModelPackageArn"]) or _listed(item) for item in items]
        packages.sort(key=lambda p: (p.version is None, p.version or 0, p.arn))
        groups.append(
            ModelPackageGroup(
                name=summary["ModelPackageGroupName"],
                arn=summary.get("ModelPackageGroupArn"),
                packages=packages,
            )
        )
    return sorted(groups, key=lambda group: group.name)


def _listed(summary: dict) -> ModelPackage:
    return ModelPackage(
        arn=summary["ModelPackageArn"],
        version=summary.get("ModelPackageVersion"),
        approval_status=summary.get("ModelApprovalStatus"),
        creation_time=summary.get("CreationTime"),
    )


def _approved(reader: Reader, sagemaker, s3, summary: dict) -> ModelPackage | None:
    """An approved package with its reports read; None if it is gone, or undescribed."""
    from botocore.exceptions import ClientError

    arn = summary["ModelPackageArn"]
    described: dict | None = None
    with reader.guard(f"sagemaker:DescribeModelPackage {arn} (model registry)"):
        try:
            described = sagemaker.describe_model_package(ModelPackageName=arn)
        except ClientError as error:
            if not is_not_found(error):
                raise
    if described is None:
        return None
    reports = {}
    for section, slot, uri in _report_uris(described.get("ModelMetrics")):
        values = None
        with _s3.reading(reader, f"s3:GetObject {uri} ({section}.{slot} report of {arn})"):
            values = _s3.numbers(_s3.read_json(s3, uri))
        reports[f"{section}.{slot}"] = ModelReport(uri=uri, values=values)
    return ModelPackage(
        arn=arn,
        version=described.get("ModelPackageVersion", summary.get("ModelPackageVersion")),
        approval_status=described.get("ModelApprovalStatus") or APPROVED,
        creation_time=described.get("CreationTime") or summary.get("CreationTime"),
        generated_by=(described.get("MetadataProperties") or {}).get("GeneratedBy") or None,
        approval_description=described.get("ApprovalDescription") or None,
        reports=reports,
    )


def _report_uris(metrics) -> list[tuple[str, str, str]]:
    found = []
    for section, slots in REPORT_SLOTS.items():
        source = (metrics or {}).get(section) or {}
        for slot in slots:
            uri = (source.get(slot) or {}).get("S3Uri")
            if isinstance(uri, str) and uri:
                found.append((section, slot, uri))
    return found
