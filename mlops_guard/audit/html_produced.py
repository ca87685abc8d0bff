"""The HTML report's sections on what pipelines produced: the Model Registry and outputs.

Per model package group: how many versions are approved, pending and rejected, and for
each threshold of the group's pipeline a chart of the metric over the approved versions
(threshold dashed, failing versions red) with a table of them. Per pipeline output: the
dates whose partition is present, the dates a succeeded execution should have written
but did not (or left empty), the stray folders and loose objects, and the dates each
Glue table over it lacks. Everything is computed by
:mod:`mlops_guard.metadata.model_packages` and
:mod:`mlops_guard.metadata.output_partitions`, as the rules judge it.
"""

from __future__ import annotations

from html import escape

from mlops_guard.audit.svg import ChartPoint, line_chart
from mlops_guard.metadata import model_packages, output_partitions, recorded_runs
from mlops_guard.metadata.thresholds import higher_is_better, meets, thresholds_for

CSS = """
table.versions{border-collapse:collapse;font-size:13px;margin:6px 0 12px}
table.versions th,table.versions td{border:1px solid #d0d7de;padding:3px 6px;text-align:left}
table.versions th{background:#f6f8fa}
table.versions td.failing{color:#cf222e;font-weight:600}
.days{display:flex;flex-wrap:wrap;gap:3px;margin:4px 0 10px}
.day{font-size:11px;padding:1px 4px;border-radius:3px;border:1px solid #d0d7de}
.day.present{background:#dafbe1}.day.missing{background:#ffebe9;border-color:#cf222e}
.day.stray{background:#fff8c5;border-color:#9a6700}
""".strip()

_STATUS_WORDS = {"Approved": "approved", "PendingManualApproval": "pending", "Rejected": "rejected"}


def sections(store, policy) -> str:
    return _registry(store, policy) + _partitions(store, policy)


def _registry(store, policy) -> str:
    registry = policy.evaluation_thresholds.model_registry
    parts = []
    for _index, group in model_packages.judged_groups(store, registry):
        counts = model_packages.status_counts(group)
        words = {word: counts.get(status, 0) for status, word in _STATUS_WORDS.items()}
        other = sum(n for status, n in counts.items() if status not in _STATUS_WORDS)
        summary = ", ".join(f"{n} {word}" for word, n in words.items())
        summary += f", {other} other" if other else ""
        parts.append(f"<h3>{escape(group.name)}</h3><p>{escape(summary)}</p>")
        versions = [package for _, package in model_packages.approved(group)]
        if not versions:
            continue
        pipeline = model_packages.producing_pipeline(group, versions[-1])
        thresholds = thresholds_for(policy, pipeline)
        for threshold in thresholds:
            points = []
            for package in versions:
                found = model_packages.report_metric(package, registry, threshold.metric)
                if found is not None:
                    points.append(
                        ChartPoint(
                            label=f"v{package.version}",
                            value=found[0],
                            title=f"{model_packages.package_label(group, package)}: "
                            f"{threshold.metric} = {found[0]:g}",
                            failing=not meets(found[0], threshold),
                            drifting=False,
                        )
                    )
            if points:
                sense = ">=" if higher_is_better(threshold) else "<="
                title = f"{threshold.metric} of the approved versions of {group.name}"
                parts.append(line_chart(title, points, threshold.value, sense))
        parts.append(_versions_table(group, versions, registry, thresholds))
    if not parts:
        return ""
    return '<h2>Model registry</h2><div id="model-registry">' + "".join(parts) + "</div>"


def _versions_table(group, versions, registry, thresholds) -> str:
    metrics = list(dict.fromkeys(threshold.metric for threshold in thresholds))
    head = "".join(f"<th>{escape(m)}</th>" for m in ["version", *metrics, "registered by"])
    rows = []
    for package in versions:
        cells = [f"<td>{escape(str(package.version))}</td>"]
        for metric in metrics:
            found = model_packages.report_metric(package, registry, metric)
            if found is None:
                cells.append('<td class="failing">missing</td>')
                continue
            failing = any(not meets(found[0], t) for t in thresholds if t.metric == metric)
            kind = ' class="failing"' if failing else ""
            cells.append(f"<td{kind}>{found[0]:g}</td>")
        parsed = recorded_runs.parse_execution_arn(package.generated_by)
        by = f"execution {parsed[1]}" if parsed else (package.generated_by or "by hand")
        cells.append(f"<td>{escape(by)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="versions"><tr>{head}</tr>{"".join(rows)}</table>'


def _partitions(store, policy) -> str:
    parts = []
    for _index, listing in output_partitions.judged_outputs(store, policy.idempotent_outputs):
        present = set(output_partitions.written_dates(listing))
        empty = set(listing.empty_partitions)
        missing = set()
        for execution in listing.executions:
            if (execution.status or "").lower() != "succeeded":
                continue
            folder = f"{execution.partition}/"
            date = output_partitions.partition_date(folder, listing.partition_key)
            if folder not in listing.folders or execution.partition in empty:
                missing.add(date or execution.partition)
        present -= missing
        days = [(day, "present") for day in sorted(present)]
        days += [(day, "missing") for day in sorted(missing)]
        stray = [
            folder
            for folder in listing.folders
            if output_partitions.partition_date(folder, listing.partition_key) is None
        ] + list(listing.objects)
        days += [(name, "stray") for name in stray]
        cells = "".join(
            f'<span class="day {kind}" title="{escape(kind)}">{escape(name)}</span>'
            for name, kind in sorted(days)
        )
        tables = "".join(_table_line(table, listing, sorted(present)) for table in listing.tables)
        parts.append(
            f"<h3>{escape(output_partitions.output_subject(listing))}</h3>"
            f"<p>{escape(listing.base_uri)}: {len(present)} present, {len(missing)} missing, "
            f'{len(stray)} stray</p><div class="days">{cells}</div>{tables}'
        )
    if not parts:
        return ""
    return '<h2>Output partitions</h2><div id="partitions">' + "".join(parts) + "</div>"


def _table_line(table, listing, written: list[str]) -> str:
    dates = output_partitions.table_dates(table, listing.partition_key) or set()
    lacking = [day for day in written if day not in dates]
    elsewhere = [
        "/".join(partition.values)
        for partition in table.partitions
        if output_partitions.normal_prefix(partition.location or "")
        != output_partitions.expected_partition_location(table, partition)
    ]
    text = f"Glue table {table.database}.{table.name}: {len(table.partitions)} partitions"
    text += f", lacks {', '.join(lacking)}" if lacking else ", one for every date"
    if elsewhere:
        text += f"; not at their own prefix: {', '.join(elsewhere)}"
    return f"<p>{escape(text)}</p>"
