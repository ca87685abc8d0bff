"""The synthetic daily series of new subscription applications (deterministic, offline).

The generator lives in the Extract step script (it runs in the container); this module
makes it importable from the package.
"""

from __future__ import annotations

from mlops_guard.reference.scripts.extract import (
    SERIES_EPOCH,
    SERIES_SEED,
    WEEKLY_FACTORS,
    synthetic_applications,
    synthetic_history,
)

__all__ = [
    "SERIES_EPOCH",
    "SERIES_SEED",
    "WEEKLY_FACTORS",
    "synthetic_applications",
    "synthetic_history",
]
