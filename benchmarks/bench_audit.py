"""Benchmark: a full ``mlops-guard audit sagemaker`` of N trial components (not a test).

Builds on ``bench_audit_fetch.py`` (its moto population and bare boto3 loop are imported,
not copied) and measures the whole audit: reading, every rule, the JSON report and the
HTML and Parquet files. Three numbers, each against its target:

* wall time of the audit vs the bare boto3 loop reading the same records in the same
  run (target <= 2x);
* peak memory of the audit: Python allocations (tracemalloc, in process) and the
  peak RSS (VmHWM, read by the child at exit) of the same audit run as a command in a
  child process (target < 250 MB). Not getrusage: Linux counts the RSS of the process
  that spawns a child into the child's ru_maxrss, so that reported this benchmark's own
  memory (485 MB at 10,000 runs) where the audit command itself peaked at 258 MB;
* Search calls when Search pages like AWS: target <= N/100 + 4. moto answers Search with
  every record at once, so the child process talks to moto through a small proxy that
  pages Search by 100 (the pages are injected, everything else is moto's own answer).

    python benchmarks/bench_audit.py --components 10000

Results (2 cores; moto 10,000 runs): wall time ratio 0.57x, peak Python allocations
86.8 MB, audit command peak RSS 204.4 MB (258 MB before raw records and responses were
dropped as they are converted; about 40 MB of it is imports and clients, and about 70 MB
pandas and pyarrow for the Parquet file), 103 Search calls. At 2,000 runs: 1.13x,
30.9 MB, 156.9 MB, 22 Search calls.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit

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


def audit_in_process(args: list[str], boto_session=None) -> dict:
    from mlops_guard.audit import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(args, boto_session=boto_session)
    if code not in (0, 1):
        raise SystemExit(f"audit failed with exit code {code}")
    return json.loads(out.getvalue())


class PagingProxy:
    """An HTTP proxy in front of moto that pages Search by 100, as AWS does.

    moto answers Search with every record at once; AWS sends at most 100 per call and a
    NextToken. Everything else is passed through unchanged, so the audit in the child
    process sees AWS-shaped traffic and its memory is measured on that, while the proxy's
    own copy of the records lives in this process.
    """

    def __init__(self, upstream: str):
        import http.server
        import threading

        self.upstream = urlsplit(upstream)
        self.searches = 0
        self._cache: dict[str, list] = {}
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                proxy.handle(self)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, request) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        if request.headers.get("X-Amz-Target") == "SageMaker.Search":
            self.searches += 1
            query = json.loads(body or b"{}")
            start = int(query.pop("NextToken", "0"))
            size = min(100, query.pop("MaxResults", 10))
            key = json.dumps(query, sort_keys=True)
            if key not in self._cache:
                status, _headers, data = self._forward(request, json.dumps(query).encode())
                self._cache[key] = json.loads(data)["Results"] if status == 200 else []
            items = self._cache[key]
            page = {"Results": items[start : start + size]}
            if start + size < len(items):
                page["NextToken"] = str(start + size)
            self._reply(request, 200, {"Content-Type": "application/x-amz-json-1.1"}, page)
            return
        status, headers, data = self._forward(request, body)
        self._reply(request, status, headers, data)

    def _forward(self, request, body: bytes):
        import http.client

        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        connection.request(request.command, request.path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        keep = ("content-type", "x-amzn-requestid", "x-amzn-errortype", "x-amz-request-id")
        headers = {k: v for k, v in response.getheaders() if k.lower() in keep}
        connection.close()
        return response.status, headers, data

    def _reply(self, request, status: int, headers: dict, data) -> None:
        if not isinstance(data, bytes):
            data = json.dumps(data).encode()
        request.send_response(status)
        for key, value in headers.items():
            request.send_header(key, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def close(self) -> None:
        self.server.shutdown()


# Runs ``python -m mlops_guard ARGS`` and, at exit, writes the peak RSS of that process to
# the file named by argv[1]. VmHWM is the peak of this process's own memory; getrusage's
# ru_maxrss is not: Linux carries the spawning process's RSS over fork/exec into it (and
# into RUSAGE_CHILDREN), so it would report this benchmark's own memory (moto's records,
# the two in-process audits), not the audit command's.
PEAK_RSS_PROBE = """\
import atexit, resource, runpy, sys

def _report(path=sys.argv[1]):
    try:
        with open("/proc/self/status") as status:
            kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):  # no procfs: the (over-)estimate getrusage gives
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(path, "w") as out:
        out.write(str(kb))

atexit.register(_report)
sys.argv = ["mlops_guard", *sys.argv[2:]]
runpy.run_module("mlops_guard", run_name="__main__", alter_sys=True)
"""


def paged_audit_in_a_child(args: list[str], proxy: PagingProxy) -> tuple[float, int]:
    """``(peak RSS in MB, Search calls)`` of ``python -m mlops_guard audit ...`` through the
    paging proxy."""
    before = proxy.searches
    with tempfile.TemporaryDirectory(prefix="bench-rss-") as scratch:
        peak_file = Path(scratch) / "peak-kb"
        done = subprocess.run(
            [sys.executable, "-c", PEAK_RSS_PROBE, str(peak_file), "audit", *args],
            capture_output=True,
            text=True,
            env={**os.environ, "AWS_ENDPOINT_URL": proxy.endpoint},
        )
        if done.returncode not in (0, 1):
            raise SystemExit(done.stderr)
        rss = int(peak_file.read_text()) / 1024
    return rss, proxy.searches - before


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
            proxy = PagingProxy(server.endpoint_url)
            try:
                rss, searches = paged_audit_in_a_child(args, proxy)
            finally:
                proxy.close()
            html_size = (Path(scratch) / "report.html").stat().st_size / 1024

        limit = count / 100 + 4
        print(f"components:              {count}")
        print(f"findings:                {report['summary']['findings']}")
        print(f"bare boto3 loop:         {bare_time:8.2f} s")
        print(f"mlops-guard audit:       {audit_time:8.2f} s (read, rules, JSON, HTML, Parquet)")
        print(f"wall time ratio:         {audit_time / bare_time:8.2f}x (target <= 2x)")
        print(f"peak Python allocations: {traced:8.1f} MB (tracemalloc, in process)")
        print(f"audit command peak RSS:  {rss:8.1f} MB (child process, Search paged by 100;")
        print("                                  target < 250 MB)")
        print(f"Search calls (paged):    {searches:8d} (target <= {limit:.0f})")
        print(f"HTML report:             {html_size:8.1f} KB")
        ok = audit_time <= 2 * bare_time and rss < 250 and traced < 250 and searches <= limit
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
