"""The reference daily train-and-predict pipeline, built with the SageMaker SDK v3.

``get_pipeline`` follows the signature convention of SageMaker Projects templates. The SDK is
imported inside the functions, so ``import mlops_guard.reference`` works without it.

Data flow (every output is a ``dt=<ExecutionDate>`` partition under ``OutputBaseUri``)::

    Extract -> PreProc -> Train -> TrainEvaluation -> CheckEvaluation
                                                       |-- if:   Predict -> PostProc
                                                       `-- else: EvaluationFailed
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"


def script(name: str) -> str:
    """The step script's path relative to the working directory.

    The SDK hashes the ``code=`` path string together with the content, so rendering
    from the package directory (as :mod:`render` does) gives ``scripts/<name>.py`` and a
    stable code hash; from anywhere else the path still resolves, so a team's renderer
    (``mlops-guard check --module ...``) works from its own working directory.
    """
    return os.path.relpath(SCRIPTS_DIR / f"{name}.py")


PIPELINE_NAME = "daily-demand-forecast"
DEFAULT_EXECUTION_DATE = "2026-11-22"
DEFAULT_INPUT_DATA_URI = "synthetic://subscription-applications"
DEFAULT_INSTANCE_TYPE = "ml.m5.large"
MAPE_THRESHOLD = 0.2

#: Placeholder digest of the reference image (build it from ``image/Dockerfile`` and pass the
#: digest your registry reports as ``image_uri=``). Pinned, so the definition is reproducible.
REFERENCE_IMAGE_REPOSITORY = "mlops-guard-reference"
REFERENCE_IMAGE_TAG = "1.0"
REFERENCE_IMAGE_DIGEST = "sha256:" + "5eed" * 16

#: Hyperparameters of the reference model (a scikit-learn GradientBoostingRegressor).
HYPERPARAMETERS: dict[str, Any] = {
    "n_estimators": 300,
    "max_depth": 3,
    "learning_rate": 0.05,
    "subsample": 1.0,
    "random_state": 42,
}

#: Regexes SageMaker applies to the training log (the train script prints these lines).
METRIC_DEFINITIONS = {
    "mape": r"train-metric mape=([0-9.eE+-]+)",
    "rmse": r"train-metric rmse=([0-9.eE+-]+)",
}

STEP_NAMES = (
    "Extract",
    "PreProc",
    "Train",
    "TrainEvaluation",
    "CheckEvaluation",
    "EvaluationFailed",
    "Predict",
    "PostProc",
)

#: ``<OutputBaseUri>/<prefix>/dt=<ExecutionDate>`` for every output of every step.
OUTPUT_PREFIXES = {
    ("Extract", "history"): "extract/history",
    ("PreProc", "train"): "preproc/train",
    ("PreProc", "holdout"): "preproc/holdout",
    ("PreProc", "inference"): "preproc/inference",
    ("Train", "model"): "train/model",
    ("TrainEvaluation", "evaluation"): "train-evaluation/evaluation",
    ("Predict", "predictions"): "predict/predictions",
    ("PostProc", "predictions"): "postproc/predictions",
}

_DIGEST_RE = re.compile(r"@sha256:[0-9a-f]{64}$")
_ROLE_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/.+$")

PROCESSING_ROOT = "/opt/ml/processing"


def reference_image_uri(region: str, account: str) -> str:
    """The reference image in the account's ECR, pinned by digest."""
    return (
        f"{account}.dkr.ecr.{region}.amazonaws.com/{REFERENCE_IMAGE_REPOSITORY}:"
        f"{REFERENCE_IMAGE_TAG}@{REFERENCE_IMAGE_DIGEST}"
    )


def _glue_name(pipeline_name: str) -> str:
    return pipeline_name.replace("-", "_")


