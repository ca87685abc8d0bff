"""Cache files that save time and can never change a result.

Every cache of mlops-guard (validated policies, the rules manifest, compiled rule
modules, rendered Python modules, remembered findings) reads and writes its files here,
so each gets the same guarantees:

- **Trusted only if this user wrote it.** Callers name an entry by a digest of the bytes
  it was derived from; this module adds a tag: a keyed BLAKE2b (a MAC by design, RFC 7693)
  of the entry's place in the cache, mlops-guard's version and the payload, under a
  per-user secret key kept outside the cache directory (``~/.config/mlops-guard/cache-key``,
  created 0600 on first use). An entry that was edited, planted, copied under another
  name, written by another version or restored from another machine's CI cache fails
  the check: it is a miss, and the work is done again.
- **Written safely.** A new entry goes to a temporary file under an unpredictable name in
  the target directory (created as ``mkstemp`` does: ``O_EXCL``, ``O_NOFOLLOW``, mode
  0600), then ``os.replace``: a planted symlink is replaced, never written through, and a
  concurrent run never reads half a file. Entries are opened with ``O_NOFOLLOW``.
- **Private.** Directories are created 0700. A cache directory owned by another user,
  or writable by group or others, is not used: one warning line, then the run goes on
  uncached.
- **Off when asked.** While ``resources.caching()`` is false (``--no-cache``,
  ``MLOPS_GUARD_NO_CACHE=1``) every read misses and every write is dropped.

Any failure (read-only disk, damaged file, no key) only costs speed.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
from pathlib import Path

from mlops_guard import __version__
from mlops_guard.digest import blake2b
from mlops_guard.resources import cache_dir, caching, disable_caching

try:
    from _operator import _compare_digest as _same
except ImportError:  # pragma: no cover - depends on the interpreter
    from hmac import compare_digest as _same

KEY_FILE_ENV = "MLOPS_GUARD_CACHE_KEY_FILE"
KEY_BYTES = 32
MAGIC = b"mlops-guard cache 1\n"
_TAG_HEX = 64
CACHEDIR_TAG = (
    b"Signature: 8a477f597d28d172789f06886806bc55\n"
    b"# A cache directory of mlops-guard (https://bford.info/cachedir/).\n"
)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a planted FIFO must not block the open

_keys: dict[str, bytes] = {}
_safe_dirs: set[str] = set()


def key_path() -> Path:
    """The per-user secret key: ``$MLOPS_GUARD_CACHE_KEY_FILE``, else under
    ``$XDG_CONFIG_HOME`` (default ``~/.config``), never inside the cache directory (a cache
    restored from elsewhere must not bring its own key)."""
    configured = os.environ.get(KEY_FILE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "mlops-guard" / "cache-key"


def read(path: Path) -> bytes | None:
    """The payload of the cache entry at ``path`` (a file under ``cache_dir()``), or
    ``None`` if caching is off, the entry is missing, or it does not carry this user's
    tag for this place and version."""
    if not caching():
        return None
    key = _secret()
    if key is None or not _directory_ok(path.parent):
        return None
    try:
        data = _read_file(path)
    except OSError:
        return None
    header = len(MAGIC) + _TAG_HEX + 1
    if len(data) < header or not data.startswith(MAGIC) or data[header - 1 : header] != b"\n":
        return None
    payload = data[header:]
    tag = data[len(MAGIC) : header - 1]
    expected = _tag(key, path, payload)
    return payload if expected is not None and _same(tag, expected) else None


def write(path: Path, payload: bytes) -> None:
    """Store ``payload`` at ``path`` (under ``cache_dir()``) with this user's tag."""
    if not caching():
        return
    key = _secret()
    if key is None:
        return
    tag = _tag(key, path, payload)
    if tag is None or not _make_directory(path.parent):
        return
    replace_file(path, MAGIC + tag + b"\n" + payload)


def read_json(path: Path):
    """A JSON entry, or ``None`` (see ``read``); an entry that is not JSON is a miss."""
    payload = read(path)
    if payload is None:
        return None
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):
        return None


def write_json(path: Path, value) -> None:
    write(path, json.dumps(value, sort_keys=True).encode())


def lock_file(path: Path) -> int | None:
    """A descriptor for the lock file at ``path`` (created 0600, symlinks not followed),
    or ``None`` when it cannot be had safely."""
    if not caching() or not _make_directory(path.parent):
        return None
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _NONBLOCK, 0o600)
    except OSError:
        return None


def _tag(key: bytes, path: Path, payload: bytes) -> bytes | None:
    """What makes an entry trusted: its place in the cache (so an entry copied under
    another key's name does not verify), the version that wrote it, and its bytes."""
    try:
        place = path.relative_to(cache_dir()).as_posix()
    except ValueError:
        return None
    mac = blake2b(digest_size=32, key=key, person=b"mlops-guard")
    mac.update(f"{__version__}\0{place}\0".encode("utf-8", "surrogateescape"))
    mac.update(payload)
    return mac.hexdigest().encode()


