"""Bus fares with zone surcharges: sample() keys a dict by int zone, the methods read str keys.

Style under test: the methods were written for the instance as the platform hands it (after the
JSON round trip, the zone keys are strings) and index with ``str(zone)``. On the raw instance that
lookup raises, which is not a defect: the platform never passes the raw instance, so admission
compares the two only where both run.
"""

import random


class ZoneFares:
    name = "zone_fares"
    description = (
        "A bus trip crosses several fare zones; each zone crossed adds its surcharge to the base fare. "
        "The answer is the total fare in cents."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        zones = list(range(1, 4 + difficulty))
        return {"base": rng.randint(100, 250), "surcharge": {z: rng.randint(10, 90) for z in zones},
                "trip": [rng.choice(zones) for _ in range(2 + difficulty)]}

    def prompt(self, instance):
        table = ", ".join(f"zone {z}: {c}" for z, c in instance["surcharge"].items())
        return (
            f"Base fare: {instance['base']} cents. Surcharges per zone crossed: {table}.\n"
            f"A trip crosses zones {', '.join(map(str, instance['trip']))} (each crossing is charged).\n"
            "What is the total fare in cents? Answer with one integer inside <answer>...</answer>."
        )

    def reference(self, instance):
        return str(instance["base"] + sum(instance["surcharge"][str(z)] for z in instance["trip"]))

    def score(self, instance, answer):
        text = answer.strip() if isinstance(answer, str) else ""
        return 1.0 if text.isascii() and text.isdigit() and len(text) < 9 and text == self.reference(instance) else 0.0
