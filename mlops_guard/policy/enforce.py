"""Enforced settings: what a central policy forbids the policies extending it to loosen.

A central CI gate runs every repository with the repository's own policy, which
``extends`` the organisation's. The organisation's policy declares::

    enforce:
      keys: [select, ignore, per_path_ignores, severity, fail_on,
             evaluation_thresholds.thresholds]
      waivers_require_expiry: true
      max_waiver_days: 90

An extending policy may tighten every one of these (select more, raise a severity, add
a stricter threshold). An attempt to loosen one is an MG007 finding (severity error, not
subject to selection, waivers or baselines) naming the extending file, the key and what
the central policy enforces; and the loosening does not take effect: the enforced value
applies (the rule runs, at the central severity; the central threshold is checked; the
central ``fail_on`` holds; the waiver does not suppress).

The comparison is per rule, over the rules the command loaded: ``check`` judges the
definition rules, an audit every rule. ``enforce`` binds the policies that extend the
one declaring it (a policy cannot bind itself), and only policy files are judged: the
command line (``--select``, ``--ignore``, ``--fail-on``) belongs to whoever runs the gate.
"""

from __future__ import annotations

import datetime as dt

from mlops_guard.findings import SEVERITY_RANK, Finding, Location
from mlops_guard.meta_rules import META_RULES, POLICY_LOOSENED
from mlops_guard.policy.settings import Settings
from mlops_guard.selection import is_enabled, specificity


def enforce(loaded, rules, today: dt.date | None = None) -> tuple[object, list]:
    """Apply every central policy's enforced keys: returns the policy with the enforced
    values in place of loosened ones (build the selection from it), and the MG007
    findings."""
    records = loaded.settings.to_dict().get("enforced") or []
    if not records:
        return loaded, []
    today = today or dt.date.today()
    infos = [rule.info for rule in rules] + list(META_RULES)
    data = dict(loaded.settings.to_dict())
    findings: list[Finding] = []
    for record in records:
        check = _Check(record, data, infos, today)
        check.run()
        findings.extend(check.findings)
    return loaded._replace(settings=Settings(data)), findings


