"""Pipeline definition JSON files and ``aws sagemaker describe-pipeline`` output."""

from __future__ import annotations

import json
from pathlib import Path

from mlops_guard.definition import Definition
from mlops_guard.errors import InputError
from mlops_guard.loaders.limits import check_document
from mlops_guard.targets import Target


def parse_json(
    text: str,
    shown: str,
    pointer: str = "",
    *,
    what: str = "invalid JSON",
    where: str | None = None,
    within: str | None = None,
):
    """``text`` parsed, within the depth and string limits of :mod:`.limits`; any defect
    (including nesting too deep for ``json`` itself) is a one-line input error. For JSON
    held in a string of another document (a template's definition body), ``pointer`` is
    where that string is, and ``what``, ``where`` and ``within`` word the error as
    :func:`mlops_guard.errors.invalid_json` does."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:  # an integer of 5,000 digits, deep nesting
        from mlops_guard.errors import invalid_json

        raise invalid_json(error, what, file=shown, where=where, within=within) from None
    check_document(document, shown, pointer, text_length=len(text))
    return document


class LazyMarks:
    """Line marks built on first use: most files have no finding and never need them."""

    __slots__ = ("_marks", "_text")

    def __init__(self, text: str):
        self._text = text
        self._marks = None

    def locate(self, pointer: str):
        if self._marks is None:
            from mlops_guard.loaders.json_marks import JsonMarks

            self._marks = JsonMarks(self._text)
        return self._marks.locate(pointer)


def is_definition(document) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("Steps"), list)
        and (
            "Version" in document
            or "Parameters" in document
            or "PipelineExperimentConfig" in document
        )
    )


def check_shape(document: dict, shown: str, pointer: str = "") -> None:
    """Reject definitions whose basic shape is wrong before any rule looks at them."""
    for index, step in enumerate(document["Steps"]):
        where = f"{pointer}/Steps/{index}"
        if not isinstance(step, dict):
            raise InputError("expected a step object", file=shown, where=where)
        if not isinstance(step.get("Name"), str) or not isinstance(step.get("Type"), str):
            raise InputError(
                "expected a step with string 'Name' and 'Type'", file=shown, where=where
            )
    parameters = document.get("Parameters", [])
    if not isinstance(parameters, list):
        raise InputError("expected a list of parameters", file=shown, where=f"{pointer}/Parameters")
    for index, parameter in enumerate(parameters):
        if not isinstance(parameter, dict) or not isinstance(parameter.get("Name"), str):
            raise InputError(
                "expected a parameter object with a string 'Name'",
                file=shown,
                where=f"{pointer}/Parameters/{index}",
            )


def load(path: Path, text: str, shown: str) -> list[Target] | None:
    document = parse_json(text, shown)
    if is_definition(document):
        check_shape(document, shown)
        marks = LazyMarks(text)
        name = path.stem.removesuffix(".definition").removesuffix("-definition")
        target = Target(
            file=shown,
            kind="definition",
            name=name,
            definition=Definition(document, name=None),
            locate=marks.locate,
        )
    elif isinstance(document, dict) and isinstance(document.get("PipelineDefinition"), str):
        target = _described(document, text, shown)
    else:
        return None
    target.standalone = True  # nothing but this file's text decides its findings
    return [target]


def _described(document: dict, text: str, shown: str) -> Target:
    """``describe-pipeline`` output: the definition is a JSON string inside the object."""
    inner = document["PipelineDefinition"]
    try:
        definition = json.loads(inner)
    except (ValueError, RecursionError) as error:
        from mlops_guard.errors import invalid_json

        raise invalid_json(
            error,
            "invalid JSON in the definition string",
            file=shown,
            where="/PipelineDefinition",
            within="the string",
        ) from None
    check_document(definition, shown, "/PipelineDefinition", text_length=len(inner))
    if not is_definition(definition):
        raise InputError(
            "PipelineDefinition is not a pipeline definition (no 'Steps' list)",
            file=shown,
            where="/PipelineDefinition",
        )
    check_shape(definition, shown, "/PipelineDefinition")
    outer = LazyMarks(text)
    name = document.get("PipelineName") if isinstance(document.get("PipelineName"), str) else None

    def locate(pointer: str) -> tuple[int, int] | None:
        if pointer == "/PipelineDefinition" or pointer.startswith("/PipelineDefinition/"):
            # The definition is an escaped string: point at the string itself.
            return outer.locate("/PipelineDefinition")
        return outer.locate(pointer)  # the wrapper's own members (PipelineName)

    listed = document.get("Tags")
    if listed is not None and not isinstance(listed, list):
        raise InputError("expected a list of tags", file=shown, where="/Tags")
    tags = {}
    for tag in listed or []:
        if isinstance(tag, dict) and "Key" in tag:
            tags[str(tag["Key"])] = str(tag.get("Value", ""))
    role = document.get("RoleArn")
    if role is not None and not isinstance(role, str):
        raise InputError("expected RoleArn to be a string", file=shown, where="/RoleArn")
    target = Target(
        file=shown,
        kind="definition",
        name=name or Path(shown).stem,
        definition=Definition(definition, name=name, tags=tags),
        base_pointer="/PipelineDefinition",
        locate=locate,
        facts={"role_arn": role, "tags": tags} if name else {},
    )
    if name is not None:
        target.name_pointer = "/PipelineName"
    return target
