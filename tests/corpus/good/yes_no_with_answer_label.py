"""Which short words are subsequences of a long word? Yes/no answers whose prompt says "answer: yes or no".

Style under test: the instruction puts an answer word right after the label "answer" in every
prompt, and every reference is made of those offered words; that is instruction text, not a leak,
and the offered "yes" or "no" alone is no answer the scorer takes. One instance asks about several
short words: a single yes/no answer is a coin flip that the blind stage rightly rejects.
"""

import random

LETTERS = "abcde"


class HiddenWord:
    name = "hidden_word"
    description = (
        "For each short word, decide whether it can be obtained from the long word by deleting letters "
        "(keeping the order). The answer is yes or no per short word, in order, separated by spaces."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        long_word = "".join(rng.choice(LETTERS) for _ in range(6 + 3 * difficulty))
        shorts = []
        for _ in range(5 + difficulty // 2):
            if rng.random() < 0.5:
                picks = sorted(rng.sample(range(len(long_word)), 3 + difficulty // 2))
                shorts.append("".join(long_word[i] for i in picks))
            else:
                shorts.append("".join(rng.choice(LETTERS) for _ in range(3 + difficulty)))
        return {"long": long_word, "shorts": shorts}

    @staticmethod
    def _is_subsequence(short, long_word):
        letters = iter(long_word)
        return all(ch in letters for ch in short)

    def prompt(self, instance):
        return (
            f"Long word: {instance['long']}\nShort words: {' '.join(instance['shorts'])}\n"
            "For each short word, in order: can it be made by deleting letters from the long word, keeping "
            "their order?\nPut your answer: yes or no for each short word, separated by spaces, "
            "inside <answer>...</answer>."
        )

    def reference(self, instance):
        return " ".join("yes" if self._is_subsequence(s, instance["long"]) else "no" for s in instance["shorts"])

    def score(self, instance, answer):
        if not isinstance(answer, str) or len(answer) > 200:
            return 0.0
        return 1.0 if answer.lower().split() == self.reference(instance).split() else 0.0
