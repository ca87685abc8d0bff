"""The findings of an audit as one table (pandas), for CSV, Parquet and the HTML report.

One row per finding, active ones first in the run's order, then suppressed ones with the
reason that suppressed them; the same run gives the same bytes. pandas (and pyarrow for
Parquet) are imported only here.
"""

from __future__ import annotations

COLUMNS = (
    "rule",
    "severity",
    "category",
    "target",
    "subject",
    "file",
    "pointer",
    "line",
    "message",
    "suppressed",
    "fingerprint",
)


def rows(result) -> list[dict]:
    found = []
    for finding in [*result.findings, *result.suppressed]:
        location = finding.location
        found.append(
            {
                "rule": finding.rule,
                "severity": finding.severity,
                "category": finding.category,
                "target": finding.target,
                "subject": finding.subject,
                "file": location.file,
                "pointer": location.pointer,
                "line": location.line,
                "message": finding.message,
                "suppressed": finding.suppressed,
                "fingerprint": finding.fingerprint(),
            }
        )
    return found


def findings_frame(result):
    import pandas as pd

    frame = pd.DataFrame(rows(result), columns=list(COLUMNS))
    frame["line"] = frame["line"].astype("Int64")
    for column in COLUMNS:
        if column != "line":
            frame[column] = frame[column].astype("string")
    return frame


def write_csv(result, path) -> None:
    findings_frame(result).to_csv(path, index=False, lineterminator="\n")


def write_parquet(result, path) -> None:
    try:
        import pyarrow  # noqa: F401
    except ModuleNotFoundError:
        from mlops_guard.errors import InputError

        raise InputError("Parquet output needs pyarrow (install mlops-guard[report])") from None
    findings_frame(result).to_parquet(path, engine="pyarrow", index=False)
