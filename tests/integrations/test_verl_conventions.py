"""verl calls our compute_score in several ways; every one of them must work.

verl does not install here on CPU (it pulls ray, tensordict and a transformers older than ours), so these
tests make the calls exactly as verl 0.9.1's documented reward managers make them:
- ``verl/workers/reward_manager/batch.py`` (``reward_manager=batch``): keyword lists
  ``data_sources=, solution_strs=, ground_truths=, extra_infos=`` plus ``**reward_kwargs``, a list back;
  it adds ``rollout_reward_scores`` to every extra_info first;
- ``verl/trainer/ppo/reward.py::get_custom_reward_fn``: wraps the function so that
  ``custom_reward_function.reward_kwargs`` are merged into every call;
- ``verl/experimental/reward_loop/reward_manager/naive.py``: one rollout by keyword, plus
  ``reward_router_address=`` and ``reward_model_tokenizer=`` when a reward-model router is configured.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from evoenv.integrations.export import build_rows
from evoenv.integrations.verl import compute_score


def _wrap(answer: str) -> str:
    return f"thinking...\n<answer>{answer}</answer>"


def _with_reward_kwargs(raw_fn, extra_kwargs, *args, **kwargs):
    """What verl's get_custom_reward_fn returns: the call's kwargs merged with reward_kwargs."""
    return raw_fn(*args, **{**kwargs, **extra_kwargs})


@pytest.fixture
def rows(seeds_only_catalog, sandbox, scorer_for):
    scorer_for(seeds_only_catalog)
    return build_rows(envs="knapsack,subset_sum,graph_coloring", per_env=3, difficulty="3", seed=7,
                      catalog=seeds_only_catalog, sandbox=sandbox)


def test_batch_reward_manager_convention_returns_a_list(rows):
    answers = [r["answer"] if i % 2 == 0 else "wrong" for i, r in enumerate(rows)]
    extras = [{**r["metadata"], "index": i, "rollout_reward_scores": {}} for i, r in enumerate(rows)]
    fn = partial(_with_reward_kwargs, compute_score, {"format_weight": 0.1})
    scores = fn(
        data_sources=np.array([f"evoenv/{r['metadata']['env_name']}" for r in rows], dtype=object),
        solution_strs=[_wrap(a) for a in answers],
        ground_truths=[r["answer"] for r in rows],
        extra_infos=extras,
        overlong_buffer_cfg=None,  # a manager's own reward_kwargs
    )
    assert isinstance(scores, list) and len(scores) == len(rows)
    assert scores == [1.0 if i % 2 == 0 else 0.0 for i in range(len(rows))]


def test_single_rollout_with_reward_kwargs_and_router_arguments(rows):
    row = rows[0]
    fn = partial(_with_reward_kwargs, compute_score, {"format_weight": 0.1})
    for call in (
        dict(data_source="evoenv/knapsack", solution_str=_wrap(row["answer"]), ground_truth=row["answer"],
             extra_info=row["metadata"]),
        dict(data_source="evoenv/knapsack", solution_str=_wrap(row["answer"]), ground_truth=row["answer"],
             extra_info=row["metadata"], reward_router_address="127.0.0.1:9000", reward_model_tokenizer=None),
    ):
        assert fn(**call) == 1.0
        assert compute_score(**call) == 1.0
    assert compute_score("evoenv/knapsack", _wrap("-1"), row["answer"], row["metadata"]) == 0.0


def test_batch_without_extra_info_names_the_rows(rows):
    with pytest.raises(ValueError, match=r"rows \[1\] have none"):
        compute_score(data_sources=["a", "b"], solution_strs=["x", "y"], ground_truths=["1", "2"],
                      extra_infos=[rows[0]["metadata"], {}])
