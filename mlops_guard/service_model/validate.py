"""Validate step ``Arguments`` against the SageMaker API request they become.

When a step starts, the pipeline service resolves the step's expressions and calls the
operation its type maps to (``STEP_OPERATIONS``) with the arguments as the request. The
service validates that request against the same model botocore ships; this module does it
before the pipeline is deployed, against the shapes in ``sagemaker-requests.json``.

Expressions are values too, judged by what they can produce: a parameter by its declared
``Type`` and its default (a default that breaks a member is reported at the default), an
execution variable or ``Std:Join`` as a string, a step property by the type of the
response member its path names. What cannot be known (``Std:JsonGet``, a Lambda's
outputs, a property path this model does not know) is accepted: a false alarm on a valid
pipeline costs more than a miss.
"""

from __future__ import annotations

import difflib
import re
from collections import namedtuple
from functools import cache

from mlops_guard.pointer import join
from mlops_guard.service_model import service_model

STEP_OPERATIONS = {
    "Processing": "CreateProcessingJob",
    "QualityCheck": "CreateProcessingJob",
    "ClarifyCheck": "CreateProcessingJob",
    "Training": "CreateTrainingJob",
    "Transform": "CreateTransformJob",
    "Tuning": "CreateHyperParameterTuningJob",
    "Model": "CreateModel",
    "RegisterModel": "CreateModelPackage",
    "AutoML": "CreateAutoMLJob",
}
"""Step type -> the operation whose request its ``Arguments`` are. Training covers
``@step`` functions and notebook jobs (both rendered as Training steps); QualityCheck and
ClarifyCheck run processing jobs. Other step types (Condition, Fail, Lambda, Callback, EMR,
EMRServerless...) carry no SageMaker request and are not validated here."""

FILLED_BY_PIPELINE = {
    "CreateProcessingJob": frozenset({"ProcessingJobName"}),
    "CreateTrainingJob": frozenset({"TrainingJobName"}),
    "CreateTransformJob": frozenset({"TransformJobName"}),
    "CreateHyperParameterTuningJob": frozenset({"HyperParameterTuningJobName"}),
    "CreateModel": frozenset({"ModelName"}),
    "CreateAutoMLJob": frozenset({"AutoMLJobName"}),
}
"""Required members the pipeline service fills in when it starts the step: the name of the
job (or model) it creates. The SDK removes them from every step's arguments
(``trim_request_dict`` in ``sagemaker.core.workflow.utilities``, called by the Processing,
Training, Transform, Tuning, Model, AutoML, QualityCheck and ClarifyCheck steps) unless
the pipeline opts into custom job prefixes, and the service generates a unique name per
execution."""

STEP_PROPERTIES = {
    "Processing": ("DescribeProcessingJob",),
    "Training": ("DescribeTrainingJob",),
    "Transform": ("DescribeTransformJob",),
    "Tuning": ("DescribeHyperParameterTuningJob", "ListTrainingJobsForHyperParameterTuningJob"),
    "Model": ("DescribeModel",),
    "RegisterModel": ("DescribeModelPackage",),
    "AutoML": ("DescribeAutoMLJob",),
}
"""Step type -> the responses whose members its ``Properties`` are (the SDK builds step
properties from these shapes)."""

PARAMETER_TYPES = {"String": "string", "Integer": "integer", "Float": "float", "Boolean": "boolean"}

_ACCEPTS = {
    "string": {"string"},
    "timestamp": {"string", "integer", "float", "timestamp"},
    "blob": {"string", "blob"},
    "integer": {"integer"},
    "long": {"integer"},
    "float": {"integer", "float"},
    "double": {"integer", "float"},
    "boolean": {"boolean"},
    "structure": {"structure"},
    "list": {"list"},
    "map": {"map", "structure"},
}
"""Shape type -> the kinds of value it accepts."""
_KIND = {"long": "integer", "double": "float", "timestamp": "timestamp"}
_PROPERTY_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(?:'([^']*)'|\"([^\"]*)\"|(\d+))\]")
_MAX_DEPTH = 64

Problem = namedtuple("Problem", "check pointer message subject")
"""One problem: ``check`` is ``members`` (unknown or missing), ``types`` or ``values``."""


@cache
def _pattern(text: str) -> re.Pattern:
    return re.compile(text)


