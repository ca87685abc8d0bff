"""Resolve CloudFormation intrinsic functions as far as a template alone allows.

A definition body is often built with ``Fn::Sub``/``Fn::Join`` (CDK writes every body
that way). Linting happens before deployment, so only what the template itself fixes can
be resolved: parameter defaults, ``Mappings``, ``Fn::Select``/``Fn::Split`` over known
values, and pseudo parameters that do not change what a rule would decide (partition,
URL suffix, and stand-ins for region and account id). Everything else (resource
attributes, imports, conditions, parameters without a default) stays a ``${Name}``
placeholder and is returned as *missing*, so the loader can say what was not checked.

Nothing here evaluates code; the functions are a small interpreter over plain data.
"""

from __future__ import annotations

import base64
import re

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    # Stand-ins: they appear in image URIs and ARNs, and no rule decides on their value.
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
}
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")

Piece = tuple[bool, str]
"""``(True, text)`` for resolved text, ``(False, name)`` for a value left unresolved."""


def is_intrinsic(value) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or (isinstance(key, str) and key.startswith("Fn::"))


STEPS = 500_000
"""Intrinsic function evaluations one template may take. Each ``${x}`` of an ``Fn::Sub``
evaluates its variable again, so nested variables multiply (three levels of a thousand
references: a billion evaluations from a few kilobytes); real templates take thousands."""


class Resolver:
    """Resolution over one template, bounded: ``shown`` names the template in the input
    error raised when resolution takes more than :data:`STEPS` evaluations, or a resolved
    value would be longer than the string limit of :mod:`.limits` (``Fn::Join`` of many
    references to one long default could otherwise build a string of any size from a
    small file)."""

    def __init__(self, template: dict, shown: str | None = None):
        self.shown = shown
        self._steps_left = STEPS
        parameters = template.get("Parameters")
        self.parameters = parameters if isinstance(parameters, dict) else {}
        mappings = template.get("Mappings")
        self.mappings = mappings if isinstance(mappings, dict) else {}
        resources = template.get("Resources")
        self.resources = resources if isinstance(resources, dict) else {}

    # -- public -------------------------------------------------------------------

    def text(self, value) -> tuple[str, list[str]]:
        """``value`` as a string, with ``${Name}`` where it could not be resolved."""
        pieces = self._pieces(value, {})
        self._bounded(pieces)
        return "".join(text if known else "${" + text + "}" for known, text in pieces), _missing(
            pieces
        )

    def json_text(self, value) -> tuple[str, list[str]]:
        """``value`` as JSON text for parsing: an unresolved value inside a JSON string
        stays ``${Name}``; one outside a string becomes the string ``"${Name}"``."""
        pieces = self._pieces(value, {})
        self._bounded(pieces)
        return assemble_json(pieces), _missing(pieces)

    def structure(self, value) -> tuple[object, list[str]]:
        """A JSON-like structure with every intrinsic inside it replaced by its text."""
        missing: list[str] = []

        def walk(node):
            if is_intrinsic(node):
                text, gaps = self.text(node)
                missing.extend(gap for gap in gaps if gap not in missing)
                return text
            if isinstance(node, dict):
                return {key: walk(child) for key, child in node.items()}
            if isinstance(node, list):
                return [walk(child) for child in node]
            return node

        return walk(value), missing

    def references(self, value) -> set[str]:
        """Logical ids that ``value`` refers to (``Ref``, ``Fn::GetAtt``, ``${X}``)."""
        found: set[str] = set()
        if isinstance(value, dict):
            for key, child in value.items():
                if key == "Ref" and isinstance(child, str):
                    found.add(child)
                elif key == "Fn::GetAtt":
                    first = child[0] if isinstance(child, list) and child else child
                    found.add(str(first).split(".", 1)[0])
                elif key == "Fn::Sub":
                    template = child[0] if isinstance(child, list) and child else child
                    if isinstance(template, str):
                        found.update(
                            name.split(".", 1)[0]
                            for name in _SUB_VARIABLE.findall(template)
                            if not name.startswith("!")
                        )
                    found |= self.references(child)
                else:
                    found |= self.references(child)
        elif isinstance(value, list):
            for child in value:
                found |= self.references(child)
        return found

    def refers_to_pipeline(self, arn, logical_id: str, name: str | None) -> bool:
        """Whether an ``Arn`` value names the pipeline resource or its pipeline."""
        if arn is None:
            return False
        if logical_id in self.references(arn):
            return True
        text, missing = self.text(arn)
        match = re.search(r":pipeline/([^/]+)$", text)
        return bool(name and not missing and match and match.group(1).lower() == name.lower())

    # -- resolution ---------------------------------------------------------------

    def _pieces(self, value, variables: dict) -> list[Piece]:
        self._steps_left -= 1
        if self._steps_left < 0:
            from mlops_guard.errors import InputError

            raise InputError(
                f"intrinsic functions take more than {STEPS} evaluations to resolve "
                "(Fn::Sub variables nested in each other?)",
                file=self.shown,
            )
        if isinstance(value, bool):
            return [(True, "true" if value else "false")]
        if isinstance(value, str | int | float):
            return [(True, str(value))]
        if not is_intrinsic(value):
            return [(False, "value")]
        key, argument = next(iter(value.items()))
        if key == "Ref":
            return self._name(str(argument), variables)
        handler = getattr(self, "_" + key.removeprefix("Fn::").lower(), None)
        if handler is None:
            return [(False, f"{key}")]
        try:
            return handler(argument, variables)
        except (TypeError, ValueError, IndexError, KeyError):
            return [(False, key)]

    def _name(self, name: str, variables: dict) -> list[Piece]:
        if name in variables:
            return self._pieces(variables[name], {})
        if name in PSEUDO:
            return [(True, PSEUDO[name])]
        parameter = self.parameters.get(name)
        if isinstance(parameter, dict) and "Default" in parameter:
            default = parameter["Default"]
            text = ",".join(map(str, default)) if isinstance(default, list) else str(default)
            return [(True, text)]
        return [(False, name)]

    def _sub(self, argument, variables: dict) -> list[Piece]:
        if isinstance(argument, list):
            template, local = argument[0], dict(argument[1]) if len(argument) > 1 else {}
        else:
            template, local = argument, {}
        if not isinstance(template, str):
            raise TypeError("Fn::Sub needs a string")
        pieces: list[Piece] = []
        position = 0
        for match in _SUB_VARIABLE.finditer(template):
            pieces.append((True, template[position : match.start()]))
            name = match.group(1)
            if name.startswith("!"):
                pieces.append((True, "${" + name[1:] + "}"))
            elif "." in name and name not in local:
                pieces.append((False, name))  # ${Resource.Attribute}
            else:
                pieces.extend(self._name(name, local))
            position = match.end()
        pieces.append((True, template[position:]))
        return pieces

    def _join(self, argument, variables: dict) -> list[Piece]:
        separator, items = argument
        if not isinstance(items, list):
            return [(False, "Fn::Join")]
        pieces: list[Piece] = []
        for index, item in enumerate(items):
            if index:
                pieces.append((True, str(separator)))
            pieces.extend(self._pieces(item, variables))
        return pieces

    def _select(self, argument, variables: dict) -> list[Piece]:
        index, items = argument
        items = self._list(items, variables)
        index_text = self._known(index, variables)
        if items is None or index_text is None:
            return [(False, "Fn::Select")]
        return self._pieces(items[int(index_text)], variables)

    def _list(self, value, variables: dict) -> list | None:
        if isinstance(value, list):
            return value
        if isinstance(value, dict) and "Fn::Split" in value:
            separator, source = value["Fn::Split"]
            text = self._known(source, variables)
            return None if text is None else text.split(str(separator))
        return None

    def _findinmap(self, argument, variables: dict) -> list[Piece]:
        keys = [self._known(item, variables) for item in argument[:3]]
        if None in keys:
            return [(False, "Fn::FindInMap")]
        value = self.mappings[keys[0]][keys[1]][keys[2]]
        if isinstance(value, dict):  # a mapping holds literals: never resolve through one
            return [(False, "value")]
        return self._pieces(value, variables)

    def _base64(self, argument, variables: dict) -> list[Piece]:
        text = self._known(argument, variables)
        if text is None:
            return [(False, "Fn::Base64")]
        return [(True, base64.b64encode(text.encode()).decode())]

    def _getatt(self, argument, variables: dict) -> list[Piece]:
        parts = argument if isinstance(argument, list) else str(argument).split(".", 1)
        return [(False, ".".join(str(part) for part in parts))]

    def _importvalue(self, argument, variables: dict) -> list[Piece]:
        name = self._known(argument, variables)
        return [(False, f"ImportValue:{name}" if name else "Fn::ImportValue")]

    def _known(self, value, variables: dict) -> str | None:
        pieces = self._pieces(value, variables)
        if _missing(pieces):
            return None
        self._bounded(pieces)
        return "".join(text for _known, text in pieces)

    def _bounded(self, pieces: list[Piece]) -> None:
        bounded(pieces, self.shown)


