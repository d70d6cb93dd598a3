"""Run a tiny register program with nested loops.

Solve-verify asymmetry, kind 1: an interpreter is twenty lines; by hand,
nested "repeat" blocks multiply the number of steps to trace.

Style under test: ``max_difficulty`` is 5 (not 10), the interpreter uses a
``match`` statement, and the instance nests lists of mixed strings and ints.
"""

import random

MODULUS = 1000
REGISTERS = ("a", "b", "c")


def random_block(rng: random.Random, statements: int, depth: int, level: int) -> list:
    block = []
    for _ in range(statements):
        if depth > 0 and rng.random() < 0.3:
            block.append(["repeat", rng.randint(2, 2 + level), random_block(rng, rng.randint(2, 3), depth - 1, level)])
            continue
        r, s = rng.sample(REGISTERS, 2)
        kind = rng.choice(["set", "add", "sub", "mul", "swap"])
        if kind == "set":
            block.append([kind, r, rng.randint(0, 50)])
        elif kind == "mul":
            block.append([kind, r, rng.randint(2, 9)])
        else:
            block.append([kind, r, s])
    return block


def run(block: list, regs: dict) -> None:
    for statement in block:
        match statement:
            case ["repeat", times, body]:
                for _ in range(times):
                    run(body, regs)
            case ["set", r, k]:
                regs[r] = k % MODULUS
            case ["add", r, s]:
                regs[r] = (regs[r] + regs[s]) % MODULUS
            case ["sub", r, s]:
                regs[r] = (regs[r] - regs[s]) % MODULUS
            case ["mul", r, k]:
                regs[r] = (regs[r] * k) % MODULUS
            case ["swap", r, s]:
                regs[r], regs[s] = regs[s], regs[r]


def listing(block: list, indent: int, out: list) -> None:
    pad = "  " * indent
    for statement in block:
        kind = statement[0]
        if kind == "repeat":
            out.append(f"{pad}repeat {statement[1]} times:")
            listing(statement[2], indent + 1, out)
        elif kind == "set":
            out.append(f"{pad}{statement[1]} = {statement[2]}")
        elif kind == "mul":
            out.append(f"{pad}{statement[1]} = {statement[1]} * {statement[2]}")
        elif kind == "swap":
            out.append(f"{pad}swap {statement[1]} and {statement[2]}")
        else:
            sign = "+" if kind == "add" else "-"
            out.append(f"{pad}{statement[1]} = {statement[1]} {sign} {statement[2]}")


class RegisterMachine:
    name = "register_machine"
    description = (
        "Trace a short program over registers a, b and c with nested repeat loops, where every "
        "result is reduced modulo 1000. The answer is the final value of register a as an integer."
    )
    max_difficulty = 5

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        start = {r: rng.randint(0, 20) for r in REGISTERS}
        program = random_block(rng, 2 + 2 * difficulty, depth=1 + difficulty // 2, level=difficulty)
        return {"start": start, "program": program}

    def prompt(self, instance: dict) -> str:
        lines: list[str] = []
        listing(instance["program"], 1, lines)
        start = ", ".join(f"{r} = {v}" for r, v in instance["start"].items())
        return (
            f"Registers start as {start}. After every assignment the register's value is reduced "
            "modulo 1000 (to a value from 0 to 999; for example 3 - 5 gives 998).\n"
            "Run this program:\n" + "\n".join(lines) +
            "\n\nWhat is the final value of register a? Give it as a plain decimal integer inside "
            "<answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        regs = dict(instance["start"])
        run(instance["program"], regs)
        return str(regs["a"])

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str):
            return 0.0
        text = answer.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 3) or (len(text) > 1 and text[0] == "0"):
            return 0.0
        return 1.0 if text == self.reference(instance) else 0.0
