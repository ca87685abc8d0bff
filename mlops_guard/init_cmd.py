"""``mlops-guard init``: start a repository on mlops-guard in one command.

Writes a starter team policy (``.mlops-guard.yaml``, ``extends: default``) and a
``.pre-commit-config.yaml`` with the hook. It never changes a file that exists: an
existing policy is an error (exit 2, nothing written), and for an existing pre-commit
config the hook snippet is printed to add by hand. With ``--pyproject`` the policy goes
into a new ``[tool.mlops-guard]`` table appended to ``pyproject.toml`` instead (only
when the file has no such table yet); a ``[tool.mlops-guard]`` table that exists would
take precedence over a new ``.mlops-guard.yaml``, so that is refused too.

The hook configuration must pin a revision. mlops-guard publishes no release tags, so
without ``--rev`` the written ``rev:`` follows the default branch, with a comment (and a
printed note) on pinning it to a commit sha. Every README section it points at exists
(a test checks the anchors).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlops_guard.errors import EXIT_CLEAN, InputError

DEFAULT_REPO = "https://github.com/mlops-guard/mlops-guard"
DEFAULT_REV = "main"
README = "README.md"
POLICY_DOCS = f"{README}#the-policy"
HOOK_DOCS = f"{README}#pre-commit"
TRUST_DOCS = f"{README}#trust"

POLICY = """\
# Team policy for mlops-guard: the shipped default plus what this team does differently.
# Every key is documented in mlops-guard's {policy_docs}; `mlops-guard rules` lists
# the rules and `mlops-guard explain ID` shows why each matters and how to fix it.
extends: default

# fail_on: error            # the lowest severity that fails `mlops-guard check`
# ignore: []                # rule ids or prefixes to switch off
# rules_dirs: [guard_rules] # the team's own check_*.py rules (runs code: --allow-code)
# modules: []               # Python pipeline modules to render (--allow-code), e.g.
#   - entry: pipelines.forecast:get_pipeline
#     kwargs: {}

# naming:
#   pipeline: {pattern: "^[a-z][a-z0-9-]*$", description: kebab-case}
#   required_tags: [team, cost-center]

# idempotent_outputs:
#   run_date_parameter: ExecutionDate
#   partition_key: dt

# waivers:                  # exceptions with a reason and an expiry
#   - rule: IO002
#     pipeline: legacy-*
#     reason: migrating to dt= partitions in Q3
#     expires: 2026-12-31
""".replace("{policy_docs}", POLICY_DOCS)

PYPROJECT = """
[tool.mlops-guard]
# Team policy for mlops-guard (see {policy_docs}).
extends = "default"
# fail_on = "error"
# ignore = []
# rules-dirs = ["guard_rules"]
""".replace("{policy_docs}", POLICY_DOCS)


def pre_commit_snippet(repo: str, rev: str) -> str:
    pin = ""
    if rev == DEFAULT_REV:
        pin = (
            "    # No release tags yet: pin a commit sha (`git ls-remote REPO main`, or\n"
            "    # `pre-commit autoupdate --freeze`) rather than a moving branch.\n"
        )
    return f"""\
repos:
  - repo: {repo}
{pin}    rev: {rev}
    hooks:
      - id: mlops-guard
      # Renders the policy's Python pipeline modules (runs their code; needs the SDK;
      # see {HOOK_DOCS} and {TRUST_DOCS}):
      # - id: mlops-guard-modules
      #   additional_dependencies: ["sagemaker>=3.27"]
"""


PIN_NOTE = (
    "Pin the hook: mlops-guard has no release tags yet, so replace `rev: {rev}` with a "
    "commit sha of {repo} (`git ls-remote {repo} {rev}` prints it; "
    "`pre-commit autoupdate --freeze` does it for you); see {docs}."
)


def build_parser() -> argparse.ArgumentParser:
    from mlops_guard.options import Parser

    parser = Parser(prog="mlops-guard init", description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default=".", help="repository root")
    parser.add_argument(
        "--pyproject", action="store_true", help="put the policy in pyproject.toml instead"
    )
    parser.add_argument("--repo", default=DEFAULT_REPO, help="hook repository URL")
    parser.add_argument(
        "--rev",
        default=DEFAULT_REV,
        help=f"hook revision: a tag or a commit sha (default: {DEFAULT_REV}, to pin)",
    )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    root = Path(args.directory)
    if not root.is_dir():
        raise InputError("not a directory", file=args.directory)
    policy = root / ".mlops-guard.yaml"
    pyproject = root / "pyproject.toml"
    hooks = root / ".pre-commit-config.yaml"
    has_table = pyproject.is_file() and _has_table(pyproject)
    # Decide everything before writing anything: a refusal leaves the tree untouched.
    if has_table:
        raise InputError(
            "already has a [tool.mlops-guard] table; edit it instead", file=str(pyproject)
        )
    if args.pyproject:
        if not pyproject.is_file():
            raise InputError("not found (use init without --pyproject)", file=str(pyproject))
    elif policy.exists():
        raise InputError("already exists; not overwriting", file=str(policy))
    written = []
    if args.pyproject:
        text = pyproject.read_text(encoding="utf-8")
        separator = "" if text.endswith("\n") or not text else "\n"
        with pyproject.open("a", encoding="utf-8") as handle:
            handle.write(separator + PYPROJECT)
        written.append(f"{pyproject}: added [tool.mlops-guard]")
    else:
        _create(policy, POLICY)
        written.append(f"{policy}: starter team policy (extends: default)")
    snippet = pre_commit_snippet(args.repo, args.rev)
    if hooks.exists():
        print(f"{hooks} exists and was left unchanged; add this hook to it:\n")
        print(snippet)
    else:
        _create(hooks, snippet)
        written.append(f"{hooks}: pre-commit hook (then run `pre-commit install`)")
    for line in written:
        print(f"wrote {line}")
    if not args.pyproject:
        print("\nTo keep the policy in pyproject.toml instead, use this table:")
        print(PYPROJECT)
    if args.rev == DEFAULT_REV:
        print(PIN_NOTE.format(rev=args.rev, repo=args.repo, docs=HOOK_DOCS))
    return EXIT_CLEAN


def _has_table(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    return "[tool.mlops-guard]" in text or '[tool."mlops-guard"]' in text


def _create(path: Path, text: str) -> None:
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise InputError("already exists; not overwriting", file=str(path)) from None
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror or error}", file=str(path)) from None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
