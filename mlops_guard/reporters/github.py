"""GitHub Actions workflow commands: one annotation per finding, shown on the pull
request's diff, then the text summary line for the log.

``::error file=F,line=L,col=C,title=ID::message``. GitHub's escaping: in the message
``%``, CR and LF become ``%25``, ``%0D``, ``%0A``; in property values also ``:`` and
``,`` become ``%3A`` and ``%2C``. Severity ``info`` is a ``notice``. Other controls and
surrogates are shown as backslash escapes (:mod:`.safe_text`): a workflow command is one
line, and the runner's log must not be rewritten by what a checked file held.
"""

from __future__ import annotations

from mlops_guard.reporters.safe_text import printable

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(result, context) -> str:
    from mlops_guard.reporters import text

    lines = []
    for finding in result.findings:
        location = finding.location
        properties = [f"file={escape_property(location.file)}"]
        if location.line is not None:
            properties.append(f"line={location.line}")
            if location.column:
                properties.append(f"col={location.column}")
        properties.append(f"title={escape_property(finding.rule)}")
        message = finding.message
        if location.pointer:
            message += f" [{location.pointer}]"
        command = COMMANDS.get(finding.severity, "warning")
        lines.append(f"::{command} {','.join(properties)}::{escape_data(message)}")
    # The text report's last line is its summary ("Found 2 findings ...").
    lines.append(text.render(result, context).rstrip("\n").rsplit("\n", 1)[-1])
    return "\n".join(lines) + "\n"
