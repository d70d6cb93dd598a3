import random


class JosephusSurvivor:
    name = "josephus_survivor"
    description = (
        "n people stand in a circle numbered 1..n; counting starts at person 1 and every k-th person "
        "leaves until one remains. The answer is the survivor's number."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"josephus:{seed}:{difficulty}")
        people = rng.randint(2 + difficulty, 3 + 4 * difficulty)
        skip = rng.randint(2, 2 + difficulty)
        return {"people": people, "skip": skip}

    def prompt(self, instance):
        return (
            f"{instance['people']} people stand in a circle, numbered 1 to {instance['people']} clockwise. "
            f"Starting the count at person 1, every {instance['skip']}-th person is removed from the circle, "
            "and counting continues from the next person, until one person is left. "
            "Which number does the last person have? Answer inside <answer>...</answer>."
        )

    def reference(self, instance):
        survivor = 0
        for size in range(2, instance["people"] + 1):
            survivor = (survivor + instance["skip"]) % size
        return str(survivor + 1)

    def score(self, instance, answer):
        if not isinstance(answer, str) or len(answer) > 50:
            return 0.0
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
