# expect: L5 sweep & /reference scores 0/ & seed=43
# broken: the scorer's pattern has no minus sign; the net change is negative only on rare seeds at difficulty 1 (43, 51, 52), where the reference itself scores 0
"""Net elevation change of a hike, broken on purpose: the scorer cannot read negative answers.

The legs mostly climb, so the net change is almost always positive; on three seeds in fifty at
difficulty 1 it is negative, and there ``score(instance, reference(instance))`` is 0.
"""

import random
import re


class HikeElevation:
    name = "hike_elevation"
    description = (
        "A hike is a list of legs, each climbing or descending some metres. The answer is the net "
        "change in elevation from start to finish, in metres."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"legs": [rng.randint(-3, 9) for _ in range(4 + difficulty)]}

    def prompt(self, instance):
        legs = ", ".join(f"{v:+d} m" for v in instance["legs"])
        return (
            f"A hike has these legs, in order: {legs}.\n"
            "What is the net change in elevation from the start to the finish, in metres?\n"
            "Answer with one integer inside <answer>...</answer>."
        )

    def reference(self, instance):
        return str(sum(instance["legs"]))

    def score(self, instance, answer):
        if not isinstance(answer, str) or not re.fullmatch(r"[0-9]{1,6}", answer.strip()):
            return 0.0
        return 1.0 if int(answer.strip()) == sum(instance["legs"]) else 0.0
