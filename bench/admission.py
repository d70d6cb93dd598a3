"""Admission throughput: wall time per candidate for L1-L5 + blind + novelty, candidates per minute,
novelty query time at 100k admitted environments, and `evoenv validate` wall time per file.

    PYTHONPATH=. python3 bench/admission.py [--rounds 3] [--workers 2]
    PYTHONPATH=. python3 bench/admission.py --validate [--files 4] [--baseline-rev e893599]

Baselines measured in the same run:
- "one job": the same environment's sandbox work in ONE job (describe, 24 renders, 24
  reference scores), i.e. what running the code costs without the admission checks;
- novelty queries are compared with the MiniLM embedding of one candidate;
- ``--validate``: `evoenv validate` of the SAME revision before issue 14 (``--baseline-rev``, unpacked with
  `git archive` into a temporary folder) run in the same way, file by file, in fresh processes.
Figures go in docs/benchmarks.md (## Admission). Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from _common import ROOT, percentile, timed  # before evoenv: it puts the repository on sys.path

from evoenv.admission import AdmissionConfig, AdmissionContext, Candidate
from evoenv.admission.blind import check_blind
from evoenv.admission.embedding import DIM, load_model
from evoenv.admission.l1_parse import check_parse
from evoenv.admission.l2_execute import check_execution
from evoenv.admission.l3_determinism import check_determinism
from evoenv.admission.l4_nontrivial import check_nontrivial
from evoenv.admission.l5_scorer import check_scorer
from evoenv.admission.novelty import NoveltyIndex, check_novelty
from evoenv.sandbox import open_sandbox, protocol

STAGES = (check_parse, check_execution, check_determinism, check_nontrivial, check_scorer, check_blind,
          check_novelty)


def sources() -> list[tuple[str, str]]:
    found = [(p.stem, p.read_text()) for p in sorted((ROOT / "seeds").glob("*.py"))]
    found += [(p.stem, p.read_text()) for p in sorted((ROOT / "tests" / "admission" / "envs").glob("*.py"))]
    return found


def admit(code: str, ctx: AdmissionContext) -> tuple[float, dict[str, float]]:
    candidate = Candidate(code)
    started = time.perf_counter()
    per_stage = {}
    for check in STAGES:
        result = check(candidate, ctx)
        per_stage[result.stage] = result.duration_s
        if result.passed is False:
            break
    return time.perf_counter() - started, per_stage


def one_job(code: str, ctx: AdmissionContext) -> float:
    """Baseline: the same renders and reference scores, no checks, as one job + one score job."""
    started = time.perf_counter()
    pairs = ctx.config.pairs(10)
    job = ctx.sandbox.run(code, [protocol.describe()] + [protocol.render(s, d) for s, d in pairs])
    rendered = [r.value for r in job.results[1:] if r.ok]
    ctx.sandbox.run(code, [protocol.score(r["instance"], r["reference"]) for r in rendered])
    return time.perf_counter() - started


def _validate_seconds(tree: Path, files: list[Path], cache: Path, cwd: Path) -> float:
    """Wall seconds of one `evoenv validate --json FILES` process run from the checkout ``tree``."""
    env = {k: v for k, v in os.environ.items() if k != "EVOENV_DB"}  # novelty against the seeds
    env.update(PYTHONPATH=str(tree), EVOENV_CACHE=str(cache))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "evoenv", "validate", "--json", *map(str, files)], env=env,
                          cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1) or not done.stdout.lstrip().startswith("{"):
        raise SystemExit(f"validate failed under {tree}: {done.stderr[-2000:]}")
    return elapsed


def validate_timing(count: int, baseline_rev: str) -> None:
    """`evoenv validate` per file: the baseline revision vs this checkout, fresh processes, same files."""
    files = sorted((ROOT / "tests" / "corpus" / "good").glob("*.py"))[: count + 1]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old = tmp / "baseline"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", baseline_rev], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        print(f"\n`evoenv validate FILE`, one fresh process per file, novelty against the seeds "
              f"(load average {os.getloadavg()[0]:.1f}):")
        old_times = [_validate_seconds(old, [f], tmp / "old-cache", tmp) for f in files[1:]]
        first = _validate_seconds(ROOT, [files[0]], tmp / "cache", tmp)  # an empty cache: model and seeds
        new_times = [_validate_seconds(ROOT, [f], tmp / "cache", tmp) for f in files[1:]]  # other files after it
        o, n = statistics.median(old_times), statistics.median(new_times)
        print(f"  baseline {baseline_rev} p50 {o:.2f} s (max {max(old_times):.2f} s) over {len(old_times)} files")
        print(f"  this checkout, first call (empty cache) {first:.2f} s = {first / o:.2f}x the baseline")
        print(f"  this checkout, after the first p50 {n:.2f} s (max {max(new_times):.2f} s) = {n / o:.2f}x the baseline"
              f" ({o / n:.1f}x faster)")
        together = _validate_seconds(ROOT, files[1:], tmp / "cache2", tmp)
        old_together = _validate_seconds(old, files[1:], tmp / "old-cache2", tmp)
        print(f"  {len(files) - 1} files in ONE call, empty cache: {together:.2f} s = {together / (len(files) - 1):.2f} s "
              f"per file; baseline in one call {old_together:.2f} s ({old_together / together:.1f}x slower)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--validate", action="store_true", help="only time `evoenv validate` against --baseline-rev")
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--baseline-rev", default="e893599", help="the revision before issue 14's changes")
    args = parser.parse_args()
    if args.validate:
        validate_timing(args.files, args.baseline_rev)
        return
    envs = sources()
    print(f"{len(envs)} candidates ({', '.join(n for n, _ in envs)}); {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f}")
    load_model()
    with open_sandbox("process", workers=args.workers) as sandbox:
        index = NoveltyIndex(0.5)
        rng = np.random.default_rng(0)
        filler = rng.normal(size=(200, 2 * DIM)).astype(np.float32)
        index.add_many([f"x{i}" for i in range(200)], filler / np.linalg.norm(filler, axis=1, keepdims=True))
        ctx = AdmissionContext(sandbox, AdmissionConfig(), novelty=index)
        for name, code in envs[:2]:  # warm the pool and the model
            admit(code, ctx)

        serial, stages, base = [], {}, []
        for _ in range(args.rounds):
            for name, code in envs:
                total, per_stage = admit(code, ctx)
                serial.append(total)
                for stage, seconds in per_stage.items():
                    stages.setdefault(stage, []).append(seconds)
                base.append(one_job(code, ctx))
        p50, mean = statistics.median(serial), statistics.fmean(serial)
        print(f"\nL1-L5 + blind + novelty, one candidate at a time ({len(serial)} runs):")
        print(f"  per candidate  p50 {p50 * 1000:.0f} ms   mean {mean * 1000:.0f} ms   max {max(serial) * 1000:.0f} ms")
        print(f"  baseline (the same renders and scores as one sandbox job) p50 {statistics.median(base) * 1000:.0f} ms"
              f"  -> admission costs {p50 / statistics.median(base):.1f}x the bare sandbox work")
        for stage, values in stages.items():
            print(f"  {stage:8s} p50 {statistics.median(values) * 1000:7.1f} ms   mean {statistics.fmean(values) * 1000:7.1f} ms")

        work = [code for _ in range(args.rounds) for _, code in envs]
        started = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            list(pool.map(lambda code: admit(code, ctx), work))
        elapsed = time.perf_counter() - started
        print(f"\n{args.workers} candidates in parallel: {len(work)} in {elapsed:.1f} s = "
              f"{len(work) / elapsed * 60:.0f} candidates/min ({elapsed / len(work) * 1000:.0f} ms per candidate, "
              f"{mean * len(work) / elapsed:.2f}x the one-at-a-time rate above)")

    print("\nnovelty query (mixed 768-d vectors, top-5):")
    embed = statistics.median(stages["novelty"])  # the baseline: the novelty stage incl. MiniLM embedding
    for n in (1_000, 10_000, 100_000):
        big = NoveltyIndex(0.5)
        matrix = rng.normal(size=(n, 2 * DIM)).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        big.add_many(list(range(n)), matrix)
        big.matrix  # consolidate once, as a long-lived index does
        queries = itertools.cycle(matrix[rng.integers(0, n, 50)])
        times = timed(lambda: big.nearest(next(queries), 5), 50, warm=False)
        p50 = percentile(times, 50)
        print(f"  {n:>7} admitted: p50 {p50 * 1000:.2f} ms  p95 {percentile(times, 95) * 1000:.2f} ms  "
              f"= {p50 / embed:.3f}x the novelty stage incl. MiniLM embedding (p50 {embed * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
