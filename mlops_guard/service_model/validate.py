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
_PLACEHOLDER = re.compile(r"\$\{[^{}]*\}")
"""``${Name}``: what the CloudFormation and Terraform loaders leave where a value is known
only at deploy or plan time (they name it in an MG005 note). A string holding one could
be anything once deployed, so it is not judged."""

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
        self.excused: frozenset = frozenset()
        self._judged: set = set()
        self._fine: dict = {}

    def run(self) -> list[Problem]:
        for step in self.definition.steps:
            operation = STEP_OPERATIONS.get(step.type)
            if operation is None or not isinstance(step.raw.get("Arguments"), dict):
                continue
            self._step = step
            request = self.model["requests"][operation]
            excused = FILLED_BY_PIPELINE.get(operation, frozenset())
            self.excused = excused
            if _vouch(request, excused)(self, step.arguments):
                continue  # certainly valid: nothing to report, no walk that could report
            check = _checker(request)
            check(self, step.arguments, step.arguments_pointer, None, f"{operation} request", 0)
        return self.problems

    # -- reporting ---------------------------------------------------------------------

    def _report(self, check: str, pointer, message: str) -> None:
        if type(pointer) is tuple:
            pointer = _pointer(pointer)
        key = (check, pointer, message)
        if key not in self._seen:
            self._seen.add(key)
            subject = self._step.name if self._step is not None else None
            self.problems.append(Problem(check, pointer, message, subject))

    # -- literals ----------------------------------------------------------------------
    #
    # The walk visits every value of every request, so it runs on checkers compiled once
    # per shape (``_checker``), and a value's pointer and label are built only when it is
    # reported (``parent`` pointer plus ``key``; ``label`` a member name, or
    # ``(name, index)`` for a list item).

    def _other(self, value, shape_name, parent, key, label) -> None:
        """A value its checker's fast path did not accept: an expression, a null, or a
        value of the wrong type."""
        if value is None or (type(value) is str and _PLACEHOLDER.search(value)):
            return
        if type(value) is dict and len(value) == 1:
            first = next(iter(value))
            if first == "Get" or first.startswith("Std:"):
                path = value.get("Get")
                if type(path) is not str:
                    self._expression(value, shape_name, parent, key, label)
                    return
                if self.judged_fine(path, shape_name):
                    return  # the same expression in a member of the same shape: judged
                verdict = self._verdict_key(path, shape_name)
                if verdict in _FINE:
                    self._judged_fine(path, shape_name)
                    return  # judged fine in another definition, with the same context
                found = len(self.problems)
                self._expression(value, shape_name, parent, key, label)
                if path.startswith("Parameters."):
                    fine = self._fine.get((path[11:], shape_name)) is True
                else:
                    fine = len(self.problems) == found
                    if fine:
                        self._fine[path, shape_name] = True
                if fine and verdict is not None and len(_FINE) < _MAX_VERDICTS:
                    _FINE.add(verdict)
                return
        shape = self.shapes[shape_name]
        if _kind_of(value) in _ACCEPTS[shape["t"]]:
            return  # e.g. an integral float where an integer belongs
        self._report(
            "types",
            _pointer(parent, key),
            f"{_text(label)} {_show(value)} is not {_expected(shape_name, shape)}",
        )

    def _verdict_key(self, path: str, shape_name: str) -> tuple | None:
        """What decides whether ``{"Get": path}`` fits a member of ``shape_name``, as a
        key valid across definitions: the type of the step a property path names, the
        type and default of a parameter (None when a default cannot be a key, or when
        the path or default is too long to keep)."""
        if len(path) > _MAX_REMEMBERED:
            return None
        if path.startswith("Steps."):
            name = _STEP_NAME.match(path, 6)
            step = self.definition.steps_by_name.get(name.group(0)) if name else None
            return (path, shape_name, step.type if step is not None else None)
        if path.startswith("Parameters."):
            parameter = self.definition.parameters_by_name.get(path[11:])
            if parameter is None:
                return (path, shape_name, None)
            default = parameter.default
            if default is not None and type(default) not in _REMEMBERED_DEFAULTS:
                return None
            if type(default) is str and len(default) > _MAX_REMEMBERED:
                return None
            has_default = parameter.has_default
            return (path, shape_name, parameter.type, has_default, type(default), default)
        return (path, shape_name)

    def _judged_fine(self, path: str, shape_name: str) -> None:
        """Remember in this definition what :meth:`_expression` remembers when it judges
        ``path`` fine (see :meth:`judged_fine`)."""
        self._fine[path, shape_name] = True
        if path.startswith("Parameters."):
            self._fine[path[11:], shape_name] = True

    def judged_fine(self, path: str, shape_name: str) -> bool:
        """Whether ``{"Get": path}`` in a member of ``shape_name`` was already judged
        fine in this definition: the same step property or execution variable, or a
        parameter whose type and default fit the shape."""
        return (path, shape_name) in self._fine

    def known_fine(self, path: str, shape_name: str) -> bool:
        """Whether ``{"Get": path}`` in a member of ``shape_name`` was judged fine in an
        earlier definition, with the same context (:meth:`_verdict_key`); remembered in
        this one if so. The checkers call it after :meth:`judged_fine`."""
        if _FINE and self._verdict_key(path, shape_name) in _FINE:
            self._judged_fine(path, shape_name)
            return True
        return False

    def _members(self, value: dict, shape: dict, pointer, label, excused) -> None:
        """Unknown, missing and (for unions) surplus members of a structure."""
        members = shape["m"]
        for name in value:
            if name not in members:
                self._report(
                    "members", _pointer(pointer, name), self._unknown(name, label, members)
                )
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

    def _size(self, size: int, shape: dict, pointer, label, what: str) -> None:
        if "n" in shape and size < shape["n"]:
            message = f"has {size} {what}, fewer than {shape['n']}"
            self._report("values", pointer, f"{_text(label)} {message}")
        if "x" in shape and size > shape["x"]:
            message = f"has {size} {what}, more than {shape['x']}"
            self._report("values", pointer, f"{_text(label)} {message}")

    def _scalar(self, value, shape, parent, key, label) -> None:
        message = self.constraint_problem(value, shape)
        if message:
            self._report(
                "values", _pointer(parent, key), f"{_text(label)} {_show(value)} {message}"
            )

    def constraint_problem(self, value, shape: dict) -> str | None:
        """What is wrong with a scalar ``value`` for ``shape`` (its kind already
        accepted), or None."""
        kind = shape["t"]
        if kind == "string" and isinstance(value, str):
            if _PLACEHOLDER.search(value):
                return None
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

    def _expression(self, value: dict, shape_name: str, parent, key, label) -> None:
        shape = self.shapes[shape_name]
        function, argument = next(iter(value.items()))
        produced, what = None, None
        if function == "Std:Join":
            produced, what = "string", "a Std:Join"
        elif function == "Get" and type(argument) is str:
            if argument.startswith("Execution."):
                produced, what = "string", argument
            elif argument.startswith("Parameters."):
                name = argument[len("Parameters.") :]
                self._parameter(name, shape_name, parent, key, label)
                return
            elif argument.startswith("Steps."):
                produced = _property_kind(self.definition, argument)
                what = f"{argument} ({produced})"
        if produced is None or produced in _ACCEPTS[shape["t"]]:
            return
        self._report(
            "types",
            _pointer(parent, key),
            f"{_text(label)} gets {what}, not {_expected(shape_name, shape)}",
        )

    def _parameter(self, name: str, shape_name: str, parent, key, label) -> None:
        fine = self._fine.get((name, shape_name))
        if fine is None:
            fine = self._fine[name, shape_name] = self._parameter_fits(name, shape_name)
            if fine:  # for the checkers' inlined test (``judged_fine``)
                self._fine["Parameters." + name, shape_name] = True
        if fine:
            return  # the common case, decided once per parameter and member shape
        parameter = self.definition.parameters_by_name.get(name)
        if parameter is None:
            return  # an undeclared parameter is ST002's finding
        shape = self.shapes[shape_name]
        label = _text(label)
        produced = PARAMETER_TYPES.get(parameter.type)
        if produced is not None and produced not in _ACCEPTS[shape["t"]]:
            self._report(
                "types",
                _pointer(parent, key),
                f"{label} gets {parameter.type} parameter {name!r}, "
                f"not {_expected(shape_name, shape)}",
            )
            return
        if not parameter.has_default or parameter.default is None:
            return
        judged = (name, shape_name, label, self._step.pointer if self._step else None)
        if judged in self._judged:
            return  # its default was already held to this member of this step
        self._judged.add(judged)
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

    def _parameter_fits(self, name: str, shape_name: str) -> bool:
        """Whether parameter ``name`` (type and default) fits the shape without a
        finding: an undeclared parameter does (ST002 reports it)."""
        parameter = self.definition.parameters_by_name.get(name)
        if parameter is None:
            return True
        shape = self.shapes[shape_name]
        produced = PARAMETER_TYPES.get(parameter.type)
        if produced is not None and produced not in _ACCEPTS[shape["t"]]:
            return False
        default = parameter.default
        if not parameter.has_default or default is None:
            return True
        if type(default) is str and _PLACEHOLDER.search(default):
            return True
        if _kind_of(default) not in _ACCEPTS[shape["t"]]:
            return False
        return self.constraint_problem(default, shape) is None


