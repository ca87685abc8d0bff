"""Keep the README's generated blocks in step with the code: the rule table, the output
formats and the reference pipeline's DAG (Mermaid, rendered from the committed definition).

``python -m mlops_guard.docs --write`` rewrites every block between
``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``; ``--check`` exits 1 when one is stale
(a test runs the check).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from mlops_guard.registry import all_rule_infos, load_rules
from mlops_guard.resources import builtin_rules_dir

README = Path(__file__).resolve().parent.parent / "README.md"


def _block(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- {name}:begin -->\n)(.*?)(<!-- {name}:end -->)", re.DOTALL)


def rules_table() -> str:
    rules = load_rules([(builtin_rules_dir(), True)])
    lines = ["| id | category | severity | summary |", "|---|---|---|---|"]
    for info in all_rule_infos(rules):
        lines.append(f"| `{info.id}` | {info.category} | {info.severity} | {info.summary} |")
    return "\n".join(lines) + "\n"


def formats_table() -> str:
    """The output formats of :data:`mlops_guard.reporters.FORMATS`, each summed up by the
    first paragraph of its module's docstring."""
    import importlib

    from mlops_guard.reporters import FORMATS

    lines = ["| `--format` | output |", "|---|---|"]
    for name, module in FORMATS.items():
        summary = importlib.import_module(module).__doc__.split("\n\n")[0]
        lines.append(f"| `{name}` | {' '.join(summary.split()).replace('``', '`')} |")
    return "\n".join(lines) + "\n"


def reference_graph() -> str:
    from mlops_guard.reference import load_definition
    from mlops_guard.reference.graph import to_mermaid

    return "```mermaid\n" + to_mermaid(load_definition()).rstrip("\n") + "\n```\n"


GENERATORS = {
    "rules": rules_table,
    "formats": formats_table,
    "reference-graph": reference_graph,
}


def updated(text: str) -> str:
    for name, generate in GENERATORS.items():
        content = generate()
        text = _block(name).sub(lambda m, c=content: m.group(1) + c + m.group(3), text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_guard.docs")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    new = updated(text)
    if args.write:
        README.write_text(new, encoding="utf-8")
        return 0
    if new != text:
        print("README generated blocks are stale: run python -m mlops_guard.docs --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
