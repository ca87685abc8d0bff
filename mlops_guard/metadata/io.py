"""Reading and writing metadata exports (JSON or YAML) with errors that point at the problem.

``load_store`` never lets a parser's or pydantic's exception escape: whatever is wrong
with the file becomes one :class:`MetadataInputError` naming the file and the JSON
pointer of the first problem, which is what a user fixing an export needs.
``dump_store`` is deterministic (sorted keys, model order) so exports diff cleanly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mlops_guard import pointer
from mlops_guard.errors import invalid_json
from mlops_guard.metadata.errors import MetadataInputError
from mlops_guard.metadata.model import FORMAT, MetadataStore

YAML_SUFFIXES = (".yaml", ".yml")

# pydantic error types -> the short phrase we show; others fall back to pydantic's text.
_MESSAGES = {
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "string_type": "expected a string",
    "bool_type": "expected true or false",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "list_type": "expected a list",
    "missing": "missing required key",
    "extra_forbidden": "unknown key",
    "datetime_type": "expected an ISO 8601 date-time",
    "datetime_parsing": "expected an ISO 8601 date-time",
    "datetime_from_date_parsing": "expected an ISO 8601 date-time",
}


def load_store(path: str | os.PathLike[str]) -> MetadataStore:
    """Read a JSON or YAML (by suffix ``.yaml``/``.yml``) export into a :class:`MetadataStore`."""
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise MetadataInputError(f"not UTF-8 text ({error.reason})", file=name) from None
    except OSError as error:
        raise MetadataInputError(f"cannot read: {error.strerror or error}", file=name) from None
    document = _parse(text, name, yaml=path.suffix.lower() in YAML_SUFFIXES)
    return store_from_document(document, file=name)


def store_from_document(document: Any, *, file: str | None = None) -> MetadataStore:
    """Validate an already parsed document; errors name ``file`` and a JSON pointer."""
    if not isinstance(document, dict):
        raise MetadataInputError("expected an object at the top level", file=file)
    _check_text(document, file)
    if document.get("format") != FORMAT:
        raise MetadataInputError(
            f'not an mlops-guard metadata export (expected "format": "{FORMAT}")',
            file=file,
            where="/format",
        )
    try:
        return MetadataStore.model_validate(document)
    except ValidationError as error:
        raise _input_error(error, file) from None
    except (RecursionError, ValueError, TypeError) as error:
        raise MetadataInputError(f"cannot read: {error}", file=file) from None


def dump_store(store: MetadataStore, path: str | os.PathLike[str]) -> None:
    """Write ``store`` as JSON (or YAML by suffix), byte-for-byte the same for the same store."""
    path = Path(path)
    path.write_text(dumps_store(store, yaml=path.suffix.lower() in YAML_SUFFIXES), "utf-8")


def dumps_store(store: MetadataStore, *, yaml: bool = False) -> str:
    """The text :func:`dump_store` writes."""
    data = store.model_dump(mode="json")
    if yaml:
        import yaml as pyyaml

        # Escaped non-ASCII: YAML folds some characters (NEL, U+2028) into line breaks.
        return pyyaml.safe_dump(data, sort_keys=True, allow_unicode=False)
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _parse(text: str, name: str, *, yaml: bool) -> Any:
    if yaml:
        import yaml as pyyaml

        try:
            from mlops_guard.loaders import safe_yaml

            return safe_yaml.load(text, name)  # aliases, depth and strings bounded
        except pyyaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
            problem = getattr(error, "problem", None) or str(error)
            raise MetadataInputError(f"{where}invalid YAML: {problem}", file=name) from None
        except (RecursionError, ValueError) as error:
            raise MetadataInputError(f"invalid YAML: {error}", file=name) from None
    try:
        return json.loads(text)
    except (RecursionError, ValueError) as error:
        raise invalid_json(error, file=name, error_type=MetadataInputError) from None


def _check_text(document: Any, file: str | None) -> None:
    """Every key and string is Unicode text that UTF-8 can hold: JSON's ``\\ud800``
    escapes can spell lone surrogates, which no source writes and no report can print.
    Each list and object is looked at once, however often YAML aliases repeat it."""
    pending: list[tuple[Any, tuple]] = [(document, ())]
    seen: set[int] = set()
    while pending:
        value, path = pending.pop()
        if isinstance(value, dict | list):
            if id(value) in seen:
                continue
            seen.add(id(value))
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and not _is_text(key):
                    where = pointer.from_path(path) or "/"
                    raise MetadataInputError(
                        "a key is not valid Unicode text", file=file, where=where
                    )
                pending.append((item, (*path, key)))
        elif isinstance(value, list):
            pending.extend((item, (*path, index)) for index, item in enumerate(value))
        elif isinstance(value, str) and not _is_text(value):
            where = pointer.from_path(path) or "/"
            raise MetadataInputError(
                "not valid Unicode text (a lone surrogate)", file=file, where=where
            )


def _is_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _input_error(error: ValidationError, file: str | None) -> MetadataInputError:
    first = error.errors(include_url=False)[0]
    message = _MESSAGES.get(first["type"], first["msg"])
    if first["type"] == "literal_error":
        message = f"expected {first['ctx']['expected']}"
    where = pointer.from_path(first["loc"]) or None
    return MetadataInputError(message, file=file, where=where)
