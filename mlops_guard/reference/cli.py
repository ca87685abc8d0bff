"""``mlops-guard reference``: show, draw and run the reference pipeline.

Exit codes of ``run``: 0 success, 1 the evaluation failed the threshold (nothing published),
2 bad input (malformed date, missing input, unwritable output), 3 a step failed otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlops-guard reference",
        description="The reference daily train-and-predict SageMaker pipeline.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

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


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "definition":
        if args.render:
            try:
                from mlops_guard.reference.render import render_definition

                sys.stdout.write(render_definition())
            except ImportError as error:
                print(f"error: rendering needs the SageMaker SDK ({error.name})", file=sys.stderr)
                return 2
            return 0
        from mlops_guard.reference import DEFINITION_PATH

        sys.stdout.write(DEFINITION_PATH.read_text(encoding="utf-8"))
        return 0

    if args.command == "graph":
        from mlops_guard.reference import graph

        try:
            definition = _load(args.definition)
        except (OSError, ValueError) as error:
            print(f"error: cannot read definition {args.definition}: {error}", file=sys.stderr)
            return 2
        render = graph.to_dot if args.format == "dot" else graph.to_mermaid
        sys.stdout.write(render(definition))
        return 0

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
