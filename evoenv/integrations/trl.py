"""TRL: a reward function for ``GRPOTrainer`` and a dataset builder.

    from evoenv.integrations.trl import build_dataset, reward_func
    trainer = GRPOTrainer(model=..., reward_funcs=reward_func, train_dataset=build_dataset("seeds", per_env=64))
"""

from __future__ import annotations

from evoenv.answers import extract_answer
from evoenv.integrations.rescore import default_scorer


def _completion_text(completion) -> str:
    """TRL passes plain strings, or chat messages for conversational datasets."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(m.get("content", "") for m in completion if isinstance(m, dict) and m.get("role") == "assistant")
    return ""


def reward_func(completions, metadata=None, **kwargs) -> list[float]:
    """Rewards in [0, 1] for a batch; reads the dataset's ``metadata`` column."""
    if metadata is None:
        raise ValueError("evoenv reward_func needs the dataset's 'metadata' column (build it with build_dataset)")
    answers = [extract_answer(_completion_text(c)) for c in completions]
    return default_scorer().score(list(zip(metadata, answers)))


def build_dataset(envs: str = "admitted", per_env: int = 16, difficulty: str = "auto", seed: int = 0,
                  conversational: bool = True):
    """A ``datasets.Dataset`` with ``prompt`` (chat or text), ``question``, ``answer`` and ``metadata``
    (JSON string): the same columns as ``evoenv export --format hf``."""
    import datasets

    from evoenv.integrations.export import build_rows, hf_record

    rows = build_rows(envs=envs, per_env=per_env, difficulty=difficulty, seed=seed)
    return datasets.Dataset.from_list([hf_record(r, "chat" if conversational else "text") for r in rows])
