"""The Docker warm pool: container flags, jobs over the attach socket (no exec per call),
recycling, cleanup and the image check. Real Docker; skipped only off CI without it."""

from __future__ import annotations

import pytest
from conftest import docker_available, require

from evoenv.sandbox import Limits, SandboxUnavailable, docker_backend, open_sandbox

pytestmark = pytest.mark.docker

ENV = '''
class Echo:
    name = "echo"
    description = "echo"
    max_difficulty = 2

    def sample(self, seed, difficulty):
        return {"seed": seed, "order": list({"a", "b", "c", "d", "e", "f"})}

    def prompt(self, instance):
        return str(instance["seed"])

    def reference(self, instance):
        return str(instance["seed"])

    def score(self, instance, answer):
        return float(answer == str(instance["seed"]))
'''
CALLS = [{"op": "describe"}, {"op": "render", "seed": 3, "difficulty": 1}]


@pytest.fixture(scope="module")
def client():
    ok, why = docker_available()
    require(ok, why)
    return docker_backend.docker_client()


def pool_containers(client, pool):
    return client.containers.list(all=True, filters={"label": f"{docker_backend.POOL_LABEL}={pool.pool_id}"})


def test_container_flags_and_no_exec(client):
    with open_sandbox("docker", workers=1, limits=Limits(cpu_s=2, wall_s=5, memory_mb=256)) as pool:
        for _ in range(3):
            result = pool.run(ENV, CALLS)
            assert result.ok and result.results[1].value["reference"] == "3"
        (container,) = pool_containers(client, pool)
        container.reload()
        host = container.attrs["HostConfig"]
        assert host["NetworkMode"] == "none"
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert host["PidsLimit"] == 256 and host["Memory"] == (256 + 512) * 2 ** 20 and host["NanoCpus"] == 10 ** 9
        assert "/tmp" in host["Tmpfs"]
        # container root, with only the capabilities that isolate each job (which keeps none)
        assert container.attrs["Config"]["User"] == "0:0"
        assert sorted(host["CapAdd"]) == sorted(docker_backend.ZYGOTE_CAPS)
        assert host["AutoRemove"] is True and container.attrs["Config"]["StdinOnce"] is True
        assert container.attrs["Config"]["WorkingDir"] == "/"
        assert container.labels[docker_backend.LABEL] == "1"
        assert not container.attrs.get("ExecIDs")  # jobs went over stdin, never exec_run
        assert pool_containers(client, pool)[0].id == container.id  # one warm container served all jobs
    assert pool_containers(client, pool) == []


def test_recycle_after_n_jobs_and_after_violation(client):
    with open_sandbox("docker", workers=1, limits=Limits(cpu_s=1, wall_s=3, memory_mb=256), recycle_after=2) as pool:
        ids = []
        for _ in range(3):
            assert pool.run(ENV, CALLS).ok
            ids.append(pool_containers(client, pool)[0].id)
        assert ids[0] == ids[1] != ids[2]  # recycled after 2 jobs
        result = pool.run(ENV + "\nwhile True:\n    pass\n", CALLS)
        assert result.outcome == "timeout"
        assert all(c.id != ids[2] for c in pool_containers(client, pool))  # a violation retires it
        assert pool.run(ENV, CALLS).ok
        assert len(pool_containers(client, pool)) == 1


def test_fresh_hash_seed(client):
    with open_sandbox("docker", workers=1) as pool:
        calls = [{"op": "sample", "seed": 0, "difficulty": 1}]
        starts = pool.starts
        one = pool.run(ENV, calls, fresh_hash_seed=1).results[0].value["order"]
        assert pool.run(ENV, calls, fresh_hash_seed=1).results[0].value["order"] == one
        assert pool.starts == starts + 1  # the seed-1 container is kept warm and reused
        others = {tuple(pool.run(ENV, calls, fresh_hash_seed=s).results[0].value["order"]) for s in (2, 3, 4, 5)}
        assert others - {tuple(one)}
        # the pool's own container plus warm ones for the SEEDED_KEPT most recent seeds
        assert len(pool_containers(client, pool)) == 1 + pool.SEEDED_KEPT


def test_guest_layers_reported(client):
    with open_sandbox("docker", workers=1, limits=Limits(min_layers=("all",))) as pool:
        assert all(pool.layers.values())
        # the zygote (container root with SYS_ADMIN) isolates each job itself, as in the process backend
        assert any(note.startswith("minimal root: /") for note in pool.notes), pool.notes


def test_missing_or_stale_image_is_refused(client, monkeypatch):
    with pytest.raises(SandboxUnavailable, match="build-image"):
        docker_backend.check_image(client, "evoenv-sandbox:no-such-tag")
    monkeypatch.setattr(docker_backend, "guest_code_hash", lambda root=None: "0" * 16)
    with pytest.raises(SandboxUnavailable, match="rebuild it with: bash sandbox/build-image"):
        docker_backend.check_image(client)
