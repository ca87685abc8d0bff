"""Recorded-fields rules: each fires on one minimal mutation of the reference."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.corpus import CORPUS, SKIP_REASON
from tests.rules.conftest import batch_transform_step, builtin_rules, find_step, rule_ids

DIGEST = "sha256:" + "ab" * 32
REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-guard-reference"


def recorded_fields_module():
    rule = next(rule for rule in builtin_rules() if rule.id == "RF003")
    return sys.modules[rule.function.__module__]


def test_reference_is_clean(reference, check):
    assert check(reference, select=["RF"]) == []


# -- RF001 experiment config ------------------------------------------------------------


def test_experiment_config_disabled(reference, check):
    reference["PipelineExperimentConfig"] = None
    findings = check(reference, select=["RF"])
    assert [f.rule for f in findings] == ["RF001"]
    assert "PipelineExperimentConfig is" in findings[0].message
    assert findings[0].location.pointer == "/PipelineExperimentConfig"


def test_experiment_config_absent(reference, check):
    del reference["PipelineExperimentConfig"]
    findings = check(reference, select=["RF"])
    assert [f.rule for f in findings] == ["RF001"]
    assert "no PipelineExperimentConfig" in findings[0].message
    assert findings[0].location.pointer == ""


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("ExperimentName", "demand-forecast", "the literal 'demand-forecast'"),
        ("TrialName", {"Get": "Execution.PipelineName"}, "{Execution.PipelineName}"),
        ("TrialName", {"Get": "Parameters.ExecutionDate"}, "{Parameters.ExecutionDate}"),
    ],
)
def test_experiment_names_from_other_sources(reference, check, field, value, shown):
    reference["PipelineExperimentConfig"][field] = value
    findings = check(reference, select=["RF"])
    assert [f.rule for f in findings] == ["RF001"]
    assert f"{field} is {shown}" in findings[0].message
    assert findings[0].location.pointer == f"/PipelineExperimentConfig/{field}"


def test_experiment_config_not_required(reference, check):
    reference["PipelineExperimentConfig"] = None
    policy = {"recorded_fields": {"require_experiment_config": False}}
    assert check(reference, select=["RF"], policy=policy) == []


def test_experiment_source_is_the_policys(reference, check):
    reference["PipelineExperimentConfig"]["TrialName"] = {"Get": "Parameters.ExecutionDate"}
    policy = {"recorded_fields": {"trial_name_source": ["Parameters.ExecutionDate"]}}
    assert check(reference, select=["RF"], policy=policy) == []


# -- RF002 hyperparameters --------------------------------------------------------------


def test_training_without_hyperparameters(reference, check):
    del find_step(reference, "Train")["Arguments"]["HyperParameters"]
    findings = check(reference, select=["RF"])
    assert [f.rule for f in findings] == ["RF002"]
    assert "'Train' has no HyperParameters" in findings[0].message
    assert findings[0].location.pointer == "/Steps/2/Arguments"


def test_training_with_only_sdk_hyperparameters(reference, check):
    find_step(reference, "Train")["Arguments"]["HyperParameters"] = {
        "sagemaker_program": '"train.py"',
        "sagemaker_submit_directory": '"s3://b/code/' + "0" * 64 + '/sourcedir.tar.gz"',
    }
    findings = check(reference, select=["RF002"])
    assert [f.rule for f in findings] == ["RF002"]
    assert "only the SDK's own keys" in findings[0].message
    assert findings[0].location.pointer == "/Steps/2/Arguments/HyperParameters"


def test_hyperparameters_not_required(reference, check):
    del find_step(reference, "Train")["Arguments"]["HyperParameters"]
    policy = {"recorded_fields": {"hyperparameters_required": False}}
    assert check(reference, select=["RF"], policy=policy) == []


def _as_tuning(reference, static):
    train = find_step(reference, "Train")
    job = dict(train["Arguments"])
    job.pop("HyperParameters")
    job["StaticHyperParameters"] = static
    train["Type"] = "Tuning"
    train["Arguments"] = {
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "mape"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
        },
        "TrainingJobDefinition": job,
    }


def test_tuning_without_static_hyperparameters(reference, check):
    _as_tuning(reference, {})
    findings = check(reference, select=["RF002"])
    assert [f.rule for f in findings] == ["RF002"]
    assert "tuning step 'Train'" in findings[0].message
    assert findings[0].location.pointer == (
        "/Steps/2/Arguments/TrainingJobDefinition/StaticHyperParameters"
    )


def test_tuning_with_ranges_records_hyperparameters(reference, check):
    _as_tuning(reference, {})
    job = find_step(reference, "Train")["Arguments"]["TrainingJobDefinition"]
    job["HyperParameterRanges"] = {
        "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "8"}]
    }
    assert check(reference, select=["RF002"]) == []


# -- RF003 image pinning ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "mode", "expected"),
    [
        (f"{REPO}:1.0", "digest", "not pinned by digest (@sha256:<64 hex>; it has tag '1.0')"),
        (REPO, "digest", "no tag, so it pulls 'latest'"),
        (f"{REPO}:1.0@sha256:{'ab' * 31}", "digest", "not pinned by digest"),
        (f"{REPO}:latest", "tag", "mutable tag 'latest'"),
        (REPO, "tag", "has no tag"),
        ("localhost:5000/team/image", "tag", "has no tag"),
    ],
)
def test_unpinned_image(reference, check, image, mode, expected):
    spec = find_step(reference, "Train")["Arguments"]["AlgorithmSpecification"]
    spec["TrainingImage"] = image
    policy = {"recorded_fields": {"image_pinning": mode}}
    findings = [f for f in check(reference, select=["RF"], policy=policy) if f.rule == "RF003"]
    assert len(findings) == 1
    assert expected in findings[0].message
    assert repr(image) in findings[0].message
    assert findings[0].location.pointer == "/Steps/2/Arguments/AlgorithmSpecification/TrainingImage"


@pytest.mark.parametrize(
    ("image", "mode"),
    [
        (f"{REPO}:1.0", "tag"),
        (f"{REPO}@{DIGEST}", "tag"),
        (f"{REPO}@{DIGEST}", "digest"),
        (f"{REPO}:latest", "off"),
    ],
)
def test_pinned_enough_image(reference, check, image, mode):
    find_step(reference, "Predict")["Arguments"]["AppSpecification"]["ImageUri"] = image
    policy = {"recorded_fields": {"image_pinning": mode}}
    assert "RF003" not in rule_ids(check(reference, select=["RF"], policy=policy))


def test_image_from_parameter_is_judged_by_its_default(reference, check):
    reference["Parameters"].append({"Name": "ImageUri", "Type": "String", "DefaultValue": REPO})
    spec = find_step(reference, "Predict")["Arguments"]["AppSpecification"]
    spec["ImageUri"] = {"Get": "Parameters.ImageUri"}
    findings = [f for f in check(reference, select=["RF"]) if f.rule == "RF003"]
    assert len(findings) == 1
    assert "default of parameter ImageUri" in findings[0].message
    assert "override" in findings[0].message
    assert findings[0].location.pointer == (
        "/Steps/4/Arguments/IfSteps/0/Arguments/AppSpecification/ImageUri"
    )


def test_model_container_images_are_checked(reference, check):
    reference["Steps"].append(
        {
            "Name": "CreateModel",
            "Type": "Model",
            "Arguments": {
                "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r",
                "PrimaryContainer": {
                    "Image": f"{REPO}:1.0",
                    "ModelDataUrl": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"},
                },
            },
        }
    )
    findings = check(reference, select=["RF003"])
    assert [f.location.pointer for f in findings] == ["/Steps/5/Arguments/PrimaryContainer/Image"]


# -- RF004 code version -----------------------------------------------------------------


def test_code_uri_without_hash(reference, check):
    code = find_step(reference, "Extract")["Arguments"]["ProcessingInputs"][0]["S3Input"]
    code["S3Uri"] = "s3://mlops-guard-reference-123456789012/daily-demand-forecast/code/extract.py"
    findings = check(reference, select=["RF"])
    assert [f.rule for f in findings] == ["RF004"]
    assert "'Extract' runs code from 's3://" in findings[0].message
    assert "no content hash" in findings[0].message
    assert findings[0].location.pointer == "/Steps/0/Arguments/ProcessingInputs/0/S3Input/S3Uri"


@pytest.mark.parametrize(
    "uri",
    [
        "s3://b/code/" + "0123456789abcdef" * 2 + "/extract.py",
        "s3://b/code/extract.py?versionId=3sL4kqtJlcpXroDTDmJ",
        "s3://b/code/v12/extract.py",
    ],
)
def test_code_uri_versions_accepted(reference, check, uri):
    code = find_step(reference, "Extract")["Arguments"]["ProcessingInputs"][0]["S3Input"]
    code["S3Uri"] = uri
    assert check(reference, select=["RF004"]) == []


def test_image_code_without_digest(reference, check):
    spec = find_step(reference, "Train")["Arguments"]["AlgorithmSpecification"]
    spec["TrainingImage"] = f"{REPO}:1.0"
    findings = check(reference, select=["RF004"])
    assert [f.rule for f in findings] == ["RF004"]
    assert "'Train' runs the code in its image" in findings[0].message
    assert "GitCommit" in findings[0].message
    assert findings[0].location.pointer == "/Steps/2/Arguments/AlgorithmSpecification/TrainingImage"


def test_code_version_parameter_is_accepted(reference, check):
    reference["Parameters"].append({"Name": "GitCommit", "Type": "String", "DefaultValue": "abc"})
    train = find_step(reference, "Train")["Arguments"]
    train["AlgorithmSpecification"]["TrainingImage"] = f"{REPO}:1.0"
    train["Environment"] = {"GIT_COMMIT": {"Get": "Parameters.GitCommit"}}
    assert check(reference, select=["RF004"]) == []


def test_image_digest_not_accepted_by_policy(reference, check):
    policy = {"recorded_fields": {"code_version": ["code-uri-hash"]}}
    findings = check(reference, select=["RF004"], policy=policy)
    assert [f.subject for f in findings] == ["Train"]
    assert "does not accept an image digest" in findings[0].message


def test_remote_function_code_dir(reference, check):
    spec = find_step(reference, "Train")["Arguments"]["AlgorithmSpecification"]
    spec["ContainerArguments"] = [
        "--s3_base_uri", "s3://b/daily-demand-forecast",
        "--pipeline_step_name", "Train",
        "--func_step_s3_dir", "2026-11-23-07-23-38-642",
    ]  # fmt: skip
    findings = check(reference, select=["RF004"])
    assert [f.rule for f in findings] == ["RF004"]
    assert "s3://b/daily-demand-forecast/Train/2026-11-23-07-23-38-642" in findings[0].message
    assert findings[0].location.pointer.endswith("/AlgorithmSpecification/ContainerArguments/5")


# -- RF005 data version -----------------------------------------------------------------


def _train_channel(reference):
    return find_step(reference, "Train")["Arguments"]["InputDataConfig"][0]["DataSource"][
        "S3DataSource"
    ]


def test_unversioned_training_input(reference, check):
    _train_channel(reference)["S3Uri"] = "s3://bucket/features/train/"
    findings = check(reference, select=["RF"])
    assert [f.rule for f in findings] == ["RF005"]
    assert "input 'train' of step 'Train' reads s3://bucket/features/train/" in findings[0].message
    assert findings[0].location.pointer == (
        "/Steps/2/Arguments/InputDataConfig/0/DataSource/S3DataSource/S3Uri"
    )


def test_parameter_input_shows_its_default(reference, check):
    _train_channel(reference)["S3Uri"] = {"Get": "Parameters.InputDataUri"}
    findings = check(reference, select=["RF005"])
    assert [f.rule for f in findings] == ["RF005"]
    assert "{Parameters.InputDataUri} (default 'synthetic://" in findings[0].message
    policy = {"recorded_fields": {"data_version": ["step-output", "parameter"]}}
    assert check(reference, select=["RF005"], policy=policy) == []


@pytest.mark.parametrize(
    "uri",
    [
        "s3://bucket/features/dt=2026-11-22/",
        {"Std:Join": {"On": "/", "Values": ["s3://b/in", {"Get": "Parameters.ExecutionDate"}]}},
        "s3://bucket/features/train.csv?versionId=abc",
        "s3://bucket/features/v3/train/",
        {"Std:Join": {"On": "/", "Values": [{"Get": "Steps.PreProc.X"}, "train.csv"]}},
    ],
)
def test_versioned_training_inputs(reference, check, uri):
    _train_channel(reference)["S3Uri"] = uri
    assert check(reference, select=["RF005"]) == []


def test_code_inputs_are_not_data(reference, check):
    code = find_step(reference, "Extract")["Arguments"]["ProcessingInputs"][0]["S3Input"]
    code["S3Uri"] = "s3://b/scripts/extract.py"
    assert "RF005" not in rule_ids(check(reference, select=["RF"]))


def test_unversioned_transform_input(reference, check):
    reference["Steps"].append(batch_transform_step())
    findings = check(reference, select=["RF005"])
    assert [f.location.pointer for f in findings] == [
        "/Steps/5/Arguments/TransformInput/DataSource/S3DataSource/S3Uri"
    ]


# -- RF006 metrics ----------------------------------------------------------------------


def test_training_pipeline_without_metrics(reference, check):
    del find_step(reference, "TrainEvaluation")["PropertyFiles"]
    del find_step(reference, "Train")["Arguments"]["AlgorithmSpecification"]["MetricDefinitions"]
    findings = check(reference, select=["RF"])
    assert [f.rule for f in findings] == ["RF006"]
    assert "trains ('Train') but declares no metrics" in findings[0].message
    assert findings[0].location.pointer == "/Steps"


@pytest.mark.parametrize("keep", ["property-file", "metric-definitions"])
def test_either_metric_evidence_is_enough(reference, check, keep):
    if keep == "property-file":
        del find_step(reference, "Train")["Arguments"]["AlgorithmSpecification"][
            "MetricDefinitions"
        ]
    else:
        del find_step(reference, "TrainEvaluation")["PropertyFiles"]
    assert check(reference, select=["RF006"]) == []
    policy = {"recorded_fields": {"metrics": [keep]}}
    assert check(reference, select=["RF006"], policy=policy) == []


def test_pipeline_without_training_needs_no_metrics(reference, check):
    reference["Steps"] = [find_step(reference, "Extract"), find_step(reference, "PreProc")]
    assert check(reference, select=["RF006"]) == []


# -- matchers ---------------------------------------------------------------------------

HEX = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
TAGS = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(HEX, st.one_of(st.none(), TAGS), st.sampled_from(["digest", "tag", "off"]))
def test_image_pinning_matcher(digest, tag, mode):
    module = recorded_fields_module()
    base = REPO + (f":{tag}" if tag else "")
    pinned = f"{base}@sha256:{digest}"
    assert module.image_problem(pinned, mode) is None
    problem = module.image_problem(base, mode)
    if mode == "off" or (mode == "tag" and tag not in (None, "latest")):
        assert problem is None
    else:
        assert problem is not None


# -- real-world corpus ------------------------------------------------------------------

ALL_OPTIONAL_CHECKS = {
    "security": {
        "require_volume_kms_key": True,
        "require_output_kms_key": True,
        "require_network_isolation": True,
        "require_inter_container_encryption": True,
        "require_vpc": True,
    }
}


def corpus_targets():
    from mlops_guard.loaders import definition_json

    targets = []
    for path in sorted(CORPUS.glob("*.json")):
        targets.extend(definition_json.load(path, path.read_text(encoding="utf-8"), path.name))
    return targets


@pytest.fixture(scope="module")
def corpus():
    if CORPUS is None:
        pytest.skip(SKIP_REASON)
    return corpus_targets()


@pytest.mark.parametrize("overrides", [{}, ALL_OPTIONAL_CHECKS], ids=["default", "all-security"])
def test_corpus_checks_without_a_crash(corpus, overrides):
    from mlops_guard import engine
    from mlops_guard.selection import Selection
    from tests.rules.conftest import policy_with

    policy = policy_with(overrides)
    selection = Selection.from_policy(policy, select=["NM", "RF", "SC"])
    result = engine.run(corpus, builtin_rules(), policy, selection)
    assert result.targets >= 20
    crashed = [f for f in result.findings if f.rule == "MG003" or f.extra.get("crashed")]
    assert crashed == []
    assert {f.rule[:2] for f in result.findings} <= {"NM", "RF", "SC"}


def test_corpus_findings_verified_by_hand(corpus):
    """A few findings read off the JSON, and false positives that must stay gone."""
    from mlops_guard import engine
    from mlops_guard.selection import Selection
    from tests.rules.conftest import policy_with

    policy = policy_with()
    selection = Selection.from_policy(policy, select=["NM", "RF", "SC"])
    findings = engine.run(corpus, builtin_rules(), policy, selection).findings
    keyed = {(f.location.file, f.rule, f.location.pointer) for f in findings}
    # ExperimentName is the literal "AbaloneExperimentsPipeline".
    assert (
        "ase-selective_execution.json",
        "RF001",
        "/PipelineExperimentConfig/ExperimentName",
    ) in keyed
    # The randomcutforest training image uses the tag "latest".
    assert (
        "ase-callback_step.json",
        "RF003",
        "/Steps/1/Arguments/AlgorithmSpecification/TrainingImage",
    ) in keyed
    # "--gretel-secret prod/Gretel/ApiKey" names a Secrets Manager secret; the @step
    # REMOTE_FUNCTION_SECRET_KEY holds a public key: neither is a leaked secret.
    assert not [f for f in findings if f.rule == "SC001"]
