"""Baselines: adopt mlops-guard on an existing repository without fixing everything first.

``check --write-baseline FILE`` records today's findings; ``check --baseline FILE``
reports only findings that are not in it, so CI fails on new problems while the old
ones are paid off. Entries are keyed by :meth:`Finding.fingerprint` (file, pipeline,
step, rule, message; never line numbers), so reformatting a definition or moving a step
keeps them matched. Entries that match nothing any more are reported as MG006, which
says the baseline can shrink.

File format (sorted, stable diffs)::

    {"version": 1, "findings": [{"fingerprint", "rule", "file", "target", "subject",
                                 "message"}, ...]}
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mlops_guard.errors import InputError, invalid_json
from mlops_guard.findings import Finding, Location
from mlops_guard.meta_rules import BASELINE_UNUSED

VERSION = 1
REASON = "baseline"
_FIELDS = ("fingerprint", "rule", "file", "target", "subject", "message")


def apply(result, baseline_path: str | None, write_path: str | None):
    """Move findings recorded in ``baseline_path`` to ``result.suppressed`` (reason
    ``baseline``), add MG006 for unused entries; with ``write_path``, first write every
    current finding there (the written baseline then applies to this run too)."""
    if write_path:
        write(result.findings, write_path)
        baseline_path = baseline_path or write_path
    if not baseline_path:
        return result
    entries, text = _read(baseline_path)
    wanted = {entry["fingerprint"] for entry in entries}
    used: set[str] = set()
    active, baselined = [], []
    for finding in result.findings:
        key = finding.fingerprint()
        if key in wanted and finding.rule != BASELINE_UNUSED.id:
            used.add(key)
            extra = {**(finding.extra or {}), "suppression": "baseline"}
            baselined.append(finding._replace(suppressed=REASON, extra=extra))
        else:
            active.append(finding)
    locate = _locate(text)
    for index, entry in enumerate(entries):
        if entry["fingerprint"] not in used:
            active.append(_unused(entry, index, baseline_path, locate))
    result.findings = sorted(active, key=Finding.sort_key)
    result.suppressed = sorted([*result.suppressed, *baselined], key=Finding.sort_key)
    return result


def entry_for(finding: Finding) -> dict:
    return {
        "fingerprint": finding.fingerprint(),
        "rule": finding.rule,
        "file": finding.location.file,
        "target": finding.target,
        "subject": finding.subject,
        "message": finding.message,
    }


def write(findings, path: str) -> None:
    entries = {
        entry["fingerprint"]: entry
        for entry in (entry_for(f) for f in findings if f.rule != BASELINE_UNUSED.id)
    }
    ordered = sorted(
        entries.values(),
        key=lambda e: (e["file"], e["target"], e["subject"] or "", e["rule"], e["message"]),
    )
    text = json.dumps({"version": VERSION, "findings": ordered}, indent=2) + "\n"
    target = Path(path)
    try:
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    except OSError as error:
        raise InputError(f"cannot write baseline: {error.strerror or error}", file=path) from None


def read(path: str) -> list[dict]:
    """The entries of a baseline file; any defect is an input error naming where."""
    return _read(path)[0]


def _read(path: str) -> tuple[list[dict], str]:
    """The entries and the text of a baseline file: a regular file within the size limits
    of :mod:`.loaders.limits` (a FIFO named as the baseline cannot hang the run), valid
    JSON of bounded depth, in the baseline's shape."""
    from mlops_guard.loaders.limits import check_document, read_text

    if not os.path.lexists(path):
        raise InputError("baseline file not found", file=path)
    text = read_text(path, path)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:  # huge integers, deep nesting
        raise invalid_json(error, "baseline is not valid JSON", file=path) from None
    check_document(document, path)
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise InputError(
            f'expected a baseline object with "version": {VERSION} '
            "(write one with --write-baseline)",
            file=path,
        )
    entries = document.get("findings")
    if not isinstance(entries, list):
        raise InputError('expected a "findings" list', file=path, where="/findings")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("fingerprint"), str):
            raise InputError(
                'expected an entry with a string "fingerprint"',
                file=path,
                where=f"/findings/{index}",
            )
    return entries, text


def _locate(text: str):
    from mlops_guard.loaders.json_marks import JsonMarks

    return JsonMarks(text).locate


def _unused(entry: dict, index: int, path: str, locate) -> Finding:
    pointer = f"/findings/{index}"
    position = locate(pointer)
    line, column = position if position else (None, None)
    what = f"{entry.get('rule', '?')} in {entry.get('file', '?')}"
    if entry.get("subject"):
        what += f" ({entry['subject']})"
    message = f"baseline entry for {what} matches no finding: {entry.get('message', '')}"
    info = BASELINE_UNUSED
    location = Location(path, pointer, line, column)
    return Finding(info.id, info.category, info.severity, message, location, "baseline")
