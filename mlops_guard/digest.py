"""SHA-256 for cache keys without importing OpenSSL.

``hashlib`` loads ``_hashlib`` (OpenSSL), which costs a few milliseconds at start-up;
CPython's own SHA-256 module gives the same digests. Used on the pre-commit path.
"""

from __future__ import annotations

try:  # CPython 3.12+: _sha2; 3.11: _sha256
    from _sha2 import sha256
except ImportError:  # pragma: no cover - depends on the interpreter
    try:
        from _sha256 import sha256
    except ImportError:
        from hashlib import sha256

__all__ = ["sha256"]
