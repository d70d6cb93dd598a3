import random

import pytest

from evoenv.cotevol.diversity import diverse_subset, lcs_length, mean_pairwise_rouge_l, rouge_l, tokenize


def table_lcs(a, b):
    """The textbook O(nm) table, to check the bit-parallel version against."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            rows[i + 1][j + 1] = rows[i][j] + 1 if x == y else max(rows[i][j + 1], rows[i + 1][j])
    return rows[-1][-1]


def test_lcs_matches_the_dynamic_programme_on_random_sequences():
    rng = random.Random(7)
    for _ in range(300):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 40))]
        b = [rng.choice("abcde") for _ in range(rng.randint(0, 70))]
        assert lcs_length(a, b) == table_lcs(a, b) == lcs_length(b, a)


@pytest.mark.parametrize("a, b, expected", [
    ("ABCBDAB", "BDCABA", 4),
    ("", "abc", 0),
    ("abc", "abc", 3),
    ("abc", "xyz", 0),
])
def test_lcs_known_values(a, b, expected):
    assert lcs_length(list(a), list(b)) == expected


def test_rouge_l_known_strings():
    # LCS = "the cat on the mat" = 5 of 6 tokens each side: P = R = F = 5/6
    assert rouge_l("the cat sat on the mat", "the cat lay on the mat") == pytest.approx(5 / 6)
    # candidate 3 tokens, reference 6, LCS 3: P = 1, R = 0.5, F = 2/3
    assert rouge_l("the cat mat", "the cat sat on the mat") == pytest.approx(2 / 3)
    assert rouge_l("Step 1: add 2 and 3.", "step 1 : ADD 2 and 3 .") == 1.0
    assert rouge_l("alpha beta", "gamma delta") == 0.0
    assert rouge_l("", "") == 1.0
    assert rouge_l("", "something") == 0.0


def test_tokenize_splits_words_and_punctuation():
    assert tokenize("Step 1: x=3.") == ["step", "1", ":", "x", "=", "3", "."]
    assert tokenize(None) == []


def test_diverse_subset_drops_near_duplicates_and_keeps_order():
    texts = [
        "step 1 add the numbers step 2 the answer is 7",
        "step 1 add the numbers step 2 the answer is 8",  # ROUGE-L 0.9 with the first
        "first multiply then subtract to get nine",
        "step 1 add the numbers step 2 the answer is 7",  # exact duplicate
    ]
    assert diverse_subset(texts, 0.7) == [0, 2]
    assert diverse_subset(texts, 0.95) == [0, 1, 2]
    # items already kept count as neighbours too
    assert diverse_subset(texts[1:2], 0.7, kept=texts[:1]) == []


def test_mean_pairwise_rouge_l():
    assert mean_pairwise_rouge_l(["a b"]) is None
    assert mean_pairwise_rouge_l(["a b", "a b", "c d"]) == pytest.approx((1.0 + 0.0 + 0.0) / 3)


def test_embedding_diversity_uses_the_admission_minilm():
    """cotevol's diversity measure embeds with admission's one MiniLM loader (unit vectors)."""
    from evoenv.admission.embedding import load_model
    from evoenv.cotevol.report import mean_pairwise_embedding_distance

    model = load_model()
    assert mean_pairwise_embedding_distance(["add the numbers"], model) is None
    same = mean_pairwise_embedding_distance(["add the numbers", "add the numbers"], model)
    apart = mean_pairwise_embedding_distance(["add the numbers", "a poem about the sea"], model)
    assert same == pytest.approx(0.0, abs=1e-5) and apart > 0.3
