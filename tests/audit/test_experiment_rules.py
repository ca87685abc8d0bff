"""Naming (NM1xx) and recorded-fields (RF1xx) rules on recorded metadata.

Each test changes one thing in what three real reference runs recorded and checks that
exactly the rule about it fires, at the right place, with a message that says what.
"""

from __future__ import annotations

import pytest

from mlops_guard.metadata.model import Unreadable
from tests.audit.conftest import audit_findings, component, latest_trial, rule_ids


def test_reference_runs_are_compliant(compliant_store):
    assert audit_findings(compliant_store) == []


def test_reference_trials_are_executions(compliant_store):
    experiment = compliant_store.experiments[0]
    assert len(experiment.trials) == 3
    for trial in experiment.trials:
        assert trial.pipeline_execution_arn.endswith(f"/execution/{trial.name}")
        assert [c.display_name for c in trial.components] == [
            "Extract",
            "PreProc",
            "Train",
            "TrainEvaluation",
            "Predict",
            "PostProc",
        ]


# -- NM101-NM103: SageMaker's limits -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("daily_demand_forecast", "does not match"),
        ("d" * 121, "121 characters, more than 120"),
    ],
)
def test_experiment_name_limits(compliant_store, name, expected):
    compliant_store.experiments[0].name = name
    findings = audit_findings(compliant_store, select=["NM101"])
    assert rule_ids(findings) == ["NM101"]
    assert expected in findings[0].message
    assert findings[0].location.pointer == "/experiments/0"


def test_trial_name_limits(compliant_store):
    trial = compliant_store.experiments[0].trials[1]
    trial.name = "execution_" + trial.name
    findings = audit_findings(compliant_store, select=["NM102"])
    assert rule_ids(findings) == ["NM102"]
    assert findings[0].location.pointer == "/experiments/0/trials/1"
    assert findings[0].subject == f"daily-demand-forecast/{trial.name}"


def test_run_name_limits(compliant_store):
    run = compliant_store.experiments[0].trials[0].components[2]
    run.name = "train.job"
    findings = audit_findings(compliant_store, select=["NM103"])
    assert rule_ids(findings) == ["NM103"]
    assert findings[0].location.pointer == "/experiments/0/trials/0/components/2"


# -- NM104-NM106: pipeline experiments ------------------------------------------------------


def test_experiment_not_named_after_its_pipeline(compliant_store):
    compliant_store.experiments[0].name = "demand-forecast"
    findings = audit_findings(compliant_store, select=["NM"])
    assert rule_ids(findings) == ["NM104"]
    assert "records executions of pipeline 'daily-demand-forecast'" in findings[0].message


def test_experiment_without_executions_is_checked_against_deployed_names(compliant_store):
    experiment = compliant_store.experiments[0]
    experiment.name = "demand-forecast"
    for trial in experiment.trials:
        trial.pipeline_execution_arn = None
        for run in trial.components:
            run.pipeline_execution_arn = None
    findings = audit_findings(compliant_store, select=["NM104"])
    assert rule_ids(findings) == ["NM104"]
    assert "no deployed pipeline has its name" in findings[0].message


def test_debug_experiments_are_not_pipeline_experiments(compliant_store):
    experiment = compliant_store.experiments[0]
    experiment.name = "debug-forecast-tuning"
    experiment.trials[0].name = "try-a-deeper-tree"
    assert audit_findings(compliant_store, select=["NM"]) == []


def test_trial_named_by_another_execution(compliant_store):
    trial = compliant_store.experiments[0].trials[0]
    real = trial.name
    trial.name = "execution-000000000000"
    findings = audit_findings(compliant_store, select=["NM"])
    assert rule_ids(findings) == ["NM105"]
    assert findings[0].message == (
        f"trial 'execution-000000000000' records execution {real!r}: name it by that id"
    )


