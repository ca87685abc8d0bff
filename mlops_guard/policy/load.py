"""Find, read, merge (``extends``), validate and cache the team policy.

Discovery order: ``--policy PATH``; else ``[tool.mlops-guard]`` in the nearest
``pyproject.toml``; else the nearest ``.mlops-guard.yaml``; else the shipped default.
A configuration file met during discovery that cannot be read is an error, never a
reason to fall back to the default policy (that would pass what the team's policy
fails). ``isolated`` skips discovery (the default policy unless one is named).

Validation uses pydantic, which costs more to import than a whole pre-commit check
should take. An ordinary policy (every value already of its type) is therefore validated
without it (:mod:`.plain`, from the model described as data), and the validated policy is
cached as plain JSON, keyed by the
content of every file in the ``extends`` chain and tagged by ``cache_store`` so that an
edited or planted entry is not trusted; an unchanged policy is read back without
importing pydantic or parsing YAML.
"""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path

from mlops_guard import __version__, cache_store
from mlops_guard.digest import sha256
from mlops_guard.errors import InputError
from mlops_guard.policy.settings import Settings
from mlops_guard.resources import builtin_policies_dir, cache_dir, caching, default_policy_path

PYPROJECT_SECTION = "mlops-guard"


class PolicySource(namedtuple("PolicySource", "path kind")):
    """Where the policy came from: a YAML file (``kind="yaml"``) or a pyproject table
    (``kind="pyproject"``)."""

    __slots__ = ()

    @property
    def base_dir(self) -> Path:
        return self.path.parent


class LoadedPolicy(namedtuple("LoadedPolicy", "settings source files")):
    """The validated policy, where it came from, and every file of its extends chain
    (root first)."""

    __slots__ = ()

    @property
    def base_dir(self) -> Path:
        return self.source.base_dir


def resolve_policy_source(
    explicit: str | None, start: Path | None = None, *, isolated: bool = False
) -> PolicySource:
    if explicit:
        path = Path(explicit)
        if not path.exists():
            raise InputError("policy file not found", file=explicit)
        kind = "pyproject" if path.name == "pyproject.toml" else "yaml"
        return PolicySource(path, kind)
    if isolated:
        return PolicySource(default_policy_path(), "yaml")
    start = (start or Path.cwd()).resolve()
    directories = [start, *start.parents]
    for directory in directories:
        candidate = directory / "pyproject.toml"
        if _exists(candidate) and _has_pyproject_section(candidate):
            return PolicySource(candidate, "pyproject")
    for directory in directories:
        candidate = directory / ".mlops-guard.yaml"
        if _exists(candidate):
            return PolicySource(candidate, "yaml")
    return PolicySource(default_policy_path(), "yaml")


def _exists(path: Path) -> bool:
    """Whether discovery meets ``path``; a path that cannot even be looked at (a
    directory without search permission on the way) is an error, not an absence."""
    try:
        path.stat()
    except FileNotFoundError:
        if path.is_symlink():  # met, but pointing nowhere: not an absence
            raise InputError(
                "cannot read configuration: a broken symlink", file=str(path)
            ) from None
        return False
    except OSError as error:
        raise InputError(
            f"cannot read configuration: {error.strerror or error.__class__.__name__}",
            file=str(path),
        ) from None
    return True


def _has_pyproject_section(path: Path) -> bool:
    text = _read(path, "configuration")
    # Cheap textual pre-check; the real parse happens when the policy is loaded.
    return f"[tool.{PYPROJECT_SECTION}" in text or f'[tool."{PYPROJECT_SECTION}"' in text


def load_policy(
    explicit: str | None = None, start: Path | None = None, *, isolated: bool = False
) -> LoadedPolicy:
    source = resolve_policy_source(explicit, start, isolated=isolated)
    root_text = _read(source.path)
    key = sha256(f"{__version__}\0{source.path.resolve()}\0{root_text}".encode()).hexdigest()
    cached = _read_cache(key)
    if cached is not None:
        return LoadedPolicy(Settings(cached["policy"]), source, tuple(cached["files"]))
    documents = _read_chain(source, root_text)
    merged: dict = {}
    for _path, document in reversed(documents):
        merged = _merge(merged, document)
    validated = _validate(merged, documents[0][0])
    validated["enforced"] = _enforced(documents)
    files = tuple(path for path, _ in documents)
    _write_cache(key, validated, files)
    return LoadedPolicy(Settings(validated), source, files)


def _read(path: Path, what: str = "policy") -> str:
    """The text of a policy or configuration file, read within the input limits (a FIFO or
    an endless file named as a policy must not hang the gate)."""
    from mlops_guard.loaders.limits import read_text

    try:
        return read_text(path, str(path))
    except InputError as error:
        raise InputError(f"cannot read {what}: {error.message}", file=str(path)) from None


