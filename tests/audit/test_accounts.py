"""Organisation-wide ``audit sagemaker``: three accounts x two regions on one moto server.

moto keeps the accounts of assumed roles apart (a role assumed in account X reads and
writes X's resources only) and regions apart, so each pair here is a real, separate
account/region. Violations are planted in one pair only; the compliant reference is
recorded in another; the rest are empty. Assume-role denial is answered at botocore's
``before-send`` with STS's own XML error, so botocore's parser and error path run.
"""

from __future__ import annotations

import json
import urllib.parse

import pytest

from mlops_guard.audit import cli
from tests.audit.aws import deploy_pipeline, put_experiments
from tests.audit.aws_produced import upload_outputs
from tests.metadata.botocore_traffic import _Body

pytest.importorskip("boto3")

ACCOUNTS = ("111111111111", "222222222222", "333333333333")
REGIONS = ("eu-west-1", "us-east-1")
ROLE = "mlops-guard-audit"
COMPLIANT = ("111111111111", "us-east-1")
PLANTED = ("222222222222", "eu-west-1")


class AssumedAccount:
    """What ``tests.audit.aws`` writes through: clients of one account and region,
    reached by assuming the audit role there, as a person deploying into it would."""

    def __init__(self, endpoint: str, account: str, region: str):
        import boto3

        sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
        arn = f"arn:aws:iam::{account}:role/deployer"
        credentials = sts.assume_role(RoleArn=arn, RoleSessionName="test")["Credentials"]
        self.session = boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )
        self.endpoint = endpoint

    def client(self, service: str):
        return self.session.client(service, endpoint_url=self.endpoint)


@pytest.fixture
def organisation(moto_server, compliant_store, reference_exports, tmp_path):
    """The accounts file; the compliant reference in one pair, violations in another.
    Both pipelines write to one bucket (bucket names are global), owned by the first."""
    compliant = AssumedAccount(moto_server.endpoint_url, *COMPLIANT)
    put_experiments(compliant, compliant_store)
    deploy_pipeline(compliant)
    upload_outputs(compliant, reference_exports.parent)
    planted = AssumedAccount(moto_server.endpoint_url, *PLANTED)
    put_experiments(planted, compliant_store, drop={"Predict": ["instance_type"]})
    deploy_pipeline(planted, schedule=False)
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("# production and staging\n" + "\n".join(ACCOUNTS) + "  # last\n")
    return accounts


def _audit(capsys, accounts, *args: str, boto_session=None) -> tuple[int, dict, str]:
    argv = ["sagemaker", "--format", "json", "--accounts", str(accounts), "--role-name", ROLE]
    argv += ["--regions", ",".join(REGIONS), *args]
    code = cli.main(argv, boto_session=boto_session)
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def _label(account: str, region: str) -> str:
    return f"sagemaker:{account}:{region}"


def _pair_of(finding: dict) -> str:
    return finding["location"]["file"].split("/", 1)[0]


def test_findings_carry_their_account_and_region_and_nothing_leaks(organisation, capsys):
    code, report, err = _audit(capsys, organisation)
    assert (code, err) == (1, ""), report["findings"]
    found = {(f["rule"], f["location"]["file"]) for f in report["findings"]}
    assert found == {("RF105", _label(*PLANTED)), ("OP101", _label(*PLANTED))}
    pairs = report["accounts"]["pairs"]
    assert [(p["account"], p["region"]) for p in pairs] == [
        (account, region) for account in ACCOUNTS for region in REGIONS
    ]
    assert all(p["read"] and p["unreadable"] == 0 for p in pairs)
    by_pair = {(p["account"], p["region"]): p for p in pairs}
    assert by_pair[COMPLIANT]["pipelines"] == by_pair[PLANTED]["pipelines"] == 1
    assert by_pair[COMPLIANT]["runs"] == by_pair[PLANTED]["runs"] > 0
    empty = [p for key, p in by_pair.items() if key not in (COMPLIANT, PLANTED)]
    assert all(p["experiments"] == p["runs"] == p["pipelines"] == 0 for p in empty)
    # The store of each pair and each deployed definition are targets of their own.
    assert report["summary"]["targets"] == len(ACCOUNTS) * len(REGIONS) + 2


