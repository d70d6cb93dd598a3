"""ROUGE-L between reasoning trajectories, and picking a diverse subset.

ROUGE-L here is the F1 of the longest common subsequence (LCS) of two token
sequences: P = LCS/len(candidate), R = LCS/len(reference), F = 2PR/(P+R).
Tokens are lower-cased words and single punctuation marks, so "Step 1:" and
"step 1 :" match. The LCS uses the bit-parallel algorithm of Allison and Dix
(1986) in Hyyrö's formulation: one Python big-int per row, so two
1,000-token trajectories cost 1,000 big-int operations instead of a
million-cell table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_TOKEN = re.compile(r"\w+|[^\w\s]")

#: Pairs above this ROUGE-L F1 count as duplicates (the CoTEvol paper's value).
DEFAULT_THRESHOLD = 0.7


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower()) if isinstance(text, str) else []


def lcs_length(a: Sequence, b: Sequence) -> int:
    """Length of the longest common subsequence of two sequences of hashable items."""
    if not a or not b:
        return 0
    if len(a) < len(b):  # the bit vector spans the longer one; the loop runs over the shorter
        a, b = b, a
    # match[x]: bit j set where b[j] == x
    match: dict = {}
    for j, item in enumerate(b):
        match[item] = match.get(item, 0) | (1 << j)
    full = (1 << len(b)) - 1
    v = full  # a 0 bit marks a column where the LCS grew
    for item in a:
        u = v & match.get(item, 0)
        v = ((v + u) | (v - u)) & full
    return len(b) - bin(v).count("1")


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 in [0, 1]. Two empty texts are identical (1.0); one empty text shares nothing (0.0)."""
    a, b = tokenize(candidate), tokenize(reference)
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    lcs = lcs_length(a, b)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


def mean_pairwise_rouge_l(texts: Sequence[str]) -> float | None:
    """Mean ROUGE-L over all unordered pairs; None with fewer than two texts."""
    pairs = [(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts))]
    if not pairs:
        return None
    return sum(rouge_l(texts[i], texts[j]) for i, j in pairs) / len(pairs)


def diverse_subset(texts: Sequence[str], threshold: float = DEFAULT_THRESHOLD,
                   kept: Sequence[str] = ()) -> list[int]:
    """Indices of ``texts`` to keep, in order: an item is kept when its ROUGE-L with every
    item kept so far (starting from ``kept``) is at most ``threshold``. Callers that want the
    best of each near-duplicate group pass the texts sorted best first."""
    chosen: list[int] = []
    pool = list(kept)
    for i, text in enumerate(texts):
        if all(rouge_l(text, other) <= threshold for other in pool):
            chosen.append(i)
            pool.append(text)
    return chosen
