"""Operations rules (OP1xx) on a deployed pipeline, and definition rules on its definition."""

from __future__ import annotations

from datetime import UTC, datetime

from mlops_guard.metadata.model import Execution, Unreadable
from tests.audit.conftest import PIPELINE, audit_findings, rule_ids


def _pipeline(store):
    return store.pipelines[0]


def test_no_schedule(compliant_store):
    _pipeline(compliant_store).schedules = []
    findings = audit_findings(compliant_store, select=["OP"])
    assert rule_ids(findings) == ["OP101"]
    assert findings[0].message == (
        f"no EventBridge rule or Scheduler schedule starts pipeline {PIPELINE!r}"
    )
    assert findings[0].location.pointer == "/pipelines/0"
    assert findings[0].subject == PIPELINE


def test_disabled_schedule(compliant_store):
    _pipeline(compliant_store).schedules[0].state = "DISABLED"
    findings = audit_findings(compliant_store, select=["OP"])
    assert rule_ids(findings) == ["OP101"]
    assert "every schedule of pipeline" in findings[0].message
    assert "daily-demand-forecast-daily (DISABLED)" in findings[0].message


def test_schedule_not_required_or_not_production(compliant_store):
    _pipeline(compliant_store).schedules = []
    policy = {"operations": {"require_schedule": False}}
    assert audit_findings(compliant_store, select=["OP"], policy=policy) == []
    policy = {"operations": {"production_pipelines": "prod-*"}}
    assert audit_findings(compliant_store, select=["OP"], policy=policy) == []


def test_schedule_without_run_date(compliant_store):
    _pipeline(compliant_store).schedules[0].passes_parameters = {}
    findings = audit_findings(compliant_store, select=["OP"])
    assert rule_ids(findings) == ["OP102"]
    assert findings[0].message == (
        "scheduler daily-demand-forecast-daily starts pipeline 'daily-demand-forecast' "
        "without passing ExecutionDate: every run writes to the default date's partition"
    )
    assert findings[0].location.pointer == "/pipelines/0/schedules/0"


def test_schedule_with_fixed_date(compliant_store):
    _pipeline(compliant_store).schedules[0].passes_parameters = {"ExecutionDate": "2026-11-20"}
    findings = audit_findings(compliant_store, select=["OP"])
    assert rule_ids(findings) == ["OP102"]
    assert "passes a fixed ExecutionDate ('2026-11-20')" in findings[0].message


def test_deployed_definition_without_run_date_parameter(compliant_store):
    definition = _pipeline(compliant_store).definition
    definition["Parameters"] = [p for p in definition["Parameters"] if p["Name"] != "ExecutionDate"]
    findings = audit_findings(compliant_store, select=["OP102"])
    assert [f.message for f in findings] == [
        "schedules pass ExecutionDate, but the deployed pipeline declares no such parameter"
    ]


def test_no_failure_notification(compliant_store):
    _pipeline(compliant_store).notifications = []
    findings = audit_findings(compliant_store, select=["OP"])
    assert rule_ids(findings) == ["OP103"]
    assert "no EventBridge rule notifies anyone of failed executions" in findings[0].message


def test_notification_without_target(compliant_store):
    _pipeline(compliant_store).notifications[0].targets = []
    findings = audit_findings(compliant_store, select=["OP"])
    assert [f.message for f in findings] == [
        "failure rule daily-demand-forecast-failed of pipeline 'daily-demand-forecast' "
        "has no target"
    ]


def test_notification_on_success_only(compliant_store):
    pattern = _pipeline(compliant_store).notifications[0].event_pattern
    pattern["detail"]["currentPipelineExecutionStatus"] = ["Succeeded"]
    assert rule_ids(audit_findings(compliant_store, select=["OP"])) == ["OP103"]
    del pattern["detail"]  # every status change, failures included
    assert audit_findings(compliant_store, select=["OP"]) == []


def test_recent_failed_execution(compliant_store):
    executions = _pipeline(compliant_store).executions
    executions.append(
        Execution(
            arn=f"{_pipeline(compliant_store).arn}/execution/k2l9x0v7a1b3",
            status="Failed",
            start_time=datetime(2026, 11, 23, 5, tzinfo=UTC),
            failure_reason="Step TrainEvaluation failed: ClientError: AccessDenied on s3://b/k",
        )
    )
    findings = audit_findings(compliant_store, select=["OP"])
    assert rule_ids(findings) == ["OP104"]
    assert findings[0].severity == "warning"
    assert findings[0].message == (
        "execution k2l9x0v7a1b3 started 2026-11-23T05:00:00+00:00 failed: Step TrainEvaluation "
        "failed: ClientError: AccessDenied on s3://b/k"
    )
    assert findings[0].location.pointer == "/pipelines/0/executions/3"
    # an older failure outside the recent window is history, not a finding
    policy = {"operations": {"recent_executions": 3}}
    executions[-1].start_time = datetime(2026, 11, 1, tzinfo=UTC)
    assert audit_findings(compliant_store, select=["OP"], policy=policy) == []


def test_unread_triggers_are_not_evaluated(compliant_store):
    _pipeline(compliant_store).schedules = []
    _pipeline(compliant_store).notifications = []
    what = "events:ListRules (schedules and notifications)"
    compliant_store.unreadable.append(Unreadable(what=what, reason="AccessDeniedException"))
    findings = audit_findings(compliant_store, select=["OP", "MG"])
    assert rule_ids(findings) == ["MG005"] * 4
    assert [finding.message for finding in findings[1:]] == [
        f"rule {rule} not evaluated: could not read {what} (AccessDeniedException)"
        for rule in ("OP101", "OP102", "OP103")
    ]
    assert "the operations rules were not evaluated" in findings[0].message


def test_definition_rules_run_on_the_deployed_definition(compliant_store):
    definition = _pipeline(compliant_store).definition
    definition["Steps"][0]["Name"] = "extract_data"
    findings = audit_findings(compliant_store)
    assert findings, "renaming a step breaks references and naming"
    assert {f.location.file for f in findings} == {f"sagemaker:pipeline/{PIPELINE}"}
    assert "NM003" in rule_ids(findings) or "NM004" in rule_ids(findings)
    assert {f.target for f in findings} == {PIPELINE}
