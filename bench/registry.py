"""Registry benchmark: list, filter, search and admission latency with 100k environments.

    python bench/registry.py [--envs 100000] [--reps 200] [--keep DIR]
    python bench/registry.py --url postgresql+psycopg://USER:PW@HOST/EMPTY_DB

Builds a registry (through the real migrations; SQLite by default, or the empty
database at ``--url``) filled with synthetic environments, then times the
Registry API. Every figure is also printed as a ratio to a baseline measured in
the same run on the same database: one raw DB-API primary-key lookup, so
numbers from different machines compare.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from _common import percentile, timed  # before evoenv: it puts the repository on sys.path
from sqlalchemy import insert, text

from evoenv.admission.result import StageResult
from evoenv.hashing import code_sha256
from evoenv.registry import open_registry, upgrade
from evoenv.registry.database import describe_url, make_engine
from evoenv.registry.models import Embedding, Environment, EnvironmentTag, PoolMembership, StageResultRow

TOPICS = ["knapsack", "graph", "path", "matrix", "string", "prime", "modular", "sequence", "coloring", "clause",
          "interval", "tree", "heap", "parity", "subset", "partition", "lattice", "permutation", "grid", "flow"]
VERBS = ["count", "minimise", "maximise", "find", "decide", "sort", "match", "cover", "route", "balance"]
TAGS = ["dp", "graph", "number_theory", "search", "csp", "combinatorics", "strings", "geometry"]
STATUS_MIX = [("rejected", 0.68), ("admitted", 0.22), ("candidate", 0.08), ("retired", 0.02)]
EMBED_DIM = 384


def synthetic_code(rng: random.Random, i: int, topic: str, verb: str) -> str:
    knobs = "\n".join(f"        k{j} = rng.randint(1, difficulty * {rng.randint(2, 40)})" for j in range(rng.randint(4, 12)))
    return (f"import random\n\n\nclass {verb.title()}{topic.title()}{i}:\n"
            f"    name = '{verb}_{topic}_{i}'\n    description = 'Synthetic {topic} task number {i}.'\n"
            f"    max_difficulty = 10\n\n    def sample(self, seed, difficulty):\n"
            f"        rng = random.Random(seed * 1000 + difficulty)\n{knobs}\n"
            f"        return {{'values': [rng.randint(0, 99) for _ in range(difficulty + 3)]}}\n\n"
            f"    def prompt(self, instance):\n        return '{verb} the {topic}: ' + str(instance['values'])"
            f" + ' Answer in <answer></answer>.'\n\n"
            f"    def reference(self, instance):\n        return str(sum(instance['values']) % {rng.randint(2, 97)})\n\n"
            f"    def score(self, instance, answer):\n        return float(answer.strip() == self.reference(instance))\n")


def fill(url: str, n: int, seed: int = 0) -> None:
    """Insert ``n`` synthetic environments with tags, stage results, pool rows and embeddings."""
    rng = random.Random(seed)
    vec_rng = np.random.default_rng(seed)
    reg = open_registry(url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    statuses, weights = zip(*STATUS_MIX)
    batch = 5000
    with reg.engine.begin() as conn:
        for lo in range(0, n, batch):
            envs, tags, stages, pool, vectors = [], [], [], [], []
            for i in range(lo + 1, min(n, lo + batch) + 1):
                topic, verb = rng.choice(TOPICS), rng.choice(VERBS)
                status = rng.choices(statuses, weights)[0]
                origin = "seed" if i <= 10 else ("imported" if rng.random() < 0.03 else "generated")
                code = synthetic_code(rng, i, topic, verb)
                created = start + timedelta(seconds=30 * i)
                envs.append(dict(id=i, name=f"{verb}_{topic}_{i}", code=code, code_sha256=code_sha256(code),
                                 description=f"{verb.title()} the {topic} of a random instance; difficulty grows "
                                             f"the {rng.choice(TOPICS)} size. Answer with one integer.",
                                 max_difficulty=10, status=status, status_reason="" if status != "rejected" else
                                 "L2: sample() raised", origin=origin, generation=rng.randint(0, 30),
                                 created_at=created, reward=rng.random() if status != "candidate" else None,
                                 fingerprint=f"{rng.getrandbits(64):016x}"))
                tags += [dict(env_id=i, tag=t) for t in rng.sample(TAGS, rng.randint(1, 2))]
                for stage in ("L1", "L2", "L3"):
                    passed = not (status == "rejected" and stage == "L2")
                    stages.append(dict(env_id=i, stage=stage, passed=passed, score=None, reason="ok" if passed else
                                       "sample() raised", details={}, duration_s=0.05, created_at=created))
                if status in ("admitted", "retired"):
                    pool.append(dict(env_id=i, epochs=rng.randint(0, 5), joined_at=created,
                                     retired_at=created if status == "retired" else None))
                    vectors.append(dict(env_id=i, model="minilm", dim=EMBED_DIM,
                                        vector=vec_rng.standard_normal(EMBED_DIM).astype("<f4").tobytes()))
            conn.execute(insert(Environment.__table__), envs)
            conn.execute(insert(EnvironmentTag.__table__), tags)
            conn.execute(insert(StageResultRow.__table__), stages)
            if pool:
                conn.execute(insert(PoolMembership.__table__), pool)
                conn.execute(insert(Embedding.__table__), vectors)
            print(f"  filled {min(n, lo + batch):>7}/{n}", end="\r", flush=True)
    if reg.dialect == "postgresql":  # environments got explicit ids: move the id sequence past them
        with reg.engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('environments', 'id'), "
                              "(SELECT max(id) FROM environments))"))
    # Statistics for the planner; on PostgreSQL also the visibility map (index-only scans), as
    # autovacuum would have made it on a database that grew over time.
    with reg.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if reg.dialect == "postgresql" else "ANALYZE")
    reg.close()
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="build the SQLite database in this folder and keep it")
    parser.add_argument("--url", help="an EMPTY database to build in instead (e.g. PostgreSQL); it is kept")
    args = parser.parse_args()

    if args.url:
        url = args.url
        upgrade(url)
        if open_registry(url).count_envs():
            sys.exit(f"--url {describe_url(url)} already holds environments: give an empty database")
    else:
        folder = args.keep or Path(tempfile.mkdtemp(prefix="evoenv-bench-"))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "registry.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        upgrade(url)
    t0 = time.perf_counter()
    fill(url, args.envs)
    print(f"built {args.envs} environments in {time.perf_counter() - t0:.1f} s in {describe_url(url)}")

    rng = random.Random(1)
    engine = make_engine(url)
    raw = engine.raw_connection()
    lookup = "SELECT * FROM environments WHERE id = " + ("%s" if engine.dialect.name == "postgresql" else "?")

    def raw_lookup():
        cursor = raw.cursor()
        cursor.execute(lookup, (rng.randint(1, args.envs),))
        cursor.fetchall()

    baseline = timed(raw_lookup, args.reps * 5)
    raw.close()
    engine.dispose()

    reg = open_registry(url)
    like = open_registry(url)
    like.dialect = "none"  # as if no full-text index: the substring scan (ILIKE on name, description, code)
    cases = {
        "get by id": lambda: reg.get(rng.randint(1, args.envs)),
        "list newest 50": lambda: reg.list_envs(limit=50),
        "list page 100 (offset 5000)": lambda: reg.list_envs(limit=50, offset=5000),
        "filter status=admitted": lambda: reg.list_envs(status="admitted"),
        "filter status+origin": lambda: reg.list_envs(status="admitted", origin="generated"),
        "filter tag": lambda: reg.list_envs(tag=rng.choice(TAGS)),
        "filter status, sort reward": lambda: reg.list_envs(status="admitted", sort="reward"),
        "count status=rejected": lambda: reg.count_envs(status="rejected"),
        "search 1 word (full-text)": lambda: reg.list_envs(search=rng.choice(TOPICS)),
        "search 2 words (full-text)": lambda: reg.list_envs(search=f"{rng.choice(VERBS)} {rng.choice(TOPICS)}"),
        "search rare name (full-text)": lambda: reg.list_envs(search=f"{rng.choice(VERBS)}_{rng.choice(TOPICS)}_"
                                                              f"{rng.randint(1, args.envs)}"),
        "search 1 word (substring scan)": lambda: like.list_envs(search=rng.choice(TOPICS)),
        "search rare name (substring scan)": lambda: like.list_envs(search=f"{rng.choice(VERBS)}_{rng.choice(TOPICS)}_"
                                                                   f"{rng.randint(1, args.envs)}"),
        "stage results of one env": lambda: reg.stage_results(rng.randint(1, args.envs)),
        "funnel (all runs)": lambda: reg.funnel(),
    }
    heavy = {"funnel (all runs)", "search 1 word (substring scan)", "search rare name (substring scan)",
             "count status=rejected"}
    results = {name: timed(fn, max(10, args.reps // 10) if name in heavy else args.reps) for name, fn in cases.items()}
    n_vectors = reg.admitted_embeddings("minilm")[1].shape[0]
    results[f"admitted_embeddings ({n_vectors} x {EMBED_DIM})"] = timed(lambda: reg.admitted_embeddings("minilm"), 10)

    # Admission: one fresh candidate, then admit it with 8 stage results, an embedding and a fingerprint.
    counter = iter(range(10**9))
    stages = [StageResult(s, True, "ok", 1.0, {"seeds": [1, 2, 3]}, 0.1)
              for s in ("L1", "L2", "L3", "L4", "L5", "review", "calibration", "novelty")]
    vector = np.random.default_rng(0).standard_normal(EMBED_DIM).astype(np.float32)
    adds, admits = [], []
    for _ in range(args.reps):
        code = synthetic_code(rng, 10**7 + next(counter), "bench", "admit")
        t0 = time.perf_counter()
        record = reg.add_candidate(code, name="bench_admit", description="bench", max_difficulty=10,
                                   parents=[(rng.randint(1, args.envs), "mutation")], tags=["bench"])
        t1 = time.perf_counter()
        reg.admit(record.id, stages=stages, embedding=("minilm", vector), fingerprint=f"fp{record.id}", reward=0.5,
                  novelty=1.0)
        t2 = time.perf_counter()
        adds.append(t1 - t0)
        admits.append(t2 - t1)
    results["add_candidate (with lineage, tag)"] = adds
    results["admit (8 stages + embedding + pool)"] = admits
    reg.close()
    like.close()

    base = percentile(baseline, 50)
    print(f"\nbaseline: raw DB-API primary-key lookup p50 = {base * 1e3:.3f} ms\n")
    print("| operation | p50 ms | p95 ms | p50 / baseline |")
    print("|---|---:|---:|---:|")
    for name, samples in results.items():
        p50, p95 = percentile(samples, 50), percentile(samples, 95)
        print(f"| {name} | {p50 * 1e3:.2f} | {p95 * 1e3:.2f} | {p50 / base:,.0f}x |")


if __name__ == "__main__":
    main()
