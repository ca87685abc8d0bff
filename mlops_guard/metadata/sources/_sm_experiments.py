"""SageMaker Experiments -> experiments, trials and trial components of the model.

Search returns up to 100 records per call with everything real AWS knows about a
record, so it is the main read. Where a record lacks data (measured against moto: no
``Parents`` on components, no ``TrialComponentSummaries`` on trials, metric summaries
that are empty objects) the gap is filled with ListTrialComponents/DescribeTrialComponent,
only for the records that need it and with bounded concurrency. Metric time series come
from ``sagemaker-metrics`` BatchGetMetrics; if that is unavailable it is recorded once in
``unreadable`` and the summaries are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlops_guard.metadata.model import (
    Artifact,
    Experiment,
    MetricPoint,
    MetricSummary,
    Trial,
    TrialComponent,
    Unreadable,
)
from mlops_guard.metadata.sources._aws import Reader, as_utc, error_code, pages, tags_dict

PAGE_SIZE = 100  # the most Search returns per call
METRIC_QUERIES_PER_CALL = 100  # BatchGetMetrics' limit
PIPELINE_EXECUTION_ARN = re.compile(
    r"^arn:aws[\w-]*:sagemaker:[^:]*:[^:]*:pipeline/[^/]+/execution/"
)


@dataclass
class Options:
    since: datetime | None = None
    experiment_prefix: str | None = None
    series: bool = True
    # Ask Search itself for components modified since ``since`` (a filter moto does not
    # evaluate); the same filter is applied to what comes back either way.
    server_side_since: bool = True


def read_experiments(reader: Reader, options: Options) -> list[Experiment]:
    sagemaker = reader.client("sagemaker")
    since = as_utc(options.since)

    experiments: dict[str, dict] = {}
    with reader.guard("sagemaker:Search Experiment (experiments)"):
        for record in _search(sagemaker, "Experiment", "Experiment"):
            if _wanted_experiment(record.get("ExperimentName", ""), options):
                experiments[record["ExperimentName"]] = record

    trials: dict[str, dict] = {}
    with reader.guard("sagemaker:Search ExperimentTrial (trials)"):
        for record in _search(sagemaker, "ExperimentTrial", "Trial"):
            if _wanted_experiment(record.get("ExperimentName", ""), options):
                trials[record["TrialName"]] = record

    components: dict[str, dict] = {}
    with reader.guard("sagemaker:Search ExperimentTrialComponent (trial components)"):
        filters = []
        if since is not None and options.server_side_since:
            filters.append(
                {
                    "Name": "LastModifiedTime",
                    "Operator": "GreaterThanOrEqualTo",
                    "Value": since.isoformat(),
                }
            )
        for record in _search(sagemaker, "ExperimentTrialComponent", "TrialComponent", filters):
            if since is None or _modified(record) is None or _modified(record) >= since:
                components[record["TrialComponentName"]] = _slim(record)

    membership = _membership(reader, trials, components)
    # From here on each record is turned into its model(s) as soon as it is complete
    # (described where needed) and dropped: raw records and responses are never all
    # held at once next to the models.
    built = _build_components(reader, trials, components, membership)
    if options.series:
        _attach_series(_series(reader, built.metric_queries), built)
    return _assemble(experiments, trials, built, membership, since)


# The keys of a trial component record that the model is made of (or that decide which
# records are read and described); the rest of each Search record is not kept.
_COMPONENT_KEYS = (
    "TrialComponentName",
    "TrialComponentArn",
    "DisplayName",
    "Status",
    "Source",
    "StartTime",
    "EndTime",
    "Tags",
    "Parameters",
    "Metrics",
    "InputArtifacts",
    "OutputArtifacts",
    "Parents",
)


def _slim(record: dict) -> dict:
    return {key: record[key] for key in _COMPONENT_KEYS if key in record}


def _search(client, resource: str, key: str, filters: list[dict] | None = None):
    params: dict[str, Any] = {"Resource": resource, "MaxResults": PAGE_SIZE}
    if filters:
        params["SearchExpression"] = {"Filters": filters}
    for result in pages(client.search, "Results", **params):
        if key in result:
            yield result[key]


def _wanted_experiment(name: str, options: Options) -> bool:
    return not options.experiment_prefix or name.startswith(options.experiment_prefix)


def _modified(record: dict) -> datetime | None:
    return as_utc(record.get("LastModifiedTime") or record.get("CreationTime"))


def _membership(reader: Reader, trials: dict[str, dict], components: dict[str, dict]):
    """trial name -> names of its components, from whichever side the records describe."""
    members: dict[str, set[str]] = {name: set() for name in trials}
    described = False
    for name, record in components.items():
        if "Parents" in record:
            described = True
            for parent in record["Parents"] or []:
                if parent.get("TrialName") in members:
                    members[parent["TrialName"]].add(name)
    for trial_name, record in trials.items():
        if "TrialComponentSummaries" in record:
            described = True
            for summary in record["TrialComponentSummaries"] or []:
                members[trial_name].add(summary.get("TrialComponentName"))
    if described or not trials:
        return members

    sagemaker = reader.client("sagemaker")

    def listed(trial_name: str) -> set[str]:
        with reader.guard(f"sagemaker:ListTrialComponents trial {trial_name}"):
            return {
                summary["TrialComponentName"]
                for summary in pages(
                    sagemaker.list_trial_components,
                    "TrialComponentSummaries",
                    TrialName=trial_name,
                    MaxResults=PAGE_SIZE,
                )
            }
        return set()

    for trial_name, names in zip(members, reader.map(listed, list(members)), strict=True):
        members[trial_name] = names
    return members


@dataclass
class _Built:
    """The trial components as models: ``models[(trial, name)]``, one per trial a run is
    in (a run's pipeline execution defaults to its trial's), and what BatchGetMetrics is
    asked for each run, in record order: ``metric_queries[name] = (ARN, metric names)``."""

    names: set[str]
    models: dict[tuple[str, str], TrialComponent]
    metric_queries: dict[str, tuple[str, list[str]]]


def _build_components(reader: Reader, trials, components: dict[str, dict], membership) -> _Built:
    """Models of the component records, in one pass that empties ``components``: a record
    whose metric summaries Search left empty is first replaced by DescribeTrialComponent
    (a bounded number of calls in flight), then converted; each raw record and response
    is dropped as soon as its models exist."""
    trials_of: dict[str, list[str]] = {}
    for trial_name in trials:
        for name in membership.get(trial_name, ()):
            trials_of.setdefault(name, []).append(trial_name)
    executions = {name: _pipeline_execution(record) for name, record in trials.items()}
    built = _Built(names=set(components), models={}, metric_queries={})
    needed = [
        name
        for name, record in components.items()
        if any("MetricName" not in metric for metric in record.get("Metrics") or [])
    ]
    for name, record in components.items():  # record order, for BatchGetMetrics
        built.metric_queries[name] = _metric_query(record)

    def convert(name: str) -> None:
        record = components.pop(name)
        built.metric_queries[name] = _metric_query(record)
        for trial_name in trials_of.get(name, ()):
            built.models[(trial_name, name)] = _component(record, executions[trial_name])

    if needed:
        sagemaker = reader.client("sagemaker")

        def describe(name: str) -> dict | None:
            with reader.guard(f"sagemaker:DescribeTrialComponent {name} (metrics)"):
                return _slim(sagemaker.describe_trial_component(TrialComponentName=name))
            return None

        for name, described in zip(needed, reader.imap(describe, needed), strict=True):
            record = components[name]
            if described is None:
                record["Metrics"] = []
            else:
                for key, value in described.items():
                    if key == "Metrics" or key not in record:
                        record[key] = value
            convert(name)
    for name in list(components):
        convert(name)
    built.metric_queries = {
        name: query for name, query in built.metric_queries.items() if query is not None
    }
    return built


def _metric_query(record: dict) -> tuple[str, list[str]] | None:
    if "TrialComponentArn" not in record:
        return None
    names = [m["MetricName"] for m in record.get("Metrics") or [] if "MetricName" in m]
    return (record["TrialComponentArn"], names) if names else None


def _attach_series(series: dict[tuple[str, str], list], built: _Built) -> None:
    if not series:
        return
    for (_trial, name), component in built.models.items():
        query = built.metric_queries.get(name)
        if query is None:
            continue
        for metric, summary in component.metrics.items():
            points = series.get((query[0], metric))
            if points is not None:
                summary.series = list(points)


def _series(reader: Reader, metric_queries) -> dict[tuple[str, str], list]:
    """(component ARN, metric name) -> points, per step, from BatchGetMetrics."""
    queries = [
        {
            "MetricName": metric,
            "ResourceArn": arn,
            "MetricStat": "Last",
            "Period": "IterationNumber",
            "XAxisType": "IterationNumber",
        }
        for arn, metrics in metric_queries.values()
        for metric in metrics
    ]
    if not queries:
        return {}
    from botocore.exceptions import ClientError

    from mlops_guard.metadata.sources._aws_responses import UnreadableResponse

    metrics = reader.client("sagemaker-metrics")
    batches = [
        queries[start : start + METRIC_QUERIES_PER_CALL]
        for start in range(0, len(queries), METRIC_QUERIES_PER_CALL)
    ]
    what = "sagemaker-metrics:BatchGetMetrics (metric time series)"
    try:  # one call first: if the API is not there, do not try it hundreds of times
        results = [metrics.batch_get_metrics(MetricQueries=batches[0])]
    except (ClientError, UnreadableResponse) as error:
        reader.unreadable.append(Unreadable(what=what, reason=_reason(error)))
        return {}

    def batch_of(batch: list[dict]) -> dict:
        with reader.guard(f"{what} batch"):
            return metrics.batch_get_metrics(MetricQueries=batch)
        return {}

    results += reader.map(batch_of, batches[1:])
    series: dict[tuple[str, str], list] = {}
    for batch, response in zip(batches, results, strict=True):
        for query, result in zip(batch, response.get("MetricQueryResults") or [], strict=False):
            if result.get("Status") not in ("Complete", "Truncated"):
                continue
            points = [
                MetricPoint(step=int(step), value=float(value))
                for step, value in zip(
                    result.get("XAxisValues") or [], result.get("MetricValues") or [], strict=False
                )
            ]
            series[(query["ResourceArn"], query["MetricName"])] = points
    return series


def _reason(error: BaseException) -> str:
    from mlops_guard.metadata.sources._aws_responses import UnreadableResponse

    if isinstance(error, UnreadableResponse):
        return str(error)
    code = error_code(error) or type(error).__name__
    if code.isdigit():  # an HTML error page: the endpoint has no such API (e.g. moto)
        return f"HTTP {code}: operation not available at this endpoint"
    message = getattr(error, "response", {}).get("Error", {}).get("Message") or ""
    message = message.strip().splitlines()[0] if message.strip() else ""
    return f"{code}: {message}"[:300] if message else code


def _assemble(experiments, trials, built: _Built, membership, since) -> list[Experiment]:
    by_experiment: dict[str, list[Trial]] = {}
    for trial_name, record in trials.items():
        trial_execution = _pipeline_execution(record)
        kept = [
            built.models[(trial_name, name)]
            for name in sorted(membership.get(trial_name, ()))
            if name in built.names
        ]
        recent = since is None or (_modified(record) or since) >= since
        if not kept and not recent:
            continue
        trial = Trial(
            name=trial_name,
            display_name=record.get("DisplayName"),
            tags=tags_dict(record.get("Tags")),
            pipeline_execution_arn=trial_execution,
            components=kept,
        )
        by_experiment.setdefault(record.get("ExperimentName", ""), []).append(trial)

    result = []
    for name in sorted(set(experiments) | set(by_experiment)):
        record = experiments.get(name, {"ExperimentName": name})
        trials_of = sorted(by_experiment.get(name, []), key=lambda trial: trial.name)
        recent = since is None or (_modified(record) or since) >= since
        if not trials_of and not recent:
            continue
        result.append(
            Experiment(
                name=name,
                display_name=record.get("DisplayName"),
                description=record.get("Description"),
                tags=tags_dict(record.get("Tags")),
                trials=trials_of,
            )
        )
    return result


def _pipeline_execution(record: dict) -> str | None:
    arn = (record.get("Source") or {}).get("SourceArn")
    return arn if arn and PIPELINE_EXECUTION_ARN.match(arn) else None


def _component(record: dict, trial_execution: str | None) -> TrialComponent:
    metrics = {
        metric["MetricName"]: MetricSummary(
            last=metric.get("Last"),
            min=metric.get("Min"),
            max=metric.get("Max"),
            avg=metric.get("Avg"),
            count=metric.get("Count"),
            series=[],  # filled in by _attach_series
        )
        for metric in record.get("Metrics") or []
        if "MetricName" in metric
    }
    return TrialComponent(
        name=record["TrialComponentName"],
        display_name=record.get("DisplayName"),
        status=(record.get("Status") or {}).get("PrimaryStatus"),
        source_arn=(record.get("Source") or {}).get("SourceArn"),
        start_time=record.get("StartTime"),
        end_time=record.get("EndTime"),
        tags=tags_dict(record.get("Tags")),
        parameters={
            name: _parameter(value) for name, value in (record.get("Parameters") or {}).items()
        },
        metrics=metrics,
        input_artifacts=_artifacts(record.get("InputArtifacts")),
        output_artifacts=_artifacts(record.get("OutputArtifacts")),
        pipeline_execution_arn=_pipeline_execution(record) or trial_execution,
    )


def _parameter(value: dict) -> str | float | int:
    if "NumberValue" in value:
        return value["NumberValue"]
    return value.get("StringValue", "")


def _artifacts(artifacts: dict | None) -> dict[str, Artifact]:
    return {
        name: Artifact(uri=value.get("Value", ""), media_type=value.get("MediaType"))
        for name, value in (artifacts or {}).items()
    }
