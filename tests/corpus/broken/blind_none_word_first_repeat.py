# expect: blind /'none'/ & difficulty 1
# broken: short random lists often have no repeated value, so the offered word "none" pays in many instances
"""First value that repeats while reading a list left to right, or none."""
import random


class FirstRepeat:
    name = "first_repeat"
    description = "Report the first value seen twice when reading a list from the left, or the word none."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"repeat/{seed}/{difficulty}")
        size = 3 + difficulty
        return {"items": [rng.randint(1, 12 * size) for _ in range(size)]}

    def prompt(self, instance):
        return ("Read this list from left to right: " + " ".join(map(str, instance["items"])) + "\n"
                "Which value is the first one you see for the second time? If no value repeats, answer "
                "none. Give the value (or none) inside <answer>...</answer>.")

    def reference(self, instance):
        seen = set()
        for item in instance["items"]:
            if item in seen:
                return str(item)
            seen.add(item)
        return "none"

    def score(self, instance, answer):
        return float(answer.strip().lower() == self.reference(instance))
