"""Putting what the reference runs recorded into a moto account, through boto3.

SageMaker itself would record these when the pipeline runs; here the same records are
written with the public APIs the way a job's SDK does: experiments and trials created,
each run created with its parameters and artifacts and associated with its trial,
metrics put with ``sagemaker-metrics`` BatchPutMetrics, tags added with AddTags (moto
drops tags given at create time). The deployed pipeline gets the reference definition,
an EventBridge Scheduler schedule and an EventBridge failure rule with an SNS target.
"""

from __future__ import annotations

import json

from tests.audit.conftest import DATES, PIPELINE, STATUS_CHANGE, reference_definition

ROLE = "arn:aws:iam::123456789012:role/pipeline"


def _parameter(value) -> dict:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return {"StringValue": str(value)}
    return {"NumberValue": float(value)}


def _artifacts(artifacts: dict) -> dict:
    return {
        name: {"Value": artifact.uri, **({"MediaType": a} if (a := artifact.media_type) else {})}
        for name, artifact in artifacts.items()
    }


def put_experiments(moto_server, store, *, drop: dict | None = None) -> None:
    """Record ``store``'s experiments; ``drop`` maps a step name to parameters to leave out."""
    sagemaker = moto_server.client("sagemaker")
    metrics = moto_server.client("sagemaker-metrics")
    drop = drop or {}
    for experiment in store.experiments:
        arn = sagemaker.create_experiment(
            ExperimentName=experiment.name, Description=experiment.description or ""
        )["ExperimentArn"]
        if experiment.tags:
            sagemaker.add_tags(
                ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in experiment.tags.items()]
            )
        for trial in experiment.trials:
            sagemaker.create_trial(TrialName=trial.name, ExperimentName=experiment.name)
            for run in trial.components:
                left_out = drop.get(run.display_name, ())
                sagemaker.create_trial_component(
                    TrialComponentName=run.name,
                    DisplayName=run.display_name,
                    Status={"PrimaryStatus": run.status or "Completed"},
                    StartTime=run.start_time,
                    EndTime=run.end_time,
                    Parameters={
                        k: _parameter(v) for k, v in run.parameters.items() if k not in left_out
                    },
                    InputArtifacts=_artifacts(run.input_artifacts),
                    OutputArtifacts=_artifacts(run.output_artifacts),
                )
                sagemaker.associate_trial_component(
                    TrialComponentName=run.name, TrialName=trial.name
                )
                data = [
                    {
                        "MetricName": name,
                        "Timestamp": run.end_time,
                        "Step": 0,
                        "Value": summary.last,
                    }
                    for name, summary in run.metrics.items()
                ]
                if data:
                    metrics.batch_put_metrics(TrialComponentName=run.name, MetricData=data)


def deploy_pipeline(moto_server, *, schedule: bool = True, notification: bool = True) -> str:
    """The reference pipeline, deployed with its trigger and alarm; three executions."""
    sagemaker = moto_server.client("sagemaker")
    arn = sagemaker.create_pipeline(
        PipelineName=PIPELINE,
        PipelineDefinition=json.dumps(reference_definition()),
        RoleArn=ROLE,
    )["PipelineArn"]
    for day in DATES:
        sagemaker.start_pipeline_execution(
            PipelineName=PIPELINE,
            PipelineParameters=[{"Name": "ExecutionDate", "Value": day}],
        )
    if schedule:
        moto_server.client("scheduler").create_schedule(
            Name=f"{PIPELINE}-daily",
            ScheduleExpression="cron(0 5 * * ? *)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": arn,
                "RoleArn": ROLE,
                "SageMakerPipelineParameters": {
                    "PipelineParameterList": [
                        {"Name": "ExecutionDate", "Value": "<aws.scheduler.scheduled-time>"}
                    ]
                },
            },
        )
    if notification:
        topic = moto_server.client("sns").create_topic(Name="pipeline-alerts")["TopicArn"]
        events = moto_server.client("events")
        pattern = {
            "source": ["aws.sagemaker"],
            "detail-type": [STATUS_CHANGE],
            "detail": {"currentPipelineExecutionStatus": ["Failed"], "pipelineArn": [arn]},
        }
        events.put_rule(
            Name=f"{PIPELINE}-failed", EventPattern=json.dumps(pattern), State="ENABLED"
        )
        events.put_targets(Rule=f"{PIPELINE}-failed", Targets=[{"Id": "sns", "Arn": topic}])
    return arn


def compliant_account(moto_server, store, reference_exports):
    """The moto server holding a compliant account: the store's experiments, the deployed
    reference pipeline and what its executions wrote to S3."""
    from tests.audit.aws_produced import upload_outputs

    put_experiments(moto_server, store)
    deploy_pipeline(moto_server)
    upload_outputs(moto_server, reference_exports.parent)
    return moto_server


def audit_sagemaker(capsys, *args: str, boto_session=None) -> tuple[int, dict, str]:
    """``audit sagemaker --format json ARGS`` in this process: exit code, report, stderr."""
    from mlops_guard.audit import cli

    code = cli.main(["sagemaker", "--format", "json", *args], boto_session=boto_session)
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err
