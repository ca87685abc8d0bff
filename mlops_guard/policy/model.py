"""The team policy's schema (pydantic), used to validate policy files.

Validation happens once per policy content: the validated result is cached as plain
JSON (see :mod:`mlops_guard.policy.load`), so the pre-commit path does not import
pydantic when the policy has not changed. Rules read the policy through
:class:`mlops_guard.policy.settings.Settings`, never through these classes.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Severity = Literal["info", "warning", "error"]
RuleId = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,4}[0-9]{3}$")]
Direction = Literal["higher_is_better", "lower_is_better"]


class Strict(BaseModel):
    # ``allow_inf_nan=False``: a threshold of ``.nan``, ``"nan"`` or ``1e400`` would make
    # every comparison false and switch its check off; every float must be finite.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _check_regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"not a valid regular expression: {error}") from None
    return value


class NamePattern(Strict):
    pattern: str | None = None
    max_length: int | None = None
    description: str = ""

    _valid = field_validator("pattern")(_check_regex)


class ExperimentKind(Strict):
    """A kind of experiment, recognised by its name, with its own trial conventions."""

    match: str = Field(description="regex on the experiment name")
    pipeline: bool = Field(False, description="experiment is named after its pipeline")
    trial_pattern: str | None = None
    metric_trial_pattern: str | None = None
    required_tags: list[str] = []
    required_fields: list[str] = []
    production: bool = False

    _valid = field_validator("match", "trial_pattern", "metric_trial_pattern")(_check_regex)


class Naming(Strict):
    pipeline: NamePattern = NamePattern()
    step: NamePattern = NamePattern()
    parameter: NamePattern = NamePattern()
    experiment: NamePattern = NamePattern()
    trial: NamePattern = NamePattern()
    trial_component: NamePattern = NamePattern()
    required_tags: list[str] = []
    experiment_kinds: dict[str, ExperimentKind] = {}


class FieldSpec(Strict):
    """Which recorded keys count as evidence of one required field."""

    parameters: list[str] = []
    tags: list[str] = []
    artifacts: list[str] = []
    """Globs on input artifact names (what the run read)."""
    metrics: list[str] = []
    pattern: str | None = None
    """Regex searched in the evidence's value (artifact URI, parameter or tag value)."""
    require: Literal["any", "all"] = "any"
    """``any``: one listed glob with evidence suffices; ``all``: every glob needs evidence."""
    applies_to: list[str] = ["*"]
    """Globs on a run's source type (``training-job``, ``processing-job``, from its source
    ARN; empty for runs without one) or on its display name (the pipeline step)."""

    _valid = field_validator("pattern")(_check_regex)


class RecordedFields(Strict):
    require_experiment_config: bool = True
    experiment_name_source: list[str] = ["Execution.PipelineName"]
    trial_name_source: list[str] = ["Execution.PipelineExecutionId"]
    image_pinning: Literal["digest", "tag", "off"] = "digest"
    code_version: list[Literal["image-digest", "code-uri-hash", "parameter"]] = [
        "image-digest",
        "code-uri-hash",
        "parameter",
    ]
    code_version_parameters: list[str] = ["CodeVersion", "GitCommit", "GitSha"]
    data_version: list[Literal["step-output", "date-partition", "versioned-uri", "parameter"]] = [
        "step-output",
        "date-partition",
        "versioned-uri",
    ]
    metrics: list[Literal["property-file", "metric-definitions"]] = [
        "property-file",
        "metric-definitions",
    ]
    hyperparameters_required: bool = True
    runs: dict[str, FieldSpec] = {}
    """For metadata audits: field name (code_version, data_version, ...) -> evidence."""


class IdempotentOutputs(Strict):
    run_date_parameter: str = "ExecutionDate"
    run_date_format: str = r"^\d{4}-\d{2}-\d{2}$"
    partition_key: str = "dt"
    output_kinds: list[str] = ["processing", "transform", "training", "tuning", "automl"]
    extra_outputs: dict[str, list[str]] = {}
    """Step type -> JSON pointers (relative to the step's Arguments) of other outputs."""
    forbidden_variables: list[str] = [
        "Execution.PipelineExecutionId",
        "Execution.PipelineExecutionArn",
        "Execution.StartDateTime",
        "Execution.CurrentDateTime",
    ]
    volatile_patterns: list[str] = [
        r"(?<![0-9])(?:[0-9]{4}-)?[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}(?:-[0-9]{3})?(?![0-9])",
        r"(?<![0-9A-Za-z])1[5-9][0-9]{8}(?:[0-9]{3})?(?![0-9A-Za-z])",
    ]
    """Regexes on literal output text that changes per render (timestamps, epoch seconds)."""
    exempt_steps: list[str] = []
    """Step names or globs whose outputs need no run-date partition."""
    max_keys_per_prefix: int = Field(5000, ge=1)
    """Audits: keys and folders read per output base prefix; more is "not evaluated"."""

    _valid = field_validator("run_date_format")(_check_regex)

    @field_validator("volatile_patterns")
    @classmethod
    def _valid_patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            _check_regex(pattern)
        return value


