"""Precision on the shapes real pipelines have: SDK code uploads, ``@step`` functions,
notebook jobs, Lambda promotions, holdout scoring, debugger rule images.

Each case is a minimal mutation of the reference (or a step shaped like the one the SDK
renders, added to it), checked twice: the false finding is gone, and the rule still fires
on a true violation next to it.
"""

from __future__ import annotations

import copy

import pytest

from tests.rules.conftest import find_step, step_index

BUCKET = "s3://mlops-guard-reference-123456789012"
SHA256 = "48caf0ca931b8eb6b038a3140919eb3381cdb4807eca7cf93512530e1deafed0"
MD5 = "10162a72a70ea73cfc521c8d9a940a1e"
STAMP = "2026-11-23-07-23-38-642"
DIGEST = "@sha256:" + "ab" * 32
EXTRACT_CODE = "/Steps/0/Arguments/ProcessingInputs/0/S3Input/S3Uri"


def _extract_code(definition: dict) -> dict:
    return find_step(definition, "Extract")["Arguments"]["ProcessingInputs"][0]["S3Input"]


def _messages(findings, rule: str) -> list[str]:
    return [f.message for f in findings if f.rule == rule]


def function_step(
    name: str, display: str, arguments: list | None = None, base: str = BUCKET + "/forecast"
) -> dict:
    """A Training step as SDK v3 renders an ``@step`` function (cpt-gha-abalone)."""
    return {
        "Name": name,
        "Type": "Training",
        "DisplayName": display,
        "Arguments": {
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerPipelines",
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
            "InputDataConfig": [
                {
                    "ChannelName": "sagemaker_remote_function_bootstrap",
                    "DataSource": {
                        "S3DataSource": {
                            "S3Uri": f"{base}/sagemaker_remote_function_bootstrap",
                            "S3DataType": "S3Prefix",
                        }
                    },
                },
                {
                    "ChannelName": "sm_rf_user_ws",
                    "DataSource": {
                        "S3DataSource": {
                            "S3Uri": f"{base}/{name}/{STAMP}/sm_rf_user_ws/workspace.zip",
                            "S3DataType": "S3Prefix",
                        }
                    },
                },
            ],
            "OutputDataConfig": {
                "S3OutputPath": {
                    "Std:Join": {
                        "On": "/",
                        "Values": [
                            base,
                            name,
                            STAMP,
                            {"Get": "Execution.PipelineExecutionId"},
                            "results",
                        ],
                    }
                }
            },
            "AlgorithmSpecification": {
                "TrainingImage": "081325390199.dkr.ecr.us-east-1.amazonaws.com/base:1.0" + DIGEST,
                "TrainingInputMode": "File",
                "ContainerEntrypoint": [
                    "/bin/bash",
                    "/opt/ml/input/data/sagemaker_remote_function_bootstrap/job_driver.sh",
                ],
                "ContainerArguments": [
                    "--s3_base_uri",
                    base,
                    "--pipeline_step_name",
                    name,
                    "--func_step_s3_dir",
                    STAMP,
                    *(arguments or []),
                ],
            },
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
        },
        "DependsOn": ["Train"],
    }


def notebook_step(name: str, parameters: dict | None = None) -> dict:
    """A Training step as the SDK renders a ``NotebookJobStep``."""
    arguments = {
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerPipelines",
        "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/nb:1" + DIGEST,
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["amazon_sagemaker_scheduler"],
        },
        "InputDataConfig": [
            {
                "ChannelName": "sagemaker_headless_execution_pipelinestep",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"{BUCKET}/forecast/{name}/input-{STAMP}",
                    }
                },
            }
        ],
        "OutputDataConfig": {
            "S3OutputPath": {
                "Std:Join": {
                    "On": "/",
                    "Values": [
                        BUCKET,
                        "forecast",
                        {"Get": "Execution.PipelineExecutionId"},
                        name,
                    ],
                }
            }
        },
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
        "Environment": {"SM_INPUT_NOTEBOOK_NAME": "report.ipynb"},
    }
    if parameters:
        arguments["HyperParameters"] = parameters
    return {"Name": name, "Type": "Training", "Arguments": arguments, "DependsOn": ["Train"]}


