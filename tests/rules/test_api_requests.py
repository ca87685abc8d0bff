"""The API rules (ST008-ST010) judge step arguments as the SageMaker API would: each fires
on one minimal mutation of the reference, expressions are judged by what they produce,
and requests generated from the shapes themselves pass."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mlops_guard.definition import Definition
from mlops_guard.service_model import SHAPES_FILE, service_model
from mlops_guard.service_model.validate import (
    FILLED_BY_PIPELINE,
    STEP_OPERATIONS,
    validate,
)
from tests.rules.conftest import ROOT, find_step, places

API = ["ST008", "ST009", "ST010"]


def only(findings, rule):
    assert [f.rule for f in findings] == [rule], [(f.rule, f.message) for f in findings]
    return findings[0]


def test_reference_requests_are_valid(reference, check):
    assert check(reference, select=API) == []


def test_enum_value(reference, check):
    extract = find_step(reference, "Extract")
    extract["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3DataType"] = "S3Folder"
    finding = only(check(reference, select=API), "ST010")
    assert finding.message == "S3DataType 'S3Folder' is not one of: ManifestFile, S3Prefix"
    assert finding.location.pointer == "/Steps/0/Arguments/ProcessingInputs/0/S3Input/S3DataType"
    assert finding.severity == "error" and finding.category == "structure"


def test_unknown_member_with_suggestion(reference, check):
    resources = find_step(reference, "PreProc")["Arguments"]["ProcessingResources"]
    resources["ClusterConfig"]["VolumeKmsKeyID"] = "alias/jobs"
    finding = only(check(reference, select=API), "ST008")
    assert finding.message == (
        "ClusterConfig has no member 'VolumeKmsKeyID' (did you mean VolumeKmsKeyId?)"
    )
    assert finding.location.pointer.endswith("/ClusterConfig/VolumeKmsKeyID")


def test_missing_required_member(reference, check):
    del find_step(reference, "Train")["Arguments"]["RoleArn"]
    finding = only(check(reference, select=API), "ST008")
    assert finding.message == "CreateTrainingJob request is missing required member 'RoleArn'"
    assert finding.location.pointer == "/Steps/2/Arguments"


@pytest.mark.parametrize(("operation", "member"), sorted(
    (operation, member) for operation, members in FILLED_BY_PIPELINE.items() for member in members
))  # fmt: skip
def test_names_the_pipeline_fills_in_are_excused(operation, member):
    """Each excused member is one the API requires (so the excuse matters), and a step
    without it is not reported; the same member given is still validated."""
    model = service_model()
    request = model["shapes"][model["requests"][operation]]
    assert member in request.get("r", ())
    step_type = next(kind for kind, op in STEP_OPERATIONS.items() if op == operation)
    definition = {
        "Version": "2020-12-01",
        "Steps": [{"Name": "S", "Type": step_type, "Arguments": {}}],
    }
    messages = [p.message for p in validate(Definition(definition))]
    assert not any(repr(member) in message for message in messages), messages
    definition["Steps"][0]["Arguments"][member] = "bad_name!"
    assert any(member in p.message for p in validate(Definition(definition)))


def test_integer_where_a_string_belongs(reference, check):
    find_step(reference, "Train")["Arguments"]["HyperParameters"]["max_depth"] = 6
    finding = only(check(reference, select=API), "ST009")
    assert "HyperParameters['max_depth'] 6 is not a string" in finding.message


def test_string_where_an_integer_belongs(reference, check):
    config = find_step(reference, "PreProc")["Arguments"]["ProcessingResources"]["ClusterConfig"]
    config["InstanceCount"] = "1"
    finding = only(check(reference, select=API), "ST009")
    assert finding.message == "InstanceCount '1' is not an integer"


def test_value_out_of_range(reference, check):
    config = find_step(reference, "PreProc")["Arguments"]["ProcessingResources"]["ClusterConfig"]
    config["VolumeSizeInGB"] = 0
    finding = only(check(reference, select=API), "ST010")
    assert finding.message == "VolumeSizeInGB 0 is less than the minimum 1"


def test_pattern(reference, check):
    find_step(reference, "Extract")["Arguments"]["RoleArn"] = "arn:aws:iam::123456789012:user/ci"
    finding = only(check(reference, select=API), "ST010")
    assert finding.message.startswith(
        "RoleArn 'arn:aws:iam::123456789012:user/ci' does not match the API's pattern"
    )


def test_integer_parameter_in_a_string_member(reference, check):
    reference["Parameters"].append({"Name": "MaxDepth", "Type": "Integer", "DefaultValue": 6})
    hyper = find_step(reference, "Train")["Arguments"]["HyperParameters"]
    hyper["max_depth"] = {"Get": "Parameters.MaxDepth"}
    finding = only(check(reference, select=API), "ST009")
    assert "gets Integer parameter 'MaxDepth'" in finding.message
    assert "/HyperParameters/max_depth" in finding.location.pointer


def test_parameter_default_is_judged_at_the_default(reference, check):
    parameter = next(p for p in reference["Parameters"] if p["Name"] == "ProcessingInstanceType")
    parameter["DefaultValue"] = "ml.m5.huge"
    findings = check(reference, select=API)
    assert {f.rule for f in findings} == {"ST010"}
    index = reference["Parameters"].index(parameter)
    assert {f.location.pointer for f in findings} == {f"/Parameters/{index}/DefaultValue"}
    assert all("'ml.m5.huge'" in f.message and "InstanceType" in f.message for f in findings)
    assert "closest: ml.m5.large" in findings[0].message


def test_join_is_a_string(reference, check):
    config = find_step(reference, "PreProc")["Arguments"]["ProcessingResources"]["ClusterConfig"]
    config["InstanceCount"] = {"Std:Join": {"On": "", "Values": ["1"]}}
    assert "gets a Std:Join" in only(check(reference, select=API), "ST009").message


def test_step_property_by_its_type(reference, check):
    config = find_step(reference, "PreProc")["Arguments"]["ProcessingResources"]["ClusterConfig"]
    config["InstanceCount"] = {"Get": "Steps.Extract.ProcessingJobName"}
    assert (
        "Steps.Extract.ProcessingJobName (string)"
        in only(check(reference, select=API), "ST009").message
    )
    config["InstanceCount"] = {
        "Get": "Steps.Extract.ProcessingResources.ClusterConfig.InstanceCount"
    }
    assert check(reference, select=API) == []


@pytest.mark.parametrize(
    "expression",
    [
        {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.X.PropertyFiles.R"}, "Path": "a"}},
        {"Get": "Steps.Extract.NoSuchProperty"},
        {"Get": "Parameters.Undeclared"},
    ],
)
def test_unknowable_expressions_are_accepted(reference, check, expression):
    config = find_step(reference, "PreProc")["Arguments"]["ProcessingResources"]["ClusterConfig"]
    config["InstanceCount"] = expression
    assert check(reference, select=API) == []


def test_deploy_time_placeholders_are_not_judged(reference, check):
    """``${...}`` is what the CloudFormation and Terraform loaders leave where a value is
    known only at deploy or plan time: it could be anything once deployed."""
    arguments = find_step(reference, "PreProc")["Arguments"]
    arguments["RoleArn"] = "${PipelineRole.Arn}"
    arguments["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = "${var.count}"
    assert check(reference, select=API) == []


def test_patterns_are_translated_or_counted():
    """Every shipped pattern compiles; those the translator cannot express faithfully
    (Unicode property classes) are left out and listed, never guessed."""
    model = service_model()
    for shape in model["shapes"].values():
        if "p" in shape:
            re.compile(shape["p"])
    untranslated = model["untranslated_patterns"]
    assert len(untranslated) == 6
    assert all(r"\p{" in pattern for pattern in untranslated.values())
    assert all("p" not in model["shapes"][name] for name in untranslated)


def test_translation_of_the_service_dialect():
    from mlops_guard.service_model.generate import translate

    pattern = translate(r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*")
    assert re.fullmatch(pattern, "ok \U0001f600\t") and not re.fullmatch(pattern, "\x01")
    assert translate(r"arn:[\p{Alnum}\-]+:x") == r"arn:[a-zA-Z0-9\-]+:x"
    assert translate(r"[\p{L}\p{N}]*") is None
    assert translate(r"a${1,128}") is None


def test_shipped_shapes_are_current_for_their_botocore():
    botocore = pytest.importorskip("botocore", reason="botocore is needed to regenerate")
    shipped = json.loads(SHAPES_FILE.read_text(encoding="utf-8"))
    if botocore.__version__ != shipped["botocore_version"]:
        pytest.skip(
            f"shapes generated from botocore {shipped['botocore_version']}, "
            f"installed {botocore.__version__}"
        )
    from mlops_guard.service_model.generate import current

    assert SHAPES_FILE.read_text(encoding="utf-8") == current(), (
        "stale: run python -m mlops_guard.service_model.generate"
    )


def test_checking_a_definition_does_not_import_botocore(tmp_path):
    reference = str(ROOT / "mlops_guard" / "reference" / "definition.json")
    code = (
        "import sys\n"
        "from mlops_guard.cli import main\n"
        "try:\n"
        f"    main(['check', '--no-cache', {reference!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'botocore' not in sys.modules, 'botocore imported'\n"
        "from mlops_guard.service_model import service_model\n"
        "assert service_model.cache_info().currsize == 1\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_shapes_are_read_only_when_a_step_needs_them():
    code = (
        "from mlops_guard.definition import Definition\n"
        "from mlops_guard.service_model import service_model\n"
        "from mlops_guard.service_model.validate import validate\n"
        "d = {'Steps': [{'Name': 'F', 'Type': 'Fail', 'Arguments': {}}]}\n"
        "assert validate(Definition(d)) == []\n"
        "assert service_model.cache_info().currsize == 0\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_what_a_run_remembers_does_not_change_a_verdict():
    """A run remembers across definitions the strings and expressions it judged fine (by
    everything the verdict depends on): a definition judged after others, or again, gets
    the problems it gets alone, even where the same parameter has another type."""
    code = """
