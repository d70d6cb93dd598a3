"""Small environments (source text) for the trainer tests; they only ever run in the sandbox."""

from __future__ import annotations

#: The score depends on the answer text and the instance, so rewards differ within a group
#: and can only be right if this code ran (in the sandbox).
CHECKSUM_ENV = '''
import random

class Checksum:
    name = "checksum"
    description = "Any text; the score is a checksum of the answer."
    max_difficulty = 5

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"k": rng.randint(0, 10), "difficulty": difficulty}

    def prompt(self, instance):
        return f"Say something about {instance['k']}. Answer in <answer>...</answer>."

    def reference(self, instance):
        return "a" * instance["k"]

    def score(self, instance, answer):
        return ((sum(map(ord, answer)) + instance["k"]) % 11) / 10
'''

#: Renders fine, but its scorer never returns.
LOOPING_ENV = '''
class Looper:
    name = "looper"
    description = "Scoring never ends."
    max_difficulty = 3

    def sample(self, seed, difficulty):
        return {"seed": seed}

    def prompt(self, instance):
        return f"Loop {instance['seed']} <answer>...</answer>"

    def reference(self, instance):
        return "x"

    def score(self, instance, answer):
        while True:
            pass
'''


def checksum_expected(instance: dict, answer: str) -> float:
    return ((sum(map(ord, answer)) + instance["k"]) % 11) / 10
