# expect-stage: L3
# expect-reason: rendered twice in one process
# Broken ONE way: a call counter on self changes the instances, but only from difficulty 2 up
# (at difficulty 1 the width has one possible value).
import random


class Broken:
    name = "broken_example"
    description = "Answer about a list of integers."
    max_difficulty = 10
    calls = 0

    def sample(self, seed, difficulty):
        type(self).calls += 1
        rng = random.Random(f"{seed}:{difficulty}")
        values = [rng.randint(0, 9 * difficulty) for _ in range(3 + 2 * difficulty)]
        width = 1 + self.calls % difficulty
        return {"values": values, "width": width}

    def prompt(self, instance):
        return (f"What is the largest sum of {instance['width']} consecutive numbers of {instance['values']}? "
                "Answer inside <answer></answer>.")

    def reference(self, instance):
        v, w = instance["values"], instance["width"]
        return str(max(sum(v[i:i + w]) for i in range(len(v) - w + 1)))

    def score(self, instance, answer):
        text = answer.strip() if isinstance(answer, str) else ""
        if not text.isdigit() or len(text) > 12:
            return 0.0
        return float(text == self.reference(instance))