def get_pipeline(
    region: str,
    role: str,
    default_bucket: str,
    pipeline_name: str = PIPELINE_NAME,
    *,
    base_prefix: str | None = None,
    image_uri: str | None = None,
    glue_database: str = "mlops_guard_reference",
    glue_table: str | None = None,
    sagemaker_session: Any = None,
    hyperparameters: dict[str, Any] | None = None,
):
    """Build the reference pipeline (a ``sagemaker.mlops.workflow.Pipeline``).

    ``role`` is the execution role ARN, ``default_bucket`` the bucket of the default
    ``OutputBaseUri`` (``s3://<default_bucket>/<base_prefix>``, prefix defaults to the pipeline
    name) and of the uploaded code. ``image_uri`` must be pinned by digest (default: the
    reference image in the role's account and ``region``). ``sagemaker_session`` defaults to a
    ``PipelineSession`` for ``default_bucket``.
    """
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )
    from sagemaker.core.training.configs import (
        Compute,
        InputData,
        MetricDefinition,
        OutputDataConfig,
    )
    from sagemaker.core.workflow.conditions import ConditionLessThanOrEqualTo
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow import (
        ConditionStep,
        FailStep,
        Pipeline,
        PipelineExperimentConfig,
        ProcessingStep,
        TrainingStep,
    )
    from sagemaker.train.model_trainer import ModelTrainer

    role_match = _ROLE_RE.match(role)
    if not role_match:
        raise ValueError(f"role must be an IAM role ARN, got {role!r}")
    image_uri = image_uri or reference_image_uri(region, role_match.group(1))
    if not _DIGEST_RE.search(image_uri):
        raise ValueError(f"image_uri must be pinned by digest (...@sha256:<64 hex>): {image_uri}")
    base_prefix = (base_prefix if base_prefix is not None else pipeline_name).strip("/")
    glue_table = glue_table or _glue_name(pipeline_name)
    session = sagemaker_session or PipelineSession(default_bucket=default_bucket)

    execution_date = ParameterString(name="ExecutionDate", default_value=DEFAULT_EXECUTION_DATE)
    input_data_uri = ParameterString(name="InputDataUri", default_value=DEFAULT_INPUT_DATA_URI)
    default_base = (
        f"s3://{default_bucket}/{base_prefix}" if base_prefix else f"s3://{default_bucket}"
    )
    output_base_uri = ParameterString(name="OutputBaseUri", default_value=default_base)
    processing_instance_type = ParameterString(
        name="ProcessingInstanceType", default_value=DEFAULT_INSTANCE_TYPE
    )
    training_instance_type = ParameterString(
        name="TrainingInstanceType", default_value=DEFAULT_INSTANCE_TYPE
    )

    def partition(step: str, output: str):
        """``<OutputBaseUri>/<step prefix>/<output>/dt=<ExecutionDate>``."""
        prefix = OUTPUT_PREFIXES[(step, output)]
        return Join(
            on="/", values=[output_base_uri, prefix, Join(on="", values=["dt=", execution_date])]
        )

    def processor():
        return ScriptProcessor(
            role=role,
            image_uri=image_uri,
            command=["python3"],
            instance_type=processing_instance_type,
            instance_count=1,
            sagemaker_session=session,
        )

    def s3_input(name: str, uri: Any, local_path: str):
        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(
                s3_uri=uri, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"
            ),
        )

    def s3_output(step: str, name: str, local_path: str):
        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=partition(step, name), local_path=local_path, s3_upload_mode="EndOfJob"
            ),
        )

    def output_uri(step, name: str):
        return step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri

    p = PROCESSING_ROOT
    extract = ProcessingStep(
        name="Extract",
        description="Pull the history of daily applications up to the run date.",
        step_args=processor().run(
            code=script("extract"),
            arguments=[
                "--execution-date", execution_date,
                "--source", input_data_uri,
                "--output-dir", f"{p}/output/history",
            ],
            outputs=[s3_output("Extract", "history", f"{p}/output/history")],
        ),
    )  # fmt: skip

    preproc = ProcessingStep(
        name="PreProc",
        description="Build lag, rolling-mean and calendar features; split train/holdout.",
        step_args=processor().run(
            code=script("preproc"),
            arguments=[
                "--execution-date", execution_date,
                "--input-dir", f"{p}/input/history",
                "--output-dir", f"{p}/output",
            ],
            inputs=[s3_input("history", output_uri(extract, "history"), f"{p}/input/history")],
            outputs=[
                s3_output("PreProc", "train", f"{p}/output/train"),
                s3_output("PreProc", "holdout", f"{p}/output/holdout"),
                s3_output("PreProc", "inference", f"{p}/output/inference"),
            ],
        ),
    )  # fmt: skip

    trainer = ModelTrainer(
        training_image=image_uri,
        role=role,
        sagemaker_session=session,
        base_job_name=f"{pipeline_name}-train",
        compute=Compute(instance_type=training_instance_type, instance_count=1),
        hyperparameters=dict(hyperparameters or HYPERPARAMETERS),
        output_data_config=OutputDataConfig(s3_output_path=partition("Train", "model")),
    ).with_metric_definitions(
        [MetricDefinition(name=name, regex=regex) for name, regex in METRIC_DEFINITIONS.items()]
    )
    train = TrainingStep(
        name="Train",
        description="Fit the scikit-learn regressor (code in the pinned image).",
        step_args=trainer.train(
            input_data_config=[
                InputData(channel_name="train", data_source=output_uri(preproc, "train"))
            ]
        ),
    )
    model_uri = train.properties.ModelArtifacts.S3ModelArtifacts

    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    evaluation = ProcessingStep(
        name="TrainEvaluation",
        description="Score the model on the holdout weeks: MAPE and RMSE.",
        property_files=[report],
        step_args=processor().run(
            code=script("evaluate"),
            arguments=[
                "--execution-date", execution_date,
                "--model-dir", f"{p}/input/model",
                "--holdout-dir", f"{p}/input/holdout",
                "--output-dir", f"{p}/output/evaluation",
            ],
            inputs=[
                s3_input("model", model_uri, f"{p}/input/model"),
                s3_input("holdout", output_uri(preproc, "holdout"), f"{p}/input/holdout"),
            ],
            outputs=[s3_output("TrainEvaluation", "evaluation", f"{p}/output/evaluation")],
        ),
    )  # fmt: skip

    predict = ProcessingStep(
        name="Predict",
        description="Forecast the applications of the run date.",
        step_args=processor().run(
            code=script("predict"),
            arguments=[
                "--execution-date", execution_date,
                "--model-dir", f"{p}/input/model",
                "--inference-dir", f"{p}/input/inference",
                "--output-dir", f"{p}/output/predictions",
            ],
            inputs=[
                s3_input("model", model_uri, f"{p}/input/model"),
                s3_input("inference", output_uri(preproc, "inference"), f"{p}/input/inference"),
            ],
            outputs=[s3_output("Predict", "predictions", f"{p}/output/predictions")],
        ),
    )  # fmt: skip

    postproc = ProcessingStep(
        name="PostProc",
        description="Publish the forecast as a Parquet partition and register it in Glue.",
        depends_on=[predict],
        step_args=processor().run(
            code=script("postproc"),
            arguments=[
                "--execution-date", execution_date,
                "--input-dir", f"{p}/input/predictions",
                "--output-dir", f"{p}/output/predictions",
                "--partition-uri", partition("PostProc", "predictions"),
                "--glue-database", glue_database,
                "--glue-table", glue_table,
            ],
            inputs=[
                s3_input(
                    "predictions", output_uri(predict, "predictions"), f"{p}/input/predictions"
                )
            ],
            outputs=[s3_output("PostProc", "predictions", f"{p}/output/predictions")],
        ),
    )  # fmt: skip

    mape = JsonGet(step_name=evaluation.name, property_file=report, json_path="metrics.mape.value")
    check = ConditionStep(
        name="CheckEvaluation",
        description=f"Publish only if the holdout MAPE is at most {MAPE_THRESHOLD}.",
        conditions=[ConditionLessThanOrEqualTo(left=mape, right=MAPE_THRESHOLD)],
        if_steps=[predict, postproc],
        else_steps=[
            FailStep(
                name="EvaluationFailed",
                error_message=Join(
                    on=" ",
                    values=[
                        "The model trained for",
                        execution_date,
                        "failed CheckEvaluation (holdout MAPE above the threshold):",
                        "no forecast is published.",
                    ],
                ),
            )
        ],
    )

    return Pipeline(
        name=pipeline_name,
        parameters=[
            execution_date,
            input_data_uri,
            output_base_uri,
            processing_instance_type,
            training_instance_type,
        ],
        steps=[extract, preproc, train, evaluation, check],
        pipeline_experiment_config=PipelineExperimentConfig(
            ExecutionVariables.PIPELINE_NAME, ExecutionVariables.PIPELINE_EXECUTION_ID
        ),
        sagemaker_session=session,
    )
