"""Generate ``policy-schema.json``: the policy model (``model.py``) as plain data, so
that a cold run can validate an ordinary policy without importing pydantic.

Run ``python -m mlops_guard.policy.describe`` after changing ``model.py``; a test fails
while the shipped file differs from what this generates. Only this module and
``model.py`` import pydantic; :mod:`mlops_guard.policy.plain` reads the file.

A type is a list whose first item names it: ``["bool"]``, ``["int", ge]``,
``["float", ge]``, ``["str", pattern, min_length]``, ``["date"]``, ``["any"]`` (an
untyped ``dict``'s contents), ``["literal", *values]``, ``["list", item]``,
``["map", value, key_pattern]``, ``["model", name]``, ``["optional", type]``. A model is
``{"fields": [[name, type, default]], "regex": [field...], "needs_target": bool}``;
a required field's default is the string ``"<required>"``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import types
import typing
from pathlib import Path

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from mlops_guard.policy import model

SCHEMA_FILE = Path(__file__).with_name("policy-schema.json")
REQUIRED = "<required>"


def describe() -> dict:
    """The whole policy model: ``{"root": "Policy", "models": {name: model}}``."""
    models: dict[str, dict] = {}
    _model(model.Policy, models)
    return {"root": "Policy", "models": models}


def _model(cls: type[BaseModel], models: dict) -> str:
    name = cls.__name__
    if name in models:
        return name
    models[name] = {}  # claimed before its fields: a model may nest itself
    decorators = cls.__pydantic_decorators__
    regex: list[str] = []
    for validator in decorators.field_validators.values():
        function = getattr(validator.func, "__func__", validator.func)
        if function.__name__ not in ("_check_regex", "_valid_patterns"):
            raise SystemExit(f"{name}: field validator {function.__name__} is not described")
        regex.extend(validator.info.fields)
    model_checks = [v.func.__name__ for v in decorators.model_validators.values()]
    if set(model_checks) - {"_needs_target"}:
        raise SystemExit(f"{name}: model validators {model_checks} are not described")
    fields = []
    for field_name, field in cls.model_fields.items():
        kind = _type(field.annotation, field.metadata, models)
        if field.is_required():
            default = REQUIRED
        elif field.default is PydanticUndefined:
            raise SystemExit(f"{name}.{field_name}: a default factory is not described")
        else:
            default = _dumped(field.default)
        fields.append([field_name, kind, default])
    models[name] = {"fields": fields, "regex": regex, "needs_target": bool(model_checks)}
    return name


def _type(annotation, metadata, models: dict) -> list:
    constraints = {type(item).__name__: item for item in metadata}
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type(arguments[0], [*arguments[1:], *metadata], models)
    if origin in (typing.Union, types.UnionType):
        present = [item for item in arguments if item is not type(None)]
        if len(present) != 1 or len(arguments) != 2:
            raise SystemExit(f"union {annotation} is not described")
        return ["optional", _type(present[0], metadata, models)]
    if origin is typing.Literal:
        return ["literal", *arguments]
    if origin is list:
        return ["list", _type(arguments[0], [], models)]
    if origin is dict:
        key = _type(arguments[0], [], models)
        if key[0] != "str":
            raise SystemExit(f"dict key {arguments[0]} is not described")
        return ["map", _type(arguments[1], [], models), key[1]]
    if annotation is dict:
        return ["map", ["any"], None]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ["model", _model(annotation, models)]
    if annotation is bool:
        return ["bool"]
    if annotation is int:
        return ["int", _bound(constraints)]
    if annotation is float:
        return ["float", _bound(constraints)]
    if annotation is str:
        pattern = getattr(constraints.get("_PydanticGeneralMetadata"), "pattern", None)
        pattern = pattern or getattr(constraints.get("StringConstraints"), "pattern", None)
        length = getattr(constraints.get("MinLen"), "min_length", None)
        return ["str", pattern, length]
    if annotation is dt.date:
        return ["date"]
    raise SystemExit(f"type {annotation} is not described")


def _bound(constraints: dict):
    ge = constraints.get("Ge")
    return ge.ge if ge is not None else None


def _dumped(value):
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return json.loads(json.dumps(value))


def render() -> str:
    return json.dumps(describe(), indent=1) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(render())
    sys.stdout.write(f"wrote {SCHEMA_FILE}\n")
