# expect: L5 /perturbed references still score 1|near misses score 1: the subset/
# broken: the task asks for a choice of projects within the budget reaching a profit goal; the scorer checks only the budget, so dropping any project from a valid answer still scores 1
"""Project selection, broken on purpose: the scorer forgets the profit goal.

Kind 2: a set of projects that fits the budget and reaches the goal is planted, using the budget
almost exactly, so adding a project breaks the budget; removing one keeps it, and the scorer,
which checks only the budget, accepts that. Dropping elements is also what several ordinary
perturbations do, so the share of perturbations that still score 1 usually rejects it first; the
subset near miss is the backstop when the perturbed instances happen to miss it.
"""

import random


class ProjectPick:
    name = "project_pick"
    description = (
        "Each project has a cost and a profit. Choose projects whose total cost is at most the budget "
        "and whose total profit is at least the goal. Any such choice is correct. The answer is the "
        "chosen project numbers."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        n = 5 + difficulty
        costs = [rng.randint(10, 60) for _ in range(n)]
        profits = [rng.randint(5, 50) for _ in range(n)]
        chosen = sorted(rng.sample(range(n), max(2, n // 2)))
        return {"costs": costs, "profits": profits, "budget": sum(costs[i] for i in chosen),
                "goal": sum(profits[i] for i in chosen), "chosen": chosen}

    def prompt(self, instance):
        rows = "\n".join(f"project {i}: cost {c}, profit {p}"
                         for i, (c, p) in enumerate(zip(instance["costs"], instance["profits"])))
        return (
            f"{rows}\n\nChoose projects with total cost at most {instance['budget']} and total profit at "
            f"least {instance['goal']}.\nGive the project numbers separated by spaces inside "
            "<answer>...</answer>."
        )

    def reference(self, instance):
        return " ".join(map(str, instance["chosen"]))

    def score(self, instance, answer):
        if not isinstance(answer, str) or len(answer) > 2000:
            return 0.0
        tokens = answer.split()
        if not tokens or not all(t.isascii() and t.isdigit() for t in tokens):
            return 0.0
        picks = [int(t) for t in tokens]
        if len(set(picks)) != len(picks) or max(picks) >= len(instance["costs"]):
            return 0.0
        return 1.0 if sum(instance["costs"][i] for i in picks) <= instance["budget"] else 0.0
