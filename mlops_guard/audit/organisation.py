"""``audit sagemaker`` over many accounts and regions (``--accounts``/``--organization``,
``--regions``, ``--shard``): one engine run over the targets of every pair.

The pairs are read concurrently (:mod:`mlops_guard.audit.accounts`); their targets go
through one :func:`mlops_guard.engine.run` as pairs finish, so selection, severities and
waivers apply exactly as in a single-account audit, and only findings are kept. The exit
code is the single audit's: 2 when any pair was not fully read, else 1 on findings at
or above ``--fail-on``, else 0.
"""

from __future__ import annotations

import sys

from mlops_guard.errors import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INPUT


def audit(args, prepared, check_outputs, boto_session=None) -> int:
    """Run the organisation-wide audit ``args`` ask for, with ``prepared`` policy and
    rules. ``boto_session`` replaces the base boto3 session (tests shape its STS traffic)."""
    from mlops_guard.audit import accounts, read_store
    from mlops_guard.errors import require_extra

    require_extra("boto3", "aws", "audit sagemaker")
    check_outputs(args.output)
    base = boto_session
    if base is None:
        base = read_store._boto_session(args.region, args.profile)
    pairs = accounts.pairs_of(args, base)
    sessions = accounts.Sessions(base, args.role_name, args.external_id, args.timeout)

    def read(pair_boto_session):
        # The single-account reader: whatever it reads, every pair reads.
        return read_store.read_sagemaker(args, pair_boto_session, policy=prepared.policy)[0]

    stores = accounts.read_concurrently(
        pairs, lambda pair: accounts.read_pair(pair, sessions, read), args.concurrency
    )
    return check_and_report(args, prepared, stores, _source(pairs, args.shard))


def names_pairs(loaded: list) -> bool:
    """Whether export files (``(path, store)``) come from an organisation-wide export; a
    mix of such files and files that name no account is refused (it has no one place)."""
    from mlops_guard.errors import InputError

    named = [path for path, store in loaded if store.account or store.region]
    if named and len(named) != len(loaded):
        other = next(path for path, store in loaded if not (store.account or store.region))
        raise InputError(
            "this export names no account and region, but others do (they are from an "
            f"organisation-wide export, like {named[0]}): audit them separately",
            file=str(other),
        )
    return bool(named)


def audit_exports(args, prepared, loaded: list) -> int:
    """``audit file`` of an organisation-wide export's files (several shards' files
    alike): each pair's files merged as ``audit file`` merges one account's, then audited
    as the live audit of those pairs is."""
    from mlops_guard.audit import accounts, read_store
    from mlops_guard.errors import InputError

    by_pair: dict = {}
    for path, store in loaded:
        if not (store.account and store.region):
            raise InputError("an export names an account without a region, or the reverse",
                             file=str(path))  # fmt: skip
        by_pair.setdefault(accounts.Pair(store.account, store.region), []).append(store)
    pairs = sorted(by_pair)
    stores = ((pair, read_store.merge(by_pair.pop(pair))) for pair in pairs)
    return check_and_report(args, prepared, stores, _source(pairs, None))


def check_and_report(args, prepared, pair_stores, source: str) -> int:
    """One engine run over the targets of every ``(pair, store)``, as they come; the
    reports; the exit code."""
    from mlops_guard.audit import accounts, pairs_report
    from mlops_guard.audit.progress import Progress
    from mlops_guard.reporters import report_context

    summaries: list = []
    with Progress() as progress:
        progress.phase("auditing account/region pairs", "targets")
        result = prepared.run(
            _counted(accounts.targets_of(pair_stores, summaries), progress),
            debug=args.debug,
        )
        fail_on = args.fail_on or prepared.policy["fail_on"]
        shard = getattr(args, "shard", None)
        section = accounts.accounts_section(summaries, result.rule_ids, fail_on, shard)
        context = report_context("audit", prepared.rules, result)
        text = pairs_report.render(args.format, result, context, section)
        for output in args.output:
            pairs_report.write(output, result, context, section, source)
    sys.stdout.write(text)
    return exit_code(result, section, stream=sys.stderr)


def exit_code(result, section: dict, stream) -> int:
    """2 if any pair was not fully read (said on ``stream``), else 1 on failing findings."""
    unread = [pair for pair in section["pairs"] if pair["unreadable"]]
    if unread:
        named = ", ".join(f"{p['account']}/{p['region']}" for p in unread[:5])
        more = f" and {len(unread) - 5} more" if len(unread) > 5 else ""
        print(
            f"mlops-guard: error: {len(unread)} account/region pair(s) could not be fully read "
            f"({named}{more}; MG005): the audit does not pass",
            file=stream,
        )
        return EXIT_INPUT
    return EXIT_FINDINGS if result.failed(section["fail_on"]) else EXIT_CLEAN


def _source(pairs, shard) -> str:
    accounts = sorted({pair.account for pair in pairs})
    regions = sorted({pair.region for pair in pairs})
    text = f"sagemaker: {len(accounts)} account(s) x {len(regions)} region(s)"
    if shard:
        text += f", shard {shard[0]}/{shard[1]}"
    return text


def _counted(targets, progress):
    for target in targets:
        yield target
        progress.advance()
