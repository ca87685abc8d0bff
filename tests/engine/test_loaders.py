"""Loaders: definitions and describe-pipeline output, line marks, directory walks, and
bad input that must become one clear InputError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_guard.errors import InputError
from mlops_guard.loaders import load_file, load_paths
from mlops_guard.loaders.json_marks import JsonMarks
from mlops_guard.pointer import join, resolve
from tests.rules.conftest import REFERENCE_PATH, reference_definition

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=25,
)


def all_pointers(value, pointer=""):
    yield pointer
    if isinstance(value, dict):
        for key, child in value.items():
            yield from all_pointers(child, join(pointer, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from all_pointers(child, join(pointer, index))


def offset_of(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    return sum(len(item) + 1 for item in lines[: line - 1]) + column - 1


@settings(max_examples=150, deadline=None)
@given(json_values, st.sampled_from([None, 0, 2]))
def test_marks_point_at_the_value_for_every_pointer(document, indent):
    text = json.dumps(document, indent=indent)
    marks = JsonMarks(text)
    for pointer in all_pointers(document):
        line, column = marks.locate(pointer)
        start = offset_of(text, line, column)
        value = resolve(document, pointer)
        decoded, _end = json.JSONDecoder().raw_decode(text, start)
        assert decoded == value


def test_marks_fall_back_to_the_nearest_parent():
    marks = JsonMarks('{\n  "a": {\n    "b": 1\n  }\n}')
    assert marks.locate("/a/missing/deeper") == marks.locate("/a") == (2, 8)


@settings(max_examples=200, deadline=None)
@given(st.one_of(json_values, st.text(max_size=40)))
def test_any_json_file_loads_or_is_a_clear_input_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("any") / "thing.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    try:
        targets = load_file(path, explicit=True)
    except InputError as error:
        assert "thing.json" in str(error) and "\n" not in str(error)
    else:
        assert all(t.definition is not None for t in targets)


def test_reference_definition_loads_with_lines():
    (target,) = load_file(REFERENCE_PATH, explicit=True)
    assert target.kind == "definition"
    assert [s.name for s in target.definition.steps][:2] == ["Extract", "PreProc"]
    line, column = target.position("/Steps/1/Name")
    assert REFERENCE_PATH.read_text().splitlines()[line - 1][column - 1 :].startswith('"PreProc"')


def test_describe_pipeline_output(tmp_path):
    described = {
        "PipelineArn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/daily-demand-forecast",
        "PipelineName": "daily-demand-forecast",
        "PipelineDefinition": json.dumps(reference_definition()),
        "RoleArn": "arn:aws:iam::123456789012:role/Pipelines",
    }
    path = tmp_path / "described.json"
    path.write_text(json.dumps(described, indent=2))
    (target,) = load_file(path, explicit=True)
    assert target.name == "daily-demand-forecast"
    assert target.definition.name == "daily-demand-forecast"
    assert target.base_pointer == "/PipelineDefinition"
    assert target.position("/Steps/0") == (4, 25)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"Version": "2020-12-01", "Steps": [', "invalid JSON"),
        ('{"name": "package.json"}', "not a pipeline definition"),
        ('{"Version": "2020-12-01", "Steps": [42]}', "/Steps/0: expected a step object"),
        ('{"Version": "x", "Steps": [{"Name": "A"}]}', "string 'Name' and 'Type'"),
        ('{"Version": "x", "Steps": [], "Parameters": {}}', "list of parameters"),
        ('{"PipelineDefinition": "{not json"}', "invalid JSON in the definition string"),
        ('{"PipelineDefinition": "{}"}', "not a pipeline definition"),
    ],
)
def test_bad_definitions_are_input_errors(tmp_path, content, expected):
    path = tmp_path / "pipeline.json"
    path.write_text(content)
    with pytest.raises(InputError, match=expected):
        load_file(path, explicit=True)


def test_invalid_json_names_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "Version": "2020-12-01",\n  "Steps": [,]\n}')
    with pytest.raises(InputError) as error:
        load_file(path, explicit=True)
    assert "line 3, column 13" in str(error.value)


def test_not_utf8_and_missing_paths(tmp_path):
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="not UTF-8"):
        load_file(path, explicit=True)
    with pytest.raises(InputError, match="no such file"):
        load_paths([str(tmp_path / "missing.json")])


def test_directory_walk_skips_vendored_trees_and_foreign_json(tmp_path):
    definition = REFERENCE_PATH.read_text()
    for relative in (
        "a/one.json",
        ".git/x.json",
        "node_modules/p/x.json",
        ".venv/x.json",
        "venv/lib/x.json",
        "b/c/two.json",
    ):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(definition)
    (tmp_path / "a" / "package.json").write_text('{"name": "x"}')
    targets = load_paths([str(tmp_path)])
    files = sorted(
        Path(t.file).as_posix().rsplit("/", 2)[-2:][0] + "/" + Path(t.file).name for t in targets
    )
    assert files == ["a/one.json", "c/two.json"]


@pytest.mark.parametrize("content", ['{"Steps": [' + "1" * 5000 + "]}", "[" * 100000])
def test_pathological_json_is_an_input_error(tmp_path, content):
    path = tmp_path / "odd.json"
    path.write_text(content)
    with pytest.raises(InputError, match="invalid JSON"):
        load_file(path, explicit=True)
