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
    """The findings as rows, their text encodable whatever a live source returned (a lone
    surrogate from an API response must not break the CSV or Parquet writer)."""
    from mlops_guard.reporters.safe_text import unicode_only

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
        row = found[-1]
        for column, value in row.items():
            if isinstance(value, str):
                row[column] = unicode_only(value)
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
    from mlops_guard.errors import require_extra

    require_extra("pyarrow", "report", "Parquet output")
    findings_frame(result).to_parquet(path, engine="pyarrow", index=False)
