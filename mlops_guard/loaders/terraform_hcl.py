"""Terraform ``.tf`` files: ``aws_sagemaker_pipeline`` resources and, in the same module
(the ``.tf`` files of the directory), the schedules and notifications around them.

``pipeline_definition`` is a heredoc, a quoted string, ``jsonencode({...})`` or
``file("...")``. Interpolations that the configuration fixes (``var.x`` with a literal
default, literal ``local.x``) are resolved; the rest stay ``${...}`` placeholders,
checked as such and named in a target note (MG005). A plan (:mod:`.terraform_plan`) has
every known value already resolved, so it is the most complete thing to check.

HCL is parsed with ``python-hcl2`` (extra ``terraform``), imported only when a ``.tf``
file mentions ``aws_sagemaker_pipeline``; without it such a file is an input error naming
the extra to install (exit 2): a pipeline that could not be read never passes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mlops_guard.definition import Definition
from mlops_guard.errors import InputError, MissingExtra, require_extra
from mlops_guard.loaders.cfn_resolve import Piece, assemble_json, bounded, missing_names
from mlops_guard.loaders.json_marks import JsonMarks
from mlops_guard.loaders.limits import check_document, read_text
from mlops_guard.loaders.terraform_operations import OPERATION_TYPES, RESOURCE_TYPE, operations_for
from mlops_guard.pointer import join
from mlops_guard.targets import Target

_INTERPOLATION = re.compile(r"(\$\$\{)|\$\{([^{}]*)\}")
_HEREDOC = re.compile(r"^<<(-?)([A-Za-z_][A-Za-z0-9_]*)\n(.*?)\n?[ \t]*\2$", re.DOTALL)
_CALL = re.compile(r"^\$\{(jsonencode|file)\((.*)\)\}$", re.DOTALL)


def load_tf(path: Path, text: str, shown: str) -> list[Target] | None:
    if RESOURCE_TYPE not in text:
        return None
    try:
        require_extra("hcl2", "terraform", "checking Terraform files")
    except MissingExtra as error:
        raise MissingExtra(error.message, file=shown) from None
    import hcl2
    from hcl2.utils import SerializationOptions

    options = SerializationOptions(
        with_comments=False, explicit_blocks=False, strip_string_quotes=True
    )
    _within_parse_budget(text, shown)
    try:
        document = hcl2.loads(text, serialization_options=options)
    except Exception as error:  # python-hcl2 raises lark errors of many classes
        line = getattr(error, "line", None)
        where = f"line {line}" if isinstance(line, int) and line > 0 else None
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(f"invalid HCL: {first}", file=shown, where=where) from None
    check_document(document, shown)
    scope = _Scope(document, shown)
    from mlops_guard.suppressions import parse_comments

    suppressions = parse_comments(text)
    operations, where = _module_operation_resources(path, shown, document, scope, options)
    targets = []
    for name, attributes in _resources(document):
        target = _tf_target(path, text, shown, name, attributes, scope, options)
        pipeline_name = target.facts["pipeline_name"]
        target.facts["operations"] = operations_for(
            operations, where, f"{RESOURCE_TYPE}.{name}", pipeline_name
        )
        if target.file == shown:  # not for a definition read with file("...")
            target.suppressions = suppressions
        targets.append(target)
    return targets or None


_HEREDOC_TEXT = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)\n.*?\n[ \t]*\1[ \t]*$", re.DOTALL | re.M)
_PUNCTUATION = re.compile(r"[\[\]{}(),=]")


def _within_parse_budget(text: str, shown: str) -> None:
    """Refuse HCL with more structure than the parser can take in bounded time.

    python-hcl2 (on lark) takes about a tenth of a millisecond per token: a file of
    megabytes of brackets would take an hour. Heredocs are one token each, so their
    text is not counted; a large Terraform module holds a few thousand marks.
    """
    from mlops_guard.loaders.limits import max_hcl_tokens

    budget = max_hcl_tokens()
    marks = len(_PUNCTUATION.findall(_HEREDOC_TEXT.sub("", text)))
    if marks > budget:
        raise InputError(
            f"HCL with {marks} brackets, commas and '=' is more than the parser is given "
            f"({budget}, MLOPS_GUARD_MAX_HCL_TOKENS)",
            file=shown,
        )


def _resources(document: dict):
    for block in document.get("resource") or []:
        for name, attributes in (block.get(RESOURCE_TYPE) or {}).items():
            if isinstance(attributes, dict):
                yield name, attributes


class _Scope:
    """The values an interpolation may name that the configuration itself fixes."""

    def __init__(self, document: dict, shown: str | None = None):
        self.shown = shown
        self.values: dict[str, object] = {}
        for block in document.get("variable") or []:
            for name, body in block.items():
                if isinstance(body, dict) and "default" in body:
                    self.values[f"var.{name}"] = body["default"]
        for block in document.get("locals") or []:
            for name, value in block.items():
                self.values[f"local.{name}"] = value

    def pieces(self, text: str) -> list[Piece]:
        pieces: list[Piece] = []
        position = 0
        for match in _INTERPOLATION.finditer(text):
            pieces.append((True, text[position : match.start()]))
            if match.group(1):
                pieces.append((True, "${"))  # $${ is a literal ${
            else:
                pieces.append(self._value(match.group(2).strip()))
            position = match.end()
        pieces.append((True, text[position:]))
        bounded(pieces, self.shown)  # many references to one long default
        return pieces

    def _value(self, expression: str) -> Piece:
        value = self.values.get(expression)
        if isinstance(value, str) and "${" not in value:
            return True, value
        if isinstance(value, bool):
            return True, "true" if value else "false"
        if isinstance(value, int | float):
            return True, str(value)
        return False, expression

    def text(self, value) -> tuple[str, list[str]]:
        if not isinstance(value, str):
            return str(value), []
        pieces = self.pieces(value)
        text = "".join(t if known else "${" + t + "}" for known, t in pieces)
        return text, missing_names(pieces)

    def structure(self, value, missing: list[str]):
        if isinstance(value, str):
            text, gaps = self.text(value)
            missing.extend(gap for gap in gaps if gap not in missing)
            return text
        if isinstance(value, dict):
            return {key: self.structure(child, missing) for key, child in value.items()}
        if isinstance(value, list):
            return [self.structure(child, missing) for child in value]
        return value


def _tf_target(path, text, shown, name, attributes, scope, options) -> Target:
    address = f"{RESOURCE_TYPE}.{name}"
    pointer = join("/resource", RESOURCE_TYPE, name, "pipeline_definition")
    lines = _Lines(text, name)
    facts, notes = _facts(attributes, scope)
    facts["terraform"] = {"file": shown, "resource": address}
    pipeline_name = facts["pipeline_name"]
    common = {"name": pipeline_name or address, "notes": notes, "facts": facts}
    raw = attributes.get("pipeline_definition")
    if raw is None:
        notes.append(
            f"{address}: the definition is in S3 (pipeline_definition_s3_location) and was "
            "not checked; check the file uploaded there instead"
        )
        return Target(file=shown, kind="unresolved", locate=lines.locate, **common)
    document, locate, missing = _definition(path, shown, raw, scope, lines, pointer, options)
    if document is None:
        notes.append(f"{address}: pipeline_definition is {raw!r}, which cannot be read here")
        return Target(file=shown, kind="unresolved", locate=lines.locate, **common)
    if missing:
        listed = ", ".join("${" + item + "}" for item in missing[:6])
        notes.append(
            f"{address}: values known only at plan time were checked as placeholders: {listed}"
        )
    definition_file, document = document
    from mlops_guard.loaders.definition_json import check_shape, is_definition

    where_file = definition_file or shown
    base = "" if definition_file else pointer
    if not is_definition(document):
        raise InputError(
            "pipeline_definition is not a pipeline definition", file=where_file, where=base or "/"
        )
    check_shape(document, where_file, base)
    return Target(
        file=where_file,
        kind="definition",
        definition=Definition(document, name=pipeline_name, tags=facts["tags"]),
        base_pointer=base,
        locate=locate,
        **common,
    )


def _facts(attributes: dict, scope: _Scope) -> tuple[dict, list[str]]:
    notes = []
    name, missing = scope.text(attributes.get("pipeline_name", ""))
    if missing:
        notes.append(f"pipeline_name depends on {', '.join(missing)}: naming not checked")
        name = None
    tags_value = attributes.get("tags")
    tags = {}
    if isinstance(tags_value, dict):
        tags = {str(key): scope.text(value)[0] for key, value in tags_value.items()}
    role = attributes.get("role_arn")
    role_arn = scope.text(role)[0] if role is not None else None
    return {"pipeline_name": name or None, "tags": tags, "role_arn": role_arn}, notes


def _definition(path, shown, raw, scope, lines, pointer, options):
    """``((definition file or None, document), locate, missing)``; document None when the
    expression is not one this loader reads."""
    call = _CALL.match(raw) if isinstance(raw, str) else None
    if call and call.group(1) == "file":
        return _from_file(path, shown, call.group(2), scope)
    if call and call.group(1) == "jsonencode":
        value = _hcl_expression(call.group(2), options, shown, lines, pointer)
        missing: list[str] = []
        document = scope.structure(value, missing)
        return (None, document), lines.locate, missing
    if not isinstance(raw, str) or (raw.startswith("${") and raw.endswith("}")):
        return None, None, []
    heredoc = _HEREDOC.match(raw)
    body, indent = (raw, 0)
    if heredoc:
        body, indent = _heredoc_body(heredoc)
    pieces = scope.pieces(body)
    json_text = assemble_json(pieces)
    from mlops_guard.loaders.definition_json import parse_json

    document = parse_json(
        json_text,
        shown,
        pointer,
        what="pipeline_definition is not valid JSON",
        where=lines.where(),
        within="the definition",
    )
    locate = lines.locate
    if heredoc and json_text.count("\n") == body.count("\n"):
        locate = lines.heredoc_locate(pointer, JsonMarks(json_text), indent)
    return (None, document), locate, missing_names(pieces)


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _heredoc_body(match: re.Match) -> tuple[str, int]:
    body = match.group(3)
    if match.group(1) != "-":
        return body, 0
    content = [line for line in body.splitlines() if line.strip()]
    indent = min((len(line) - len(line.lstrip(" \t")) for line in content), default=0)
    return "\n".join(line[indent:] for line in body.splitlines()), indent


def _hcl_expression(expression: str, options, shown: str, lines, pointer: str) -> object:
    import hcl2

    try:
        value = hcl2.loads(f"value = {expression}\n", serialization_options=options)["value"]
    except Exception:
        raise InputError(
            "cannot read the jsonencode(...) argument of pipeline_definition",
            file=shown,
            where=lines.where(),
        ) from None
    check_document(value, shown, pointer)
    return value


def _from_file(path: Path, shown: str, argument: str, scope: _Scope):
    literal = re.fullmatch(r'"(.*)"', argument.strip())
    if not literal:
        return None, None, []
    relative = literal.group(1)
    for prefix in ("${path.module}/", "${path.root}/", "${path.cwd}/"):
        relative = relative.replace(prefix, "")
    if "${" in relative:
        return None, None, []
    file = path.parent / relative
    from mlops_guard.loaders import display_path
    from mlops_guard.loaders.definition_json import parse_json

    shown_file = display_path(file)
    content = read_text(file, shown_file)  # a regular file within the size limit only
    return (shown_file, parse_json(content, shown_file)), JsonMarks(content).locate, []


class _Lines:
    """Where a resource and its ``pipeline_definition`` sit in the ``.tf`` text."""

    def __init__(self, text: str, name: str):
        self.lines = text.splitlines()
        header = re.compile(rf'^\s*resource\s+"{RESOURCE_TYPE}"\s+"{re.escape(name)}"')
        attribute = re.compile(r"^\s*pipeline_definition\s*=")
        self.resource_line = next(
            (n for n, line in enumerate(self.lines, 1) if header.match(line)), None
        )
        start = self.resource_line or 1
        self.attribute_line = next(
            (n for n in range(start, len(self.lines) + 1) if attribute.match(self.lines[n - 1])),
            self.resource_line,
        )

    def where(self) -> str | None:
        return f"line {self.attribute_line}" if self.attribute_line else None

    def locate(self, pointer: str) -> tuple[int, int] | None:
        line = self.attribute_line if "/pipeline_definition" in pointer else self.resource_line
        if line is None:
            return None
        text = self.lines[line - 1]
        return line, len(text) - len(text.lstrip()) + 1

    def heredoc_locate(self, base: str, marks: JsonMarks, indent: int):
        first = self.attribute_line or 0

        def locate(pointer: str) -> tuple[int, int] | None:
            if pointer.startswith(base) and pointer != base:
                position = marks.locate(pointer[len(base) :])
                if position is not None:
                    return position[0] + first, position[1] + indent
            return self.locate(pointer)

        return locate


# -- schedules and notifications in the module ------------------------------------------


def _tf_operation_resources(document: dict, scope: _Scope, options, shown: str) -> list[tuple]:
    found = []
    for block in document.get("resource") or []:
        for kind in OPERATION_TYPES:
            for name, attributes in (block.get(kind) or {}).items():
                if not isinstance(attributes, dict):
                    continue
                values = {
                    key: scope.structure(value, [])
                    for key, value in attributes.items()
                    if key != "event_pattern"
                }
                if "event_pattern" in attributes:
                    values["event_pattern"] = _tf_pattern(
                        attributes["event_pattern"], scope, options, shown
                    )
                found.append((f"{kind}.{name}", kind, values))
    return found


def _tf_pattern(raw, scope: _Scope, options, shown: str) -> dict | None:
    """An ``event_pattern``: ``jsonencode({...})``, a heredoc or a JSON string."""
    if isinstance(raw, dict):
        return scope.structure(raw, [])
    if not isinstance(raw, str):
        return None
    call = _CALL.match(raw)
    if call and call.group(1) == "jsonencode":
        import hcl2

        try:
            value = hcl2.loads(f"value = {call.group(2)}\n", serialization_options=options)
        except Exception:  # python-hcl2 raises lark errors of many classes
            return None
        check_document(value, shown)
        pattern = scope.structure(value["value"], [])
        return pattern if isinstance(pattern, dict) else None
    heredoc = _HEREDOC.match(raw)
    body = _heredoc_body(heredoc)[0] if heredoc else raw
    try:
        pattern = json.loads(scope.text(body)[0])
    except (ValueError, RecursionError):  # invalid, or nested too deep: no pattern
        return None
    return pattern if isinstance(pattern, dict) else None


def _module_operation_resources(path: Path, shown: str, document, scope, options):
    """The operation resources of the file and of the other ``.tf`` files of its
    directory (one Terraform module), and what to call that in a message."""
    found = _tf_operation_resources(document, scope, options, shown)
    where = shown
    try:
        siblings = sorted(p for p in path.parent.glob("*.tf") if p.resolve() != path.resolve())
    except OSError:
        siblings = []
    import hcl2

    from mlops_guard.loaders import display_path

    for sibling in siblings:
        # A sibling that cannot be read could hold this pipeline's schedule: an error, so
        # the operations rules never judge a module they saw only part of.
        sibling_shown = display_path(sibling)
        sibling_text = read_text(sibling, sibling_shown)
        if not any(kind in sibling_text for kind in OPERATION_TYPES):
            continue
        _within_parse_budget(sibling_text, sibling_shown)
        try:
            sibling_document = hcl2.loads(sibling_text, serialization_options=options)
        except Exception as error:  # python-hcl2 raises lark errors of many classes
            raise InputError(
                f"invalid HCL in a file of the same module: {_first_line(error)}",
                file=sibling_shown,
            ) from None
        check_document(sibling_document, sibling_shown)
        found.extend(_tf_operation_resources(sibling_document, scope, options, sibling_shown))
        where = (Path(shown).parent / "*.tf").as_posix()
    return found, where
