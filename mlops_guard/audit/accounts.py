"""Organisation-wide audits: many AWS accounts and regions in one run, or one shard of them.

An audit past one account is bound by each account's API rate limits, not by compute,
so the account x region pairs are read concurrently (a ``ThreadPoolExecutor`` of
``--concurrency`` workers), each pair with its own boto3 session, clients and botocore
adaptive retries: a throttled account slows only itself. Each pair is read by the same
function the single-account audit uses (:func:`mlops_guard.audit.read_store.read_sagemaker`),
so whatever that reads is read in every pair too.

Memory stays bounded: at most ``--concurrency`` pairs are in flight, and the store of a
finished pair is checked as soon as it is done and then dropped; only findings and a
per-pair summary are kept.

A pair that cannot be read (role not assumable, region not enabled, access denied) is
an MG005 "not evaluated" finding for that pair with the reason; the others are still
audited, and the run exits 2. ``--shard K/N`` audits the K-th of N deterministic slices
of the sorted pair list; :mod:`mlops_guard.audit.merge` puts the shards' reports back
together.
"""

from __future__ import annotations

import argparse
import re
import threading
from collections import namedtuple
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from mlops_guard.errors import InputError

DEFAULT_CONCURRENCY = 8
SESSION_NAME = "mlops-guard-audit"
# How long assumed-role credentials are asked for: every role allows an hour, more than
# the default --timeout; a pair starting later assumes the role again.
ROLE_SECONDS = 3600
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
MAX_ACCOUNTS_FILE = 1_000_000  # bytes: far more than the largest organisation's ids


class Pair(namedtuple("Pair", "account region")):
    """One account and one region: the unit an organisation-wide audit reads."""

    __slots__ = ()

    @property
    def label(self) -> str:
        """Where this pair's findings are: ``location.file`` of every one of them."""
        return f"sagemaker:{self.account}:{self.region}"


class PairSummary(
    namedtuple("PairSummary", "account region read unreadable experiments runs pipelines")
):
    """What the report says about one pair: whether it was read at all, how many parts
    could not be read, and how much was audited."""

    __slots__ = ()

    @property
    def label(self) -> str:
        return Pair(self.account, self.region).label

    def to_dict(self) -> dict:
        return dict(self._asdict())


# -- options ----------------------------------------------------------------------------


def add_options(parser: argparse.ArgumentParser) -> None:
    """The organisation-wide options of ``audit sagemaker`` and ``export sagemaker``."""
    group = parser.add_argument_group("organisation-wide audits")
    accounts = group.add_mutually_exclusive_group()
    accounts.add_argument(
        "--accounts", metavar="FILE", help="account ids to audit, one a line (# comments)"
    )
    accounts.add_argument(
        "--organization",
        action="store_true",
        help="audit every active account of the AWS Organization (management or "
        "delegated-administrator credentials)",
    )
    group.add_argument("--role-name", metavar="NAME", help="role to assume in each account")
    group.add_argument("--external-id", metavar="ID", help="external id the role's trust needs")
    group.add_argument(
        "--regions", type=regions, metavar="R1,R2", help="regions to audit in each account"
    )
    group.add_argument(
        "--concurrency",
        type=_positive,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"account/region pairs read at once (default {DEFAULT_CONCURRENCY})",
    )
    group.add_argument(
        "--shard", type=shard_spec, metavar="K/N", help="audit only the K-th of N slices of pairs"
    )


def wanted(args) -> bool:
    """Whether ``args`` ask for the multi-account path (else the command is as before)."""
    return bool(args.accounts or args.organization or args.regions or args.shard or args.role_name)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return value


def regions(text: str) -> list[str]:
    """``--regions``: a comma-separated list of region names, duplicates dropped."""
    names = sorted({name.strip() for name in text.split(",") if name.strip()})
    bad = [name for name in names if not _REGION.match(name)]
    if not names or bad:
        raise argparse.ArgumentTypeError(f"not a list of AWS regions: {text!r}")
    return names


def shard_spec(text: str) -> tuple[int, int]:
    """``--shard K/N`` with ``1 <= K <= N``."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise argparse.ArgumentTypeError(f"not K/N with 1 <= K <= N: {text!r}")
    return int(match[1]), int(match[2])


def read_accounts_file(path: str) -> list[str]:
    """Account ids of a file, one a line; ``#`` starts a comment. Anything else on a line
    is an error naming the line: a typo must not drop an account from the audit."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(MAX_ACCOUNTS_FILE + 1)
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InputError(f"cannot read: {reason}", file=path) from None
    if len(text) > MAX_ACCOUNTS_FILE:
        raise InputError(f"larger than {MAX_ACCOUNTS_FILE} bytes", file=path)
    accounts = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if not _ACCOUNT_ID.match(entry):
            raise InputError(
                f"not a 12-digit AWS account id: {entry[:40]!r}", file=path, where=f"line {number}"
            )
        accounts.append(entry)
    if not accounts:
        raise InputError("no account ids in this file", file=path)
    return sorted(set(accounts))


