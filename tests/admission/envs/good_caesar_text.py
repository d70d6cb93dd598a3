"""Decode a Caesar-shifted sentence: text answers, a nested instance, a helper function,
and a scorer that normalises case and spacing."""
import random
import string

WORDS = ["river", "stone", "maple", "cloud", "ember", "north", "quiet", "amber", "lunar", "orbit",
         "pixel", "delta", "frost", "cedar", "coral", "prism"]


def shift(text, k):
    table = str.maketrans(string.ascii_lowercase, string.ascii_lowercase[k:] + string.ascii_lowercase[:k])
    return text.translate(table)


class CaesarDecode:
    name = "caesar_decode"
    description = "Decode a sentence encrypted with an unknown Caesar shift; answer the plain sentence."
    max_difficulty = 7

    def sample(self, seed, difficulty):
        rng = random.Random(seed * 7919 + difficulty)
        words = [rng.choice(WORDS) for _ in range(2 + difficulty)]
        key = rng.randint(1, 25)
        return {"cipher": {"text": shift(" ".join(words), key), "alphabet": "a-z"}, "hint_word": words[0][:2],
                "_key": key}

    def prompt(self, instance):
        return (f"The text '{instance['cipher']['text']}' was encrypted with a Caesar shift. The first word "
                f"starts with '{instance['hint_word']}'. Write the decrypted text in <answer></answer>.")

    def reference(self, instance):
        return shift(instance["cipher"]["text"], (26 - instance["_key"]) % 26)

    def score(self, instance, answer):
        if not isinstance(answer, str) or len(answer) > 10_000:
            return 0.0
        return 1.0 if " ".join(answer.lower().split()) == self.reference(instance) else 0.0
