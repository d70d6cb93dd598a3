"""Fitness of a trajectory: R = R_ac + R_fmt + R_len.

- ``R_ac``: the environment's own score of the extracted answer (the last
  ``<answer>`` block, ``""`` when there is none), in [0, 1], computed in the
  sandbox. A trajectory is *correct* when ``R_ac >= correct_threshold`` (1.0).
- ``R_fmt``: 0.5 when the text holds a complete ``<answer>...</answer>`` block.
- ``R_len``: the cosine length reward of Yeo et al. (2025), with L the
  trajectory's generated tokens and L_max the longest in the population::

      cos_reward(L; lo, hi) = lo + (hi - lo) * (1 + cos(pi * min(L, L_max) / L_max)) / 2

  correct:  lo=C_min=0.5, hi=C_max=1.0  -> 1.0 at L=0 falling to 0.5 at L_max (short is better)
  wrong:    lo=W_min=1.0, hi=W_max=0.5  -> 0.5 at L=0 rising to 1.0 at L_max (keep thinking)

  With L_max = 0 (every trajectory empty) the ratio is taken as 0.

A correct trajectory therefore scores at least 1.5 (2.0 with an answer block)
and a wrong one at most 1.5, so verified correctness dominates the ranking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evoenv.audit import DEFAULT_AUDIT_SHARE
from evoenv.cotevol.trajectory import Problem, Trajectory
from evoenv.sandbox import Limits, Sandbox, SandboxedEnv
from evoenv.train.rewards import RewardScorer, ScoreItem


@dataclass(frozen=True)
class FitnessConfig:
    format_reward: float = 0.5
    c_min: float = 0.5
    c_max: float = 1.0
    w_min: float = 1.0
    w_max: float = 0.5
    correct_threshold: float = 1.0
    #: share of instances scored with a known-wrong answer too (``evoenv.audit``); an environment that pays for
    #: one scores nothing in that batch. 0 turns the audit off.
    audit_share: float = DEFAULT_AUDIT_SHARE


def cosine_length_reward(length: int, l_max: int, correct: bool, config: FitnessConfig = FitnessConfig()) -> float:
    lo, hi = (config.c_min, config.c_max) if correct else (config.w_min, config.w_max)
    ratio = 0.0 if l_max <= 0 else min(max(length, 0), l_max) / l_max
    return lo + (hi - lo) * (1.0 + math.cos(math.pi * ratio)) / 2.0


def assign_fitness(population: list[Trajectory], config: FitnessConfig = FitnessConfig()) -> None:
    """Set ``fitness`` on every scored trajectory; L_max is taken over this population."""
    l_max = max((t.length for t in population), default=0)
    for t in population:
        r_fmt = config.format_reward if t.has_answer else 0.0
        r_len = cosine_length_reward(t.length, l_max, t.correct, config)
        t.fitness_parts.update({"R_ac": t.score, "R_fmt": r_fmt, "R_len": r_len, "L": t.length, "L_max": l_max})
        t.fitness = t.score + r_fmt + r_len


def score_trajectories(env: SandboxedEnv, problem: Problem, trajectories: list[Trajectory],
                       config: FitnessConfig = FitnessConfig()) -> None:
    """Score each trajectory's extracted answer with ``env`` (its code and limits), in the sandbox."""
    _score(env.sandbox, env.limits, [(problem.env_name, env.code, problem.rendered.instance, t) for t in trajectories],
           config)


def score_batch(sandbox: Sandbox, items: list[tuple[Problem, Trajectory]], config: FitnessConfig = FitnessConfig()) -> None:
    """Score many (problem, trajectory) pairs: a sandbox job per environment (chunks of up to 64
    answers), all jobs at once, under the sandbox's own limits."""
    _score(sandbox, None, [(f"{p.env_name}@{p.code_sha256[:12]}", p.code, p.rendered.instance, t) for p, t in items],
           config)


def _score(sandbox: Sandbox, limits: Limits | None, items: list[tuple[str, str, dict, Trajectory]],
           config: FitnessConfig) -> None:
    """Through the trainer's ``RewardScorer``, so rollouts are scored one way everywhere.

    A scorer that raises scores 0 for that answer; a job that fails as a whole (timeout,
    crash) scores its answers 0 and says why in ``fitness_parts["scoring_error"]``."""
    if not items:
        return
    scorer = RewardScorer(sandbox, limits or getattr(sandbox, "limits", None) or Limits(),
                          audit_share=config.audit_share)
    rewards = scorer.score([ScoreItem(env_id, code, instance, t.text) for env_id, code, instance, t in items])
    for (*_, t), reward in zip(items, rewards):
        t.score = reward.value
        t.correct = t.score >= config.correct_threshold
        if reward.job_error:
            t.fitness_parts["scoring_error"] = f"scoring job failed: {reward.job_error}"