def _property_kind(definition, path: str) -> str | None:
    """The kind of value a step property path names, or None when it is not known."""
    rest = path[len("Steps.") :]
    name_end = _STEP_NAME.match(rest)
    if name_end is None:
        return None
    step = definition.steps_by_name.get(name_end.group(0))
    if step is None:
        return None
    return _property_kind_of(step.type, rest[name_end.end() :])


_STEP_NAME = re.compile(r"[^.\[]+")


@cache
def _property_kind_of(step_type: str, tail: str) -> str | None:
    shapes, responses = _shapes(), service_model()["responses"]
    for operation in STEP_PROPERTIES.get(step_type, ()):
        found = _resolve(shapes, responses[operation], tail)
        if found is not None:
            kind = shapes[found]["t"]
            return _KIND.get(kind, kind)
    return None


def _resolve(shapes: dict, shape_name: str, tail: str) -> str | None:
    """The shape a property path's ``tail`` (``.ModelArtifacts.S3ModelArtifacts``,
    ``.Outputs['train']``) names under ``shape_name``, or None."""
    position = 0
    while position < len(tail):
        match = _PROPERTY_TOKEN.match(tail, position)
        if match is None:
            return None
        position = match.end()
        shape = shapes[shape_name]
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
    """A label as shown: a member name, ``name[index]`` for a list item or
    ``name['key']`` for a map entry."""
    if type(label) is str:
        return label
    return f"{_text(label[0])}[{label[1]!r}]"


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


