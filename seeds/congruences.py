"""A system of congruences with pairwise coprime moduli (Chinese remainder theorem).

Solve-verify asymmetry, kind 1: CRT with modular inverses is a few lines of
code, but by hand it means sieving through numbers up to the moduli's product.
"""

import math
import random


class Congruences:
    name = "congruences"
    description = (
        "Given congruences x = a_i (mod m_i) with pairwise coprime moduli, find the smallest "
        "non-negative integer x that satisfies all of them. The answer is that x, one integer "
        "in plain decimal."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        count = 2 + (difficulty - 1) // 3  # 2 .. 5 congruences
        candidates = list(range(3, 7 + 6 * difficulty))  # moduli up to 12 .. 66
        rng.shuffle(candidates)
        moduli: list[int] = []
        for m in candidates:  # keep a candidate only if coprime with those already kept
            if all(math.gcd(m, other) == 1 for other in moduli):
                moduli.append(m)
            if len(moduli) == count:
                break
        x = rng.randrange(math.prod(moduli))
        return {"moduli": moduli, "residues": [x % m for m in moduli]}

    def prompt(self, instance: dict) -> str:
        lines = [f"x = {a} (mod {m})" for a, m in zip(instance["residues"], instance["moduli"])]
        return (
            "Find the smallest non-negative integer x that satisfies every congruence below:\n"
            + "\n".join(lines)
            + f"\n\nThe moduli are pairwise coprime, so exactly one solution lies in "
            f"[0, {math.prod(instance['moduli'])}).\n"
            "Give x as a plain decimal integer inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        # Fold the congruences in one by one: x solves the first k, with period `step`.
        x, step = 0, 1
        for a, m in zip(instance["residues"], instance["moduli"]):
            t = (a - x) * pow(step, -1, m) % m  # x + step * t = a (mod m)
            x, step = x + step * t, step * m
        return str(x)

    def score(self, instance: dict, answer: str) -> float:
        # Exact match: other members of the residue class (x + M, x - M) are not the smallest.
        if not isinstance(answer, str) or len(answer) > 100:
            return 0.0
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
