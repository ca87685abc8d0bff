"""``mlops-guard audit`` and ``mlops-guard iam-policy``.

``audit SOURCE`` reads a metadata store (``sagemaker``, ``mlflow``, ``file``: one
subcommand per row of :data:`mlops_guard.metadata.sources.SOURCES`, with the options
its module adds; :mod:`mlops_guard.audit.read_store` reads it), runs the rules on it
the way ``check`` does (same policy, selection, waivers and exit codes), prints the
report in ``--format`` and writes ``--output`` files by suffix (``.html``, ``.csv``,
``.parquet``, ``.json``). Exit codes: 0 clean, 1 findings at or above ``--fail-on``, 2
bad input, and 2 whenever part of the source could not be read: an audit never passes
on what it did not see.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mlops_guard import __version__
from mlops_guard.errors import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INPUT, InputError
from mlops_guard.options import (
    Parser,
    add_fail_on_option,
    add_format_option,
    add_policy_options,
)

OUTPUT_SUFFIXES = (".html", ".csv", ".parquet", ".json")
DEFAULT_TIMEOUT = 1800.0  # seconds: a nightly audit of a large account, with room to spare


def _seconds(text: str) -> float:
    """``--timeout``: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    add_policy_options(common)
    add_format_option(common)
    add_fail_on_option(common)
    common.add_argument(
        "--output",
        "-o",
        action="append",
        default=[],
        metavar="FILE",
        help="also write a report file, by suffix: .html, .csv, .parquet, .json (repeatable)",
    )
    parser = Parser(prog="mlops-guard audit", description="Audit experiments and pipelines.")
    sources = parser.add_subparsers(
        dest="source", required=True, metavar="SOURCE", parser_class=Parser
    )
    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="stop reading after this long; what was not read is MG005 and exit 2 "
        f"(default {DEFAULT_TIMEOUT:g})",
    )
    from mlops_guard.metadata.sources import SOURCES

    for name, source in SOURCES.items():  # one subcommand per metadata source
        parents = [common, reading] if source.live else [common]
        subcommand = sources.add_parser(name, parents=parents, help=source.summary)
        source.load().add_options(subcommand, "audit")  # the source's own options
    from mlops_guard.audit import merge

    merge.add_parser(sources, common)  # the shards' JSON reports of an organisation-wide audit
    return parser


def main(argv: list[str], *, boto_session=None) -> int:
    """Run ``mlops-guard audit ARGV``. ``boto_session`` (a ``boto3.Session``) replaces the one
    built from ``--region``/``--profile``, so tests can watch or shape its traffic."""
    debug = "--debug" in argv
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exit_:  # --help
            return int(exit_.code or EXIT_CLEAN)
        return audit(args, boto_session=boto_session)
    except InputError as error:
        if debug:
            raise
        print(f"mlops-guard: error: {' '.join(str(error).split())}", file=sys.stderr)
        return EXIT_INPUT


def audit(args, *, boto_session=None) -> int:
    from mlops_guard.audit.progress import Progress
    from mlops_guard.audit.store_targets import build_targets
    from mlops_guard.session import prepare

    prepared = prepare(
        args.policy,
        args.rules_dir,
        args.select,
        args.ignore,
        allow_code=args.allow_code,
        isolated=args.isolated,
    )
    if args.source == "merge":
        from mlops_guard.audit import merge

        _check_outputs(args.output)
        return merge.merge(args, prepared)
    if args.source == "sagemaker":
        from mlops_guard.audit import accounts, organisation

        if accounts.wanted(args):
            return organisation.audit(args, prepared, _check_outputs, boto_session=boto_session)
    _check_outputs(args.output)
    loaded = None
    if args.source == "file":
        from mlops_guard.audit import organisation, read_store

        loaded = read_store.load_files(args.paths)
        if organisation.names_pairs(loaded):  # the files of an organisation-wide export
            return organisation.audit_exports(args, prepared, loaded)
    with Progress() as progress:
        store, label = _read(args, boto_session, progress, prepared.policy, loaded)
        targets = build_targets(store, label)
        progress.phase("checking", "targets", total=len(targets))
        result = prepared.run(
            _counted(targets, progress),
            debug=args.debug,
        )
        progress.phase("writing reports", "files", total=len(args.output) or None)
        from mlops_guard.reporters import render, report_context

        context = report_context("audit", prepared.rules, result)
        text = render(args.format, result, context)
        for output in args.output:
            _write(output, result, store, prepared, label, context)
            progress.advance()
    sys.stdout.write(text)
    if store.unreadable:
        print(
            f"mlops-guard: error: {len(store.unreadable)} part(s) of {label} could not be read "
            "(MG005): the audit does not pass",
            file=sys.stderr,
        )
        return EXIT_INPUT
    fail_on = args.fail_on or prepared.policy["fail_on"]
    return EXIT_FINDINGS if result.failed(fail_on) else EXIT_CLEAN