class Threshold(Strict):
    metric: str
    direction: Direction
    value: float
    pipelines: str = "*"
    """Glob on the pipeline name this threshold applies to."""
    min_absolute_change: float | None = None
    min_relative_change: float | None = None
    """Baseline comparison with the previous production run, as MLflow's MetricThreshold."""
    steps: str = "*"
    """Glob on the display name (step) of the runs whose value counts for an execution;
    when several runs of one execution match, the one that started last."""


class ModelRegistry(Strict):
    """How audits judge approved model packages (ET104-ET107)."""

    groups: str = "*"
    """Glob on the model package group names that are read and judged."""
    evaluation_reports: list[str] = ["ModelQuality.Statistics"]
    """``ModelMetrics`` slots accepted as the evaluation report, ``Section.Slot``."""
    metric_paths: list[str] = [
        "metrics.{metric}.value",
        "regression_metrics.{metric}.value",
        "binary_classification_metrics.{metric}.value",
        "multiclass_classification_metrics.{metric}.value",
    ]
    """Where a threshold's metric is in a report (first match wins), ``{metric}`` its name."""
    allow_manual_registration: bool = False
    require_approval_description: bool = False


class Drift(Strict):
    window: int = Field(7, ge=1)
    tolerance: float = Field(0.1, ge=0)
    """Relative tolerance: worse than the window's median by more than this fraction."""


class EvaluationThresholds(Strict):
    thresholds: list[Threshold] = []
    promotion_step_types: list[str] = ["RegisterModel", "Model", "CreateModel", "Transform"]
    promotion_step_names: list[str] = []
    """Globs on step names that also count as promotion (e.g. ``Predict*``)."""
    require_fail_step: bool = True
    drift: Drift = Drift()
    model_registry: ModelRegistry = ModelRegistry()


class Security(Strict):
    secret_name_pattern: str = r"(?i)(password|passwd|secret|token|api[_-]?key|access[_-]?key)"
    allowed_secret_values: list[str] = []
    require_volume_kms_key: bool = False
    require_output_kms_key: bool = False
    require_network_isolation: bool = False
    require_inter_container_encryption: bool = False
    require_vpc: bool = False

    _valid = field_validator("secret_name_pattern")(_check_regex)


class Operations(Strict):
    production_pipelines: str = "*"
    require_schedule: bool = True
    require_failure_notification: bool = True
    recent_executions: int = Field(10, ge=1)


class Waiver(Strict):
    rule: str
    reason: str = Field(min_length=1)
    file: str | None = None
    pipeline: str | None = None
    step: str | None = None
    expires: dt.date | None = None

    @model_validator(mode="after")
    def _needs_target(self) -> Waiver:
        if not (self.file or self.pipeline or self.step):
            raise ValueError("a waiver needs at least one of file, pipeline, step")
        return self


class PythonModule(Strict):
    entry: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    kwargs: dict = {}
    path: str = "."


ENFORCEABLE = Literal[
    "select", "ignore", "per_path_ignores", "severity", "fail_on",
    "evaluation_thresholds.thresholds",
]  # fmt: skip


class Enforce(Strict):
    """What a central policy forbids the policies extending it to loosen (MG007)."""

    keys: list[ENFORCEABLE] = []
    """``select`` (with ``extend_select``), ``ignore``, ``per_path_ignores``: no rule this
    policy enables may be switched off; ``severity``: none lowered; ``fail_on``: not
    raised; ``evaluation_thresholds.thresholds``: every threshold kept, none laxer."""
    waivers_require_expiry: bool = False
    """Every waiver an extending policy adds has an ``expires`` date."""
    max_waiver_days: int | None = Field(None, ge=1)
    """Every waiver an extending policy adds expires within this many days of the run."""


class Policy(Strict):
    """The whole policy after ``extends`` has been merged."""

    version: Literal[1] = 1
    select: list[str] = ["ALL"]
    ignore: list[str] = []
    extend_select: list[str] = []
    severity: dict[str, Severity] = {}
    per_path_ignores: dict[str, list[str]] = {}
    fail_on: Severity = "error"
    rules_dirs: list[str] = []
    modules: list[PythonModule] = []
    waivers: list[Waiver] = []
    naming: Naming = Naming()
    recorded_fields: RecordedFields = RecordedFields()
    idempotent_outputs: IdempotentOutputs = IdempotentOutputs()
    evaluation_thresholds: EvaluationThresholds = EvaluationThresholds()
    security: Security = Security()
    operations: Operations = Operations()
    structure: dict = {}
    rules: dict[RuleId, dict] = {}
    """Rule id -> the section a rule declares with ``@rule(settings=...)``; its keys are
    validated against the declaration once the rules are loaded (see
    :mod:`mlops_guard.policy.rule_sections`)."""
    enforce: Enforce | None = None
