"""One table per extension point, and everything that lists its entries follows it.

Input formats (:data:`mlops_guard.loaders.LOADERS_BY_SUFFIX`), output formats
(:data:`mlops_guard.reporters.FORMATS`), metadata sources
(:data:`mlops_guard.metadata.sources.SOURCES`) and rule categories
(:data:`mlops_guard.authoring.CATEGORIES`): the command-line choices, help and error
messages are derived from the table, and what cannot be derived (the pre-commit hook's
``files:`` pattern, the README) is checked against it here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_guard.cli import main
from mlops_guard.loaders import LOADERS_BY_SUFFIX
from mlops_guard.reporters import FORMATS
from tests.rules.conftest import REFERENCE_PATH

ROOT = Path(__file__).resolve().parents[2]
OTHER_SUFFIXES = (".py", ".txt", ".md", ".toml", ".cfg", ".ini", ".jsonl", ".json5", ".tfvars")
OTHER_SUFFIXES += (".hcl", ".ipynb", ".yamlx", ".templates", ".xml", ".lock")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path / "cache"))


def _hook_files_pattern(hook_id: str) -> re.Pattern:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = [hook for hook in hooks if hook["id"] == hook_id]
    return re.compile(hook["files"])  # pre-commit matches it with re.search


# -- input formats --------------------------------------------------------------------------


def test_the_hook_passes_exactly_the_files_a_loader_reads():
    files = _hook_files_pattern("mlops-guard")
    for suffix in LOADERS_BY_SUFFIX:
        assert suffix not in OTHER_SUFFIXES
        for name in (f"pipeline{suffix}", f"infra/stack{suffix}", f"LEGACY{suffix.upper()}"):
            assert files.search(name), f"the hook skips {name}, which mlops-guard checks"
    for suffix in OTHER_SUFFIXES:
        for name in (f"notes{suffix}", f"dir/notes{suffix}"):
            assert not files.search(name), f"the hook passes {name}, which no loader reads"
    for suffix in LOADERS_BY_SUFFIX:
        assert not files.search(f"pipeline{suffix}.bak")


def test_a_named_file_of_another_kind_lists_every_suffix(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    assert main(["check", "notes.txt"]) == 2
    line = capsys.readouterr().err.strip()
    assert "notes.txt: not a file mlops-guard checks" in line
    assert all(suffix in line for suffix in LOADERS_BY_SUFFIX), line


def test_a_walk_finds_every_suffix_and_nothing_else(tmp_path):
    from mlops_guard.loaders import iter_files

    for suffix in (*LOADERS_BY_SUFFIX, *OTHER_SUFFIXES):
        (tmp_path / f"file{suffix}").write_text("{}", encoding="utf-8")
    found = {path.suffix for path, _named in iter_files([str(tmp_path)])}
    assert found == set(LOADERS_BY_SUFFIX)


# -- output formats -------------------------------------------------------------------------


def _audit_parser():
    from mlops_guard.audit.cli import build_parser

    return build_parser()


@pytest.mark.parametrize("format_name", list(FORMATS))
def test_every_output_format_is_a_choice_of_check_and_audit(format_name):
    from mlops_guard.cli import build_parser

    check = build_parser("check").parse_args(["check", "--format", format_name, "x.json"])
    assert check.format == format_name
    audit = _audit_parser().parse_args(["file", "--format", format_name, "export.json"])
    assert audit.format == format_name


def test_a_new_output_format_is_one_module_and_one_row(tmp_path, monkeypatch, capsys):
    module = tmp_path / "throwaway_count_format.py"
    module.write_text(
        "def render(result, context):\n"
        "    return f'{context[\"command\"]}: {len(result.findings)} finding(s)\\n'\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(FORMATS, "count", "throwaway_count_format")

    assert main(["check", "--format", "count", str(REFERENCE_PATH)]) == 0
    assert capsys.readouterr().out == "check: 0 finding(s)\n"
    assert _audit_parser().parse_args(["file", "--format", "count", "x.json"]).format == "count"


def test_an_unknown_output_format_is_a_usage_error(capsys):
    assert main(["check", "--format", "yaml", str(REFERENCE_PATH)]) == 2
    err = capsys.readouterr().err
    assert "--format" in err and all(name in err for name in FORMATS), err


def test_the_readme_lists_every_output_format():
    from mlops_guard.docs import README, formats_table

    assert formats_table() in README.read_text(encoding="utf-8")
    assert all(f"| `{name}` |" in formats_table() for name in FORMATS)


# -- metadata sources -----------------------------------------------------------------------


def _subcommands(parser) -> dict[str, str]:
    """A parser's subcommands and their help, as its ``--help`` lists them."""
    listing = parser.format_help().split("SOURCE\n", 1)[1].split("\n\n", 1)[0]
    found = re.findall(r"^    (\S+)\s+(.+?)$", listing, re.MULTILINE | re.DOTALL)
    return {name: " ".join(text.split()) for name, text in found}