# -- checkers compiled per shape ------------------------------------------------------------
#
# ``check(ctx, value, parent, key, label, depth)``: ``ctx`` is the RequestValidator that
# reports; ``value`` sits at ``key`` under the location ``parent`` (``parent`` itself when
# ``key`` is None: a step's whole arguments), a pointer or a chained ``(location, key)``
# tuple that ``_pointer`` turns into a JSON pointer when something is reported.

_CHECKERS: dict = {}


def _checker(shape_name: str):
    found = _CHECKERS.get(shape_name)
    if found is None:
        shape = _shapes()[shape_name]
        build = _BUILDERS.get(shape["t"], _build_scalar)
        found = _CHECKERS[shape_name] = build(shape_name, shape)
    return found


def _at(parent, key):
    """The location of a container, for its members: a pointer string is built only
    when something is reported (``_pointer``), so locations are chained tuples."""
    return parent if key is None else (parent, key)


def _pointer(location, key=None) -> str:
    """The JSON pointer of ``key`` under ``location`` (a pointer or a chained tuple)."""
    keys = [] if key is None else [key]
    while type(location) is tuple:
        location, part = location
        keys.append(part)
    return join(location, *reversed(keys))


_FAST: dict = {}

_ACCEPTED: dict[str, set] = {}
"""Shape name -> strings its checker accepted (length and pattern), for the shape's fast
path: one set lookup instead of a regular expression for a value met before (role ARNs,
image URIs, local paths and the like repeat across a repository's definitions)."""

_MAX_ACCEPTED = 4096
"""Most strings remembered per shape: a run over many files keeps a bounded memory."""

_MAX_REMEMBERED = 512
"""Longest string (value, default or path) remembered across definitions: a hostile file's
megabyte strings are judged every time rather than kept."""


def _accepted(shape_name: str) -> set:
    found = _ACCEPTED.get(shape_name)
    if found is None:
        found = _ACCEPTED[shape_name] = set()
    return found


