"""``audit sagemaker`` never passes on what it could not read: faults at the HTTP level.

The account is the reference's, in a real moto server. Faults are answers botocore
really receives (``before-send`` returns them instead of sending) or a socket that never
answers: a 200 whose body is not JSON or not of the API's shape, paging that never ends,
and reading that outlasts ``--timeout``. Each is MG005 naming the call, and exit 2.
"""

from __future__ import annotations

import time

import pytest

from mlops_guard.audit import cli
from mlops_guard.metadata.sources import _aws
from tests.audit.aws import audit_sagemaker as _audit
from tests.audit.aws import compliant_account
from tests.metadata.botocore_traffic import Traffic, _Body, json_response

pytest.importorskip("boto3")


@pytest.fixture
def account(moto_server, compliant_store, reference_exports):
    return compliant_account(moto_server, compliant_store, reference_exports)


def _mg005(report) -> list[str]:
    """The MG005 notes on what could not be read (without the MG005 ``rule ... not
    evaluated`` of each rule that could not judge an item because of them)."""
    return [
        f["message"]
        for f in report["findings"]
        if f["rule"] == "MG005" and not f["message"].startswith("rule ")
    ]


def _raw_200(body: bytes):
    def answer(request):
        from botocore.awsrequest import AWSResponse, HeadersDict

        headers = HeadersDict({"Content-Type": "application/x-amz-json-1.1"})
        return AWSResponse(request.url, 200, headers, _Body(body))

    return answer


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>gateway</html>", "body is not valid JSON"),
        (b"", "body is not valid JSON"),
        (b"\xff\xfe{}", "body is not UTF-8"),
        (b"[]", "body does not have the API's shape: /: expected an object"),
        (b'{"Results": 5}', "shape: /Results: expected a list"),
        (b'{"Results": [null]}', "shape: /Results/0: null in a list"),
        (b'{"Results": [{"TrialComponent": {}}]}', "/Results/0/TrialComponent: missing"),
        (
            b'{"Results": [{"TrialComponent": {"TrialComponentName": "a", "StartTime": "x"}}]}',
            "/Results/0/TrialComponent/StartTime: expected a timestamp",
        ),
    ],
)
def test_unreadable_page_of_runs_is_mg005_naming_the_call(account, capsys, body, problem):
    traffic = Traffic()

    def search(request):
        if b"ExperimentTrialComponent" in request.body:
            return _raw_200(body)(request)
        return None

    traffic.on_send("sagemaker.Search", search)
    code, report, err = _audit(capsys, boto_session=traffic.session)
    assert code == 2
    [message] = _mg005(report)
    assert message.startswith(
        "could not read sagemaker:Search ExperimentTrialComponent (trial components) "
        "(sagemaker:Search: HTTP 200 "
    )
    assert problem in message
    assert "the audit does not pass" in err


def test_garbage_on_every_call_never_passes(account, capsys):
    traffic = Traffic()
    for service in ("sagemaker", "sagemaker-metrics", "eventbridge", "scheduler"):
        traffic.on_send(service, _raw_200(b"not json"))
    code, report, err = _audit(capsys, boto_session=traffic.session)
    assert code == 2
    messages = _mg005(report)
    for call in ("Search Experiment ", "Search ExperimentTrial ", "ListPipelines"):
        assert any(call in message for message in messages), (call, messages)
    assert all("body is not valid JSON" in message for message in messages)
    assert "the audit does not pass" in err


def test_a_repeated_next_token_stops_paging_with_mg005(account, capsys):
    traffic = Traffic()
    traffic.on_send(
        "sagemaker.ListPipelines",
        lambda request: json_response(request, {"PipelineSummaries": [], "NextToken": "again"}),
    )
    code, report, _ = _audit(capsys, boto_session=traffic.session)
    assert code == 2
    assert traffic.sent["sagemaker.ListPipelines"] == 2
    assert _mg005(report) == [
        "could not read sagemaker:ListPipelines (pipelines) (paging stopped: the same "
        "NextToken came twice): the operations (and, for the definition, every definition "
        "rule) rules were not evaluated on it"
    ]


def test_endless_fresh_next_tokens_stop_at_the_page_cap(account, capsys, monkeypatch):
    monkeypatch.setattr(_aws, "MAX_PAGES", 25)
    traffic = Traffic()
    count = iter(range(10**9))
    traffic.on_send(
        "sagemaker.ListPipelines",
        lambda request: json_response(
            request, {"PipelineSummaries": [], "NextToken": f"t{next(count)}"}
        ),
    )
    code, report, _ = _audit(capsys, boto_session=traffic.session)
    assert code == 2
    assert traffic.sent["sagemaker.ListPipelines"] == 25
    [message] = _mg005(report)
    assert "(paging stopped: still a NextToken after 25 pages)" in message


def test_what_was_not_read_before_the_timeout_is_mg005(account, capsys):
    traffic = Traffic()

    def slow(request):
        time.sleep(0.4)  # then moto answers for real

    for service in ("sagemaker", "eventbridge", "scheduler"):
        traffic.on_send(service, slow)
    started = time.monotonic()
    code, report, err = _audit(capsys, "--timeout", "1", boto_session=traffic.session)
    assert time.monotonic() - started < 30
    assert code == 2
    messages = _mg005(report)
    assert messages and all("the --timeout of 1 s had passed" in m for m in messages), messages
    assert "the audit does not pass" in err


@pytest.fixture
def silent_endpoint(silent_port, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent_port}")


def test_a_server_that_never_answers_is_bounded(moto_server, silent_endpoint, capsys, monkeypatch):
    monkeypatch.setattr(_aws, "READ_TIMEOUT", 1)
    started = time.monotonic()
    code, report, err = _audit(capsys, "--timeout", "4")
    elapsed = time.monotonic() - started
    assert code == 2
    assert elapsed < 20, elapsed  # one call alone would retry 10 times, 1 s each
    assert _mg005(report), report
    assert "the audit does not pass" in err


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_timeout_must_be_a_positive_number(value, capsys):
    assert cli.main(["sagemaker", "--timeout", value]) == 2
    err = capsys.readouterr().err
    assert "--timeout" in err and err.count("\n") == 1
