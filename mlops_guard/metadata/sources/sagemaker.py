"""The ``sagemaker`` source: experiments and deployed pipelines of one AWS account/region.

Credentials come from boto3's standard chain (``profile`` picks a named profile);
``AWS_ENDPOINT_URL`` is honoured by boto3 itself. Calls are retried in botocore's
adaptive mode. The source only ever reads: :data:`READ_OPERATIONS` is the complete list
of operations it may call, and ``mlops-guard iam-policy`` turns it into a policy.

Its options include the organisation-wide ones (:mod:`mlops_guard.audit.accounts`); the
audit adds what only it needs (:func:`mlops_guard.audit.read_store.read_sagemaker`). The
readers (``_sm_*``, ``_s3*``) and the model are imported when :func:`fetch_store` runs,
so the parsers that import this module stay light.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from mlops_guard.metadata.errors import MetadataInputError

if TYPE_CHECKING:
    from mlops_guard.metadata.model import MetadataStore

READING = ("SageMaker", "API calls")

# boto3 service name -> operations (botocore names). Tested against every call made.
READ_OPERATIONS: dict[str, list[str]] = {
    "sagemaker": [
        "DescribeModelPackage",
        "DescribePipeline",
        "DescribePipelineExecution",
        "DescribeTrialComponent",
        "ListModelPackageGroups",
        "ListModelPackages",
        "ListPipelineExecutions",
        "ListPipelineParametersForExecution",
        "ListPipelines",
        "ListTags",
        "ListTrialComponents",
        "Search",
    ],
    "sagemaker-metrics": ["BatchGetMetrics"],
    "events": ["ListRuleNamesByTarget", "ListRules", "ListTargetsByRule"],
    "scheduler": ["GetSchedule", "ListSchedules"],
    # What pipelines produced: evaluation reports and output prefixes, Glue tables on them.
    "s3": ["GetObject", "ListObjectsV2"],
    "glue": ["GetDatabases", "GetPartitions", "GetTables"],
}

# IAM uses its own service prefixes for a few boto3 services, and its own action names
# for a few operations.
_IAM_PREFIX = {"sagemaker-metrics": "sagemaker"}
_IAM_ACTION = {("s3", "ListObjectsV2"): "s3:ListBucket"}


def iam_action(service: str, operation: str) -> str:
    """The IAM action that allows a boto3 ``service``'s ``operation``."""
    return _IAM_ACTION.get((service, operation), f"{_IAM_PREFIX.get(service, service)}:{operation}")


def iam_actions() -> list[str]:
    """``READ_OPERATIONS`` as IAM actions (``sagemaker:Search``, ...), sorted, for a policy."""
    return sorted(
        {
            iam_action(service, operation)
            for service, operations in READ_OPERATIONS.items()
            for operation in operations
        }
    )


def fetch_store(
    *,
    region: str | None = None,
    profile: str | None = None,
    since: datetime | None = None,
    experiment_prefix: str | None = None,
    experiments: bool = True,
    pipelines: bool = True,
    series: bool = True,
    max_executions: int = 20,
    max_workers: int | None = None,
    server_side_since: bool = True,
    model_registry: bool = True,
    model_package_groups: str = "*",
    outputs: bool = True,
    max_keys_per_prefix: int = 5000,
    boto_session=None,
    timeout: float | None = None,
) -> MetadataStore:
    """Read experiments and pipelines into a store; unreadable parts are listed, not fatal.

    ``boto_session`` (a ``boto3.Session``) overrides ``region``/``profile``; tests pass one to
    observe or inject the HTTP traffic. ``model_registry`` reads the model packages of
    the groups matching the ``model_package_groups`` glob; ``outputs`` lists the S3
    prefixes the deployed pipelines' executions wrote (at most ``max_keys_per_prefix``
    keys each) and the Glue tables over them. ``max_workers`` (default
    :data:`~mlops_guard.metadata.sources._aws.MAX_WORKERS`) bounds the concurrent calls.
    After ``timeout`` seconds no call is made any more: what was not read by then is
    listed in ``unreadable``. Raises :class:`MetadataInputError` when AWS cannot be
    reached at all (no credentials, no region, unknown profile, no endpoint).
    """
    from mlops_guard.errors import require_extra

    require_extra("boto3", "aws", "reading SageMaker")
    from botocore.exceptions import BotoCoreError, ClientError

    from mlops_guard.metadata.model import MetadataStore
    from mlops_guard.metadata.sources import (
        _s3_outputs,
        _sm_experiments,
        _sm_pipelines,
        _sm_registry,
    )
    from mlops_guard.metadata.sources._aws import MAX_WORKERS, Reader

    if max_workers is None:
        max_workers = MAX_WORKERS
    try:
        reader = Reader(
            boto_session or _boto_session(region, profile), max_workers=max_workers, timeout=timeout
        )
        store = MetadataStore()
        if experiments:
            options = _sm_experiments.Options(
                since=since,
                experiment_prefix=experiment_prefix,
                series=series,
                server_side_since=server_side_since,
            )
            store.experiments = _sm_experiments.read_experiments(reader, options)
        if pipelines:
            store.pipelines = _sm_pipelines.read_pipelines(
                reader, _sm_pipelines.Options(max_executions=max_executions)
            )
        if model_registry:
            store.model_package_groups = _sm_registry.read_model_packages(
                reader, _sm_registry.Options(groups=model_package_groups)
            )
        if pipelines and outputs:
            store.outputs = _s3_outputs.read_outputs(
                reader, store.pipelines, _s3_outputs.Options(max_keys_per_prefix)
            )
    except (BotoCoreError, ClientError) as error:
        raise MetadataInputError(_one_line(error), where="sagemaker") from None
    store.unreadable = sorted(reader.unreadable, key=lambda item: (item.what, item.reason))
    return store


def add_options(parser, command: str) -> None:
    """``--region``, ``--profile``, ``--since``, ``--experiment-prefix`` and the
    organisation-wide options, for ``audit sagemaker`` and ``export sagemaker``."""
    parser.add_argument("--region", help="AWS region (default: boto3's configuration)")
    parser.add_argument("--profile", help="AWS named profile (default: boto3's chain)")
    since_help = {
        "audit": "only runs modified since (ISO, UTC)",
        "export": "only runs modified since this ISO date or date-time (UTC unless given)",
    }
    parser.add_argument("--since", type=parse_moment, metavar="DATE", help=since_help[command])
    parser.add_argument("--experiment-prefix", metavar="P", help="only experiments named P*")
    from mlops_guard.audit import accounts

    accounts.add_options(parser)  # many accounts and regions (export: -o is a directory)


def parse_moment(text: str) -> datetime:
    """``--since``: an ISO date or date-time; naive values are UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {text!r}") from None
        moment = datetime(day.year, day.month, day.day)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def fetch_options(args) -> dict:
    return {
        "region": args.region,
        "profile": args.profile,
        "since": args.since,
        "experiment_prefix": args.experiment_prefix,
    }


def label(options: dict) -> str:
    """``sagemaker:<region>``: the region of the ``boto_session`` read, as boto3 resolved it."""
    boto_session = options.get("boto_session")
    region = boto_session.region_name if boto_session is not None else options.get("region")
    return f"sagemaker:{region or 'default-region'}"


def _boto_session(region: str | None, profile: str | None):
    import boto3

    return boto3.session.Session(region_name=region, profile_name=profile)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:500]
