"""Fixtures of the metadata tests: a moto account populated through boto3."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

ROLE = "arn:aws:iam::123456789012:role/pipeline"
STATUS_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"
START = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def _tag(client, arn: str, tags: dict[str, str]) -> None:
    # moto drops tags given at create time; AddTags keeps them.
    client.add_tags(ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


@pytest.fixture
def sagemaker_account(moto_server):
    """Two experiments (one outside the ``churn-`` prefix), trials, runs, pipelines, triggers."""
    sagemaker = moto_server.client("sagemaker")
    metrics = moto_server.client("sagemaker-metrics")

    for name, tags in (("churn-model", {"team": "growth"}), ("fraud-model", {"team": "risk"})):
        arn = sagemaker.create_experiment(ExperimentName=name)["ExperimentArn"]
        _tag(sagemaker, arn, tags)
    for trial, experiment in (
        ("churn-exec-1", "churn-model"),
        ("churn-exec-2", "churn-model"),
        ("fraud-exec-1", "fraud-model"),
    ):
        arn = sagemaker.create_trial(TrialName=trial, ExperimentName=experiment)["TrialArn"]
        _tag(sagemaker, arn, {"trial": trial})

    components = {
        "churn-exec-1-train": "churn-exec-1",
        "churn-exec-1-eval": "churn-exec-1",
        "churn-exec-2-train": "churn-exec-2",
        "fraud-exec-1-train": "fraud-exec-1",
    }
    for index, (name, trial) in enumerate(components.items()):
        arn = sagemaker.create_trial_component(
            TrialComponentName=name,
            DisplayName=name.replace("-", " "),
            Status={"PrimaryStatus": "Completed", "Message": "done"},
            StartTime=START + timedelta(hours=index),
            EndTime=START + timedelta(hours=index, minutes=30),
            Parameters={
                "learning_rate": {"NumberValue": 0.1 * (index + 1)},
                "algorithm": {"StringValue": "xgboost"},
            },
            InputArtifacts={"train": {"MediaType": "text/csv", "Value": f"s3://data/{name}.csv"}},
            OutputArtifacts={"model": {"Value": f"s3://models/{name}/model.tar.gz"}},
        )["TrialComponentArn"]
        _tag(sagemaker, arn, {"owner": "ml-team"})
        sagemaker.associate_trial_component(TrialComponentName=name, TrialName=trial)
        if name.endswith("-eval") or name == "fraud-exec-1-train":
            metrics.batch_put_metrics(
                TrialComponentName=name,
                MetricData=[
                    {
                        "MetricName": "mape",
                        "Timestamp": START + timedelta(minutes=step),
                        "Step": step,
                        "Value": 0.5 / (step + 1),
                    }
                    for step in range(4)
                ],
            )

    definition = {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "InputData", "Type": "String", "DefaultValue": "s3://data/in"}],
        "Steps": [],
    }
    pipeline_arn = sagemaker.create_pipeline(
        PipelineName="churn-pipeline",
        PipelineDefinition=json.dumps(definition),
        RoleArn=ROLE,
    )["PipelineArn"]
    _tag(sagemaker, pipeline_arn, {"team": "growth"})
    execution_arn = sagemaker.start_pipeline_execution(
        PipelineName="churn-pipeline",
        PipelineParameters=[{"Name": "InputData", "Value": "s3://data/2024-05"}],
    )["PipelineExecutionArn"]

    topic = moto_server.client("sns").create_topic(Name="pipeline-alerts")["TopicArn"]
    events = moto_server.client("events")
    events.put_rule(Name="churn-nightly", ScheduleExpression="cron(0 2 * * ? *)", State="ENABLED")
    events.put_targets(
        Rule="churn-nightly",
        Targets=[
            {
                "Id": "pipeline",
                "Arn": pipeline_arn,
                "RoleArn": ROLE,
                "SageMakerPipelineParameters": {
                    "PipelineParameterList": [{"Name": "InputData", "Value": "s3://data/nightly"}]
                },
            }
        ],
    )
    pattern = {
        "source": ["aws.sagemaker"],
        "detail-type": [STATUS_CHANGE],
        "detail": {"currentPipelineExecutionStatus": ["Failed"], "pipelineArn": [pipeline_arn]},
    }
    events.put_rule(Name="churn-failed", EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule="churn-failed", Targets=[{"Id": "sns", "Arn": topic}])
    events.put_rule(Name="unrelated", EventPattern=json.dumps({"source": ["aws.s3"]}))

    moto_server.client("scheduler").create_schedule(
        Name="churn-weekly",
        ScheduleExpression="rate(7 days)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": pipeline_arn,
            "RoleArn": ROLE,
            "SageMakerPipelineParameters": {
                "PipelineParameterList": [{"Name": "InputData", "Value": "s3://data/weekly"}]
            },
        },
    )
    return {
        "pipeline_arn": pipeline_arn,
        "execution_arn": execution_arn,
        "topic_arn": topic,
        "components": components,
    }
