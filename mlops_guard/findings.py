"""Findings: what a run reports, in the one shape every output format starts from.

Records here are named tuples rather than dataclasses: they are immutable all the same,
and creating their classes costs a fraction of what dataclasses cost at import, which
matters on the pre-commit path.
"""

from __future__ import annotations

from collections import namedtuple

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


class Location(namedtuple("Location", "file pointer line column", defaults=("", None, None))):
    """Where a finding is: a file, a JSON pointer inside the checked document, and the
    line and column in the file when the loader could map the pointer back to text."""

    __slots__ = ()

    def to_dict(self) -> dict:
        data = {"file": self.file, "pointer": self.pointer}
        if self.line is not None:
            data["line"] = self.line
            data["column"] = self.column
        return data


_FindingBase = namedtuple(
    "Finding",
    "rule category severity message location target subject suppressed extra",
    defaults=("", None, None, None),
)


class Finding(_FindingBase):
    """One reported problem.

    ``target`` is the pipeline, experiment or other top-level thing it belongs to;
    ``subject`` the step, parameter or run inside it; ``suppressed`` the justification
    of the waiver or suppression that silenced it; ``extra`` free-form details.
    """

    __slots__ = ()

    def __new__(
        cls,
        rule,
        category,
        severity,
        message,
        location,
        target="",
        subject=None,
        suppressed=None,
        extra=None,
    ):
        return super().__new__(
            cls,
            rule,
            category,
            severity,
            message,
            location,
            target,
            subject,
            suppressed,
            extra if extra is not None else {},
        )

    def sort_key(self) -> tuple:
        loc = self.location
        return (loc.file, loc.line or 0, loc.column or 0, loc.pointer, self.rule, self.message)

    def fingerprint(self) -> str:
        """A key that survives reformatting and moved lines: file, target, subject, rule
        and the message, never line numbers.

        Any text hashes, lone surrogates included (a file name that is not UTF-8, a
        ``"\\ud800"`` in a step name): they are encoded as they are (``surrogatepass``),
        which leaves every other text's key unchanged.
        """
        import hashlib

        parts = (self.location.file, self.target, self.subject, self.rule, self.message)
        text = "\x1f".join("" if part is None else str(part) for part in parts)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]

    def with_severity(self, severity: str) -> Finding:
        return self._replace(severity=severity)

    def with_suppression(self, reason: str) -> Finding:
        return self._replace(suppressed=reason)

    def to_dict(self) -> dict:
        data = {
            "rule": self.rule,
            "category": self.category,
            "severity": self.severity,
            "message": self.message,
            "location": self.location.to_dict(),
            "target": self.target,
            "subject": self.subject,
            "fingerprint": self.fingerprint(),
        }
        if self.suppressed is not None:
            data["suppressed"] = self.suppressed
        return data