def lambda_step(name: str, function: str, depends_on: str = "TrainEvaluation") -> dict:
    return {
        "Name": name,
        "Type": "Lambda",
        "FunctionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{function}",
        "OutputParameters": [{"OutputName": "status", "OutputType": "String"}],
        "Arguments": {"model_name": "forecast"},
        "DependsOn": [depends_on],
    }


def gated(definition: dict, step: dict) -> None:
    """Put ``step`` in the reference gate's promotion branch."""
    find_step(definition, "CheckEvaluation")["Arguments"]["IfSteps"].append(step)


# -- RF004: code keys ------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        f"Extract-{SHA256}/input/code/extract.py",  # ProcessingStep(processor=, code=)
        f"Extract-{MD5}/input/code/extract.py",  # older SDKs hash with MD5
        f"forecast/code/{SHA256}/extract.py",  # a pipeline session's code upload
    ],
)
def test_content_hashed_code_keys_are_versions(reference, check, key):
    _extract_code(reference)["S3Uri"] = f"{BUCKET}/{key}"
    assert check(reference, select=["RF004"]) == []


def test_estimator_sourcedir_under_a_hashed_key_is_a_version(reference, check):
    train = find_step(reference, "Train")["Arguments"]
    train["HyperParameters"]["sagemaker_submit_directory"] = (
        f"{BUCKET}/Train-{SHA256}/source/sourcedir.tar.gz"
    )
    assert check(reference, select=["RF004"]) == []
    train["HyperParameters"]["sagemaker_submit_directory"] = (
        f"{BUCKET}/forecast-train/source/sourcedir.tar.gz"
    )
    findings = check(reference, select=["RF004"])
    assert [f.location.pointer for f in findings] == [
        "/Steps/2/Arguments/HyperParameters/sagemaker_submit_directory"
    ]


def test_render_timestamped_code_key_is_reported_truthfully(reference, check):
    _extract_code(reference)["S3Uri"] = f"{BUCKET}/script-extract-{STAMP}/input/code/extract.py"
    findings = check(reference, select=["RF004"])
    assert [f.location.pointer for f in findings] == [EXTRACT_CODE]
    message = findings[0].message
    assert f"keyed by the time the definition was rendered ({STAMP})" in message
    assert "never overwritten" in message and "overwrites" not in message


def test_fixed_code_path_is_overwritten_by_the_next_upload(reference, check):
    _extract_code(reference)["S3Uri"] = f"{BUCKET}/forecast/scripts/extract.py"
    findings = check(reference, select=["RF004"])
    assert [f.location.pointer for f in findings] == [EXTRACT_CODE]
    assert "the next upload to that path overwrites the code" in findings[0].message


def test_submit_directory_environment_is_a_code_location(reference, check):
    train = find_step(reference, "Train")["Arguments"]
    train["Environment"] = {"SAGEMAKER_SUBMIT_DIRECTORY": f"{BUCKET}/forecast/src/sourcedir.tar.gz"}
    findings = check(reference, select=["RF004"])
    assert [f.location.pointer for f in findings] == [
        "/Steps/2/Arguments/Environment/SAGEMAKER_SUBMIT_DIRECTORY"
    ]
    train["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] = (
        f"{BUCKET}/Train-{SHA256}/source/sourcedir.tar.gz"
    )
    assert check(reference, select=["RF004"]) == []
    # A path inside the container is no download: the image digest stays the evidence.
    train["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] = "/opt/ml/model/code"
    assert check(reference, select=["RF004"]) == []


def test_model_container_submit_directory_is_judged(reference, check):
    container = {
        "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/sklearn:1" + DIGEST,
        "Environment": {"SAGEMAKER_SUBMIT_DIRECTORY": f"{BUCKET}/sklearn-{STAMP}/sourcedir.tar.gz"},
    }
    gated(
        reference,
        {
            "Name": "RegisterForecast",
            "Type": "RegisterModel",
            "Arguments": {"InferenceSpecification": {"Containers": [container]}},
        },
    )
    findings = check(reference, select=["RF004"])
    assert [f.location.pointer for f in findings] == [
        "/Steps/4/Arguments/IfSteps/2/Arguments/InferenceSpecification/Containers/0"
        "/Environment/SAGEMAKER_SUBMIT_DIRECTORY"
    ]
    assert "rendered" in findings[0].message


# -- RF005: what is code ---------------------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    ["source/sourcedir.tar.gz", "deps/requirements.txt", "scripts/helpers.py", "run.sh"],
)
def test_code_objects_under_other_input_names_are_not_data(reference, check, obj):
    inputs = find_step(reference, "Extract")["Arguments"]["ProcessingInputs"]
    code = copy.deepcopy(inputs[0])
    code["InputName"] = "dependencies"
    code["S3Input"]["LocalPath"] = "/opt/ml/processing/input/deps"
    code["S3Input"]["S3Uri"] = f"{BUCKET}/Extract-{SHA256}/{obj}"
    inputs.append(code)
    assert check(reference, select=["RF004", "RF005"]) == []
    # The same input naming data is still asked for a version.
    code["S3Input"]["S3Uri"] = f"{BUCKET}/raw/sales/"
    findings = check(reference, select=["RF004", "RF005"])
    assert [f.rule for f in findings] == ["RF005"]
    assert "input 'dependencies' of step 'Extract'" in findings[0].message


