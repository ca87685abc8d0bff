"""Read-only attribute access over a validated policy.

Rules read ``policy.idempotent_outputs.partition_key``. The values come from the
validated (and possibly cached) plain-JSON policy, so this wrapper is what keeps
pydantic off the fast path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping


class Settings(Mapping):
    # ``__dict__`` holds settings already read as attributes, so that reading one again
    # (rules do, in their loops) is a plain attribute lookup, not a ``__getattr__`` call.
    __slots__ = ("__dict__", "_children", "_data", "_path")

    def __init__(self, data: dict, path: str = ""):
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_children", {})

    def __getattr__(self, name: str):
        try:
            value = self[name]
        except KeyError:
            where = f"{self._path}." if self._path else ""
            raise AttributeError(f"policy has no setting {where}{name}") from None
        if not name.startswith("_"):
            self.__dict__[name] = value
        return value

    def __getitem__(self, key: str):
        children = self._children
        if key not in children:  # wrap once: rules read settings inside their loops
            children[key] = _wrap(self._data[key], f"{self._path}.{key}" if self._path else key)
        return children[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __setattr__(self, name, value):
        raise AttributeError("policy settings are read-only")

    def __repr__(self) -> str:
        return f"Settings({self._data!r})"

    def to_dict(self) -> dict:
        return self._data


def _wrap(value, path: str):
    if isinstance(value, dict):
        return Settings(value, path)
    if isinstance(value, list):
        return tuple(_wrap(item, f"{path}[{index}]") for index, item in enumerate(value))
    return value
