"""The targets of an audit: the metadata store, and each deployed pipeline's definition.

The store is one metadata target, so rules can relate experiments to deployed pipelines.
Every deployed pipeline with a readable definition is also a definition target
(``sagemaker:pipeline/<name>``) so all definition rules judge what actually runs, not
only what is in the repository.

What could not be read never passes silently: each ``store.unreadable`` item becomes a
note (reported as MG005) naming the rule categories that could not be evaluated on it,
and the audit exits 2.
"""

from __future__ import annotations

from mlops_guard.definition import Definition
from mlops_guard.targets import Target

_RUN_RULES = "naming, recorded-fields and evaluation-thresholds"
_PIPELINE_RULES = "operations (and, for the definition, every definition rule)"
_REGISTRY_RULES = "evaluation-thresholds (model registry)"
_OUTPUT_RULES = "idempotent-outputs (partitions and Glue tables)"
# Prefix of an unreadable item's ``what`` -> the rules that depend on it.
_AFFECTED = (
    ("sagemaker:Search", _RUN_RULES),
    ("sagemaker:ListTrialComponents", _RUN_RULES),
    ("sagemaker:DescribeTrialComponent", _RUN_RULES),
    ("sagemaker-metrics:", _RUN_RULES),
    ("mlflow:", _RUN_RULES),
    ("sagemaker:ListPipelines", _PIPELINE_RULES),
    ("sagemaker:DescribePipeline ", _PIPELINE_RULES),
    ("sagemaker:ListModelPackage", _REGISTRY_RULES),
    ("sagemaker:DescribeModelPackage", _REGISTRY_RULES),
    ("s3:GetObject", _REGISTRY_RULES),
    ("s3:ListObjectsV2", _OUTPUT_RULES),
    ("glue:", _OUTPUT_RULES),
    ("events:", "operations"),
    ("scheduler:", "operations"),
    ("sagemaker:", "operations"),
)


def affected_rules(what: str) -> str:
    for prefix, rules in _AFFECTED:
        if what.startswith(prefix):
            return rules
    return "all"


def unreadable_notes(store) -> list[str]:
    return [
        f"could not read {item.what} ({item.reason}): the {affected_rules(item.what)} rules "
        "were not evaluated on it"
        for item in store.unreadable
    ]


def build_targets(store, label: str) -> list[Target]:
    targets = [
        Target(file=label, kind="metadata", name=label, store=store, notes=unreadable_notes(store))
    ]
    for pipeline in store.pipelines:
        if pipeline.definition is None:
            continue
        targets.append(
            Target(
                file=f"sagemaker:pipeline/{pipeline.name}",
                kind="definition",
                name=pipeline.name,
                definition=Definition(pipeline.definition, name=pipeline.name, tags=pipeline.tags),
            )
        )
    return targets