# -- RF003: debugger and profiler rule images ------------------------------------------


@pytest.mark.parametrize("key", ["DebugRuleConfigurations", "ProfilerRuleConfigurations"])
def test_rule_evaluator_images_are_pinned(reference, check, key):
    image = "503895931360.dkr.ecr.us-east-1.amazonaws.com/sagemaker-debugger-rules"
    train = find_step(reference, "Train")["Arguments"]
    train[key] = [{"RuleConfigurationName": "Report", "RuleEvaluatorImage": f"{image}:latest"}]
    findings = check(reference, select=["RF003", "RF004"])
    assert [(f.rule, f.location.pointer) for f in findings] == [
        ("RF003", f"/Steps/2/Arguments/{key}/0/RuleEvaluatorImage")
    ]
    train[key][0]["RuleEvaluatorImage"] = f"{image}:latest{DIGEST}"
    assert check(reference, select=["RF003", "RF004"]) == []


# -- @step functions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "display"),
    [
        ("PrepareFeatures", "pipelines.forecast.steps.processing.preprocess"),
        ("EvaluateForecast", "pipelines.forecast.steps.evaluate.evaluate"),
        ("cleanup", "steps.cleanup.cleanup"),
    ],
)
def test_function_steps_that_train_nothing_need_no_hyperparameters(reference, check, name, display):
    reference["Steps"].append(function_step(name, display))
    assert [f for f in check(reference, select=["RF002"])] == []


