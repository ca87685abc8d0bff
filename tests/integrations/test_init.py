"""``mlops-guard init``: starter files, never overwriting what exists."""

from __future__ import annotations

import yaml

from tests.integrations.conftest import run_cli


def test_writes_policy_and_pre_commit_config(tmp_path, reference):
    result = run_cli("init", "--rev", "v9.9.9", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    policy = yaml.safe_load((tmp_path / ".mlops-guard.yaml").read_text())
    assert policy == {"extends": "default"}
    config = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())
    [repo] = config["repos"]
    assert repo["rev"] == "v9.9.9" and repo["hooks"] == [{"id": "mlops-guard"}]
    assert "[tool.mlops-guard]" in result.stdout  # the pyproject alternative, printed
    # The written policy is a valid policy: a check uses it.
    (tmp_path / "d.json").write_text(__import__("json").dumps(reference))
    assert run_cli("check", "d.json", cwd=tmp_path).returncode == 0


def test_refuses_to_overwrite_and_writes_nothing(tmp_path):
    (tmp_path / ".mlops-guard.yaml").write_text("extends: default\nfail_on: warning\n")
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "already exists" in result.stderr
    assert (tmp_path / ".mlops-guard.yaml").read_text().endswith("fail_on: warning\n")
    assert not (tmp_path / ".pre-commit-config.yaml").exists()


def test_existing_pre_commit_config_is_left_alone_and_snippet_printed(tmp_path):
    original = "repos: []\n"
    (tmp_path / ".pre-commit-config.yaml").write_text(original)
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 0
    assert (tmp_path / ".pre-commit-config.yaml").read_text() == original
    assert "- id: mlops-guard" in result.stdout


def test_pyproject_table_only_when_there_is_none(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "forecast"\n')
    assert run_cli("init", "--pyproject", cwd=tmp_path).returncode == 0
    text = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith('[project]\nname = "forecast"\n') and "[tool.mlops-guard]" in text
    assert not (tmp_path / ".mlops-guard.yaml").exists()
    again = run_cli("init", "--pyproject", cwd=tmp_path)
    assert again.returncode == 2 and "[tool.mlops-guard]" in again.stderr
    assert (tmp_path / "pyproject.toml").read_text() == text


def readme_anchors() -> set[str]:
    """GitHub's anchors for the README's headings."""
    import re

    from tests.integrations.conftest import ROOT

    anchors = set()
    in_code = False
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def test_every_readme_section_init_points_at_exists(tmp_path):
    import re

    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    texts = [
        result.stdout,
        (tmp_path / ".mlops-guard.yaml").read_text(),
        (tmp_path / ".pre-commit-config.yaml").read_text(),
    ]
    pointed = {anchor for text in texts for anchor in re.findall(r"README\.md#([\w-]+)", text)}
    assert pointed >= {"the-policy", "pre-commit", "trust"}
    assert pointed <= readme_anchors()
    assert "README" not in re.sub(r"README\.md#[\w-]+", "", "".join(texts))


def test_without_a_release_tag_init_explains_pinning_a_commit(tmp_path):
    result = run_cli("init", cwd=tmp_path)
    config = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())
    rev = config["repos"][0]["rev"]
    assert not rev.startswith("v")  # no tag that does not exist
    assert (
        "commit sha" in result.stdout
        and "commit sha" in (tmp_path / ".pre-commit-config.yaml").read_text()
    )
    (tmp_path / "pinned").mkdir()
    pinned = run_cli("init", "pinned", "--rev", "ab12" * 10, cwd=tmp_path)
    assert pinned.returncode == 0 and "commit sha" not in pinned.stdout
    text = (tmp_path / "pinned" / ".pre-commit-config.yaml").read_text()
    assert yaml.safe_load(text)["repos"][0]["rev"] == "ab12" * 10
