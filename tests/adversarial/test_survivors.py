"""No job outlives its host command or its zygote (issue 18, item 5).

A host process (a plain ``python`` running a pool, as the CLI would) starts a job that
sleeps; the test then interrupts the host (SIGINT, as Ctrl-C does; SIGTERM) or kills the
zygote, and within a bounded wait no process of that zygote and (Docker) no container of
that pool may remain. Waits are bounds, never timing assertions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_programs import SLEEPER

from tests.conftest import docker_available, require

REPO = Path(__file__).resolve().parents[2]
BOUND_S = 45.0

HOST = '''
import json, sys
from evoenv.sandbox import Limits, open_sandbox
backend, code = sys.argv[1], sys.stdin.read()
pool = open_sandbox(backend, workers=1, limits=Limits(cpu_s=100, wall_s=200, memory_mb=512),
                    static_policy=False, restricted_builtins=False)
worker = next(iter(pool._all))
print(json.dumps({"zygote": worker.proc.pid if backend == "process" else None,
                  "container": getattr(worker, "id", None), "pool": getattr(pool, "pool_id", None)}), flush=True)
result = pool.run(code, [{"op": "sample", "seed": 0, "difficulty": 1}])
print(json.dumps({"outcome": result.outcome}), flush=True)
pool.close()
'''


def _live(pids: set[int]) -> set[int]:
    """Which of ``pids`` still run (zombies run nothing: left out)."""
    out = subprocess.run(["ps", "-eo", "pid=,stat="], capture_output=True, text=True, check=True).stdout
    alive = {int(pid) for pid, stat in (line.split() for line in out.splitlines()) if not stat.startswith("Z")}
    return pids & alive


def _descendants(root: int) -> set[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        pid, ppid = map(int, line.split())
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _wait_until(condition, bound: float = BOUND_S, step: float = 0.2):
    deadline = time.monotonic() + bound
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def _start_host(backend: str):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    host = subprocess.Popen([sys.executable, "-c", HOST, backend], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, cwd=str(REPO), text=True)
    host.stdin.write(SLEEPER)
    host.stdin.close()
    info = json.loads(host.stdout.readline() or "null")
    assert info, "the host process did not start its pool"
    return host, info


def _running_job_process(info) -> set[int]:
    """The zygote and its children once the job runs (then a spare child is forked too)."""
    zygote = info["zygote"]
    found = _wait_until(lambda: len(_descendants(zygote)) >= 2 and _descendants(zygote))
    assert found, "the sleeping job never started"
    return {zygote, *found}


def _docker_job_running(client, info) -> bool:
    def two_processes():
        try:
            return len(client.api.top(info["container"])["Processes"]) >= 2
        except Exception:  # not started yet
            return False
    return _wait_until(two_processes)


def _pool_containers(client, info) -> list:
    return client.api.containers(all=True, filters={"label": f"evoenv.sandbox.pool={info['pool']}"})


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_no_job_survives_an_interrupted_host_process(how):
    host, info = _start_host("process")
    try:
        processes = _running_job_process(info)
        host.send_signal(getattr(signal, how))
        host.wait(timeout=BOUND_S)
        left = _wait_until(lambda: not _live(processes)) or _live(processes)
        assert left is True, f"still running after {how} of the host: {left}"
    finally:
        host.kill()
        host.wait()


def test_no_job_survives_its_zygote():
    host, info = _start_host("process")
    try:
        processes = _running_job_process(info)
        os.kill(info["zygote"], signal.SIGKILL)
        left = _wait_until(lambda: not _live(processes)) or _live(processes)
        assert left is True, f"still running after the zygote was killed: {left}"
        assert json.loads(host.stdout.readline())["outcome"] == "crash"
    finally:
        host.kill()
        host.wait()


@pytest.mark.docker
@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_no_container_survives_an_interrupted_host_process(how):
    ok, why = docker_available()
    require(ok, why)
    import docker

    client = docker.from_env()
    host, info = _start_host("docker")
    try:
        assert _docker_job_running(client, info), "the sleeping job never started"
        host.send_signal(getattr(signal, how))
        host.wait(timeout=BOUND_S)
        left = _wait_until(lambda: not _pool_containers(client, info)) or _pool_containers(client, info)
        assert left is True, f"containers left after {how} of the host: {left}"
    finally:
        host.kill()
        host.wait()
        for leftover in _pool_containers(client, info):
            client.api.remove_container(leftover["Id"], force=True)
