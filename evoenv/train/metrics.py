"""Training metrics: one JSON object per step in a JSONL file, tensorboard optional."""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

log = logging.getLogger("evoenv.train.metrics")


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class MetricsLogger:
    def __init__(self, path: Path, tensorboard_dir: Path | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        self._tb = None
        if tensorboard_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(tensorboard_dir))
            except ImportError as exc:
                log.warning("tensorboard requested but not installed (%s); logging JSONL only", exc)

    def log(self, step: int, record: dict) -> None:
        row = {"step": step, "time": round(time.time(), 3)}
        row.update({k: _finite(v) for k, v in record.items()})
        self._file.write(json.dumps(row, default=str) + "\n")
        self._file.flush()
        if self._tb is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                    self._tb.add_scalar(key, value, step)
                elif isinstance(value, dict):
                    for sub, v in value.items():
                        if isinstance(v, (int, float)) and v is not None and math.isfinite(v):
                            self._tb.add_scalar(f"{key}/{sub}", v, step)

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()


def read_metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
