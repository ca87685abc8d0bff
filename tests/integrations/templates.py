"""Realistic infrastructure code around a pipeline definition, the way teams write it.

The YAML template embeds the definition under ``!Sub |`` with the account, region,
bucket and role substituted; the JSON template is shaped like CDK's
``cdk.out/*.template.json`` (``Fn::Join`` of string pieces and ``Ref``s); the Terraform
file uses a heredoc with ``var.`` interpolations; the plan is ``terraform show -json``.
"""

from __future__ import annotations

import json
import textwrap

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlops-guard-reference-execution"
BUCKET = f"mlops-guard-reference-{ACCOUNT}"

PIPELINE_ARN = (
    "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:pipeline/${ForecastPipeline}"
)
SCHEDULE = """\
  DailyRun:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: cron(0 5 * * ? *)
      FlexibleTimeWindow: {Mode: "OFF"}
      Target:
        Arn: !Sub "PIPELINE_ARN"
        RoleArn: !GetAtt SchedulerRole.Arn
        SageMakerPipelineParameters:
          PipelineParameterList:
            - Name: ExecutionDate
              Value: "<aws.scheduler.scheduled-time>"
"""

SCHEDULE = SCHEDULE.replace("PIPELINE_ARN", PIPELINE_ARN)

NOTIFICATION = """\
  PipelineFailed:
    Type: AWS::Events::Rule
    Properties:
      EventPattern:
        source: [aws.sagemaker]
        detail-type: [SageMaker Model Building Pipeline Execution Status Change]
        detail:
          currentPipelineExecutionStatus: [Failed]
          pipelineArn: [!GetAtt ForecastPipeline.PipelineArn]
      Targets:
        - Id: alerts
          Arn: !Ref AlertTopic
"""


def substituted_body(definition: dict) -> str:
    body = json.dumps(definition, indent=2)
    body = body.replace(ROLE, "${PipelineRoleArn}").replace(BUCKET, "${ArtifactBucket}")
    return body.replace(ACCOUNT, "${AWS::AccountId}").replace(REGION, "${AWS::Region}")


def cfn_yaml(
    definition: dict,
    *,
    schedule: str | None = SCHEDULE,
    notification: str | None = NOTIFICATION,
    resource_comment: str = "",
    role_default: bool = True,
) -> str:
    role = f"    Default: {ROLE}\n" if role_default else ""
    body = textwrap.indent(substituted_body(definition), " " * 10)
    comment = f"  {resource_comment}\n" if resource_comment else ""
    return (
        "AWSTemplateFormatVersion: 2010-09-09\n"
        "Description: Daily demand forecast pipeline\n"
        "Parameters:\n"
        "  ArtifactBucket:\n"
        "    Type: String\n"
        f"    Default: {BUCKET}\n"
        "  PipelineRoleArn:\n"
        "    Type: String\n"
        f"{role}"
        "Resources:\n"
        "  AlertTopic:\n"
        "    Type: AWS::SNS::Topic\n"
        f"{comment}"
        "  ForecastPipeline:\n"
        "    Type: AWS::SageMaker::Pipeline\n"
        "    Properties:\n"
        '      PipelineName: !Sub "daily-demand-forecast"\n'
        "      RoleArn: !Ref PipelineRoleArn\n"
        "      Tags:\n"
        "        - Key: team\n"
        "          Value: forecasting\n"
        "      PipelineDefinition:\n"
        "        PipelineDefinitionBody: !Sub |\n"
        f"{body}\n" + (schedule or "") + (notification or "")
    )


def cdk_json(definition: dict, *, with_operations: bool = True) -> str:
    """A CDK synthesised template: the body is ``Fn::Join`` of literal pieces and Refs."""
    compact = json.dumps(definition, separators=(",", ":"))
    pieces: list = []
    for index, chunk in enumerate(compact.split(ACCOUNT)):
        if index:
            pieces.append({"Ref": "AWS::AccountId"})
        for sub_index, part in enumerate(chunk.split(REGION)):
            if sub_index:
                pieces.append({"Ref": "AWS::Region"})
            pieces.append(part)
    pipeline_arn = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":sagemaker:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":pipeline/daily-demand-forecast",
            ],
        ]
    }
    resources = {
        "ForecastPipelineE3B2C0A1": {
            "Type": "AWS::SageMaker::Pipeline",
            "Properties": {
                "PipelineName": "daily-demand-forecast",
                "RoleArn": {"Fn::GetAtt": ["PipelineRole1A2B3C4D", "Arn"]},
                "PipelineDefinition": {"PipelineDefinitionBody": {"Fn::Join": ["", pieces]}},
            },
            "Metadata": {"aws:cdk:path": "ForecastStack/ForecastPipeline/Resource"},
        }
    }
    if with_operations:
        resources["DailyRule5F6E7D8C"] = {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": "cron(0 5 * * ? *)",
                "State": "ENABLED",
                "Targets": [
                    {
                        "Arn": pipeline_arn,
                        "Id": "Target0",
                        "RoleArn": {"Fn::GetAtt": ["EventsRole", "Arn"]},
                        "SageMakerPipelineParameters": {
                            "PipelineParameterList": [
                                {"Name": "ExecutionDate", "Value": "2024-01-01"}
                            ]
                        },
                    }
                ],
            },
        }
        resources["FailedRule1A2B3C4D"] = {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventPattern": {
                    "source": ["aws.sagemaker"],
                    "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
                    "detail": {"currentPipelineExecutionStatus": ["Failed"]},
                },
                "Targets": [{"Arn": {"Ref": "AlertsTopic"}, "Id": "Target0"}],
            },
        }
    template = {"Resources": resources, "Parameters": {"BootstrapVersion": {"Type": "String"}}}
    return json.dumps(template, indent=1)


