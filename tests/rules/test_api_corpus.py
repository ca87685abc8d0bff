"""The API request and data-race rules on the shared corpus of real pipelines: every
finding there was read and judged true; any other is a false positive.

Not reported, by design: cpt-batch-inference.json's parameter default '${ModelName}' (a
placeholder its seed code leaves, which would fail the transform step if a run used the
default): a ``${...}`` string is what the CloudFormation and Terraform loaders leave for a
value known only at deploy time, so it is never judged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.rules.conftest import run_check

CORPUS = os.environ.get("MLOPS_GUARD_CORPUS")

JUDGED_TRUE = {
    # An empty default input URI: a run started with the defaults fails at the first
    # processing step ('' does not match the API's S3 URI pattern).
    ("sm-100x-models-amt.json", "ST010", "/Parameters/26/DefaultValue"),
}


@pytest.mark.skipif(not CORPUS, reason="MLOPS_GUARD_CORPUS is not set (the shared corpus)")
def test_corpus_findings_are_the_judged_ones():
    files = sorted(Path(CORPUS).glob("*.json"))
    assert len(files) >= 20
    found = set()
    for path in files:
        definition = json.loads(path.read_text(encoding="utf-8"))
        for finding in run_check(definition, select=["ST008", "ST009", "ST010", "ST011"]):
            found.add((path.name, finding.rule, finding.location.pointer))
    assert found == JUDGED_TRUE
