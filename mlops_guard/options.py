"""Command-line options shared by the commands (``check``, ``rules``, ``explain``,
``audit``, ``export``, ``reference``, ``init``): one parser class, so every usage error is
one line and exit 2, and one definition of each shared option, so ``--policy`` or
``--format`` mean the same in every command. Choices come from their tables
(:data:`mlops_guard.reporters.FORMATS`, :data:`mlops_guard.authoring.SEVERITIES`).
"""

from __future__ import annotations

import argparse

from mlops_guard.errors import UsageError


class _Formatter(argparse.HelpFormatter):
    """A fixed width: help text is the same everywhere, and argparse does not import
    ``shutil`` to measure the terminal on every start (it formats while parsing)."""

    def __init__(self, prog: str):
        super().__init__(prog, width=100, max_help_position=32)


class Parser(argparse.ArgumentParser):
    """argparse with our formatter, and usage errors as one-line input errors (exit 2)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # one line, exit 2, like every other input error
        raise UsageError(message, where=self.prog)


def add_policy_options(parser, *, selection: bool = True) -> None:
    """Which policy and rules a command uses (and, with ``selection``, which of them run)."""
    parser.add_argument("--policy", help="policy file (default: discovered, else the default)")
    parser.add_argument(
        "--rules-dir",
        action="append",
        default=[],
        help="extra rules directory (imports its check_*.py files; opt-in)",
    )
    parser.add_argument(
        "--allow-code",
        action="store_true",
        help="let the policy's rules_dirs and modules run the repository's code "
        "(or MLOPS_GUARD_ALLOW_CODE=1)",
    )
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="ignore discovered configuration (pyproject.toml, .mlops-guard.yaml)",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    if selection:
        parser.add_argument("--select", type=_csv, help="comma-separated ids or prefixes")
        parser.add_argument("--ignore", type=_csv, help="comma-separated ids or prefixes")


def add_output_options(parser) -> None:
    """``check``'s report options: the format, one report file, the failing severity."""
    add_format_option(parser)
    parser.add_argument("--output", "-o", help="write the report to this file")
    add_fail_on_option(parser)


def add_format_option(parser) -> None:
    """``--format``: every output format of :data:`mlops_guard.reporters.FORMATS`."""
    from mlops_guard.reporters import FORMATS

    parser.add_argument("--format", default="text", choices=list(FORMATS), help="output format")


def add_fail_on_option(parser) -> None:
    """``--fail-on``: the lowest severity that fails the run (default: the policy's)."""
    from mlops_guard.authoring import SEVERITIES

    parser.add_argument("--fail-on", choices=list(SEVERITIES), help="lowest failing severity")


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]
