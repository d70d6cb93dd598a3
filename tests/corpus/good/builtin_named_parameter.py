"""Run-length encode a string, then report the encoding's length.

Solve-verify asymmetry, kind 1: one pass over the string in code; by hand,
counting long runs in a 100-character string is error-prone.

Style under test: a helper parameter is named ``input`` (shadowing the
builtin, as much tokenizer and ML code does); the environment never calls
the builtin ``input()``.
"""

import itertools
import random


def encode(input: str) -> str:
    """'aaab' -> '3a1b'."""
    return "".join(f"{len(list(group))}{char}" for char, group in itertools.groupby(input))


class RunLengthSize:
    name = "run_length_size"
    description = (
        "Run-length encode a string of letters (each run of one repeated letter becomes its length "
        "followed by the letter, e.g. aaab -> 3a1b). The answer is the number of characters of the "
        "encoding, as an integer."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        runs = [rng.choice("abc") * rng.choice((1, 1, 2, 3, 4, 12)) for _ in range(4 + 4 * difficulty)]
        return {"text": "".join(runs)}

    def prompt(self, instance: dict) -> str:
        return (
            f"String: {instance['text']}\n\n"
            "Run-length encode it: replace each maximal run of one repeated letter by the run's length "
            "in decimal followed by the letter (aaab becomes 3a1b, and a run of twelve c becomes 12c). "
            "How many characters long is the encoding?\n"
            "Give the count as a plain decimal integer inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        return str(len(encode(instance["text"])))

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 20:
            return 0.0
        text = answer.strip()
        return 1.0 if text.isascii() and text.isdigit() and text == self.reference(instance) else 0.0
