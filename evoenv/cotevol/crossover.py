"""Reflective crossover: a critic reads two parents, an author writes the child.

The critic prompt depends on what the verifier said about the parents:

| parents            | case                      | the critic is asked to            |
|--------------------|---------------------------|-----------------------------------|
| both correct       | ``elite_merging``         | merge the best steps, drop waste  |
| one correct        | ``success_error_fusion``  | find where the wrong one fails    |
| both wrong         | ``failure_pattern_summary`` | name the shared failure patterns |

In the mixed case the correct parent is always shown as Solution A. The author
prompt then writes the offspring as numbered steps ending in an answer block.
The critic never sees the reference answer, only the verifier's verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from evoenv.cotevol.generation import Generator
from evoenv.cotevol.prompts import render
from evoenv.cotevol.trajectory import Problem, Trajectory
from evoenv.policy.base import Prompt, Sampling

ELITE_MERGING = "elite_merging"
SUCCESS_ERROR_FUSION = "success_error_fusion"
FAILURE_PATTERN_SUMMARY = "failure_pattern_summary"
CASES = (ELITE_MERGING, SUCCESS_ERROR_FUSION, FAILURE_PATTERN_SUMMARY)

#: Parent text longer than this is cut (from the middle) before it goes into a prompt.
MAX_PARENT_CHARS = 12_000


def critic_case(a: Trajectory, b: Trajectory) -> str:
    if a.correct and b.correct:
        return ELITE_MERGING
    if a.correct or b.correct:
        return SUCCESS_ERROR_FUSION
    return FAILURE_PATTERN_SUMMARY


def ordered_parents(a: Trajectory, b: Trajectory) -> tuple[Trajectory, Trajectory]:
    """The correct parent first in the mixed case; otherwise the fitter one first."""
    if a.correct != b.correct:
        return (a, b) if a.correct else (b, a)
    return (a, b) if a.fitness >= b.fitness else (b, a)


def _shown(text: str) -> str:
    text = text.strip() or "(empty response)"
    if len(text) <= MAX_PARENT_CHARS:
        return text
    half = MAX_PARENT_CHARS // 2
    return f"{text[:half]}\n[... {len(text) - MAX_PARENT_CHARS} characters omitted ...]\n{text[-half:]}"


def as_prompt(text: str, chat: bool) -> Prompt:
    return [{"role": "user", "content": text}] if chat else text


@dataclass
class CrossoverRequest:
    problem: Problem
    parent_a: Trajectory
    parent_b: Trajectory

    @property
    def case(self) -> str:
        return critic_case(self.parent_a, self.parent_b)


def critic_prompt(problem: Problem, a: Trajectory, b: Trajectory) -> str:
    first, second = ordered_parents(a, b)
    return render(f"critic_{critic_case(a, b)}", problem=problem.rendered.prompt,
                  parent_a=_shown(first.text), parent_b=_shown(second.text))


def author_prompt(problem: Problem, a: Trajectory, b: Trajectory, critique: str) -> str:
    first, second = ordered_parents(a, b)
    return render("author", problem=problem.rendered.prompt, parent_a=_shown(first.text),
                  parent_b=_shown(second.text), critique=_shown(critique))


def crossover(generator: Generator, requests: list[CrossoverRequest], sampling: Sampling,
              chat: bool = True) -> list[Trajectory]:
    """One child per request: a batched critic call, then a batched author call (with logprobs,
    so the child can be mutated). The child's lineage is the fitter parent's plus this step."""
    if not requests:
        return []
    critiques = generator.generate(  # the critique is never mutated: no logprobs needed
        [(r.problem.key, as_prompt(critic_prompt(r.problem, r.parent_a, r.parent_b), chat)) for r in requests],
        replace(sampling, logprobs=False))
    authored = generator.generate(
        [(r.problem.key, as_prompt(author_prompt(r.problem, r.parent_a, r.parent_b, c.text or ""), chat))
         for r, c in zip(requests, critiques)],
        sampling)
    children = []
    for r, completion in zip(requests, authored):
        first, _ = ordered_parents(r.parent_a, r.parent_b)
        children.append(Trajectory.from_completion(completion, lineage=first.lineage + (f"crossover:{r.case}",)))
    return children
