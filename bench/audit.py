"""Cost of the runtime audit (evoenv.audit) in the trainer's RewardScorer, against the same scoring with the
audit off, in the same run, on the process backend.

    python3 bench/audit.py [--reps 20] [--env knapsack]

Two shapes: a GRPO step (16 instances x 4 answers, one job) and 16 lone answers (16 jobs of one answer each:
with the audit on, every one carries a known-wrong answer too). Prints median seconds and the ratio to off.
"""

from __future__ import annotations

import argparse
import random
import statistics

from _common import timed  # before evoenv: it puts the repository on sys.path

from evoenv.sandbox import SandboxedEnv, open_sandbox
from evoenv.sources import load_seed
from evoenv.train.config import RewardConfig
from evoenv.train.rewards import RewardScorer, ScoreItem


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--env", default="knapsack")
    args = parser.parse_args()
    code = load_seed(args.env).code
    limits = RewardConfig().limits()
    with open_sandbox("process", workers=2) as sandbox:
        env = SandboxedEnv(code, sandbox, limits)
        rng = random.Random(0)
        renders = env.render_many([(rng.randrange(2**30), rng.randint(1, 5)) for _ in range(16)])
        group = [ScoreItem("e", code, r.instance, f"<answer>{r.reference if k == 0 else 'x'}</answer>", r.reference,
                           r.seed, r.difficulty) for r in renders for k in range(4)]
        lone = [[item] for item in group[::4]]
        print(f"{'shape':<22}{'audit_share':>12}{'median s':>10}{'ratio':>8}")
        for shape, batches in (("GRPO step 16x4", [group]), ("16 lone answers", lone)):
            base = None
            for share in (0.0, 0.05, 1.0):
                scorer = RewardScorer(sandbox, limits, audit_share=share)

                def run(scorer=scorer):
                    for batch in batches:
                        scorer.score(batch)
                median = statistics.median(timed(run, args.reps))
                base = base or median
                print(f"{shape:<22}{share:>12g}{median:>10.4f}{median / base:>8.2f}")
                assert not scorer.quarantined, "a seed environment must never be caught"


if __name__ == "__main__":
    main()
