"""Evaluate an arithmetic expression in reverse Polish notation.

Solve-verify asymmetry, kind 1: a stack machine evaluates it in one pass; by
hand, long postfix expressions with subtraction and products are slips
waiting to happen.

Style under test: helpers are @staticmethod and @classmethod, ``reference``
itself is a @staticmethod and ``score`` a @classmethod.
"""

import random
import re

_CANONICAL_INT = re.compile(r"0|-?[1-9][0-9]{0,40}")


class PostfixEvaluation:
    name = "postfix_evaluation"
    description = (
        "Evaluate an integer arithmetic expression written in reverse Polish (postfix) notation "
        "with +, - and *. The answer is the value as one integer in plain decimal."
    )
    max_difficulty = 10
    OPERATORS = ("+", "-", "*")

    @classmethod
    def _random_expression(cls, rng: random.Random, operands: int, largest: int) -> list[str]:
        """A valid postfix token list with ``operands`` numbers, built as a random binary tree."""
        if operands == 1:
            return [str(rng.randint(1, largest))]
        left = rng.randint(1, operands - 1)
        # Keep products rare so the value stays readable.
        op = rng.choices(cls.OPERATORS, weights=(4, 4, 1))[0]
        return (cls._random_expression(rng, left, largest)
                + cls._random_expression(rng, operands - left, largest) + [op])

    @staticmethod
    def _evaluate(tokens: list[str]) -> int:
        stack: list[int] = []
        for token in tokens:
            if token in ("+", "-", "*"):
                right, left = stack.pop(), stack.pop()
                stack.append(left + right if token == "+" else left - right if token == "-" else left * right)
            else:
                stack.append(int(token))
        return stack[0]

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        return {"tokens": self._random_expression(rng, operands=2 + 2 * difficulty, largest=9 + 3 * difficulty)}

    def prompt(self, instance: dict) -> str:
        return (
            "Evaluate this expression, written in reverse Polish notation (each operator applies to "
            "the two values before it; for '-', the earlier value minus the later one):\n\n"
            + " ".join(instance["tokens"])
            + "\n\nGive the value as a plain decimal integer (with a leading minus sign if negative) "
            "inside <answer>...</answer>."
        )

    @staticmethod
    def reference(instance: dict) -> str:
        return str(PostfixEvaluation._evaluate(instance["tokens"]))

    @classmethod
    def score(cls, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 100:
            return 0.0
        text = answer.strip()
        if not _CANONICAL_INT.fullmatch(text):
            return 0.0
        return 1.0 if int(text) == cls._evaluate(instance["tokens"]) else 0.0
