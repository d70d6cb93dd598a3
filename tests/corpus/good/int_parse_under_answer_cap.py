"""Sliding-window maxima whose scorer calls int() on digit strings of any length.

Once in broken/ (CPython's int() refuses more than 4300 digits, so a 1 MB digit answer made the
scorer raise); the platform now owns an answer-size cap (evoenv.answers.MAX_ANSWER_CHARS, 4096
characters, below that limit): longer answers score 0 without reaching the scorer, so this common,
correct pattern is admitted. Its digit test is ASCII-only (t.isascii()), so '²' does not reach int().
"""

import random
import re

_INT = re.compile(r"0|-?[1-9][0-9]{0,6}")


class WindowMaxima:
    name = "window_maxima"
    description = (
        "Given a list of integers and a window width w, report the largest number in every window "
        "of w consecutive numbers, from left to right. The answer is those maxima separated by spaces."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        n = 6 + 3 * difficulty  # 9 .. 36 numbers
        values = [rng.randint(-20 * difficulty, 20 * difficulty) for _ in range(n)]
        return {"values": values, "width": rng.randint(2, 2 + difficulty // 2)}

    def prompt(self, instance):
        return (
            f"Numbers: {', '.join(map(str, instance['values']))}\n"
            f"Window width: {instance['width']}\n\n"
            "Slide a window over that many consecutive numbers from the left end to the right end, "
            "one step at a time, and write down the largest number in each window.\n"
            "Give the maxima in order, separated by spaces, inside <answer>...</answer>."
        )

    def maxima(self, instance):
        values, width = instance["values"], instance["width"]
        return [max(values[i:i + width]) for i in range(len(values) - width + 1)]

    def reference(self, instance):
        return " ".join(map(str, self.maxima(instance)))

    def score(self, instance, answer):
        if not isinstance(answer, str):
            return 0.0
        tokens = answer.replace(",", " ").split()
        if not tokens or not all(t.lstrip("-").isdigit() and t.isascii() for t in tokens):
            return 0.0
        return 1.0 if [int(t) for t in tokens] == self.maxima(instance) else 0.0
