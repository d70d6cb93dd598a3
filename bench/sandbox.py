"""Sandbox overhead: per-job latency (p50/p95) and throughput of the process backend and
the Docker warm pool, each against the SAME calls made in-process in the same run, plus
the cost of starting a container.

    python3 bench/sandbox.py [--jobs 300] [--backends process,docker] [--json]

The in-process baseline executes this file's own trusted, seed-like environment
directly (never untrusted code). Overhead = sandboxed time - in-process time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time

from _common import ROOT, percentile, timed  # before evoenv: it puts the repository on sys.path

from evoenv.sandbox import open_sandbox, protocol

TRUSTED_ENV = '''
import random
from evoenv.sdk import Environment


class SumEnv(Environment):
    name = "bench_sum"
    description = "sum a short list of integers"
    max_difficulty = 5

    def sample(self, seed, difficulty):
        rng = self.rng(seed, difficulty)
        return {"xs": [rng.randint(-50, 50) for _ in range(4 * difficulty)]}

    def prompt(self, instance):
        return "Sum: " + ", ".join(map(str, instance["xs"]))

    def reference(self, instance):
        return str(sum(instance["xs"]))

    def score(self, instance, answer):
        return 1.0 if self.parse_int(answer) == sum(instance["xs"]) else 0.0
'''

TRIVIAL = [protocol.score({"xs": [1, 2]}, "3")]
BATCH = [protocol.render(s, 3) for s in range(8)]


def in_process_runner():
    """Run calls on the trusted env in this process: the baseline (fresh load per job, like a job)."""
    sys.path.insert(0, str(ROOT / "sandbox"))
    from evoenv_guest import runner

    def run(calls):
        env = runner.load_environment(TRUSTED_ENV)  # trusted bench code, not a candidate
        return [runner.call(env, spec) for spec in calls]

    return run


def percentiles(samples: list[float]) -> dict:
    return {"p50_ms": 1000 * percentile(samples, 50), "p95_ms": 1000 * percentile(samples, 95)}


def time_calls(run, calls, jobs: int) -> list[float]:
    return timed(lambda: run(calls), jobs)


def throughput(pool, calls, jobs: int, threads: int) -> float:
    counter = iter(range(jobs))
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            assert pool.run(TRUSTED_ENV, calls).ok

    began = time.perf_counter()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return jobs / (time.perf_counter() - began)


def bench_backend(kind: str, jobs: int, baseline: dict) -> dict:
    row = {"backend": kind}
    with open_sandbox(kind, workers=1) as pool:
        run = lambda calls: pool.run(TRUSTED_ENV, calls)  # noqa: E731
        assert run(TRIVIAL).ok  # warm up (the first container/zygote is already started)
        for name, calls in (("trivial", TRIVIAL), ("batch8", BATCH)):
            stats = percentiles(time_calls(run, calls, jobs if name == "trivial" else max(20, jobs // 5)))
            base = baseline[name]
            row[name] = {**stats, "overhead_p50_ms": stats["p50_ms"] - base["p50_ms"],
                         "ratio_p50": stats["p50_ms"] / base["p50_ms"]}
    with open_sandbox(kind, workers=2) as pool:
        pool.run(TRUSTED_ENV, TRIVIAL)
        rate = throughput(pool, TRIVIAL, jobs, threads=2)
        row["throughput_jobs_s"] = rate
        row["throughput_ratio"] = rate / baseline["trivial_rate"]
        if kind == "docker":
            starts = []
            for _ in range(3):  # explicit cold starts of a container (create + start + zygote ready)
                began = time.perf_counter()
                container = pool._start()
                starts.append(time.perf_counter() - began)
                pool._retire(container)
            row["container_start_s"] = statistics.median(starts)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=300, help="jobs per measurement")
    parser.add_argument("--backends", default="process,docker")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()

    local = in_process_runner()
    local(TRIVIAL)
    baseline = {name: percentiles(time_calls(local, calls, args.jobs)) for name, calls in
                (("trivial", TRIVIAL), ("batch8", BATCH))}
    baseline["trivial_rate"] = 1000 / baseline["trivial"]["p50_ms"]
    rows = [bench_backend(kind, args.jobs, baseline) for kind in args.backends.split(",") if kind]
    report = {"jobs": args.jobs, "in_process": baseline, "backends": rows}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"in-process baseline: trivial p50 {baseline['trivial']['p50_ms']:.3f} ms, "
          f"batch8 p50 {baseline['batch8']['p50_ms']:.3f} ms")
    print(f"{'backend':8} {'job':8} {'p50 ms':>8} {'p95 ms':>8} {'overhead p50':>13} {'x in-proc':>10}")
    for row in rows:
        for name in ("trivial", "batch8"):
            r = row[name]
            print(f"{row['backend']:8} {name:8} {r['p50_ms']:8.2f} {r['p95_ms']:8.2f} "
                  f"{r['overhead_p50_ms']:10.2f} ms {r['ratio_p50']:9.1f}x")
        print(f"{row['backend']:8} throughput {row['throughput_jobs_s']:.0f} trivial jobs/s with 2 workers "
              f"({row['throughput_ratio']:.2f}x in-process single-thread rate)")
        if "container_start_s" in row:
            print(f"{row['backend']:8} container start {row['container_start_s'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