def test_trial_not_named_by_an_execution_id(compliant_store):
    compliant_store.experiments[0].trials[0].name = "adhoc-rerun"
    findings = audit_findings(compliant_store, select=["NM"])
    assert rule_ids(findings) == ["NM105"]
    assert "is not named by an execution id" in findings[0].message
    assert "metrics-" in findings[0].message


def test_metric_trials_are_allowed_extras(compliant_store):
    trial = compliant_store.experiments[0].trials[0].model_copy(deep=True)
    trial.name = "metrics-backfill-november"
    compliant_store.experiments[0].trials.append(trial)
    assert audit_findings(compliant_store, select=["NM"]) == []


def test_trial_mixing_executions(compliant_store):
    first, second = compliant_store.experiments[0].trials[:2]
    first.components.append(second.components[-1].model_copy())
    findings = audit_findings(compliant_store, select=["NM105"])
    assert rule_ids(findings) == ["NM105"]
    assert "holds runs of 2 executions" in findings[0].message


def test_two_trials_for_one_execution(compliant_store):
    experiment = compliant_store.experiments[0]
    copy = experiment.trials[0].model_copy(deep=True)
    copy.name = "execution-duplicate0"
    experiment.trials.append(copy)
    findings = audit_findings(compliant_store, select=["NM106"])
    assert rule_ids(findings) == ["NM106"]
    assert f"trials {experiment.trials[0].name!r} and 'execution-duplicate0'" in (
        findings[0].message
    )


# -- NM107: tags ----------------------------------------------------------------------------


def test_required_tags(compliant_store):
    policy = {"naming": {"required_tags": ["owner", "cost-center"]}}
    findings = audit_findings(compliant_store, select=["NM107"], policy=policy)
    assert rule_ids(findings) == ["NM107"]
    assert findings[0].message == (
        "experiment 'daily-demand-forecast' lacks required tags owner, cost-center"
    )
    compliant_store.experiments[0].tags = {"owner": "forecasting", "cost-center": "42"}
    assert audit_findings(compliant_store, select=["NM107"], policy=policy) == []


def test_kind_required_tags(compliant_store):
    kinds = {"pipeline": {"required_tags": ["owner"]}}
    findings = audit_findings(
        compliant_store, select=["NM107"], policy={"naming": {"experiment_kinds": kinds}}
    )
    assert [f.message for f in findings] == [
        "experiment 'daily-demand-forecast' lacks required tag owner"
    ]


# -- RF101-RF107: what each run records -----------------------------------------------------


def test_missing_code_version(compliant_store):
    train = component(compliant_store, "Train")
    del train.parameters["code_version"]
    findings = audit_findings(compliant_store, select=["RF"])
    assert rule_ids(findings) == ["RF101"]
    assert findings[0].message.startswith("run 'Train' records no code version (expected ")
    assert findings[0].subject.endswith(f"/{train.name}")
    assert "/components/2" in findings[0].location.pointer


def test_code_version_from_a_git_tag(compliant_store):
    train = component(compliant_store, "Train")
    del train.parameters["code_version"]
    train.tags["mlflow.source.git.commit"] = "3f2a9c1"
    assert audit_findings(compliant_store, select=["RF"]) == []


def test_undated_data(compliant_store):
    train = component(compliant_store, "Train")
    train.parameters["data_version"] = "s3://bucket/latest/train/"
    train.input_artifacts["train"].uri = "s3://bucket/latest/train/"
    findings = audit_findings(compliant_store, select=["RF"])
    assert rule_ids(findings) == ["RF102"]
    assert "records no data version" in findings[0].message
    assert "dt=" in findings[0].message  # the pattern it expected


def test_versioned_object_counts_as_data_version(compliant_store):
    train = component(compliant_store, "Train")
    del train.parameters["data_version"]
    train.input_artifacts["train"].uri = "s3://bucket/train.csv?versionId=3HL4kqtJlcpXroDTDmJ"
    assert audit_findings(compliant_store, select=["RF"]) == []


