"""Idempotent-output rules on what pipelines wrote to S3, and on the Glue tables over it.

The definition rules IO001-IO004 check that outputs *are meant* to go to run-date
partitions; these check what is there. They run on a metadata store read from AWS
(``mlops-guard audit sagemaker``) or an export of one: for each data output of a
deployed pipeline, resolved with the parameters each recent execution ran with, the
``/``-delimited listing of its base prefix (the location up to its ``dt=`` segment),
the partitions executions wrote, and the Glue tables whose location is that prefix.

One re-run that wrote to an execution-id folder, or a Glue partition pointing at the
wrong prefix, and Athena reads the wrong data with no error. What could not be listed
is "not evaluated", never passed. Steps in ``idempotent_outputs.exempt_steps`` are
skipped, as in the definition rules.
"""

from __future__ import annotations

from mlops_guard import NotEvaluated, Violation, rule
from mlops_guard.metadata import output_partitions
from mlops_guard.metadata.store_lookup import not_evaluated
from mlops_guard.pointer import join


def _outputs(store, settings, *, listing_read: bool = True, catalog_read: bool = False):
    """``(listing, pointer, subject, gap)`` of each judged output. ``gap`` is None, or
    the :class:`NotEvaluated` to yield instead of judging the output when part of what
    the rule needs could not be read: the prefix's listing (``listing_read``), the Glue
    catalog (``catalog_read``)."""
    for index, listing in output_partitions.judged_outputs(store, settings):
        pointer = output_partitions.output_pointer(index)
        subject = output_partitions.output_subject(listing)
        unread = output_partitions.unread_listing(store, listing) if listing_read else []
        if catalog_read:
            unread += output_partitions.unread_catalog(store)
        yield listing, pointer, subject, not_evaluated(unread, pointer, subject)


def _table_gap(store, table, where: str, subject: str) -> NotEvaluated | None:
    """The :class:`NotEvaluated` for a Glue table whose partitions could not be read."""
    return not_evaluated(output_partitions.unread_catalog(store, table), where, subject)


def _where(listing) -> str:
    return f"output {listing.output!r} of step {listing.step!r} (pipeline {listing.pipeline!r})"


@rule(
    id="IO101",
    category="idempotent-outputs",
    summary="Output base prefixes hold only run-date partitions",
)
def check_only_partitions(store, settings):
    """What it checks: directly under each output's base prefix (its location up to the
    ``dt=`` segment) there is nothing but ``dt=YYYY-MM-DD/`` folders (the partition key
    of the deployed location, a real calendar date). Each other folder (an execution id,
    a timestamp, ``dt=latest/``) and each loose object is reported by its key.

    Why it matters: a re-run that wrote to ``<execution-id>/`` instead of its day
    leaves data no reader expects; a table or job reading the prefix picks up stray or
    duplicated rows with no error.

    How to fix: move the stray data into its date's partition or delete it, and fix the
    location that wrote it (pass ``ExecutionDate``; no execution variables in paths).
    """
    for listing, pointer, subject, gap in _outputs(store, settings):
        if gap is not None:
            yield gap
            continue
        key = listing.partition_key
        for folder in listing.folders:
            if output_partitions.partition_date(folder, key) is None:
                yield Violation(
                    f"{listing.base_uri}{folder}: a folder that is not a {key}=YYYY-MM-DD/ "
                    f"partition under {_where(listing)}",
                    at=pointer,
                    subject=subject,
                )
        for name in listing.objects:
            yield Violation(
                f"{listing.base_uri}{name}: an object outside any partition under "
                f"{_where(listing)}",
                at=pointer,
                subject=subject,
            )


