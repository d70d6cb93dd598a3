"""How often the target face shows in a list of die rolls: the prompt labels small numbers.

Style under test: the prompt prints labelled fields (``target: 4``, ``rolls: ...``) and the answer
is a small count, so it equals a labelled value now and then (the count of fours is often 4 or
the target itself). That is chance, not a leak: the same label matches other instances' answers
about as often.
"""

import random


class FaceCount:
    name = "face_count"
    description = "Given a list of die rolls and a target face, count how many rolls show that face."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"target": rng.randint(1, 6), "rolls": [rng.randint(1, 6) for _ in range(4 + 3 * difficulty)]}

    def prompt(self, instance):
        return (
            f"target: {instance['target']}\nrolls: {' '.join(map(str, instance['rolls']))}\n"
            f"count of rolls: {len(instance['rolls'])}\n\n"
            "How many of the rolls show the target face?\nAnswer with one integer inside <answer>...</answer>."
        )

    def reference(self, instance):
        return str(instance["rolls"].count(instance["target"]))

    def score(self, instance, answer):
        text = answer.strip() if isinstance(answer, str) else ""
        return 1.0 if text.isascii() and text.isdigit() and len(text) < 4 and text == self.reference(instance) else 0.0
