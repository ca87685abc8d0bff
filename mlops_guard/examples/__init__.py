"""Bundled examples: the compliant reference and non-compliant variants of it.

Each example is the reference definition with one realistic mistake, so ``mlops-guard
demo`` shows what the rules report. The files are generated from the committed reference
(``python -m mlops_guard.examples --write``); a test fails when they are stale.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent

EXPECTED = {
    "outputs-keyed-by-execution.json": {"IO002", "IO003"},
    "ungated-promotion.json": {"ET001"},
    "unpinned-images-and-secret.json": {"RF003", "SC001"},
}
"""The rules each example is made to trip."""


def example_paths() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.json"))


def reference_definition_path() -> Path:
    return EXAMPLES_DIR.parent / "reference" / "definition.json"


def _steps(definition: dict) -> Iterator[dict]:
    pending = list(definition["Steps"])
    while pending:
        step = pending.pop(0)
        yield step
        if step["Type"] == "Condition":
            pending[:0] = step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"]


def _key_outputs_by_execution(definition: dict) -> None:
    """Outputs partitioned by the execution id instead of the run date."""

    def rewrite(value):
        if isinstance(value, dict):
            if value.get("Get") == "Parameters.ExecutionDate":
                return {"Get": "Execution.PipelineExecutionId"}
            return {key: rewrite(child) for key, child in value.items()}
        if isinstance(value, list):
            return [rewrite(child) for child in value]
        return value

    for step in _steps(definition):
        if step["Type"] == "Processing":
            for output in step["Arguments"]["ProcessingOutputConfig"]["Outputs"]:
                output["S3Output"]["S3Uri"] = rewrite(output["S3Output"]["S3Uri"])


def _ungate_promotion(definition: dict) -> None:
    """Predict and PostProc moved out of the evaluation gate."""
    condition = next(step for step in definition["Steps"] if step["Type"] == "Condition")
    definition["Steps"].remove(condition)
    definition["Steps"].extend(condition["Arguments"]["IfSteps"])


def _unpin_images_and_add_secret(definition: dict) -> None:
    """Images on ``:latest`` and a password in an environment variable."""
    for step in _steps(definition):
        arguments = step["Arguments"]
        if step["Type"] == "Processing":
            image = arguments["AppSpecification"]["ImageUri"].split("@")[0]
            arguments["AppSpecification"]["ImageUri"] = re.sub(r":[^:/]*$", ":latest", image)
            if step["Name"] == "Extract":
                arguments.setdefault("Environment", {})["ATHENA_PASSWORD"] = "hunter2-prod-2026"
        elif step["Type"] == "Training":
            image = arguments["AlgorithmSpecification"]["TrainingImage"].split("@")[0]
            arguments["AlgorithmSpecification"]["TrainingImage"] = (
                image.rsplit(":", 1)[0] + ":latest"
            )


MUTATIONS: dict[str, Callable[[dict], None]] = {
    "outputs-keyed-by-execution.json": _key_outputs_by_execution,
    "ungated-promotion.json": _ungate_promotion,
    "unpinned-images-and-secret.json": _unpin_images_and_add_secret,
}


def generate() -> dict[str, str]:
    reference = json.loads(reference_definition_path().read_text(encoding="utf-8"))
    texts = {}
    for name, mutate in MUTATIONS.items():
        definition = copy.deepcopy(reference)
        mutate(definition)
        texts[name] = json.dumps(definition, indent=2) + "\n"
    return texts


def main(argv: list[str]) -> int:
    stale = [
        name
        for name, text in generate().items()
        if not (EXAMPLES_DIR / name).is_file() or (EXAMPLES_DIR / name).read_text() != text
    ]
    if "--write" in argv:
        for name, text in generate().items():
            (EXAMPLES_DIR / name).write_text(text, encoding="utf-8")
        return 0
    if stale:
        print("stale examples: " + ", ".join(stale) + " (python -m mlops_guard.examples --write)")
        return 1
    return 0
