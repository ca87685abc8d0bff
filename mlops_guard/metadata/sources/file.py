"""The ``file`` source: a JSON or YAML export written earlier (by us or by hand).

:func:`fetch_store` reads one file. ``audit file`` reads its own way, several files and
directories merged into one history (:func:`mlops_guard.audit.read_store.read_files`),
so this source has no ``fetch_options`` or ``label``; nor is it offered by ``export``
(it is an export already).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_guard.metadata.model import MetadataStore

READING = ("exports", "files")


def fetch_store(*, path: str | os.PathLike[str]) -> MetadataStore:
    from mlops_guard.metadata.io import load_store

    return load_store(path)


def add_options(parser, command: str) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="export files or directories")
