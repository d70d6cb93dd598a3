"""Streaming exports: the exporting process's peak memory stays flat as the export grows.

Runs ``evoenv export --format verl`` of the largest seeds at level 10 in fresh processes at
N and 4N rows per environment (N from the command line, default 1000), and prints each run's
rows, output size, seconds, rows/s and the exporting process's own peak RSS, with the 4N run's
ratios to the N run (the baseline): output grows ~4x, peak memory should not.

    PYTHONPATH=. python3 bench/export_stream.py [N]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import _common  # puts the checkout on sys.path

ENVS = "sat,dag_path_count,graph_coloring,shortest_path"
CHILD = """
import json, resource, sys, time
from evoenv.cli import app
started = time.perf_counter()
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": peak_mb}), file=sys.stderr)
"""


def run(per_env: int, folder: Path) -> dict:
    out = folder / f"rows-{per_env}.parquet"
    env = {**os.environ, "PYTHONPATH": str(_common.ROOT), "EVOENV_DB": f"sqlite:///{folder / 'none.db'}"}
    done = subprocess.run([sys.executable, "-c", CHILD, "export", "--format", "verl", "--envs", ENVS,
                           "--per-env", str(per_env), "--difficulty", "10", "--json", str(out)],
                          capture_output=True, text=True, env=env, check=True)
    stats = json.loads(done.stderr.strip().splitlines()[-1])
    return {"rows": json.loads(done.stdout)["rows"], "mb_out": out.stat().st_size / 2**20, **stats}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        base, big = run(n, Path(tmp)), run(4 * n, Path(tmp))
    print(f"{'per env':>8} {'rows':>7} {'parquet MB':>10} {'seconds':>8} {'rows/s':>7} {'peak RSS MB':>11}")
    for per_env, r in ((n, base), (4 * n, big)):
        print(f"{per_env:>8} {r['rows']:>7} {r['mb_out']:>10.1f} {r['seconds']:>8.1f} "
              f"{r['rows'] / r['seconds']:>7.0f} {r['peak_mb']:>11.0f}")
    print(f"ratio 4N/N: rows {big['rows'] / base['rows']:.1f}x, output {big['mb_out'] / base['mb_out']:.1f}x, "
          f"peak RSS {big['peak_mb'] / base['peak_mb']:.2f}x, seconds {big['seconds'] / base['seconds']:.1f}x")


if __name__ == "__main__":
    main()
