"""Nothing of one job reaches the next (issue 18, items 3 and 4).

Every test here runs its jobs one after another in ONE worker (a single zygote or
container), with the language layers off, so only the OS layers and the zygote's own
design stand between a job and the one before it."""

from __future__ import annotations

import secrets

import pytest
from hostile_programs import (
    FIND_FILES,
    LEAVE_FILES,
    NEEDS_MEMORY,
    PLANT_MODULES,
    PRLIMIT_OTHERS,
    READ_PROC_1,
    SQUAT_SCRATCH,
    SYS_PATH_PROBE,
    env,
    memory_hunt,
    secret_carrier,
)

from evoenv.sandbox import Limits, open_sandbox
from tests.conftest import docker_available, require

BACKENDS = ["process", pytest.param("docker", marks=pytest.mark.docker)]
DOCKER = [pytest.param("docker", marks=pytest.mark.docker)]
SAMPLE = [{"op": "sample", "seed": 0, "difficulty": 1}]
#: Room for a job that scans its own memory page by page.
LIMITS = Limits(cpu_s=30.0, wall_s=60.0, memory_mb=1024)
_pools: dict = {}


@pytest.fixture(scope="module", autouse=True)
def _close_pools():
    yield
    for pool in _pools.values():
        pool.close()
    _pools.clear()


def one_worker(backend: str):
    """A pool of ONE worker: every job of a test lands in the same zygote or container."""
    if backend not in _pools:
        if backend == "docker":
            ok, why = docker_available()
            require(ok, why)
        _pools[backend] = open_sandbox(backend, workers=1, limits=LIMITS, static_policy=False,
                                       restricted_builtins=False)
    return _pools[backend]


def value(result):
    assert result.ok, f"{result.outcome}: {result.detail[:500]}"
    assert result.results[-1].ok, result.results[-1].error
    return result.results[-1].value


@pytest.mark.parametrize("backend", BACKENDS)
def test_next_job_finds_nothing_of_the_previous_one_in_memory(backend):
    """Job A carries four secrets: in its source, in the instance it generates (the planted
    solution), in an instance and in an answer the host sends. Job B searches every live
    Python object and its raw memory (heap and arenas, freed blocks included) for them."""
    pool = one_worker(backend)
    token = lambda what: f"evoenv-{what}-{secrets.token_hex(12)}"  # noqa: E731
    source, generated, instance, answer = token("source"), token("generated"), token("instance"), token("answer")
    carrier = secret_carrier(source, generated[::-1])
    calls = [{"op": "describe"}, {"op": "render", "seed": 1, "difficulty": 1},
             {"op": "score", "instance": {"planted": instance}, "answer": answer}]
    hunt = memory_hunt({"source": source, "generated": generated, "instance": instance, "answer": answer})
    for _ in range(2):  # the second round also meets what the first hunt left behind
        result = pool.run(carrier, calls)
        assert result.ok and result.results[1].value["instance"] == {"planted": generated}
        assert value(pool.run(hunt, SAMPLE)) == {"found": []}


@pytest.mark.parametrize("backend", BACKENDS)
def test_nothing_writable_on_sys_path_and_no_planted_module_imports(backend):
    """Docker had WORKDIR /tmp, so /tmp led sys.path: a job planted a module there."""
    pool = one_worker(backend)
    pool.run(PLANT_MODULES, SAMPLE)
    seen = value(pool.run(SYS_PATH_PROBE, SAMPLE))
    assert seen == {"writable": [], "planted": False}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_job_cannot_lower_the_zygotes_limits(backend):
    """A job that prlimits every process it can name; the next honest job still gets the
    memory and the open files its limits allow. prlimit on any other pid is refused."""
    pool = one_worker(backend)
    assert value(pool.run(PRLIMIT_OTHERS, SAMPLE)) == {"changed": [], "other_pid": "EPERM"}
    for _ in range(2):
        result = pool.run(NEEDS_MEMORY, SAMPLE)
        assert result.ok, f"{result.outcome}: {result.detail[:300]}"


@pytest.mark.parametrize("backend", DOCKER)
def test_a_job_cannot_squat_the_next_jobs_scratch(backend):
    pool = one_worker(backend)
    pool.run(SQUAT_SCRATCH, SAMPLE)
    for _ in range(2):
        result = pool.run(env(), SAMPLE)
        assert result.ok, f"{result.outcome}: {result.detail[:300]}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_files_a_job_leaves_do_not_reach_the_next(backend):
    """Read-only directories in /tmp, /dev/shm and the scratch, which a cleaner running
    as the job's uid could not empty."""
    pool = one_worker(backend)
    assert pool.run(LEAVE_FILES, SAMPLE).ok
    seen = value(pool.run(FIND_FILES, SAMPLE))
    assert not any("evoenv-keep" in names for names in seen.values()), seen


@pytest.mark.parametrize("backend", DOCKER)
def test_proc_1_is_hidden(backend):
    """In Docker the zygote is PID 1: a job must not see it (or any process) in /proc."""
    seen = value(one_worker(backend).run(READ_PROC_1, SAMPLE))
    assert seen["/proc"] in ([], "FileNotFoundError"), seen
    for name in ("status", "cmdline", "environ", "limits"):
        assert seen[name] in ("FileNotFoundError", "PermissionError"), (name, seen[name])


@pytest.mark.parametrize("backend", DOCKER)
def test_each_docker_job_has_a_uid_of_its_own(backend):
    """Not root, not the zygote's, not the previous job's."""
    pool = one_worker(backend)
    probe = env("import os", sample='return {"uid": os.getuid(), "euid": os.geteuid()}')
    uids = [value(pool.run(probe, SAMPLE)) for _ in range(3)]
    assert all(u["uid"] == u["euid"] >= 100000 for u in uids), uids
    assert uids[0]["uid"] != uids[1]["uid"] != uids[2]["uid"], uids
