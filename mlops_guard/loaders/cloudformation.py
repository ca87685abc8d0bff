"""CloudFormation templates (JSON, YAML, CDK's ``cdk.out/*.template.json``) holding
``AWS::SageMaker::Pipeline`` resources.

Teams deploy pipelines as infrastructure code; checking the template checks what is
deployed, before it is. Each pipeline resource becomes one target: its
``PipelineDefinitionBody`` (a JSON string, ``Fn::Sub``/``Fn::Join`` of strings, or an
object) is resolved as far as the template allows (:mod:`.cfn_resolve`: parameter
defaults, mappings, pseudo parameters), unresolved values are kept as
``${Name}`` placeholders and said in a target note (MG005), and findings point at lines
of the template. Schedules and failure notifications in the same template become
``target.facts["operations"]`` (a :class:`~mlops_guard.metadata.operations.TemplateOperations`,
read by :mod:`.cfn_operations`) for the operations rules (``OP0xx``).

YAML is read with a :class:`yaml.SafeLoader` subclass whose only additions turn the
short intrinsic tags (``!Sub``, ``!Ref``, ...) into their long form: nothing is executed.
It is read through :mod:`.safe_yaml`: a template whose aliases expand beyond a small
budget, or that holds a recursive anchor (even only in ``Metadata``), is an input error
before anything is built; YAML that is no template is never built at all.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from mlops_guard.definition import Definition
from mlops_guard.errors import InputError
from mlops_guard.loaders import cfn_operations, cfn_resolve, safe_yaml
from mlops_guard.loaders.json_marks import JsonMarks
from mlops_guard.loaders.yaml_marks import YamlMarks, last_line
from mlops_guard.pointer import join
from mlops_guard.targets import Target

PIPELINE_TYPE = "AWS::SageMaker::Pipeline"
SHORT_TAGS = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    **{
        f"!{name}": f"Fn::{name}"
        for name in (
            *("Sub", "GetAtt", "Join", "If", "Select", "Split", "FindInMap", "ImportValue"),
            *("Base64", "Cidr", "GetAZs", "And", "Or", "Not", "Equals", "Transform"),
            *("Length", "ToJsonString"),
        )
    },
}


class CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """Safe YAML plus CloudFormation's short intrinsic tags, as their long form."""


def _tag_key(tag: str) -> str | None:
    if tag in SHORT_TAGS:
        return SHORT_TAGS[tag]
    return f"Fn::{tag[1:]}" if tag.startswith("!") and "!" not in tag[1:] else None


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node):
    key = _tag_key("!" + tag_suffix)
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if key == "Fn::GetAtt":
            resource, _, attribute = str(value).partition(".")
            value = [resource, attribute]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


def _construct_timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node):
    # ``AWSTemplateFormatVersion: 2010-09-09`` is a string to CloudFormation, not a date.
    return loader.construct_scalar(node)


CfnLoader.add_multi_constructor("!", _construct_intrinsic)
CfnLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_as_text)


def is_template(document) -> bool:
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        return False
    if "AWSTemplateFormatVersion" in document:
        return True
    return any(
        isinstance(resource, dict) and "::" in str(resource.get("Type", ""))
        for resource in document["Resources"].values()
    )


def load_json(path: Path, text: str, shown: str) -> list[Target] | None:
    from mlops_guard.loaders.definition_json import parse_json

    document = parse_json(text, shown)  # the definition loader reported invalid JSON first
    if not is_template(document) or not _pipeline_ids(document):
        return None
    return _targets(document, shown, JsonMarks(text).locate, None, text)


def load_yaml(path: Path, text: str, shown: str) -> list[Target] | None:
    looks_like_cfn = "AWSTemplateFormatVersion" in text or PIPELINE_TYPE in text
    try:
        document, root = safe_yaml.load_with_nodes(text, shown, CfnLoader, wanted=_may_be_template)
    except yaml.YAMLError as error:
        if not looks_like_cfn:
            return None  # some other YAML file (CI config, Helm chart): not ours
        problem, where = safe_yaml.problem(error)
        raise InputError(f"invalid YAML: {problem}", file=shown, where=where) from None
    if not is_template(document) or not _pipeline_ids(document):
        return None
    marks = YamlMarks(root, _tag_key)
    return _targets(document, shown, marks.locate, marks, text)