def test_missing_hyperparameters_only_for_training(compliant_store):
    train = component(compliant_store, "Train")
    for key in [k for k in train.parameters if k.startswith("hp.")]:
        del train.parameters[key]
    findings = audit_findings(compliant_store, select=["RF"])
    assert rule_ids(findings) == ["RF103"]
    assert findings[0].message == (
        "run 'Train' records no hyperparameters (expected parameter hp.*)"
    )


def test_empty_hyperparameter_is_no_evidence(compliant_store):
    train = component(compliant_store, "Train")
    train.parameters = {k: v for k, v in train.parameters.items() if not k.startswith("hp.")}
    train.parameters["hp.max_depth"] = " "
    assert rule_ids(audit_findings(compliant_store, select=["RF"])) == ["RF103"]


def test_missing_metric(compliant_store):
    evaluation = component(compliant_store, "TrainEvaluation")
    del evaluation.metrics["mape"]
    findings = audit_findings(compliant_store, select=["RF"])
    assert rule_ids(findings) == ["RF104"]
    assert findings[0].message == "run 'TrainEvaluation' records no metrics (expected metric mape)"


def test_missing_instance_type(compliant_store):
    del component(compliant_store, "Predict").parameters["instance_type"]
    findings = audit_findings(compliant_store, select=["RF"])
    assert rule_ids(findings) == ["RF105"]
    assert findings[0].message == (
        "run 'Predict' records no environment (needs parameter instance_type)"
    )


def test_debug_runs_need_a_note(compliant_store):
    experiment = compliant_store.experiments[0]
    experiment.name = "debug-deeper-trees"
    run = latest_trial(compliant_store).components[0]
    del run.parameters["note"]
    findings = audit_findings(compliant_store, select=["RF"])
    assert rule_ids(findings) == ["RF106"]
    assert findings[0].message == (
        "run 'Extract' records no note (expected parameter note or tag note or tag "
        "mlflow.note.content)"
    )
    run.tags["mlflow.note.content"] = "deeper trees overfit the holiday weeks"
    assert audit_findings(compliant_store, select=["RF"]) == []


def test_team_field(compliant_store):
    policy = {
        "naming": {"experiment_kinds": {"pipeline": {"required_fields": ["owner"]}}},
        "recorded_fields": {"runs": {"owner": {"tags": ["owner"], "applies_to": ["Train"]}}},
    }
    findings = audit_findings(compliant_store, select=["RF"], policy=policy)
    assert rule_ids(findings) == ["RF107"] * 3
    assert findings[0].message == "run 'Train' records no owner (expected tag owner)"


def test_required_field_without_evidence_definition(compliant_store):
    policy = {"naming": {"experiment_kinds": {"pipeline": {"required_fields": ["owner"]}}}}
    findings = audit_findings(compliant_store, select=["RF"], policy=policy)
    assert rule_ids(findings) == ["RF107"]
    assert "defines no evidence of it" in findings[0].message


def test_unread_run_is_not_evaluated(compliant_store):
    evaluation = component(compliant_store, "TrainEvaluation")
    evaluation.metrics = {}  # what the source keeps when DescribeTrialComponent is denied
    what = f"sagemaker:DescribeTrialComponent {evaluation.name} (metrics)"
    compliant_store.unreadable.append(Unreadable(what=what, reason="AccessDeniedException"))
    findings = audit_findings(compliant_store, select=["RF", "MG"])
    # Every field rule that applies to an evaluation run says so (RF103 does not apply).
    assert rule_ids(findings) == ["MG005"] * 5
    by_rule = sorted(f.message for f in findings if f.message.startswith("rule "))
    assert by_rule == [
        f"rule {rule} not evaluated: could not read {what} (AccessDeniedException)"
        for rule in ("RF101", "RF102", "RF104", "RF105")
    ]
    assert all(f.subject.endswith(f"/{evaluation.name}") for f in findings if f.subject)
    assert any(
        f.message.startswith(f"could not read {what} (AccessDeniedException)") for f in findings
    )