def _read_chain(source: PolicySource, root_text: str) -> list[tuple[str, dict]]:
    """The root document and every document it extends, root first."""
    chain: list[tuple[str, dict]] = []
    seen: set[Path] = set()
    path, text, kind = source.path, root_text, source.kind
    while True:
        resolved = path.resolve()
        if resolved in seen:
            raise InputError("extends forms a cycle", file=str(path), where="extends")
        seen.add(resolved)
        try:
            document = _parse(path, text, kind)
        except ValueError as error:  # a YAML date that is no date: ``expires: 2020-02-30``
            raise InputError(
                f"invalid value: {error}", file=str(path), where=_bad_date_line(text)
            ) from None
        _validate_document(document, path, text, kind)
        parent = document.pop("extends", None)
        chain.append((str(path), document))
        if parent is None:
            return chain
        path = _resolve_extends(parent, path)
        text, kind = _read(path), "yaml"


def _bad_date_line(text: str) -> str | None:
    """The line of the first ``YYYY-MM-DD`` that is no calendar date, if any."""
    import datetime
    import re

    for number, line in enumerate(text.splitlines(), start=1):
        for match in re.finditer(r"\b\d{4}-\d{2}-\d{2}\b", line):
            try:
                datetime.date.fromisoformat(match.group())
            except ValueError:
                key = line.split(":", 1)[0].strip(" -") if ":" in line else ""
                return f"{key} (line {number})" if key else f"line {number}"
    return None


def _resolve_extends(value, referrer: Path) -> Path:
    if not isinstance(value, str) or not value:
        raise InputError("expected a policy name or a path", file=str(referrer), where="extends")
    builtin = builtin_policies_dir() / f"{value}.yaml"
    if "/" not in value and not value.endswith((".yaml", ".yml")) and builtin.is_file():
        return builtin
    path = (referrer.parent / value).resolve()
    if not path.is_file():
        raise InputError(
            f"extended policy {value!r} not found", file=str(referrer), where="extends"
        )
    return path


def _parse(path: Path, text: str, kind: str) -> dict:
    if kind == "pyproject":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise InputError(f"invalid TOML: {error}", file=str(path)) from None
        section = data.get("tool", {}).get(PYPROJECT_SECTION)
        if not isinstance(section, dict):
            raise InputError(f"expected a [tool.{PYPROJECT_SECTION}] table", file=str(path))
        return _normalise_keys(section)
    import yaml

    from mlops_guard.loaders import safe_yaml

    try:
        data = safe_yaml.load(text, str(path), _safe_loader())  # aliases bounded
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InputError(f"invalid YAML: {problem}", file=str(path), where=where) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError("expected a mapping of policy settings", file=str(path), where="line 1")
    return data


def _safe_loader():
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def origin_of(
    loaded: LoadedPolicy, key: str | list[str], value=None, *, shown: str | None = None
) -> tuple[str, str]:
    """``(file, where)`` of the document of the extends chain that sets ``key`` (a
    top-level key, or the path of a nested one) to a value holding ``value``, when given:
    for error messages, so a bad setting is named in the file that has it. ``shown`` is
    what ``where`` calls it (default: the keys joined by dots). Reads the chain again;
    only error paths call it."""
    keys = [key] if isinstance(key, str) else list(key)
    shown = shown or ".".join(keys)
    source = loaded.source
    try:
        documents = _read_chain(source, _read(source.path))
    except InputError:
        return str(source.path), shown
    for file, document in documents:
        node = document
        for part in keys:
            node = node.get(part, _ABSENT) if isinstance(node, dict) else _ABSENT
        if node is not _ABSENT and (value is None or _holds(node, value)):
            path = Path(file)
            text = _read(path) if path.suffix in (".yaml", ".yml") else None
            line = _key_line(text, keys) if text else None
            return file, f"{shown} (line {line})" if line else shown
    return str(source.path), shown


_ABSENT = object()


def policy_with(overrides: dict, label: str = "<policy>") -> LoadedPolicy:
    """The shipped default policy with ``overrides`` merged in (as ``extends: default``
    would), validated; for :mod:`mlops_guard.testing`, where a test states its policy as a
    mapping. ``label`` names it in error messages (it is no file: relative ``rules_dirs``
    are relative to the working directory)."""
    default = PolicySource(default_policy_path(), "yaml")
    documents = _read_chain(default, _read(default.path))
    merged: dict = {}
    for _path, document in reversed(documents):
        merged = _merge(merged, document)
    validated = _validate(_merge(merged, overrides), label)
    validated["enforced"] = []
    files = tuple(path for path, _ in documents)
    return LoadedPolicy(Settings(validated), PolicySource(Path(label), "mapping"), files)


