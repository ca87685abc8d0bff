"""``audit file`` on exports of every wrong shape: a report or one line, never a crash.

A valid export (an experiment of runs with metrics and a deployed pipeline) is damaged
by hypothesis: any value replaced by any JSON value (NaN, infinities, huge integers,
lone surrogates, deep lists and objects), keys dropped or added. Whatever comes of it,
``audit file`` exits 0 or 1 with a report that parses, or 2 with one line on stderr.
A few byte-level damages (not UTF-8, truncated, huge numbers) are checked by name.
"""

from __future__ import annotations

import json
import math
import os
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_guard.audit import cli


def valid_export() -> dict:
    run = {
        "name": "run-1",
        "display_name": "TrainEvaluation",
        "status": "Completed",
        "start_time": "2026-11-20T05:00:00Z",
        "end_time": "2026-11-20T05:30:00Z",
        "tags": {"owner": "ml-team"},
        "parameters": {"learning_rate": 0.1, "algorithm": "xgboost", "early_stop": True},
        "metrics": {
            "mape": {
                "last": 0.05,
                "min": 0.04,
                "max": 0.3,
                "avg": 0.1,
                "count": 3,
                "series": [{"step": 0, "timestamp": "2026-11-20T05:10:00Z", "value": 0.3}],
            }
        },
        "input_artifacts": {"train": {"uri": "s3://data/train.csv", "media_type": "text/csv"}},
        "output_artifacts": {"model": {"uri": "s3://models/model.tar.gz"}},
        "pipeline_execution_arn": (
            "arn:aws:sagemaker:us-east-1:123456789012:pipeline/daily-demand-forecast/execution/a"
        ),
    }
    second = {**run, "name": "run-2", "start_time": "2026-11-21T05:00:00Z"}
    second["metrics"] = {"mape": {**run["metrics"]["mape"], "last": 0.06}}
    return {
        "format": "mlops-guard-metadata",
        "version": 1,
        "experiments": [
            {
                "name": "daily-demand-forecast",
                "description": "Daily demand forecast.",
                "tags": {"team": "forecasting"},
                "trials": [
                    {"name": "t1", "components": [run]},
                    {"name": "t2", "components": [second]},
                ],
            }
        ],
        "pipelines": [
            {
                "name": "daily-demand-forecast",
                "arn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/daily-demand-forecast",
                "definition": {"Version": "2020-12-01", "Parameters": [], "Steps": []},
                "schedules": [
                    {"kind": "scheduler", "name": "daily", "expression": "cron(0 5 * * ? *)"}
                ],
                "notifications": [
                    {
                        "rule_name": "failed",
                        "event_pattern": {"detail-type": ["x"]},
                        "targets": ["arn:aws:sns:us-east-1:123456789012:alerts"],
                    }
                ],
                "executions": [{"arn": "arn:x", "status": "Succeeded", "parameters": {"a": "b"}}],
            }
        ],
        "unreadable": [],
    }


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["\ud800", "2026-02-30T00:00:00Z", "9" * 50, "NaN", ""]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def damaged_exports(draw) -> dict:
    document = valid_export()
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        node, key = _random_place(draw, document)
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "replace" or not isinstance(node, dict):
            node[key] = draw(JSON_VALUES)
        elif action == "drop":
            node.pop(key, None)
        else:
            node[draw(st.text(min_size=1, max_size=8))] = draw(JSON_VALUES)
    return document


def _random_place(draw, document):
    """A container in ``document`` and one of its keys or indices, by a random walk."""
    node, key = document, draw(st.sampled_from(sorted(document)))
    while draw(st.booleans()):
        child = node[key]
        if not isinstance(child, dict | list) or not child:
            break
        keys = sorted(child) if isinstance(child, dict) else range(len(child))
        node, key = child, draw(st.sampled_from(list(keys)))
    return node, key


