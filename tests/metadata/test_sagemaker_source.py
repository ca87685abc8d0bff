"""The sagemaker source against a real moto server, with traffic shaped at botocore events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlops_guard.metadata import MetadataInputError
from mlops_guard.metadata.sources import export
from mlops_guard.metadata.sources.sagemaker import READ_OPERATIONS, fetch_store, iam_actions
from tests.metadata.botocore_traffic import (
    Traffic,
    error_response,
    json_response,
    operation_of,
    request_json,
)

pytestmark = pytest.mark.slow
COMPONENT_ARN = "arn:aws:sagemaker:us-east-1:123456789012:experiment-trial-component"


def _components(store):
    return {
        component.name: component
        for experiment in store.experiments
        for trial in experiment.trials
        for component in trial.components
    }


def test_reads_experiments_trials_and_components(sagemaker_account):
    store = export("sagemaker", pipelines=False)

    assert [e.name for e in store.experiments] == ["churn-model", "fraud-model"]
    churn = store.experiments[0]
    assert churn.tags == {"team": "growth"}
    assert [t.name for t in churn.trials] == ["churn-exec-1", "churn-exec-2"]
    assert churn.trials[0].tags == {"trial": "churn-exec-1"}
    assert [c.name for c in churn.trials[0].components] == [
        "churn-exec-1-eval",
        "churn-exec-1-train",
    ]
    evaluation = churn.trials[0].components[0]
    assert evaluation.display_name == "churn exec 1 eval"
    assert evaluation.status == "Completed"
    assert evaluation.parameters == {"learning_rate": pytest.approx(0.2), "algorithm": "xgboost"}
    assert evaluation.input_artifacts["train"].uri == "s3://data/churn-exec-1-eval.csv"
    assert evaluation.input_artifacts["train"].media_type == "text/csv"
    assert evaluation.output_artifacts["model"].uri == "s3://models/churn-exec-1-eval/model.tar.gz"
    assert evaluation.tags == {"owner": "ml-team"}
    assert evaluation.start_time == datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    mape = evaluation.metrics["mape"]
    assert (mape.count, mape.max, mape.min) == (4, 0.5, 0.125)
    assert mape.last == 0.125
    assert mape.avg == pytest.approx((0.5 + 0.25 + 0.5 / 3 + 0.125) / 4)
    assert churn.trials[0].components[1].metrics == {}
    # moto has no BatchGetMetrics: said so, not hidden.
    assert [u.what for u in store.unreadable] == [
        "sagemaker-metrics:BatchGetMetrics (metric time series)"
    ]


def test_reads_pipelines_with_triggers_and_executions(sagemaker_account):
    store = fetch_store(experiments=False)

    assert store.experiments == []
    [pipeline] = store.pipelines
    assert pipeline.name == "churn-pipeline"
    assert pipeline.arn == sagemaker_account["pipeline_arn"]
    assert pipeline.definition["Parameters"][0]["Name"] == "InputData"
    assert pipeline.tags == {"team": "growth"}
    assert [(s.kind, s.name, s.expression, s.passes_parameters) for s in pipeline.schedules] == [
        (
            "eventbridge-rule",
            "churn-nightly",
            "cron(0 2 * * ? *)",
            {"InputData": "s3://data/nightly"},
        ),
        ("scheduler", "churn-weekly", "rate(7 days)", {"InputData": "s3://data/weekly"}),
    ]
    [notification] = pipeline.notifications
    assert notification.rule_name == "churn-failed"
    assert notification.targets == [sagemaker_account["topic_arn"]]
    assert notification.state == "ENABLED"  # OP103 counts a DISABLED rule as no notification
    assert notification.event_pattern["detail"]["currentPipelineExecutionStatus"] == ["Failed"]
    [execution] = pipeline.executions
    assert execution.arn == sagemaker_account["execution_arn"]
    assert execution.parameters == {"InputData": "s3://data/2024-05"}
    assert execution.status == "Succeeded"
    assert store.unreadable == []


def test_calls_only_read_operations(sagemaker_account):
    traffic = Traffic()
    fetch_store(boto_session=traffic.session)

    called = {(service, operation) for service, operation in traffic.calls}
    allowed = {(s, op) for s, ops in READ_OPERATIONS.items() for op in ops}
    assert called <= allowed, called - allowed
    # This account has no model packages or output buckets: what reads them is proven
    # needed in tests/audit/test_produced_rules.py.
    allowed -= {
        ("sagemaker", "ListModelPackages"),
        ("sagemaker", "DescribeModelPackage"),
        *(
            (service, operation)
            for service in ("s3", "glue")
            for operation in READ_OPERATIONS[service]
        ),
    }
    # The list is not padded: nearly everything in it was needed for this account.
    assert len(allowed - called) <= 1, allowed - called
    assert "sagemaker:Search" in iam_actions()
    assert "sagemaker:BatchGetMetrics" in iam_actions()


def test_filters_by_experiment_prefix_and_since(sagemaker_account):
    store = fetch_store(pipelines=False, experiment_prefix="churn-")
    assert [e.name for e in store.experiments] == ["churn-model"]

    later = datetime.now(UTC) + timedelta(hours=1)
    store = fetch_store(pipelines=False, since=later, server_side_since=False)
    assert store.experiments == []

    earlier = datetime.now(UTC) - timedelta(hours=1)
    store = fetch_store(
        pipelines=False, since=earlier.replace(tzinfo=None), server_side_since=False
    )
    assert len(_components(store)) == 4


def test_since_is_sent_to_search(moto_server):
    traffic = Traffic()
    seen = []

    def search(request):
        body = request_json(request)
        seen.append(body)
        return json_response(request, {"Results": []})

    traffic.on_send("sagemaker.Search", search)
    since = datetime(2024, 5, 1, tzinfo=UTC)
    fetch_store(boto_session=traffic.session, pipelines=False, since=since)
    [component_search] = [b for b in seen if b["Resource"] == "ExperimentTrialComponent"]
    assert component_search["SearchExpression"]["Filters"] == [
        {"Name": "LastModifiedTime", "Operator": "GreaterThanOrEqualTo", "Value": since.isoformat()}
    ]


def _search_pages(records: dict[str, list[dict]], page_size_seen: list[int]):
    """A Search endpoint that pages like AWS: MaxResults per page, opaque NextToken."""

    def search(request):
        body = request_json(request)
        page_size_seen.append(body.get("MaxResults", 10))
        items = records[body["Resource"]]
        start = int(body.get("NextToken", "0"))
        end = start + body.get("MaxResults", 10)
        response = {"Results": items[start:end]}
        if end < len(items):
            response["NextToken"] = str(end)
        return json_response(request, response)

    return search


def test_search_pagination_costs_one_call_per_hundred_records(moto_server):
    count = 1234
    components = [
        {
            "TrialComponent": {
                "TrialComponentName": f"run-{index:05d}",
                "TrialComponentArn": f"{COMPONENT_ARN}/r{index}",
                "Parents": [{"TrialName": f"trial-{index % 3}", "ExperimentName": "exp"}],
                "Parameters": {"seed": {"NumberValue": index}},
                "Metrics": [
                    {
                        "MetricName": "auc",
                        "Last": 0.9,
                        "Min": 0.5,
                        "Max": 0.9,
                        "Avg": 0.7,
                        "Count": 5,
                    }
                ],
                "LastModifiedTime": 1714550400 + index,
            }
        }
        for index in range(count)
    ]
    records = {
        "Experiment": [{"Experiment": {"ExperimentName": "exp"}}],
        "ExperimentTrial": [
            {"Trial": {"TrialName": f"trial-{i}", "ExperimentName": "exp"}} for i in range(3)
        ],
        "ExperimentTrialComponent": components,
    }
    page_sizes: list[int] = []
    traffic = Traffic()
    traffic.on_send("sagemaker.Search", _search_pages(records, page_sizes))
    traffic.on_send(
        "sagemaker-metrics.BatchGetMetrics",
        lambda request: error_response(request, "AccessDeniedException", "no metrics for you"),
    )

    store = fetch_store(boto_session=traffic.session, pipelines=False)

    assert len(_components(store)) == count
    assert set(page_sizes) == {100}
    assert traffic.calls[("sagemaker", "Search")] <= count / 100 + 4
    # Search gave parents and metric summaries: nothing to fill in one record at a time.
    assert traffic.calls[("sagemaker", "DescribeTrialComponent")] == 0
    assert traffic.calls[("sagemaker", "ListTrialComponents")] == 0
    assert store.experiments[0].trials[1].components[0].parameters == {"seed": 1}
    assert store.unreadable[0].reason.startswith("AccessDeniedException")


def test_metric_series_come_from_batch_get_metrics(sagemaker_account):
    traffic = Traffic()

    def batch_get_metrics(request):
        queries = request_json(request)["MetricQueries"]
        results = [
            {
                "Status": "Complete",
                "XAxisValues": [0, 1, 2, 3],
                "MetricValues": [0.5, 0.25, 0.2, 0.125],
            }
            for _ in queries
        ]
        return json_response(request, {"MetricQueryResults": results})

    traffic.on_send("sagemaker-metrics.BatchGetMetrics", batch_get_metrics)
    store = fetch_store(boto_session=traffic.session, pipelines=False)

    series = _components(store)["churn-exec-1-eval"].metrics["mape"].series
    assert [(p.step, p.value) for p in series] == [(0, 0.5), (1, 0.25), (2, 0.2), (3, 0.125)]
    assert store.unreadable == []


def test_throttling_storm_is_retried_to_the_same_store(sagemaker_account):
    calm = fetch_store()
    traffic = Traffic()
    sent: list[str] = []

    def storm(request):
        sent.append(operation_of(request))
        if len(sent) <= 3:  # a burst of throttling on the first requests, then calm
            return error_response(request, "ThrottlingException", "Rate exceeded")
        return None

    traffic.on_send("sagemaker", storm)
    stormy = fetch_store(boto_session=traffic.session)

    assert sent[:4] == ["Search"] * 4  # the first Search was retried until it got through
    assert stormy == calm


def test_access_denied_is_recorded_not_raised(sagemaker_account):
    traffic = Traffic()
    denied = lambda request: error_response(request, "AccessDeniedException", "not allowed")  # noqa: E731
    traffic.on_send("sagemaker.DescribePipeline", denied)
    traffic.on_send("eventbridge.ListRules", denied)
    traffic.on_send("scheduler.ListSchedules", denied)

    store = fetch_store(boto_session=traffic.session, series=False)

    [pipeline] = store.pipelines
    assert pipeline.definition is None
    assert pipeline.schedules == []
    assert pipeline.notifications == []
    assert pipeline.executions  # what was readable is still there
    assert len(_components(store)) == 4
    assert {u.what for u in store.unreadable} == {
        "sagemaker:DescribePipeline churn-pipeline (definition)",
        "events:ListRules (schedules and notifications)",
        "scheduler:ListSchedules (schedules)",
    }
    assert all(u.reason.startswith("AccessDenied") for u in store.unreadable)


def test_denied_search_leaves_experiments_unread(sagemaker_account):
    traffic = Traffic()
    traffic.on_send(
        "sagemaker.Search",
        lambda request: error_response(request, "AccessDeniedException", "nope"),
    )
    store = fetch_store(boto_session=traffic.session, pipelines=False)
    assert store.experiments == []
    assert len(store.unreadable) == 3


def test_other_errors_are_input_errors_not_tracebacks(moto_server):
    with pytest.raises(MetadataInputError, match="profile"):
        fetch_store(profile="no-such-profile-mlops-guard")
    traffic = Traffic()
    traffic.on_send(
        "sagemaker.Search",
        lambda request: error_response(request, "ValidationException", "bad search"),
    )
    with pytest.raises(MetadataInputError, match="bad search"):
        fetch_store(boto_session=traffic.session, pipelines=False)
