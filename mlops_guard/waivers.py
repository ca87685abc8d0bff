"""Policy waivers: named exceptions to a rule, with a reason and an optional expiry."""

from __future__ import annotations

import datetime as dt
from fnmatch import fnmatchcase

from mlops_guard.findings import Finding, Location
from mlops_guard.meta_rules import WAIVER_EXPIRED, WAIVER_UNUSED
from mlops_guard.selection import path_matches


class Waiver:
    """One waiver from the policy, counting the findings it silenced in this run."""

    def __init__(self, index, rule, reason, file=None, pipeline=None, step=None, expires=None):
        self.index = index
        self.rule = rule
        self.reason = reason
        self.file = file
        self.pipeline = pipeline
        self.step = step
        self.expires = expires
        self.used = 0

    def matches(self, finding: Finding) -> bool:
        if not finding.rule.startswith(self.rule):
            return False
        if self.file and not path_matches(finding.location.file, self.file):
            return False
        if self.pipeline and not fnmatchcase(finding.target, self.pipeline):
            return False
        return not (self.step and not fnmatchcase(finding.subject or "", self.step))

    def describe(self) -> str:
        scope = ", ".join(
            f"{key}={value}"
            for key, value in (
                ("file", self.file),
                ("pipeline", self.pipeline),
                ("step", self.step),
            )
            if value
        )
        return f"{self.rule} ({scope})"


def parse_waivers(items) -> list[Waiver]:
    waivers = []
    for index, item in enumerate(items):
        expires = item.get("expires")
        waivers.append(
            Waiver(
                index=index,
                rule=item["rule"],
                reason=item["reason"],
                file=item.get("file"),
                pipeline=item.get("pipeline"),
                step=item.get("step"),
                expires=dt.date.fromisoformat(expires) if expires else None,
            )
        )
    return waivers


def apply_waivers(
    findings: list[Finding], waivers: list[Waiver], policy_file: str, today: dt.date
) -> tuple[list[Finding], list[Finding], list[Finding]]:
    """Split findings into (active, suppressed) and add findings about the waivers."""
    active: list[Finding] = []
    suppressed: list[Finding] = []
    live = [waiver for waiver in waivers if not (waiver.expires and waiver.expires < today)]
    for finding in findings:
        waiver = next((w for w in live if w.matches(finding)), None)
        if waiver is None:
            active.append(finding)
        else:
            waiver.used += 1
            suppressed.append(_suppress(finding, waiver.reason))
    about: list[Finding] = []
    for waiver in waivers:
        location = Location(policy_file, f"/waivers/{waiver.index}")
        if waiver.expires and waiver.expires < today:
            message = f"waiver for {waiver.describe()} expired on {waiver.expires.isoformat()}"
            about.append(_meta(WAIVER_EXPIRED, message, location))
        elif not waiver.used:
            about.append(
                _meta(WAIVER_UNUSED, f"waiver for {waiver.describe()} matches nothing", location)
            )
    return active, suppressed, about


def _suppress(finding: Finding, reason: str) -> Finding:
    return finding.with_suppression(reason)


def _meta(info, message: str, location: Location) -> Finding:
    return Finding(info.id, info.category, info.severity, message, location, target="policy")
