"""Add Roman numerals and answer in Roman numerals.

Solve-verify asymmetry, kind 1: conversion both ways is a table lookup for
code; by hand, subtractive pairs (IV, XC, CM) and carries between symbols
make long sums error-prone.

Style under test: the conversion table is a class attribute (a tuple of
pairs) and the class reads it through ``self``.
"""

import random


class RomanSum:
    name = "roman_sum"
    description = (
        "Add several numbers written in Roman numerals. The answer is the sum, also written in "
        "standard Roman numerals (the total is always below 4000)."
    )
    max_difficulty = 10
    TABLE = (
        ("M", 1000), ("CM", 900), ("D", 500), ("CD", 400), ("C", 100), ("XC", 90),
        ("L", 50), ("XL", 40), ("X", 10), ("IX", 9), ("V", 5), ("IV", 4), ("I", 1),
    )

    def to_roman(self, number: int) -> str:
        out = []
        for symbol, value in self.TABLE:
            count, number = divmod(number, value)
            out.append(symbol * count)
        return "".join(out)

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        terms = 1 + difficulty  # 2 .. 11 numbers
        cap = min(3999 // terms, 40 * difficulty * difficulty)
        return {"terms": [self.to_roman(rng.randint(1, cap)) for _ in range(terms)]}

    def prompt(self, instance: dict) -> str:
        return (
            "Add these Roman numerals:\n" + " + ".join(instance["terms"]) +
            "\n\nWrite the sum in standard Roman numerals (subtractive forms such as IV, IX, XL, XC, "
            "CD and CM; no more than three equal symbols in a row) inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        values = dict((symbol, value) for symbol, value in self.TABLE if len(symbol) == 1)
        total = 0
        for term in instance["terms"]:
            for i, ch in enumerate(term):
                nxt = term[i + 1] if i + 1 < len(term) else None
                total += -values[ch] if nxt is not None and values[nxt] > values[ch] else values[ch]
        return self.to_roman(total)

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 50 or not answer.isascii():
            return 0.0  # ASCII only: "\u0131".upper() is "I", and that is not a Roman numeral
        return 1.0 if answer.strip().upper() == self.reference(instance) else 0.0
