"""The metadata model: experiments, trials, trial components (runs) and deployed pipelines.

This is the one shape every source (SageMaker, MLflow, a JSON/YAML export) is turned
into, so rules are written once. The JSON export format *is* this model dumped with
:func:`mlops_guard.metadata.io.dump_store`; unknown keys are rejected so a typo in a
hand-written export is reported instead of silently ignored. Optional fields may be
omitted or ``null``; a ``null`` collection reads as empty.

Only pydantic is imported here: importing the model must stay cheap.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    Strict,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

FORMAT = "mlops-guard-metadata"
VERSION = 2
# Version 1 files (no model packages, no output listings) still load: 2 only added keys.
VERSIONS = (1, 2)


def _parameter_value(value: Any) -> str | float | int | bool:
    """Keep a parameter's JSON type exactly: ``"1"`` stays a string, ``1`` an integer."""
    if isinstance(value, bool | int | float | str):
        return value
    raise PydanticCustomError("parameter_type", "expected a string, number or boolean")


# Dates are strings in JSON and YAML, so they are the one lax type: everything else is
# strict, as a number written as a string in an export is more likely a mistake.
Timestamp = Annotated[datetime, Strict(False)]

ParameterValue = Annotated[
    str | float | int | bool,
    PlainValidator(_parameter_value),
    WithJsonSchema({"type": ["string", "number", "integer", "boolean"]}),
]


class _Record(BaseModel):
    """Shared configuration: no unknown keys, strict JSON types, ``null`` collections empty."""

    model_config = ConfigDict(extra="forbid", strict=True, ser_json_inf_nan="constants")

    @field_validator("*", mode="before")
    @classmethod
    def _null_collection_is_empty(cls, value: Any, info) -> Any:
        if value is None:
            annotation = cls.model_fields[info.field_name].annotation
            origin = getattr(annotation, "__origin__", None)
            if origin in (dict, list):
                return origin()
        return value


class MetricPoint(_Record):
    """One logged value of a metric; ``step`` and ``timestamp`` are unknown for some sources."""

    step: int | None = None
    timestamp: Timestamp | None = None
    value: float


class MetricSummary(_Record):
    """What a source reports about one metric of a run, plus its history where available."""

    last: float | None = None
    min: float | None = None
    max: float | None = None
    avg: float | None = None
    count: int | None = None
    series: list[MetricPoint] = Field(default_factory=list)


class Artifact(_Record):
    """An input or output of a run: where it lives and, if known, what it is."""

    uri: str
    media_type: str | None = None


class TrialComponent(_Record):
    """One run: a training/processing job or a logged run of an experiment tracker."""

    name: str
    display_name: str | None = None
    description: str | None = None
    status: str | None = None
    source_arn: str | None = None
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    parameters: dict[str, ParameterValue] = Field(default_factory=dict)
    metrics: dict[str, MetricSummary] = Field(default_factory=dict)
    input_artifacts: dict[str, Artifact] = Field(default_factory=dict)
    output_artifacts: dict[str, Artifact] = Field(default_factory=dict)
    pipeline_execution_arn: str | None = None


class Trial(_Record):
    """A group of runs, typically one pipeline execution or one parent run."""

    name: str
    display_name: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    pipeline_execution_arn: str | None = None
    components: list[TrialComponent] = Field(default_factory=list)


class Experiment(_Record):
    """The top of the hierarchy: one model or use case being developed."""

    name: str
    display_name: str | None = None
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    trials: list[Trial] = Field(default_factory=list)


# Schedule and Notification have the fields of operations.PlainSchedule and
# PlainNotification, the pydantic-free form the template loaders build: the static and the
# deployed operations rules judge one model (the docstrings below are the export schema's).


class Schedule(_Record):
    """Something that starts a pipeline on a timetable, and the parameters it passes."""

    kind: Literal["eventbridge-rule", "scheduler"]
    name: str
    expression: str | None = None
    state: str | None = None
    passes_parameters: dict[str, str] = Field(default_factory=dict)