def organization_accounts(boto_session) -> list[str]:
    """The active accounts of the organisation ``boto_session`` can list (sorted)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        paginator = boto_session.client("organizations").get_paginator("list_accounts")
        accounts = {
            account["Id"]
            for page in paginator.paginate()
            for account in page.get("Accounts") or []
            if account.get("Status", "ACTIVE") == "ACTIVE"
        }
    except (BotoCoreError, ClientError) as error:
        reason = " ".join(str(error).split())[:500]
        raise InputError(f"cannot list the organisation's accounts: {reason}") from None
    if not accounts:
        raise InputError("the organisation lists no active accounts")
    return sorted(accounts)


def pairs_of(args, base_session) -> list[Pair]:
    """The sorted account x region pairs ``args`` ask for, after ``--shard``."""
    if (args.accounts or args.organization) and not args.role_name:
        raise InputError("--accounts and --organization need --role-name (the role to assume)")
    if args.role_name and not (args.accounts or args.organization):
        raise InputError("--role-name needs --accounts or --organization")
    if args.accounts:
        accounts = read_accounts_file(args.accounts)
    elif args.organization:
        accounts = organization_accounts(base_session)
    else:
        accounts = [_own_account(base_session)]
    region_names = args.regions or [base_session.region_name or _no_region()]
    pairs = sorted(Pair(account, region) for account in accounts for region in region_names)
    if args.shard:
        pairs = shard(pairs, *args.shard)
    return pairs


def shard(pairs: list[Pair], k: int, n: int) -> list[Pair]:
    """The K-th of N slices of the sorted pairs: every N-th pair from the K-th, so each
    slice gets as many accounts and regions as the others, and the slices of 1..N are
    disjoint and together all the pairs, on every machine."""
    return sorted(pairs)[k - 1 :: n]


def _no_region():
    raise InputError("no region: give --regions (or --region, or configure boto3's region)")


def _own_account(boto_session) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return boto_session.client("sts").get_caller_identity()["Account"]
    except (BotoCoreError, ClientError, KeyError) as error:
        reason = " ".join(str(error).split())[:500]
        raise InputError(f"cannot tell which account the credentials are for: {reason}") from None


# -- sessions per pair ----------------------------------------------------------------------


class Sessions:
    """A boto3 session per pair: the assumed role's credentials (one AssumeRole per
    account, shared by its regions) or, without ``--role-name``, the caller's own."""

    def __init__(
        self,
        base_session,
        role_name: str | None,
        external_id: str | None,
        needed_seconds: float = 0.0,
    ):
        self.base = base_session
        # A pair starting late must not get credentials that expire while it is read:
        # cached ones are reused only while they last this long (a pair's --timeout).
        self.needed_seconds = needed_seconds
        self.role_name = role_name
        self.external_id = external_id
        # Clients are thread-safe, sessions are not: STS is built here, on one thread.
        self.sts = base_session.client("sts") if role_name else None
        # One loader of service models for every pair: a session of its own would parse
        # the SageMaker model again (a third of a second and tens of MB per pair).
        self.loader = base_session._session.get_component("data_loader")
        self._credentials: dict[str, dict] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def role_arn(self, account: str) -> str:
        return f"arn:aws:iam::{account}:role/{self.role_name}"

    def boto_session(self, pair: Pair):
        """A new session for ``pair``; raises botocore's errors when the role cannot be
        assumed (the caller reports them as the pair's MG005)."""
        if self.role_name is None:
            credentials = self.base.get_credentials()
            frozen = credentials.get_frozen_credentials() if credentials else None
            if frozen is None:
                return self._new_boto_session(region_name=pair.region)
            return self._new_boto_session(
                aws_access_key_id=frozen.access_key,
                aws_secret_access_key=frozen.secret_key,
                aws_session_token=frozen.token,
                region_name=pair.region,
            )
        credentials = self._assumed(pair.account)
        return self._new_boto_session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=pair.region,
        )

    def _new_boto_session(self, **options):
        import boto3
        import botocore.session

        core = botocore.session.get_session()
        core.register_component("data_loader", self.loader)
        with self._guard:
            boto_session = boto3.session.Session(botocore_session=core, **options)
            # boto3 adds its data path to the loader each time: keep it there once.
            paths = self.loader.search_paths
            paths[:] = list(dict.fromkeys(paths))
        return boto_session

    def _assumed(self, account: str) -> dict:
        with self._guard:
            lock = self._locks.setdefault(account, threading.Lock())
        with lock:
            cached = self._credentials.get(account)
            if cached is None or not _lasts(cached, self.needed_seconds):
                request = {
                    "RoleArn": self.role_arn(account),
                    "RoleSessionName": SESSION_NAME,
                    "DurationSeconds": ROLE_SECONDS,
                }
                if self.external_id:
                    request["ExternalId"] = self.external_id
                self._credentials[account] = self.sts.assume_role(**request)["Credentials"]
            return self._credentials[account]