def _fast(shape_name: str):
    """``(type, values)`` that accepts most valid leaf values without a call into
    Python: a value of exactly ``type`` that is ``in values`` (an enum's set, an integer
    range, for a constrained string the set of values its checker already accepted
    (``_ACCEPTED``); None for "any") is valid. None for shapes without a fast path; a
    value the fast path does not accept goes to the shape's checker, which decides and
    reports (and remembers a string it accepts)."""
    if shape_name in _FAST:
        return _FAST[shape_name]
    shape = _shapes()[shape_name]
    found = None
    if shape["t"] == "string":
        if "E" in shape:
            found = (str, shape["E"])
        elif len(shape) == 1:
            found = (str, None)
        else:
            found = (str, _accepted(shape_name))
    elif shape["t"] == "boolean":
        found = (bool, None)
    elif shape["t"] in ("integer", "long"):
        low, high = shape.get("n"), shape.get("x")
        if low is None and high is None:
            found = (int, None)
        else:
            low = -(2**63) if low is None else int(low)
            high = 2**63 if high is None else int(high)
            found = (int, range(low, high + 1))
    _FAST[shape_name] = found
    return found


def _build_structure(shape_name: str, shape: dict):
    members = shape["m"]
    required, union = frozenset(shape.get("r", ())), shape.get("u", False)
    resolved: dict = {}

    def check(ctx, value, parent, key, label, depth):
        if type(value) is not dict or (len(value) == 1 and _is_expression_key(value)):
            ctx._other(value, shape_name, parent, key, label)
            return
        if depth > _MAX_DEPTH:
            return
        pointer = parent if key is None else (parent, key)
        clean = True
        for name, item in value.items():
            try:
                kind, values, member = resolved[name]
            except KeyError:
                if name not in members:
                    clean = False
                    continue
                fast = _fast(members[name]) or (None, None)
                kind, values, member = resolved[name] = (*fast, _checker(members[name]))
            if type(item) is kind and (values is None or item in values):
                continue
            if item is not None:
                member(ctx, item, pointer, name, name, depth + 1)
        if required and not value.keys() >= required and _missing(ctx, value, required, depth):
            clean = False
        if not clean or union:
            ctx._members(value, shape, pointer, label, ctx.excused if depth == 0 else ())

    return check


def _missing(ctx, value: dict, required: frozenset, depth: int) -> bool:
    """Whether a required member is absent and not excused (the members the pipeline
    service fills in are excused in a step's arguments, at depth 0, only)."""
    excused = ctx.excused if depth == 0 else ()
    return any(name not in value and name not in excused for name in required)


_FINE: set = set()
"""Expressions judged fine, keyed by everything their verdict depends on (see
``RequestValidator._verdict_key``): a repository's definitions share parameters and step
properties, so each is judged once per run, not once per definition."""

_MAX_VERDICTS = 4096

_REMEMBERED_DEFAULTS = (str, int, float, bool)
"""The types of parameter default a verdict can be keyed by (a container default is
judged every time)."""


def forget() -> None:
    """Forget what earlier definitions taught this process (the strings each shape
    accepted, the expressions judged fine), as a new process starts: a benchmark that
    checks the same files cold several times in one process calls it between rounds, so
    each round pays what one ``mlops-guard check`` pays."""
    for accepted in _ACCEPTED.values():
        accepted.clear()  # the sets stay: the shapes' fast paths hold them
    _FINE.clear()


def _build_list(shape_name: str, shape: dict):
    member_name = shape["l"]
    sized = "n" in shape or "x" in shape
    low, high = shape.get("n", 0), shape.get("x", float("inf"))
    kind, values = _fast(member_name) or (None, None)
    member = None  # built on first use: shapes may nest themselves

    def check(ctx, value, parent, key, label, depth):
        nonlocal member
        if type(value) is not list:
            ctx._other(value, shape_name, parent, key, label)
            return
        if depth > _MAX_DEPTH:
            return
        pointer = parent if key is None else (parent, key)
        if sized and not low <= len(value) <= high:
            ctx._size(len(value), shape, pointer, label, "items")
        for index, item in enumerate(value):
            if type(item) is kind and (values is None or item in values):
                continue
            if item is not None:
                if (
                    kind is str
                    and type(item) is dict
                    and len(item) == 1
                    and _expression_fine(ctx, item, kind, member_name)
                ):
                    continue  # judged as the string checker judges it
                if member is None:
                    member = _checker(member_name)
                member(ctx, item, pointer, index, (label, index), depth + 1)

    return check