class Notification(_Record):
    """An EventBridge rule on pipeline execution status changes, and where it sends them."""

    rule_name: str
    event_pattern: dict[str, Any] = Field(default_factory=dict)
    targets: list[str] = Field(default_factory=list)
    state: str | None = None
    """``ENABLED`` or ``DISABLED`` when the source says; unknown reads as enabled."""


class Execution(_Record):
    """One execution of a deployed pipeline."""

    arn: str
    status: str | None = None
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    failure_reason: str | None = None
    parameters: dict[str, str] = Field(default_factory=dict)


class Pipeline(_Record):
    """A deployed pipeline as operations rules see it: definition, triggers, alerts, history."""

    name: str
    arn: str | None = None
    definition: dict[str, Any] | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    schedules: list[Schedule] = Field(default_factory=list)
    notifications: list[Notification] = Field(default_factory=list)
    executions: list[Execution] = Field(default_factory=list)


class ModelReport(_Record):
    """One report slot of a model package (``ModelQuality.Statistics``, ...): where it is
    and, when it was read, every number in it by dotted path (``metrics.mape.value``)."""

    uri: str
    values: dict[str, float] | None = None
    """None when the report was not read (packages that are not approved)."""


class ModelPackage(_Record):
    """One version of a model package group in the SageMaker Model Registry."""

    arn: str
    version: int | None = None
    approval_status: str | None = None
    creation_time: Timestamp | None = None
    generated_by: str | None = None
    """``MetadataProperties.GeneratedBy``: the pipeline execution ARN that registered it."""
    approval_description: str | None = None
    reports: dict[str, ModelReport] = Field(default_factory=dict)


class ModelPackageGroup(_Record):
    """A model package group and its versions, oldest first."""

    name: str
    arn: str | None = None
    packages: list[ModelPackage] = Field(default_factory=list)


class ExecutionPartition(_Record):
    """The partition one execution wrote to, its location resolved with its parameters."""

    execution_arn: str
    status: str | None = None
    partition: str
    """The partition folder, ``dt=2026-11-20`` (no slash)."""


class GluePartition(_Record):
    values: list[str] = Field(default_factory=list)
    location: str | None = None


class GlueTable(_Record):
    """A Glue table whose location is an output's base prefix, with its partitions."""

    database: str
    name: str
    location: str
    partition_keys: list[str] = Field(default_factory=list)
    partitions: list[GluePartition] = Field(default_factory=list)


class OutputListing(_Record):
    """What is under one data output's base prefix (the location up to its partition
    segment), read with one ``/``-delimited listing."""

    pipeline: str
    step: str
    output: str
    base_uri: str
    """``s3://bucket/prefix/``, ending with a slash."""
    partition_key: str
    folders: list[str] = Field(default_factory=list)
    """Sub-folders directly under the base, ``dt=2026-11-20/``."""
    objects: list[str] = Field(default_factory=list)
    """Objects directly under the base (relative keys)."""
    empty_partitions: list[str] = Field(default_factory=list)
    """Folders of executions' partitions that hold no object (only a folder marker)."""
    executions: list[ExecutionPartition] = Field(default_factory=list)
    tables: list[GlueTable] = Field(default_factory=list)


class Unreadable(_Record):
    """Something a source was not allowed to read, so rules about it cannot be evaluated."""

    what: str
    reason: str


class MetadataStore(_Record):
    """Everything one export holds; the root of the JSON/YAML export format."""

    format: Literal["mlops-guard-metadata"] = FORMAT
    version: Literal[1, 2] = VERSION
    # Where an organisation-wide export read this store (``export sagemaker --accounts``);
    # ``audit file`` places the findings of such exports in ``sagemaker:<account>:<region>``.
    account: str | None = None
    region: str | None = None
    experiments: list[Experiment] = Field(default_factory=list)
    pipelines: list[Pipeline] = Field(default_factory=list)
    model_package_groups: list[ModelPackageGroup] = Field(default_factory=list)
    outputs: list[OutputListing] = Field(default_factory=list)
    unreadable: list[Unreadable] = Field(default_factory=list)
