"""Hostile input is normal input: every file a loader can be given, however it was made,
ends in exit 0 or 1, or in exit 2 with one line on stderr naming the file; never a
traceback, a hang, or a pass over something that was not read.

Most cases run the CLI in-process (``cli.main``); those that used to hang (FIFOs,
``/dev/zero``) run it in a subprocess with a timeout, so a regression fails instead of
stopping the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_guard.cli import main
from tests.integrations.templates import cdk_json, cfn_yaml, terraform, terraform_plan

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((ROOT / "mlops_guard/reference/definition.json").read_text("utf-8"))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


def reference() -> dict:
    return json.loads(json.dumps(REFERENCE))


def check(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["check", "--no-cache", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *expected: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, err


def run_cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """``mlops-guard check ARGS`` in a subprocess that cannot hang the suite."""
    code = "from mlops_guard.cli import main; raise SystemExit(main())"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code, "check", "--no-cache", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


# -- files that are not regular files -------------------------------------------------------

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


@needs_fifo
def test_a_fifo_named_explicitly_is_refused_without_reading(tmp_path):
    os.mkfifo(tmp_path / "pipeline.json")
    result = run_cli("pipeline.json", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "pipeline.json" in result.stderr and "FIFO" in result.stderr


@needs_fifo
def test_a_fifo_met_in_a_directory_is_an_error(tmp_path):
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "ok.json").write_text(json.dumps(REFERENCE))
    os.mkfifo(tmp_path / "pipelines" / "pipe.json")
    result = run_cli("pipelines", cwd=tmp_path)
    assert result.returncode == 2 and "pipelines/pipe.json" in result.stderr, result.stderr
    assert "FIFO" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_a_symlink_to_dev_zero_is_refused_named_or_met(tmp_path):
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "zero.json").symlink_to("/dev/zero")
    for target in ("tree/zero.json", "tree"):
        result = run_cli(target, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "zero.json" in result.stderr and "character device" in result.stderr


def test_symlink_loops_end(tmp_path, capsys):
    (tmp_path / "a.json").symlink_to(tmp_path / "b.json")
    (tmp_path / "b.json").symlink_to(tmp_path / "a.json")
    code, _out, err = check(capsys, str(tmp_path / "a.json"))
    assert_one_line_error(code, err, "a.json", "cannot read")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "definition.json").write_text(json.dumps(REFERENCE))
    (tree / "loop").symlink_to(tree)  # a directory link: not walked into, no endless walk
    code, out, err = check(capsys, str(tree))
    assert code == 0 and "1 target" in out, out + err


# -- directories that cannot be read --------------------------------------------------------

as_root = hasattr(os, "geteuid") and os.geteuid() == 0
needs_permissions = pytest.mark.skipif(as_root, reason="root reads every directory")


@needs_permissions
def test_an_unreadable_subdirectory_is_an_error_not_a_skip(tmp_path, capsys):
    (tmp_path / "ok.json").write_text(json.dumps(REFERENCE))
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "pipeline.json").write_text(json.dumps(REFERENCE))
    locked.chmod(0)
    try:
        code, _out, err = check(capsys, str(tmp_path))
        assert_one_line_error(code, err, "locked", "cannot read directory")
        code, _out, err = check(capsys, str(locked))
        assert_one_line_error(code, err, "locked")
    finally:
        locked.chmod(0o755)


def test_a_tree_deeper_than_the_system_allows_is_an_error(tmp_path, capsys):
    """A path longer than PATH_MAX cannot be listed by name: ``os.walk`` skipped it."""
    limit = os.pathconf(tmp_path, "PC_PATH_MAX") if hasattr(os, "pathconf") else 4096
    descriptor = os.open(tmp_path, os.O_RDONLY)
    try:
        for _level in range(limit // 5 + 2):
            os.mkdir("dddd", dir_fd=descriptor)
            inner = os.open("dddd", os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
        written = os.open("pipeline.json", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptor)
        with os.fdopen(written, "w") as handle:
            handle.write(json.dumps(REFERENCE))
    finally:
        os.close(descriptor)
    code, _out, err = check(capsys, str(tmp_path))
    assert_one_line_error(code, err, "cannot read directory", "dddd/dddd")


# -- size limits ----------------------------------------------------------------------------


def test_file_size_limit_refuses_before_reading(tmp_path, capsys, monkeypatch):
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(REFERENCE))
    monkeypatch.chdir(tmp_path)  # the policy discovered from here is the default one
    # Above the shipped policy's size (policies are read within the limit too), below
    # the definition's.
    monkeypatch.setenv("MLOPS_GUARD_MAX_FILE_BYTES", "10000")
    code, _out, err = check(capsys, str(path))
    assert_one_line_error(code, err, "pipeline.json", "MLOPS_GUARD_MAX_FILE_BYTES")
    code, _out, err = check(capsys, str(tmp_path))  # met in a directory too
    assert_one_line_error(code, err, "pipeline.json", "larger than the limit of 10000")


def test_string_limit_names_the_place(tmp_path, capsys, monkeypatch):
    document = reference()
    document["Steps"][0]["Description"] = "x" * 5000
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(document))
    monkeypatch.setenv("MLOPS_GUARD_MAX_STRING_CHARS", "4096")
    code, _out, err = check(capsys, str(path))
    assert_one_line_error(code, err, "/Steps/0/Description", "MLOPS_GUARD_MAX_STRING_CHARS")


def test_a_limit_that_is_not_a_number_is_a_usage_error(tmp_path, capsys, monkeypatch):
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(REFERENCE))
    monkeypatch.setenv("MLOPS_GUARD_MAX_DEPTH", "deep")
    code, _out, err = check(capsys, str(path))
    assert_one_line_error(code, err, "MLOPS_GUARD_MAX_DEPTH")


def test_the_defaults_pass_the_reference(tmp_path, capsys):
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(REFERENCE))
    code, out, err = check(capsys, str(path))
    assert code == 0, out + err


def test_marks_of_a_huge_string_take_linear_memory():
    """One 50-million-character string peaked at 14.6 GB: the regular expression that
    skipped strings kept backtracking state for each character."""
    import tracemalloc

    from mlops_guard.loaders.json_marks import JsonMarks

    text = '{"a": "' + "x\\n" * 1_000_000 + '", "b": 1}'
    tracemalloc.start()
    try:
        assert JsonMarks(text).locate("/b") == (1, len(text) - 1)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * len(text), f"peak {peak} bytes for a text of {len(text)}"


# -- nesting --------------------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def deep_documents(depth: int) -> dict[str, str]:
    """One file per loader, each holding a value nested ``depth`` levels deep."""
    inner = f'{{"Version": "2020-12-01", "Steps": [], "Deep": {nested(depth)}}}'
    template = json.loads(cdk_json(reference()))
    template["Metadata"] = {"Deep": json.loads(nested(min(depth, 900)))}
    return {
        "definition.json": inner,
        "described.json": json.dumps({"PipelineName": "p", "PipelineDefinition": inner}),
        "template.json": json.dumps(template) if depth < 900 else nested(depth),
        "template.yaml": cfn_yaml(reference()) + f"Metadata:\n  Deep: {nested(min(depth, 900))}\n",
        "plan.json": terraform_plan(reference()).replace(
            '"terraform_version"', f'"Deep": {nested(depth)}, "terraform_version"'
        ),
    }


@pytest.mark.parametrize("depth", [150, 100_000])
@pytest.mark.parametrize(
    "name", ["definition.json", "described.json", "template.json", "template.yaml", "plan.json"]
)
def test_deep_nesting_is_one_line(tmp_path, capsys, depth, name):
    path = tmp_path / name
    path.write_text(deep_documents(depth)[name])
    code, _out, err = check(capsys, str(path))
    assert_one_line_error(code, err, name)


def test_deep_nesting_in_a_body_string_is_one_line(tmp_path, capsys):
    body = '{"Version": "2020-12-01", "Steps": [], "Deep": ' + nested(100_000) + "}"
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "P": {
                "Type": "AWS::SageMaker::Pipeline",
                "Properties": {
                    "PipelineName": "p",
                    "RoleArn": "arn:aws:iam::123456789012:role/r",
                    "PipelineDefinition": {"PipelineDefinitionBody": body},
                },
            }
        },
    }
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(template))
    code, _out, err = check(capsys, str(path))
    assert_one_line_error(code, err, "stack.json", "PipelineDefinitionBody")


def test_deep_nesting_in_terraform_is_one_line(tmp_path, capsys):
    pytest.importorskip("hcl2", reason="Terraform files need the 'terraform' extra")
    document = reference()
    document["Deep"] = json.loads(nested(150))
    (tmp_path / "main.tf").write_text(terraform(document))
    code, _out, err = check(capsys, str(tmp_path / "main.tf"))
    assert_one_line_error(code, err, "main.tf", "MLOPS_GUARD_MAX_DEPTH")


def test_deep_baseline_is_one_line(tmp_path, capsys):
    (tmp_path / "pipeline.json").write_text(json.dumps(REFERENCE))
    for depth in (150, 100_000):
        baseline = tmp_path / "baseline.json"
        baseline.write_text('{"version": 1, "findings": ' + nested(depth) + "}")
        code, _out, err = check(
            capsys, str(tmp_path / "pipeline.json"), "--baseline", str(baseline)
        )
        assert_one_line_error(code, err, "baseline.json")


@needs_fifo
def test_a_fifo_as_baseline_is_refused(tmp_path):
    (tmp_path / "pipeline.json").write_text(json.dumps(REFERENCE))
    os.mkfifo(tmp_path / "baseline.json")
    result = run_cli("pipeline.json", "--baseline", "baseline.json", cwd=tmp_path)
    assert result.returncode == 2 and "FIFO" in result.stderr, result.stderr


# -- YAML aliases ---------------------------------------------------------------------------


def billion_laughs(levels: int = 9) -> str:
    lines = ["  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_in_template_metadata_is_refused_quickly(tmp_path, capsys):
    path = tmp_path / "pipeline.yaml"
    path.write_text(cfn_yaml(reference()) + "Metadata:\n" + billion_laughs())
    started = time.perf_counter()
    code, _out, err = check(capsys, str(path))
    assert time.perf_counter() - started < 10
    assert_one_line_error(code, err, "pipeline.yaml", "MLOPS_GUARD_MAX_YAML_ALIAS_NODES")


def test_recursive_anchor_in_a_template_is_refused(tmp_path, capsys):
    path = tmp_path / "pipeline.yaml"
    path.write_text(cfn_yaml(reference()) + "Metadata: &loop\n  again: *loop\n")
    code, _out, err = check(capsys, str(path))
    assert_one_line_error(code, err, "pipeline.yaml", "recursive YAML anchor", "line")


def test_alias_bomb_and_recursive_anchor_in_a_policy_are_refused(tmp_path, capsys):
    (tmp_path / "pipeline.json").write_text(json.dumps(REFERENCE))
    for text in ("laughs:\n" + billion_laughs(), "naming: &loop\n  again: *loop\n"):
        policy = tmp_path / "policy.yaml"
        policy.write_text(text)
        started = time.perf_counter()
        code, _out, err = check(capsys, str(tmp_path / "pipeline.json"), "--policy", str(policy))
        assert time.perf_counter() - started < 10
        assert_one_line_error(code, err, "policy.yaml")


def test_a_few_aliases_are_fine(tmp_path, capsys):
    """YAML that is not a template is never built, however it uses aliases (CI configs)."""
    (tmp_path / ".gitlab-ci.yml").write_text("defaults: &d {image: x}\n" + billion_laughs())
    (tmp_path / "pipeline.json").write_text(json.dumps(REFERENCE))
    code, out, err = check(capsys, str(tmp_path))
    assert code == 0, out + err
    from mlops_guard.loaders import safe_yaml

    assert safe_yaml.load("a: &a [1, 2]\nb: *a\nc: *a\n", "x.yaml") == {
        "a": [1, 2],
        "b": [1, 2],
        "c": [1, 2],
    }
    with pytest.raises(yaml.YAMLError):
        safe_yaml.load("a: [", "x.yaml")


# -- shapes ---------------------------------------------------------------------------------


def test_describe_pipeline_wrapper_with_tags_not_a_list(tmp_path, capsys):
    path = tmp_path / "described.json"
    path.write_text(
        json.dumps({"PipelineName": "p", "PipelineDefinition": json.dumps(REFERENCE), "Tags": 5})
    )
    code, _out, err = check(capsys, str(path))
    assert_one_line_error(code, err, "described.json", "/Tags")


def test_template_tags_not_a_list(tmp_path, capsys):
    text = cfn_yaml(reference())
    listed = "      Tags:\n        - Key: team\n          Value: forecasting\n"
    text = text.replace(listed, "      Tags: 1\n")
    assert "Tags: 1" in text
    (tmp_path / "pipeline.yaml").write_text(text)
    code, _out, err = check(capsys, str(tmp_path / "pipeline.yaml"))
    assert_one_line_error(code, err, "pipeline.yaml", "Tags")


def test_event_rule_with_a_numeric_status_and_a_schedule_without_expression(tmp_path, capsys):
    template = yaml.load(cfn_yaml(reference()), Loader=_cfn_loader())
    resources = template["Resources"]
    for resource in resources.values():
        if resource["Type"] == "AWS::Events::Rule":
            resource["Properties"]["EventPattern"]["detail"]["currentPipelineExecutionStatus"] = 5
            resource["Properties"]["EventPattern"]["detail-type"] = 7
        if resource["Type"] == "AWS::Scheduler::Schedule":
            del resource["Properties"]["ScheduleExpression"]
    (tmp_path / "stack.json").write_text(json.dumps(template))
    code, out, err = check(capsys, str(tmp_path / "stack.json"))
    assert code in (0, 1) and err == "", err
    assert "OP003" in out  # a pattern matching no failure status notifies nobody


def _cfn_loader():
    from mlops_guard.loaders.cloudformation import CfnLoader

    return CfnLoader


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"version": 1, "findings": 5},
        {"version": 1, "findings": [5]},
        {"version": 1, "findings": [{"fingerprint": 5}]},
        {"version": "1", "findings": []},
        {"version": 1, "findings": [{"fingerprint": "x", "rule": ["a"], "file": {}}]},
    ],
)
def test_malformed_baselines(tmp_path, capsys, document):
    (tmp_path / "pipeline.json").write_text(json.dumps(REFERENCE))
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(document))
    code, out, err = check(capsys, str(tmp_path / "pipeline.json"), "--baseline", str(baseline))
    if code == 2:
        assert_one_line_error(code, err, "baseline.json")
    else:
        assert code == 0 and "MG006" in out, out + err  # an entry that matches nothing


def test_terraform_without_its_parser_is_exit_2_naming_the_extra(tmp_path):
    (tmp_path / "main.tf").write_text(terraform(reference()))
    code = (
        "import sys; sys.modules['hcl2'] = None\n"
        "from mlops_guard.cli import main\n"
        "raise SystemExit(main(['check', '--no-cache', 'main.tf']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "main.tf" in result.stderr and "pip install 'mlops-guard[terraform]'" in result.stderr


# -- intrinsic functions --------------------------------------------------------------------


def pipeline_template(body, parameters: dict | None = None) -> dict:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": parameters or {},
        "Resources": {
            "P": {
                "Type": "AWS::SageMaker::Pipeline",
                "Properties": {
                    "PipelineName": "p",
                    "RoleArn": "arn:aws:iam::123456789012:role/r",
                    "PipelineDefinition": {"PipelineDefinitionBody": body},
                },
            }
        },
    }


def test_nested_sub_variables_are_bounded(tmp_path, capsys):
    """Each ${x} evaluates its variable again: three levels of a thousand make a billion."""
    inner = {"Fn::Sub": ["${c}" * 1000, {"c": "x"}]}
    middle = {"Fn::Sub": ["${b}" * 1000, {"b": inner}]}
    body = {"Fn::Sub": ["${a}" * 1000, {"a": middle}]}
    (tmp_path / "stack.json").write_text(json.dumps(pipeline_template(body)))
    started = time.perf_counter()
    code, _out, err = check(capsys, str(tmp_path / "stack.json"))
    assert time.perf_counter() - started < 20
    assert_one_line_error(code, err, "stack.json", "evaluations")


def test_join_of_one_long_default_is_bounded(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLOPS_GUARD_MAX_STRING_CHARS", "10000")
    parameters = {"Long": {"Type": "String", "Default": "x" * 5000}}
    body = {"Fn::Join": ["", [{"Ref": "Long"}] * 100]}
    (tmp_path / "stack.json").write_text(json.dumps(pipeline_template(body, parameters)))
    code, _out, err = check(capsys, str(tmp_path / "stack.json"))
    assert_one_line_error(code, err, "stack.json", "MLOPS_GUARD_MAX_STRING_CHARS")


def test_a_mapping_value_that_looks_like_an_intrinsic_is_not_resolved(tmp_path, capsys):
    """Mappings hold literals; resolving through one could loop (it names itself)."""
    template = pipeline_template({"Fn::FindInMap": ["M", "a", "b"]}, parameters={})
    template["Mappings"] = {"M": {"a": {"b": {"Fn::FindInMap": ["M", "a", "b"]}}}}
    (tmp_path / "stack.json").write_text(json.dumps(template))
    code, _out, err = check(capsys, str(tmp_path / "stack.json"))
    assert_one_line_error(code, err, "stack.json", "PipelineDefinitionBody")


def test_terraform_references_to_one_long_default_are_bounded(tmp_path, capsys, monkeypatch):
    pytest.importorskip("hcl2", reason="Terraform files need the 'terraform' extra")
    monkeypatch.setenv("MLOPS_GUARD_MAX_STRING_CHARS", "10000")
    document = reference()
    document["Steps"][0]["Description"] = "${var.long}" * 100
    text = terraform(document).replace(
        'variable "role_arn" {',
        f'variable "long" {{\n  default = "{"x" * 5000}"\n}}\n\nvariable "role_arn" {{',
    )
    (tmp_path / "main.tf").write_text(text)
    code, _out, err = check(capsys, str(tmp_path / "main.tf"))
    assert_one_line_error(code, err, "main.tf", "MLOPS_GUARD_MAX_STRING_CHARS")


# -- the YAML loader on random anchor graphs ------------------------------------------------


@st.composite
def anchor_graphs(draw) -> str:
    """YAML whose nodes alias earlier anchors, or (sometimes) the node being defined."""
    lines = []
    for index in range(draw(st.integers(1, 12))):
        earlier = [f"*a{n}" for n in range(index)]
        choices = [*earlier, "x", "1"] + ([f"*a{index}"] if draw(st.booleans()) else [])
        items = draw(st.lists(st.sampled_from(choices), min_size=1, max_size=12))
        lines.append(f"k{index}: &a{index} [" + ", ".join(items) + "]")
    return "\n".join(lines) + "\n"


@settings(max_examples=200, deadline=None)
@given(anchor_graphs())
def test_safe_yaml_builds_only_bounded_acyclic_documents(text):
    from mlops_guard.errors import InputError
    from mlops_guard.loaders import limits, safe_yaml

    try:
        data = safe_yaml.load(text, "random.yaml")
    except (InputError, yaml.YAMLError):
        return
    counted = 0
    pending = [data]
    while pending:  # the expanded tree: finite (no cycle) and within the budget
        node = pending.pop()
        counted += 1
        assert counted <= 20_000 + limits.max_alias_nodes()
        if isinstance(node, dict):
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


@pytest.mark.parametrize("loader", ["SafeLoader", "CSafeLoader"])
def test_deep_yaml_is_an_input_error_with_either_parser(loader):
    """libyaml stops at 1,000 levels; PyYAML's own composer (without libyaml) recurses."""
    from mlops_guard.errors import InputError
    from mlops_guard.loaders import safe_yaml

    loader_class = getattr(yaml, loader, None)
    if loader_class is None:
        pytest.skip("PyYAML was built without libyaml")
    for depth in (150, 5000):
        text = "a: " + "[" * depth + "]" * depth + "\n"
        with pytest.raises((InputError, yaml.YAMLError)):
            safe_yaml.load(text, "deep.yaml", loader_class)


def test_hcl_beyond_the_parser_budget_is_refused_before_parsing(tmp_path, capsys):
    pytest.importorskip("hcl2", reason="Terraform files need the 'terraform' extra")
    flat = "[" + ", ".join(["1"] * 60_000) + "]"
    (tmp_path / "main.tf").write_text(
        f'resource "aws_sagemaker_pipeline" "x" {{\n  pipeline_name = "p"\n  flat = {flat}\n}}\n'
    )
    started = time.perf_counter()
    code, _out, err = check(capsys, str(tmp_path / "main.tf"))
    assert time.perf_counter() - started < 5
    assert_one_line_error(code, err, "main.tf", "MLOPS_GUARD_MAX_HCL_TOKENS")
