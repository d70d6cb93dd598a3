"""verl's custom reward function.

In a verl config::

    custom_reward_function:
      path: <site-packages>/evoenv/integrations/verl.py
      name: compute_score

Rows come from ``evoenv export --format verl``; ``extra_info`` carries the
code hash, seed and difficulty, so feasibility tasks accept ANY valid answer,
not only the planted ``ground_truth``.

``compute_score`` answers both of verl's calling conventions: one rollout
(``naive``/``dapo`` reward managers and the reward loop) or a whole batch
(``reward_manager=batch``: ``data_sources=, solution_strs=, ground_truths=,
extra_infos=``, a list back). Extra keyword arguments
(``custom_reward_function.reward_kwargs``, the reward-model router's
``reward_router_address``/``reward_model_tokenizer``) are accepted and unused.
"""

from __future__ import annotations

from evoenv.answers import extract_answer
from evoenv.integrations.rescore import default_scorer


def compute_score(data_source=None, solution_str=None, ground_truth=None, extra_info=None, *,
                  data_sources=None, solution_strs=None, ground_truths=None, extra_infos=None,
                  **reward_kwargs) -> float | list[float]:
    """One rollout's score, or a list of scores when called the way verl's batch manager calls."""
    if solution_strs is not None:
        return compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos)
    return compute_score_one(data_source, solution_str, ground_truth, extra_info)


def compute_score_batch(data_sources, solution_strs, ground_truths=None, extra_infos=None) -> list[float]:
    """verl's batch convention: every rollout of a step in one call, one sandbox job per environment."""
    solution_strs = list(solution_strs)
    extra_infos = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
    if len(extra_infos) != len(solution_strs):
        raise ValueError(f"evoenv compute_score got {len(solution_strs)} solution_strs but {len(extra_infos)} extra_infos")
    missing = [i for i, info in enumerate(extra_infos) if not info]
    if missing:
        sources = list(data_sources) if data_sources is not None else []
        first = sources[missing[0]] if missing[0] < len(sources) else None
        raise ValueError(
            f"evoenv compute_score needs extra_info with code_sha256, seed and difficulty; rows {missing[:5]} "
            f"have none (data_source={first!r}); export the data with `evoenv export --format verl`"
        )
    return default_scorer().score([(info, extract_answer(text)) for info, text in zip(extra_infos, solution_strs)])


def compute_score_one(data_source, solution_str, ground_truth, extra_info=None) -> float:
    """Score one verl rollout: extract the last <answer> block, rescore it in the sandbox."""
    if not extra_info:
        raise ValueError(
            f"evoenv compute_score needs extra_info with code_sha256, seed and difficulty "
            f"(data_source={data_source!r}); export the data with `evoenv export --format verl`"
        )
    return default_scorer().score([(extra_info, extract_answer(solution_str))])[0]