import copy, json
from mlops_guard.definition import Definition
from mlops_guard.service_model.validate import validate
reference = json.load(open('mlops_guard/reference/definition.json'))
def mutated(change):
    document = copy.deepcopy(reference)
    change(document['Steps'][0]['Arguments'], document)
    return document
changes = [
    lambda a, d: a['ProcessingInputs'][0]['S3Input'].update(S3DataType='S3Folder', Bogus=1),
    lambda a, d: (
        a['ProcessingResources']['ClusterConfig'].update(InstanceCount='2'),
        a['ProcessingResources']['ClusterConfig'].pop('InstanceType'),
    ),
    lambda a, d: a['ProcessingResources']['ClusterConfig'].update(
        VolumeSizeInGB={'Get': 'Parameters.ProcessingInstanceType'}
    ),
    lambda a, d: d['Parameters'][0].update(Type='Integer', DefaultValue=3),
    lambda a, d: (
        a.update(RoleArn={'Std:Join': {'On': '', 'Values': ['arn']}}, Extra=[]),
        a['ProcessingOutputConfig']['Outputs'].append({'OutputName': 5}),
    ),
]
documents = [mutated(change) for change in changes]
first = [sorted(validate(Definition(copy.deepcopy(d)))) for d in documents]
assert all(first), 'every mutation must be found'
for _ in range(3):
    again = [sorted(validate(Definition(copy.deepcopy(d)))) for d in reversed(documents)]
    assert again[::-1] == first, (again, first)
