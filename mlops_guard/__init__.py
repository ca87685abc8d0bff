"""mlops-guard: check SageMaker pipelines and experiment metadata against a team policy.

The public surface for rule authors is :func:`rule`, :class:`Violation`,
:class:`NotEvaluated` (what a rule cannot judge), :class:`Setting` (a key of a rule's
own policy section) and :func:`compiled` (policy patterns compiled once per run), and
:mod:`mlops_guard.testing` for their tests; everything else is the engine.
Importing this package stays cheap on purpose: it runs on every commit as a pre-commit
hook.
"""

from mlops_guard.authoring import (
    CATEGORIES,
    PIPELINE_NAME,
    SEVERITIES,
    NotEvaluated,
    Setting,
    Violation,
    compiled,
    rule,
)

__all__ = [
    "CATEGORIES",
    "PIPELINE_NAME",
    "SEVERITIES",
    "NotEvaluated",
    "Setting",
    "Violation",
    "__version__",
    "compiled",
    "rule",
]
__version__ = "0.1.0"
