"""``replay:FILE.jsonl``: a TEST DOUBLE that returns recorded completions.

It runs no model. Each line of the file is one recorded completion::

    {"text": "...", "prompt_tokens": 812, "completion_tokens": 640,
     "finish_reason": "stop", "when": "optional substring", "repeat": false}

A prompt gets the first unused record (in file order) that fits it: every
``when`` substring occurs in the prompt's text and no ``unless`` substring does
(each is a string or a list of strings; a record with neither fits any prompt).
A record with ``"repeat": true`` is never used up: it is the answer every
later fitting prompt gets, e.g. a reviewer verdict. A plain JSON string line
is ``{"text": ...}``.

With ``cursor=PATH`` the double stores which records it has used, so a killed
run that resumes does not get the same completions again (a real model would
not repeat itself either). Running out of records raises ``PolicyError``.
With ``latency=SECONDS`` every ``generate`` call waits that long first, outside
the lock (concurrent calls overlap, as requests to a model server do): a
simulated model latency for tests and benchmarks of concurrency.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from evoenv.policy.base import Completion, PolicyError, Prompt, Sampling


def prompt_text(prompt: Prompt) -> str:
    if isinstance(prompt, str):
        return prompt
    return "\n".join(str(m.get("content", "")) for m in prompt)


def _strings(value) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _fits(record: dict, text: str) -> bool:
    return all(w in text for w in _strings(record.get("when"))) and \
        not any(u in text for u in _strings(record.get("unless")))


class ReplayPolicy:
    """Recorded completions, in order. A test double: it never runs a model."""

    def __init__(self, path: str | os.PathLike, *, cursor: str | os.PathLike | None = None, latency: float = 0.0):
        if not isinstance(latency, (int, float)) or isinstance(latency, bool) or not 0 <= latency <= 3600:
            raise PolicyError(f"replay option latency must be seconds within [0, 3600], got {latency!r}")
        self.latency = float(latency)
        self.path = Path(path)
        self.name = f"replay:{self.path.name}"
        self.records = self._load(self.path)
        self.cursor_path = Path(cursor) if cursor else None
        self._used: set[int] = set()
        if self.cursor_path and self.cursor_path.exists():
            self._used = set(json.loads(self.cursor_path.read_text(encoding="utf-8")).get("used", []))
        self._lock = threading.Lock()

    @staticmethod
    def _load(path: Path) -> list[dict]:
        if not path.is_file():
            raise PolicyError(f"replay file {path} does not exist (replay: is a test double that reads recorded "
                              "completions from a JSONL file)")
        records = []
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise PolicyError(f"{path}:{number}: not JSON ({exc.msg} at column {exc.colno})") from None
                if isinstance(record, str):
                    record = {"text": record}
                if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                    raise PolicyError(f"{path}:{number}: a record needs a string field \"text\"")
                for key in ("when", "unless"):
                    value = record.get(key)
                    if value is not None and not (isinstance(value, str) or (
                            isinstance(value, list) and all(isinstance(v, str) for v in value))):
                        raise PolicyError(f"{path}:{number}: \"{key}\" must be a string or a list of strings")
                records.append(record)
        if not records:
            raise PolicyError(f"replay file {path} holds no records")
        return records

    def check(self) -> None:
        """The file was read in ``__init__``; nothing else can be unreachable."""

    def remaining(self) -> int:
        return sum(1 for i, r in enumerate(self.records) if i not in self._used and not r.get("repeat"))

    def _take(self, text: str) -> dict:
        for index, record in enumerate(self.records):
            if index in self._used:
                continue
            if not _fits(record, text):
                continue
            if not record.get("repeat"):
                self._used.add(index)
            return record
        raise PolicyError(f"replay file {self.path} has no unused record left for this prompt "
                          f"({len(self._used)} of {len(self.records)} used)")

    def generate(self, prompts: list[Prompt], sampling: Sampling) -> list[Completion]:
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            records = [self._take(prompt_text(p)) for p in prompts]
            self._save_cursor()
        return [
            Completion.from_output(
                r["text"],
                prompt_tokens=int(r.get("prompt_tokens", len(prompt_text(p)) // 4)),
                completion_tokens=int(r.get("completion_tokens", len(r["text"]) // 4)),
                finish_reason=r.get("finish_reason", "stop"),
                meta={"replay": True},
            )
            for p, r in zip(prompts, records)
        ]

    def _save_cursor(self) -> None:
        if self.cursor_path is None:
            return
        tmp = self.cursor_path.with_suffix(self.cursor_path.suffix + ".tmp")
        tmp.write_text(json.dumps({"used": sorted(self._used)}), encoding="utf-8")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, self.cursor_path)

    def close(self) -> None:
        pass
