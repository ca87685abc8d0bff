"""IO004 finds clashing output locations by lookups, not by comparing every pair: the
same findings as the pairwise comparison it replaced (which named every clash; now a
finding names twenty and counts the rest), on random small definitions, and thousands of
steps in seconds."""

from __future__ import annotations

import importlib.util
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_guard.definition import Definition
from tests.rules.conftest import ROOT, policy_with, run_check


def _rule_module():
    spec = importlib.util.spec_from_file_location(
        "check_outputs_under_test", ROOT / "rules" / "check_outputs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OUTPUTS = _rule_module()


def pairwise(document: dict) -> list[tuple[str, str]]:
    """IO004 as it was, every location compared with every earlier one, with the cap of
    twenty named clashes per finding applied to its result."""
    definition = Definition(document, name="p")
    section = policy_with().idempotent_outputs
    defaults = {p.name: p.default for p in definition.parameters if isinstance(p.default, str)}
    entries = []
    for location in OUTPUTS.output_locations(definition, section):
        literal = OUTPUTS.path_segments(location.template)
        resolved = OUTPUTS.path_segments(
            OUTPUTS._PARAMETER.sub(
                lambda match: defaults.get(match.group(1), match.group(0)), location.template
            )
        )
        if resolved:
            entries.append((location, literal, resolved))
    found = []
    for index, (later, literal, resolved) in enumerate(entries):
        clashes = []
        for other, other_literal, other_resolved in entries[:index]:
            extra = "extra" in (later.output.kind, other.output.kind)
            if extra and later.output.step.pointer == other.output.step.pointer:
                continue
            common = min(len(resolved), len(other_resolved))
            if resolved[:common] != other_resolved[:common]:
                continue
            if len(resolved) == len(other_resolved):
                relation = "the same location as"
            elif len(resolved) > len(other_resolved):
                relation = "inside the location of"
            else:
                relation = "a prefix of the location of"
            common = min(len(literal), len(other_literal))
            if literal[:common] != other_literal[:common]:
                relation = "by the parameters' defaults, " + relation
            clashes.append(f"{relation} {other.label} ({other.shown})")
        if len(clashes) > 20:
            clashes[20:] = [f"{len(clashes) - 20} more outputs"]
        if clashes:
            message = f"{later.label} writes to {later.shown}, " + "; and ".join(clashes)
            found.append((message, later.output.pointer))
    return sorted(found)


segments = st.lists(st.sampled_from(["a", "b", "a/b", "dt=1", ""]), max_size=3)
literal_uri = segments.map(lambda parts: "s3://bucket/" + "/".join(parts))
parameter_uri = st.just({"Get": "Parameters.Base"})
joined_uri = segments.map(
    lambda parts: {"Std:Join": {"On": "/", "Values": [{"Get": "Parameters.Base"}, *parts]}}
)
uris = st.one_of(literal_uri, parameter_uri, joined_uri, st.just("s3://bucket"))


def processing_step(index: int, locations: list) -> dict:
    outputs = [
        {"OutputName": f"o{n}", "S3Output": {"S3Uri": uri, "LocalPath": f"/opt/ml/o{n}"}}
        for n, uri in enumerate(locations)
    ]
    return {
        "Name": f"Step{index}",
        "Type": "Processing",
        "Arguments": {"ProcessingOutputConfig": {"Outputs": outputs}},
    }


definitions = st.builds(
    lambda steps, default: {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Base", "Type": "String", **default}],
        "Steps": [processing_step(index, locations) for index, locations in enumerate(steps)],
    },
    st.lists(st.lists(uris, min_size=1, max_size=3), min_size=1, max_size=10),
    st.sampled_from([{}, {"DefaultValue": "s3://bucket"}, {"DefaultValue": "s3://bucket/a"}]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions)
def test_same_findings_as_the_pairwise_comparison(document):
    findings = run_check(document, select=["IO004"])
    assert sorted((f.message, f.location.pointer) for f in findings) == pairwise(document)


def test_thousands_of_steps_are_not_quadratic():
    steps = [processing_step(index, [f"s3://bucket/p/step{index}/"]) for index in range(8000)]
    steps.append(processing_step(8000, ["s3://bucket/p/step7/"]))  # one clash
    document = {"Version": "2020-12-01", "Parameters": [], "Steps": steps}
    started = time.perf_counter()
    findings = run_check(document, select=["IO004"])
    elapsed = time.perf_counter() - started
    assert [f.location.pointer for f in findings] == [
        "/Steps/8000/Arguments/ProcessingOutputConfig/Outputs/0/S3Output/S3Uri"
    ]
    assert elapsed < 8, f"IO004 on 8,000 steps took {elapsed:.1f} s (pairwise: about 40 s)"


def test_a_finding_names_twenty_clashes_and_counts_the_rest():
    """Thousands of outputs at one place: bounded findings, not a square of messages."""
    steps = [processing_step(index, ["s3://bucket/same/"]) for index in range(3000)]
    document = {"Version": "2020-12-01", "Parameters": [], "Steps": steps}
    started = time.perf_counter()
    findings = run_check(document, select=["IO004"])
    elapsed = time.perf_counter() - started
    assert len(findings) == 2999
    [last] = [f.message for f in findings if f.location.pointer.startswith("/Steps/2999/")]
    assert last.count("the same location as") == 20 and last.endswith("; and 2979 more outputs")
    small = run_check({**document, "Steps": steps[:21]}, select=["IO004"])
    assert sorted((f.message, f.location.pointer) for f in small) == pairwise(
        {**document, "Steps": steps[:21]}
    )
    assert elapsed < 30, f"{elapsed:.1f} s"
