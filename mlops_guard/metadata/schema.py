"""The JSON Schema of the export format, generated from the model so the two cannot drift.

``schema.json`` next to this module is the committed copy (for editors and other
tools); a test fails when it differs from :func:`json_schema`. Regenerate it with
``python -m mlops_guard.metadata.schema``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlops_guard.metadata.model import MetadataStore

SCHEMA_PATH = Path(__file__).with_name("schema.json")
SCHEMA_ID = "https://mlops-guard.dev/schemas/metadata-v2.json"


def json_schema() -> dict[str, Any]:
    """The schema of a file :func:`mlops_guard.metadata.io.load_store` accepts."""
    schema = MetadataStore.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "mlops-guard metadata export, version 2",
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> None:
    path.write_text(schema_text(), encoding="utf-8")


if __name__ == "__main__":
    write_schema()
