"""A tiny randomly initialised causal LM and a tokenizer trained here on a few lines, for the
policy tests (``evoenv.train.tiny`` builds both; nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

from evoenv.train.tiny import save_tiny

CORPUS = [
    "class Env: def sample(self, seed, difficulty): return {}",
    "You are the solver. Put the answer inside <answer> tags.",
    "<think> let me think </think> <answer> 42 </answer>",
    "System: User: Assistant: the quick brown fox jumps over the lazy dog 0 1 2 3 4 5 6 7 8 9",
]


def build_tiny_model(folder: Path, chat_template: str | None = None) -> Path:
    return save_tiny(folder, corpus=CORPUS, chat_template=chat_template, max_positions=256)
