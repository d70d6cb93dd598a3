"""The adversarial battery: every hostile program, on both backends, with every layer
on and with the language layers off (so the OS layers are proven on their own).
Afterwards the host must be untouched and the pools healthy."""

from __future__ import annotations

import os
import subprocess

import pytest
from battery_pools import BACKENDS, battery_pool, close_all
from hostile_programs import ETC_MARKER, MARKER, NONDETERMINISTIC, PROGRAMS, env

from evoenv.sandbox import open_sandbox
from tests.conftest import require

CALLS = [{"op": "describe"}, {"op": "render", "seed": 1, "difficulty": 1},
         {"op": "score", "instance": {"seed": 1}, "answer": "x"}]
JOB_UID_RANGE = range(200000, 201000)


def test_battery_is_big_enough():
    assert len(PROGRAMS) >= 40
    assert len({p.name for p in PROGRAMS}) == len(PROGRAMS)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layers", ["full", "os"])
@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_hostile_program(program, layers, backend):
    pool = battery_pool(backend, layers)
    result = pool.run(program.code, CALLS)
    expected = program.expected(backend, layers)
    assert result.outcome == expected, f"{program.name}: {result.outcome} ({result.detail[:300]})"
    check = program.check if layers == "full" or program.os_check is None else program.os_check
    if check and expected == "ok":
        check(result)
    if expected == "policy" and layers == "full":
        assert "line" in result.detail or "source is" in result.detail, result.detail
    assert not os.path.exists(MARKER) and not os.path.exists(ETC_MARKER)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nondeterministic_env_runs_and_differs(backend):
    """The sandbox runs it faithfully: the determinism stage (not the sandbox) must catch it."""
    pool = battery_pool(backend, "full")
    calls = [{"op": "sample", "seed": 1, "difficulty": 1}]
    first, second = pool.run(NONDETERMINISTIC, calls), pool.run(NONDETERMINISTIC, calls)
    assert first.ok and second.ok
    assert first.results[0].value != second.results[0].value


@pytest.mark.parametrize("backend", BACKENDS)
def test_files_do_not_leak_between_jobs(backend):
    pool = battery_pool(backend, "os")
    writer = env('for p in ("leak.txt", "/tmp/leak.txt", "/dev/shm/leak.txt"):\n    open(p, "w").write("secret")')
    reader = env('import os\nFOUND = [p for p in ("leak.txt", "/tmp/leak.txt", "/dev/shm/leak.txt") if os.path.exists(p)]',
                 sample='return {"found": FOUND}')
    assert pool.run(writer, CALLS).ok
    for _ in range(3):  # whichever worker runs it, nothing is left
        result = pool.run(reader, [{"op": "sample", "seed": 0, "difficulty": 1}])
        assert result.ok and result.results[0].value == {"found": []}
    assert not os.path.exists("/tmp/leak.txt")


def _processes() -> list[dict]:
    """Live processes; zombies are left out (they run nothing, and where PID 1 does not
    reap, an orphan of any earlier killed zygote lingers as one)."""
    rows = []
    out = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,uid=,stat=,args="], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        parts = line.split(None, 4)
        pid, ppid, uid, stat, args = parts if len(parts) == 5 else (*parts, "")
        if not stat.startswith("Z"):
            rows.append({"pid": int(pid), "ppid": int(ppid), "uid": int(uid), "args": args})
    return rows


def test_host_untouched_after_battery():
    """Runs after the battery (file order): no stray job processes, no marker files,
    pools healthy, and once closed no zygote or container is left."""
    from evoenv.sandbox.docker_backend import POOL_LABEL

    pools = dict(battery_pool.__globals__["_pools"])
    if not pools:  # run on its own: the battery tests above did not run in this session
        require(False, "no battery pool was opened in this session (run the whole file)")
    healthy = env()
    for key, pool in pools.items():
        assert pool.run(healthy, CALLS).ok, f"pool {key} unhealthy after the battery"
    battery_zygotes = {z.proc.pid for pool in pools.values() if pool.kind == "process" for z in pool._all if z.alive}
    import time

    def live_zygotes() -> set[int]:
        # Other pools of this test session (the shared ``sandbox`` fixture) are alive too.
        return {p["pid"] for p in _processes()
                if "evoenv_guest.worker" in p["args"] and p["uid"] not in JOB_UID_RANGE}

    deadline = time.monotonic() + 5  # an idle zygote reaps its last job within ~20 ms
    while True:
        zygotes = live_zygotes()
        job_processes = [p for p in _processes() if p["uid"] in JOB_UID_RANGE]
        if len(job_processes) <= len(zygotes) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for proc in job_processes:  # only each zygote's one pre-forked spare child may exist
        assert proc["ppid"] in zygotes, f"stray job process: {proc}"
    assert len(job_processes) <= len(zygotes)
    assert not os.path.exists(MARKER) and not os.path.exists(ETC_MARKER)
    close_all()
    leftover = [p for p in _processes() if p["pid"] in battery_zygotes or p["ppid"] in battery_zygotes
                or (p["uid"] in JOB_UID_RANGE and p["ppid"] not in live_zygotes())]
    assert leftover == [], leftover
    if any(key[0] == "docker" for key in pools):
        import docker

        client = docker.from_env()
        for pool in (p for p in pools.values() if p.kind == "docker"):
            # filter by pool: other test sessions on this machine may run containers too
            assert client.containers.list(all=True, filters={"label": f"{POOL_LABEL}={pool.pool_id}"}) == []


# ---- issue 18: a forged reply frame (NaN, 1e999) is refused by the zygote, which keeps serving --------------

def test_a_forged_frame_leaves_the_zygote_serving():
    from hostile_programs import FORGED_VALUES

    forged = [p for p in FORGED_VALUES if p.name.endswith("_frame")]
    with open_sandbox("process", workers=1) as pool:
        (zygote,) = pool._all
        for program in forged:
            result = pool.run(program.code, CALLS)
            assert result.outcome == "crash" and "malformed result" in result.detail, result.detail
        assert pool.run(env(), CALLS).ok
        assert pool._all == {zygote} and zygote.alive and zygote.jobs_run == len(forged) + 1