def bounded(pieces: list[Piece], shown: str | None) -> None:
    """Refuse pieces that would join into a value longer than the string limit (checked
    before joining them: many references to one long value make a short file)."""
    from mlops_guard.errors import InputError
    from mlops_guard.loaders.limits import max_string_chars

    longest = max_string_chars()
    size = sum(len(text) + 3 for _known, text in pieces)
    if size > longest:
        raise InputError(
            f"resolved references make a value of about {size} characters, longer than "
            f"the limit of {longest} (MLOPS_GUARD_MAX_STRING_CHARS)",
            file=shown,
        )


def assemble_json(pieces: list[Piece]) -> str:
    """Join pieces into JSON text to parse: an unresolved value inside a JSON string stays
    ``${Name}``; one outside a string becomes the string ``"${Name}"``."""
    out: list[str] = []
    in_string = escaped = False
    for known, text in pieces:
        if not known:
            out.append("${" + text + "}" if in_string else '"${' + text + '}"')
            continue
        out.append(text)
        for char in text:
            if escaped:
                escaped = False
            elif in_string and char == "\\":
                escaped = True
            elif char == '"':
                in_string = not in_string
    return "".join(out)


def missing_names(pieces: list[Piece]) -> list[str]:
    return _missing(pieces)


def _missing(pieces: list[Piece]) -> list[str]:
    names: list[str] = []
    for known, text in pieces:
        if not known and text not in names:
            names.append(text)
    return names
