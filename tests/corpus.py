"""The real-pipeline corpus (public definitions), found through ``MLOPS_GUARD_CORPUS``.

It is not part of the repository: tests that read it skip, saying why, when the variable
is unset, so the suite passes on any clone. ``.ci/run`` sets it (and fails when the
directory it names is missing), so CI always runs them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPUS_ENV = "MLOPS_GUARD_CORPUS"
_named = os.environ.get(CORPUS_ENV, "")
CORPUS: Path | None = Path(_named).resolve() if _named else None
"""The corpus directory, or ``None`` when ``MLOPS_GUARD_CORPUS`` is unset."""

if CORPUS is not None and not CORPUS.is_dir():
    raise RuntimeError(f"{CORPUS_ENV}={_named}: not a directory")

CORPUS_FILES: list[Path] = sorted(CORPUS.glob("*.json")) if CORPUS else []

SKIP_REASON = f"real-pipeline corpus not configured: set {CORPUS_ENV} to its directory"
needs_corpus = pytest.mark.skipif(CORPUS is None, reason=SKIP_REASON)
