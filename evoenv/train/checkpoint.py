"""Checkpoints in Hugging Face format plus the trainer's own state.

``output_dir/checkpoint-<step>/`` holds the model (``save_pretrained``), the
tokenizer, ``trainer_state.pt`` (optimizer, scheduler, step, every RNG, the
curriculum) and ``trainer_state.json`` (the same summary, readable). Any
checkpoint directory loads with ``AutoModelForCausalLM.from_pretrained``.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import numpy as np
import torch

STATE_FILE = "trainer_state.pt"
_NAME = re.compile(r"^checkpoint-(\d+)$")


def rng_state(rng: random.Random) -> dict:
    state = {"trainer": rng.getstate(), "python": random.getstate(), "numpy": np.random.get_state(),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(rng: random.Random, state: dict) -> None:
    rng.setstate(state["trainer"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(output_dir: Path, step: int, *, model, tokenizer, state: dict, keep: int = 3,
                    model_state: dict | None = None) -> Path:
    """Write ``checkpoint-<step>`` atomically (a temp dir renamed at the end); keep the newest ``keep``."""
    output_dir = Path(output_dir)
    final = output_dir / f"checkpoint-{step}"
    tmp = output_dir / f".checkpoint-{step}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp, state_dict=model_state)  # model_state: gathered from FSDP shards
    tokenizer.save_pretrained(tmp)
    torch.save({**state, "step": step}, tmp / STATE_FILE)
    readable = {k: v for k, v in state.items() if k in ("run_id", "metrics", "curriculum_summary", "config")}
    (tmp / "trainer_state.json").write_text(json.dumps({"step": step, **readable}, indent=2, default=str))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    if keep > 0:
        for old in list_checkpoints(output_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(output_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in output_dir.iterdir()
             if (m := _NAME.match(p.name)) and (p / STATE_FILE).is_file()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(output_dir: Path) -> Path | None:
    found = list_checkpoints(output_dir)
    return found[-1] if found else None


def load_state(checkpoint: Path) -> dict:
    path = Path(checkpoint) / STATE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{checkpoint}: not a training checkpoint (no {STATE_FILE})")
    # Our own file (optimizer state and RNG tuples), not an untrusted download.
    return torch.load(path, map_location="cpu", weights_only=False)
