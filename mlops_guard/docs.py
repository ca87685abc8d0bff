"""Keep the README's generated blocks (the rule table) in step with the code.

``python -m mlops_guard.docs --write`` rewrites the block between
``<!-- rules:begin -->`` and ``<!-- rules:end -->``; ``--check`` exits 1 when it is stale
(a test runs the check).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from mlops_guard.engine import all_rule_infos
from mlops_guard.registry import load_rules
from mlops_guard.resources import builtin_rules_dir

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(<!-- rules:begin -->\n)(.*?)(<!-- rules:end -->)", re.DOTALL)


def rules_table() -> str:
    rules = load_rules([(builtin_rules_dir(), True)])
    lines = ["| id | category | severity | summary |", "|---|---|---|---|"]
    for info in all_rule_infos(rules):
        lines.append(f"| `{info.id}` | {info.category} | {info.severity} | {info.summary} |")
    return "\n".join(lines) + "\n"


def updated(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + rules_table() + m.group(3), text)


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
        print("README rule table is stale: run python -m mlops_guard.docs --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
