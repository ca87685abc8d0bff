"""Finding things in a metadata store: where an item is, and what of it was not read.

Findings point at an item by its JSON pointer in the store (``/experiments/3``); a rule
that judges an item first asks which of the store's ``unreadable`` entries concern it,
and reports the item as not evaluated (:class:`mlops_guard.NotEvaluated`) instead of
judging what is only partly there.

Only the standard library and the rule authors' API are imported: rule files import
this on every ``check``.
"""

from __future__ import annotations

from mlops_guard.authoring import NotEvaluated
from mlops_guard.pointer import join


def experiment_pointer(store, experiment) -> str:
    for index, candidate in enumerate(store.experiments):
        if candidate is experiment:
            return join("/experiments", index)
    return ""


def pipeline_pointer(store, pipeline) -> str:
    for index, candidate in enumerate(store.pipelines):
        if candidate is pipeline:
            return join("/pipelines", index)
    return ""


def unread_about(store, *names: str) -> list:
    """Items of ``store.unreadable`` that concern any of ``names`` (a prefix of their
    ``what``, like ``events:``, or a resource name or ARN mentioned in it)."""
    found = []
    for item in store.unreadable:
        what = item.what
        if any(what.startswith(name) or f" {name} " in f" {what} " for name in names if name):
            found.append(item)
    return found


def could_not_read(items) -> str:
    """Why an item is not evaluated: the ``unreadable`` entries about it, with reasons."""
    listed = "; ".join(f"{item.what} ({item.reason})" for item in items)
    return f"could not read {listed}"


def not_evaluated(unread: list, at: str = "", subject: str | None = None) -> NotEvaluated | None:
    """What a rule yields instead of judging an item of which ``unread`` could not be
    read (at ``at``, about ``subject``); None when all of it was read."""
    return NotEvaluated(could_not_read(unread), at=at, subject=subject) if unread else None
