"""Cost of the second-wave soundness checks (issue 14): L2's round trip and sweep over 48 more
seeds, and L5's near misses, label leaks and digit-trap junk, per seed environment.

    PYTHONPATH=. python3 bench/admission_soundness.py [--rounds 2]

Baselines measured in the same run: L2 with the sweep turned off (``sweep_seeds=0``; the round
trip on L2's own 24 pairs still runs), and "one job" (the same 24 renders and 24 reference scores
as one plain sandbox job). Prints medians per seed and the ratios. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import statistics

from _common import ROOT, timed  # before evoenv: it puts the repository on sys.path

from evoenv.admission import AdmissionConfig, AdmissionContext, Candidate
from evoenv.admission.l2_execute import check_execution
from evoenv.admission.l5_scorer import check_scorer
from evoenv.sandbox import SandboxedEnv, open_sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rows = []
    with open_sandbox("process", workers=2) as sandbox:
        for path in sorted((ROOT / "seeds").glob("*.py")):
            code = path.read_text()
            full = AdmissionContext(sandbox, AdmissionConfig())
            no_sweep = AdmissionContext(sandbox, AdmissionConfig(sweep_seeds=0))
            pairs = full.config.pairs(10)

            def one_job():
                env = SandboxedEnv(code, sandbox)
                renders = env.render_many(pairs)
                env.score_many([(r.instance, r.reference.strip()) for r in renders])

            def l2(ctx):
                return lambda: check_execution(Candidate(code), ctx)

            candidate = Candidate(code)
            check_execution(candidate, full)
            base = statistics.median(timed(one_job, args.rounds))
            with_sweep = statistics.median(timed(l2(full), args.rounds))
            without = statistics.median(timed(l2(no_sweep), args.rounds))
            l5 = statistics.median(timed(lambda: check_scorer(candidate, full), args.rounds))
            rows.append((path.stem, base, without, with_sweep, l5))
    print(f"{'seed':34s} {'one job':>8s} {'L2 no sweep':>12s} {'L2':>8s} {'L2/no sweep':>12s} {'L5':>8s}")
    for name, base, without, with_sweep, l5 in rows:
        print(f"{name:34s} {base * 1000:7.0f}ms {without * 1000:11.0f}ms {with_sweep * 1000:7.0f}ms "
              f"{with_sweep / without:11.2f}x {l5 * 1000:7.0f}ms")
    med = [statistics.median(col) for col in zip(*(r[1:] for r in rows))]
    print(f"{'median':34s} {med[0] * 1000:7.0f}ms {med[1] * 1000:11.0f}ms {med[2] * 1000:7.0f}ms "
          f"{med[2] / med[1]:11.2f}x {med[3] * 1000:7.0f}ms   (L2 = {med[2] / med[0]:.1f}x one job)")


if __name__ == "__main__":
    main()
