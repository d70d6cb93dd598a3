"""Apply a sequence of edit operations to a word.

Solve-verify asymmetry, kind 1: a program applies the operations exactly;
by hand, rotations and position swaps after earlier edits are easy to
misapply. (A well-known puzzle format: "swap position 4 with position 0".)

Style under test: the answer is a string, not a number.
"""

import random
import string


class ScrambleWord:
    name = "scramble_word"
    description = (
        "Start from a string of letters and apply a list of operations (swap positions, swap "
        "letters, rotate, reverse a range, move a letter) in order. The answer is the final string."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        length = 5 + difficulty // 2  # 5 .. 10 letters, all distinct
        word = "".join(rng.sample(string.ascii_lowercase[: length + 3], length))
        ops = []
        for _ in range(2 + 2 * difficulty):  # 4 .. 22 operations
            kind = rng.choice(["swap_pos", "swap_letter", "rotate", "reverse", "move"])
            i, j = sorted(rng.sample(range(length), 2))
            if kind == "swap_letter":
                ops.append([kind, word[i], word[j]])  # letters of the start word: always present
            elif kind == "rotate":
                ops.append([kind, rng.choice(["left", "right"]), rng.randint(1, length - 1)])
            else:
                ops.append([kind, i, j])
        return {"word": word, "ops": ops}

    @staticmethod
    def apply(word, ops):
        letters = list(word)
        for op in ops:
            kind = op[0]
            if kind == "swap_pos":
                i, j = op[1], op[2]
                letters[i], letters[j] = letters[j], letters[i]
            elif kind == "swap_letter":
                i, j = letters.index(op[1]), letters.index(op[2])
                letters[i], letters[j] = letters[j], letters[i]
            elif kind == "rotate":
                k = op[2] % len(letters)
                letters = letters[k:] + letters[:k] if op[1] == "left" else letters[-k:] + letters[:-k]
            elif kind == "reverse":
                i, j = op[1], op[2]
                letters[i: j + 1] = reversed(letters[i: j + 1])
            elif kind == "move":
                letter = letters.pop(op[1])
                letters.insert(op[2], letter)
        return "".join(letters)

    def prompt(self, instance):
        said = {
            "swap_pos": lambda op: f"swap the letters at positions {op[1]} and {op[2]}",
            "swap_letter": lambda op: f"swap letter {op[1]} with letter {op[2]} (wherever they are)",
            "rotate": lambda op: f"rotate {op[1]} by {op[2]} step{'s' if op[2] > 1 else ''}",
            "reverse": lambda op: f"reverse the letters from position {op[1]} through {op[2]}",
            "move": lambda op: f"remove the letter at position {op[1]} and insert it at position {op[2]}",
        }
        steps = "\n".join(f"{n}. {said[op[0]](op)}" for n, op in enumerate(instance["ops"], start=1))
        return (
            f"Start with the string {instance['word']}. Positions count from 0 at the left. "
            "Rotating left by 1 turns abcd into bcda; rotating right by 1 turns abcd into dabc.\n"
            f"Apply these operations in order:\n{steps}\n\n"
            "What is the final string? Give it in lowercase letters inside <answer>...</answer>."
        )

    def reference(self, instance):
        return self.apply(instance["word"], instance["ops"])

    def score(self, instance, answer):
        if not isinstance(answer, str) or len(answer) > 100:
            return 0.0
        return 1.0 if answer.strip().lower() == self.reference(instance) else 0.0
