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
from hostile_programs import env

from evoenv.paths import guest_root
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


def _ways_down() -> dict[str, set[str]]:
    """folder -> the names in it that lead to what the root must hold: the guest package and
    the interpreter's prefixes (both may lie in the folder holding the checkout, e.g. /tmp)."""
    ways: dict[str, set[str]] = {}
    for target in (Path(os.path.realpath(guest_root())) / "evoenv_guest",
                   *(Path(os.path.realpath(p)) for p in (sys.prefix, sys.base_prefix))):
        for path in [target, *target.parents]:
            if path.parent != path:
                ways.setdefault(str(path.parent), set()).add(path.name)
    ways.setdefault("/tmp", set()).add("job")  # the job's own scratch
    return ways


def test_host_work_tree_is_not_visible(canaries):
    """Of the folder holding this checkout (e.g. /work, with other checkouts and registry
    files) and of the checkout itself, a job sees at most the path down to the guest package
    (and to the interpreter, where that lies there too)."""
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
    ways = _ways_down()
    assert {canaries[0].name, "evoenv", "tests"} <= set(os.listdir(REPO))  # the host sees them all
    for folder in folders:
        visible = seen[folder]
        if folder in ways:
            assert isinstance(visible, list) and set(visible) <= ways[folder], (folder, visible)
            assert folder not in on_the_way or on_the_way[folder] in visible, (folder, visible)
        else:
            assert visible == "FileNotFoundError", (folder, visible)
    assert canaries[0].name not in json.dumps(seen)


def test_guest_package_holds_only_itself():
    pool = _pool("os")
    guest = os.path.realpath(guest_root())
    seen = _job_value(pool, 'import os', f'return {{"entries": sorted(os.listdir({guest!r}))}}')
    assert seen == {"entries": ["evoenv_guest"]}


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


UNDER_TMP_JOB = TRY_READ + LAZY + '''
def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return type(exc).__name__
'''
UNDER_TMP_SAMPLE = ('out = {"read": {p: attempt(p) for p in PATHS}, "listing": listing(FOLDER)}\n'
                    + LAZY_SAMPLE.replace("return {", 'out["lazy"] = {') + "\nreturn out\n")
UNDER_TMP_HOST = '''
import json, sys
from evoenv.sandbox import open_sandbox
job = sys.stdin.read()
with open_sandbox("process", workers=1, static_policy=False, restricted_builtins=False) as pool:
    result = pool.run(job, [{"op": "sample", "seed": 0, "difficulty": 1}])
    print(json.dumps({"layers": pool.layers, "notes": pool.notes, "outcome": result.outcome,
                      "detail": result.detail, "value": result.results[0].value if result.results else None}))
'''


def test_minimal_root_holds_with_the_checkout_and_the_interpreter_under_tmp():
    """A copy of the checkout and a virtual environment, both under /tmp (as in CI): the
    minimal root still holds (it used to be built over /tmp and was then silently lost),
    jobs read no host file there, and lazy imports still work."""
    import shutil
    import subprocess
    import tempfile

    require(battery_pool("process", "os").layers.get("rootfs", False), "no minimal root on this host")
    top = Path(tempfile.mkdtemp(prefix="evoenv-under-tmp-", dir="/tmp"))
    try:
        top.chmod(0o755)
        clone = top / "clone"
        skip = shutil.ignore_patterns("__pycache__")
        shutil.copytree(REPO / "evoenv", clone / "evoenv", ignore=skip)
        shutil.copytree(Path(guest_root()) / "evoenv_guest", clone / "sandbox" / "evoenv_guest", ignore=skip)
        for secret in (clone / "secret.txt", top / "secret.txt"):
            secret.write_text("host secret")
            secret.chmod(0o644)
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(top / "venv")],
                       check=True)
        paths = ["/etc/passwd", str(clone / "secret.txt"), str(top / "secret.txt"), str(REPO / "pyproject.toml")]
        job = env(TRY_READ.format(paths=json.dumps(paths)) + UNDER_TMP_JOB[len(TRY_READ):] + f"FOLDER = {str(top)!r}",
                  sample=UNDER_TMP_SAMPLE)
        run = subprocess.run([str(top / "venv" / "bin" / "python"), "-c", UNDER_TMP_HOST], input=job, text=True,
                             capture_output=True, cwd=str(clone), timeout=300,
                             env={**os.environ, "PYTHONPATH": str(clone)})
        assert run.returncode == 0, run.stderr[-2000:]
        report = json.loads(run.stdout)
        assert report["layers"]["rootfs"] is True, report["notes"]
        assert report["outcome"] == "ok", report["detail"]
        seen = report["value"]
        assert seen["read"] == {p: "FileNotFoundError" for p in paths}
        assert seen["listing"] == ["clone", "venv"]  # only the ways down to the guest and the venv
        assert seen["lazy"] == LAZY_EXPECTED
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_a_missing_minimal_root_fails_closed_by_default():
    """Where jobs get a mount namespace but the minimal root could not be built, a pool
    refuses by default, with the worker's reason and the setting that accepts it."""
    from evoenv.sandbox import SandboxUnavailable
    from evoenv.sandbox import layers as L

    active = {name: True for name in L.LAYERS} | {"rootfs": False}
    required = L.required_layers(None, active, "process")
    assert "rootfs" in required
    with pytest.raises(SandboxUnavailable) as refused:
        L.enforce("process", active, required, ["minimal root: no pivot_root here"])
    message = str(refused.value)
    assert "rootfs" in message and "no pivot_root here" in message and L.ENV_VAR in message
    # without a mount namespace (an unprivileged host) the default asks for no minimal root
    assert "rootfs" not in L.required_layers(None, active | {"mount": False}, "process")
