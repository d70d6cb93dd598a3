"""Cost of the host's check of every value a job returns (``protocol.checked_value`` in
``JobResult.from_reply``), as a ratio to decoding the same reply frame, which every reply
already pays. Replies: the seeds' renders (real data, rendered once in the process sandbox)
and a worst case of one 8 MiB instance made of many short strings.

    PYTHONPATH=. python3 bench/boundary_check.py [--n 64] [--reps 20]
"""

from __future__ import annotations

import argparse

import _common  # the repository on sys.path

from evoenv.sandbox import JobResult, SandboxedEnv, open_sandbox
from evoenv.sandbox.base import protocol
from evoenv.sources import list_seeds


def measure(name: str, calls: list[dict], values: list, reps: int) -> None:
    reply = {"nonce": "n", "outcome": "ok", "detail": "", "results": [{"ok": True, "value": v} for v in values]}
    body = protocol.encode(reply)[protocol.HEADER.size:]
    decoded = protocol.decode(body)
    decode_s = _common.percentile(_common.timed(lambda: protocol.decode(body), reps), 50)
    check_s = _common.percentile(_common.timed(
        lambda: [protocol.checked_value(c["op"], r["value"]) for c, r in zip(calls, decoded["results"])], reps), 50)
    parse_s = _common.percentile(_common.timed(lambda: JobResult.from_reply(decoded, calls), reps), 50)
    print(f"{name:<34} {len(body) / 1e6:7.2f} MB  decode {decode_s * 1e3:8.2f} ms  check {check_s * 1e3:8.2f} ms "
          f"({check_s / decode_s:5.2f}x decode)  from_reply {parse_s / decode_s:5.2f}x decode")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=64, help="renders per seed")
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    with open_sandbox("process", workers=1) as sandbox:
        for source in list_seeds():
            env = SandboxedEnv(source.code, sandbox)
            pairs = [(seed, 10) for seed in range(args.n)]
            rendered = env.render_many(pairs)
            calls = [protocol.render(s, d) for s, d in pairs]
            values = [{"instance": r.instance, "prompt": r.prompt, "reference": r.reference} for r in rendered]
            measure(f"{source.name} x{args.n} renders", calls, values, args.reps)
    strings = {"cells": [f"s{i}" for i in range(8 * 2**20 // 8)]}
    measure("8 MiB instance of short strings", [{"op": "sample"}], [strings], max(3, args.reps // 4))
    measure(f"{args.n * 16} scores", [{"op": "score"}] * (args.n * 16), [0.5] * (args.n * 16), args.reps)


if __name__ == "__main__":
    main()