from mlops_guard.service_model import validate as memory
memory.forget()  # as a new process starts: nothing remembered, the same verdicts
assert not memory._FINE and not any(memory._ACCEPTED.values())
assert [sorted(validate(Definition(copy.deepcopy(d)))) for d in documents] == first
print(json.dumps([[list(p) for p in found] for found in first]))
"""
    run = [sys.executable, "-c", code]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(run, capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    together = json.loads(result.stdout)
    for index in range(len(together)):  # each definition alone, in a fresh process
        alone = code.replace("documents = [mutated(change) for change in changes]",
                             f"documents = [mutated(changes[{index}])]")  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-c", alone], capture_output=True, text=True, cwd=ROOT, env=env
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == [together[index]]


# -- property: requests generated from the shapes are valid -------------------------------

_SHAPES = service_model()["shapes"]


def _strings(shape: dict):
    if "e" in shape:
        return st.sampled_from(shape["e"])
    low, high = shape.get("n", 0), min(shape.get("x", 40), 40)
    if "p" in shape:
        return st.from_regex(shape["p"], fullmatch=True).filter(lambda s: low <= len(s) <= high)
    return st.text(alphabet="abcXYZ019-", min_size=low, max_size=max(low, high))


def _values(name: str, depth: int = 0):
    shape = _SHAPES[name]
    kind = shape["t"]
    if kind == "string":
        return _strings(shape)
    if kind in ("integer", "long"):
        return st.integers(shape.get("n", -(2**31)), shape.get("x", 2**31 - 1))
    if kind in ("float", "double"):
        return st.floats(shape.get("n", -1e6), shape.get("x", 1e6), allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind in ("timestamp", "blob"):
        return st.just("2026-01-01T00:00:00Z")
    low = shape.get("n", 0)
    if kind == "list":
        if depth > 3 and low == 0:
            return st.just([])
        return st.lists(_values(shape["l"], depth + 1), min_size=low, max_size=max(low, 1))
    if kind == "map":
        keys = _strings(_SHAPES[shape["k"]])
        return st.dictionaries(keys, _values(shape["v"], depth + 1), min_size=low, max_size=1)
    required = {m: _values(s, depth + 1) for m, s in shape["m"].items() if m in shape.get("r", ())}
    if shape.get("u"):
        member, member_shape = sorted(shape["m"].items())[0]
        return st.fixed_dictionaries({member: _values(member_shape, depth + 1)})
    optional = {} if depth > 3 else {m: _values(s, depth + 1) for m, s in shape["m"].items()}
    for member in required:
        optional.pop(member, None)
    return st.fixed_dictionaries(required, optional=optional)


_STEP_TYPES = {op: kind for kind, op in reversed(STEP_OPERATIONS.items())}


@pytest.mark.parametrize("operation", [*sorted(FILLED_BY_PIPELINE), "CreateModelPackage"])
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_requests_generated_from_the_shapes_are_valid(operation, data):
    request_shape = service_model()["requests"][operation]
    request = data.draw(_values(request_shape))
    step = {"Name": "S", "Type": _STEP_TYPES[operation], "Arguments": copy.deepcopy(request)}
    problems = validate(Definition({"Version": "2020-12-01", "Steps": [step]}))
    assert problems == [], problems


# -- the voucher: the fast path never vouches for what the checker reports ---------------

_REPLACEMENTS = [
    None, 0, -1, 7, 2**40, 1.5, True, "", "x", "ml.m5.huge", "s3://b/k", [], [1], {}, {"Bogus": 1},
    {"Get": "Parameters.Text"}, {"Get": "Parameters.Count"}, {"Get": "Parameters.Flag"},
    {"Get": "Parameters.Undeclared"}, {"Get": "Execution.PipelineExecutionId"},
    {"Get": "Steps.S.ProcessingJobArn"}, {"Std:Join": {"On": "", "Values": ["a"]}},
    {"Std:JsonGet": {"PropertyFile": "f", "Path": "p"}},
]  # fmt: skip
_PARAMETERS = [
    {"Name": "Text", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
    {"Name": "Count", "Type": "Integer", "DefaultValue": 0},
    {"Name": "Flag", "Type": "Boolean"},
]


def _mutate(request: dict, path: tuple, how: str, replacement) -> dict:
    request = copy.deepcopy(request)
    parent = request
    for part in path[:-1]:
        parent = parent[part]
    if not path:
        request["UnknownMember"] = replacement
    elif how == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif how == "add" and isinstance(parent[path[-1]], dict):
        parent[path[-1]]["UnknownMember"] = replacement
    else:
        parent[path[-1]] = copy.deepcopy(replacement)
    return request


@pytest.mark.parametrize("operation", [*sorted(FILLED_BY_PIPELINE), "CreateModelPackage"])
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # the message names the place
)
@given(data=st.data())
def test_the_voucher_never_vouches_for_what_the_checker_reports(operation, data):
    """Each request is first put to a voucher (a walk that can only say "certainly
    valid"); the reporting checker walks it only when the voucher cannot vouch. On a
    request generated from the shapes and then broken in one place (a value replaced by
    another type, an expression, an unknown or a missing member), whenever the voucher
    vouches, the checker must find nothing: a fast path that passes what the checker
    reports would be a quiet pass."""
    from mlops_guard.service_model import validate as validation

    request_shape = service_model()["requests"][operation]
    request = data.draw(_values(request_shape))
    path = data.draw(st.sampled_from(list(places(request))))
    how = data.draw(st.sampled_from(["replace", "delete", "add"]))
    broken = _mutate(request, path, how, data.draw(st.sampled_from(_REPLACEMENTS)))
    steps = [{"Name": "S", "Type": "Processing", "Arguments": {}}]
    step = {"Name": "T", "Type": _STEP_TYPES[operation], "Arguments": broken}
    document = {"Version": "2020-12-01", "Parameters": _PARAMETERS, "Steps": [*steps, step]}
    for _ in range(2):  # the second time with the verdicts the first remembered
        definition = Definition(copy.deepcopy(document))
        validator = validation.RequestValidator(definition)
        excused = FILLED_BY_PIPELINE.get(operation, frozenset())
        step = definition.steps[1]
        vouched = validation._vouch(request_shape, excused)(validator, step.arguments)
        checker = validation.RequestValidator(definition)  # the walk that reports, alone
        checker._step, checker.excused = step, excused
        check = validation._checker(request_shape)
        check(checker, step.arguments, step.arguments_pointer, None, "request", 0)
        assert not (vouched and checker.problems), (path, how, checker.problems)


def test_the_reference_is_vouched_for():
    """The fast path is the path taken: once a run has judged the reference's
    expressions, the voucher vouches for every request of the reference (a change that
    made it refuse them would double the API rules' cost without a test failing)."""
    from mlops_guard.service_model import validate as validation

    document = json.loads((ROOT / "mlops_guard" / "reference" / "definition.json").read_text())
    validate(Definition(copy.deepcopy(document)))
    definition = Definition(copy.deepcopy(document))
    validator = validation.RequestValidator(definition)
    requests = [s for s in definition.steps if s.type in STEP_OPERATIONS]
    assert requests
    for step in requests:
        operation = STEP_OPERATIONS[step.type]
        request_shape = service_model()["requests"][operation]
        voucher = validation._vouch(request_shape, FILLED_BY_PIPELINE.get(operation, frozenset()))
        assert voucher(validator, step.arguments), step.name
