"""Calls to the policy, with token accounting per problem.

Every completion token counts against the problem it was spent on, whatever
the operator (sampling, critic, author, mutation, self-refine feedback), so
methods can be compared at a matched token budget.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from evoenv.policy.base import Completion, Policy, PolicyError, Prompt, Sampling


@dataclass
class TokenMeter:
    completion: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    prompt: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, key: str, completion: Completion) -> None:
        used = completion.completion_tokens
        if used <= 0:  # backend reported no count: whitespace words are a fair stand-in
            used = len((completion.text or "").split())
        used = max(1, used)  # a call is never free, so budget loops always end
        self.completion[key] += used
        self.prompt[key] += max(0, completion.prompt_tokens)
        self.calls[key] += 1


class Generator:
    """Batches prompts for one policy and charges each completion to its problem."""

    def __init__(self, policy: Policy, meter: TokenMeter | None = None, seed: int | None = 0):
        self.policy = policy
        self.meter = meter or TokenMeter()
        self._seed = seed
        self._calls = 0

    def generate(self, requests: list[tuple[str, Prompt]], sampling: Sampling) -> list[Completion]:
        """One completion per (problem key, prompt), in order."""
        if not requests:
            return []
        if self._seed is not None:  # a fresh, reproducible seed for every batch
            sampling = replace(sampling, seed=self._seed + self._calls)
        self._calls += 1
        completions = self.policy.generate([prompt for _, prompt in requests], sampling)
        if len(completions) != len(requests):
            raise PolicyError(f"policy {getattr(self.policy, 'name', '?')} returned {len(completions)} "
                              f"completions for {len(requests)} prompts")
        for (key, _), completion in zip(requests, completions):
            self.meter.add(key, completion)
        return completions

    def generate_grouped(self, requests: list[tuple[str, Prompt, float]], sampling: Sampling) -> list[Completion]:
        """Like ``generate`` but each request carries its own temperature; requests that share
        a temperature (to 2 decimals) go to the policy as one batch."""
        out: list[Completion | None] = [None] * len(requests)
        groups: dict[float, list[int]] = defaultdict(list)
        for i, (_, _, temperature) in enumerate(requests):
            groups[round(temperature, 2)].append(i)
        for temperature, indices in sorted(groups.items()):
            batch = [(requests[i][0], requests[i][1]) for i in indices]
            for i, completion in zip(indices, self.generate(batch, replace(sampling, temperature=temperature))):
                out[i] = completion
        return out  # type: ignore[return-value]
