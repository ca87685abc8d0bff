"""The ``file`` source: a JSON or YAML export written earlier (by us or by hand)."""

from __future__ import annotations

import os

from mlops_guard.metadata.io import load_store
from mlops_guard.metadata.model import MetadataStore


def fetch_store(*, path: str | os.PathLike[str]) -> MetadataStore:
    return load_store(path)
