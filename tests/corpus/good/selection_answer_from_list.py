"""The k-th smallest of a list of six-digit numbers.

Solve-verify asymmetry, kind 1: sorting is one call; by hand, ordering forty
six-digit numbers and counting to position k is slow and slips easily.

Style under test: the answer is necessarily one of the numbers the prompt
lists (a selection task), so the prompt always "contains" it, like a name in
``lowest_common_manager`` or a node label: the solver still has to find which
one, so it is not a leak. Imports the SDK module itself (``import evoenv.sdk
as sdk``) rather than names from it.
"""

import evoenv.sdk as sdk


class KthSmallest(sdk.Environment):
    name = "kth_smallest"
    description = (
        "Given a list of distinct six-digit numbers and a position k, find the number that would be "
        "at position k (counting from 1) if the list were sorted from smallest to largest. The "
        "answer is that number."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = self.rng(seed, difficulty)
        n = 5 + 4 * difficulty  # 9 .. 45 numbers
        values = rng.sample(range(100_000, 1_000_000), n)
        return {"values": values, "k": rng.randint(2, n - 1)}

    def prompt(self, instance):
        return (
            f"Numbers: {', '.join(map(str, instance['values']))}\n\n"
            f"If these {len(instance['values'])} numbers were sorted from smallest to largest, which "
            f"number would be at position {instance['k']} (the smallest is at position 1)?\n"
            "Give that number as a plain decimal integer inside <answer>...</answer>."
        )

    def reference(self, instance):
        return str(sorted(instance["values"])[instance["k"] - 1])

    def score(self, instance, answer):
        value = sdk.parse_int(answer)
        return 1.0 if value is not None and str(value) == self.reference(instance) else 0.0
