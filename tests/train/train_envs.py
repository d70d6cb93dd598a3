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

#: A new environment (not a copy of any seed), as a generator would write it.
PROPOSAL = '''The reference is a simple loop in code, but hard to do in one's head for long lists.

```python
import random

class CountPeaks:
    name = "count_peaks"
    description = "Count the strict local maxima of a list of integers; answer with the count."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        n = 20 + 3 * difficulty
        # random lists have about n/3 peaks (a guess that pays): raise a planted number of them instead
        values = [rng.randint(0, 1) for _ in range(n)]
        for i in rng.sample(range(1, n - 1, 2), rng.randint(0, (n - 2) // 2)):
            values[i] = rng.randint(3, 9 + difficulty * 5)
        return {"values": values}

    def prompt(self, instance):
        return ("How many positions i (0 < i < n-1) have values[i] greater than both neighbours in "
                f"{instance['values']}? Answer inside <answer>...</answer>.")

    def reference(self, instance):
        v = instance["values"]
        return str(sum(1 for i in range(1, len(v) - 1) if v[i] > v[i - 1] and v[i] > v[i + 1]))

    def score(self, instance, answer):
        text = answer.strip()
        if not text.isdigit():
            return 0.0
        return 1.0 if text == self.reference(instance) else 0.0
```
'''


def checksum_expected(instance: dict, answer: str) -> float:
    return ((sum(map(ord, answer)) + instance["k"]) % 11) / 10
