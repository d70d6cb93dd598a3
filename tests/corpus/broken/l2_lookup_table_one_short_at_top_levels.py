# expect: L2 IndexError & sweep & /difficulty=(9|10)/
# broken: the table of words for the number of sixes stops at four; five sixes happen only at the two highest levels, on a few seeds in fifty (none of seeds 0-7)
"""Dice totals, broken on purpose: a lookup table one entry short.

At difficulty d the player rolls 2 + d dice. The prompt names how many sixes were rolled from a
table that covers zero to four; five sixes are rare (seeds 18, 38, 43 at difficulty 9 and 23, 31
at difficulty 10), so the first eight seeds at difficulty 1, 5 and 10 never hit it.
"""

import random

SIX_WORDS = ["no sixes", "one six", "two sixes", "three sixes", "four sixes"]


class DiceBonus:
    name = "dice_bonus"
    description = (
        "Roll some dice; the score is the sum of the dice plus 10 points for every six. The answer "
        "is the score."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"dice": [rng.randint(1, 6) for _ in range(2 + difficulty)]}

    def prompt(self, instance):
        dice = instance["dice"]
        return (
            f"The dice show {', '.join(map(str, dice))} ({SIX_WORDS[dice.count(6)]}).\n"
            "The score is the sum of the dice plus 10 points for every six. What is the score?\n"
            "Answer with one integer inside <answer>...</answer>."
        )

    def reference(self, instance):
        dice = instance["dice"]
        return str(sum(dice) + 10 * dice.count(6))

    def score(self, instance, answer):
        text = answer.strip() if isinstance(answer, str) else ""
        if not text.isascii() or not text.isdigit() or len(text) > 6:
            return 0.0
        return 1.0 if int(text) == int(self.reference(instance)) else 0.0
