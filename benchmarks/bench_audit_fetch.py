"""Benchmark: reading N trial components with the sagemaker source vs a bare boto3 loop.

Starts its own moto server, fills it with N trial components (parameters, artifacts,
one metric each, spread over trials of a few experiments) using concurrent boto3 calls,
then reads the same records twice: with a plain sequential boto3 loop, and with
``mlops_guard.metadata.sources.sagemaker.fetch_store``. Prints both wall times, their
ratio (target <= 2x) and the peak Python memory of each (tracemalloc; target < 250 MB).

    python benchmarks/bench_audit_fetch.py --components 10000
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.aws_server import FAKE_CREDENTIALS, start_moto_server  # noqa: E402

PER_TRIAL = 50
EXPERIMENTS = 5


def populate(server, count: int, workers: int) -> None:
    sagemaker = server.client("sagemaker")
    metrics = server.client("sagemaker-metrics")
    trials = max(1, count // PER_TRIAL)
    for index in range(EXPERIMENTS):
        sagemaker.create_experiment(ExperimentName=f"bench-exp-{index}")
    for index in range(trials):
        sagemaker.create_trial(
            TrialName=f"bench-trial-{index}", ExperimentName=f"bench-exp-{index % EXPERIMENTS}"
        )

    def one(index: int) -> None:
        name = f"bench-run-{index:06d}"
        sagemaker.create_trial_component(
            TrialComponentName=name,
            Status={"PrimaryStatus": "Completed"},
            Parameters={
                "learning_rate": {"NumberValue": 0.01 * (index % 10)},
                "algorithm": {"StringValue": "xgboost"},
            },
            InputArtifacts={"train": {"MediaType": "text/csv", "Value": f"s3://d/{name}.csv"}},
            OutputArtifacts={"model": {"Value": f"s3://m/{name}/model.tar.gz"}},
        )
        sagemaker.associate_trial_component(
            TrialComponentName=name, TrialName=f"bench-trial-{index % trials}"
        )
        metrics.batch_put_metrics(
            TrialComponentName=name,
            MetricData=[
                {"MetricName": "mape", "Timestamp": datetime.now(UTC), "Step": 0, "Value": 0.1}
            ],
        )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, _ in enumerate(pool.map(one, range(count)), start=1):
            if done % 1000 == 0:
                print(f"  populated {done}/{count}", flush=True)


def bare_loop(endpoint_url: str) -> int:
    """What a user would write with boto3 alone: page Search, list memberships, describe."""
    import boto3

    sagemaker = boto3.client("sagemaker", endpoint_url=endpoint_url)

    def search(resource: str) -> list[dict]:
        records, token = [], None
        while True:
            params = {"Resource": resource, "MaxResults": 100}
            if token:
                params["NextToken"] = token
            response = sagemaker.search(**params)
            records += response["Results"]
            token = response.get("NextToken")
            if not token:
                return records

    search("Experiment")
    trials = search("ExperimentTrial")
    components = {
        r["TrialComponent"]["TrialComponentName"]: r for r in search("ExperimentTrialComponent")
    }
    membership = {}
    for trial in trials:
        name = trial["Trial"]["TrialName"]
        summaries = sagemaker.list_trial_components(TrialName=name, MaxResults=100)
        membership[name] = [s["TrialComponentName"] for s in summaries["TrialComponentSummaries"]]
    described = [sagemaker.describe_trial_component(TrialComponentName=n) for n in components]
    return len(described)


def ours() -> int:
    from mlops_guard.metadata.sources.sagemaker import fetch_store

    store = fetch_store(pipelines=False)
    return sum(len(t.components) for e in store.experiments for t in e.trials)


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def peak_memory(function) -> float:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=10_000)
    parser.add_argument("--populate-workers", type=int, default=16)
    args = parser.parse_args()

    server = start_moto_server()
    try:
        os.environ.update(FAKE_CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
        print(f"populating {args.components} trial components ...", flush=True)
        populate_time, _ = timed(lambda: populate(server, args.components, args.populate_workers))
        print(f"  done in {populate_time:.1f}s")

        bare_time, bare_count = timed(lambda: bare_loop(server.endpoint_url))
        our_time, our_count = timed(ours)
        assert bare_count == our_count == args.components, (bare_count, our_count)
        bare_peak = peak_memory(lambda: bare_loop(server.endpoint_url))
        our_peak = peak_memory(ours)
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        print(f"components:           {args.components}")
        print(f"bare boto3 loop:      {bare_time:8.2f} s   peak {bare_peak:7.1f} MB (tracemalloc)")
        print(f"mlops-guard sagemaker:{our_time:8.2f} s   peak {our_peak:7.1f} MB (tracemalloc)")
        print(f"wall time ratio:      {our_time / bare_time:8.2f}x (target <= 2x)")
        print(f"process max RSS:      {maxrss:8.1f} MB (includes populating and both readers)")
        ok = our_time <= 2 * bare_time and our_peak < 250
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
