"""The false findings that real pipelines showed stay gone, and the true ones beside them
stay.

The corpus of public pipeline definitions is found through ``MLOPS_GUARD_CORPUS`` (a
directory of ``*.json``); without it these tests are skipped.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.rules.conftest import run_check

CORPUS = os.environ.get("MLOPS_GUARD_CORPUS")
pytestmark = pytest.mark.skipif(
    not CORPUS, reason="MLOPS_GUARD_CORPUS is not set (the real-pipelines corpus directory)"
)

_FINDINGS: dict[str, list] = {}


def findings(stem: str) -> list:
    """Every finding of the default policy on corpus file ``stem`` (once per session)."""
    if stem not in _FINDINGS:
        path = Path(CORPUS) / f"{stem}.json"
        if not path.is_file():
            pytest.skip(f"{path} is not in the corpus")
        _FINDINGS[stem] = run_check(json.loads(path.read_text(encoding="utf-8")), name=stem)
    return _FINDINGS[stem]


def of(stem: str, rule: str) -> list:
    return [finding for finding in findings(stem) if finding.rule == rule]


def all_stems() -> list[str]:
    return sorted(path.stem for path in Path(CORPUS).glob("*.json")) if CORPUS else []


def test_no_catch_all_threshold_fails_a_pipeline_for_its_metric():
    """Classifiers and detectors gated on AUC, accuracy or mAP are not asked for mape."""
    for stem in all_stems():
        assert of(stem, "ET006") == [], stem


def test_sdk_code_keys_are_versions_or_reported_truthfully():
    hashed = re.compile(r"(?:/|-)(?:[0-9a-f]{32}|[0-9a-f]{64})/")
    for stem in all_stems():
        for finding in of(stem, "RF004"):
            assert not hashed.search(finding.message), finding.message
            if "rendered" in finding.message:
                assert "overwrite" not in finding.message, finding.message
    messages = [f.message for f in of("cpt-multi-model-nlp-train", "RF004")]
    assert messages and all("keyed by the time the definition was rendered" in m for m in messages)
    fixed = [f.message for f in of("mammo-train", "RF004") if "scripts/" in f.message]
    assert len(fixed) == 2 and all("next upload to that path overwrites" in m for m in fixed)


@pytest.mark.parametrize("stem", ["chalk-ai-stepdecorator-xgb", "cpt-gha-abalone-stepdecorator-v3"])
def test_function_steps(stem):
    # Only a function named for training, taking no pipeline parameter, is asked for them.
    assert [f.subject for f in of(stem, "RF002")] == (
        ["TrainAbaloneModel"] if stem.startswith("cpt") else []
    )
    # Results under the execution id are hand-offs; with no data output, no run date.
    assert of(stem, "IO002") == [] and of(stem, "IO003") == [] and of(stem, "IO001") == []
    # The function directories are code, keyed by the render time (true).
    assert of(stem, "RF005") == []
    assert all("rendered" in f.message for f in of(stem, "RF004"))


def test_gate_on_a_function_result_declares_metrics():
    assert of("cpt-gha-abalone-stepdecorator-v3", "RF006") == []
    assert [f.location.pointer for f in of("ase-step_caching", "RF006")] == ["/Steps"]


def test_debugger_and_profiler_rule_images_are_judged():
    pointers = {f.location.pointer for f in of("solita-bitti", "RF003")}
    assert "/Steps/2/Arguments/ProfilerRuleConfigurations/0/RuleEvaluatorImage" in pointers
    pointers = {f.location.pointer for f in of("drift-detection-build", "RF003")}
    assert "/Steps/2/Arguments/DebugRuleConfigurations/0/RuleEvaluatorImage" in pointers


def test_promotions():
    # The clarify example scores the holdout (model, transform) for its model-quality check.
    assert of("ase-clarify_model_monitor_integration", "ET001") == []
    # Batch inference of an approved model trains nothing, so promotes nothing new.
    for stem in ("cpt-batch-inference", "drift-detection-batch", "mammo-inference"):
        assert of(stem, "ET001") == [], stem
    # A pipeline that trains and transforms with no evaluation at all: true.
    assert sorted(f.subject for f in of("ase-callback_step", "ET001")) == [
        "TaxiModel-CreateModel",
        "TaxiTransform",
    ]
    # The deploying Lambda sits behind the gate, so the gate's Fail branch is asked for.
    (finding,) = of("sm-100x-models-amt", "ET004")
    assert "'LambdaModelDeploy'" in finding.message