def test_every_metadata_source_is_an_audit_subcommand_with_its_help():
    from mlops_guard.metadata.sources import SOURCES

    audit = _subcommands(_audit_parser())
    assert list(audit) == [*SOURCES, "merge"]  # merge reads the audit's reports, not a store
    assert all(audit[name] == source.summary for name, source in SOURCES.items())


def test_export_offers_exactly_the_live_sources():
    from mlops_guard.metadata.cli import build_parser
    from mlops_guard.metadata.sources import SOURCES

    export = _subcommands(build_parser())
    live = {name: source.summary for name, source in SOURCES.items() if source.live}
    assert export == live


def test_every_metadata_source_is_a_module_that_fetches_a_store():
    from mlops_guard.metadata.sources import SOURCES

    for name, source in SOURCES.items():
        module = source.load()
        assert callable(module.fetch_store) and callable(module.add_options), name
        what, unit = module.READING
        assert what and unit, name
        if source.live:  # export and the audit read it through these
            assert callable(module.fetch_options) and callable(module.label), name


def test_an_unknown_source_names_the_known_ones():
    from mlops_guard.metadata.errors import MetadataInputError
    from mlops_guard.metadata.sources import SOURCES, export

    with pytest.raises(MetadataInputError) as raised:
        export("wandb")
    assert all(name in str(raised.value) for name in SOURCES)


THROWAWAY_SOURCE = """
READING = ("tally", "runs")


def add_options(parser, command):
    parser.add_argument("--runs", type=int, required=True, help="how many runs to count")


def fetch_options(args):
    return {"runs": args.runs}


def label(options):
    return f"tally:{options['runs']}"


def fetch_store(*, runs, timeout=None):
    from mlops_guard.metadata.model import MetadataStore, Unreadable

    what = f"tally:{runs} runs (timeout {timeout:g} s)"
    return MetadataStore(unreadable=[Unreadable(what=what, reason="the tally is made up")])
"""


def test_a_new_metadata_source_is_one_module_and_one_row(tmp_path, monkeypatch, capsys):
    from mlops_guard.audit.cli import main as audit
    from mlops_guard.metadata.sources import SOURCES, Source

    package = tmp_path / "throwaway_sources"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "tally.py").write_text(THROWAWAY_SOURCE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(SOURCES, "tally", Source("throwaway_sources.tally", "a tally", live=True))

    assert _subcommands(_audit_parser())["tally"] == "a tally"
    assert "--runs RUNS" in _subcommand_help(_audit_parser(), "tally")
    assert audit(["tally", "--runs", "3", "--timeout", "9", "--format", "json"]) == 2
    report = json.loads(capsys.readouterr().out)
    (finding,) = report["findings"]
    assert finding["rule"] == "MG005" and finding["location"]["file"] == "tally:3"
    assert "tally:3 runs (timeout 9 s)" in finding["message"]


def _subcommand_help(parser, name: str) -> str:
    (subparsers,) = [action for action in parser._actions if action.dest == "source"]
    return subparsers.choices[name].format_help()


def test_the_source_parsers_import_no_reader():
    code = (
        "import sys; from mlops_guard.audit.cli import build_parser; build_parser();"
        "from mlops_guard.metadata.cli import build_parser; build_parser();"
        "print(sorted({'boto3', 'botocore', 'mlflow', 'pydantic'} & set(sys.modules)))"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert process.stdout.strip() == "[]"


# -- rule categories ------------------------------------------------------------------------


def test_the_readme_names_exactly_the_categories():
    from mlops_guard.authoring import CATEGORIES

    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    sentence = re.search(r"Categories are exactly (.*?)\.", text)
    assert sentence, "the README's Rules section names the categories"
    assert re.findall(r"`([a-z-]+)`", sentence.group(1)) == list(CATEGORIES)


def test_every_category_has_its_policy_section():
    from mlops_guard.authoring import CATEGORIES
    from mlops_guard.fixtures import category_section
    from mlops_guard.policy.model import Policy

    sections = [category_section(category) for category in CATEGORIES]
    assert sections == [
        "naming",
        "recorded_fields",
        "idempotent_outputs",
        "evaluation_thresholds",
        "structure",
        "security",
        "operations",
    ]
    assert set(sections) <= set(Policy.model_fields)