def test_training_function_step_records_pipeline_parameters(reference, check):
    step = function_step("TrainForecast", "pipelines.forecast.steps.train.train")
    reference["Steps"].append(step)
    findings = check(reference, select=["RF002"])
    assert [f.location.pointer for f in findings] == ["/Steps/5/Arguments"]
    assert "an @step function that trains" in findings[0].message
    step["Arguments"]["AlgorithmSpecification"]["ContainerArguments"] += [
        "--property_references",
        "Parameters.TrainingInstanceType",
        {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.TrainingInstanceType"}]}},
    ]
    assert check(reference, select=["RF002"]) == []


def test_function_workspace_is_code_and_its_results_are_handoffs(reference, check):
    reference["Steps"].append(function_step("EvaluateForecast", "steps.evaluate.evaluate"))
    findings = check(reference, select=["RF005", "IO002", "IO003", "RF004"])
    # The workspace archive is no data input; the results under the execution id are no
    # data output; the function's directory is keyed by the render time (RF004, true).
    assert [(f.rule, f.location.pointer) for f in findings] == [
        ("RF004", "/Steps/5/Arguments/AlgorithmSpecification/ContainerArguments/5")
    ]
    assert "rendered" in findings[0].message


def test_function_output_the_author_chose_is_judged(reference, check):
    step = function_step("EvaluateForecast", "steps.evaluate.evaluate")
    step["Arguments"]["OutputDataConfig"]["S3OutputPath"] = f"{BUCKET}/forecast/evaluation"
    reference["Steps"].append(step)
    findings = check(reference, select=["IO002"])
    assert [f.location.pointer for f in findings] == [
        "/Steps/5/Arguments/OutputDataConfig/S3OutputPath"
    ]


def test_a_function_or_notebook_that_only_writes_handoffs_needs_no_run_date(reference, check):
    """IO001 asks for a run-date parameter only where there is a data output to partition."""
    definition = {
        "Version": "2020-12-01",
        "Parameters": [],
        "Steps": [
            function_step("EvaluateForecast", "steps.evaluate.evaluate"),
            notebook_step("WeeklyReport"),
        ],
    }
    for step in definition["Steps"]:
        step.pop("DependsOn")
    assert check(definition, select=["IO"]) == []
    del reference["Parameters"][0]  # ExecutionDate: the reference writes data outputs
    assert [f.rule for f in check(reference, select=["IO001"])] == ["IO001"]


# -- notebook jobs ---------------------------------------------------------------------


def test_notebook_staging_input_is_code(reference, check):
    reference["Steps"].append(notebook_step("WeeklyReport"))
    findings = check(reference, select=["RF002", "RF004", "RF005", "IO002", "IO003"])
    assert [(f.rule, f.location.pointer) for f in findings] == [
        (
            "RF004",
            "/Steps/5/Arguments/InputDataConfig/0/DataSource/S3DataSource/S3Uri",
        )
    ]


def test_training_notebook_records_its_parameters(reference, check):
    reference["Steps"].append(notebook_step("TrainBaseline"))
    findings = check(reference, select=["RF002"])
    assert [f.location.pointer for f in findings] == ["/Steps/5/Arguments"]
    assert "a notebook job that trains" in findings[0].message
    reference["Steps"][5] = notebook_step("TrainBaseline", {"max_depth": "6"})
    assert check(reference, select=["RF002"]) == []


# -- RF006: metrics a gate reads -------------------------------------------------------


def _without_declared_metrics(definition: dict) -> None:
    del find_step(definition, "TrainEvaluation")["PropertyFiles"]
    del find_step(definition, "Train")["Arguments"]["AlgorithmSpecification"]["MetricDefinitions"]


@pytest.mark.parametrize(
    "metric",
    [
        {"Get": "Steps.ScoreLambda.OutputParameters['mape']"},
        {
            "Std:JsonGet": {
                "S3Uri": {
                    "Std:Join": {
                        "On": "/",
                        "Values": [
                            {"Get": "Steps.EvaluateForecast.OutputDataConfig.S3OutputPath"},
                            "results.json",
                        ],
                    }
                },
                "Path": "Result['mape']",
            }
        },
        {"Get": "Steps.ModelQuality.CalculatedBaselineStatistics"},
    ],
    ids=["lambda", "step-function", "quality-check"],
)
def test_metrics_a_gate_reads_from_a_step_are_declared(reference, check, metric):
    _without_declared_metrics(reference)
    assert [f.rule for f in check(reference, select=["RF006"])] == ["RF006"]
    condition = find_step(reference, "CheckEvaluation")["Arguments"]["Conditions"][0]
    condition["LeftValue"] = metric
    assert check(reference, select=["RF006"]) == []


def test_function_steps_that_train_nothing_need_no_metrics(check):
    definition = {
        "Version": "2020-12-01",
        "Parameters": [],
        "Steps": [function_step("PrepareFeatures", "steps.processing.preprocess")],
    }
    definition["Steps"][0].pop("DependsOn")
    assert check(definition, select=["RF006"]) == []
    definition["Steps"].append(function_step("TrainForecast", "steps.train.train"))
    definition["Steps"][1].pop("DependsOn")
    assert [f.rule for f in check(definition, select=["RF006"])] == ["RF006"]


# -- ET001: what promotes --------------------------------------------------------------


def _holdout_scoring(definition: dict) -> None:
    """A Model and a Transform that score the holdout before TrainEvaluation."""
    steps = definition["Steps"]
    model = {
        "Name": "HoldoutModel",
        "Type": "Model",
        "Arguments": {
            "PrimaryContainer": {
                "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1" + DIGEST,
                "ModelDataUrl": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"},
            }
        },
    }
    transform = {
        "Name": "HoldoutScore",
        "Type": "Transform",
        "Arguments": {
            "ModelName": {"Get": "Steps.HoldoutModel.ModelName"},
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": {
                            "Get": "Steps.PreProc.ProcessingOutputConfig.Outputs['test']"
                            ".S3Output.S3Uri"
                        },
                    }
                }
            },
            "TransformOutput": {"S3OutputPath": f"{BUCKET}/forecast/holdout"},
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        },
    }
    steps[3:3] = [model, transform]
    find_step(definition, "TrainEvaluation").setdefault("DependsOn", []).append("HoldoutScore")


