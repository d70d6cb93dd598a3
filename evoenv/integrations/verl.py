"""verl's custom reward function.

In a verl config::

    custom_reward_function:
      path: <site-packages>/evoenv/integrations/verl.py
      name: compute_score

Rows come from ``evoenv export --format verl``; ``extra_info`` carries the
code hash, seed and difficulty, so feasibility tasks accept ANY valid answer,
not only the planted ``ground_truth``.
"""

from __future__ import annotations

from evoenv.answers import extract_answer
from evoenv.integrations.rescore import default_scorer


def compute_score(data_source, solution_str, ground_truth, extra_info=None) -> float:
    """Score one verl rollout: extract the last <answer> block, rescore it in the sandbox."""
    if not extra_info:
        raise ValueError(
            f"evoenv compute_score needs extra_info with code_sha256, seed and difficulty "
            f"(data_source={data_source!r}); export the data with `evoenv export --format verl`"
        )
    return default_scorer().score([(extra_info, extract_answer(solution_str))])[0]
