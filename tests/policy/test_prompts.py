"""Role prompt templates: shipped in the package, filled strictly."""

from __future__ import annotations

import jinja2
import pytest

from evoenv.prompts import chat_prompt, render_prompt, solver_prompt, template_source

PARENTS = [
    {"name": "knapsack", "description": "0/1 knapsack optimum.", "code": "class Knapsack:\n    pass\n"},
    {"name": "sat", "description": "Planted 3-SAT.", "code": "class Sat:\n    pass\n"},
]


@pytest.mark.parametrize("operation, phrase", [("mutation", "by **mutation** of parent 1"),
                                               ("crossover", "by **crossover**")])
def test_generator_shows_contract_and_both_parents(operation, phrase):
    text = render_prompt("generator", parents=PARENTS, operation=operation)
    assert text.startswith("You are the generator of EvoEnv")
    for member in ("sample(self, seed: int, difficulty: int) -> dict", "reference(self, instance: dict) -> str",
                   "score(self, instance: dict, answer: str) -> float", "random.Random"):
        assert member in text
    assert "solve-verify asymmetry" in text and "every valid answer scores 1" in text and "difficulty" in text
    assert "### Parent 1: `knapsack`" in text and "### Parent 2: `sat`" in text
    assert "```python\nclass Knapsack:\n    pass\n```" in text
    assert phrase in text and "ONE ```python block" in text


def test_missing_variables_are_errors_not_holes():
    with pytest.raises(jinja2.UndefinedError):
        render_prompt("generator", parents=PARENTS)  # no operation
    with pytest.raises(ValueError, match="unknown prompt role"):
        render_prompt("critic")


def test_solver_and_repair_prompts():
    text = render_prompt("solver", instance_prompt="What is 2+2? Answer inside <answer>...</answer>.")
    assert text.startswith("What is 2+2?") and "only the last one counts" in text
    assert solver_prompt("x") == [{"role": "user", "content": render_prompt("solver", instance_prompt="x")}]
    repair = chat_prompt("repair", stage="L5", reason="score() raised ValueError on ''")
    assert repair[0]["role"] == "user" and "rejected at stage L5" in repair[0]["content"]
    assert "score() raised ValueError on ''" in repair[0]["content"]
    assert "{{ instance_prompt" in template_source("solver")
