"""The HTML report: one self-contained file (inline CSS and SVG, no script, no URL).

It must open from a mail attachment or an artifact store with no network, and diff
cleanly between runs, so nothing in it depends on the time of rendering. Sections: a
summary, what could not be read, per pipeline a chart of each policy metric over its
executions (threshold and drift as the ET rules judged them), and the findings table.
"""

from __future__ import annotations

from html import escape

from mlops_guard.audit import html_produced
from mlops_guard.audit.svg import ChartPoint, line_chart
from mlops_guard.metadata import recorded_runs
from mlops_guard.metadata.thresholds import (
    drifting_indices,
    higher_is_better,
    meets,
    thresholds_for,
)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px 32px;
color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid
#d0d7de;padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}
.meta{color:#59636e;font-size:13px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;min-width:90px}
.card .n{font-size:22px;font-weight:600}.card .l{font-size:12px;color:#59636e}
.card.error .n{color:#cf222e}.card.warning .n{color:#9a6700}.card.info .n{color:#0969da}
.card.ok .n{color:#1a7f37}
.unread{border:1px solid #cf222e;background:#ffebe9;border-radius:6px;padding:8px 14px}
table.findings{border-collapse:collapse;font-size:13px;width:100%}
table.findings th,table.findings td{border:1px solid #d0d7de;padding:4px 6px;text-align:left;
vertical-align:top}
table.findings th{background:#f6f8fa}
table.findings td:nth-child(6){white-space:nowrap}
svg.chart{border:1px solid #d0d7de;border-radius:6px;background:#fff;display:block}
.chart-title{font-size:13px;font-weight:600;fill:#1f2328}
.plot-area{fill:#fbfcfd;stroke:#d0d7de}
.grid{stroke:#eaeef2}.tick,.legend{font-size:11px;fill:#59636e}
.threshold{stroke:#cf222e;stroke-width:1.5;stroke-dasharray:6 4}
.threshold-label{font-size:11px;fill:#cf222e}
.series{fill:none;stroke:#0969da;stroke-width:2}
.point{fill:#0969da;stroke:#fff;stroke-width:1}.point.failing{fill:#cf222e}
.drift{fill:none;stroke:#bc4c00;stroke-width:2}
""".strip()


def render(result, store, policy, context: dict) -> str:
    """The report of one audit: ``context`` has ``source``, ``version``, ``policy_file``."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>mlops-guard audit: {escape(context['source'])}</title>",
        f"<style>{CSS}\n{html_produced.CSS}</style></head><body>",
        "<h1>mlops-guard audit</h1>",
        f'<p class="meta">source <b>{escape(context["source"])}</b> &middot; policy '
        f"{escape(context['policy_file'])} &middot; mlops-guard {escape(context['version'])}</p>",
        _summary(result, store),
        _unreadable(store),
        _charts(store, policy),
        html_produced.sections(store, policy),
        "<h2>Findings</h2>",
        _findings(result),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def _summary(result, store) -> str:
    counts = {s: sum(1 for f in result.findings if f.severity == s) for s in SEVERITIES}
    runs = sum(len(t.components) for e in store.experiments for t in e.trials)
    cards = [
        ("", len(store.experiments), "experiments"),
        ("", runs, "runs"),
        ("", len(store.pipelines), "deployed pipelines"),
        ("", result.targets, "targets"),
        ("", result.rules, "rules"),
        ("ok" if not result.findings else "error", len(result.findings), "findings"),
        *((s, counts[s], s) for s in SEVERITIES),
        ("", len(result.suppressed), "suppressed"),
    ]
    if store.unreadable:
        cards.append(("error", len(store.unreadable), "not readable"))
    body = "".join(
        f'<div class="card {kind}"><div class="n">{number}</div><div class="l">{label}</div></div>'
        for kind, number, label in cards
    )
    return f'<h2>Summary</h2><div class="cards" id="summary">{body}</div>'


SEVERITIES = ("error", "warning", "info")


def _unreadable(store) -> str:
    if not store.unreadable:
        return ""
    items = "".join(
        f"<li><b>{escape(item.what)}</b>: {escape(item.reason)}</li>" for item in store.unreadable
    )
    return (
        '<div class="unread" id="unreadable"><p><b>Not everything could be read.</b> Rules about '
        f"these were not evaluated; the audit does not pass.</p><ul>{items}</ul></div>"
    )


def _charts(store, policy) -> str:
    sections = []
    drift = policy.evaluation_thresholds.drift
    for experiment in store.experiments:
        kind = recorded_runs.experiment_kind(policy.naming, experiment.name)
        if kind is None or not kind.settings.production:
            continue
        pipeline = recorded_runs.pipeline_name(experiment)
        charts = []
        for threshold in thresholds_for(policy, pipeline):
            history = recorded_runs.metric_history(experiment, kind, threshold)
            if not history:
                continue
            values = [point.value for point in history]
            drifting = drifting_indices(values, threshold, drift.window, drift.tolerance)
            points = [
                ChartPoint(
                    label=_label(point),
                    value=point.value,
                    title=f"{point.trial.name}: {threshold.metric} = {point.value:g}"
                    + (f" ({point.start:%Y-%m-%d %H:%M})" if point.start else ""),
                    failing=not meets(point.value, threshold),
                    drifting=index in drifting,
                )
                for index, point in enumerate(history)
            ]
            sense = ">=" if higher_is_better(threshold) else "<="
            title = f"{threshold.metric} over {len(points)} executions of {pipeline}"
            charts.append(line_chart(title, points, threshold.value, sense))
        if charts:
            sections.append(f"<h3>{escape(pipeline)}</h3>" + "".join(charts))
    if not sections:
        return ""
    return '<h2>Metrics per pipeline</h2><div id="charts">' + "".join(sections) + "</div>"


def _label(point) -> str:
    return f"{point.start:%m-%d}" if point.start else point.trial.name[-8:]


def _findings(result) -> str:
    if not result.findings and not result.suppressed:
        return '<p id="no-findings">No findings: every rule passed.</p>'
    from mlops_guard.audit.table import findings_frame

    frame = findings_frame(result)
    shown = frame[["rule", "severity", "target", "subject", "message", "pointer", "suppressed"]]
    shown = shown.fillna("")
    return shown.to_html(
        index=False, classes="findings", border=0, escape=True, na_rep="", table_id="findings"
    )
