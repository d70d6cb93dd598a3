"""Planted 3-SAT.

Solve-verify asymmetry, kind 2: satisfiability is NP-hard in general, but an
assignment is checked clause by clause. Clauses are drawn around a hidden
assignment (hidden together with its complement, so that the clauses do not
point at it), and ANY satisfying assignment scores 1.
"""

import random
import re

_BIT = re.compile(r"[01]")


def parse_bits(answer: str) -> list[int] | None:
    """Parse '1 0 1', '1, 0, 1' or '[1, 0, 1]' as [1, 0, 1]; None for anything else."""
    if not isinstance(answer, str) or len(answer) > 10_000:
        return None
    text = answer.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    tokens = text.replace(",", " ").split()
    if not tokens or not all(_BIT.fullmatch(token) for token in tokens):
        return None
    return [int(token) for token in tokens]


class Sat:
    name = "sat"
    description = (
        "Given a 3-CNF formula over variables x1..xn, find an assignment that makes every "
        "clause true. The answer is n values separated by spaces, the i-th being 1 if xi is "
        "true and 0 if false; any satisfying assignment is accepted."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        n = 5 + 3 * difficulty  # 8 .. 35 variables
        m = round(n * (3.0 + 0.12 * difficulty))  # clause/variable ratio 3.1 .. 4.2
        planted = [rng.randint(0, 1) for _ in range(n)]
        clauses: list[list[int]] = []
        while len(clauses) < m:
            # A literal is +v for xv and -v for "not xv" (DIMACS style, 1-based).
            clause = [v if rng.random() < 0.5 else -v for v in rng.sample(range(1, n + 1), 3)]
            true_literals = sum(planted[abs(lit) - 1] == (lit > 0) for lit in clause)
            # Keep clauses with one or two true literals: the plant AND its complement satisfy
            # them all, so literal signs lean neither way and a majority vote gives nothing away.
            if 0 < true_literals < 3:
                clauses.append(clause)
        return {"variables": n, "clauses": clauses, "planted": planted}

    def prompt(self, instance: dict) -> str:
        def literal(lit: int) -> str:
            return f"x{lit}" if lit > 0 else f"not x{-lit}"

        n = instance["variables"]
        lines = ["(" + " or ".join(map(literal, clause)) + ")" for clause in instance["clauses"]]
        return (
            f"Variables x1 to x{n} are each true or false. Make all of these clauses true:\n"
            + "\n".join(lines)
            + "\n\nAny satisfying assignment is accepted.\n"
            f"Give {n} values separated by spaces inside <answer>...</answer>: the i-th value "
            "is 1 if xi is true and 0 if xi is false."
        )

    def reference(self, instance: dict) -> str:
        return " ".join(map(str, instance["planted"]))

    def score(self, instance: dict, answer: str) -> float:
        bits = parse_bits(answer)
        if bits is None or len(bits) != instance["variables"]:  # a value for every variable
            return 0.0
        satisfied = all(
            any(bits[abs(lit) - 1] == (lit > 0) for lit in clause) for clause in instance["clauses"]
        )
        return 1.0 if satisfied else 0.0