def _kind_of(value) -> str | None:
    """The kind of a literal JSON value (``None`` for null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "structure"


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _expected(shape_name: str, shape: dict) -> str:
    kind = _KIND.get(shape["t"], shape["t"])
    named = {"structure": "object", "map": "object"}.get(kind, kind)
    return ("an " if named[0] in "aeiou" else "a ") + named


class RequestValidator:
    """Validates the request-carrying steps of one definition; ``problems`` holds what
    it found, in document order."""

    def __init__(self, definition):
        self.definition = definition
        self.model = service_model()
        self.shapes = _shapes()
        self.problems: list[Problem] = []
        self._seen: set = set()
        self._step = None

    def run(self) -> list[Problem]:
        for step in self.definition.steps:
            operation = STEP_OPERATIONS.get(step.type)
            if operation is None or not isinstance(step.raw.get("Arguments"), dict):
                continue
            self._step = step
            request = self.model["requests"][operation]
            excused = FILLED_BY_PIPELINE.get(operation, frozenset())
            self._structure(
                step.arguments,
                self.shapes[request],
                step.arguments_pointer,
                f"{operation} request",
                0,
                excused,
            )
        return self.problems

    # -- reporting ---------------------------------------------------------------------

    def _report(self, check: str, pointer: str, message: str) -> None:
        key = (check, pointer, message)
        if key not in self._seen:
            self._seen.add(key)
            subject = self._step.name if self._step is not None else None
            self.problems.append(Problem(check, pointer, message, subject))

    # -- literals ----------------------------------------------------------------------
    #
    # The walk visits every value of every request, so it is written for speed: a value's
    # pointer and label are built only when it is reported (``parent`` pointer plus
    # ``key``; ``label`` a member name or ``(name, index)`` for list items).

    def _value(self, value, shape_name, parent, key, label, depth, excused=frozenset()):
        shape = self.shapes[shape_name]
        kind = shape["t"]
        vtype = type(value)
        if vtype is dict:
            if len(value) == 1:
                first = next(iter(value))
                if first == "Get" or first.startswith("Std:"):
                    self._expression(value, shape_name, join(parent, key), _text(label))
                    return
            if kind == "structure":
                if depth < _MAX_DEPTH:
                    self._structure(value, shape, join(parent, key), label, depth, excused)
                return
            if kind == "map":
                if depth < _MAX_DEPTH:
                    self._map(value, shape, join(parent, key), label, depth)
                return
        elif vtype is list:
            if kind == "list":
                if depth < _MAX_DEPTH:
                    self._list(value, shape, join(parent, key), label, depth)
                return
        elif vtype is str:
            if kind == "string":
                if len(shape) > 1:
                    self._scalar(value, shape, parent, key, label)
                return
            if kind == "timestamp" or kind == "blob":
                return
        elif value is None:
            return
        elif _kind_of(value) in _ACCEPTS[kind]:
            if len(shape) > 1:
                self._scalar(value, shape, parent, key, label)
            return
        self._report(
            "types",
            join(parent, key),
            f"{_text(label)} {_show(value)} is not {_expected(shape_name, shape)}",
        )

    def _structure(self, value, shape, pointer, label, depth, excused) -> None:
        members = shape["m"]
        for name, item in value.items():
            member = members.get(name)
            if member is None:
                self._report("members", join(pointer, name), self._unknown(name, label, members))
            elif item is not None:
                self._value(item, member, pointer, name, name, depth + 1)
        for name in shape.get("r", ()):
            if value.get(name) is None and name not in excused:
                self._report(
                    "members", pointer, f"{_text(label)} is missing required member {name!r}"
                )
        if shape.get("u"):
            given = [name for name in value if value[name] is not None]
            if len(given) > 1:
                self._report(
                    "values",
                    pointer,
                    f"{_text(label)} sets {', '.join(given)}: it takes exactly one",
                )

    def _unknown(self, name: str, label, members: dict) -> str:
        close = difflib.get_close_matches(name, list(members), n=3, cutoff=0.6)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        return f"{_text(label)} has no member {name!r}{hint}"

    def _list(self, value, shape, pointer, label, depth) -> None:
        if "n" in shape or "x" in shape:
            self._size(len(value), shape, pointer, label, "items")
        member = shape["l"]
        name = label if type(label) is str else _text(label)
        for index, item in enumerate(value):
            if item is not None:
                self._value(item, member, pointer, index, (name, index), depth + 1)

    def _map(self, value, shape, pointer, label, depth) -> None:
        if "n" in shape or "x" in shape:
            self._size(len(value), shape, pointer, label, "entries")
        key_shape, member = self.shapes[shape["k"]], shape["v"]
        name = _text(label)
        for key, item in value.items():
            if len(key_shape) > 1:
                self._scalar(key, key_shape, pointer, key, f"{name} key")
            if item is not None:
                self._value(item, member, pointer, key, f"{name}[{key!r}]", depth + 1)

    def _size(self, size: int, shape: dict, pointer: str, label, what: str) -> None:
        if "n" in shape and size < shape["n"]:
            message = f"has {size} {what}, fewer than {shape['n']}"
            self._report("values", pointer, f"{_text(label)} {message}")
        if "x" in shape and size > shape["x"]:
            message = f"has {size} {what}, more than {shape['x']}"
            self._report("values", pointer, f"{_text(label)} {message}")

    def _scalar(self, value, shape, parent, key, label) -> None:
        message = self.constraint_problem(value, shape)
        if message:
            self._report("values", join(parent, key), f"{_text(label)} {_show(value)} {message}")

    def constraint_problem(self, value, shape: dict) -> str | None:
        """What is wrong with a scalar ``value`` for ``shape`` (its kind already
        accepted), or None."""
        kind = shape["t"]
        if kind == "string" and isinstance(value, str):
            enum = shape.get("E")
            if enum is not None and value not in enum:
                return _not_one_of(value, shape["e"])
            if "n" in shape and len(value) < shape["n"]:
                return f"is shorter than {shape['n']} characters"
            if "x" in shape and len(value) > shape["x"]:
                return f"is longer than {shape['x']} characters"
            if "p" in shape and not _pattern(shape["p"]).fullmatch(value):
                return f"does not match the API's pattern {shape['p']}"
        elif kind in ("integer", "long", "float", "double") and not isinstance(value, bool):
            if "n" in shape and value < shape["n"]:
                return f"is less than the minimum {shape['n']}"
            if "x" in shape and value > shape["x"]:
                return f"is more than the maximum {shape['x']}"
        return None

    # -- expressions -------------------------------------------------------------------

    def _expression(self, value: dict, shape_name: str, pointer: str, label: str) -> None:
        shape = self.shapes[shape_name]
        key, argument = next(iter(value.items()))
        produced, what = None, None
        if key == "Std:Join":
            produced, what = "string", "a Std:Join"
        elif key == "Get" and isinstance(argument, str):
            if argument.startswith("Execution."):
                produced, what = "string", argument
            elif argument.startswith("Parameters."):
                self._parameter(argument.split(".", 1)[1], shape_name, pointer, label)
                return
            elif argument.startswith("Steps."):
                produced = self._property_kind(argument)
                what = f"{argument} ({produced})"
        if produced is None or produced in _ACCEPTS[shape["t"]]:
            return
        self._report("types", pointer, f"{label} gets {what}, not {_expected(shape_name, shape)}")

    def _parameter(self, name: str, shape_name: str, pointer: str, label: str) -> None:
        parameter = self.definition.parameters_by_name.get(name)
        if parameter is None:
            return  # an undeclared parameter is ST002's finding
        shape = self.shapes[shape_name]
        produced = PARAMETER_TYPES.get(parameter.type)
        if produced is not None and produced not in _ACCEPTS[shape["t"]]:
            self._report(
                "types",
                pointer,
                f"{label} gets {parameter.type} parameter {name!r}, "
                f"not {_expected(shape_name, shape)}",
            )
            return
        if not parameter.has_default or parameter.default is None:
            return
        default = parameter.default
        step = self._step.name if self._step is not None else "?"
        at = join(parameter.pointer, "DefaultValue")
        if _kind_of(default) not in _ACCEPTS[shape["t"]]:
            self._report(
                "types",
                at,
                f"default {_show(default)} of parameter {name!r} flows into {label} of step "
                f"{step!r}, which takes {_expected(shape_name, shape)}",
            )
            return
        message = self.constraint_problem(default, shape)
        if message:
            self._report(
                "values",
                at,
                f"default {_show(default)} of parameter {name!r} flows into {label} of step "
                f"{step!r}: {label} {_show(default)} {message}",
            )

    def _property_kind(self, path: str) -> str | None:
        """The kind of value a step property path names, or None when it is not known."""
        _, _, rest = path.partition(".")
        name_end = re.match(r"[^.\[]+", rest)
        if name_end is None:
            return None
        step = self.definition.steps_by_name.get(name_end.group(0))
        if step is None:
            return None
        tail = rest[name_end.end() :]
        for operation in STEP_PROPERTIES.get(step.type, ()):
            shape_name = self.model["responses"][operation]
            found = self._resolve(shape_name, tail)
            if found is not None:
                kind = self.shapes[found]["t"]
                return _KIND.get(kind, kind)
        return None

    def _resolve(self, shape_name: str, tail: str) -> str | None:
        position = 0
        while position < len(tail):
            match = _PROPERTY_TOKEN.match(tail, position)
            if match is None:
                return None
            position = match.end()
            shape = self.shapes[shape_name]
            if match.group(1) is not None:
                if shape["t"] != "structure" or match.group(1) not in shape["m"]:
                    return None
                shape_name = shape["m"][match.group(1)]
            elif shape["t"] == "list":
                shape_name = shape["l"]
            elif shape["t"] == "map":
                shape_name = shape["v"]
            else:
                return None
        return shape_name


def _text(label) -> str:
    """A label as shown: a member name, or ``name[index]`` for a list item."""
    return label if type(label) is str else f"{label[0]}[{label[1]}]"


@cache
def _shapes() -> dict[str, dict]:
    """The shipped shapes, each enum also as a set (``E``) for quick membership tests."""
    shapes = service_model()["shapes"]
    return {
        name: {**shape, "E": frozenset(shape["e"])} if "e" in shape else shape
        for name, shape in shapes.items()
    }


def _not_one_of(value: str, enum: list[str]) -> str:
    if len(enum) <= 12:
        return "is not one of: " + ", ".join(enum)
    close = difflib.get_close_matches(value, enum, n=3, cutoff=0.6)
    hint = f" (closest: {', '.join(close)})" if close else ""
    return f"is not one of the {len(enum)} values the API accepts{hint}"


def validate(definition) -> list[Problem]:
    """Every problem of every request-carrying step of ``definition``; the shapes are
    read only when the definition has such a step."""
    if not any(step.type in STEP_OPERATIONS for step in definition.steps):
        return []
    return RequestValidator(definition).run()
