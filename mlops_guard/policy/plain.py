"""Validate an ordinary policy without pydantic.

A cold run (CI's usual case: no cached policy) used to import pydantic and build the
policy model before anything could be checked: about 150 ms of a 200 ms pre-commit run,
and the serial part that bounds a check spread over several cores. Most policies need
nothing pydantic does beyond checking: every value already has exactly the type the
model gives it (YAML and TOML written by hand). For those, :func:`validated` builds the
result pydantic would (``Policy.model_validate(document).model_dump(mode="json")``) from
``policy-schema.json``, the model described as data by :mod:`.describe`.

It only ever accepts. A value pydantic would coerce (``"3"`` for an integer, ``1`` for a
boolean, a date written as a string), reject, or that is anything but plain data makes it
answer None, and pydantic then judges the policy and explains what is wrong; so error
messages and coercions stay pydantic's. A test holds both to the same result on generated
and broken policies.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from functools import cache
from pathlib import Path

SCHEMA_FILE = Path(__file__).with_name("policy-schema.json")
REQUIRED = "<required>"
_SAFE_INTEGER = 2**53
"""Largest integer a float field takes here: beyond it, converting may round."""


class _Unsure(Exception):
    """Something only pydantic can decide."""


@cache
def _schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def validated(document) -> dict | None:
    """The validated policy, as pydantic's ``model_dump(mode="json")`` gives it, or None
    when pydantic must decide (see the module's docstring)."""
    schema = _schema()
    try:
        return _model(schema["root"], document, schema["models"])
    except _Unsure:
        return None
    except RecursionError:  # nested deeper than any policy: pydantic's to judge
        return None


def _model(name: str, value, models: dict) -> dict:
    if type(value) is not dict:
        raise _Unsure
    described = models[name]
    fields = described["fields"]
    if not value.keys() <= _names(name):
        raise _Unsure  # an unknown key (or a key that is not a string)
    result = {}
    for field, kind, default in fields:
        if field in value:
            result[field] = _value(kind, value[field], models)
        elif default == REQUIRED:
            raise _Unsure
        else:
            result[field] = json.loads(json.dumps(default))  # a fresh copy
    for field in described["regex"]:
        patterns = result[field]
        for pattern in patterns if type(patterns) is list else [patterns]:
            if pattern is not None:
                try:
                    re.compile(pattern)
                except (re.error, RecursionError, OverflowError):
                    raise _Unsure from None
    if described["needs_target"] and not (
        result.get("file") or result.get("pipeline") or result.get("step")
    ):
        raise _Unsure
    return result


@cache
def _names(name: str) -> frozenset:
    return frozenset(field for field, _, _ in _schema()["models"][name]["fields"])


def _value(kind: list, value, models: dict):
    tag = kind[0]
    if tag == "str":
        _, pattern, shortest = kind
        if type(value) is not str:
            raise _Unsure
        if shortest is not None and len(value) < shortest:
            raise _Unsure
        if pattern is not None and not (value.isascii() and re.fullmatch(pattern, value)):
            raise _Unsure
        return value
    if tag == "bool":
        if type(value) is not bool:
            raise _Unsure
        return value
    if tag == "int":
        if type(value) is not int or (kind[1] is not None and value < kind[1]):
            raise _Unsure
        return value
    if tag == "float":
        if type(value) is int and abs(value) <= _SAFE_INTEGER:
            value = float(value)
        if type(value) is not float or not math.isfinite(value):
            raise _Unsure
        if kind[1] is not None and value < kind[1]:
            raise _Unsure
        return value
    if tag == "literal":
        if any(type(value) is type(allowed) and value == allowed for allowed in kind[1:]):
            return value
        raise _Unsure
    if tag == "list":
        if type(value) is not list:
            raise _Unsure
        return [_value(kind[1], item, models) for item in value]
    if tag == "map":
        if type(value) is not dict:
            raise _Unsure
        pattern = kind[2]
        result = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _Unsure
            if pattern is not None and not (key.isascii() and re.fullmatch(pattern, key)):
                raise _Unsure
            result[key] = _value(kind[1], item, models)
        return result
    if tag == "model":
        return _model(kind[1], value, models)
    if tag == "optional":
        return None if value is None else _value(kind[1], value, models)
    if tag == "date":
        if type(value) is not dt.date:
            raise _Unsure
        return value.isoformat()
    if tag == "any":
        return _plain(value)
    raise _Unsure


def _plain(value):
    """Untyped content (a module's ``kwargs``, a rule's section): plain JSON data is
    kept as it is; anything else (a date, a non-string key) is pydantic's to dump."""
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise _Unsure
        return value
    if kind is list:
        return [_plain(item) for item in value]
    if kind is dict:
        if not all(type(key) is str for key in value):
            raise _Unsure
        return {key: _plain(item) for key, item in value.items()}
    raise _Unsure