def test_every_output_format_names_the_pair(organisation, capsys, tmp_path):
    html, csv = tmp_path / "report.html", tmp_path / "report.csv"
    code = cli.main(
        ["sagemaker", "--format", "sarif", "--accounts", str(organisation), "--role-name", ROLE,
         "--regions", ",".join(REGIONS), "-o", str(html), "-o", str(csv)]
    )  # fmt: skip
    sarif = json.loads(capsys.readouterr().out)
    assert code == 1
    uris = {
        urllib.parse.unquote(location["physicalLocation"]["artifactLocation"]["uri"])
        for result in sarif["runs"][0]["results"]
        for location in result["locations"]
    }
    assert uris == {_label(*PLANTED)}
    assert set(csv.read_text().splitlines()[1:]) and all(
        _label(*PLANTED) in line for line in csv.read_text().splitlines()[1:]
    )
    page = html.read_text()
    assert page.count('<h3 id="pair-') == len(ACCOUNTS) * len(REGIONS)
    planted_section = page.split(f'id="pair-{PLANTED[0]}-{PLANTED[1]}"')[1].split("<h3")[0]
    assert "RF105" in planted_section and "OP101" in planted_section
    compliant_section = page.split(f'id="pair-{COMPLIANT[0]}-{COMPLIANT[1]}"')[1].split("<h3")[0]
    assert "No findings" in compliant_section
    for format_name in ("text", "junit", "github"):
        argv = ["sagemaker", "--format", format_name, "--accounts", str(organisation)]
        argv += ["--role-name", ROLE, "--regions", ",".join(REGIONS)]
        assert cli.main(argv) == 1
        out = urllib.parse.unquote(capsys.readouterr().out)  # github escapes ":" as %3A
        assert _label(*PLANTED) in out
        assert not any(_label(a, r) in out for a in ACCOUNTS for r in REGIONS if (a, r) != PLANTED)


def test_shards_merged_equal_one_run(organisation, capsys, tmp_path):
    code, whole, _ = _audit(capsys, organisation)
    reports = []
    for k in (1, 2):
        shard_code, report, _ = _audit(capsys, organisation, "--shard", f"{k}/2")
        path = tmp_path / f"shard-{k}.json"
        path.write_text(json.dumps(report))
        reports.append((shard_code, report, path))
    pairs = [{(p["account"], p["region"]) for p in r["accounts"]["pairs"]} for _, r, _ in reports]
    assert pairs[0] and pairs[1] and not pairs[0] & pairs[1]
    assert len(pairs[0] | pairs[1]) == len(ACCOUNTS) * len(REGIONS)
    for order in ([1, 0], [0, 1]):
        paths = [str(reports[i][2]) for i in order]
        html = tmp_path / "merged.html"
        merged_code = cli.main(["merge", "--format", "json", "-o", str(html), *paths])
        merged = json.loads(capsys.readouterr().out)
        assert merged_code == code == 1
        assert merged["findings"] == whole["findings"]
        assert merged["summary"] == whole["summary"]
        assert merged["accounts"]["pairs"] == whole["accounts"]["pairs"]
        assert html.read_text().count('<h3 id="pair-') == len(ACCOUNTS) * len(REGIONS)