def _read(args, boto_session, progress, policy, loaded=None):
    from mlops_guard.audit import read_store
    from mlops_guard.metadata.sources import SOURCES

    source = SOURCES[args.source]
    module = source.load()
    what, unit = module.READING
    progress.phase(f"reading {what}", unit)
    if args.source == "sagemaker":  # API calls counted, the policy's limits
        return read_store.read_sagemaker(
            args, boto_session, on_call=progress.advance, policy=policy
        )
    if args.source == "file":  # several files, one history
        return read_store.read_files(args.paths, loaded)
    return read_store.read_source(source, args)


def _counted(targets, progress):
    for target in targets:
        yield target
        progress.advance()


# Report types and the modules they need beyond the base install (all in the report extra).
_OUTPUT_NEEDS = {".html": ("pandas",), ".csv": ("pandas",), ".parquet": ("pandas", "pyarrow")}


def _check_outputs(outputs: list[str]) -> None:
    """Every ``--output`` can be written, checked before the store is read: a missing
    extra is one line now, not a traceback after a long read."""
    from mlops_guard.errors import require_extra

    for output in outputs:
        suffix = Path(output).suffix.lower()
        if suffix not in OUTPUT_SUFFIXES:
            raise InputError(
                f"unknown report type (use one of {', '.join(OUTPUT_SUFFIXES)})", file=output
            )
        for module in _OUTPUT_NEEDS.get(suffix, ()):
            require_extra(module, "report", f"--output {output}")


def _write(output: str, result, store, prepared, label: str, context: dict) -> None:
    suffix = Path(output).suffix.lower()
    try:
        if suffix == ".html":
            from mlops_guard.audit import html

            page = html.render(
                result,
                store,
                prepared.policy,
                {"source": label, "version": __version__, "policy_file": prepared.policy_file},
            )
            # A lone surrogate from a live source is written escaped, never a crash.
            Path(output).write_text(page, encoding="utf-8", errors="backslashreplace")
        elif suffix == ".csv":
            from mlops_guard.audit.table import write_csv

            write_csv(result, output)
        elif suffix == ".parquet":
            from mlops_guard.audit.table import write_parquet

            write_parquet(result, output)
        else:
            from mlops_guard.reporters import render

            Path(output).write_text(render("json", result, context), encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot write report: {error.strerror or error}", file=output) from None


# -- iam-policy -------------------------------------------------------------------------------


def iam_policy() -> dict:
    """The read-only IAM policy the SageMaker source needs, from its ``READ_OPERATIONS``."""
    from mlops_guard.metadata.sources.sagemaker import iam_actions

    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "MlopsGuardAuditReadOnly",
                "Effect": "Allow",
                "Action": iam_actions(),
                "Resource": "*",
            }
        ],
    }


def main_iam_policy(argv: list[str]) -> int:
    """Print the policy JSON (``mlops-guard iam-policy``)."""
    parser = Parser(
        prog="mlops-guard iam-policy",
        description="Print the minimal read-only IAM policy `audit sagemaker` and `export` need.",
    )
    try:
        parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or EXIT_CLEAN)
    except InputError as error:
        print(f"mlops-guard: error: {error}", file=sys.stderr)
        return EXIT_INPUT
    print(json.dumps(iam_policy(), indent=2))
    return EXIT_CLEAN
