"""A target is one thing the rules run on: a pipeline definition or a metadata store,
with where it came from so findings can point back into the user's file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mlops_guard.definition import Definition


@dataclass
class Target:
    file: str
    """The path shown to the user (relative to the working directory when possible)."""
    kind: str
    """``"definition"`` or ``"metadata"``: which rules apply."""
    name: str
    """The pipeline or store name, used by waivers, baselines and reports."""
    definition: Definition | None = None
    store: object | None = None
    base_pointer: str = ""
    """Where the checked document sits inside the file (e.g. a template resource)."""
    locate: Callable[[str], tuple[int, int] | None] | None = None
    """Maps a pointer into the *file* to ``(line, column)``, when known."""
    notes: list[str] = field(default_factory=list)
    """What could not be checked in this target, said once in the report."""
    facts: dict = field(default_factory=dict)
    """Pipeline-level facts known only from where the definition was found
    (tags, role, schedules in the same template)."""
    suppressions: list = field(default_factory=list)
    """Inline ``# mlops-guard: ignore[...]`` comments found in the source."""

    def position(self, pointer: str) -> tuple[int, int] | None:
        if self.locate is None:
            return None
        return self.locate(self.base_pointer + pointer)
