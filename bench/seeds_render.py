"""Render and score cost of the ten seeds, inside the sandbox.

Prints, per seed, the milliseconds per render at difficulty 1 and 10 and per
score of the reference at difficulty 10, each measured as (job time - empty
job time) / N in the same run, and the ratio difficulty 10 / difficulty 1.

    PYTHONPATH=. python3 bench/seeds_render.py [N]
"""

from __future__ import annotations

import sys

from _common import timed  # before evoenv: it puts the repository on sys.path

from evoenv.sandbox import SandboxedEnv, open_sandbox, protocol
from evoenv.sources import SEED_NAMES, load_seed


def best_of_3(env: SandboxedEnv, calls: list[dict]) -> float:
    """The fastest of three runs of one job: the least disturbed by other load."""
    return min(timed(lambda: env.run(calls), 3, warm=False))


def main(n: int = 100) -> None:
    with open_sandbox("process", workers=1) as sandbox:
        rows = []
        for name in SEED_NAMES:
            env = SandboxedEnv(load_seed(name).code, sandbox)
            env.info()  # warm: the zygote is up
            empty = best_of_3(env, [protocol.describe()])  # fork + load, no work
            renders = {d: env.render_many([(s, d) for s in range(n)]) for d in (1, 10)}
            per = {}
            for d in (1, 10):
                calls = [protocol.render(s, d) for s in range(n)]
                per[d] = max(0.0, best_of_3(env, calls) - empty) / n * 1000
            score_calls = [protocol.score(r.instance, r.reference) for r in renders[10]]
            score_ms = max(0.0, best_of_3(env, score_calls) - empty) / n * 1000
            rows.append((name, empty * 1000, per[1], per[10], score_ms))
    print(f"{'seed':32s} {'empty job ms':>12s} {'render d1 ms':>12s} {'render d10 ms':>13s} "
          f"{'d10/d1':>7s} {'score d10 ms':>12s}")
    for name, empty, d1, d10, score in rows:
        ratio = d10 / d1 if d1 > 0 else float("inf")
        print(f"{name:32s} {empty:12.1f} {d1:12.2f} {d10:13.2f} {ratio:7.1f} {score:12.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
