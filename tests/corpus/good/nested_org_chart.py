"""Lowest common manager in an organisation chart.

Solve-verify asymmetry, kind 1: with parent links the lowest common ancestor
is a short walk; by reading an indented chart, people lose track of which
branch a deep employee hangs from.

Style under test: the instance is a nested tree of dicts and lists whose
leaves are all strings (no numbers anywhere), and the answer is a name.
"""

import random

SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "zu", "be", "da", "fo", "gi", "ha", "jo", "pe")


def _new_name(rng: random.Random, taken: list[str]) -> str:
    while True:
        name = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
        if name not in taken:
            taken.append(name)
            return name


def _walk(person: dict, chain: list[str], out: dict) -> None:
    """Fill ``out`` with name -> list of names from the top down to that person."""
    here = chain + [person["name"]]
    out[person["name"]] = here
    for report in person["reports"]:
        _walk(report, here, out)


def _lines(person: dict, depth: int, out: list[str]) -> None:
    out.append("    " * depth + "- " + person["name"] + " (" + person["title"] + ")")
    for report in person["reports"]:
        _lines(report, depth + 1, out)


class LowestCommonManager:
    name = "lowest_common_manager"
    description = (
        "Given an organisation chart (who reports to whom) and two employees, name the lowest "
        "person in the chart who is above both of them. The answer is that person's name."
    )
    max_difficulty = 10
    TITLES = ("engineer", "analyst", "designer", "lead", "director", "clerk", "planner")

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        taken: list[str] = []
        root = {"name": _new_name(rng, taken), "title": "chief", "reports": []}
        people = [root]
        for _ in range(5 + 4 * difficulty):  # 9 .. 45 people
            boss = people[0] if len(root["reports"]) < 2 else rng.choice(people)
            person = {"name": _new_name(rng, taken), "title": rng.choice(self.TITLES), "reports": []}
            boss["reports"].append(person)
            people.append(person)
        leaves = [p["name"] for p in people if not p["reports"]]
        first, second = rng.sample(leaves, 2)
        return {"chart": root, "first": first, "second": second}

    def prompt(self, instance: dict) -> str:
        lines: list[str] = []
        _lines(instance["chart"], 0, lines)
        return (
            "Here is an organisation chart; each person is listed under the person they report to:\n\n"
            + "\n".join(lines)
            + f"\n\nWho is the lowest person in the chart that both {instance['first']} and "
            f"{instance['second']} report to, directly or through others?\n"
            "Give just that person's name inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        chains: dict = {}
        _walk(instance["chart"], [], chains)
        common = [a for a, b in zip(chains[instance["first"]], chains[instance["second"]]) if a == b]
        return common[-1]

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 200:
            return 0.0
        return 1.0 if answer.strip().lower() == self.reference(instance).lower() else 0.0
