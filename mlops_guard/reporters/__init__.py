"""Output formats, one module each, all rendering the same :class:`RunResult`, and where
the rendered report goes (a file or standard output, neither failing on its text)."""

from __future__ import annotations

import importlib
import io
import os
import sys

from mlops_guard.errors import InputError

FORMATS = {  # --format NAME: the module whose render(result, context) writes it
    "text": "mlops_guard.reporters.text",
    "json": "mlops_guard.reporters.json_format",
    "sarif": "mlops_guard.reporters.sarif",
    "junit": "mlops_guard.reporters.junit",
    "github": "mlops_guard.reporters.github",
}


def report_context(command: str, rules, result) -> dict:
    """What reporters get besides the findings: the tool's version, the command, and the
    rules that ran (those of ``rules`` in ``result.rule_ids``). Every report counts and
    describes the same rules: the summary's "44 rules", the audit's HTML card, SARIF's
    ``tool.driver.rules`` (with the engine's own MG rules) and JUnit's test suites;
    never a rule that was loaded but not run, which no report may show as passed."""
    from mlops_guard import __version__

    ran = set(result.rule_ids)
    return {
        "version": __version__,
        "rules": [rule for rule in rules if rule.id in ran],
        "command": command,
    }


def render(format_name: str, result, context) -> str:
    """``context`` carries what some formats need besides findings (rule docs, tool
    version, the command's name)."""
    module = importlib.import_module(FORMATS[format_name])
    return module.render(result, context)


def write_report(text: str, output: str | None) -> None:
    """Write a report to ``output`` or stdout; neither can fail on the report's text.

    Reporters already escape what the checked files held; ``backslashreplace`` is the
    last line of defence (and what a narrow terminal encoding gets). A reader that closes
    stdout early (``| head``) is normal: the rest of the report is dropped and the command
    still exits with its verdict.
    """
    if output:
        try:
            with open(output, "w", encoding="utf-8", errors="backslashreplace") as handle:
                handle.write(text)
        except OSError as error:
            raise InputError(f"cannot write report: {error.strerror}", file=output) from None
    else:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            drop_stdout()


def drop_stdout() -> None:
    """Send the rest of stdout to the null device, so the interpreter's final flush does
    not fail again on a closed pipe."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass
