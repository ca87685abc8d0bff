"""What pipelines produced (ET104-ET108, IO101-IO104), audited on a real moto server.

The account holds the reference pipeline deployed as the operations rules want it, the
reference runs' real output tree in S3, a Glue table over the predictions and the model
package versions a registering pipeline creates. That account passes with exit 0; each
test changes one thing and sees the one rule fire. Faults (access denied on a bucket or
the catalog) are injected at botocore's ``before-send``, so its parser runs unchanged.
"""

from __future__ import annotations

import json

import pytest

from mlops_guard.audit import cli
from tests.audit import aws_produced as produced
from tests.audit.aws import deploy_pipeline, put_experiments
from tests.audit.conftest import DATES, PIPELINE
from tests.metadata.botocore_traffic import Traffic, error_response

pytest.importorskip("boto3")

PRODUCED_RULES = ("ET104", "ET105", "ET106", "ET107", "ET108", "IO101", "IO102", "IO103", "IO104")


@pytest.fixture
def account(moto_server, compliant_store, reference_exports):
    put_experiments(moto_server, compliant_store)
    deploy_pipeline(moto_server)
    produced.upload_outputs(moto_server, reference_exports.parent)
    produced.create_table(moto_server)
    produced.register_versions(moto_server)
    return moto_server


def _audit(capsys, *args: str, boto_session=None, policy: str | None = None, tmp_path=None):
    extra = []
    if policy is not None:
        path = tmp_path / "policy.yaml"
        path.write_text("extends: default\n" + policy)
        extra = ["--policy", str(path)]
    code = cli.main(["sagemaker", "--format", "json", *extra, *args], boto_session=boto_session)
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def _messages(report, *rules: str) -> list[tuple[str, str]]:
    return [
        (f["rule"], f["message"]) for f in report["findings"] if not rules or f["rule"] in rules
    ]


def _s3_error(request, code: str, status: int = 403):
    """An S3 (REST-XML) error response, as S3 sends it."""
    from botocore.awsrequest import AWSResponse, HeadersDict

    from tests.metadata.botocore_traffic import _Body

    body = f"<Error><Code>{code}</Code><Message>denied by test</Message></Error>".encode()
    return AWSResponse(
        request.url, status, HeadersDict({"Content-Type": "application/xml"}), _Body(body)
    )


# -- the clean scenario -------------------------------------------------------------------


def test_reference_account_passes(account, capsys, tmp_path):
    policy = "evaluation_thresholds:\n  model_registry: {require_approval_description: true}\n"
    code, report, err = _audit(capsys, policy=policy, tmp_path=tmp_path)
    assert (code, report["findings"], err) == (0, [], "")


def test_export_holds_packages_and_listings(account, tmp_path):
    from mlops_guard.metadata.io import dump_store, load_store
    from mlops_guard.metadata.sources import export

    dump_store(export("sagemaker"), tmp_path / "export.json")
    store = load_store(tmp_path / "export.json")
    assert store.version == 2
    [group] = store.model_package_groups
    assert [(p.version, p.approval_status) for p in group.packages] == [
        (1, "Approved"),
        (2, "Rejected"),
        (3, "Approved"),
        (4, "PendingManualApproval"),
    ]
    latest = group.packages[2]
    assert latest.generated_by.startswith(
        f"arn:aws:sagemaker:us-east-1:123456789012:pipeline/{PIPELINE}/execution/"
    )
    values = latest.reports["ModelQuality.Statistics"].values
    assert 0 < values["metrics.mape.value"] < 0.2 and "metrics.rmse.value" in values
    assert group.packages[1].reports == {}  # a rejected version is not described
    by_output = {(o.step, o.output): o for o in store.outputs}
    assert len(by_output) == 8  # every partitioned output of the reference
    predictions = by_output[("Predict", "predictions")]
    assert predictions.base_uri == f"{produced.BASE}predict/predictions/"
    assert predictions.folders == [f"dt={day}/" for day in DATES]
    assert sorted(e.partition for e in predictions.executions) == [f"dt={d}" for d in DATES]
    [table] = predictions.tables
    assert (table.database, table.name, table.partition_keys) == (
        "forecasting",
        "predictions",
        ["dt"],
    )
    assert [p.values for p in table.partitions] == [[day] for day in DATES]


# -- model registry ----------------------------------------------------------------------


def test_approved_without_report(account, capsys):
    produced.register(account, generated_by=produced.execution_arns(account)[DATES[-1]])
    code, report, _ = _audit(capsys)
    assert code == 1
    assert _messages(report) == [
        (
            "ET104",
            f"model package {PIPELINE}/5 is approved without an evaluation report "
            "(accepted: ModelQuality.Statistics; it has: none)",
        )
    ]
    [finding] = report["findings"]
    assert finding["location"]["pointer"] == "/model_package_groups/0/packages/4"
    assert finding["subject"] == f"{PIPELINE}/5"


def test_approved_failing_threshold_and_missing_metric(account, capsys):
    arns = produced.execution_arns(account)
    bad = produced.put_report(
        account, "reports/bad.json", {"regression_metrics": {"mape": {"value": 0.35}}}
    )
    produced.register(account, report=bad, generated_by=arns[DATES[0]])
    other = produced.put_report(
        account, "reports/rmse-only.json", {"metrics": {"rmse": {"value": 3.0}}}
    )
    produced.register(account, report=other, generated_by=arns[DATES[1]])
    code, report, _ = _audit(capsys)
    assert code == 1
    assert _messages(report) == [
        (
            "ET105",
            f"model package {PIPELINE}/5 is approved with mape = 0.35 (ModelQuality.Statistics "
            "regression_metrics.mape.value), failing the threshold <= 0.2 of pipeline "
            f"{PIPELINE!r}",
        ),
        (
            "ET105",
            f"model package {PIPELINE}/6: its evaluation report has no mape (looked at "
            "metrics.{metric}.value, regression_metrics.{metric}.value, "
            "binary_classification_metrics.{metric}.value, "
            "multiclass_classification_metrics.{metric}.value): threshold <= 0.2 not checked",
        ),
    ]


def test_newest_approved_worse_than_previous(account, capsys, tmp_path):
    worse = produced.put_report(
        account, "reports/worse.json", {"metrics": {"mape": {"value": 0.19}}}
    )
    produced.register(
        account, report=worse, generated_by=produced.execution_arns(account)[DATES[0]]
    )
    policy = (
        "evaluation_thresholds:\n  thresholds:\n"
        "    - {metric: mape, direction: lower_is_better, value: 0.2, min_absolute_change: 0.0}\n"
    )
    # (the runs' ET102 judges the same threshold: only the registry rules are selected)
    registry_rules = "--select=ET104,ET105,ET106,ET107,ET108"
    code, report, _ = _audit(capsys, registry_rules, policy=policy, tmp_path=tmp_path)
    assert code == 1
    [(rule, message)] = _messages(report)
    assert rule == "ET106"
    assert message.startswith(
        f"model package {PIPELINE}/5: mape 0.19 is not at least 0 below approved version 3's "
    )


def test_registered_by_hand_and_no_approval_description(account, capsys, tmp_path):
    produced.register(account, report=produced.report_uri(DATES[0]), description=None)
    policy = "evaluation_thresholds:\n  model_registry: {require_approval_description: true}\n"
    code, report, _ = _audit(capsys, policy=policy, tmp_path=tmp_path)
    assert code == 1
    assert _messages(report) == [
        (
            "ET107",
            f"model package {PIPELINE}/5 is approved but was not registered by a pipeline "
            "execution (no GeneratedBy)",
        ),
        ("ET108", f"model package {PIPELINE}/5 is approved without an ApprovalDescription"),
    ]
    allowed = "evaluation_thresholds:\n  model_registry: {allow_manual_registration: true}\n"
    code, report, _ = _audit(capsys, policy=allowed, tmp_path=tmp_path)
    assert (code, report["findings"]) == (0, [])


def test_unreadable_report_is_mg005_and_exit_2(account, capsys):
    missing = f"s3://{produced.BUCKET}/reports/deleted.json"
    produced.register(
        account, report=missing, generated_by=produced.execution_arns(account)[DATES[0]]
    )
    code, report, err = _audit(capsys)
    assert code == 2
    messages = [message for _, message in _messages(report, "MG005")]
    assert [rule for rule, _ in _messages(report)] == ["MG005"] * 3
    assert messages[0].startswith(f"could not read s3:GetObject {missing} ")
    assert "NoSuchKey" in messages[0]
    # the report is there (ET104 judges it) but unread: the rules on its values say so
    for message, rule in zip(messages[1:], ("ET105", "ET106"), strict=True):
        assert message.startswith(f"rule {rule} not evaluated: could not read s3:GetObject")
    assert "the audit does not pass" in err


# -- output partitions ----------------------------------------------------------------------


def test_stray_folders_and_loose_objects(account, capsys):
    s3 = account.client("s3")
    prefix = f"{PIPELINE}/predict/predictions/"
    for key in (
        "c95436949192/predictions.csv",
        "dt=latest/predictions.csv",
        "dt=2026-02-30/x.csv",
        "_SUCCESS",
    ):
        s3.put_object(Bucket=produced.BUCKET, Key=prefix + key, Body=b"x")
    code, report, _ = _audit(capsys)
    assert code == 1
    where = f"under output 'predictions' of step 'Predict' (pipeline {PIPELINE!r})"
    base = f"{produced.BASE}predict/predictions/"
    assert sorted(_messages(report)) == [
        ("IO101", f"{base}_SUCCESS: an object outside any partition {where}"),
        ("IO101", f"{base}c95436949192/: a folder that is not a dt=YYYY-MM-DD/ partition {where}"),
        ("IO101", f"{base}dt=2026-02-30/: a folder that is not a dt=YYYY-MM-DD/ partition {where}"),
        ("IO101", f"{base}dt=latest/: a folder that is not a dt=YYYY-MM-DD/ partition {where}"),
    ]
    assert {f["subject"] for f in report["findings"]} == {f"{PIPELINE}/Predict/predictions"}


def test_succeeded_execution_without_its_partition(account, capsys):
    s3 = account.client("s3")
    gone = f"{PIPELINE}/postproc/predictions/dt={DATES[1]}/predictions.parquet"
    s3.delete_object(Bucket=produced.BUCKET, Key=gone)
    emptied = f"{PIPELINE}/preproc/train/dt={DATES[2]}/"
    s3.delete_object(Bucket=produced.BUCKET, Key=emptied + "train.csv")
    s3.put_object(Bucket=produced.BUCKET, Key=emptied, Body=b"")  # a folder marker only
    code, report, _ = _audit(capsys)
    assert code == 0  # warnings do not fail the default fail_on: error
    messages = _messages(report)
    assert [rule for rule, _ in messages] == ["IO102", "IO102"]
    assert {f["severity"] for f in report["findings"]} == {"warning"}
    text = " ".join(message for _, message in messages)
    assert (
        f"its partition {produced.BASE}postproc/predictions/dt={DATES[1]}/ does not exist" in text
    )
    assert f"its partition {produced.BASE}preproc/train/dt={DATES[2]}/ is empty" in text


def test_glue_partition_elsewhere_and_missing(
    moto_server, compliant_store, reference_exports, capsys
):
    put_experiments(moto_server, compliant_store)
    deploy_pipeline(moto_server)
    produced.upload_outputs(moto_server, reference_exports.parent)
    wrong = f"s3://{produced.BUCKET}/{produced.TABLE_PREFIX}c95436949192/"
    produced.create_table(moto_server, dates=DATES[:2], locations={DATES[0]: wrong})
    produced.register_versions(moto_server)
    code, report, _ = _audit(capsys)
    assert code == 1
    assert _messages(report) == [
        (
            "IO103",
            f"Glue table forecasting.predictions: partition {DATES[0]} is at {wrong}, not at "
            f"s3://{produced.BUCKET}/{produced.TABLE_PREFIX}dt={DATES[0]}/",
        ),
        (
            "IO104",
            f"Glue table forecasting.predictions has no partition for 1 date written under "
            f"{produced.BASE}predict/predictions/: {DATES[2]} (Athena does not see them)",
        ),
    ]


def test_denied_bucket_and_catalog_are_mg005(account, capsys):
    traffic = Traffic()
    traffic.on_send("s3.ListObjectsV2", lambda request: _s3_error(request, "AccessDenied"))
    traffic.on_send(
        "glue.GetDatabases",
        lambda request: error_response(request, "AccessDeniedException", "not allowed"),
    )
    code, report, err = _audit(capsys, boto_session=traffic.session)
    assert code == 2
    assert {rule for rule, _ in _messages(report)} == {"MG005"}
    unread = [m for r, m in _messages(report, "MG005") if m.startswith("could not read ")]
    assert len(unread) == 9  # eight output prefixes and the catalog
    assert any(m.startswith("could not read glue:GetDatabases") for m in unread)
    by_rules = [m for r, m in _messages(report, "MG005") if not m.startswith("could not read ")]
    assert {m.split(" ")[1] for m in by_rules} == {"IO101", "IO102", "IO103", "IO104"}
    assert all(" not evaluated: could not read " in m for m in by_rules), by_rules
    assert "the audit does not pass" in err


def _s3_answer(body: bytes):
    """A 200 answer from S3 with this body (XML, or not)."""
    from botocore.awsrequest import AWSResponse, HeadersDict

    from tests.metadata.botocore_traffic import _Body

    def answer(request):
        headers = HeadersDict({"Content-Type": "application/xml"})
        return AWSResponse(request.url, 200, headers, _Body(body))

    return answer


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>gateway</html>", "not a ListObjectsV2 answer (no IsTruncated)"),
        # botocore reports a 200 it cannot parse as XML as an error "500" (after retries)
        (b"<ListBucketResult><IsTruncated>", "500: Internal Server Error"),
        (
            b'<?xml version="1.0"?><ListBucketResult><IsTruncated>true</IsTruncated>'
            b"<NextContinuationToken>t1</NextContinuationToken></ListBucketResult>",
            "paging stopped: a truncated listing without a new token",
        ),
    ],
)
def test_unreadable_or_endless_listing_is_mg005(account, capsys, body, reason):
    traffic = Traffic()
    traffic.on_send("s3.ListObjectsV2", _s3_answer(body))
    code, report, _ = _audit(capsys, boto_session=traffic.session)
    assert code == 2
    notes = [m for _, m in _messages(report, "MG005") if m.startswith("could not read ")]
    unread = [m for m in notes if "s3:ListObjectsV2" in m]
    assert len(unread) == 8 and all(reason in m for m in unread), unread
    assert {r for r, _ in _messages(report)} == {"MG005"}
    by_rules = {m.split(" ")[1] for _, m in _messages(report, "MG005") if m not in notes}
    assert by_rules == {"IO101", "IO102", "IO104"}


def test_listing_is_capped(account, capsys, tmp_path):
    policy = "idempotent_outputs:\n  max_keys_per_prefix: 2\n"
    code, report, _ = _audit(capsys, policy=policy, tmp_path=tmp_path)
    assert code == 2
    unread = [m for _, m in _messages(report, "MG005") if m.startswith("could not read ")]
    capped = [m for m in unread if "more than 2 keys and folders" in m]
    assert len(capped) == 8  # every output prefix has three dates
    assert capped[0].startswith(f"could not read s3:ListObjectsV2 {produced.BASE}")
    assert any("more than 2 partitions" in m for m in unread)  # the Glue table's three


# -- read-only, offline, report -------------------------------------------------------------


def test_every_call_is_read_only_and_in_the_policy(account, capsys):
    from mlops_guard.metadata.sources.sagemaker import READ_OPERATIONS, iam_action

    traffic = Traffic()
    code, _report, _ = _audit(capsys, boto_session=traffic.session)
    assert code == 0
    allowed = set(cli.iam_policy()["Statement"][0]["Action"])
    for service, operation in traffic.calls:
        assert operation.startswith(("List", "Describe", "Search", "Get", "BatchGet")), operation
        assert operation in READ_OPERATIONS[service]
        assert iam_action(service, operation) in allowed
    called = {f"{service}:{operation}" for service, operation in traffic.calls}
    assert {
        "sagemaker:ListModelPackageGroups",
        "sagemaker:ListModelPackages",
        "sagemaker:DescribeModelPackage",
        "s3:GetObject",
        "s3:ListObjectsV2",
        "glue:GetDatabases",
        "glue:GetTables",
        "glue:GetPartitions",
    } <= called
    assert "s3:ListBucket" in allowed and "s3:GetObject" in allowed


def test_offline_audit_of_the_export_finds_the_same(account, capsys, tmp_path):
    from mlops_guard.metadata.io import dump_store
    from mlops_guard.metadata.sources import export

    s3 = account.client("s3")
    s3.put_object(Bucket=produced.BUCKET, Key=f"{PIPELINE}/predict/predictions/x1/a.csv", Body=b"x")
    produced.register(account, report=produced.report_uri(DATES[0]))
    _, live, _ = _audit(capsys)
    assert {f["rule"] for f in live["findings"]} == {"IO101", "ET107"}
    # Without metric series: moto has no BatchGetMetrics, which `export` reads by default.
    dump_store(export("sagemaker", series=False), tmp_path / "export.json")
    code = cli.main(["file", str(tmp_path / "export.json"), "--format", "json"])
    captured = capsys.readouterr()
    offline = json.loads(captured.out)
    assert code == 1, captured.err

    def comparable(report):
        return [
            (f["rule"], f["message"], f["location"]["pointer"], f["subject"])
            for f in report["findings"]
        ]

    assert comparable(offline) == comparable(live)


def test_html_report_sections(account, capsys, tmp_path):
    bad = produced.put_report(account, "reports/bad.json", {"metrics": {"mape": {"value": 0.35}}})
    produced.register(account, report=bad, generated_by=produced.execution_arns(account)[DATES[0]])
    account.client("s3").delete_object(
        Bucket=produced.BUCKET, Key=f"{PIPELINE}/predict/predictions/dt={DATES[1]}/predictions.csv"
    )
    account.client("s3").put_object(
        Bucket=produced.BUCKET, Key=f"{PIPELINE}/predict/predictions/x1/a.csv", Body=b"x"
    )
    page = tmp_path / "report.html"
    code, _, _ = _audit(capsys, "--output", str(page))
    assert code == 1
    html = page.read_text()
    assert 'id="model-registry"' in html and 'id="partitions"' in html
    assert f"<h3>{PIPELINE}</h3>" in html
    assert "3 approved, 1 pending, 1 rejected" in html
    assert '<td class="failing">0.35</td>' in html  # version 5 fails the threshold
    assert '<span class="day stray" title="stray">x1/</span>' in html
    assert f'<span class="day missing" title="missing">{DATES[1]}</span>' in html
    assert f"lacks {DATES[1]}" not in html  # the table has the partition, S3 lost the data