def _read_file(path: Path) -> bytes:
    descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError("not a regular file")
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(descriptor)


def replace_file(path: Path, data: bytes) -> None:
    """Put ``data`` at ``path`` whole or not at all: written to a new private file beside
    it, then renamed over it (a planted symlink is replaced, never written through); a
    failure leaves ``path`` as it was and is not raised (only a faster next run is lost).
    """
    try:
        descriptor, temporary = _temporary(path.parent, path.name)
    except OSError:
        return
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _temporary(directory: Path, name: str) -> tuple[int, str]:
    """A new file in ``directory`` under an unpredictable name, made as ``mkstemp``
    makes it (``O_EXCL``, ``O_NOFOLLOW``, 0600) without importing ``tempfile``, which
    costs milliseconds a pre-commit run does not have."""
    for _ in range(8):
        temporary = os.path.join(directory, f".{name}.{os.urandom(8).hex()}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0)
        try:
            return os.open(temporary, flags, 0o600), temporary
        except FileExistsError:
            continue
    raise FileExistsError(directory)


def _make_directory(directory: Path) -> bool:
    """Create ``directory`` (and the cache root) private if missing; whether it may be
    used."""
    if str(directory) in _safe_dirs:
        return True
    root = cache_dir()
    try:
        if not root.is_dir():
            with contextlib.suppress(FileExistsError):  # else a concurrent run made it
                os.makedirs(root, mode=0o700)
                replace_file(root / "CACHEDIR.TAG", CACHEDIR_TAG)  # backup tools skip it
        for item in _levels(root, directory)[1:]:
            # There already, or a concurrent run made it: checked below either way.
            with contextlib.suppress(FileExistsError):
                os.mkdir(item, 0o700)
    except (OSError, ValueError):
        return False
    return _directory_ok(directory)


def _directory_ok(directory: Path) -> bool:
    """Whether ``directory`` and every directory above it up to the cache root are this
    user's and no one else may write to them. An unsafe one turns caching off for the
    run, with one warning; a missing one holds nothing to read."""
    if str(directory) in _safe_dirs:
        return True
    root = cache_dir()
    try:
        levels = _levels(root, directory)
    except ValueError:
        return False  # not under the cache root
    for item in levels:
        try:
            # The root may be a symlink the user configured; below it, nothing may be.
            info = os.stat(item) if item == root else os.lstat(item)
        except OSError:
            return False
        problem = _unsafe(info)
        if problem:
            _warn(f"cache directory {item} {problem}: running without cache")
            disable_caching()
            return False
    _safe_dirs.add(str(directory))
    return True


def _levels(root: Path, directory: Path) -> list[Path]:
    """``root`` and each directory from it down to ``directory``."""
    parts = directory.relative_to(root).parts
    return [root, *(root.joinpath(*parts[: index + 1]) for index in range(len(parts)))]


def _unsafe(info: os.stat_result) -> str | None:
    if not stat.S_ISDIR(info.st_mode):
        return "is not a directory"
    geteuid = getattr(os, "geteuid", None)
    if geteuid is not None and info.st_uid != geteuid():
        return "is owned by another user"
    if info.st_mode & 0o022 and os.name == "posix":
        return "is writable by other users"
    return None


def _secret() -> bytes | None:
    """This user's cache key, created on first use; ``None`` turns caching off."""
    path = key_path()
    known = _keys.get(str(path))
    if known is not None:
        return known
    try:
        key = _read_key(path)
    except FileNotFoundError:
        key = _create_key(path)
    except OSError as error:
        _warn(f"cache key {path} {error.strerror or error}: running without cache")
        key = None
    if key is None:
        disable_caching()
        return None
    _keys[str(path)] = key
    return key


def _read_key(path: Path) -> bytes | None:
    descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    try:
        info = os.fstat(descriptor)
        geteuid = getattr(os, "geteuid", None)
        if not stat.S_ISREG(info.st_mode):
            problem = "is not a regular file"
        elif geteuid is not None and info.st_uid != geteuid():
            problem = "is owned by another user"
        elif os.name == "posix" and info.st_mode & 0o077:
            problem = "is readable or writable by other users"
        else:
            key = os.read(descriptor, KEY_BYTES + 1)
            problem = None if len(key) == KEY_BYTES else "is damaged"
    finally:
        os.close(descriptor)
    if problem:
        _warn(f"cache key {path} {problem}: running without cache")
        return None
    return key


def _create_key(path: Path) -> bytes | None:
    """A new random key, published atomically with ``os.link`` so that two runs starting
    at once agree on one key (the loser reads the winner's)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, temporary = _temporary(path.parent, path.name)
    except OSError:
        return None  # e.g. a read-only home: only costs speed
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(os.urandom(KEY_BYTES))
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
        return _read_key(path)
    except OSError:
        return None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _warn(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"mlops-guard: warning: {message}\n")


def reset() -> None:
    """Forget the keys read and the directories checked (tests change them)."""
    _keys.clear()
    _safe_dirs.clear()
