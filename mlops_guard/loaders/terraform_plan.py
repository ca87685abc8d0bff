"""Terraform ``terraform show -json`` output (plans and state): ``aws_sagemaker_pipeline``
resources with every value Terraform knows already resolved, and the schedules and
notifications around them.

A plan is the most complete thing to check: a value known only after apply makes the
pipeline unresolved (MG005), named in a target note.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mlops_guard.definition import Definition
from mlops_guard.errors import InputError
from mlops_guard.loaders.json_marks import JsonMarks
from mlops_guard.loaders.terraform_operations import OPERATION_TYPES, RESOURCE_TYPE, operations_for
from mlops_guard.pointer import join
from mlops_guard.targets import Target


def load_plan_json(path: Path, text: str, shown: str) -> list[Target] | None:
    from mlops_guard.loaders.definition_json import parse_json

    document = parse_json(text, shown)  # the definition loader reported invalid JSON first
    if not isinstance(document, dict) or "terraform_version" not in document:
        return None
    for section in ("planned_values", "values"):
        root = _mapping(document.get(section)).get("root_module")
        if isinstance(root, dict):
            break
    else:
        return None
    unknown = _after_unknown(document)
    marks = JsonMarks(text)
    root_pointer = join("", section, "root_module")
    operations = _plan_operation_resources(document, root, root_pointer)
    targets = []
    for resource, pointer in _plan_resources(root, root_pointer):
        target = _plan_target(resource, pointer, shown, marks, unknown)
        address = str(resource.get("address", RESOURCE_TYPE))
        # Plans give each pipeline one address; a reference names it without an index.
        reference = re.sub(r"\[[^\]]*\]$", "", address)
        target.facts["operations"] = operations_for(
            operations, shown, reference, target.facts["pipeline_name"]
        )
        targets.append(target)
    return targets or None


def _mapping(value) -> dict:
    """``value`` if it is a JSON object, else an empty one: a plan is machine-written, and
    a hand-edited one with a wrong shape holds nothing this loader reads there."""
    return value if isinstance(value, dict) else {}


def _sequence(value) -> list:
    return value if isinstance(value, list) else []


def _plan_resources(module: dict, pointer: str, types=(RESOURCE_TYPE,)):
    for index, resource in enumerate(_sequence(module.get("resources"))):
        if isinstance(resource, dict) and resource.get("type") in types:
            yield resource, join(pointer, "resources", index)
    for index, child in enumerate(_sequence(module.get("child_modules"))):
        if isinstance(child, dict):
            yield from _plan_resources(child, join(pointer, "child_modules", index), types)


def _after_unknown(document: dict) -> dict[str, dict]:
    unknown = {}
    for change in _sequence(document.get("resource_changes")):
        if isinstance(change, dict) and change.get("type") == RESOURCE_TYPE:
            after = _mapping(change.get("change")).get("after_unknown")
            unknown[change.get("address")] = after if isinstance(after, dict) else {}
    return unknown


def _plan_target(resource: dict, pointer: str, shown: str, marks: JsonMarks, unknown) -> Target:
    address = str(resource.get("address", RESOURCE_TYPE))
    values = resource.get("values") if isinstance(resource.get("values"), dict) else {}
    tags = values.get("tags") or values.get("tags_all") or {}
    name = values.get("pipeline_name") if isinstance(values.get("pipeline_name"), str) else None
    facts = {
        "pipeline_name": name,
        "tags": dict(tags) if isinstance(tags, dict) else {},
        "role_arn": values.get("role_arn"),
        "terraform": {"file": shown, "resource": address},
    }
    body = values.get("pipeline_definition")
    body_pointer = join(pointer, "values", "pipeline_definition")

    def locate(inner: str) -> tuple[int, int] | None:
        # The definition is an escaped JSON string on one line: point at that line.
        return marks.locate(body_pointer if inner.startswith(body_pointer) else inner)

    common = {"file": shown, "name": name or address, "facts": facts, "locate": locate}
    if not isinstance(body, str):
        if _mapping(unknown.get(address)).get("pipeline_definition"):
            note = f"{address}: pipeline_definition is known only after apply and was not checked"
        else:
            note = f"{address}: no pipeline_definition in the plan (S3 location?): not checked"
        return Target(kind="unresolved", base_pointer=pointer, notes=[note], **common)
    from mlops_guard.loaders.definition_json import check_shape, is_definition, parse_json

    definition = parse_json(
        body,
        shown,
        body_pointer,
        what="pipeline_definition is not valid JSON",
        where=body_pointer,
        within="the definition",
    )
    if not is_definition(definition):
        raise InputError(
            "pipeline_definition is not a pipeline definition", file=shown, where=body_pointer
        )
    check_shape(definition, shown, body_pointer)
    return Target(
        kind="definition",
        definition=Definition(definition, name=name, tags=facts["tags"]),
        base_pointer=body_pointer,
        **common,
    )


def _plan_operation_resources(document: dict, root: dict, pointer: str):
    """The operation resources of a plan, with unknown values that the configuration
    builds from a reference replaced by ``${module.x.type.name.attribute}``."""
    expressions = _configuration_expressions(
        _mapping(_mapping(document.get("configuration")).get("root_module")), ""
    )
    found = []
    for resource, _pointer in _plan_resources(root, pointer, OPERATION_TYPES):
        address = str(resource.get("address", ""))
        values = resource.get("values") if isinstance(resource.get("values"), dict) else {}
        module = address[: address.rfind(resource.get("type", ""))]
        config = expressions.get(re.sub(r"\[[^\]]*\]", "", address)) or {}
        values = _with_references(values, config, module)
        if isinstance(values.get("event_pattern"), str):
            try:
                values["event_pattern"] = json.loads(values["event_pattern"])
            except (ValueError, RecursionError):  # invalid, or nested too deep
                values["event_pattern"] = None
        found.append((address, resource.get("type"), values))
    return found


def _configuration_expressions(module: dict, prefix: str) -> dict[str, dict]:
    found = {}
    for resource in _sequence(module.get("resources")):
        if isinstance(resource, dict) and resource.get("type") in OPERATION_TYPES:
            found[prefix + str(resource.get("address"))] = resource.get("expressions") or {}
    for name, call in _mapping(module.get("module_calls")).items():
        if isinstance(call, dict) and isinstance(call.get("module"), dict):
            found.update(_configuration_expressions(call["module"], f"{prefix}module.{name}."))
    return found


def _with_references(values, expressions, module: str):
    if isinstance(values, dict) and isinstance(expressions, dict):
        result = dict(values)
        for key, expression in expressions.items():
            references = expression.get("references") if isinstance(expression, dict) else None
            if references and result.get(key) is None:
                result[key] = " ".join("${" + module + str(item) + "}" for item in references)
            elif key in result:
                result[key] = _with_references(result[key], expression, module)
        return result
    if isinstance(values, list) and isinstance(expressions, list):
        return [
            _with_references(value, expressions[index] if index < len(expressions) else {}, module)
            for index, value in enumerate(values)
        ]
    return values
