"""Every reader turns JSON that does not parse into the same one-line input error."""

from __future__ import annotations

import json

import pytest

from mlops_guard.errors import InputError, invalid_json
from mlops_guard.metadata.errors import MetadataInputError


def _refused(text: str) -> Exception:
    try:
        json.loads(text)
    except (ValueError, RecursionError) as error:
        return error
    raise AssertionError("parsed")


def test_a_file_of_its_own_says_the_position_as_where():
    error = invalid_json(_refused('{"a": 1,\n ]'), file="x.json")
    assert str(error) == "x.json: line 2, column 2: invalid JSON: Expecting property name " + (
        "enclosed in double quotes"
    )


def test_json_inside_a_string_says_the_position_in_the_message():
    error = invalid_json(
        _refused("[1,"), "body is not valid JSON", file="t.yaml", where="/B", within="the body"
    )
    assert str(error).startswith("t.yaml: /B: body is not valid JSON: ")
    assert str(error).endswith("(line 1, column 4 of the body)")


@pytest.mark.parametrize("text", ["9" * 5000, "[" * 100_000 + "]" * 100_000])
def test_errors_without_a_position_are_one_line(text):
    error = invalid_json(_refused(text), file="x.json", error_type=MetadataInputError)
    assert isinstance(error, MetadataInputError) and isinstance(error, InputError)
    assert str(error).startswith("x.json: invalid JSON: ")
    assert "\n" not in str(error)


def test_kwargs_and_a_plan_body_use_it(tmp_path):
    from mlops_guard.commands import _kwargs
    from mlops_guard.loaders import load_file

    with pytest.raises(InputError) as caught:
        _kwargs('{"a": [1,}')
    assert str(caught.value).startswith("--kwargs is not valid JSON: ")
    assert str(caught.value).endswith("(line 1, column 10 of the value)")
    plan = {
        "format_version": "1.2",
        "terraform_version": "1.9.0",
        "planned_values": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_sagemaker_pipeline.p",
                        "type": "aws_sagemaker_pipeline",
                        "name": "p",
                        "values": {"pipeline_name": "p", "pipeline_definition": '{\n"Steps": ['},
                    }
                ]
            }
        },
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    with pytest.raises(InputError) as caught:
        load_file(path, explicit=True)
    assert "pipeline_definition is not valid JSON: " in str(caught.value)
    assert str(caught.value).endswith("(line 2, column 11 of the definition)")
