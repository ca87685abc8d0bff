"""A target is one thing the rules run on: a pipeline definition or a metadata store,
with where it came from so findings can point back into the user's file. A file whose
findings the result cache remembers is not a target but :class:`ReplayedFindings`."""

from __future__ import annotations

from collections.abc import Callable

from mlops_guard.definition import Definition


class Target:
    """One checked thing.

    ``file`` is the path shown to the user; ``kind`` is ``"definition"`` or
    ``"metadata"`` (which rules apply); ``name`` the pipeline or store name used by
    waivers, baselines and reports; ``base_pointer`` where the checked document sits
    inside the file (e.g. a template resource); ``locate`` maps a pointer into the *file*
    to ``(line, column)`` when known; ``notes`` say what could not be checked; ``facts``
    hold pipeline-level facts known only from where the definition was found (tags, role,
    schedules in the same template); ``suppressions`` are inline ``# mlops-guard:
    ignore[...]`` comments found in the source.
    """

    def __init__(
        self,
        file: str,
        kind: str,
        name: str,
        definition: Definition | None = None,
        store: object | None = None,
        base_pointer: str = "",
        locate: Callable[[str], tuple[int, int] | None] | None = None,
        notes: list[str] | None = None,
        facts: dict | None = None,
        suppressions: list | None = None,
    ):
        self.file = file
        self.kind = kind
        self.name = name
        self.definition = definition
        self.store = store
        self.base_pointer = base_pointer
        self.locate = locate
        self.notes = notes if notes is not None else []
        self.facts = facts if facts is not None else {}
        self.suppressions = suppressions if suppressions is not None else []
        self.name_pointer: str | None = None
        """Where in the *file* the pipeline's name is written, when outside the definition
        (``/PipelineName``); findings about the name point there."""
        self.fixture_cache: dict = {}
        """Fixture values computed for this target, shared by every rule (see engine)."""
        self.standalone = False
        """Whether its findings depend on its file's text alone (see ``result_cache``)."""

    def __repr__(self) -> str:
        return f"Target({self.file!r}, kind={self.kind!r}, name={self.name!r})"

    def position(self, pointer: str) -> tuple[int, int] | None:
        if self.locate is None:
            return None
        return self.locate(self.base_pointer + pointer)


class ReplayedFindings:
    """The findings of one target remembered from an earlier run of its unchanged file
    (``result_cache``, or a worker of ``parallel``): the engine reports them, in the
    stream of targets where the file's targets would be, instead of running rules.

    ``findings`` are raw (before selection, severities, waivers and suppressions, which
    apply to them as to fresh ones); ``suppressions`` are the file's inline comments."""

    __slots__ = ("file", "findings", "name", "suppressions")

    def __init__(self, file: str, name: str, findings: list, suppressions: list | None = None):
        self.file = file
        self.name = name
        self.findings = findings
        self.suppressions = suppressions if suppressions is not None else []

    def __repr__(self) -> str:
        return f"ReplayedFindings({self.file!r}, name={self.name!r}, {len(self.findings)})"