def _build_map(shape_name: str, shape: dict):
    key_shape_name, value_name = shape["k"], shape["v"]
    sized = "n" in shape or "x" in shape

    def check(ctx, value, parent, key, label, depth):
        if type(value) is not dict or (len(value) == 1 and _is_expression_key(value)):
            ctx._other(value, shape_name, parent, key, label)
            return
        if depth > _MAX_DEPTH:
            return
        pointer = _at(parent, key)
        if sized:
            ctx._size(len(value), shape, pointer, label, "entries")
        key_check, member = _checker(key_shape_name), _checker(value_name)
        keys = (_fast(key_shape_name) or (None, None))[1]
        kind, values = _fast(value_name) or (None, None)
        for entry, item in value.items():
            if keys is not None and entry not in keys:
                key_check(ctx, entry, pointer, entry, f"{_text(label)} key", depth + 1)
            if type(item) is kind and (values is None or item in values):
                continue
            if item is not None:
                member(ctx, item, pointer, entry, (label, entry), depth + 1)

    return check


def _build_string(shape_name: str, shape: dict):
    enum = shape.get("E")
    text = _text_test(shape_name)  # None for an enum or an unconstrained string
    accepted = _accepted(shape_name) if text is not None else None

    def check(ctx, value, parent, key, label, depth):
        if type(value) is not str:
            if not (
                type(value) is dict
                and len(value) == 1
                and _expression_fine(ctx, value, str, shape_name)
            ):
                ctx._other(value, shape_name, parent, key, label)
            return
        if enum is not None:
            if value not in enum:
                ctx._scalar(value, shape, parent, key, label)
            return
        if text is not None and not _text_fine(value, text, accepted):
            ctx._scalar(value, shape, parent, key, label)

    return check


def _build_scalar(shape_name: str, shape: dict):
    accepts = _ACCEPTS[shape["t"]]
    bounded = "n" in shape or "x" in shape

    def check(ctx, value, parent, key, label, depth):
        if _kind_of(value) not in accepts:
            ctx._other(value, shape_name, parent, key, label)
        elif bounded:
            ctx._scalar(value, shape, parent, key, label)

    return check


_BUILDERS = {
    "structure": _build_structure,
    "list": _build_list,
    "map": _build_map,
    "string": _build_string,
}


def _is_expression_key(value: dict) -> bool:
    first = next(iter(value))
    return first == "Get" or first.startswith("Std:")


# -- the fast path for valid requests ----------------------------------------------------
#
# Most requests are valid, and a walk that only has to answer "certainly valid?" needs none
# of the reporting checkers' bookkeeping (locations, labels, depth, what was reported). So
# each step's request is first put to a voucher compiled per shape (``_vouch``): it accepts
# a value only by the tests the checker accepts it by (the same fast paths, inlined string
# tests, remembered verdicts on expressions), and answers False at the first thing it
# cannot vouch for; the reporting checker then walks the request and decides. A voucher
# never accepts what the checker reports (tested on generated and mutated requests), and
# shapes do not nest (the deepest request is 10 levels), so its recursion is bounded.

_VOUCHERS: dict = {}


def _vouch(shape_name: str, excused: frozenset = frozenset()):
    """The voucher of ``shape_name``: ``vouch(ctx, value) -> bool``, True only when the
    checker would find nothing wrong with ``value`` (``excused``: required members the
    pipeline service fills in, for a step's whole request)."""
    found = _VOUCHERS.get((shape_name, excused))
    if found is None:
        shape = _shapes()[shape_name]
        build = _VOUCHER_BUILDERS.get(shape["t"])
        found = build(shape_name, shape, excused) if build else None
        _VOUCHERS[shape_name, excused] = found
    return found


def _entry(shape_name: str) -> tuple:
    """How a container's voucher takes a member or item of ``shape_name``: ``(kind,
    values, text, vouch, shape_name)``: a value of exactly ``kind`` in ``values`` (None:
    any) is fine at once; a container is fine if ``vouch`` says so; anything else is
    judged by :func:`_leaf_fine`."""
    kind, values = _fast(shape_name) or (None, None)
    return kind, values, _text_test(shape_name), _vouch(shape_name), shape_name


def _leaf_fine(ctx, item, entry: tuple) -> bool:
    """A scalar member or item the inline test did not accept: fine when it is a string
    its shape's length and pattern accept (``_text_fine``), an expression the checker
    accepts without a word, or null."""
    kind, values, text, _, shape_name = entry
    item_type = type(item)
    if item_type is kind:
        return text is not None and _text_fine(item, text, values)
    if item_type is dict:
        return len(item) == 1 and _expression_fine(ctx, item, kind, shape_name)
    return item is None


