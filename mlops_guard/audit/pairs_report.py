"""The reports of an organisation-wide audit, live or merged from shards.

The findings are rendered by the usual reporters (text, JSON, SARIF, JUnit, GitHub,
CSV, Parquet): each finding's ``location.file`` already names its account and region.
Two things are added: the JSON report carries an ``accounts`` section (the pairs
audited, with a summary each, the rules that ran and the failing severity) so that
``audit merge`` can rebuild one report from the shards' reports; and the HTML report is
grouped by account and region, with a summary per pair (read or not, parts not readable,
findings), since a report of many accounts is read one account at a time.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from mlops_guard.errors import InputError


def render(format_name: str, result, context: dict, section: dict) -> str:
    """The report on stdout: JSON gains the ``accounts`` section, the rest is as usual."""
    from mlops_guard.reporters import render as render_format

    text = render_format(format_name, result, context)
    if format_name != "json":
        return text
    document = json.loads(text)
    document["accounts"] = section
    return json.dumps(document, indent=2) + "\n"


def write(output: str, result, context: dict, section: dict, source: str) -> None:
    """One ``--output`` file, by suffix (the suffixes were checked before reading)."""
    suffix = Path(output).suffix.lower()
    try:
        if suffix == ".html":
            page = render_html(result, section, {**context, "source": source})
            Path(output).write_text(page, encoding="utf-8", errors="backslashreplace")
        elif suffix == ".csv":
            from mlops_guard.audit.table import write_csv

            write_csv(result, output)
        elif suffix == ".parquet":
            from mlops_guard.audit.table import write_parquet

            write_parquet(result, output)
        else:
            Path(output).write_text(render("json", result, context, section), encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot write report: {error.strerror or error}", file=output) from None


def render_html(result, section: dict, context: dict) -> str:
    """One self-contained page: overall summary, a table of pairs, then per pair what
    could not be read and its findings."""
    from mlops_guard.audit.accounts import findings_by_pair
    from mlops_guard.audit.html import CSS, SEVERITIES
    from mlops_guard.engine import RunResult

    by_pair = findings_by_pair(result.findings)
    suppressed = findings_by_pair(result.suppressed)
    pairs = section["pairs"]
    unread = sum(1 for pair in pairs if pair["unreadable"])
    counts = {s: sum(1 for f in result.findings if f.severity == s) for s in SEVERITIES}
    cards = [
        ("", len({pair["account"] for pair in pairs}), "accounts"),
        ("", len(pairs), "account/region pairs"),
        ("error" if unread else "ok", unread, "pairs not fully read"),
        ("ok" if not result.findings else "error", len(result.findings), "findings"),
        *((s, counts[s], s) for s in SEVERITIES),
        ("", len(result.suppressed), "suppressed"),
    ]
    rows = []
    sections = []
    for pair in pairs:
        label = f"sagemaker:{pair['account']}:{pair['region']}"
        anchor = f"pair-{pair['account']}-{pair['region']}"
        found = by_pair.get(label, [])
        state = "read" if pair["read"] and not pair["unreadable"] else "NOT fully read"
        rows.append(
            f'<tr><td><a href="#{anchor}">{escape(pair["account"])}</a></td>'
            f"<td>{escape(pair['region'])}</td><td>{state}</td><td>{pair['unreadable']}</td>"
            f"<td>{pair['experiments']}</td><td>{pair['runs']}</td><td>{pair['pipelines']}</td>"
            f"<td>{len(found)}</td></tr>"
        )
        sub = RunResult(findings=found, suppressed=suppressed.get(label, []))
        sections.append(
            f'<h3 id="{anchor}">{escape(pair["account"])} &middot; {escape(pair["region"])}</h3>'
            + _pair_findings(sub)
        )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>mlops-guard audit: {escape(context['source'])}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>mlops-guard audit</h1>",
        f'<p class="meta">source <b>{escape(context["source"])}</b> &middot; mlops-guard '
        f"{escape(str(context.get('version')))}</p>",
        '<h2>Summary</h2><div class="cards" id="summary">'
        + "".join(
            f'<div class="card {kind}"><div class="n">{number}</div>'
            f'<div class="l">{label}</div></div>'
            for kind, number, label in cards
        )
        + "</div>",
        '<h2>Accounts and regions</h2><table class="findings" id="pairs"><thead><tr>'
        "<th>account</th><th>region</th><th>read</th><th>not readable</th><th>experiments"
        "</th><th>runs</th><th>deployed pipelines</th><th>findings</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>",
        '<h2>Findings by account and region</h2><div id="by-pair">',
        *sections,
        "</div></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _pair_findings(result) -> str:
    if not result.findings and not result.suppressed:
        return "<p>No findings: every rule passed.</p>"
    from mlops_guard.audit.table import findings_frame

    frame = findings_frame(result)
    shown = frame[["rule", "severity", "file", "target", "subject", "message", "suppressed"]]
    return shown.fillna("").to_html(index=False, classes="findings", border=0, escape=True)
