"""Findings the engine itself reports: about waivers, suppressions, baselines and what
could not be checked. (A crashed rule is reported under its own id, see :mod:`engine`.)

They have ids like any rule, so they can be listed, explained, selected and ignored,
with two exceptions that keep the gate closed: MG005 (not evaluated) stays on at
severity error whatever the selection (see :mod:`mlops_guard.selection`), and MG007 (an
enforced setting loosened, see :mod:`mlops_guard.policy.enforce`) is reported about the
policy itself, outside selection, waivers and baselines.
"""

from __future__ import annotations

from mlops_guard.authoring import RuleInfo

WAIVER_EXPIRED = RuleInfo("MG001", "operations", "error", "A policy waiver has expired")
WAIVER_UNUSED = RuleInfo("MG002", "operations", "warning", "A policy waiver matches no finding")
SUPPRESSION_INVALID = RuleInfo(
    "MG004", "operations", "error", "An inline suppression has no reason or matches nothing"
)
NOT_EVALUATED = RuleInfo("MG005", "operations", "error", "Part of a target could not be checked")
BASELINE_UNUSED = RuleInfo("MG006", "operations", "info", "A baseline entry matches no finding")
POLICY_LOOSENED = RuleInfo(
    "MG007", "operations", "error", "A policy loosens a setting its central policy enforces"
)

META_RULES = (
    WAIVER_EXPIRED,
    WAIVER_UNUSED,
    SUPPRESSION_INVALID,
    NOT_EVALUATED,
    BASELINE_UNUSED,
    POLICY_LOOSENED,
)

META_RULE_DOCS = {
    "MG001": """A waiver in the policy has passed its ``expires`` date.

**Why it matters.** Waivers are debts with a due date. An expired waiver no longer
silences its findings; this finding says the debt is due.

**How to fix.** Fix the waived findings and delete the waiver, or extend ``expires``
with a fresh ``reason`` after review.
""",
    "MG002": """A waiver in the policy matched no finding in this run.

**Why it matters.** A stale waiver hides the next regression of the same rule on the
same target without anyone deciding so.

**How to fix.** Delete the waiver, or narrow its ``file``/``pipeline``/``step`` globs
to what it is meant to cover.
""",
    "MG004": """An inline ``# mlops-guard: ignore[ID] reason`` has no reason or matched nothing.

**Why it matters.** Suppressions without a reason cannot be reviewed; unused ones hide
future findings.

**How to fix.** Add the reason after the bracket, or delete the comment.
""",
    "MG005": """Part of a target could not be checked (an unresolved substitution in a
template, a permission the audit lacks), or a rule could not judge what it was given and
said so (``NotEvaluated``: the message reads "rule ID not evaluated: reason").

**Why it matters.** What was not read is not reported as passing.

**How to fix.** Resolve the value (render the template, grant the read permission) or
accept the gap knowingly with a waiver that gives a reason (or an inline suppression).
Selection cannot switch MG005 off: ``select``, ``ignore`` and ``per_path_ignores``
leave it on, and naming it in ``ignore``, ``per_path_ignores`` or a lower ``severity``
is a usage error.
""",
    "MG006": """A baseline entry matched no finding in this run.

**Why it matters.** The finding it recorded is fixed; keeping the entry would let the
same finding come back unnoticed.

**How to fix.** Rewrite the baseline with ``--write-baseline``.
""",
    "MG007": """A policy that extends a central policy loosens a setting the central
policy marks as enforced (``enforce:``): it switches off or downgrades a rule the
central policy enables, drops or relaxes one of its thresholds, raises ``fail_on``, or
adds a waiver without an expiry or beyond the allowed number of days.

**Why it matters.** A central CI gate runs with each repository's own policy. Without
enforcement, a repository could silence the organisation's security rules in its own
``.mlops-guard.yaml`` and pass.

**How to fix.** Remove the loosening from the repository's policy, or ask the owners of
the central policy to change it. The enforced value applies in the meantime (the rule
runs, the stricter severity, threshold and ``fail_on`` hold, the waiver does not
suppress), and this finding fails the run. It is not subject to selection, waivers or
baselines.
""",
}
