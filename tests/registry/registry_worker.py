"""A separate writer process for the crash and concurrency tests.

    python -m tests.registry.registry_worker MODE URL ARGS_JSON

Modes:
  hang-in-admit / hang-in-add   do the write, then stop inside the open transaction
                                (after touching ARGS["marker"]) until killed
  grow                          wait for ARGS["go"], then add and admit every code in ARGS["codes"],
                                writing {code_index: env_id} to ARGS["out"]
  submit                        wait for ARGS["go"], add one candidate, write its id to ARGS["out"]
  submit-and-hold               add a candidate but hold the transaction open until ARGS["release"] exists
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from evoenv.registry import open_registry
from evoenv.stages import StageResult
from tests.registry.commit_hook import before_write_commit


def wait_for(path: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {path}")
        time.sleep(0.01)


def stages() -> list[StageResult]:
    return [StageResult(s, True, reason="ok", details={"worker": True}) for s in ("L1", "L2", "L3", "L4", "L5")]


def candidate(reg, code: str, name: str, **kw):
    return reg.add_candidate(code, name=name, description=f"{name} from a worker", max_difficulty=10, **kw)


def main() -> None:
    mode, url, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    reg = open_registry(url)

    def hang() -> None:
        Path(args["marker"]).touch()
        time.sleep(600)

    if mode == "hang-in-admit":
        before_write_commit(reg, hang)
        reg.admit(args["env_id"], stages=stages(), embedding=("minilm", [0.5] * 384), fingerprint="fp-crash",
                  reward=1.0)
    elif mode == "hang-in-add":
        before_write_commit(reg, hang)
        candidate(reg, args["code"], "half_written", parents=[(args["parent"], "mutation")], tags=["crash"],
                  proposal={"prompt": "p", "completion": "c"})
    elif mode == "grow":
        wait_for(args["go"])
        made = {}
        for index in args["order"]:
            record = candidate(reg, args["codes"][index], f"env_{index}")
            record = reg.admit(record.id, stages=stages(), embedding=("minilm", [float(index)] * 8))
            assert record.status == "admitted", record
            made[index] = record.id
        Path(args["out"]).write_text(json.dumps(made))
    elif mode == "submit":
        wait_for(args["go"])
        Path(args["out"]).write_text(str(candidate(reg, args["code"], args["name"]).id))
    elif mode == "submit-and-hold":
        before_write_commit(reg, lambda: (Path(args["marker"]).touch(), wait_for(args["release"])))
        Path(args["out"]).write_text(str(candidate(reg, args["code"], args["name"]).id))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    reg.close()


if __name__ == "__main__":
    main()
