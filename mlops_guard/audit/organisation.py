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


def audit(args, prepared, check_outputs, session=None) -> int:
    """Run the organisation-wide audit ``args`` ask for, with ``prepared`` policy and
    rules. ``session`` replaces the base session (tests shape its STS traffic)."""
    from mlops_guard import __version__, engine
    from mlops_guard.audit import accounts, pairs_report, sources
    from mlops_guard.audit.progress import Progress
    from mlops_guard.errors import require_extra

    require_extra("boto3", "aws", "audit sagemaker")
    check_outputs(args.output)
    base = session if session is not None else sources._session(args.region, args.profile)
    pairs = accounts.pairs_of(args, base)
    sessions = accounts.Sessions(base, args.role_name, args.external_id)
    summaries: list = []

    def read(pair_session):
        # The single-account reader: whatever it reads, every pair reads.
        return sources.read_sagemaker(args, pair_session)[0]

    with Progress() as progress:
        progress.phase("auditing account/region pairs", "targets")
        targets = accounts.audited_targets(pairs, sessions, read, args.concurrency, summaries)
        result = engine.run(
            _counted(targets, progress),
            prepared.rules,
            prepared.policy,
            prepared.selection,
            policy_file=prepared.policy_file,
            debug=args.debug,
        )
        fail_on = args.fail_on or prepared.policy["fail_on"]
        section = accounts.accounts_section(summaries, result.rule_ids, fail_on, args.shard)
        context = {"version": __version__, "rules": prepared.rules, "command": "audit"}
        text = pairs_report.render(args.format, result, context, section)
        source = _source(args, pairs)
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


def _source(args, pairs) -> str:
    accounts = sorted({pair.account for pair in pairs})
    regions = sorted({pair.region for pair in pairs})
    text = f"sagemaker: {len(accounts)} account(s) x {len(regions)} region(s)"
    if args.shard:
        text += f", shard {args.shard[0]}/{args.shard[1]}"
    return text


def _counted(targets, progress):
    for target in targets:
        yield target
        progress.advance()
