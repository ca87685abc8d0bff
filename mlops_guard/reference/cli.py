"""``mlops-guard reference``: show, draw and run the reference pipeline.

Exit codes of ``run``: 0 success, 1 the evaluation failed the threshold (nothing published),
2 bad input (malformed date, missing input, unwritable output), 3 a step failed otherwise.
Usage errors and a missing extra (``run`` and ``definition --render`` need the ``sdk``
extra) are one line on stderr and exit 2; anything else escaping is turned into one line
by the guard of :func:`mlops_guard.cli.main`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys

from mlops_guard.errors import EXIT_CLEAN, EXIT_INPUT, InputError, require_extra

EXTRA = "sdk"
RUN_NEEDS = ("numpy", "pandas", "pyarrow", "sklearn")
"""What the step scripts import (they run in subprocesses, so a missing one is found before
the run starts, not as a failed step); S3 and Athena also need boto3."""


def _parser() -> argparse.ArgumentParser:
    from mlops_guard.options import Parser

    parser = Parser(
        prog="mlops-guard reference",
        description="The reference daily train-and-predict SageMaker pipeline.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    definition = commands.add_parser("definition", help="print the pipeline definition JSON")
    definition.add_argument(
        "--render", action="store_true", help="render afresh with the SageMaker SDK (offline)"
    )

    graph = commands.add_parser("graph", help="print the DAG of the definition")
    graph.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    graph.add_argument(
        "--definition", metavar="FILE", help="any pipeline definition JSON (default: reference)"
    )

    run = commands.add_parser("run", help="run the pipeline locally for one date")
    run.add_argument("--date", required=True, help="the ExecutionDate, YYYY-MM-DD")
    run.add_argument(
        "--output", required=True, metavar="DIR|s3://bucket/prefix", help="OutputBaseUri"
    )
    run.add_argument("--threshold", type=float, help="override the MAPE threshold (0.2)")
    run.add_argument(
        "--bad-model", action="store_true", help="train a degenerate model (fails the gate)"
    )
    run.add_argument("--input", metavar="URI", help="InputDataUri (default: the synthetic source)")
    run.add_argument("--quiet", action="store_true", help="print only the outcome")
    return parser


def _load(path: str | None) -> dict:
    from mlops_guard.reference import load_definition

    if path is None:
        return load_definition()
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _require_run_extra(args) -> None:
    """Raise the one line naming the extra when a module the run needs is missing.

    ``find_spec`` probes without importing (pandas and scikit-learn take seconds to
    import, and the run imports them in its step processes anyway); only a missing module
    goes through :func:`require_extra`, for the one wording of that error.
    """
    needed = list(RUN_NEEDS)
    if any(str(uri or "").startswith(("s3://", "athena://")) for uri in (args.output, args.input)):
        needed.append("boto3")
    for module in needed:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            require_extra(module, EXTRA, "'mlops-guard reference run'")


def main(argv: list[str]) -> int:
    """``mlops-guard reference ARGV`` (also run as ``python -m mlops_guard.reference``)."""
    try:
        return _main(argv)
    except InputError as error:
        from mlops_guard.reporters.safe_text import one_line

        print(f"mlops-guard: error: {one_line(str(error))}", file=sys.stderr)
        return EXIT_INPUT


def _main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "definition":
        if args.render:
            require_extra("sagemaker", EXTRA, "'mlops-guard reference definition --render'")
            try:
                from mlops_guard.reference.render import render_definition

                text = render_definition()
            except ImportError as error:  # a module the SDK itself needs
                require_extra(error.name or "sagemaker", EXTRA, "rendering the reference")
                raise
            sys.stdout.write(text)
            return EXIT_CLEAN
        from mlops_guard.reference import DEFINITION_PATH

        sys.stdout.write(DEFINITION_PATH.read_text(encoding="utf-8"))
        return EXIT_CLEAN

    if args.command == "graph":
        from mlops_guard.reference import graph

        try:
            definition = _load(args.definition)
        except (OSError, ValueError) as error:
            raise InputError(f"cannot read definition: {error}", file=args.definition) from None
        render = graph.to_dot if args.format == "dot" else graph.to_mermaid
        sys.stdout.write(render(definition))
        return EXIT_CLEAN

    _require_run_extra(args)
    from mlops_guard.reference.runner import run_reference

    def log(line: str) -> None:
        if not args.quiet:
            print(line, flush=True)

    result = run_reference(
        args.date,
        args.output,
        threshold=args.threshold,
        bad_model=args.bad_model,
        input_uri=args.input,
        log=log,
    )
    if result.exit_code == 0:
        print(result.message)
        if result.metadata_uri:
            print(f"metadata: {result.metadata_uri}")
    elif result.exit_code == 1:
        print(f"evaluation failed: {result.message}", file=sys.stderr)
    else:
        print(f"error: {result.message}", file=sys.stderr)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
