"""Benchmark: an organisation-wide audit, pairs read concurrently vs one after another.

Starts its own moto server and records, in each of ``--accounts`` accounts (reached by
assuming a role, so moto keeps them apart) and each of two regions, a few experiments
with runs and one deployed pipeline with executions. Then runs the same audit twice as
the user would, ``mlops-guard audit sagemaker --accounts FILE --role-name R --regions
eu-west-1,us-east-1``, in a subprocess: with ``--concurrency 1`` (the pairs one after
another) and with ``--concurrency N``. Prints both wall times, their ratio (target
<= 0.5) and each run's peak resident memory (target < 300 MB).

    python benchmarks/bench_audit_accounts.py --accounts 20 --concurrency 8

``--latency`` (default 20) adds that many milliseconds to every answer (a TCP relay in
front of moto): a real AWS API call takes tens of milliseconds, and that wait, per
account and region, is what concurrency overlaps. ``--latency 0`` measures moto on
loopback alone, where both processes are CPU-bound and a 2-core machine cannot overlap
much (about 0.9 x there).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.aws_server import FAKE_CREDENTIALS, start_moto_server  # noqa: E402

REGIONS = ("eu-west-1", "us-east-1")
ROLE = "mlops-guard-audit"
EXPERIMENTS, TRIALS, RUNS = 2, 3, 3


def account_ids(count: int) -> list[str]:
    return [f"{100000000000 + index * 1111:012d}" for index in range(count)]


def populate_pair(endpoint: str, account: str, region: str) -> None:
    import boto3

    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
    arn = f"arn:aws:iam::{account}:role/deployer"
    credentials = sts.assume_role(RoleArn=arn, RoleSessionName="bench")["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
    sagemaker = session.client("sagemaker", endpoint_url=endpoint)
    start = datetime(2026, 11, 20, tzinfo=UTC)
    for e in range(EXPERIMENTS):
        experiment = f"bench-{e}"
        sagemaker.create_experiment(ExperimentName=experiment)
        for t in range(TRIALS):
            trial = f"{experiment}-trial-{t}"
            sagemaker.create_trial(TrialName=trial, ExperimentName=experiment)
            for r in range(RUNS):
                name = f"{trial}-run-{r}"
                sagemaker.create_trial_component(
                    TrialComponentName=name,
                    DisplayName=f"Step{r}",
                    Status={"PrimaryStatus": "Completed"},
                    StartTime=start + timedelta(days=t, minutes=r),
                    EndTime=start + timedelta(days=t, minutes=r + 1),
                    Parameters={"learning_rate": {"NumberValue": 0.1}},
                )
                sagemaker.associate_trial_component(TrialComponentName=name, TrialName=trial)
    definition = json.loads((ROOT / "mlops_guard" / "reference" / "definition.json").read_text())
    sagemaker.create_pipeline(
        PipelineName="bench-pipeline",
        PipelineDefinition=json.dumps(definition),
        RoleArn=f"arn:aws:iam::{account}:role/pipeline",
    )
    for _ in range(3):
        sagemaker.start_pipeline_execution(PipelineName="bench-pipeline")


class Relay:
    """A loopback TCP relay to ``port`` that delays each answer by ``delay`` seconds."""

    def __init__(self, port: int, delay: float):
        self.target, self.delay = port, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            upstream = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(client, upstream, 0), daemon=True).start()
            threading.Thread(
                target=self._pipe, args=(upstream, client, self.delay), daemon=True
            ).start()

    @staticmethod
    def _pipe(source, sink, delay: float) -> None:
        try:
            while data := source.recv(65536):
                if delay:
                    time.sleep(delay)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


def run_audit(endpoint: str, accounts_file: Path, concurrency: int) -> tuple[float, float, dict]:
    """Wall seconds, peak RSS (MB) and the JSON report of one audit in a subprocess."""
    env = {**os.environ, **FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}
    env["PYTHONPATH"] = str(ROOT)
    command = [
        sys.executable, "-m", "mlops_guard", "audit", "sagemaker", "--format", "json",
        "--accounts", str(accounts_file), "--role-name", ROLE, "--regions", ",".join(REGIONS),
        "--concurrency", str(concurrency), "--isolated",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        # wait4: this child's own peak resident memory (Linux reports KB).
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if code not in (0, 1):
            raise SystemExit(f"audit failed ({code}): {err.read().decode()[-2000:]}")
        return wall, usage.ru_maxrss / 1024, json.loads(out.read())


def populate(endpoint: str, accounts: list[str]) -> None:
    import boto3

    from tests.audit.aws_produced import BUCKET

    # The bucket the reference definition writes to (bucket names are global: one for all
    # pairs), so the audit can list what the pipelines produced.
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda pair: populate_pair(endpoint, *pair),
                [(a, r) for a in accounts for r in REGIONS],
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=20.0, metavar="MS")
    parser.add_argument("--populate", metavar="ENDPOINT", help=argparse.SUPPRESS)
    options = parser.parse_args()
    os.environ.update(FAKE_CREDENTIALS)
    accounts = account_ids(options.accounts)
    if options.populate:
        populate(options.populate, accounts)
        return
    server = start_moto_server()
    try:
        began = time.perf_counter()
        # In a process of its own: a child's peak RSS counts the parent it was forked
        # from, so the parent stays small (no boto3) for the audits' numbers to be theirs.
        subprocess.run(
            [sys.executable, __file__, "--accounts", str(options.accounts),
             "--populate", server.endpoint_url],
            check=True,
        )  # fmt: skip
        pairs = len(accounts) * len(REGIONS)
        print(f"populated {pairs} pairs in {time.perf_counter() - began:.1f}s", flush=True)
        endpoint = server.endpoint_url
        if options.latency:
            port = int(server.endpoint_url.rsplit(":", 1)[1])
            endpoint = f"http://127.0.0.1:{Relay(port, options.latency / 1000).port}"
        with tempfile.TemporaryDirectory() as scratch:
            accounts_file = Path(scratch) / "accounts.txt"
            accounts_file.write_text("\n".join(accounts) + "\n")
            wall_n, rss_n, report_n = run_audit(endpoint, accounts_file, options.concurrency)
            wall_1, rss_1, report_1 = run_audit(endpoint, accounts_file, 1)
    finally:
        server.stop()
    assert report_n["findings"] == report_1["findings"], "the two runs disagree"
    assert len(report_n["accounts"]["pairs"]) == pairs
    unread = [p for p in report_n["accounts"]["pairs"] if p["unreadable"]]
    assert not unread, f"pairs not read: {unread}"
    ratio = wall_n / wall_1
    print(f"pairs: {pairs} ({options.accounts} accounts x {len(REGIONS)} regions), "
          f"{sum(p['runs'] for p in report_n['accounts']['pairs'])} runs, "
          f"{len(report_n['findings'])} findings, latency {options.latency:g} ms")  # fmt: skip
    print(f"one after another (--concurrency 1): {wall_1:.1f}s, peak RSS {rss_1:.0f} MB")
    print(f"concurrent (--concurrency {options.concurrency}): {wall_n:.1f}s, "
          f"peak RSS {rss_n:.0f} MB")  # fmt: skip
    passed = {"wall <= 0.5 x one after another": ratio <= 0.5, "peak RSS < 300 MB": rss_n < 300}
    print(f"ratio: {ratio:.2f}")
    for target, ok in passed.items():
        print(f"{'PASS' if ok else 'FAIL'}: {target}")
    if not all(passed.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
