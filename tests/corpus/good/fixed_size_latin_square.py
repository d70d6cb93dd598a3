"""Complete a 5x5 Latin square; difficulty removes givens, the grid never grows.

Solve-verify asymmetry, kind 2: completing a sparse Latin square is a search
with backtracking; checking a completed one is a loop over rows and columns.
A full square is planted so a completion always exists, and ANY valid
completion that keeps the givens scores 1.

Style under test: the size is fixed. Difficulty is density, the share of
blank cells (the contract lists density as a difficulty knob), so no list
gets longer, no number gets bigger and the prompt keeps the same length.
"""

import random

SIZE = 5
SYMBOLS = "12345"
BLANK = "."


class LatinSquareCompletion:
    name = "latin_square_completion"
    description = (
        "Fill the blank cells of a 5x5 grid with digits 1 to 5 so that every row and every column "
        "contains each digit exactly once, keeping the digits already given. The answer is the five "
        "completed rows, separated by spaces; any valid completion is accepted."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        rows, cols, symbols = list(range(SIZE)), list(range(SIZE)), list(SYMBOLS)
        rng.shuffle(rows)
        rng.shuffle(cols)
        rng.shuffle(symbols)
        # A cyclic square with rows, columns and symbols permuted is still a Latin square.
        solution = ["".join(symbols[(rows[r] + cols[c]) % SIZE] for c in range(SIZE)) for r in range(SIZE)]
        # 5 .. 19 of 25 cells: with 24 blanks any square that matches the one given digit is accepted, so a
        # memorised square paid one time in five at the top level (the blind stage found it)
        blanks = set(rng.sample(range(SIZE * SIZE), 4 + 3 * difficulty // 2))
        puzzle = ["".join(BLANK if r * SIZE + c in blanks else solution[r][c] for c in range(SIZE))
                  for r in range(SIZE)]
        return {"puzzle": puzzle, "solution": solution}

    def prompt(self, instance: dict) -> str:
        return (
            "Fill in this 5x5 grid; '.' marks a blank cell:\n\n" + "\n".join(instance["puzzle"]) +
            "\n\nEvery row and every column must contain each of the digits 1, 2, 3, 4, 5 exactly once, "
            "and the digits already given must stay. Any such completion is accepted.\n"
            "Give the five completed rows, top to bottom, as five groups of five digits separated by "
            "spaces (for example 12345 23451 ...) inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        return " ".join(instance["solution"])

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 200:
            return 0.0
        rows = answer.split()
        if len(rows) != SIZE or not all(len(row) == SIZE and set(row) == set(SYMBOLS) for row in rows):
            return 0.0  # wrong shape, a foreign character, or a repeat within a row
        if any({row[c] for row in rows} != set(SYMBOLS) for c in range(SIZE)):
            return 0.0  # a repeat within a column
        givens_kept = all(given in (BLANK, mine) for want, row in zip(instance["puzzle"], rows)
                          for given, mine in zip(want, row))
        return 1.0 if givens_kept else 0.0
