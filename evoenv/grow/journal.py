"""The grow run's journal: ``<state_dir>/grow-<run_id>.jsonl``, append-only, each line fsync'd.

It is what ``--resume`` reads: the settings the run started with, completed rounds, and for
the round a kill interrupted, which proposals were generated, stored and decided. The
registry remains the record of the environments themselves.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from evoenv.grow.config import GrowError
from evoenv.grow.records import RoundSummary, Slot


class Journal:
    """Append-only JSONL; each event is flushed and fsync'd before the loop goes on."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def append(self, event: str, **data: Any) -> None:
        line = json.dumps({"event": event, "t": round(time.time(), 3), **data}, ensure_ascii=False, default=str)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
                handle.flush()
                os.fsync(handle.fileno())

    def events(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        events = []
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:
                    break  # a line cut by a kill mid-write: everything before it is whole
        return events


def journal_path(state_dir: str | os.PathLike, run_id: int) -> Path:
    return Path(state_dir) / f"grow-{run_id}.jsonl"


def saved_config(state_dir: str | os.PathLike, run_id: int,
                 events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The settings a run was started with, from its journal."""
    path = journal_path(state_dir, run_id)
    events = Journal(path).events() if events is None else events
    if not events or events[0].get("event") != "start":
        raise GrowError(f"no journal for grow run {run_id} at {path}; pass the --state-dir the run was started with")
    return dict(events[0]["config"])


def replay(events: list[dict[str, Any]]) -> tuple[list[RoundSummary], list[Slot], int, list[Slot] | None]:
    """A killed run as its journal tells it: the rounds completed, their proposals, the round to go on
    from, and the proposals that round had already generated (None when the kill came before they
    were journaled)."""
    rounds = [RoundSummary(**{k: v for k, v in e["summary"].items() if k != "tokens"})
              for e in events if e["event"] == "round_done"]
    next_round = max((r.round for r in rounds), default=0) + 1
    slots: dict[str, Slot] = {}
    for e in events:
        kind = e["event"]
        if kind == "generated":
            for item in e["slots"]:
                slot = Slot(**item)
                slot.parents = [(int(p[0]), str(p[1])) for p in slot.parents]
                slots[slot.key] = slot
        elif kind == "stored" and e["key"] in slots:
            slots[e["key"]].env_id = e["env_id"]
        elif kind == "decided" and e["key"] in slots:
            slot = slots[e["key"]]
            slot.outcome, slot.reason, slot.env_id = e["outcome"], e["reason"], e.get("env_id", slot.env_id)
            slot.stages = e.get("stages", [])
            slot.repairs, slot.repair_tokens = e.get("repairs", 0), e.get("repair_tokens", 0)
    done = [s for s in slots.values() if s.round < next_round]
    pending = [s for s in slots.values() if s.round == next_round] or None
    return rounds, done, next_round, pending
