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
    """Where validated policies, the rules manifest, compiled rules, rendered definitions
    and findings are cached between runs (read and written through ``cache_store``)."""
    configured = os.environ.get("MLOPS_GUARD_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mlops-guard"


_caching_disabled = False


def disable_caching() -> None:
    """Turn every cache off for the rest of this process, reads and writes (``--no-cache``,
    or a cache that cannot be used safely)."""
    global _caching_disabled
    _caching_disabled = True


def caching() -> bool:
    """Whether caches are read and written: not after ``disable_caching()``, nor while
    ``MLOPS_GUARD_NO_CACHE`` is set (``MLOPS_GUARD_NO_CACHE=1``)."""
    return not (_caching_disabled or os.environ.get("MLOPS_GUARD_NO_CACHE"))