@rule(
    id="IO102",
    category="idempotent-outputs",
    severity="warning",
    summary="Succeeded executions wrote their own date's partition",
)
def check_execution_partition(store, settings):
    """What it checks: for each recent execution that succeeded, the partition its
    output location resolves to (with the parameters it ran with) exists under the base
    prefix and holds at least one object.

    Why it matters: an execution that succeeded without writing its day leaves a hole
    downstream jobs and Athena queries do not notice: the day is just missing.

    How to fix: look at the execution's steps (a skipped branch, an empty input, an
    output written elsewhere) and re-run the date.
    """
    for listing, pointer, subject, gap in _outputs(store, settings):
        if gap is not None:
            yield gap
            continue
        present = set(listing.folders)
        empty = set(listing.empty_partitions)
        for index, execution in enumerate(listing.executions):
            if (execution.status or "").lower() != "succeeded":
                continue
            run = execution.execution_arn.rsplit("/", 1)[-1]
            where = f"{listing.base_uri}{execution.partition}/"
            if f"{execution.partition}/" not in present:
                problem = "does not exist"
            elif execution.partition in empty:
                problem = "is empty"
            else:
                continue
            yield Violation(
                f"execution {run} succeeded, but its partition {where} {problem} "
                f"({_where(listing)})",
                at=join(pointer, "executions", index),
                subject=subject,
            )


@rule(
    id="IO103",
    category="idempotent-outputs",
    summary="Glue partitions point at their own partition prefix",
)
def check_glue_partition_locations(store, settings):
    """What it checks: each partition of a Glue table whose location is an output's base
    prefix has its location at its own ``key=value/`` prefix under the table's location
    (``dt=2026-11-20`` at ``<table location>/dt=2026-11-20/``).

    Why it matters: Athena reads a partition from its location, whatever its values say;
    a partition registered on the wrong prefix serves another day's (or no) data, with
    no error.

    How to fix: ``ALTER TABLE ... PARTITION (dt='...') SET LOCATION 's3://.../dt=.../'``
    or re-create the partition (``MSCK REPAIR TABLE`` only adds missing ones).
    """
    for listing, pointer, subject, gap in _outputs(
        store, settings, listing_read=False, catalog_read=True
    ):
        if gap is not None:
            yield gap
            continue
        for t_index, table in enumerate(listing.tables):
            where = join(pointer, "tables", t_index)
            table_gap = _table_gap(store, table, where, subject)
            if table_gap is not None:
                yield table_gap
                continue
            for partition in table.partitions:
                expected = output_partitions.expected_partition_location(table, partition)
                actual = partition.location or ""
                if not actual or output_partitions.normal_prefix(actual) != expected:
                    shown = actual or "no location"
                    yield Violation(
                        f"Glue table {table.database}.{table.name}: partition "
                        f"{'/'.join(partition.values)} is at {shown}, not at {expected}",
                        at=where,
                        subject=subject,
                    )


@rule(
    id="IO104",
    category="idempotent-outputs",
    severity="warning",
    summary="Glue tables over outputs have a partition for each date written",
)
def check_glue_partition_per_date(store, settings):
    """What it checks: a Glue table whose location is an output's base prefix is
    partitioned by the output's partition key and has a partition for every
    ``dt=YYYY-MM-DD/`` folder under the prefix.

    Why it matters: Athena does not see a day whose partition is not in the catalog:
    queries silently return nothing for it.

    How to fix: add the partition (``ALTER TABLE ... ADD PARTITION``, a Glue crawler, or
    partition projection), ideally as a step of the pipeline that writes the day.
    """
    for listing, pointer, subject, gap in _outputs(store, settings, catalog_read=True):
        if gap is not None:
            yield gap
            continue
        written = output_partitions.written_dates(listing)
        key = listing.partition_key
        for t_index, table in enumerate(listing.tables):
            where = join(pointer, "tables", t_index)
            name = f"{table.database}.{table.name}"
            table_gap = _table_gap(store, table, where, subject)
            if table_gap is not None:
                yield table_gap
                continue
            dates = output_partitions.table_dates(table, key)
            if dates is None:
                keys = ", ".join(table.partition_keys) or "nothing"
                yield Violation(
                    f"Glue table {name} over {listing.base_uri} is partitioned by {keys}, "
                    f"not by {key}",
                    at=where,
                    subject=subject,
                )
                continue
            missing = [day for day in written if day not in dates]
            if missing:
                shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
                yield Violation(
                    f"Glue table {name} has no partition for {len(missing)} date"
                    f"{'s' if len(missing) != 1 else ''} written under {listing.base_uri}: "
                    f"{shown} (Athena does not see them)",
                    at=where,
                    subject=subject,
                )
