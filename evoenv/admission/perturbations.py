"""Mutators that turn a correct answer into a (probably) wrong one, and junk answers.

L5 scores the perturbed references; a sound scorer gives them < 1. Each
mutator takes the reference text and a seeded ``random.Random`` and returns
``(mutator, answer)`` pairs that differ from the reference. They work on the
text alone, so they apply to any answer format: numbers ±1, list shuffles and
truncation, token drops, duplicated elements, and type changes.

A feasibility task ("give any valid colouring") may accept some perturbations
as other valid answers (a shuffled subset of indices is the same subset), so
L5 asks that MOST perturbations score < 1, not all.

``extra_content`` is a separate family: the reference with something added
(repeated, with a second answer, among several listed answers). No sound
scorer accepts any of those, so L5 rejects a scorer that gives one of them 1.
"""

from __future__ import annotations

import json
import random
import re
from typing import Callable

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
Mutator = Callable[[str, random.Random], list[tuple[str, str]]]


def _bump(match_text: str, delta: int) -> str:
    if "." in match_text:
        decimals = len(match_text.split(".")[1])
        return f"{float(match_text) + delta:.{decimals}f}"
    return str(int(match_text) + delta)


def numbers_plus_minus_one(ref: str, rng: random.Random) -> list[tuple[str, str]]:
    """Add and subtract 1 from the first, last and one random number in the answer."""
    found = list(NUMBER.finditer(ref))
    if not found:
        return []
    picks = {0, len(found) - 1, rng.randrange(len(found))}
    out = []
    for i in sorted(picks):
        m = found[i]
        if len(m.group()) > 4000:  # beyond int()'s digit limit; nothing sensible to add to
            continue
        for delta in (1, -1):
            out.append((f"number[{i}]{delta:+d}", ref[: m.start()] + _bump(m.group(), delta) + ref[m.end():]))
    return out


def _split_list(ref: str) -> tuple[str, str, list[str], str] | None:
    """(prefix, separator, elements, suffix) when the answer reads as a list of 2+ elements."""
    text = ref.strip()
    prefix = suffix = ""
    if len(text) >= 2 and text[0] in "[(" and text[-1] in "])":
        prefix, suffix, text = text[0], text[-1], text[1:-1]
    for sep_pattern, sep in ((r"\s*,\s*", ", "), (r"\s*;\s*", "; "), (r"\n+", "\n"), (r"\s+", " ")):
        parts = [p for p in re.split(sep_pattern, text.strip()) if p != ""]
        if len(parts) >= 2:
            used = re.search(sep_pattern, text.strip())
            return prefix, used.group() if used else sep, parts, suffix
    return None


def list_shuffle(ref: str, rng: random.Random) -> list[tuple[str, str]]:
    split = _split_list(ref)
    if not split:
        return []
    prefix, sep, parts, suffix = split
    for _ in range(8):
        shuffled = parts[:]
        rng.shuffle(shuffled)
        if shuffled != parts:
            return [("shuffle", prefix + sep.join(shuffled) + suffix)]
    return []


def list_truncation(ref: str, rng: random.Random) -> list[tuple[str, str]]:
    out = []
    split = _split_list(ref)
    if split:
        prefix, sep, parts, suffix = split
        out.append(("drop_last_element", prefix + sep.join(parts[:-1]) + suffix))
        out.append(("duplicate_element", prefix + sep.join(parts + [parts[0]]) + suffix))
    text = ref.strip()
    if len(text) >= 2:
        out.append(("truncate_half", text[: len(text) // 2]))
    return out


def token_drops(ref: str, rng: random.Random) -> list[tuple[str, str]]:
    tokens = ref.split()
    if len(tokens) < 2:
        return []
    out = [("drop_first_token", " ".join(tokens[1:]))]
    i = rng.randrange(len(tokens))
    out.append((f"drop_token[{i}]", " ".join(tokens[:i] + tokens[i + 1:])))
    return out


def type_changes(ref: str, rng: random.Random) -> list[tuple[str, str]]:
    text = ref.strip()
    out = []
    if NUMBER.fullmatch(text):
        if "." not in text and len(text) <= 4000:
            out.append(("int_to_fraction", f"{text}.5"))
        out.append(("number_to_word", "true"))
    elif _split_list(text):
        out.append(("list_to_length", str(len(_split_list(text)[2]))))
        out.append(("list_to_object", json.dumps({"answer": text})))
    else:
        out.append(("text_to_number", str(rng.randrange(2, 1000))))
        if len(text) >= 2:
            i = rng.randrange(len(text) - 1)
            swapped = text[:i] + text[i + 1] + text[i] + text[i + 2:]
            out.append(("swap_characters", swapped))
            out.append(("change_last_character", text[:-1] + ("x" if text[-1] != "x" else "y")))
    return out


MUTATORS: tuple[Mutator, ...] = (numbers_plus_minus_one, list_shuffle, list_truncation, token_drops, type_changes)


def perturb(reference: str, rng: random.Random) -> list[tuple[str, str]]:
    """Every mutator's variants of ``reference`` that differ from it (whitespace-insensitively)."""
    base = " ".join(reference.split())
    seen, out = {base}, []
    for mutator in MUTATORS:
        for name, answer in mutator(reference, rng):
            key = " ".join(answer.split())
            if key and key not in seen:
                seen.add(key)
                out.append((name, answer))
    return out


def _alternative(ref: str, rng: random.Random) -> str:
    """A near miss of the reference: a number in it changed, else its last character changed."""
    for name, answer in numbers_plus_minus_one(ref, rng):
        if answer.strip() != ref.strip():
            return answer.strip()
    text = ref.strip()
    return text[:-1] + ("x" if text[-1:] != "x" else "y")


def extra_content(ref: str, rng: random.Random) -> list[tuple[str, str]]:
    """The reference WITH extra content: repeated, followed or preceded by a near miss, or listed among
    near misses. Every one contains the right answer, so a scorer that asks "does the answer contain the
    reference?" accepts them, and a policy learns to list many answers. A sound scorer, exact or
    feasibility, rejects them all: a repeat, a wrong count, or a second answer is not one answer."""
    text = ref.strip()
    if not text:
        return []
    other = _alternative(text, rng)
    variants = [
        ("reference_repeated", f"{text} {text}"),
        ("reference_then_other", f"{text} {other}"),
        ("other_then_reference", f"{other} {text}"),
        ("several_answers_listed", f"{other}\n{text}\n{_alternative(other, rng)}"),
    ]
    return [(name, answer) for name, answer in variants if " ".join(answer.split()) != " ".join(text.split())]


def junk_answers(huge_bytes: int = 1 << 20) -> list[tuple[str, str]]:
    """Answers no task accepts: empty, garbage, special values, a 1 MB answer, wrong types."""
    return [
        ("empty", ""),
        ("whitespace", "  \n\t "),
        ("garbage", "qwzx blorp"),
        ("unicode", "¯\\_(ツ)_/¯ ∑∞ 🙂 \u202e"),
        ("None", "None"),
        ("null", "null"),
        ("NaN", "NaN"),
        ("1e999", "1e999"),
        ("json_object", '{"a": 1}'),
        ("nested_list", "[[[]]]"),
        ("huge_1MB", "9" * huge_bytes),
    ]
