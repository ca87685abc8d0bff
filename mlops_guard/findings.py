"""Findings: what a run reports, in the one shape every output format starts from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class Location:
    """Where a finding is: a file, a JSON pointer inside the checked document, and the
    line and column in the file when the loader could map the pointer back to text."""

    file: str
    pointer: str = ""
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict:
        data = {"file": self.file, "pointer": self.pointer}
        if self.line is not None:
            data["line"] = self.line
            data["column"] = self.column
        return data


@dataclass(frozen=True)
class Finding:
    rule: str
    category: str
    severity: str
    message: str
    location: Location
    target: str = ""
    """The pipeline, experiment or other top-level thing the finding belongs to."""
    subject: str | None = None
    """The step, parameter or run inside the target, when there is one."""
    suppressed: str | None = None
    """The justification of a waiver or inline suppression that silenced this finding."""
    extra: dict = field(default_factory=dict, compare=False)

    def sort_key(self) -> tuple:
        loc = self.location
        return (loc.file, loc.line or 0, loc.column or 0, loc.pointer, self.rule, self.message)

    def fingerprint(self) -> str:
        """A key that survives reformatting and moved lines: file, target, subject, rule
        and the message, never line numbers."""
        parts = (self.location.file, self.target, self.subject or "", self.rule, self.message)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]

    def with_severity(self, severity: str) -> Finding:
        return replace(self, severity=severity)

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
