"""Rendering with the real SageMaker SDK v3, offline: the committed copy must be fresh."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("sagemaker")

pytestmark = [pytest.mark.sdk, pytest.mark.slow]

from mlops_guard.reference import DEFINITION_PATH, render_definition  # noqa: E402


@pytest.fixture(scope="module")
def rendered() -> str:
    return render_definition()


def test_committed_definition_is_fresh(rendered):
    committed = DEFINITION_PATH.read_text(encoding="utf-8")
    assert rendered == committed, (
        "definition.json is stale: python -m mlops_guard.reference.render --write"
    )


def test_rendering_is_deterministic_and_independent_of_cwd(rendered, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert render_definition() == rendered


def test_other_arguments_change_the_definition():
    other = json.loads(
        render_definition(default_bucket="another-bucket", pipeline_name="another-forecast")
    )
    parameters = {p["Name"]: p["DefaultValue"] for p in other["Parameters"]}
    assert parameters["OutputBaseUri"] == "s3://another-bucket/another-forecast"
    code = other["Steps"][0]["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"]
    assert code.startswith("s3://another-bucket/another-forecast/code/")


def test_images_must_be_pinned_by_digest():
    with pytest.raises(ValueError, match="pinned by digest"):
        render_definition(image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/x:latest")
