"""Evaluation-threshold rules on the SageMaker Model Registry: is what was approved good?

An ``Approved`` model package is what a deployment pipeline picks up, so the Model
Registry is the real deploy gate. These rules run on a metadata store
(``mlops-guard audit sagemaker`` or an export of one) and judge every approved version of
the model package groups ``evaluation_thresholds.model_registry.groups`` selects: it
carries an evaluation report (ET104), the report meets the thresholds of the pipeline
that registered it (ET105), the newest approved version is not worse than the previous
approved one (ET106), it was registered by a pipeline execution (ET107) and, where asked,
its approval says why (ET108). Pending and rejected versions are not judged (the HTML
report counts them).

A package's pipeline is the one its ``MetadataProperties.GeneratedBy`` execution ARN
names, else the group's name; thresholds match it with their ``pipelines`` glob, as for
runs. A metric is looked up in the accepted report slots (``evaluation_reports``) at the
``metric_paths`` (``regression_metrics.{metric}.value``, ...). What could not be read (the
package's description, its report in S3) is reported as "not evaluated", never passed.
"""

from __future__ import annotations

from mlops_guard import Violation, rule
from mlops_guard.metadata import model_packages, recorded_runs
from mlops_guard.metadata.store_lookup import not_evaluated
from mlops_guard.metadata.thresholds import (
    baseline_problems,
    higher_is_better,
    meets,
    thresholds_for,
)


def _approved_packages(store, policy, *, reports: bool = True):
    """``(group, package, pointer, subject, gap)`` of each approved version judged;
    ``gap`` is None, or the :class:`NotEvaluated` to yield instead of judging it when
    part of it could not be read (of its reports too, with ``reports``)."""
    registry = policy.evaluation_thresholds.model_registry
    for group_index, group in model_packages.judged_groups(store, registry):
        for package_index, package in model_packages.approved(group):
            pointer = model_packages.package_pointer(group_index, package_index)
            subject = model_packages.package_label(group, package)
            unread = model_packages.unread_package(store, package, reports=reports)
            yield group, package, pointer, subject, not_evaluated(unread, pointer, subject)


def _sense(threshold) -> str:
    return ">=" if higher_is_better(threshold) else "<="


@rule(
    id="ET104",
    category="evaluation-thresholds",
    summary="Approved model packages carry an evaluation report",
)
def check_package_has_report(store, policy):
    """What it checks: every approved model package of the groups
    ``evaluation_thresholds.model_registry.groups`` selects has a ``ModelMetrics``
    report in one of the accepted slots (``model_registry.evaluation_reports``, default
    ``ModelQuality.Statistics``).

    Why it matters: an approved package is deployed. One approved by hand with no
    evaluation report was never measured, and goes to production unseen.

    How to fix: register packages from the pipeline with ``model_metrics`` (the
    evaluation step's report as ``ModelQuality.Statistics``); reject the package, or
    register a new version with its report.
    """
    registry = policy.evaluation_thresholds.model_registry
    for _group, package, pointer, subject, gap in _approved_packages(store, policy, reports=False):
        if gap is not None:
            yield gap
        elif not model_packages.evaluation_reports(package, registry):
            carried = ", ".join(sorted(package.reports)) or "none"
            yield Violation(
                f"model package {subject} is approved without an evaluation report "
                f"(accepted: {', '.join(registry.evaluation_reports)}; it has: {carried})",
                at=pointer,
                subject=subject,
            )


@rule(
    id="ET105",
    category="evaluation-thresholds",
    summary="Approved model packages' evaluation reports meet the metric thresholds",
)
def check_package_thresholds(store, policy):
    """What it checks: for each approved model package with an evaluation report, each
    threshold of the pipeline that registered it (``GeneratedBy``, else the group name,
    matched by the thresholds' ``pipelines`` glob) is met by the metric in the report,
    direction aware; a report without the metric (at none of
    ``model_registry.metric_paths``) is reported, not passed.

    Why it matters: the pipeline's gate should have stopped a model below the threshold;
    an approval by hand, or a gate that was lowered, lets it through to production.

    How to fix: reject the package (``aws sagemaker update-model-package
    --model-approval-status Rejected``) and find why it was approved; if the report keeps
    the metric elsewhere, add its path to ``model_registry.metric_paths``.
    """
    registry = policy.evaluation_thresholds.model_registry
    for group, package, pointer, subject, gap in _approved_packages(store, policy):
        if gap is not None:
            yield gap
            continue
        if not model_packages.evaluation_reports(package, registry):
            continue  # ET104 reports it
        pipeline = model_packages.producing_pipeline(group, package)
        for threshold in thresholds_for(policy, pipeline):
            found = model_packages.report_metric(package, registry, threshold.metric)
            if found is None:
                yield Violation(
                    f"model package {subject}: its evaluation report has no {threshold.metric} "
                    f"(looked at {', '.join(registry.metric_paths)}): threshold "
                    f"{_sense(threshold)} {threshold.value:g} not checked",
                    at=pointer,
                    subject=subject,
                )
            elif not meets(found[0], threshold):
                yield Violation(
                    f"model package {subject} is approved with {threshold.metric} = "
                    f"{found[0]:g} ({found[1]} {found[2]}), failing the threshold "
                    f"{_sense(threshold)} {threshold.value:g} of pipeline {pipeline!r}",
                    at=pointer,
                    subject=subject,
                )


