"""The ``mlops-guard`` command: the entry point only. It parses the command line, hands
the command to :mod:`mlops_guard.commands` (or a subcommand's own module, see
:data:`EXTERNAL`) and guards the run, so that whatever escapes is one line and exit 2.
Nothing in the package imports it: shared options live in :mod:`mlops_guard.options`,
errors and exit codes in :mod:`mlops_guard.errors`, report writing in the reporters.

Subcommands import what they need when they run, so ``mlops-guard check`` on a JSON
definition never imports boto3, pandas, sagemaker, mlflow or pytest. Exit codes:
0 clean, 1 findings at or above ``--fail-on`` (and nothing else), 2 usage, input or tool
error (one line on stderr), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager, suppress

from mlops_guard import __version__
from mlops_guard.errors import (
    EXIT_CLEAN,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXTRAS,
    FILE_NOTE,
    TOOL_ERROR_HINT,
    InputError,
    UsageError,
)
from mlops_guard.options import Parser, add_output_options, add_policy_options

EXTERNAL = {
    "reference": ("mlops_guard.reference.cli", "main", "Run or print the reference pipeline."),
    "audit": ("mlops_guard.audit.cli", "main", "Audit recorded experiments and pipelines."),
    "export": ("mlops_guard.metadata.cli", "main_export", "Export experiment metadata to a file."),
    "iam-policy": ("mlops_guard.audit.cli", "main_iam_policy", "Print the audit's IAM policy."),
    "init": ("mlops_guard.init_cmd", "main", "Write a starter team policy and hook config."),
}


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
    fixtures = commands.add_parser("fixtures", help="List the fixtures a rule may ask for.")
    if only in (None, "fixtures"):
        fixtures.add_argument("--format", choices=["text", "json"], default="text")
        add_policy_options(fixtures, selection=False)
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


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code: 0 clean, 1 findings, 2 anything else.

    The guard here is why a crash can never read as "findings": whatever escapes a command
    (an input error, a missing extra, a bug) is one line on stderr and exit 2; ``--debug``
    adds the traceback. Standard streams never fail on what the checked files held (see
    :func:`_tolerant_streams`).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    command = " ".join(argv[:1] + [word for word in argv[1:2] if not word.startswith("-")])
    with _tolerant_streams():
        try:
            return _run(argv)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            # Output was cut before the command decided its verdict (a reader that stops
            # early after a complete report is handled in reporters.write_report).
            from mlops_guard.reporters import drop_stdout

            drop_stdout()
            return _tool_error(
                InputError("standard output was closed before the command finished"), debug
            )
        except ModuleNotFoundError as error:
            return _tool_error(_missing_extra(error, command), debug)
        except SystemExit as exit_:
            if exit_.code in (None, EXIT_CLEAN, EXIT_INPUT):
                return exit_.code or EXIT_CLEAN
            return _tool_error(exit_, debug)
        except Exception as error:
            return _tool_error(error, debug)


def _run(argv: list[str]) -> int:
    if argv and argv[0] in EXTERNAL:
        return _external(argv[0], argv[1:])
    parser = build_parser(argv[0] if argv and not argv[0].startswith("-") else None)
    args = parser.parse_args(argv)
    if args.command is None:  # the help, and the one line every exit 2 has
        parser.print_help()
        raise UsageError("a command is required (see the list above)", where="mlops-guard")
    from mlops_guard import commands

    return getattr(commands, args.command)(args)


def _tool_error(error: BaseException, debug: bool) -> int:
    """One line on stderr for ``error`` (the traceback before it with ``--debug``), exit 2.

    An :class:`InputError` is the user's to fix and says so itself; anything else is a
    tool error: the file it concerns when known, the exception's type and message.
    """
    from mlops_guard.reporters.safe_text import one_line

    if debug:
        import traceback

        traceback.print_exception(error, file=sys.stderr)
    if isinstance(error, InputError):
        line = str(error)
    else:
        file = _file_of(error)
        detail = type(error).__name__ + (f": {error}" if str(error) else "")
        hint = "" if debug else f" {TOOL_ERROR_HINT}"
        line = f"{file}: {detail}{hint}" if file else f"{detail}{hint}"
    with suppress(OSError, ValueError):  # stderr itself gone: the exit code still says it
        print(f"mlops-guard: error: {one_line(line)}", file=sys.stderr, flush=True)
    return EXIT_INPUT


def _file_of(error: BaseException) -> str | None:
    """The file an exception concerns, when it says: an ``OSError``'s file name, or a
    ``file: PATH`` note (PEP 678) added by the code that was reading it."""
    filename = getattr(error, "filename", None)
    if isinstance(filename, str | bytes | os.PathLike):
        return os.fsdecode(filename)
    for note in getattr(error, "__notes__", ()):
        if isinstance(note, str) and note.startswith(FILE_NOTE):
            return note[len(FILE_NOTE) :]
    return None


def _missing_extra(error: ModuleNotFoundError, command: str) -> BaseException:
    """A missing optional module as the one line naming its extra; any other missing
    module (a broken installation) stays a tool error naming the module."""
    from mlops_guard.errors import MissingExtra, require_extra

    module = (error.name or "").partition(".")[0]
    extra = EXTRAS.get(module)
    if extra is None:
        return error
    if command.startswith("reference"):
        extra = "sdk"  # the reference pipeline's steps need the SDK extra's whole set
    try:
        require_extra(module, extra, f"'mlops-guard {command}'")
    except MissingExtra as missing:
        return missing
    return error  # importable after all: the original error is the one to show


def _external(name: str, argv: list[str]) -> int:
    """A subcommand implemented in its own module (imported only when used); a missing
    optional dependency, at import or later, is turned into the extra to install by
    :func:`main`."""
    import importlib

    module_name, function, _summary = EXTERNAL[name]
    module = importlib.import_module(module_name)
    return getattr(module, function)(argv)


@contextmanager
def _tolerant_streams():
    """stdout and stderr that escape what their encoding cannot hold (an ASCII terminal,
    ``PYTHONIOENCODING=ascii``, a lone surrogate) instead of raising; restored after."""
    saved = []
    for stream in (sys.stdout, sys.stderr):
        errors = getattr(stream, "errors", None)
        if errors in (None, "backslashreplace") or not hasattr(stream, "reconfigure"):
            continue
        try:
            stream.reconfigure(errors="backslashreplace")
        except (OSError, ValueError):
            continue
        saved.append((stream, errors))
    try:
        yield
    finally:
        for stream, errors in saved:
            with suppress(OSError, ValueError):
                stream.reconfigure(errors=errors)
