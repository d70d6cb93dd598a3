"""What an environment does, independent of its wording: for novelty.

Two environments can read alike (the same edge lines, the same library) and
compute different things, and a copy can be reworded and renamed. So novelty
compares behaviour and code structure, not only prompt text:

- ``agreement``: on the same (seed, difficulty) pairs, and across (one
  environment's ``reference`` run on the other's instances, in the sandbox),
  how often the two give the same answer. A reworded copy agrees everywhere;
  a different quantity on the same graphs does not.
- ``structure_similarity``: the code's syntax tree with every name and
  constant dropped, compared as bags of node-type trigrams. Renaming fields,
  classes and seed strings leaves it unchanged.
- ``answer_type``: int, decimal, word, list of numbers or text, for the reason.
"""

from __future__ import annotations

import ast
import re
from collections import Counter

from evoenv.sandbox import Rendered, Sandbox, protocol

_INT = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+\.\d+|-?\d+/\d+")
_NUMBERS = re.compile(r"-?\d+([\s,]+-?\d+)+")


def answer_type(reference: str) -> str:
    text = reference.strip()
    if _INT.fullmatch(text):
        return "integer"
    if _DECIMAL.fullmatch(text):
        return "decimal"
    if _NUMBERS.fullmatch(text):
        return "list of numbers"
    if re.fullmatch(r"[A-Za-z_-]+", text):
        return "word"
    return "text"


def answer_types(renders: list[Rendered]) -> dict[str, float]:
    counts = Counter(answer_type(r.reference) for r in renders)
    return {kind: round(n / len(renders), 3) for kind, n in counts.most_common()}


def _skeleton(code: str) -> list[str]:
    """Node types in a depth-first walk, names and constants dropped."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue  # docstrings and bare strings are prose
        if isinstance(node, (ast.Load, ast.Store, ast.Del)):
            continue
        op = getattr(node, "op", None)
        out.append(type(node).__name__ + (f":{type(op).__name__}" if op is not None else ""))
    return out


def _grams(code: str, n: int = 3) -> Counter:
    nodes = _skeleton(code)
    return Counter(tuple(nodes[i:i + n]) for i in range(max(0, len(nodes) - n + 1)))


def structure_similarity(code_a: str, code_b: str) -> float:
    """Weighted Jaccard of the two programs' node-type trigrams: 1.0 for a renamed copy."""
    a, b = _grams(code_a), _grams(code_b)
    union = sum((a | b).values())
    return sum((a & b).values()) / union if union else 0.0


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def cross_references(code: str, renders: list[Rendered], sandbox: Sandbox, limits) -> tuple[int, int]:
    """Run the program ``code``'s reference on the instances of ``renders``: (how many calls returned an
    answer, how many of those equal the render's reference). A call that fails means the program does not
    understand those instances: neither agreement nor evidence of a different task."""
    job = sandbox.run(code, [protocol.reference(r.instance) for r in renders], limits)
    if not job.ok:
        return 0, 0
    answered = [(item.value, r.reference) for item, r in zip(job.results, renders)
                if item.ok and isinstance(item.value, str)]
    return len(answered), sum(_same(a, b) for a, b in answered)


def compare(code_a: str, renders_a: list[Rendered], code_b: str, renders_b: list[Rendered],
            sandbox: Sandbox, limits) -> dict:
    """Behaviour of candidate a against admitted environment b: shares of equal answers on the same
    (seed, difficulty), of a's reference on b's instances and of b's on a's (``same``, the largest),
    whether either program ran on the other's instances and gave different answers there (``differs``:
    the two compute different things from the same kind of input), answer types and code structure."""
    by_pair = {(r.seed, r.difficulty): r.reference for r in renders_b}
    shared = [(r.reference, by_pair[(r.seed, r.difficulty)]) for r in renders_a if (r.seed, r.difficulty) in by_pair]
    same_seed = sum(_same(a, b) for a, b in shared) / len(shared) if shared else 0.0
    ran_ab, agree_ab = cross_references(code_a, renders_b, sandbox, limits)
    ran_ba, agree_ba = cross_references(code_b, renders_a, sandbox, limits)
    a_on_b = agree_ab / len(renders_b) if renders_b else 0.0
    b_on_a = agree_ba / len(renders_a) if renders_a else 0.0
    types_a, types_b = answer_types(renders_a), answer_types(renders_b)
    # "differs" needs positive evidence: one program answered most of the other's instances and mostly
    # disagreed, or the answers are of another type
    differs = any(ran * 2 >= max(1, total) and agree * 2 < ran for ran, agree, total in
                  ((ran_ab, agree_ab, len(renders_b)), (ran_ba, agree_ba, len(renders_a))))
    differs = differs or next(iter(types_a)) != next(iter(types_b))
    return {"same": round(max(same_seed, a_on_b, b_on_a), 3), "same_seed": round(same_seed, 3),
            "candidate_on_its_instances": f"{agree_ab} of {len(renders_b)} agree ({ran_ab} answered)",
            "it_on_candidate_instances": f"{agree_ba} of {len(renders_a)} agree ({ran_ba} answered)",
            "differs": differs, "answer_types": [types_a, types_b],
            "structure": round(structure_similarity(code_a, code_b), 3)}
