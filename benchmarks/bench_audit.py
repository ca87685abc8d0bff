"""Benchmark: a full ``mlops-guard audit sagemaker`` of N trial components (not a test).

Builds on ``bench_audit_fetch.py`` (its moto population and bare boto3 loop are imported,
not copied) and measures the whole audit: reading, every rule, the JSON report and the
HTML and Parquet files. Three numbers, each against its target:

* wall time of the audit vs the bare boto3 loop reading the same records in the same
  run (target <= 2x);
* peak memory of the audit: Python allocations (tracemalloc, in process) and the
  maximum RSS of the same audit run as a command in a child process (target < 250 MB);
* Search calls when Search pages like AWS (100 per page, injected at botocore's
  ``before-send`` because moto does not page): target <= N/100 + 4.

    python benchmarks/bench_audit.py --components 10000
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_audit_fetch as fetch  # puts the project root on sys.path

from tests.aws_server import FAKE_CREDENTIALS, start_moto_server

# The bench records are "bench-exp-*" experiments of production runs with a threshold:
# every rule runs over every record, and the report stays small enough to read.
POLICY = """\
extends: default
naming:
  experiment_kinds:
    pipeline: {match: "^(?!debug-|bench-)"}  # kinds match in order
    bench:
      match: "^bench-"
      production: true
evaluation_thresholds:
  thresholds: [{metric: mape, direction: lower_is_better, value: 0.2}]
"""


def audit_args(workdir: Path) -> list[str]:
    policy = workdir / "bench-policy.yaml"
    policy.write_text(POLICY)
    return [
        "sagemaker",
        "--policy",
        str(policy),
        "--format",
        "json",
        "-o",
        str(workdir / "report.html"),
        "-o",
        str(workdir / "findings.parquet"),
    ]


def audit_in_process(args: list[str], session=None) -> dict:
    from mlops_guard.audit import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(args, session=session)
    if code not in (0, 1):
        raise SystemExit(f"audit failed with exit code {code}")
    return json.loads(out.getvalue())


def child_max_rss(args: list[str]) -> float:
    """Max RSS (MB) of the audit run as ``python -m mlops_guard audit ...``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(
        [sys.executable, "-m", "mlops_guard", "audit", *args],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(before, after) / 1024


def search_calls_with_aws_paging(args: list[str], count: int, endpoint: str) -> tuple[int, int]:
    """Serve the records moto holds through Search pages of at most 100, like AWS."""
    import boto3

    from tests.metadata.botocore_traffic import Traffic, json_response, request_json

    sagemaker = boto3.client("sagemaker", endpoint_url=endpoint)
    records = {
        resource_: sagemaker.search(Resource=resource_, MaxResults=100)["Results"]
        for resource_ in ("Experiment", "ExperimentTrial", "ExperimentTrialComponent")
    }
    # back to the wire format: AWS's JSON protocol sends timestamps as epoch seconds
    records = json.loads(json.dumps(records, default=lambda moment: moment.timestamp()))
    if len(records["ExperimentTrialComponent"]) != count:
        raise SystemExit("moto paged Search after all: update this benchmark")

    def search(request):
        body = request_json(request)
        items = records[body["Resource"]]
        start = int(body.get("NextToken", "0"))
        end = start + min(100, body.get("MaxResults", 10))
        page = {"Results": items[start:end]}
        if end < len(items):
            page["NextToken"] = str(end)
        return json_response(request, page)

    traffic = Traffic()
    traffic.on_send("sagemaker.Search", search)
    report = audit_in_process(args, session=traffic.session)
    runs = report["summary"]["targets"]
    return traffic.calls[("sagemaker", "Search")], runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=10_000)
    parser.add_argument("--populate-workers", type=int, default=16)
    options = parser.parse_args()
    count = options.components

    server = start_moto_server()
    try:
        os.environ.update(FAKE_CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
        print(f"populating {count} trial components ...", flush=True)
        fetch.populate(server, count, options.populate_workers)
        with tempfile.TemporaryDirectory(prefix="bench-audit-") as scratch:
            args = audit_args(Path(scratch))
            bare_time, bare_count = fetch.timed(lambda: fetch.bare_loop(server.endpoint_url))
            audit_time, report = fetch.timed(lambda: audit_in_process(args))
            assert bare_count == count, bare_count
            tracemalloc.start()
            audit_in_process(args)
            traced = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            rss = child_max_rss(args)
            searches, _ = search_calls_with_aws_paging(args, count, server.endpoint_url)
            html_size = (Path(scratch) / "report.html").stat().st_size / 1024

        limit = count / 100 + 4
        print(f"components:              {count}")
        print(f"findings:                {report['summary']['findings']}")
        print(f"bare boto3 loop:         {bare_time:8.2f} s")
        print(f"mlops-guard audit:       {audit_time:8.2f} s (read, rules, JSON, HTML, Parquet)")
        print(f"wall time ratio:         {audit_time / bare_time:8.2f}x (target <= 2x)")
        print(f"peak Python allocations: {traced:8.1f} MB (tracemalloc, in process)")
        print(f"audit command max RSS:   {rss:8.1f} MB (target < 250 MB)")
        print(f"Search calls (paged):    {searches:8d} (target <= {limit:.0f})")
        print(f"HTML report:             {html_size:8.1f} KB")
        ok = audit_time <= 2 * bare_time and rss < 250 and traced < 250 and searches <= limit
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
