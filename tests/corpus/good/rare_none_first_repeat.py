"""First value seen twice in a list, or "none": the special answer kept rare.

The guessable version of this task (tests/corpus/broken/blind_none_word_first_repeat.py)
answers "none" most of the time; here a repeat is planted in all but about one
instance in twenty, and the lists are long enough for the repeated value to vary.
"""
import random


class FirstRepeatRareNone:
    name = "first_repeat_rare_none"
    description = "Report the first value seen twice when reading a list from the left, or the word none."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"repeat-rare/{seed}/{difficulty}")
        size = 8 + 3 * difficulty
        items = rng.sample(range(1, 40 * size), size)  # distinct values
        if rng.random() >= 1 / 20:  # plant a repeat: a later position copies an earlier value
            later = rng.randrange(1, size)
            items[later] = items[rng.randrange(later)]
        return {"items": items}

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
        if not isinstance(answer, str):
            return 0.0
        return float(answer.strip().lower() == self.reference(instance))
