"""Unit-time jobs with deadlines: the largest total profit.

Solve-verify asymmetry, kind 1: the exchange argument gives a greedy
algorithm (most profitable first, into the latest free slot before its
deadline), which code runs exactly; by hand, people schedule by deadline
or by profit alone and lose value.

Style under test: a ``TypedDict`` for the instance, ``Final`` constants,
full type hints and docstrings, and ``description`` as a read-only
``@property``.
"""

import random
from typing import Final, TypedDict

from evoenv.sdk import parse_int

SLOT_WORD: Final[str] = "hour"


class Job(TypedDict):
    """One job: it takes one hour and pays ``profit`` if finished by ``deadline``."""

    label: str
    deadline: int
    profit: int


class Instance(TypedDict):
    """What ``sample`` returns: the jobs in the order the prompt lists them."""

    jobs: list[Job]


def best_profit(jobs: list[Job]) -> int:
    """The optimum: take jobs by falling profit, each into the latest free hour before its deadline.

    Args:
        jobs: the jobs of one instance.

    Returns:
        The largest total profit of a feasible schedule.
    """
    horizon: int = max(job["deadline"] for job in jobs)
    free: list[bool] = [True] * (horizon + 1)  # free[h]: hour h (1-based) is still open
    total: int = 0
    for job in sorted(jobs, key=lambda j: (-j["profit"], j["label"])):
        for hour in range(job["deadline"], 0, -1):
            if free[hour]:
                free[hour] = False
                total += job["profit"]
                break
    return total


class JobDeadlines:
    """Schedule one-hour jobs before their deadlines to earn the most."""

    name: str = "job_deadlines"
    max_difficulty: int = 10

    @property
    def description(self) -> str:
        """The task in one paragraph (a property, to test that style)."""
        return (
            "Given one-hour jobs, each with a deadline and a profit, schedule some of them in "
            "hours 1, 2, 3, ... (one job per hour, each finished by its deadline) to earn as much "
            "as possible. The answer is the largest total profit as one integer."
        )

    def sample(self, seed: int, difficulty: int) -> Instance:
        """Between 6 and 33 jobs; deadlines tighten relative to the count as difficulty grows.

        Args:
            seed: which instance.
            difficulty: 1 .. 10.
        """
        rng: random.Random = random.Random(f"{seed}:{difficulty}")
        count: int = 3 + 3 * difficulty
        latest: int = max(2, count // 2)
        jobs: list[Job] = [
            {"label": f"J{i + 1}", "deadline": rng.randint(1, latest), "profit": rng.randint(5, 20 + 10 * difficulty)}
            for i in range(count)
        ]
        return {"jobs": jobs}

    def prompt(self, instance: Instance) -> str:
        """List the jobs and ask for the best total profit inside answer tags."""
        rows: list[str] = [f"{job['label']}: deadline end of {SLOT_WORD} {job['deadline']}, profit {job['profit']}"
                           for job in instance["jobs"]]
        return (
            f"Each job takes exactly one {SLOT_WORD}; you can do one job per {SLOT_WORD}, in {SLOT_WORD}s "
            f"1, 2, 3, ... A job pays its profit only if it is done no later than its deadline.\n"
            + "\n".join(rows)
            + "\n\nWhat is the largest total profit you can earn?\n"
            "Give it as a plain decimal integer inside <answer>...</answer>."
        )

    def reference(self, instance: Instance) -> str:
        """The optimum as canonical decimal text."""
        return str(best_profit(instance["jobs"]))

    def score(self, instance: Instance, answer: str) -> float:
        """1.0 for the optimum in canonical decimal, else 0.0; never raises.

        Args:
            instance: the instance.
            answer: the extracted answer text (anything at all).
        """
        value: int | None = parse_int(answer)
        return 1.0 if value is not None and value == best_profit(instance["jobs"]) else 0.0
