"""Security rules: secrets never stored in the definition; encryption and isolation on
request of the policy (off by default)."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.rules.conftest import (
    batch_transform_step,
    builtin_rules,
    find_step,
    reference_definition,
    run_check,
)

# Test values are assembled from parts so that no complete credential-shaped string
# sits in the repository for secret scanners to flag.
ACCESS_KEY = "AKIA" + "Q3EGXJ2VLM7HT4PB"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzq8Hk2Lm4N"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
SLACK = "xoxb-" + "123456789012-abcdefghijKLMN"
JWT = "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NSJ9" + ".c2lnbmF0dXJlLXZhbHVl"
PRIVATE = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----"
ALL_SECURITY = {
    "require_volume_kms_key": True,
    "require_output_kms_key": True,
    "require_network_isolation": True,
    "require_inter_container_encryption": True,
    "require_vpc": True,
}


def security_module():
    rule = next(rule for rule in builtin_rules() if rule.id == "SC001")
    return sys.modules[rule.function.__module__]


def test_reference_is_clean(reference, check):
    assert check(reference, select=["SC"]) == []


# -- SC001 secrets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "what", "secret"),
    [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY, "an AWS access key id", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY, "an AWS secret access key", SECRET_KEY),
        ("DEPLOY_KEY", PRIVATE, "a private key", "MIIEow"),
        ("GH", GITHUB, "a GitHub token", GITHUB),
        ("NOTIFY", SLACK, "a Slack token", SLACK),
        ("AUTH", f"Bearer {JWT}", "a JSON Web Token", JWT),
        ("DB_URL", "postgresql://app:Sup3rS3cret@db:5432/x", "embedded password", "Sup3rS3cret"),
        ("DB_PASSWORD", "hunter2-prod", "secret-like name", "hunter2-prod"),
        ("DB_PASSWORD", "ab/Xk29fLqPz8Rw3", "secret-like name", "Xk29fLqPz8Rw3"),
        ("apiKey", "k-12345-abcdef", "secret-like name", "k-12345-abcdef"),
        ("GITHUB_TOKEN", "not-a-real-token-value", "secret-like name", "not-a-real-token"),
    ],
)
def test_secret_in_environment(reference, check, name, value, what, secret):
    find_step(reference, "Train")["Arguments"]["Environment"] = {name: value}
    findings = check(reference, select=["SC"])
    assert [f.rule for f in findings] == ["SC001"]
    assert what in findings[0].message
    assert "'Train'" in findings[0].message
    assert secret not in findings[0].message
    assert findings[0].location.pointer == f"/Steps/2/Arguments/Environment/{name}"


def test_secret_in_hyperparameters(reference, check):
    find_step(reference, "Train")["Arguments"]["HyperParameters"]["wandb_api_key"] = "f00dcafe9"
    findings = check(reference, select=["SC001"])
    assert [f.location.pointer for f in findings] == [
        "/Steps/2/Arguments/HyperParameters/wandb_api_key"
    ]
    assert "'wandb_api_key'" in findings[0].message


@pytest.mark.parametrize(
    ("arguments", "index"),
    [
        (["--api-key", "k-98765-zyxw"], 1),
        (["--password=hunter2-prod"], 0),
        (["--source", ACCESS_KEY], 1),
    ],
)
def test_secret_in_container_arguments(reference, check, arguments, index):
    spec = find_step(reference, "Extract")["Arguments"]["AppSpecification"]
    start = len(spec["ContainerArguments"])
    spec["ContainerArguments"].extend(arguments)
    findings = check(reference, select=["SC001"])
    assert [f.rule for f in findings] == ["SC001"]
    assert findings[0].location.pointer == (
        f"/Steps/0/Arguments/AppSpecification/ContainerArguments/{start + index}"
    )
    assert "hunter2" not in findings[0].message and ACCESS_KEY not in findings[0].message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_PASSWORD", {"Get": "Parameters.InputDataUri"}),
        ("DB_PASSWORD", {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.X"}]}}),
        ("DB_PASSWORD", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"),
        ("API_TOKEN", "arn:aws:ssm:us-east-1:123456789012:parameter/prod/token"),
        ("DB_PASSWORD", "prod/app/DbPassword"),
        ("DB_PASSWORD", "${DB_PASSWORD}"),
        ("DB_PASSWORD", "<your-password>"),
        ("DB_PASSWORD", ""),
        ("DB_PASSWORD_SECRET_ARN", "db-password-secret"),
        ("PASSWORD_FILE", "/run/secrets/db"),
        ("tokenizer", "bert-base-uncased"),
        ("max_new_tokens", "512"),
        (
            "REMOTE_FUNCTION_SECRET_KEY",
            "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----",
        ),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        ("SECRET_NAME", "prod-db"),
    ],
)
def test_not_secrets(reference, check, name, value):
    find_step(reference, "Train")["Arguments"]["Environment"] = {name: value}
    assert check(reference, select=["SC001"]) == []


def test_allowed_secret_values(reference, check):
    find_step(reference, "Train")["Arguments"]["Environment"] = {"TEST_TOKEN": "public-test-1"}
    assert check(reference, select=["SC001"])
    policy = {"security": {"allowed_secret_values": ["public-test-1"]}}
    assert check(reference, select=["SC001"], policy=policy) == []


def test_secret_name_pattern_is_the_policys(reference, check):
    find_step(reference, "Train")["Arguments"]["Environment"] = {"DB_PASSPHRASE": "open sesame"}
    assert check(reference, select=["SC001"]) == []
    policy = {"security": {"secret_name_pattern": "(?i)passphrase"}}
    assert [f.rule for f in check(reference, select=["SC001"], policy=policy)] == ["SC001"]


def test_model_container_environment(reference, check):
    reference["Steps"].append(
        {
            "Name": "CreateModel",
            "Type": "Model",
            "Arguments": {
                "PrimaryContainer": {"Image": "i", "Environment": {"HF_TOKEN": "hf_abcdef1234"}}
            },
        }
    )
    findings = check(reference, select=["SC001"])
    assert [f.location.pointer for f in findings] == [
        "/Steps/5/Arguments/PrimaryContainer/Environment/HF_TOKEN"
    ]


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,30}", fullmatch=True)
PATHS = st.from_regex(r"(Parameters|Steps|Execution)\.[A-Za-z0-9]{1,12}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(NAMES, PATHS)
def test_references_are_never_secrets(name, path):
    module = security_module()
    policy = {"secret_name_pattern": "(?i)(password|secret|token|api[_-]?key)"}
    policy["allowed_secret_values"] = []

    class Settings(dict):
        __getattr__ = dict.__getitem__

    found = list(module.find_secrets(name, {"Get": path}, Settings(policy)))
    assert found == []


@settings(max_examples=30, deadline=None)
@given(NAMES, PATHS)
def test_references_are_never_reported_through_the_engine(name, path):
    definition = reference_definition()
    definition["Steps"][2]["Arguments"]["Environment"] = {name + "_PASSWORD": {"Get": path}}
    assert run_check(definition, select=["SC001"]) == []


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["AKIA", "ASIA"]),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=16),
    NAMES,
    st.sampled_from(["", "key=", "aws: "]),
)
def test_access_key_ids_are_found_and_masked(prefix, body, name, before):
    key = prefix + body
    module = security_module()

    class Settings(dict):
        __getattr__ = dict.__getitem__

    policy = Settings(secret_name_pattern="(?i)password", allowed_secret_values=[])
    found = list(module.find_secrets(name, before + key, policy))
    assert [what for what, _ in found] == ["an AWS access key id"]
    assert key not in found[0][1] and body not in found[0][1]


# -- SC002..SC006 encryption and isolation ----------------------------------------------


def test_encryption_and_isolation_are_off_by_default(reference, check):
    assert check(reference, select=["SC002", "SC003", "SC004", "SC005", "SC006"]) == []


@pytest.mark.parametrize(
    ("rule", "key", "pointer", "message"),
    [
        ("SC002", "require_volume_kms_key", "/Steps/2/Arguments/ResourceConfig", "VolumeKmsKeyId"),
        ("SC003", "require_output_kms_key", "/Steps/2/Arguments/OutputDataConfig", "KmsKeyId"),
        ("SC004", "require_network_isolation", "/Steps/2/Arguments", "EnableNetworkIsolation"),
        (
            "SC005",
            "require_inter_container_encryption",
            "/Steps/2/Arguments",
            "EnableInterContainerTrafficEncryption",
        ),
        ("SC006", "require_vpc", "/Steps/2/Arguments", "VpcConfig"),
    ],
)
def test_training_job_settings_required(reference, check, rule, key, pointer, message):
    findings = check(reference, select=[rule], policy={"security": {key: True}})
    train = [f for f in findings if f.subject == "Train"]
    assert [f.rule for f in train] == [rule]
    assert message in train[0].message
    assert "'Train'" in train[0].message
    assert train[0].location.pointer == pointer
    # every job step of the reference lacks it: 5 processing steps and the training step
    assert len(findings) == 6


def test_processing_pointers(reference, check):
    findings = check(reference, select=["SC"], policy={"security": ALL_SECURITY})
    extract = {f.rule: f.location.pointer for f in findings if f.subject == "Extract"}
    assert extract == {
        "SC002": "/Steps/0/Arguments/ProcessingResources/ClusterConfig",
        "SC003": "/Steps/0/Arguments/ProcessingOutputConfig",
        "SC004": "/Steps/0/Arguments",
        "SC005": "/Steps/0/Arguments",
        "SC006": "/Steps/0/Arguments",
    }


def _secure(arguments):
    arguments["ResourceConfig"]["VolumeKmsKeyId"] = "alias/ml-volumes"
    arguments["OutputDataConfig"]["KmsKeyId"] = "alias/ml-outputs"
    arguments["EnableNetworkIsolation"] = True
    arguments["EnableInterContainerTrafficEncryption"] = True
    arguments["VpcConfig"] = {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}


def test_secured_training_step_passes(reference, check):
    _secure(find_step(reference, "Train")["Arguments"])
    findings = check(reference, select=["SC"], policy={"security": ALL_SECURITY})
    assert [f for f in findings if f.subject == "Train"] == []


def test_secured_processing_step_passes(reference, check):
    arguments = find_step(reference, "Extract")["Arguments"]
    arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] = "alias/v"
    arguments["ProcessingOutputConfig"]["KmsKeyId"] = "alias/o"
    arguments["NetworkConfig"] = {
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
        "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
    }
    findings = check(reference, select=["SC"], policy={"security": ALL_SECURITY})
    assert [f for f in findings if f.subject == "Extract"] == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"EnableNetworkIsolation": False}, "sets EnableNetworkIsolation to false"),
        ({"EnableInterContainerTrafficEncryption": None}, "EnableInterContainerTrafficEncryption"),
        ({"VpcConfig": {"Subnets": ["subnet-1"]}}, "without SecurityGroupIds"),
        ({"OutputDataConfig": {"S3OutputPath": "s3://b/m", "KmsKeyId": ""}}, "no KmsKeyId"),
    ],
)
def test_one_setting_missing(reference, check, change, message):
    arguments = find_step(reference, "Train")["Arguments"]
    _secure(arguments)
    arguments.update(change)
    findings = check(reference, select=["SC"], policy={"security": ALL_SECURITY})
    train = [f for f in findings if f.subject == "Train"]
    assert len(train) == 1
    assert message in train[0].message
    key = next(iter(change))
    assert train[0].location.pointer.startswith(f"/Steps/2/Arguments/{key}")


def test_boolean_parameter_is_judged_by_its_default(reference, check):
    reference["Parameters"].append({"Name": "Isolate", "Type": "Boolean", "DefaultValue": False})
    arguments = find_step(reference, "Train")["Arguments"]
    arguments["EnableNetworkIsolation"] = {"Get": "Parameters.Isolate"}
    findings = check(reference, select=["SC004"], policy={"security": ALL_SECURITY})
    train = [f for f in findings if f.subject == "Train"]
    assert "parameter Isolate defaults to it" in train[0].message
    reference["Parameters"][-1]["DefaultValue"] = True
    findings = check(reference, select=["SC004"], policy={"security": ALL_SECURITY})
    assert [f for f in findings if f.subject == "Train"] == []


@pytest.mark.parametrize("instance", ["ml.g4dn.xlarge", "ml.m5d.large", "ml.p4d.24xlarge"])
def test_local_storage_instances_need_no_volume_key(reference, check, instance):
    parameter = next(p for p in reference["Parameters"] if p["Name"] == "TrainingInstanceType")
    parameter["DefaultValue"] = instance
    findings = check(reference, select=["SC002"], policy={"security": ALL_SECURITY})
    assert [f for f in findings if f.subject == "Train"] == []


def test_transform_and_model_steps(reference, check):
    reference["Steps"].append(
        {
            "Name": "CreateModel",
            "Type": "Model",
            "Arguments": {"PrimaryContainer": {"Image": "i"}, "EnableNetworkIsolation": True},
        }
    )
    reference["Steps"].append(batch_transform_step())
    findings = check(reference, select=["SC"], policy={"security": ALL_SECURITY})
    model = sorted(f.rule for f in findings if f.subject == "CreateModel")
    transform = {f.rule: f.location.pointer for f in findings if f.subject == "BatchScore"}
    assert model == ["SC006"]
    assert transform == {
        "SC002": "/Steps/6/Arguments/TransformResources",
        "SC003": "/Steps/6/Arguments/TransformOutput",
    }


TOKEN_PARTS = st.sampled_from(
    [ACCESS_KEY, GITHUB, SLACK, JWT, PRIVATE, "https://user:pw@host/x", "github_pat_" + "A" * 30]
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.one_of(st.just(""), TOKEN_PARTS), st.text(max_size=20))
def test_the_substring_screen_never_hides_a_pattern_match(before, token, after):
    """``may_hold_token`` only skips the regex search where it could not match."""
    module = security_module()
    text = before + token + after
    if module.ANY_PATTERN.search(text):
        assert module.may_hold_token(text), text