def test_holdout_scoring_before_the_gate_is_evaluation(reference, check):
    _holdout_scoring(reference)
    assert check(reference, select=["ET001"]) == []
    # The same transform, no longer feeding the evaluation, promotes the model ungated.
    find_step(reference, "TrainEvaluation")["DependsOn"].remove("HoldoutScore")
    findings = check(reference, select=["ET001"])
    assert sorted(f.subject for f in findings) == ["HoldoutModel", "HoldoutScore"]


@pytest.mark.parametrize(
    ("name", "function"),
    [
        ("deploy-endpoint", "forecast-endpoint"),  # lower-case name: globs ignore case
        ("LambdaStep", "sagemaker-lambda-step-endpoint-deploy"),  # the function says it
        ("ApproveForecastModel", "update-package"),
    ],
)
def test_lambda_that_deploys_or_approves_is_a_promotion(reference, check, name, function):
    reference["Steps"].append(lambda_step(name, function))
    findings = check(reference, select=["ET001"])
    assert [f.subject for f in findings] == [name]
    assert "(Lambda) is in no condition step's branch" in findings[0].message
    # Behind the gate it is fine.
    reference["Steps"].pop()
    gated(reference, lambda_step(name, function, depends_on="Predict"))
    assert check(reference, select=["ET001"]) == []


def test_lambda_that_reads_the_approved_model_is_no_promotion(reference, check):
    reference["Steps"].append(lambda_step("LambdaStep", "sagemaker-lambda-latest-approved-model"))
    assert check(reference, select=["ET001"]) == []


def test_function_step_that_registers_is_a_promotion(reference, check):
    register = function_step("RegisterForecastModel", "pipelines.forecast.steps.register.register")
    reference["Steps"].append(register)
    findings = check(reference, select=["ET001"])
    assert [f.subject for f in findings] == ["RegisterForecastModel"]
    reference["Steps"].pop()
    gated(reference, register)
    assert check(reference, select=["ET001"]) == []


def test_promotion_names_ignore_case(reference, check):
    predict_steps, index = step_index(reference, "Predict")
    predict = predict_steps.pop(index)
    predict["Name"] = "predict_daily"
    reference["Steps"].append(predict)
    findings = check(reference, select=["ET001"])
    assert [f.subject for f in findings] == ["predict_daily"]


def test_batch_inference_of_a_model_trained_elsewhere_is_no_promotion(check):
    transform = {
        "Name": "BatchInference",
        "Type": "Transform",
        "Arguments": {
            "ModelName": {"Get": "Parameters.ModelName"},
            "TransformInput": {"DataSource": {"S3DataSource": {"S3Uri": "s3://b/in/"}}},
            "TransformOutput": {"S3OutputPath": "s3://b/out/"},
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        },
    }
    definition = {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "ModelName", "Type": "String", "DefaultValue": "forecast"}],
        "Steps": [transform],
    }
    assert check(definition, select=["ET001"]) == []
    # A pipeline that trains the model it transforms must gate the transform.
    definition["Steps"].insert(0, function_step("TrainForecast", "steps.train.train"))
    definition["Steps"][0].pop("DependsOn")
    assert [f.subject for f in check(definition, select=["ET001"])] == ["BatchInference"]


# -- one step kind for every rule ------------------------------------------------------


def _by_entry_point_only(step: dict) -> dict:
    """An ``@step`` function known only by its job driver in the entry point (its
    bootstrap channel renamed away)."""
    channels = step["Arguments"]["InputDataConfig"]
    channels[0]["ChannelName"] = "bootstrap"
    return step


def test_a_function_known_by_its_entry_point_is_one_for_every_rule(check):
    register = _by_entry_point_only(
        function_step("RegisterForecastModel", "pipelines.forecast.steps.register.register")
    )
    register.pop("DependsOn")
    definition = {"Version": "2020-12-01", "Parameters": [], "Steps": [register]}
    # ET001: a function that registers is a promotion; RF002: it trains nothing, so it
    # needs no hyperparameters; RF006: a pipeline of it trains nothing, so needs no metrics.
    findings = check(definition, select=["ET001", "RF002", "RF006"])
    assert [(f.rule, f.subject) for f in findings] == [("ET001", "RegisterForecastModel")]
    # IO003: its results under the execution id are the SDK's hand-off, not a data output.
    assert check(definition, select=["IO003"]) == []
