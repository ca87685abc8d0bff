"""Where the built-in rules and policies live, installed or in a source checkout.

The wheel ships the top-level ``rules/`` and ``policies/`` directories inside the
package as ``mlops_guard/_builtin/``; a source checkout (or an editable install) uses
the top-level directories themselves.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _builtin(name: str) -> Path:
    shipped = PACKAGE_DIR / "_builtin" / name
    if shipped.is_dir():
        return shipped
    return PACKAGE_DIR.parent / name


def builtin_rules_dir() -> Path:
    return _builtin("rules")


def builtin_policies_dir() -> Path:
    return _builtin("policies")


def default_policy_path() -> Path:
    return builtin_policies_dir() / "default.yaml"


def cache_dir() -> Path:
    """Where rendered definitions and validated policies are cached between runs."""
    configured = os.environ.get("MLOPS_GUARD_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mlops-guard"


def caching() -> bool:
    """Whether caches are read and written (``MLOPS_GUARD_NO_CACHE=1`` turns them off)."""
    return not os.environ.get("MLOPS_GUARD_NO_CACHE")


def write_cache_file(path: Path, text: str) -> None:
    """Replace a cache file whole, through a temporary file, so a concurrent run never
    reads half of one; a read-only cache directory only costs speed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        pass
