"""The ``mlops-guard`` command.

Subcommands import what they need when they run, so ``mlops-guard check`` on a JSON
definition never imports boto3, pandas, sagemaker, mlflow or pytest. Exit codes:
0 clean, 1 findings at or above ``--fail-on``, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlops_guard import __version__
from mlops_guard.errors import EXIT_CLEAN, EXIT_INPUT, InputError

EXTERNAL = {
    "reference": ("mlops_guard.reference.cli", "main", "Run or print the reference pipeline."),
    "audit": ("mlops_guard.audit.cli", "main", "Audit recorded experiments and pipelines."),
    "export": ("mlops_guard.metadata.cli", "main_export", "Export experiment metadata to a file."),
    "iam-policy": ("mlops_guard.audit.cli", "main_iam_policy", "Print the audit's IAM policy."),
    "init": ("mlops_guard.init_cmd", "main", "Write a starter team policy and hook config."),
}


class UsageError(InputError):
    pass


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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, the other subcommands get no options (they are
    never parsed in this process, and building every option costs start-up time)."""
    parser = Parser(
        prog="mlops-guard",
        description="Check SageMaker pipelines and experiment metadata against a team policy.",
    )
    parser.add_argument("--version", action="version", version=f"mlops-guard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    check = commands.add_parser("check", help="Check pipeline definitions and templates.")
    if only in (None, "check"):
        _check_options(check)
    rules = commands.add_parser("rules", help="List the rules.")
    if only in (None, "rules"):
        rules.add_argument("--format", choices=["text", "json"], default="text")
        add_policy_options(rules, selection=False)
    explain = commands.add_parser("explain", help="Show a rule's documentation.")
    if only in (None, "explain"):
        explain.add_argument("rule_id")
        add_policy_options(explain, selection=False)
    demo = commands.add_parser("demo", help="Check the bundled reference and examples.")
    if only in (None, "demo"):
        demo.add_argument("--format", choices=["text", "json"], default="text")
    for name, (_module, _function, summary) in EXTERNAL.items():
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def _check_options(check) -> None:
    check.add_argument("paths", nargs="*", help="files or directories (default: .)")
    add_policy_options(check)
    add_output_options(check)
    check.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="PKG.MOD:FUNC",
        help="render a Python pipeline module (executes its code; opt-in)",
    )
    check.add_argument("--kwargs", default="{}", help="JSON keyword arguments for --module")
    modules = check.add_mutually_exclusive_group()
    modules.add_argument(
        "--no-modules",
        action="store_true",
        help="do not render the policy's listed modules (declines them: no opt-in needed)",
    )
    modules.add_argument(
        "--modules-only",
        action="store_true",
        help="check only Python modules (--module and the policy's modules), no files",
    )
    check.add_argument(
        "--skip-unrecognized",
        action="store_true",
        help="skip named files that hold no pipeline (for pre-commit hooks)",
    )
    check.add_argument(
        "--no-cache",
        action="store_true",
        help="check every file again (default: replay findings of unchanged definition files)",
    )
    check.add_argument(
        "--jobs",
        "-j",
        type=_positive,
        metavar="N",
        help="render modules and check big trees in up to N processes (default: the cores)",
    )
    check.add_argument("--baseline", help="report only findings not in this baseline file")
    check.add_argument("--write-baseline", help="write current findings to this baseline file")


def add_policy_options(parser, *, selection: bool = True) -> None:
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
    parser.add_argument(
        "--format",
        default="text",
        choices=["text", "json", "sarif", "junit", "github"],
        help="output format",
    )
    parser.add_argument("--output", "-o", help="write the report to this file")
    parser.add_argument(
        "--fail-on", choices=["info", "warning", "error"], help="lowest failing severity"
    )


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return int(value)


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        if argv and argv[0] in EXTERNAL:
            return _external(argv[0], argv[1:])
        parser = build_parser(argv[0] if argv and not argv[0].startswith("-") else None)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_INPUT
        from mlops_guard import commands

        return getattr(commands, args.command)(args)
    except InputError as error:
        if debug:
            raise
        print(f"mlops-guard: error: {error}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_CLEAN


def _external(name: str, argv: list[str]) -> int:
    import importlib

    module_name, function, _summary = EXTERNAL[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise InputError(
            f"'{name}' needs a component that is not installed ({error.name}); "
            "install mlops-guard[all]"
        ) from None
    return getattr(module, function)(argv)


def write_report(text: str, output: str | None) -> None:
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as error:
            raise InputError(f"cannot write report: {error.strerror}", file=output) from None
    else:
        sys.stdout.write(text)
