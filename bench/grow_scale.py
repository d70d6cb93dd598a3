"""Grow throughput against admission workers: candidates admitted per minute for 1, 2 and 4
workers, locally and on a Ray cluster (``--ray``: a head and one worker node started here),
with a simulated model latency (the replay test double's ``latency``), as ratios to 1 worker.

    python3 bench/grow_scale.py [--latency 1.0] [--ray]

Each configuration runs one round of the six good environments of tests/grow/envs (all admitted:
L1-L5, novelty, review, calibration) on a fresh copy of a seeded SQLite registry. It also prints
the per-candidate cost split into model wait and sandbox/CPU time, which docs/scaling.md scales
to a cluster on paper.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import _common  # puts the repository on sys.path

from evoenv.grow import GrowConfig, GrowRun
from evoenv.policy.replay import ReplayPolicy
from evoenv.registry import open_registry
from evoenv.sandbox import open_sandbox
from tests.grow.fixture import Case, env, plain, write_replay
from tests.grow.helpers import seed_registry

GOOD = ["hanoi_move.py", "josephus.py", "stack_machine.py", "blocked_paths.py", "bipartite.py", "coin_ways.py"]


def one_run(template: Path, folder: Path, workers: int, latency: float, executor: str) -> dict:
    from evoenv.cluster import open_admission_sandbox

    folder.mkdir()
    db = folder / "evoenv.db"
    shutil.copyfile(template, db)
    replay = write_replay(folder / "replay.jsonl", [Case(f"r1s{i}", f, plain(env(f)), "admitted", None, "")
                                                     for i, f in enumerate(GOOD)])
    config = GrowConfig(rounds=1, batch=len(GOOD), seed=1, admission_workers=workers, state_dir=str(folder / "runs"),
                        sandbox="process", sandbox_workers=workers, executor=executor,
                        admission={"cpu_s": 3.0, "wall_s": 6.0, "memory_mb": 512})
    policy = ReplayPolicy(replay, latency=latency)
    with open_registry(f"sqlite:///{db}") as registry, \
            open_admission_sandbox(executor, "process", workers) as sandbox:
        run = GrowRun(config, registry, policy, sandbox)
        started = time.perf_counter()
        report = run.run()
        seconds = time.perf_counter() - started
    admitted = sum(r.admitted for r in report.rounds)
    stage_s = sum(s["duration_s"] for slot in report.slots for s in slot.stages)
    return {"admitted": admitted, "seconds": seconds, "per_min": 60 * admitted / seconds,
            "stage_s_per_candidate": stage_s / len(report.slots)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0, help="simulated seconds per model call")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--ray", action="store_true", help="also on a local Ray cluster (head + 1 worker node)")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    root = Path(tempfile.mkdtemp(prefix="grow_scale"))
    template = root / "seeded.db"
    with open_sandbox("process", workers=2) as sandbox:
        seed_registry(f"sqlite:///{template}", sandbox)
    executors = ["local"]
    cluster = None
    if args.ray:
        cluster = start_ray()
        executors.append(f"ray={cluster[0]}")
    try:
        # The CPU cost of one candidate: no model latency, one worker (what a cluster core must do).
        cpu = one_run(template, root / "cpu", 1, 0.0, "local")
        print(f"grow_scale: {len(GOOD)} candidates a run; without model latency one worker takes "
              f"{cpu['seconds'] / len(GOOD):.2f} s a candidate ({cpu['per_min']:.1f} admitted per minute)")
        print(f"model latency {args.latency:.2f} s per call")
        print(f"{'executor':<10}{'workers':>8}{'admitted':>10}{'seconds':>9}{'per min':>9}{'ratio':>7}"
              f"{'stage s/cand':>14}")
        for executor in executors:
            base = None
            for workers in counts:
                folder = root / f"{executor.split('=')[0]}-{workers}"
                result = one_run(template, folder, workers, args.latency, executor)
                base = base or result["per_min"]
                print(f"{executor.split('=')[0]:<10}{workers:>8}{result['admitted']:>10}{result['seconds']:>9.1f}"
                      f"{result['per_min']:>9.2f}{result['per_min'] / base:>7.2f}"
                      f"{result['stage_s_per_candidate']:>14.2f}", flush=True)
    finally:
        if cluster is not None:
            for proc in reversed(cluster[1]):
                stop_ray(proc)
        shutil.rmtree(root, ignore_errors=True)


def start_ray():
    """A head and one worker node on this machine (1 CPU each), as the Ray test starts them."""
    import os
    import subprocess

    from tests.grow.test_grow_ray import ray_command, wait_for_nodes
    from tests.policy.test_openai import free_port

    temp = tempfile.mkdtemp(prefix="rayb", dir="/tmp")
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "PYTHONPATH": str(_common.ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    common = ["--block", "--num-cpus=1", "--disable-usage-stats"]
    procs = [subprocess.Popen([*ray_command(), "start", "--head", f"--port={address.split(':')[1]}",
                               "--include-dashboard=false", f"--temp-dir={temp}", *common], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    wait_for_nodes(address, env, 1, procs)
    procs.append(subprocess.Popen([*ray_command(), "start", f"--address={address}", *common], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
    wait_for_nodes(address, env, 2, procs)
    return address, procs


def stop_ray(proc) -> None:
    from tests.grow.test_grow_ray import stop

    stop(proc)


if __name__ == "__main__":
    main()
