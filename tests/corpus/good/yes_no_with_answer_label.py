"""Is a word a subsequence of another? A yes/no answer whose prompt says "answer: yes or no".

Style under test: the instruction puts an answer word right after the label "answer" in every
prompt, so the word matches the reference in about half the instances; it matches the other
instances' references just as often, so it is instruction text, not a leak.
"""

import random

LETTERS = "abcde"


class HiddenWord:
    name = "hidden_word"
    description = (
        "Decide whether the short word can be obtained from the long word by deleting letters "
        "(keeping the order). The answer is yes or no."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        long_word = "".join(rng.choice(LETTERS) for _ in range(6 + 3 * difficulty))
        if rng.random() < 0.5:
            picks = sorted(rng.sample(range(len(long_word)), 3 + difficulty // 2))
            short = "".join(long_word[i] for i in picks)
        else:
            short = "".join(rng.choice(LETTERS) for _ in range(3 + difficulty))
        return {"long": long_word, "short": short}

    @staticmethod
    def _is_subsequence(short, long_word):
        letters = iter(long_word)
        return all(ch in letters for ch in short)

    def prompt(self, instance):
        return (
            f"Long word: {instance['long']}\nShort word: {instance['short']}\n"
            "Can the short word be made by deleting letters from the long word, keeping their order?\n"
            "Put your answer: yes or no, inside <answer>...</answer>."
        )

    def reference(self, instance):
        return "yes" if self._is_subsequence(instance["short"], instance["long"]) else "no"

    def score(self, instance, answer):
        if not isinstance(answer, str) or len(answer) > 10:
            return 0.0
        return 1.0 if answer.strip().lower() == self.reference(instance) else 0.0