class _Check:
    def __init__(self, record: dict, data: dict, infos, today: dt.date):
        self.record, self.data = record, data
        self.central = record["central"]
        self.keys = set(record["enforce"]["keys"])
        self.infos, self.today = infos, today
        self.findings: list[Finding] = []

    def run(self) -> None:
        self._selection()
        if "per_path_ignores" in self.keys:
            self._per_path_ignores()
        if "severity" in self.keys:
            self._severity()
        if "fail_on" in self.keys:
            self._fail_on()
        if "evaluation_thresholds.thresholds" in self.keys:
            self._thresholds()
        self._waivers()

    def _report(
        self, key: str, message: str, set_by: str | None = None, enforced: str | None = None
    ) -> None:
        file = set_by or self.record["set_by"].get(key) or self.record["file"]
        pointer = "/" + key.replace(".", "/")
        enforced = enforced or f"enforces {key}, so its value applies"
        text = f"{message}; {self.record['file']} {enforced}"
        self.findings.append(
            Finding(
                POLICY_LOOSENED.id,
                POLICY_LOOSENED.category,
                POLICY_LOOSENED.severity,
                text,
                Location(file, pointer),
                target="policy",
            )
        )

    def _central_enabled(self, rule_id: str) -> bool:
        central = self.central
        return is_enabled(
            rule_id, [*central["select"], *central["extend_select"]], central["ignore"]
        )

    def _selection(self) -> None:
        data = self.data
        select = [*data["select"], *data["extend_select"]]
        off = {"select": [], "ignore": []}
        for info in self.infos:
            if not self._central_enabled(info.id) or is_enabled(info.id, select, data["ignore"]):
                continue
            key = "select" if specificity(select, info.id) < 0 else "ignore"
            if key in self.keys:
                off[key].append(info.id)
        for key, ids in off.items():
            if not ids:
                continue
            set_by = self.record["set_by"].get(key)
            if key == "select" and not set_by:
                set_by = self.record["set_by"].get("extend_select")
            verb = "does not select" if key == "select" else "switches off"
            self._report(key, f"{key} {verb} {', '.join(ids)}", set_by)
            for rule_id in ids:
                self._switch_on(rule_id)

    def _switch_on(self, rule_id: str) -> None:
        """Enable ``rule_id`` whatever the loosened selectors say: an exact id is the most
        specific selector, and no exact ignore is left to tie with it."""
        data = self.data
        data["extend_select"] = [*data["extend_select"], rule_id]
        data["ignore"] = [s for s in data["ignore"] if s != rule_id]

    def _per_path_ignores(self) -> None:
        central_paths = self.central["per_path_ignores"]
        paths = dict(self.data["per_path_ignores"])
        for pattern, selectors in list(paths.items()):
            allowed = central_paths.get(pattern, [])
            loosened = [
                info.id
                for info in self.infos
                if self._central_enabled(info.id)
                and specificity(selectors, info.id) >= 0
                and specificity(allowed, info.id) < 0
            ]
            if not loosened:
                continue
            self._report(
                "per_path_ignores",
                f"per_path_ignores {pattern!r} switches off {', '.join(loosened)}",
            )
            paths[pattern] = [
                s
                for s in selectors
                if s in allowed or not any(s == "ALL" or i.startswith(s) for i in loosened)
            ]
        self.data["per_path_ignores"] = paths

    def _severity(self) -> None:
        from mlops_guard.selection import severity_for

        lowered = []
        severities = dict(self.data["severity"])
        for info in self.infos:
            if not self._central_enabled(info.id):
                continue
            central = severity_for(info.id, info.severity, self.central["severity"])
            final = severity_for(info.id, info.severity, self.data["severity"])
            if SEVERITY_RANK[final] < SEVERITY_RANK[central]:
                lowered.append(f"{info.id} to {final} (enforced: {central})")
                severities[info.id] = central
        self.data["severity"] = severities
        if lowered:
            self._report("severity", f"severity lowers {', '.join(lowered)}")

    def _fail_on(self) -> None:
        central, final = self.central["fail_on"], self.data["fail_on"]
        if SEVERITY_RANK[final] > SEVERITY_RANK[central]:
            self._report("fail_on", f"fail_on {final} is laxer than the enforced {central}")
            self.data["fail_on"] = central

    def _thresholds(self) -> None:
        key = "evaluation_thresholds.thresholds"
        evaluation = dict(self.data["evaluation_thresholds"])
        thresholds = list(evaluation["thresholds"])
        for enforced in self.record["thresholds"]:
            if any(_at_least_as_strict(t, enforced) for t in thresholds):
                continue
            self._report(
                key,
                f"no threshold for {enforced['metric']} on pipelines "
                f"{enforced['pipelines']!r} is as strict as {enforced['direction']} "
                f"{enforced['value']}",
            )
            thresholds.append(enforced)
        evaluation["thresholds"] = thresholds
        self.data["evaluation_thresholds"] = evaluation

    def _waivers(self) -> None:
        options = self.record["enforce"]
        require_expiry = options["waivers_require_expiry"]
        max_days = options["max_waiver_days"]
        if not (require_expiry or max_days):
            return
        central = self.central["waivers"]
        rules = " and ".join(
            name
            for name, value in (
                ("waivers_require_expiry", require_expiry),
                (f"max_waiver_days: {max_days}", max_days),
            )
            if value
        )
        kept = []
        for index, waiver in enumerate(self.data["waivers"]):
            problem = None
            if waiver not in central:
                expires = waiver.get("expires")
                if not expires and (require_expiry or max_days):
                    problem = "has no expires date"
                elif max_days and dt.date.fromisoformat(expires) - self.today > dt.timedelta(
                    days=max_days
                ):
                    problem = f"expires {expires}, beyond the enforced {max_days} days"
            if problem:
                self._report(
                    "waivers",
                    f"waiver {index} for {waiver['rule']} {problem}",
                    enforced=f"enforces {rules}, so the waiver does not apply",
                )
            else:
                kept.append(waiver)
        self.data["waivers"] = kept


def _at_least_as_strict(threshold: dict, enforced: dict) -> bool:
    same = all(threshold[k] == enforced[k] for k in ("metric", "direction", "pipelines", "steps"))
    if not same:
        return False
    if enforced["direction"] == "lower_is_better":
        stricter = threshold["value"] <= enforced["value"]
    else:
        stricter = threshold["value"] >= enforced["value"]
    for change in ("min_absolute_change", "min_relative_change"):
        if enforced.get(change) is not None and (
            threshold.get(change) is None or threshold[change] < enforced[change]
        ):
            return False
    return stricter