def _vouch_items(ctx, items, entry: tuple) -> bool:
    """Every one of ``items`` (a list's items, a map's values) is fine for ``entry``."""
    kind, values, _, inner, _ = entry
    for item in items:
        if type(item) is kind and (values is None or item in values):
            continue
        if not (inner(ctx, item) if inner is not None else _leaf_fine(ctx, item, entry)):
            return False
    return True


def _expression_fine(ctx, item: dict, kind, shape_name: str) -> bool:
    """A one-key object in a scalar member: fine when it is an expression the checker
    accepts without a word (``Std:Join`` and ``Execution`` variables for strings, an
    expression judged fine in this definition or an earlier one)."""
    if kind is str and "Std:Join" in item:
        return True
    path = item.get("Get")
    return type(path) is str and (
        (kind is str and path.startswith("Execution."))
        or (path, shape_name) in ctx._fine
        or ctx.known_fine(path, shape_name)
    )


def _vouch_structure(shape_name: str, shape: dict, excused: frozenset):
    members = shape["m"]
    required = frozenset(shape.get("r", ())) - excused
    union = shape.get("u", False)
    entries: dict = {}

    def vouch(ctx, value) -> bool:
        if type(value) is not dict or (union and len(value) != 1):
            return False
        for name, item in value.items():
            entry = entries.get(name)
            if entry is None:
                if name not in members:
                    return False
                entry = entries[name] = _entry(members[name])
            kind, values, _, inner, _ = entry
            if type(item) is kind and (values is None or item in values):
                continue
            if not (inner(ctx, item) if inner is not None else _leaf_fine(ctx, item, entry)):
                return False
        return not required or value.keys() >= required

    return vouch


def _text_test(shape_name: str):
    """``(low, high, fullmatch)`` of a string shape whose fast path is the set of strings
    it accepted (a length or pattern constraint): what its checker tests, for the
    vouchers to test inline; None for other shapes."""
    shape = _shapes()[shape_name]
    if shape["t"] != "string" or "E" in shape or len(shape) == 1:
        return None
    pattern = _pattern(shape["p"]).fullmatch if "p" in shape else None
    return (shape.get("n", 0), shape.get("x", 1 << 62), pattern)


def _text_fine(item: str, text: tuple, accepted: set) -> bool:
    """A string passes its shape's length and pattern (``_text_test``): it is
    remembered with the strings the shape accepted."""
    low, high, match = text
    if not low <= len(item) <= high or (match is not None and match(item) is None):
        return False
    if len(item) <= _MAX_REMEMBERED and len(accepted) < _MAX_ACCEPTED:
        accepted.add(item)
    return True


def _vouch_list(shape_name: str, shape: dict, excused: frozenset):
    low, high = shape.get("n", 0), shape.get("x", 1 << 62)
    member_name = shape["l"]
    entry = None  # built on first use

    def vouch(ctx, value) -> bool:
        nonlocal entry
        if type(value) is not list or not low <= len(value) <= high:
            return False
        if entry is None:
            entry = _entry(member_name)
        return _vouch_items(ctx, value, entry)

    return vouch


def _vouch_map(shape_name: str, shape: dict, excused: frozenset):
    low, high = shape.get("n", 0), shape.get("x", 1 << 62)
    key_name, value_name = shape["k"], shape["v"]
    entries = None  # built on first use

    def vouch(ctx, value) -> bool:
        nonlocal entries
        if type(value) is not dict or not low <= len(value) <= high:
            return False
        if len(value) == 1 and _is_expression_key(value):
            return False
        if entries is None:
            entries = _entry(key_name), _entry(value_name)
        keys, values = entries
        return _vouch_items(ctx, value, keys) and _vouch_items(ctx, value.values(), values)

    return vouch


_VOUCHER_BUILDERS = {
    "structure": _vouch_structure,
    "list": _vouch_list,
    "map": _vouch_map,
}


def validate(definition) -> list[Problem]:
    """Every problem of every request-carrying step of ``definition``; the shapes are
    read only when the definition has such a step."""
    if not any(step.type in STEP_OPERATIONS for step in definition.steps):
        return []
    return RequestValidator(definition).run()
