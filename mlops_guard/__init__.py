"""mlops-guard: check SageMaker pipelines and experiment metadata against a team policy.

The public surface for rule authors is :func:`rule`, :class:`Violation` and
:func:`compiled` (policy patterns compiled once per run); everything else is the engine.
Importing this package stays cheap on purpose: it runs on every commit as a pre-commit
hook.
"""

from mlops_guard.authoring import CATEGORIES, PIPELINE_NAME, SEVERITIES, Violation, compiled, rule

__all__ = [
    "CATEGORIES",
    "PIPELINE_NAME",
    "SEVERITIES",
    "Violation",
    "__version__",
    "compiled",
    "rule",
]
__version__ = "0.1.0"
