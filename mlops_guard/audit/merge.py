"""``mlops-guard audit merge REPORT.json...``: one report from the JSON reports of shards.

Each shard of an organisation-wide audit (``audit sagemaker --shard K/N --format json``)
reports the account/region pairs it audited in its ``accounts`` section. The merged
report holds every shard's findings, sorted as one run sorts them, so it equals the
report of an unsharded run whatever order the files are given in. A pair reported by
two files means overlapping shards (or a file given twice): that is an error, so a
finding can never be counted twice. The exit code is computed as for one run: 2 when
any pair was not fully read, else 1 on findings at or above the failing severity.
"""

from __future__ import annotations

import json
import sys

from mlops_guard.errors import InputError

MAX_REPORT_BYTES = 1 << 30  # a JSON report larger than this is not one of ours


def merge(args, prepared) -> int:
    from mlops_guard.audit import organisation, pairs_report
    from mlops_guard.engine import RunResult
    from mlops_guard.findings import Finding
    from mlops_guard.reporters import report_context

    reports = [(path, _load(path)) for path in args.paths]
    owner: dict[tuple[str, str], str] = {}
    pairs, rule_ids, fail_ons = [], set(), set()
    findings: list[Finding] = []
    suppressed: list[Finding] = []
    outside: dict[tuple, Finding] = {}  # findings about no pair (the policy's waivers)
    targets = 0
    for path, report in reports:
        section = report["accounts"]
        for pair in section["pairs"]:
            key = (pair["account"], pair["region"])
            if key in owner:
                raise InputError(
                    f"account {key[0]} region {key[1]} is reported more than once (also in "
                    f"{owner[key]}): shards overlap, or a report was given twice",
                    file=path,
                )
            owner[key] = path
            pairs.append(pair)
        labels = {f"sagemaker:{p['account']}:{p['region']}" for p in section["pairs"]}
        for data in report["findings"]:
            finding = _finding(data, path)
            if finding.location.file.split("/", 1)[0] in labels:
                findings.append(finding)
            else:
                outside.setdefault((finding.rule, finding.location, finding.message), finding)
        suppressed.extend(_finding(data, path) for data in report.get("suppressed") or [])
        rule_ids.update(section["rule_ids"])
        fail_ons.add(section["fail_on"])
        targets += report["summary"]["targets"]
    findings.extend(outside.values())
    if args.fail_on:
        fail_on = args.fail_on
    elif len(fail_ons) == 1:
        fail_on = fail_ons.pop()
    else:
        raise InputError("the reports fail on different severities: give --fail-on")
    result = RunResult(
        findings=sorted(findings, key=Finding.sort_key),
        suppressed=sorted(suppressed, key=Finding.sort_key),
        targets=targets,
    )
    result.ran(rule_ids)
    pairs.sort(key=lambda pair: (pair["account"], pair["region"]))
    section = {"pairs": pairs, "rule_ids": sorted(rule_ids), "fail_on": fail_on, "shard": None}
    context = report_context("audit", prepared.rules, result)
    text = pairs_report.render(args.format, result, context, section)
    accounts = len({pair["account"] for pair in pairs})
    regions = len({pair["region"] for pair in pairs})
    source = f"sagemaker: {accounts} account(s) x {regions} region(s), {len(reports)} report(s)"
    for output in args.output:
        pairs_report.write(output, result, context, section, source)
    sys.stdout.write(text)
    return organisation.exit_code(result, section, stream=sys.stderr)


def _load(path: str) -> dict:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_REPORT_BYTES + 1)
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", file=path) from None
    if len(data) > MAX_REPORT_BYTES:
        raise InputError("larger than any report of ours: not read", file=path)
    try:
        report = json.loads(data)
    except (ValueError, RecursionError):
        raise InputError("not a JSON report", file=path) from None
    if not _is_report(report):
        raise InputError(
            "not the JSON report of an organisation-wide audit (audit sagemaker --accounts/"
            "--organization/--regions ... --format json)",
            file=path,
        )
    return report


def _is_report(report) -> bool:
    if not isinstance(report, dict) or not isinstance(report.get("accounts"), dict):
        return False
    section = report["accounts"]
    pairs = section.get("pairs")
    return (
        isinstance(pairs, list)
        and all(_is_pair(pair) for pair in pairs)
        and isinstance(section.get("rule_ids"), list)
        and all(isinstance(rule, str) for rule in section["rule_ids"])
        and section.get("fail_on") in ("info", "warning", "error")
        and isinstance(report.get("findings"), list)
        and isinstance(report.get("suppressed", []), list)
        and isinstance(report.get("summary"), dict)
        and type(report["summary"].get("targets")) is int
    )


def _is_pair(pair) -> bool:
    return (
        isinstance(pair, dict)
        and all(isinstance(pair.get(key), str) for key in ("account", "region"))
        and isinstance(pair.get("read"), bool)
        and all(
            type(pair.get(key)) is int for key in ("unreadable", "experiments", "runs", "pipelines")
        )
    )


def _finding(data, path: str):
    from mlops_guard.findings import SEVERITY_RANK, Finding, Location

    try:
        location = data["location"]
        line = location.get("line")
        column = location.get("column")
        texts = (data["rule"], data["category"], data["message"], location["file"])
        if data["severity"] not in SEVERITY_RANK or not all(isinstance(t, str) for t in texts):
            raise TypeError
        return Finding(
            rule=data["rule"],
            category=data["category"],
            severity=data["severity"],
            message=data["message"],
            location=Location(location["file"], str(location.get("pointer") or ""), line, column),
            target=str(data.get("target") or ""),
            subject=data.get("subject"),
            suppressed=data.get("suppressed"),
        )
    except (KeyError, TypeError, AttributeError):
        raise InputError(
            "a finding of this report is not in the report format", file=path
        ) from None


def add_parser(sources, common) -> None:
    """``audit merge`` among the audit's sub-commands."""
    merge_parser = sources.add_parser(
        "merge",
        parents=[common],
        help="merge the JSON reports of shards (audit sagemaker --shard K/N) into one",
    )
    merge_parser.add_argument("paths", nargs="+", metavar="REPORT.json")
