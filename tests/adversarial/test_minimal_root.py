"""The process backend's minimal root: a job sees the interpreter, its libraries, the guest
package and a few device nodes -- no other host file, however world-readable -- while
everything an environment may import (lazily too) still works.

With the language layers off (``os`` pools) the job may call ``open`` and ``os`` freely, so
only the minimal root stands between it and the host files. Under CI=true a host without
the layer fails these tests instead of skipping them."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from battery_pools import battery_pool
from evoenv.paths import guest_root
from hostile_programs import env
from tests.conftest import require

REPO = Path(__file__).resolve().parents[2]
SAMPLE = [{"op": "sample", "seed": 0, "difficulty": 1}]
#: What "/" of the minimal root may hold besides the paths leading to the interpreter and guest.
BASE_ENTRIES = {"dev", "etc", "proc", "tmp", "lib", "lib64", "lib32", "libx32", "usr"}


def _pool(layers: str):
    pool = battery_pool("process", layers)
    require(pool.layers.get("rootfs", False), f"the process sandbox has no minimal root here: {pool.notes}")
    return pool


def _job_value(pool, attack: str, sample: str):
    result = pool.run(env(attack, sample=sample), SAMPLE)
    assert result.ok, f"{result.outcome}: {result.detail[:500]}"
    assert result.results[0].ok, result.results[0].error
    return result.results[0].value


TRY_READ = '''
import os
PATHS = {paths}
def attempt(path):
    try:
        with open(path) as f:
            return "read: " + f.read(80)
    except OSError as exc:
        return type(exc).__name__
'''


@pytest.fixture
def canaries():
    """World-readable files the test creates on the host: in the checkout and in /tmp."""
    made = []
    for folder in (REPO, Path("/tmp")):
        path = folder / f".evoenv-rootfs-canary-{os.getpid()}"
        path.write_text("host secret")
        path.chmod(0o644)
        made.append(path)
    yield made
    for path in made:
        path.unlink(missing_ok=True)


def test_job_cannot_read_world_readable_host_files(canaries):
    pool = _pool("os")
    targets = [p for p in ("/etc/passwd", "/etc/hostname", "/etc/os-release") if os.path.isfile(p)]
    targets += [str(p) for p in canaries]
    for path in targets:  # the host itself can read every one of them
        with open(path) as f:
            assert f.read(1)
    seen = _job_value(pool, TRY_READ.format(paths=json.dumps(targets)),
                      'return {p: attempt(p) for p in PATHS}')
    assert seen == {p: "FileNotFoundError" for p in targets}


def test_root_lists_only_the_minimal_set():
    pool = _pool("os")
    seen = _job_value(pool, 'import os', 'return {d: sorted(os.listdir(d)) for d in ("/", "/etc", "/dev", "/proc")}')
    leading = {Path(os.path.realpath(p)).parts[1] for p in (sys.prefix, sys.base_prefix, guest_root())}
    assert set(seen["/"]) <= BASE_ENTRIES | leading, seen["/"]
    assert set(os.listdir("/")) - set(seen["/"]), "the host's / should hold more than the job's"
    # the loader's cache; a Debian interpreter also keeps its sitecustomize in /etc/python3.X
    assert set(seen["/etc"]) <= {"ld.so.cache", f"python{sys.version_info[0]}.{sys.version_info[1]}"}
    assert "ld.so.cache" in seen["/etc"]
    assert set(seen["/dev"]) <= {"null", "zero", "random", "urandom", "shm"}
    assert seen["/proc"] == []


def test_host_work_tree_is_not_visible(canaries):
    """Of the folder holding this checkout (e.g. /work, with other checkouts and registry
    files) and of the checkout itself, a job sees at most the path down to the guest package."""
    pool = _pool("os")
    folders = [str(REPO.parent), str(REPO), str(REPO / "evoenv"), str(REPO / "tests")]
    seen = _job_value(pool, 'import os\nFOLDERS = ' + json.dumps(folders) + '''
def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return type(exc).__name__
''', 'return {p: listing(p) for p in FOLDERS}')
    guest = Path(os.path.realpath(guest_root())) / "evoenv_guest"
    on_the_way = {str(p.parent): p.name for p in [guest, *guest.parents] if p.parent != p}
    assert {canaries[0].name, "evoenv", "tests"} <= set(os.listdir(REPO))  # the host sees them all
    for folder in folders:
        visible = seen[folder]
        if folder in on_the_way:
            assert visible == [on_the_way[folder]], (folder, visible)
        else:
            assert visible == "FileNotFoundError", (folder, visible)
    assert canaries[0].name not in json.dumps(seen)


def test_guest_package_holds_only_itself():
    pool = _pool("os")
    guest = os.path.realpath(guest_root())
    seen = _job_value(pool, 'import os', f'return sorted(os.listdir({guest!r}))')
    assert seen == ["evoenv_guest"]


LAZY = '''
import decimal, fractions, json, random, re, statistics
import networkx
'''
LAZY_SAMPLE = '''
rng = random.Random("seed-" + str(seed))
g = networkx.gnp_random_graph(12, 0.4, seed=seed)
flow = networkx.DiGraph([(0, 1, {"capacity": 3}), (1, 2, {"capacity": 2})])
return {
    "decimal": str(decimal.Decimal(1) / decimal.Decimal(7)),
    "context": str(decimal.getcontext().prec),
    "fraction": str(fractions.Fraction(3, 9) + fractions.Fraction(1, 6)),
    "stats": [statistics.fmean([1, 2, 4]), statistics.median([3, 1, 2]), round(statistics.stdev([1, 2, 4]), 6)],
    "json": json.loads(json.dumps({"a": [1.5, None, "x"]})),
    "re": re.findall(r"[0-9]+", "a1b22c333"),
    "random": rng.randint(0, 10**6) == random.Random("seed-" + str(seed)).randint(0, 10**6),
    "pagerank": round(sum(networkx.pagerank(g).values()), 6),
    "isomorphic": networkx.is_isomorphic(g, g.copy()),
    "flow": networkx.maximum_flow_value(flow, 0, 2),
    "matching": len(networkx.max_weight_matching(networkx.complete_graph(4))),
}
'''
LAZY_EXPECTED = {"decimal": "0.1428571428571428571428571429", "context": "28", "fraction": "1/2",
                 "stats": [7 / 3, 2, 1.527525], "json": {"a": [1.5, None, "x"]}, "re": ["1", "22", "333"],
                 "random": True, "pagerank": 1.0, "isomorphic": True, "flow": 2, "matching": 2}


def test_allowed_modules_and_their_lazy_imports_work_with_every_layer():
    """Through the static policy and restricted builtins: what environments really use,
    including imports made only on first call (networkx.pagerank pulls in numpy/scipy)."""
    assert _job_value(_pool("full"), LAZY, LAZY_SAMPLE) == LAZY_EXPECTED


LAZY_EXTRA = """
out["time"] = [time.strftime("%Y-%m-%d", time.gmtime(0)), time.localtime(0).tm_year]
out["array"] = networkx.to_numpy_array(networkx.path_graph(3)).sum().item()
out["loaded"] = sorted(m for m in ("numpy", "scipy") if m in sys.modules)
return out
"""


def test_lazy_extension_modules_and_time_work_in_the_minimal_root():
    """Extension modules first imported inside the job (numpy, scipy: by networkx.pagerank and
    to_numpy_array) load their shared libraries from the bound library folders; time works
    without /etc/localtime (UTC)."""
    sample = LAZY_SAMPLE.replace("return {", "out = {") + LAZY_EXTRA
    seen = _job_value(_pool("os"), LAZY + "import sys, time", sample)
    assert seen.pop("loaded") == ["numpy", "scipy"]
    assert seen.pop("time") == ["1970-01-01", 1970]
    assert seen.pop("array") == 4.0
    assert seen == LAZY_EXPECTED


def test_fallback_when_the_root_cannot_be_built(tmp_path):
    """A guest package under /tmp (where the root is assembled) cannot be bound: the zygote
    says why, keeps the read-only host view with every other layer, and jobs still run."""
    import shutil
    import subprocess

    from evoenv.sandbox.base import protocol

    require(battery_pool("process", "os").layers.get("rootfs", False), "no minimal root on this host")
    shutil.copytree(Path(guest_root()) / "evoenv_guest", tmp_path / "evoenv_guest",
                    ignore=shutil.ignore_patterns("__pycache__"))
    os.chmod(tmp_path, 0o755)  # the job uid must reach the guest in the fallback view
    env_vars = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1",
                "LANG": "C.UTF-8", "EVOENV_SANDBOX_UID": "200999"}
    proc = subprocess.Popen([sys.executable, "-s", "-m", "evoenv_guest.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env_vars, cwd="/")
    try:
        read = lambda n: os.read(proc.stdout.fileno(), n)  # noqa: E731
        ready = protocol.read_frame(read)
        assert ready["layers"]["rootfs"] is False
        assert ready["layers"]["mount"] and ready["layers"]["seccomp"] and ready["layers"]["non_root"]
        assert any(note.startswith("minimal root:") and str(tmp_path) in note for note in ready["notes"]), ready
        job = {"nonce": "n1", "code": env(), "calls": SAMPLE, "limits": {"cpu_s": 5, "wall_s": 10}}
        proc.stdin.write(protocol.encode(job))
        proc.stdin.flush()
        reply = protocol.read_frame(read)
        assert reply["nonce"] == "n1" and reply["outcome"] == "ok", reply
        assert reply["results"][0]["value"] == {"seed": 0}
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