@rule(
    id="ET106",
    category="evaluation-thresholds",
    summary="The newest approved model package is not worse than the previous one",
)
def check_package_baseline(store, policy):
    """What it checks: for thresholds with ``min_absolute_change`` or
    ``min_relative_change``, the newest approved version of a group (highest version
    number) beats the previous approved version by the same comparison ET102 makes for
    runs (MLflow's ``MetricThreshold``), on the metric values of their reports.

    Why it matters: approving a version that is worse than the one in production replaces
    a good model with a worse one; the registry is where that decision is recorded.

    How to fix: approve the previous version again and reject the newest, or relax the
    required change in the policy if the regression is accepted.
    """
    registry = policy.evaluation_thresholds.model_registry
    for group_index, group in model_packages.judged_groups(store, registry):
        versions = model_packages.approved(group)
        if len(versions) < 2:
            continue
        (_, previous), (index, latest) = versions[-2], versions[-1]
        pointer = model_packages.package_pointer(group_index, index)
        subject = model_packages.package_label(group, latest)
        unread = model_packages.unread_package(store, latest)
        unread += model_packages.unread_package(store, previous)
        if unread:
            yield not_evaluated(unread, pointer, subject)
            continue
        pipeline = model_packages.producing_pipeline(group, latest)
        for threshold in thresholds_for(policy, pipeline):
            if threshold.min_absolute_change is None and threshold.min_relative_change is None:
                continue
            now = model_packages.report_metric(latest, registry, threshold.metric)
            before = model_packages.report_metric(previous, registry, threshold.metric)
            if now is None or before is None:
                continue  # ET104/ET105 report the missing report or metric
            label = f"approved version {previous.version}'s"
            for problem in baseline_problems(now[0], before[0], threshold, label):
                yield Violation(
                    f"model package {subject}: {threshold.metric} {problem}",
                    at=pointer,
                    subject=subject,
                )


@rule(
    id="ET107",
    category="evaluation-thresholds",
    summary="Approved model packages were registered by a pipeline execution",
)
def check_package_provenance(store, policy):
    """What it checks: every approved model package names the pipeline execution that
    registered it (``MetadataProperties.GeneratedBy`` is a pipeline execution ARN), unless
    ``model_registry.allow_manual_registration`` is true.

    Why it matters: a package registered by hand skipped the pipeline and its evaluation
    gate; nothing records how the model was built or on which data.

    How to fix: register models from the pipeline (a ``RegisterModel``/``ModelStep``
    sets ``GeneratedBy``); reject hand-registered versions, or allow manual registration
    in the policy where that is the team's process.
    """
    registry = policy.evaluation_thresholds.model_registry
    if registry.allow_manual_registration:
        return
    for _group, package, pointer, subject, gap in _approved_packages(store, policy, reports=False):
        if gap is not None:
            yield gap
        elif recorded_runs.parse_execution_arn(package.generated_by) is None:
            generated = package.generated_by
            by = f"GeneratedBy is {generated!r}" if generated else "no GeneratedBy"
            yield Violation(
                f"model package {subject} is approved but was not registered by a pipeline "
                f"execution ({by})",
                at=pointer,
                subject=subject,
            )


@rule(
    id="ET108",
    category="evaluation-thresholds",
    summary="Approvals of model packages say why",
)
def check_package_approval_description(store, policy):
    """What it checks: when ``model_registry.require_approval_description`` is true,
    every approved model package has an ``ApprovalDescription``.

    Why it matters: an approval is a decision to deploy; without a reason recorded, a
    later review cannot tell a checked approval from a click.

    How to fix: ``aws sagemaker update-model-package --model-package-arn ARN
    --approval-description "..."`` (the approval status stays as it is).
    """
    if not policy.evaluation_thresholds.model_registry.require_approval_description:
        return
    for _group, package, pointer, subject, gap in _approved_packages(store, policy, reports=False):
        if gap is not None:
            yield gap
        elif not (package.approval_description or "").strip():
            yield Violation(
                f"model package {subject} is approved without an ApprovalDescription",
                at=pointer,
                subject=subject,
            )