def _may_be_template(root: yaml.Node) -> bool:
    """Whether a composed YAML document can be a template (a mapping with ``Resources``,
    or a merge key that might bring one): other YAML (CI configs, charts, which may use
    many aliases) is never measured or built."""
    return isinstance(root, yaml.MappingNode) and any(
        isinstance(key, yaml.ScalarNode) and key.value in ("Resources", "<<")
        for key, _value in root.value
    )


def _pipeline_ids(template: dict) -> list[str]:
    return [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if isinstance(resource, dict) and resource.get("Type") == PIPELINE_TYPE
    ]


def _targets(template: dict, shown: str, locate, marks: YamlMarks | None, text: str):
    resolver = cfn_resolve.Resolver(template, shown)
    suppressions = _suppressions(text, marks) if marks is not None else []
    targets = []
    for logical_id in _pipeline_ids(template):
        target = _pipeline_target(template, logical_id, resolver, shown, locate, marks, text)
        if marks is not None:
            target.suppressions = suppressions
        targets.append(target)
    return targets


def _pipeline_target(template, logical_id, resolver, shown, locate, marks, source) -> Target:
    resource_pointer = join("/Resources", logical_id)
    properties = template["Resources"][logical_id].get("Properties")
    if not isinstance(properties, dict):
        raise InputError("expected a Properties mapping", file=shown, where=resource_pointer)
    facts = _pipeline_facts(properties, resolver, shown, join(resource_pointer, "Properties"))
    name = facts["pipeline_name"]
    target_name = name or logical_id
    facts["operations"] = cfn_operations.operations_for(shown, logical_id, name, resolver)
    notes = list(facts.pop("notes"))
    holder = properties.get("PipelineDefinition")
    holder_pointer = join(resource_pointer, "Properties", "PipelineDefinition")
    body = holder.get("PipelineDefinitionBody") if isinstance(holder, dict) else None
    if body is None:
        where = "PipelineDefinitionS3Location" if isinstance(holder, dict) else "PipelineDefinition"
        message = (
            f"pipeline resource {logical_id}: the definition is in S3 "
            "(PipelineDefinitionS3Location) and was not checked; check the definition file "
            "that is uploaded there instead"
            if where == "PipelineDefinitionS3Location" and "PipelineDefinitionS3Location" in holder
            else f"pipeline resource {logical_id} has no PipelineDefinitionBody to check"
        )
        return Target(
            file=shown,
            kind="unresolved",
            name=target_name,
            base_pointer=holder_pointer,
            locate=locate,
            notes=[*notes, message],
            facts=facts,
        )
    body_pointer = join(holder_pointer, "PipelineDefinitionBody")
    definition, inner_locate, unresolved = _definition(
        body, body_pointer, resolver, shown, marks, source
    )
    if unresolved:
        shown_names = ", ".join("${" + item + "}" for item in unresolved[:6])
        more = f" and {len(unresolved) - 6} more" if len(unresolved) > 6 else ""
        notes.append(
            f"pipeline resource {logical_id}: values known only at deploy time were checked "
            f"as placeholders: {shown_names}{more}"
        )
    target = Target(
        file=shown,
        kind="definition",
        name=target_name,
        definition=Definition(definition, name=name, tags=facts["tags"]),
        base_pointer=body_pointer,
        locate=_combined_locate(locate, body_pointer, inner_locate),
        notes=notes,
        facts=facts,
    )
    if "PipelineName" in properties:
        target.name_pointer = join(resource_pointer, "Properties", "PipelineName")
    return target


