"""List page latency of the registry browser with 10k environments in the registry.

    python3 bench/web.py [--envs 10000] [--requests 200] [--db sqlite:///path.db]

Fills a SQLite registry (through the Registry API) with synthetic environments,
then times page requests through the ASGI app in-process (httpx TestClient, so
no network), and prints p50/p95 with ratios to two baselines measured in the
same run: the ``/healthz`` route (the framework's own cost) and the raw
``Registry.list_envs`` call the page makes. Goal: list page p50 <= 200 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
from pathlib import Path

from _common import percentile, timed  # before evoenv: it puts the repository on sys.path
from fastapi.testclient import TestClient
from rich.progress import Progress

from evoenv.registry import open_registry
from evoenv.web import create_app

WORDS = ("graph", "path", "prime", "sum", "matrix", "string", "parity", "tree", "heap", "sort",
         "interval", "knapsack", "modular", "digit", "grid", "flow", "cycle", "subset", "tile", "queue")
STATUSES = ("admitted",) * 3 + ("rejected",) * 6 + ("candidate",)


def synthetic_source(i: int, rng: random.Random) -> tuple[str, str, str]:
    a, b = rng.sample(WORDS, 2)
    name = f"{a}_{b}_{i}"
    description = f"Compute the {a} {b} value of a random instance number {i}; answer in <answer>...</answer>."
    code = (f"import random\n\n\nclass Env{i}:\n    name = {name!r}\n    description = {description!r}\n"
            f"    max_difficulty = 10\n\n    def sample(self, seed, difficulty):\n"
            f"        rng = random.Random(seed * {i + 7} + difficulty)\n"
            f"        return {{'values': [rng.randint(0, 9) for _ in range(difficulty + {i % 5})]}}\n")
    return name, description, code


def fill(url: str, n: int) -> None:
    rng = random.Random(0)
    with open_registry(url, upgrade_schema=True) as reg, Progress() as progress:
        have = reg.count_envs()
        task = progress.add_task(f"filling registry ({have} there)", total=n, completed=have)
        run = reg.start_run("grow", {"bench": True})
        for i in range(have, n):
            name, description, code = synthetic_source(i, rng)
            rec = reg.add_candidate(code, name=name, description=description, max_difficulty=10,
                                    origin="generated", generation=i % 7, run_id=run,
                                    tags=(rng.choice(WORDS),))
            status = STATUSES[i % len(STATUSES)]
            if status == "admitted":
                reg.admit(rec.id, reward=rng.random())
            elif status == "rejected":
                reg.reject(rec.id, reason="bench", reward=rng.random())
            if i % 10 == 0:
                reg.record_calibration(rec.id, checkpoint="step-0", difficulty=3, n=8, passes=i % 9)
            progress.advance(task)
        reg.finish_run(run, "finished", {"tokens": n * 1500})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--db", default=None, help="registry URL (default: a new SQLite file in a temp folder)")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp(prefix='evoenv-bench-web-')) / 'registry.db'}"
    fill(url, args.envs)

    reg = open_registry(url)
    client = TestClient(create_app(reg))

    def get(path: str):
        def call():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code, response.text[:200])
        return call

    cases = {
        "baseline: GET /healthz": get("/healthz"),
        "baseline: Registry.list_envs(limit=50)": lambda: reg.list_envs(limit=50),
        "GET /envs": get("/envs"),
        "GET /envs?status=admitted&sort=reward": get("/envs?status=admitted&sort=reward"),
        "GET /envs?q=graph (full-text)": get("/envs?q=graph"),
        "GET /envs?tag=prime&origin=generated": get("/envs?tag=prime&origin=generated"),
        "GET /envs?page=150 (deep page)": get("/envs?page=150"),
        "GET /api/envs": get("/api/envs"),
        "GET /rejected": get("/rejected"),
        "GET /funnel": get("/funnel"),
    }
    print(f"\nregistry: {reg.count_envs()} environments ({url}); {args.requests} requests per row\n")
    print(f"{'case':44s} {'p50 ms':>8s} {'p95 ms':>8s} {'p50 / healthz':>14s} {'p50 / list_envs':>16s}")
    results = {name: [1000 * s for s in timed(fn, args.requests)] for name, fn in cases.items()}  # ms
    base_http = statistics.median(results["baseline: GET /healthz"])
    base_reg = statistics.median(results["baseline: Registry.list_envs(limit=50)"])
    for name, values in results.items():
        p50 = statistics.median(values)
        print(f"{name:44s} {p50:8.2f} {percentile(values, 95):8.2f} {p50 / base_http:14.1f} {p50 / base_reg:16.1f}")
    list_p50 = statistics.median(results["GET /envs"])
    print(f"\nlist page p50 {list_p50:.1f} ms: {'meets' if list_p50 <= 200 else 'MISSES'} the 200 ms goal")


if __name__ == "__main__":
    main()