def _audit_file(path, capsys) -> tuple[int, str, str]:
    code = cli.main(["file", str(path), "--format", "json"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_report_or_one_line(code: int, out: str, err: str) -> None:
    assert code in (0, 1, 2), code
    if code == 2:
        assert err.startswith("mlops-guard: error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err
    else:
        report = json.loads(out)
        assert report["summary"]["findings"] == len(report["findings"])


def test_the_valid_export_is_read(tmp_path, capsys):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(valid_export()))
    code, out, err = _audit_file(path, capsys)
    assert code in (0, 1), err
    assert json.loads(out)["summary"]["targets"] == 2


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=damaged_exports(), as_yaml=st.booleans())
def test_damaged_export_gives_a_report_or_one_line(tmp_path, capsys, document, as_yaml):
    if as_yaml:
        path = tmp_path / "export.yaml"
        path.write_text(yaml.safe_dump(document), encoding="utf-8", errors="surrogatepass")
    else:
        path = tmp_path / "export.json"
        path.write_text(json.dumps(document, allow_nan=True), encoding="utf-8")
    _assert_report_or_one_line(*_audit_file(path, capsys))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"format": "mlops-guard-metadata", "version": 1, "experiments": [\xff]}', "not UTF-8"),
        (b'{"format": "mlops-guard-metadata", "version": 1, "experiments": [', "invalid JSON"),
        (b'{"format": "mlops-guard-metadata", "version": ' + b"9" * 5000 + b"}", "invalid JSON"),
        (b'[{"format": "mlops-guard-metadata"}]', "expected an object at the top level"),
        (b'{"format": "mlops-guard-metadata", "version": 1, "experiments": 5}', "/experiments"),
        (b'{"format": "mlops-guard-metadata", "version": 1, "experiments": [{}]}', "missing"),
        (b'{"format": "mlops-guard-metadata", "experiments": [{"name": "\\ud800"}]}', "surrogate"),
        (b'{"format": "x"}', "not an mlops-guard metadata export"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid JSON"),
    ],
)
def test_broken_bytes_are_one_line_naming_the_problem(tmp_path, capsys, content, problem):
    path = tmp_path / "export.json"
    path.write_bytes(content)
    code, out, err = _audit_file(path, capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"mlops-guard: error: {path}") and err.count("\n") == 1
    assert problem in err


def test_a_nan_metric_never_meets_a_threshold(tmp_path, capsys):
    document = valid_export()
    run = document["experiments"][0]["trials"][1]["components"][0]
    run["metrics"]["mape"]["last"] = math.nan
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document, allow_nan=True))
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "extends: default\n"
        "naming:\n  experiment_kinds:\n    forecast:\n      match: '^daily-'\n"
        "      production: true\n"
    )
    code = cli.main(["file", str(path), "--format", "json", "--policy", str(policy)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert any("nan" in f["message"] for f in report["findings"] if f["rule"].startswith("ET1"))


def _one_line_error(capsys, *paths) -> str:
    code = cli.main(["file", *map(str, paths), "--format", "json"])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, ""), captured.err
    assert captured.err.startswith("mlops-guard: error: ") and captured.err.count("\n") == 1
    return captured.err


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda path: os.mkfifo(path), "not a regular file (a FIFO)"),
        (lambda path: path.symlink_to("/dev/zero"), "not a regular file (a device or socket)"),
        (lambda path: path.symlink_to(path.name), "cannot read"),
        (lambda path: path.symlink_to("/nonexistent/export.json"), "a symlink to nothing"),
    ],
)
def test_an_export_that_is_not_a_regular_file_is_never_opened(tmp_path, capsys, make, problem):
    (tmp_path / "a.json").write_text(json.dumps(valid_export()))
    make(tmp_path / "b.json")
    assert problem in _one_line_error(capsys, tmp_path)  # met in a directory
    if "nothing" not in problem:
        assert problem in _one_line_error(capsys, tmp_path / "b.json")  # named


def test_a_directory_symlink_loop_is_listed_once(tmp_path, capsys):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "a.json").write_text(json.dumps(valid_export()))
    (tmp_path / "runs" / "again").symlink_to(tmp_path / "runs")
    code = cli.main(["file", str(tmp_path), "--format", "json"])
    assert code in (0, 1), capsys.readouterr().err


BOMB = "".join(
    f"x{level}: &a{level} [{', '.join([f'*a{level - 1}' if level else 'lol'] * 9)}]\n"
    for level in range(9)
)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (BOMB, "YAML aliases expand the document"),
        ("experiments: &e [*e]\n", "recursive YAML anchor"),
        ("experiments: [{name: a, tags: &t {k: [*t]}}]\n", "recursive YAML anchor"),
    ],
)
def test_a_yaml_export_that_aliases_explode_is_refused_quickly(tmp_path, capsys, text, problem):
    path = tmp_path / "export.yaml"
    path.write_text("format: mlops-guard-metadata\nversion: 1\n" + text)
    started = time.monotonic()
    assert problem in _one_line_error(capsys, path)
    assert time.monotonic() - started < 5


def test_a_yaml_export_may_use_a_few_aliases(tmp_path, capsys):
    path = tmp_path / "export.yaml"
    path.write_text(
        "format: mlops-guard-metadata\nversion: 1\n"
        "experiments:\n- name: a\n  tags: &team {team: forecasting}\n"
        "- name: b\n  tags: *team\n"
    )
    code = cli.main(["file", str(path), "--format", "json"])
    assert code in (0, 1), capsys.readouterr().err