def _pipeline_facts(properties: dict, resolver, shown: str, pointer: str) -> dict:
    notes = []
    name = None
    raw_name = properties.get("PipelineName")
    if raw_name is not None:
        text, missing = resolver.text(raw_name)
        if missing:
            notes.append(f"PipelineName depends on {', '.join(missing)}: naming not checked")
        else:
            name = text
    listed = properties.get("Tags")
    if listed is not None and not isinstance(listed, list):
        raise InputError("expected a list of tags", file=shown, where=join(pointer, "Tags"))
    tags = {}
    for tag in listed or []:
        if isinstance(tag, dict) and "Key" in tag:
            key, _ = resolver.text(tag["Key"])
            value, _ = resolver.text(tag.get("Value", ""))
            tags[key] = value
    role = properties.get("RoleArn")
    role_text = resolver.text(role)[0] if role is not None else None
    return {"pipeline_name": name, "tags": tags, "role_arn": role_text, "notes": notes}


def _definition(body, pointer: str, resolver, shown: str, marks: YamlMarks | None, source: str):
    """The parsed definition, a ``locate`` for pointers inside it (or None: use the
    template's own marks), and the names left unresolved."""
    from mlops_guard.loaders.definition_json import check_shape, is_definition, parse_json

    if isinstance(body, dict) and not cfn_resolve.is_intrinsic(body):
        document, unresolved = resolver.structure(body)
        inner_locate = None  # an object body: the template's marks cover it
    else:
        text, unresolved = resolver.json_text(body)
        document = parse_json(
            text,
            shown,
            pointer,
            what="PipelineDefinitionBody is not valid JSON",
            where=pointer,
            within="the body",
        )
        inner_locate = _block_locate(text, marks, pointer, source)
    if not is_definition(document):
        raise InputError(
            "PipelineDefinitionBody is not a pipeline definition (no 'Steps' list)",
            file=shown,
            where=pointer,
        )
    check_shape(document, shown, pointer)
    return document, inner_locate, unresolved


def _block_locate(text: str, marks: YamlMarks | None, pointer: str, source: str):
    """Line-exact marks for a body written as a YAML block scalar (``|``), possibly under
    ``!Sub``: its lines are the template's lines, shifted. Substituted values may change
    columns, never lines (else the body's own line is used)."""
    if marks is None:
        return None
    node = marks.node(pointer)
    if isinstance(node, yaml.MappingNode) and len(node.value) == 1:
        key, value = node.value[0]
        node = value if key.value == "Fn::Sub" else None
    if not isinstance(node, yaml.ScalarNode) or node.style not in ("|", ">"):
        return None
    if node.style != "|" or text.count("\n") != node.value.count("\n"):
        return None
    first_line = node.start_mark.line + 1  # 0-based index of the first content line
    source_lines = source.splitlines()
    indent = 0
    if first_line < len(source_lines):
        content = source_lines[first_line]
        indent = len(content) - len(content.lstrip(" "))
    inner = JsonMarks(text)

    def locate(inner_pointer: str) -> tuple[int, int] | None:
        position = inner.locate(inner_pointer) if inner_pointer else None
        if position is None:
            return None
        return position[0] + first_line, position[1] + indent

    return locate


def _combined_locate(template_locate, body_pointer: str, inner_locate):
    if inner_locate is None:
        return template_locate

    def locate(pointer: str) -> tuple[int, int] | None:
        if pointer.startswith(body_pointer):
            position = inner_locate(pointer[len(body_pointer) :])
            if position is not None:
                return position
        return template_locate(pointer)

    return locate


def _suppressions(text: str, marks: YamlMarks) -> list:
    """Inline suppressions of a YAML template; a comment covering a resource's logical id
    line covers the whole resource."""
    from mlops_guard.suppressions import parse_comments

    found = parse_comments(text)
    if not found:
        return []
    spans = []
    resources = marks.node("/Resources")
    lines = text.splitlines()
    if isinstance(resources, yaml.MappingNode):
        for key_node, value_node in resources.value:
            spans.append((key_node.start_mark.line + 1, last_line(value_node, lines)))
    widened = []
    for suppression in found:
        first, last = suppression.span
        span = next((s for s in spans if first <= s[0] <= last), None)
        widened.append(suppression.widened(*span) if span else suppression)
    return widened
