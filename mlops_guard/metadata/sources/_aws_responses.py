"""AWS responses that cannot be read, and the audit's deadline, as errors botocore raises.

botocore parses a ``200`` response whose body is not JSON into an empty result (its
parser keeps the text as a ``message`` that no output member reads), so the records of
that page would silently vanish; a body of the wrong shape (``"Results": 5``) makes its
parser raise whatever Python raises. :func:`check_body` runs at botocore's
``before-parse`` event and turns both into :class:`UnreadableResponse`, naming the call
and the JSON pointer of the first problem, before the parser sees the body. Paging
(:func:`mlops_guard.metadata.sources._aws.pages`) and the deadline raise the same error,
so :meth:`Reader.guard` records all of them as parts that could not be read (MG005).
"""

from __future__ import annotations

import base64
import binascii
import json
import time

from botocore.exceptions import BotoCoreError

from mlops_guard import pointer

# Members the source indexes records by (shape name -> members): a record without its
# name is as unreadable as a page without its records. Only these are required, not every
# member the API model marks required: a response that leaves out something no rule reads
# is not a reason to fail an audit.
IDENTITY_MEMBERS: dict[str, tuple[str, ...]] = {
    "Experiment": ("ExperimentName",),
    "Trial": ("TrialName",),
    "TrialComponent": ("TrialComponentName",),
    "TrialComponentSummary": ("TrialComponentName",),
    "PipelineSummary": ("PipelineName",),
    "PipelineExecutionSummary": ("PipelineExecutionArn",),
    "Rule": ("Name",),
    "ScheduleSummary": ("Name",),
    "Parameter": ("Name",),
    "ModelPackageGroupSummary": ("ModelPackageGroupName",),
    "ModelPackageSummary": ("ModelPackageArn",),
    "Database": ("Name",),
    "Table": ("Name",),
}
_BODY_PROTOCOLS = frozenset({"json", "rest-json"})
_NUMBER_OR_TEXT = (int, float, str)
_NON_FINITE = frozenset({"NaN", "Infinity", "-Infinity"})  # how AWS JSON writes them


class UnreadableResponse(BotoCoreError):
    """A call whose answer cannot be read; ``what`` names the call, ``reason`` why."""

    fmt = "{message}"

    def __init__(self, *, what: str, reason: str):
        super().__init__(message=f"{what}: {reason}" if what else reason)
        self.what, self.reason = what, reason


def call_name(operation_model) -> str:
    """``sagemaker:Search``: the service (as boto3 names it) and the operation."""
    return f"{operation_model.service_model.service_name}:{operation_model.name}"


def check_body(operation_model, response_dict, **_) -> None:
    """botocore ``before-parse`` handler: a successful JSON response must be a JSON object
    of the operation's output shape, or the call raises :class:`UnreadableResponse`."""
    status = response_dict.get("status_code") or 0
    protocol = operation_model.service_model.resolved_protocol
    if not 200 <= status < 300 or protocol not in _BODY_PROTOCOLS:
        return  # error responses are botocore's (ClientError); other protocols unused
    what = call_name(operation_model)
    body = response_dict.get("body") or b""
    try:
        document = json.loads(body.decode("utf-8"))  # as botocore reads it: no BOM sniffing
    except UnicodeDecodeError:
        raise UnreadableResponse(what=what, reason=f"HTTP {status} body is not UTF-8") from None
    except (ValueError, RecursionError) as error:
        detail = getattr(error, "msg", None) or type(error).__name__
        raise UnreadableResponse(
            what=what, reason=f"HTTP {status} body is not valid JSON ({detail})"
        ) from None
    shape = operation_model.output_shape
    if shape is None:
        return
    payload = shape.serialization.get("payload")
    if payload:
        shape = shape.members[payload]
    problem = shape_problem(shape, document, body_only=protocol == "rest-json")
    if problem is not None:
        where, message = problem
        reason = f"HTTP {status} body does not have the API's shape: {where}: {message}"
        raise UnreadableResponse(what=what, reason=reason)


def shape_problem(shape, document, *, body_only: bool = False) -> tuple[str, str] | None:
    """The first place where ``document`` is not of botocore ``shape``: ``(pointer,
    problem)``, or None. Iterative, so nesting depth costs no Python stack."""
    stack = [(shape, document, ())]
    while stack:
        shape, value, path = stack.pop()
        kind = shape.type_name
        problem = _scalar_problem(kind, value)
        if problem is None and kind == "structure":
            problem = _structure(shape, value, path, stack, top=body_only and not path)
        elif problem is None and kind == "list":
            if not isinstance(value, list):
                problem = "expected a list"
            else:
                for index, item in enumerate(value):
                    if item is None:
                        return pointer.from_path((*path, index)) or "/", "null in a list"
                    stack.append((shape.member, item, (*path, index)))
        elif problem is None and kind == "map":
            if not isinstance(value, dict):
                problem = "expected an object"
            else:
                for key, item in value.items():
                    if item is None:
                        return pointer.from_path((*path, key)) or "/", "null map value"
                    stack.append((shape.value, item, (*path, key)))
        if problem is not None:
            return pointer.from_path(path) or "/", problem
    return None


def _structure(shape, value, path, stack, *, top: bool) -> str | None:
    if getattr(shape, "is_document_type", False):
        return None
    if not isinstance(value, dict):
        return "expected an object"
    required = IDENTITY_MEMBERS.get(shape.name, ())
    for name, member in shape.members.items():
        if top and member.serialization.get("location"):
            continue  # a header or status code of a rest-json response, not in the body
        key = member.serialization.get("name", name)
        if value.get(key) is None:
            if name in required:
                return f"missing {key}"
            continue  # absent or null: botocore leaves the member out
        stack.append((member, value[key], (*path, key)))
    return None


def _scalar_problem(kind: str, value) -> str | None:
    if value is None or kind in ("structure", "list", "map"):
        return None
    if kind == "string":
        return None if isinstance(value, str) else "expected a string"
    if kind == "boolean":
        return None if isinstance(value, bool) else "expected true or false"
    if kind in ("integer", "long"):
        is_int = isinstance(value, int) and not isinstance(value, bool)
        return None if is_int else "expected an integer"
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, _NUMBER_OR_TEXT):
            return "expected a number"
        return None if not isinstance(value, str) or value in _NON_FINITE else "expected a number"
    if kind == "timestamp":
        return _timestamp_problem(value)
    if kind == "blob":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            return "expected base64 data"
    return None


def _timestamp_problem(value) -> str | None:
    from botocore.utils import parse_timestamp

    if isinstance(value, bool) or not isinstance(value, _NUMBER_OR_TEXT):
        return "expected a timestamp"
    try:
        parse_timestamp(value)
    except (ValueError, TypeError, OverflowError, OSError):
        return "expected a timestamp"
    return None


class Deadline:
    """The moment after which nothing more is asked: a botocore ``before-send`` handler
    that fails each request (and each retry) once ``seconds`` have passed."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds

    def passed(self) -> bool:
        return self.end is not None and time.monotonic() >= self.end

    def check(self, request=None, **_) -> None:
        if self.passed():
            raise UnreadableResponse(
                what="", reason=f"not read: the --timeout of {self.seconds:g} s had passed"
            )
