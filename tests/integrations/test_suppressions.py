"""Parsing inline suppression comments and their scope."""

from __future__ import annotations

from mlops_guard.findings import Finding, Location
from mlops_guard.suppressions import apply, parse_comments
from mlops_guard.targets import Target


def test_parse_ids_reason_and_column():
    text = "a: 1\n  b: 2  # mlops-guard: ignore[nm001, IO] -- legacy layout\n"
    [suppression] = parse_comments(text)
    assert suppression.line == 2 and suppression.column == 9
    assert suppression.rule_ids == ("NM001", "IO")
    assert suppression.reason == "legacy layout"
    assert suppression.problem is None


def test_malformed_comments_are_kept_with_a_problem():
    text = "# mlops-guard: ignore NM001 reason\n# mlops-guard: ignore[] why\n# other: x\n"
    found = parse_comments(text)
    assert [s.line for s in found] == [1, 2]
    assert all(s.problem for s in found)


def _finding(rule: str, line: int, file: str = "t.yaml") -> Finding:
    return Finding(rule, "naming", "error", "m", Location(file, "/x", line, 1), "p")


def test_scope_is_the_comment_line_and_the_next_one():
    text = "\n# mlops-guard: ignore[NM] names fixed by the platform\nname: X\nother: Y\n"
    target = Target(file="t.yaml", kind="definition", name="p")
    target.suppressions = parse_comments(text)
    findings = [_finding("NM001", 3), _finding("NM001", 4), _finding("NM001", 3, "u.yaml")]
    active, suppressed, about = apply(findings, [target])
    assert [f.location.line for f in suppressed] == [3]
    assert suppressed[0].suppressed == "names fixed by the platform"
    assert suppressed[0].extra["suppression"] == "inSource"
    assert len(active) == 2 and about == []


def test_unused_and_unexplained_suppressions_are_mg004():
    text = "# mlops-guard: ignore[ST001]\nx: 1\n# mlops-guard: ignore[ST002] because\ny: 2\n"
    target = Target(file="t.yaml", kind="definition", name="p")
    target.suppressions = parse_comments(text)
    active, suppressed, about = apply([_finding("ST001", 2)], [target])
    assert len(active) == 1 and suppressed == []
    assert sorted(f.location.line for f in about) == [1, 3]
    assert {f.rule for f in about} == {"MG004"}
