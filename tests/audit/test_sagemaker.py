"""``mlops-guard audit sagemaker`` against a real moto server, and its IAM policy.

The account holds what the reference runs recorded, written through boto3, and the
reference pipeline deployed with a schedule and a failure alarm. Throttling and access
denial are injected at botocore's ``before-send`` so its real parser and retries run.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mlops_guard.audit import cli
from mlops_guard.metadata.sources.sagemaker import READ_OPERATIONS, iam_action
from tests.audit.aws import audit_sagemaker as _audit
from tests.audit.aws import compliant_account, deploy_pipeline, put_experiments
from tests.audit.aws_produced import upload_outputs
from tests.metadata.botocore_traffic import Traffic, error_response

pytest.importorskip("boto3")
READ_VERBS = ("List", "Describe", "Search", "Get", "BatchGet")


@pytest.fixture
def account(moto_server, compliant_store, reference_exports):
    return compliant_account(moto_server, compliant_store, reference_exports)


def test_compliant_account_passes(account, capsys):
    code, report, err = _audit(capsys)
    assert (code, report["findings"], err) == (0, [], "")
    assert report["summary"]["targets"] == 2  # the store and the deployed definition


def test_findings_from_the_account(moto_server, compliant_store, reference_exports, capsys):
    put_experiments(moto_server, compliant_store, drop={"Predict": ["instance_type"]})
    deploy_pipeline(moto_server, schedule=False)
    upload_outputs(moto_server, reference_exports.parent)
    code, report, _ = _audit(capsys)
    assert code == 1
    found = {(f["rule"], f["location"]["file"]) for f in report["findings"]}
    assert found == {("RF105", "sagemaker:us-east-1"), ("OP101", "sagemaker:us-east-1")}
    rf105 = [f for f in report["findings"] if f["rule"] == "RF105"]
    assert len(rf105) == 3  # one per execution's Predict run
    assert rf105[0]["message"] == (
        "run 'Predict' records no environment (needs parameter instance_type)"
    )


def test_every_call_is_read_only_and_in_the_policy(account, capsys):
    traffic = Traffic()
    code, _report, _ = _audit(capsys, boto_session=traffic.session)
    assert code == 0
    allowed = set(cli.iam_policy()["Statement"][0]["Action"])
    assert traffic.calls, "no call recorded"
    for service, operation in traffic.calls:
        assert operation.startswith(READ_VERBS), operation
        assert operation in READ_OPERATIONS[service]
        assert iam_action(service, operation) in allowed
    called = {operation for _service, operation in traffic.calls}
    assert {"Search", "ListPipelines", "DescribePipeline", "ListSchedules"} <= called


@pytest.mark.slow
def test_throttling_storm_gives_the_same_report(account, capsys):
    _, calm, _ = _audit(capsys)
    traffic = Traffic()
    sent: list[str] = []

    def storm(request):
        # A storm over every service: every other request throttled until 10 were (more
        # keeps botocore's adaptive limiter, and the test, crawling: it is the real one).
        sent.append(request.url)
        if len(sent) % 2 and len(sent) < 20:
            return error_response(request, "ThrottlingException", "Rate exceeded")
        return None

    for service in ("sagemaker", "eventbridge", "scheduler"):
        traffic.on_send(service, storm)
    code, stormy, err = _audit(capsys, boto_session=traffic.session)
    assert (code, err) == (0, "")
    assert len(sent) > 20
    assert stormy == calm


def test_access_denied_is_mg005_and_exit_2(account, capsys):
    traffic = Traffic()
    traffic.on_send(
        "eventbridge.ListRules",
        lambda request: error_response(request, "AccessDeniedException", "not allowed"),
    )
    code, report, err = _audit(capsys, boto_session=traffic.session)
    assert code == 2
    by_rule = {}
    for finding in report["findings"]:
        by_rule.setdefault(finding["rule"], []).append(finding["message"])
    assert by_rule["MG005"][0] == (
        "could not read events:ListRules (schedules and notifications) (AccessDeniedException: "
        "not allowed): the operations rules were not evaluated on it"
    )
    for message, rule in zip(by_rule["MG005"][1:], ("OP101", "OP102", "OP103"), strict=True):
        assert message.startswith(f"rule {rule} not evaluated: could not read events:ListRules")
    assert not {"OP101", "OP102", "OP103"} & set(by_rule)  # not "no schedule"
    assert "the audit does not pass" in err


def test_unknown_profile_is_one_line(moto_server, capsys):
    code = cli.main(["sagemaker", "--profile", "no-such-profile-mlops-guard"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("mlops-guard: error: sagemaker: ") and err.count("\n") == 1


def test_iam_policy_command():
    done = subprocess.run(
        [sys.executable, "-m", "mlops_guard", "iam-policy"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    policy = json.loads(done.stdout)
    [statement] = policy["Statement"]
    assert (policy["Version"], statement["Effect"], statement["Resource"]) == (
        "2012-10-17",
        "Allow",
        "*",
    )
    actions = statement["Action"]
    assert actions == sorted(set(actions))
    for action in actions:
        service, operation = action.split(":")
        assert service in {"sagemaker", "events", "scheduler", "s3", "glue"}
        assert operation.startswith(READ_VERBS), action
    assert "sagemaker:BatchGetMetrics" in actions  # IAM prefix, not "sagemaker-metrics"
    assert "s3:ListBucket" in actions  # the IAM action of ListObjectsV2
    expected = sum(len(operations) for operations in READ_OPERATIONS.values())
    assert len(actions) == expected