TF_SCHEDULE = """\
resource "aws_scheduler_schedule" "daily" {
  name                = "daily-demand-forecast"
  schedule_expression = "cron(0 5 * * ? *)"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sagemaker_pipeline.forecast.arn
    role_arn = aws_iam_role.scheduler.arn

    sagemaker_pipeline_parameters {
      pipeline_parameter {
        name  = "ExecutionDate"
        value = "<aws.scheduler.scheduled-time>"
      }
    }
  }
}
"""

TF_NOTIFICATION = """\
resource "aws_cloudwatch_event_rule" "pipeline_failed" {
  name = "daily-demand-forecast-failed"
  event_pattern = jsonencode({
    source        = ["aws.sagemaker"]
    "detail-type" = ["SageMaker Model Building Pipeline Execution Status Change"]
    detail = {
      currentPipelineExecutionStatus = ["Failed"]
      pipelineArn                    = [aws_sagemaker_pipeline.forecast.arn]
    }
  })
}

resource "aws_cloudwatch_event_target" "alerts" {
  rule = aws_cloudwatch_event_rule.pipeline_failed.name
  arn  = aws_sns_topic.alerts.arn
}
"""


def terraform(
    definition: dict,
    *,
    schedule: str | None = TF_SCHEDULE,
    notification: str | None = TF_NOTIFICATION,
) -> str:
    body = json.dumps(definition, indent=2)
    body = body.replace(BUCKET, "${var.artifact_bucket}").replace(ROLE, "${var.role_arn}")
    return (
        'variable "artifact_bucket" {\n'
        "  type    = string\n"
        f'  default = "{BUCKET}"\n'
        "}\n\n"
        'variable "role_arn" {\n'
        "  type = string\n"
        "}\n\n"
        'resource "aws_sagemaker_pipeline" "forecast" {\n'
        '  pipeline_name         = "daily-demand-forecast"\n'
        '  pipeline_display_name = "daily-demand-forecast"\n'
        "  role_arn              = var.role_arn\n\n"
        "  pipeline_definition = <<-EOT\n"
        f"{textwrap.indent(body, '    ')}\n"
        "  EOT\n\n"
        "  tags = {\n"
        '    team = "forecasting"\n'
        "  }\n"
        "}\n" + "".join("\n" + block for block in (schedule, notification) if block)
    )


def terraform_plan(definition: dict, *, with_operations: bool = True) -> str:
    resource = {
        "address": "module.forecast.aws_sagemaker_pipeline.this",
        "mode": "managed",
        "type": "aws_sagemaker_pipeline",
        "name": "this",
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "values": {
            "pipeline_name": "daily-demand-forecast",
            "pipeline_definition": json.dumps(definition),
            "pipeline_definition_s3_location": [],
            "role_arn": ROLE,
            "tags": {"team": "forecasting"},
        },
    }
    plan = {
        "format_version": "1.2",
        "terraform_version": "1.9.5",
        "planned_values": {
            "root_module": {
                "child_modules": [
                    {"address": "module.forecast", "resources": [resource]},
                ]
            }
        },
        "resource_changes": [],
    }
    if with_operations:
        _plan_operations(plan)
    return json.dumps(plan, indent=2)


def _plan_operations(plan: dict) -> None:
    """A new pipeline's ARN is unknown in the plan (``null`` in ``values``); the
    ``configuration`` section keeps the references, the way ``terraform show -json``
    writes them."""
    module = plan["planned_values"]["root_module"]["child_modules"][0]
    prefix = "module.forecast."
    pattern = {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
        "detail": {"currentPipelineExecutionStatus": ["Failed"]},
    }
    parameter = {"name": "ExecutionDate", "value": "<aws.scheduler.scheduled-time>"}
    resources = [
        (
            "aws_cloudwatch_event_rule",
            "daily",
            {
                "name": "forecast-daily",
                "state": "ENABLED",
                "schedule_expression": "cron(0 5 * * ? *)",
                "event_pattern": None,
            },
        ),
        (
            "aws_cloudwatch_event_target",
            "daily",
            {
                "rule": "forecast-daily",
                "arn": None,
                "sagemaker_pipeline_target": [{"pipeline_parameter_list": [parameter]}],
            },
        ),
        (
            "aws_cloudwatch_event_rule",
            "failed",
            {
                "name": "forecast-failed",
                "schedule_expression": None,
                "event_pattern": json.dumps(pattern),
            },
        ),
        (
            "aws_cloudwatch_event_target",
            "alerts",
            {"rule": "forecast-failed", "arn": "arn:aws:sns:us-east-1:123456789012:alerts"},
        ),
    ]
    for kind, name, values in resources:
        module["resources"].append(
            {
                "address": f"{prefix}{kind}.{name}",
                "mode": "managed",
                "type": kind,
                "name": name,
                "values": values,
            }
        )
    reference = ["aws_sagemaker_pipeline.this.arn", "aws_sagemaker_pipeline.this"]
    plan["configuration"] = {
        "root_module": {
            "module_calls": {
                "forecast": {
                    "source": "./modules/forecast",
                    "module": {
                        "resources": [
                            {
                                "address": "aws_cloudwatch_event_target.daily",
                                "type": "aws_cloudwatch_event_target",
                                "name": "daily",
                                "expressions": {"arn": {"references": reference}},
                            },
                        ]
                    },
                }
            }
        }
    }
