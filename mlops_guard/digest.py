"""Digests for cache keys without importing OpenSSL.

``hashlib`` loads ``_hashlib`` (OpenSSL), which costs a few milliseconds at start-up;
CPython's own SHA-256 and BLAKE2 modules give the same digests. Used on the pre-commit
path. ``content_digest`` is for many file contents per run: CPython's BLAKE2b is about
three times faster than its SHA-256.
"""

from __future__ import annotations

try:  # CPython 3.12+: _sha2; 3.11: _sha256
    from _sha2 import sha256
except ImportError:  # pragma: no cover - depends on the interpreter
    try:
        from _sha256 import sha256
    except ImportError:
        from hashlib import sha256

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - depends on the interpreter
    from hashlib import blake2b


def content_digest(data: bytes) -> str:
    """A 128-bit BLAKE2b digest of ``data``, in hex."""
    return blake2b(data, digest_size=16).hexdigest()


__all__ = ["content_digest", "sha256"]
