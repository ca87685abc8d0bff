"""``mlops-guard export``: read metadata from SageMaker or MLflow and write an export file.

Each live source of :data:`mlops_guard.metadata.sources.SOURCES` is a subcommand, with
the options its module adds and reads (``add_options``, ``fetch_options``).

The main CLI (``mlops_guard.cli``) delegates here with the arguments after ``export``.
Problems the user can fix (bad options, unreadable sources) are one line on stderr,
``mlops-guard: error: ...``, and exit code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from mlops_guard.errors import EXIT_CLEAN, EXIT_INPUT, InputError, UsageError

PROG = "mlops-guard export"


def build_parser() -> argparse.ArgumentParser:
    from mlops_guard.options import Parser

    parser = Parser(
        prog=PROG,
        description="Export experiment and pipeline metadata to a JSON or YAML file.",
    )
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="where to write the export (.json, .yaml/.yml; '-' for standard output)",
    )
    sources = parser.add_subparsers(dest="source", required=True, metavar="SOURCE")
    from mlops_guard.metadata.sources import SOURCES

    for name, source in SOURCES.items():  # every live source; a file is already an export
        if source.live:
            subcommand = sources.add_parser(name, parents=[output], help=source.summary)
            source.load().add_options(subcommand, "export")  # the source's own options
    return parser  # subparsers are Parser too, so their errors are one line as well


def main_export(argv: list[str]) -> int:
    """Run ``mlops-guard export ARGV``; returns the exit code (0 ok, 2 bad input/usage)."""
    from mlops_guard.metadata.io import dump_store, dumps_store
    from mlops_guard.metadata.sources import SOURCES, export

    try:
        arguments = build_parser().parse_args(argv)
    except UsageError as error:
        return _fail(error.message)
    except SystemExit as exit_:  # --help
        return int(exit_.code or EXIT_CLEAN)

    if arguments.source == "sagemaker":  # its organisation-wide options: many files
        from mlops_guard.audit import accounts

        if accounts.wanted(arguments):
            from mlops_guard.metadata import org_export

            try:
                return org_export.export(arguments)
            except InputError as error:
                return _fail(str(error))
    options = SOURCES[arguments.source].load().fetch_options(arguments)
    try:
        store = export(arguments.source, **options)
        if arguments.output == "-":
            sys.stdout.write(dumps_store(store))
        else:
            dump_store(store, arguments.output)
    except InputError as error:  # also a missing extra (MissingExtra)
        return _fail(str(error))
    except OSError as error:
        return _fail(f"{arguments.output}: cannot write: {error.strerror or error}")
    for item in store.unreadable:
        print(f"mlops-guard: warning: not readable: {item.what}: {item.reason}", file=sys.stderr)
    return EXIT_CLEAN


def _fail(message: str) -> int:
    print(f"mlops-guard: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main_export(sys.argv[1:]))
