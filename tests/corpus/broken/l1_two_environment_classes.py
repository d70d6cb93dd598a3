# expect: L1 WindowMaxima & WindowMinima
# broken: two classes both have the whole contract
"""Sliding-window maxima, broken on purpose: two classes both have the whole contract.

A challenge-corpus environment for admission: apart from the one defect named
in the header, it is a sound environment (kind 1: a deque or a loop computes
every window's maximum; by hand, long lists invite slips).
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
        if not isinstance(answer, str) or len(answer) > 10_000:
            return 0.0
        tokens = answer.replace(",", " ").split()
        if not tokens or not all(_INT.fullmatch(t) for t in tokens):
            return 0.0
        return 1.0 if [int(t) for t in tokens] == self.maxima(instance) else 0.0


class WindowMinima(WindowMaxima):
    name = "window_minima"
    description = "The same task with minima instead of maxima."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        return super().sample(seed, difficulty)

    def prompt(self, instance):
        return super().prompt(instance).replace("largest", "smallest")

    def maxima(self, instance):
        values, width = instance["values"], instance["width"]
        return [min(values[i:i + width]) for i in range(len(values) - width + 1)]

    def reference(self, instance):
        return super().reference(instance)

    def score(self, instance, answer):
        return super().score(instance, answer)
