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
from collections.abc import Callable

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
    elif (parts := _split_list(text)) is not None:
        out.append(("list_to_length", str(len(parts[2]))))
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
    for _kind, answer in numbers_plus_minus_one(ref, rng):
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


def _scalar_lists(value) -> list[list]:
    """Every list of numbers or strings inside an instance (at any depth), iteratively."""
    out, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            if item and all(isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in item):
                out.append(item)
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return out


def _sizes(value) -> set[int]:
    """Candidate element counts: lengths of the instance's lists and its integer fields (``n``, up to
    10000; numbers inside lists are data, not sizes)."""
    out: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            out.update(v for v in item.values() if type(v) is int and 0 < v <= 10_000)
            stack.extend(item.values())
        elif isinstance(item, list):
            out.add(len(item))
            stack.extend(item)
    return out


def universe(parts: list[str], instance: dict) -> list[str] | None:
    """The smallest set of elements the answer's elements are drawn from, as text: a list of values in the
    instance that holds every element, or the indices 0..n-1 (or 1..n) for a size n of the instance. None
    when nothing in the instance holds the answer's elements."""
    wanted = set(parts)
    options = []
    for values in _scalar_lists(instance):
        texts = list(dict.fromkeys(str(v) for v in values))
        if wanted <= set(texts) and len(texts) > len(wanted):
            options.append(texts)
    if all(re.fullmatch(r"\d{1,5}", p) for p in parts):
        numbers = [int(p) for p in parts]
        for n in _sizes(instance):
            if n > len(wanted):
                if max(numbers) < n:
                    options.append([str(i) for i in range(n)])
                if min(numbers) >= 1 and max(numbers) <= n:
                    options.append([str(i) for i in range(1, n + 1)])
    return min(options, key=len) if options else None


def set_misses(ref: str, instance: dict, rng: random.Random) -> list[tuple[str, str]]:
    """For a list answer: the reference plus one element of the instance it lacks (``superset``), minus one
    element (``subset``), and every element or index at once (``all_elements``, e.g. ``0 1 ... n-1``). A
    scorer that checks only "the required elements are there" (with or without a duplicate check) accepts
    the first and the third; one that checks only "every element is allowed" accepts the second. A sound
    scorer rejects them unless they happen to be another valid answer. Superset and subset need distinct
    elements (a set); ``all_elements`` applies to sequences too (a colouring with n colours)."""
    split = _split_list(ref)
    if not split:
        return []
    prefix, sep, parts, suffix = split
    out = []
    elements = universe(parts, instance)
    distinct = len(set(parts)) == len(parts)
    if elements is not None:
        missing = [e for e in elements if e not in set(parts)]
        if distinct and missing:
            out.append(("superset", prefix + sep.join(parts + [rng.choice(missing)]) + suffix))
        if set(elements) != set(parts):
            out.append(("all_elements", prefix + sep.join(elements) + suffix))
    if distinct:
        drop = rng.randrange(len(parts))
        out.append(("subset", prefix + sep.join(parts[:drop] + parts[drop + 1:]) + suffix))
    return out


def integer_near_misses(ref: str) -> list[tuple[str, str]]:
    """For a one-integer answer: the reference +1, -1, +2, -2 and doubled. An exact scorer rejects them all;
    one that allows a tolerance, or checks ">= the answer", accepts some on most instances."""
    text = ref.strip()
    if not re.fullmatch(r"-?\d{1,4000}", text):
        return []
    value = int(text)
    variants = [("+1", value + 1), ("-1", value - 1), ("+2", value + 2), ("-2", value - 2), ("x2", 2 * value)]
    return [(kind, str(v)) for kind, v in variants if v != value]


#: Characters for which ``str.isdigit()`` (or ``isnumeric()``) is True but ``int()`` raises: a scorer that
#: guards ``int(answer)`` with ``answer.isdigit()`` crashes on them (``isdecimal()`` or ``[0-9]`` is safe).
DIGIT_TRAPS = (
    ("superscript_digit", "²"),
    ("circled_digit", "①"),
    ("digit_then_superscript", "1²"),
    ("vulgar_fraction", "½"),
    ("roman_numeral_sign", "Ⅻ"),
)


def junk_answers(long_chars: int = 4096) -> list[tuple[str, str]]:
    """Answers no task accepts: empty, garbage, special values, Unicode digits, a long answer (the platform's
    answer cap: longer ones never reach the scorer), wrong types."""
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
        *DIGIT_TRAPS,
        ("arabic_indic_digit", "٣"),  # a decimal digit: int() reads it as 3
        ("long_digits", "9" * long_chars),
    ]
