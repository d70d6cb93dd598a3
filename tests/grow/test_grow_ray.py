"""``evoenv grow --executor ray=ADDRESS`` on a real local Ray cluster: a head node and one more
worker node (two ``ray start`` processes on this machine), each with its own warm sandbox pool.
A grow round on the replay test double gives exactly the results of a local run."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from tests.conftest import require
from tests.grow.fixture import REPLAY_ADMISSION, cases, write_replay
from tests.grow.helpers import REPO, evoenv
from tests.policy.test_openai import free_port

CONFIG = """
rounds = 1
batch = 6
seed = 5
admission_workers = 2
state_dir = "runs"

[admission]
cpu_s = 3.0
wall_s = 6.0
memory_mb = 512
""" + REPLAY_ADMISSION
#: a round with two admissions, a duplicate and rejections at L1, L2 and L3
KEYS = ["r1s0", "r1s1", "r1s2", "r1s4", "r1s5", "r1s6"]


def ray_command() -> list[str]:
    found = shutil.which("ray")
    return [found] if found else [sys.executable, "-m", "ray.scripts.scripts"]


def alive_nodes(address: str, env: dict) -> int:
    probe = ("import ray; ray.init(address=%r, log_to_driver=False, configure_logging=False); "
             "print(sum(1 for n in ray.nodes() if n['Alive'])); ray.shutdown()" % address)
    try:
        done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return 0
    lines = done.stdout.strip().splitlines()
    return int(lines[-1]) if done.returncode == 0 and lines and lines[-1].isdigit() else 0


def wait_for_nodes(address: str, env: dict, count: int, procs: list, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise AssertionError(f"a `ray start` process exited early (rc {[p.poll() for p in procs]})")
        if alive_nodes(address, env) >= count:
            return
        time.sleep(2)
    raise AssertionError(f"the Ray cluster at {address} did not reach {count} nodes in {timeout:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    """End one `ray start --block` and everything it started (its own process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the daemons it started, should any outlive it
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def ray_cluster():
    try:
        import ray  # noqa: F401
    except ImportError:
        require(False, "Ray is not installed: pip install 'evoenv[cluster]'")
    temp = tempfile.mkdtemp(prefix="rayc", dir="/tmp")  # short: Ray's socket paths live under it
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0"}
    common = ["--block", "--num-cpus=1", "--disable-usage-stats"]
    procs = []
    try:
        with open(os.path.join(temp, "head.log"), "w") as log:
            procs.append(subprocess.Popen(
                [*ray_command(), "start", "--head", f"--port={port}", "--include-dashboard=false",
                 f"--temp-dir={temp}", *common], env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True))
        wait_for_nodes(address, env, 1, procs)
        with open(os.path.join(temp, "worker.log"), "w") as log:
            procs.append(subprocess.Popen([*ray_command(), "start", f"--address={address}", *common], env=env,
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        wait_for_nodes(address, env, 2, procs)
        yield address
    finally:
        for proc in reversed(procs):
            stop(proc)
        shutil.rmtree(temp, ignore_errors=True)


def outcomes(report: dict) -> dict:
    # Which list item L3 finds differing first is the global RNG's choice, not the executor's.
    return {c["key"]: (c["outcome"], c["failed_stage"], re.sub(r"\[\d+\]", "[i]", c["reason"].split(" (")[0]))
            for c in report["candidates"]}


@pytest.mark.slow
def test_grow_round_on_a_ray_cluster_equals_a_local_run(ray_cluster, new_shared_db, seed_sources, tmp_path):
    by_key = {c.key: c for c in cases(seed_sources)}
    plan = [by_key[k] for k in KEYS]
    reports = {}
    for executor in ("local", f"ray={ray_cluster}"):
        folder = tmp_path / executor.split("=")[0]
        folder.mkdir()
        replay = write_replay(folder / "completions.jsonl", plan)
        (folder / "grow.toml").write_text(CONFIG)
        result = evoenv(["grow", "--policy", f"replay:{replay}", "--config", "grow.toml", "--executor", executor,
                         "--json"], new_shared_db(), folder)
        assert result.returncode == 0, result.stderr[-3000:]
        reports[executor.split("=")[0]] = json.loads(result.stdout)
        if executor != "local":  # both nodes' sandbox pools took jobs
            jobs = [int(n) for n in re.findall(r"(\d+) jobs", result.stderr)]
            assert "admission ran on 2 Ray nodes" in result.stderr and len(jobs) == 2 and min(jobs) > 0, \
                result.stderr[-2000:]
    local, ray = outcomes(reports["local"]), outcomes(reports["ray"])
    assert ray == local
    assert {k: v[0] for k, v in local.items()} == {f"r1s{i}": c.outcome for i, c in enumerate(plan)}
    assert [r["admitted"] for r in reports["ray"]["rounds"]] == [2]


def test_ray_executor_errors_are_clear(tmp_path, seeded_db):
    url, _ = seeded_db
    bad = evoenv(["grow", "--policy", "replay:none.jsonl", "--executor", "spark"], url, tmp_path)
    assert bad.returncode == 2 and "unknown executor 'spark'" in bad.stderr
    # Without Ray installed the flag names the extra (Ray hidden from a fresh interpreter here).
    blocker = tmp_path / "no_ray"
    (blocker / "ray").mkdir(parents=True)
    (blocker / "ray" / "__init__.py").write_text("raise ImportError('Ray is hidden by this test')\n")
    env = {**os.environ, "EVOENV_DB": url, "PYTHONPATH": f"{blocker}{os.pathsep}{REPO}", "COLUMNS": "400"}
    hidden = subprocess.run([sys.executable, "-m", "evoenv", "grow", "--policy", "replay:none.jsonl",
                             "--executor", "ray"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert hidden.returncode == 2, hidden.stderr[-2000:]
    assert "pip install 'evoenv[cluster]'" in hidden.stderr and "Traceback" not in hidden.stderr
