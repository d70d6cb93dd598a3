"""How often the target face shows in a list of die rolls: the prompt labels small numbers.

Style under test: the prompt prints labelled fields (``target: 4``, ``rolls: ...``) and the answer
is a small count, so it equals a labelled value now and then (the count of fours is 4, or the
target itself). That is chance, not a leak: the same label matches other instances' answers
about as often. The count is planted, spread evenly over 0..15+2*difficulty, rather than left to
the dice (about n/6, a guess the blind stage rightly rejects).
"""

import random


class FaceCount:
    name = "face_count"
    description = "Given a list of die rolls and a target face, count how many rolls show that face."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        target = rng.randint(1, 6)
        hits = rng.randint(0, 15 + 2 * difficulty)
        other_faces = [face for face in range(1, 7) if face != target]
        misses = rng.randint(20 + 3 * difficulty, 40 + 6 * difficulty)
        rolls = [target] * hits + [rng.choice(other_faces) for _ in range(misses)]
        rng.shuffle(rolls)
        return {"target": target, "rolls": rolls}

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