def _lasts(credentials: dict, seconds: float) -> bool:
    """Whether assumed-role credentials are valid for ``seconds`` more (and a minute)."""
    from datetime import UTC, datetime

    expiration = credentials.get("Expiration")
    if not isinstance(expiration, datetime):
        return False
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    return (expiration - datetime.now(UTC)).total_seconds() > seconds + 60


# -- reading and checking the pairs ---------------------------------------------------------


_WHOLE_PAIR = ("sts:AssumeRole ", "sagemaker in ")  # what an unread pair's one item names


def read_pair(pair: Pair, sessions: Sessions, read):
    """``pair``'s store, read by ``read(boto_session)`` and marked with its account and region;
    a pair that cannot be read at all is a store holding one unreadable item saying why."""
    from botocore.exceptions import BotoCoreError, ClientError

    from mlops_guard.metadata.model import MetadataStore, Unreadable

    what = f"sagemaker in {pair.account}/{pair.region}"
    try:
        try:
            boto_session = sessions.boto_session(pair)
        except (BotoCoreError, ClientError):
            what = f"sts:AssumeRole {sessions.role_arn(pair.account)}"
            raise
        store = read(boto_session)
    except (InputError, BotoCoreError, ClientError) as error:
        reason = " ".join(str(error).split())[:500] or type(error).__name__
        store = MetadataStore(unreadable=[Unreadable(what=what, reason=reason)])
    store.account, store.region = pair.account, pair.region
    return store


def was_read(store) -> bool:
    """Whether the pair was read at all (parts of it may still be unreadable)."""
    return not any(item.what.startswith(_WHOLE_PAIR) for item in store.unreadable)


def pair_targets(store, pair: Pair) -> list:
    """The targets of one pair's store, every one of them placed in the pair: the store is
    ``sagemaker:<account>:<region>``, a deployed definition
    ``sagemaker:<account>:<region>/pipeline/<name>``."""
    from mlops_guard.audit.store_targets import build_targets

    label = pair.label
    targets = build_targets(store, label)
    for target in targets:
        if target.file != label and target.file.startswith("sagemaker:"):
            target.file = f"{label}/{target.file[len('sagemaker:') :]}"
    return targets


def summary_of(pair: Pair, store) -> PairSummary:
    return PairSummary(
        account=pair.account,
        region=pair.region,
        read=was_read(store),
        unreadable=len(store.unreadable),
        experiments=len(store.experiments),
        runs=sum(len(trial.components) for e in store.experiments for trial in e.trials),
        pipelines=len(store.pipelines),
    )


def read_concurrently(pairs: list[Pair], load, concurrency: int):
    """``(pair, load(pair))`` for every pair, yielded as pairs finish (whatever order they
    finish in), with at most ``concurrency`` pairs loaded or waiting at once: a store is
    handed on as soon as it is read, never held while slower pairs are read."""
    remaining = list(reversed(pairs))
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        running = {}
        while remaining or running:
            while remaining and len(running) < concurrency:
                pair = remaining.pop()
                running[pool.submit(load, pair)] = pair
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: running[f]):
                yield running.pop(future), future.result()


def targets_of(pair_stores, summaries: list):
    """The targets of each ``(pair, store)``; ``summaries`` receives each pair's
    :class:`PairSummary`. A store is not kept once its targets are yielded."""
    for pair, store in pair_stores:
        summaries.append(summary_of(pair, store))
        yield from pair_targets(store, pair)


def accounts_section(summaries: list[PairSummary], rule_ids, fail_on: str, shard_) -> dict:
    """What the JSON report adds for an organisation-wide audit (read by ``audit merge``)."""
    return {
        "pairs": [s.to_dict() for s in sorted(summaries)],
        "rule_ids": sorted(rule_ids),
        "fail_on": fail_on,
        "shard": f"{shard_[0]}/{shard_[1]}" if shard_ else None,
    }


def findings_by_pair(findings) -> dict[str, list]:
    """Findings under the pair label their ``location.file`` starts with."""
    grouped: dict[str, list] = {}
    for finding in findings:
        grouped.setdefault(finding.location.file.split("/", 1)[0], []).append(finding)
    return grouped
