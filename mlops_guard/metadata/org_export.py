"""``export sagemaker --accounts/--organization/--regions [--shard K/N] -o DIR``.

One export file per account/region pair, ``DIR/<account>-<region>.json``, each a store
that names its account and region and holds what the audit reads (each metric's last
value, not its time series), read concurrently the way the organisation-wide
audit reads them (:mod:`mlops_guard.audit.accounts`). Shards write disjoint sets of
files, so the shards' directories together are the export of the whole organisation:
``audit file DIR1 DIR2 ...`` audits them exactly as the live audit would, each finding
in ``sagemaker:<account>:<region>``.

A pair that could not be read at all is still written (its store says why, so auditing
the export reports it as MG005), and the export exits 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlops_guard.errors import EXIT_CLEAN, EXIT_INPUT, InputError


def export(arguments, boto_session=None) -> int:
    from mlops_guard.audit import accounts
    from mlops_guard.audit.read_store import _boto_session
    from mlops_guard.errors import require_extra
    from mlops_guard.metadata.io import dump_store
    from mlops_guard.metadata.sources import sagemaker

    require_extra("boto3", "aws", "export sagemaker")
    if arguments.output == "-":
        raise InputError("an export of several accounts or regions is a directory: give -o DIR")
    directory = Path(arguments.output)
    if directory.exists() and not directory.is_dir():
        raise InputError("not a directory (an export of several pairs is one file each)",
                         file=arguments.output)  # fmt: skip
    base = boto_session
    if base is None:
        base = _boto_session(arguments.region, arguments.profile)
    pairs = accounts.pairs_of(arguments, base)
    from mlops_guard.audit.cli import DEFAULT_TIMEOUT

    # export has no --timeout: a pair's credentials must last as long as an audit's may.
    sessions = accounts.Sessions(base, arguments.role_name, arguments.external_id, DEFAULT_TIMEOUT)

    def read(pair_boto_session):
        return sagemaker.fetch_store(
            since=arguments.since,
            experiment_prefix=arguments.experiment_prefix,
            series=False,  # what the audit reads: last values, not each metric's history
            boto_session=pair_boto_session,
        )

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create: {error.strerror or error}", file=str(directory)) from None
    not_read = []
    stores = accounts.read_concurrently(
        pairs, lambda pair: accounts.read_pair(pair, sessions, read), arguments.concurrency
    )
    for pair, store in stores:
        path = directory / f"{pair.account}-{pair.region}.json"
        try:
            dump_store(store, path)
        except OSError as error:
            raise InputError(f"cannot write: {error.strerror or error}", file=str(path)) from None
        for item in store.unreadable:
            print(
                f"mlops-guard: warning: {pair.account}/{pair.region}: not readable: "
                f"{item.what}: {item.reason}",
                file=sys.stderr,
            )
        if not accounts.was_read(store):
            not_read.append(pair)
    if not_read:
        print(
            f"mlops-guard: error: {len(not_read)} account/region pair(s) could not be read; "
            "their files say why (MG005 when audited)",
            file=sys.stderr,
        )
        return EXIT_INPUT
    return EXIT_CLEAN