@pytest.mark.parametrize(
    "content",
    [b"", b"[]", b'{"findings": []}', b"\xff", b'{"accounts": {"pairs": [{"account": 1}]}}'],
)
def test_merge_refuses_what_is_not_a_shard_report(content, capsys, tmp_path):
    path = tmp_path / "report.json"
    path.write_bytes(content)
    assert cli.main(["merge", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlops-guard: error:") and str(path) in err and len(err.splitlines()) == 1


def test_merging_a_shard_twice_is_refused(organisation, capsys, tmp_path):
    _code, report, _ = _audit(capsys, organisation, "--shard", "1/2")
    path = tmp_path / "shard.json"
    path.write_text(json.dumps(report))
    assert cli.main(["merge", str(path), str(path)]) == 2
    assert "more than once" in capsys.readouterr().err


def _deny_assume_role(account: str):
    """STS's answer when the role's trust policy does not let the auditor in."""

    def answer(request, **_):
        from botocore.awsrequest import AWSResponse, HeadersDict

        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        role = urllib.parse.parse_qs(body).get("RoleArn", [""])[0]
        if f"::{account}:" not in role:
            return None
        xml = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
            "<Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform: "
            f"sts:AssumeRole on resource: {role}</Message></Error><RequestId>1</RequestId>"
            "</ErrorResponse>"
        )
        headers = HeadersDict({"Content-Type": "text/xml"})
        return AWSResponse(request.url, 403, headers, _Body(xml.encode()))

    return answer


def test_the_role_is_assumed_once_per_account_with_the_external_id(organisation, capsys):
    import boto3

    session = boto3.session.Session()
    sent = []

    def record(request, **_):
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        sent.append(urllib.parse.parse_qs(body))

    session.events.register("before-send.sts.AssumeRole", record)
    code, _report, _ = _audit(capsys, organisation, "--external-id", "xyz", boto_session=session)
    assert code == 1
    assert sorted(request["RoleArn"][0] for request in sent) == [
        f"arn:aws:iam::{account}:role/{ROLE}" for account in ACCOUNTS
    ]
    assert all(request["ExternalId"] == ["xyz"] for request in sent)
    assert all("mlops-guard" in request["RoleSessionName"][0] for request in sent)


def test_credentials_that_would_expire_during_a_pair_are_not_reused(organisation, capsys):
    """With a --timeout longer than the role's hour, each pair assumes the role afresh."""
    import boto3

    session = boto3.session.Session()
    sent = []
    session.events.register("before-send.sts.AssumeRole", lambda **_: sent.append(1))
    code, _report, _ = _audit(capsys, organisation, "--timeout", "4000", boto_session=session)
    assert code == 1
    assert len(sent) == len(ACCOUNTS) * len(REGIONS)


def test_a_role_that_cannot_be_assumed_is_mg005_and_the_others_are_reported(
    organisation, capsys, tmp_path
):
    import boto3

    session = boto3.session.Session()
    session.events.register("before-send.sts.AssumeRole", _deny_assume_role(PLANTED[0]))
    code, report, err = _audit(capsys, organisation, boto_session=session)
    assert code == 2
    assert "2 account/region pair(s) could not be fully read" in err
    mg005 = [f for f in report["findings"] if f["rule"] == "MG005"]
    assert {f["location"]["file"] for f in mg005} == {
        _label(PLANTED[0], region) for region in REGIONS
    }
    assert all(
        f"sts:AssumeRole arn:aws:iam::{PLANTED[0]}:role/{ROLE}" in f["message"]
        and "AccessDenied" in f["message"]
        for f in mg005
    )
    assert all(f["severity"] == "error" for f in mg005)
    # The other accounts are still audited: nothing of theirs is missing.
    unread = {(p["account"], p["region"]) for p in report["accounts"]["pairs"] if p["unreadable"]}
    assert unread == {(PLANTED[0], region) for region in REGIONS}
    assert {_pair_of(f) for f in report["findings"]} == {
        _label(PLANTED[0], region) for region in REGIONS
    }
    compliant = next(
        p for p in report["accounts"]["pairs"] if (p["account"], p["region"]) == COMPLIANT
    )
    assert compliant["read"] and compliant["runs"] > 0
    # Merged, the report still does not pass.
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    assert cli.main(["merge", "--format", "json", str(path)]) == 2
    assert "could not be fully read" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("code", "status", "whole_pair"),
    [
        ("AccessDeniedException", 400, False),  # one read denied: the rest of the pair is read
        # What a region not enabled for the account answers: nothing of the pair is read.
        ("UnrecognizedClientException", 403, True),
    ],
)
def test_a_pair_not_read_is_that_pairs_mg005(
    organisation, capsys, monkeypatch, code, status, whole_pair
):
    """A read denied, or a region not enabled, in one account/region: MG005 there with
    the reason, exit 2, every other pair's findings unchanged."""
    from mlops_guard.audit import accounts
    from tests.metadata.botocore_traffic import error_response

    real_session = accounts.Sessions.boto_session

    def refuse(request, **_):
        return error_response(request, code, "refused in this pair", status)

    def session(self, pair):
        made = real_session(self, pair)
        if (pair.account, pair.region) == COMPLIANT:
            made.events.register("before-send.sagemaker.Search", refuse)
        return made

    monkeypatch.setattr(accounts.Sessions, "boto_session", session)
    exit_code, report, err = _audit(capsys, organisation)
    assert exit_code == 2 and "1 account/region pair(s) could not be fully read" in err
    mg005 = [f for f in report["findings"] if f["rule"] == "MG005"]
    assert {f["location"]["file"] for f in mg005} == {_label(*COMPLIANT)}
    assert all(code in f["message"] for f in mg005)
    others = {
        (f["rule"], f["location"]["file"]) for f in report["findings"] if f["rule"] != "MG005"
    }
    assert others == {("RF105", _label(*PLANTED)), ("OP101", _label(*PLANTED))}
    pairs = {(p["account"], p["region"]): p for p in report["accounts"]["pairs"]}
    assert pairs[COMPLIANT]["read"] is not whole_pair and pairs[COMPLIANT]["unreadable"] >= 1
    assert sum(1 for p in pairs.values() if p["unreadable"]) == 1


