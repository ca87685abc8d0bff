"""Speed of ``mlops-guard check`` on several cores, as ratios measured in the same run.

Targets (issue 13), for a 2-core machine:
  1. four distinct Python modules on a cold cache  <= 2 x  one module;
  2. 1,000 definitions on a cold cache, all cores  <= 0.6 x  the same run in one process
     (``--jobs 1``);
  3. a pre-commit-sized run (5 files)              <= 1.1 x  the same run in one process
     (it must stay in one process: no slower than before workers existed).

Run: ``python benchmarks/bench_parallel.py [--rounds N] [--definitions N]``. Prints the
core count, one line per measurement and PASS/FAIL per target; exits 1 if a target is
missed. Every measurement runs the real command in a fresh process; rounds are
interleaved and the fastest of each kept (on a shared machine the minimum is the run
least disturbed by others). With fewer than 2 cores the ratios say nothing and the
targets are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "mlops_guard" / "reference" / "definition.json"
KWARGS = (
    "{region: us-east-1, role: 'arn:aws:iam::123456789012:role/SageMakerPipelines', "
    "default_bucket: mlops-guard-reference}"
)
MODULE = '''
"""Team {index}'s pipeline: the reference pipeline under its own name."""
from mlops_guard.reference.pipeline import get_pipeline as reference


def get_pipeline(region, role, default_bucket):
    return reference(region, role, default_bucket, pipeline_name="team-{index}-forecast")
'''


CPU: dict[str, float] = {}
"""The fewest CPU seconds (user + system, the command and its workers) per command: on a
busy machine the wall-clock ratios depend on the cores others leave free, while CPU time
shows whether the parallel run does more work than the sequential one."""


def seconds(command: list[str], env: dict, cwd: Path, fresh_cache: Path | None = None) -> float:
    import resource

    if fresh_cache is not None:
        shutil.rmtree(fresh_cache, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode == 2:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{process.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    key = " ".join(command)
    CPU[key] = min(CPU.get(key, cpu), cpu)
    return elapsed


def fastest(measurements: dict, rounds: int) -> dict:
    """Each measurement ``rounds`` times, interleaved; the fastest of each."""
    best = dict.fromkeys(measurements, float("inf"))
    for _ in range(rounds):
        for name, measure in measurements.items():
            best[name] = min(best[name], measure())
    return best


def report(name: str, ratio: float, limit: float) -> bool:
    ok = ratio <= limit
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {ratio:.2f} (target <= {limit})")
    return ok


def bench_modules(work: Path, rounds: int, env: dict) -> list[bool]:
    try:
        import sagemaker  # noqa: F401
    except Exception:
        print("SKIP  modules: sagemaker SDK not installed (extra 'sdk')")
        return []
    repo = work / "modules"
    for index in range(4):
        package = repo / f"team{index}_pipelines"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "pipeline.py").write_text(MODULE.format(index=index))
    for count in (1, 4):
        entries = "".join(
            f"  - entry: team{index}_pipelines.pipeline:get_pipeline\n    kwargs: {KWARGS}\n"
            for index in range(count)
        )
        (repo / f"policy-{count}.yaml").write_text(f"extends: default\nmodules:\n{entries}")
    cache = work / "module-cache"
    env = {**env, "MLOPS_GUARD_CACHE_DIR": str(cache)}
    check = [sys.executable, "-m", "mlops_guard", "check", "--modules-only", "--allow-code"]

    commands = {}

    def run(count: int, *extra: str):
        command = [*check, "--policy", f"policy-{count}.yaml", *extra]
        commands[len(commands)] = " ".join(command)
        return lambda: seconds(command, env, repo, fresh_cache=cache)

    best = fastest(
        {"one": run(1), "four": run(4), "four, one process": run(4, "--jobs", "1")}, rounds
    )
    for index, (name, value) in enumerate(best.items()):
        cpu = CPU[commands[index]]
        label = f"{name} module{'s' if name != 'one' else ''}, cold"
        print(f"{label:<32}{value * 1000:8.0f} ms  (CPU {cpu * 1000:6.0f} ms)")
    return [report("four modules / one module, cold", best["four"] / best["one"], 2)]


def bench_tree(work: Path, count: int, rounds: int, env: dict) -> list[bool]:
    tree = work / "tree"
    tree.mkdir()
    text = REFERENCE.read_text()
    for index in range(count):
        # Every file differs (its bucket and run date), as a repository's pipelines do.
        document = json.loads(text.replace("mlops-guard-reference", f"team-{index:04d}-data"))
        document["Parameters"][0]["DefaultValue"] = f"2026-01-{index % 28 + 1:02d}"
        (tree / f"pipeline-{index:04d}.json").write_text(json.dumps(document, indent=2))
    five = [str(path) for path in sorted(tree.glob("*.json"))[:5]]
    cache = work / "tree-cache"
    env = {**env, "MLOPS_GUARD_CACHE_DIR": str(cache)}
    check = [sys.executable, "-m", "mlops_guard", "check"]
    subprocess.run([*check, str(REFERENCE)], capture_output=True, env=env, cwd=work)  # bytecode

    commands = {}

    def run(paths: list[str], *extra: str):
        command = [*check, *paths, *extra]
        commands[len(commands)] = " ".join(command)
        return lambda: seconds(command, env, work, fresh_cache=cache)

    best = fastest(
        {
            "tree, one process": run(["tree"], "--jobs", "1"),
            "tree": run(["tree"]),
            "five, one process": run(five, "--jobs", "1"),
            "five": run(five),
        },
        rounds,
    )
    for index, (name, value) in enumerate(best.items()):
        cpu = CPU[commands[index]]
        print(f"{name + ', cold':<32}{value * 1000:8.0f} ms  (CPU {cpu * 1000:6.0f} ms)")
    return [
        report(
            f"{count} definitions, all cores / one process, cold",
            best["tree"] / best["tree, one process"],
            0.6,
        ),
        report("5 files / one process (pre-commit)", best["five"] / best["five, one process"], 1.1),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--definitions", type=int, default=1000)
    parser.add_argument("--skip-modules", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from mlops_guard.parallel import default_jobs

    cores = default_jobs()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cores available: {cores} (os.cpu_count(): {os.cpu_count()}); load average {load:.1f}")
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(work / "modules")])}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode
        env.pop("MLOPS_GUARD_NO_CACHE", None)
        results = [] if args.skip_modules else bench_modules(work, args.rounds, env)
        results += bench_tree(work, args.definitions, args.rounds, env)
    if cores < 2:
        print("SKIP  fewer than 2 cores: the targets need at least 2")
        return 0
    print(f"load average after: {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
