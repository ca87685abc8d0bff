"""pytest plugin: pipeline checks as test items, next to the team's own tests.

Off unless asked for: ``pytest --mlops-guard [PATHS]``, or in the pytest configuration
``mlops_guard = true`` or ``mlops_guard_paths = <paths>`` (the latter also limits which
files are checked; they still have to be inside what pytest collects, e.g. listed in
``testpaths`` or on the command line). When off, this module costs the import of itself
and nothing else: the engine is imported only once a file is to be checked.

Every definition, template or plan pytest meets becomes a file node; each rule that
applies becomes one item per thing it checks: ``definition.json::NM002[Train]`` (a step
rule on step ``Train``), ``definition.json::ST004[daily-demand-forecast]`` (a pipeline
rule), plus ``MG[<pipeline>]`` for what the engine itself reports (parts not checked,
inline suppressions). In a file with several pipelines the bracket reads
``[pipeline/subject]``. So ``-k NM002``, ``-x``, ``--junitxml`` and ``-n`` (xdist) work
as for any test. The engine runs once per file, with the same policy, waivers,
suppressions and severities as ``mlops-guard check``; findings below the policy's
``fail_on`` pass with a warning.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_STATE = pytest.StashKey["_State"]()


class MlopsGuardWarning(UserWarning):
    """A finding below the policy's ``fail_on`` severity."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mlops-guard", "SageMaker pipeline checks (mlops-guard)")
    group.addoption(
        "--mlops-guard",
        action="store_true",
        default=False,
        help="check pipeline definitions, templates and plans among the collected files",
    )
    group.addoption(
        "--mlops-guard-policy", default=None, help="mlops-guard policy file (default: discovered)"
    )
    parser.addini("mlops_guard", type="bool", default=False, help="enable mlops-guard checks")
    parser.addini(
        "mlops_guard_paths",
        type="args",
        default=[],
        help="enable mlops-guard and check only files under these paths (relative to rootdir)",
    )
    parser.addini("mlops_guard_policy", default="", help="mlops-guard policy file")


def pytest_configure(config: pytest.Config) -> None:
    paths = config.getini("mlops_guard_paths")
    if config.getoption("mlops_guard") or config.getini("mlops_guard") or paths:
        config.addinivalue_line("markers", "mlops_guard: a pipeline check by mlops-guard")
        root = Path(str(config.rootpath))
        config.stash[_STATE] = _State(config, [(root / path).resolve() for path in paths])


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    state = parent.config.stash.get(_STATE, None)
    if state is None:
        return None
    from mlops_guard.loaders import is_checked_kind, load_file

    if not is_checked_kind(file_path) or not state.wanted(file_path):
        return None
    targets = load_file(file_path, explicit=False)
    if not targets:
        return None
    node = GuardFile.from_parent(parent, path=file_path)
    node.targets = targets
    return node


class _State:
    """The policy and rules, prepared once per session and only when first needed."""

    def __init__(self, config: pytest.Config, paths: list[Path]):
        self.config = config
        self.paths = paths
        self._session = None

    def wanted(self, path: Path) -> bool:
        if not self.paths:
            return True
        resolved = path.resolve()
        return any(resolved == base or base in resolved.parents for base in self.paths)

    @property
    def session(self):
        if self._session is None:
            from mlops_guard.session import prepare

            policy = self.config.getoption("mlops_guard_policy") or (
                self.config.getini("mlops_guard_policy") or None
            )
            if policy and not Path(policy).is_absolute():
                policy = str(Path(str(self.config.rootpath)) / policy)
            # pytest already runs the repository's code: its policy's rules need no opt-in.
            self._session = prepare(policy, start=Path(str(self.config.rootpath)), allow_code=True)
        return self._session


class GuardFile(pytest.File):
    targets: list

    def collect(self):
        session = self.config.stash[_STATE].session
        several = len(self.targets) > 1
        self._result = None
        for target in self.targets:
            prefix = f"{target.name}/" if several else ""
            seen: set[str] = set()
            for rule in session.rules:
                if rule.domain != target.kind or not session.selection.enabled(
                    rule.id, target.file
                ):
                    continue
                subjects = _subjects(rule, target, session.policy)
                for subject in subjects:
                    name = _unique(f"{rule.id}[{prefix}{subject or target.name}]", seen)
                    yield GuardItem.from_parent(
                        self,
                        name=name,
                        rule_id=rule.id,
                        target=target,
                        subject=subject,
                        siblings=subjects,
                    )
            name = _unique(f"MG[{target.name}]", seen)
            yield GuardItem.from_parent(
                self, name=name, rule_id="MG", target=target, subject=None, siblings=[None]
            )

    def result(self):
        """The engine's result for this file, computed once, by the first item to run."""
        if self._result is None:
            session = self.config.stash[_STATE].session
            self._result = session.run(self.targets)
        return self._result


def _subjects(rule, target, policy) -> list:
    if not rule.each:
        return [None]
    from mlops_guard.fixtures import FIXTURES

    items = FIXTURES[rule.each].provide(target, policy, rule.info)
    return [item.subject for item in items] or [None]


def _unique(name: str, seen: set[str]) -> str:
    candidate, number = name, 2
    while candidate in seen:
        candidate = f"{name}-{number}"
        number += 1
    seen.add(candidate)
    return candidate


class GuardFailure(Exception):
    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


class GuardItem(pytest.Item):
    def __init__(self, *, rule_id, target, subject, siblings, **kwargs):
        super().__init__(**kwargs)
        self.rule_id = rule_id
        self.target = target
        self.subject = subject
        self.siblings = siblings
        self.add_marker("mlops_guard")

    def findings(self) -> list:
        result = self.parent.result()
        mine = [f for f in result.findings if self._owns(f)]
        return mine

    def _owns(self, finding) -> bool:
        if finding.target != self.target.name:
            return False
        if self.rule_id == "MG":
            # Waiver staleness (MG001/MG002) needs the whole run: the CLI reports it.
            return finding.rule.startswith("MG") and finding.rule not in ("MG001", "MG002")
        if finding.rule != self.rule_id:
            return False
        if finding.subject == self.subject or self.subject is None:
            return True
        # A finding about a subject the fixture did not name goes to the first item.
        return finding.subject not in self.siblings and self.subject == self.siblings[0]

    def runtest(self) -> None:
        from mlops_guard.findings import SEVERITY_RANK

        session = self.config.stash[_STATE].session
        threshold = SEVERITY_RANK[session.policy["fail_on"]]
        failing, below = [], []
        for finding in self.findings():
            (failing if SEVERITY_RANK[finding.severity] >= threshold else below).append(finding)
        for finding in below:
            self.warn(MlopsGuardWarning(_line(finding)))
        if failing:
            raise GuardFailure([_line(finding) for finding in failing])

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, GuardFailure):
            return "\n".join(excinfo.value.lines)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        line = None
        position = self.target.position(self._pointer())
        if position:
            line = position[0] - 1
        return self.path, line, f"mlops-guard: {self.name}"

    def _pointer(self) -> str:
        if self.subject is None or self.target.definition is None:
            return ""
        step = self.target.definition.steps_by_name.get(self.subject)
        return step.pointer if step else ""


def _line(finding) -> str:
    location = finding.location
    where = location.file
    if location.line is not None:
        where += f":{location.line}:{location.column}"
    pointer = f" [{location.pointer}]" if location.pointer else ""
    return f"{where}: {finding.rule} {finding.severity}: {finding.message}{pointer}"