def test_accounts_file_errors_are_one_line(tmp_path, capsys, moto_server):
    bad = tmp_path / "accounts.txt"
    bad.write_text("111111111111\n12345\n")
    code = cli.main(["sagemaker", "--accounts", str(bad), "--role-name", ROLE])
    assert code == 2
    err = capsys.readouterr().err
    assert "not a 12-digit AWS account id" in err and "line 2" in err
    assert cli.main(["sagemaker", "--accounts", str(bad)]) == 2
    assert "--role-name" in capsys.readouterr().err


def test_organization_lists_the_accounts(moto_server, capsys):
    organizations = moto_server.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    organizations.create_account(Email="dev@example.com", AccountName="dev")
    listed = [a["Id"] for a in organizations.list_accounts()["Accounts"]]
    code = cli.main(
        ["sagemaker", "--format", "json", "--organization", "--role-name", ROLE,
         "--regions", "eu-west-1"]
    )  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [p["account"] for p in report["accounts"]["pairs"]] == sorted(listed)


def test_audit_of_sharded_exports_equals_the_live_audit(organisation, capsys, tmp_path):
    from mlops_guard.metadata.cli import main_export
    from mlops_guard.metadata.io import load_store

    _code, live, _ = _audit(capsys, organisation)
    directories = []
    for k in (1, 2):
        directory = tmp_path / f"export-{k}"
        code = main_export(
            ["sagemaker", "--accounts", str(organisation), "--role-name", ROLE,
             "--regions", ",".join(REGIONS), "--shard", f"{k}/2", "-o", str(directory)]
        )  # fmt: skip
        assert code == 0, capsys.readouterr().err
        directories.append(directory)
    files = sorted(path.name for d in directories for path in d.iterdir())
    assert files == sorted(f"{a}-{r}.json" for a in ACCOUNTS for r in REGIONS)
    name = f"{PLANTED[0]}-{PLANTED[1]}.json"
    planted = load_store(next(d / name for d in directories if (d / name).exists()))
    assert (planted.account, planted.region) == PLANTED and planted.experiments
    code = cli.main(["file", "--format", "json", *map(str, reversed(directories))])
    captured = capsys.readouterr()
    audited = json.loads(captured.out)
    assert code == 1, captured.err
    assert audited["findings"] == live["findings"]
    assert audited["accounts"]["pairs"] == live["accounts"]["pairs"]


def test_exports_of_pairs_and_of_no_pair_are_not_mixed(moto_server, capsys, tmp_path):
    from mlops_guard.metadata.io import dump_store
    from mlops_guard.metadata.model import MetadataStore

    dump_store(MetadataStore(account="111111111111", region="eu-west-1"), tmp_path / "a.json")
    dump_store(MetadataStore(), tmp_path / "b.json")
    assert cli.main(["file", str(tmp_path)]) == 2
    assert "names no account and region" in capsys.readouterr().err


def test_regions_alone_audit_the_callers_account_in_each(moto_server, compliant_store, capsys):
    east = moto_server  # the caller's own account, 123456789012
    put_experiments(east, compliant_store, drop={"Predict": ["instance_type"]})
    code = cli.main(["sagemaker", "--format", "json", "--regions", "eu-west-1,us-east-1"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {f["location"]["file"] for f in report["findings"]} == {
        "sagemaker:123456789012:us-east-1"
    }
    assert [(p["account"], p["region"]) for p in report["accounts"]["pairs"]] == [
        ("123456789012", "eu-west-1"),
        ("123456789012", "us-east-1"),
    ]


def test_shards_are_disjoint_and_cover_every_pair():
    from mlops_guard.audit.accounts import Pair, shard

    pairs = [Pair(f"{n:012d}", region) for n in range(7) for region in REGIONS]
    for count in (1, 2, 3, 5, 20):
        slices = [shard(list(reversed(pairs)), k, count) for k in range(1, count + 1)]
        assert sorted(p for s in slices for p in s) == sorted(pairs)
        assert max(map(len, slices)) - min(map(len, slices)) <= 1


@pytest.mark.parametrize("spec", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_a_bad_shard_is_a_usage_error(spec, capsys):
    assert cli.main(["sagemaker", "--regions", "eu-west-1", "--shard", spec]) == 2
    assert "K/N" in capsys.readouterr().err