def _holds(setting, value) -> bool:
    if isinstance(setting, dict):
        return value in setting or any(_holds(item, value) for item in setting.values())
    if isinstance(setting, list):
        return any(item == value or _holds(item, value) for item in setting)
    return setting == value


def _enforced(documents: list[tuple[str, dict]]) -> list[dict]:
    """What each policy of the chain that declares ``enforce:`` enforces on the policies
    that extend it: its own effective settings (it merged with what it extends), and
    which extending file sets each key (see :mod:`mlops_guard.policy.enforce`)."""
    enforced = []
    for index, (file, document) in enumerate(documents):
        if index == 0 or not document.get("enforce"):
            continue
        merged: dict = {}
        for _path, ancestor in reversed(documents[index:]):
            merged = _merge(merged, ancestor)
        central = _validate(merged, file)
        setters = {}
        for key in ENFORCEABLE_TOP_KEYS:
            for below, extending in documents[:index]:
                if key in extending:
                    setters[key] = below
                    break
        for below, extending in documents[:index]:
            if "thresholds" in (extending.get("evaluation_thresholds") or {}):
                setters["evaluation_thresholds.thresholds"] = below
                break
        enforced.append(
            {
                "file": file,
                "enforce": central["enforce"],
                "central": {key: central[key] for key in ENFORCEABLE_TOP_KEYS},
                "thresholds": central["evaluation_thresholds"]["thresholds"],
                "set_by": setters,
            }
        )
    return enforced


ENFORCEABLE_TOP_KEYS = (
    "select",
    "extend_select",
    "ignore",
    "per_path_ignores",
    "severity",
    "fail_on",
    "waivers",
)


def _normalise_keys(section: dict) -> dict:
    """pyproject tables use kebab-case keys (``per-path-ignores``); YAML uses snake_case."""
    result = {}
    for key, value in section.items():
        if isinstance(value, dict) and key not in (
            "severity",
            "per-path-ignores",
            "per_path_ignores",
        ):
            value = _normalise_keys(value)
        result[key.replace("-", "_") if isinstance(key, str) else key] = value
    return result


def _merge(base: dict, override: dict) -> dict:
    """Deep merge: mappings merge key by key, everything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _validate_document(document: dict, path: Path, text: str, kind: str) -> None:
    """Validate one file of the chain on its own, so an error names the file that has it."""
    body = {key: value for key, value in document.items() if key != "extends"}
    _validate(body, str(path), text if kind == "yaml" else None)


def _validate(data: dict, file: str, text: str | None = None) -> dict:
    from mlops_guard.policy import plain

    checked = plain.validated(data)  # an ordinary policy: no pydantic to import
    if checked is not None:
        return checked
    from pydantic import ValidationError

    from mlops_guard.policy.model import Policy

    try:
        return Policy.model_validate(data).model_dump(mode="json")
    except ValidationError as error:
        first = error.errors()[0]
        keys = [str(part) for part in first["loc"]]
        where = ".".join(keys) or "(top level)"
        line = _key_line(text, first["loc"]) if text else None
        if line:
            where += f" (line {line})"
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        raise InputError(message, file=file, where=where) from None


def _key_line(text: str, loc: tuple) -> int | None:
    """The line of the deepest key of a validation error's location in the YAML text."""
    from mlops_guard.loaders.yaml_marks import line_of

    return line_of(text, list(loc))


def _cache_file(key: str) -> Path:
    return cache_dir() / "policies" / f"{key}.cache"


def _read_cache(key: str) -> dict | None:
    """The cached validated policy, if this user's cache holds one for this key (see
    ``cache_store``) and every file of its extends chain still has the bytes it had."""
    entry = cache_store.read_json(_cache_file(key))
    try:
        if not (isinstance(entry["policy"], dict) and isinstance(entry["files"], list)):
            return None
        for file, digest in entry["digests"].items():
            if sha256(Path(file).read_bytes()).hexdigest() != digest:
                return None
        if sorted(entry["digests"]) != sorted(entry["files"]):
            return None
        return entry
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_cache(key: str, policy: dict, files: tuple[str, ...]) -> None:
    if not caching():
        return
    try:
        digests = {file: sha256(Path(file).read_bytes()).hexdigest() for file in files}
    except OSError:
        return
    entry = {"policy": policy, "files": list(files), "digests": digests}
    cache_store.write_json(_cache_file(key), entry)
