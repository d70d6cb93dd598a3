"""Host-side helpers of the stages: size measures, perturbations, diffs, leak checks, reward."""

from __future__ import annotations

import random

from evoenv.admission import AdmissionConfig, AdmissionContext, Candidate, StageResult
from evoenv.admission.calibration import difficulty_reward
from evoenv.admission.l3_determinism import first_difference, repeated_pairs
from evoenv.admission.l4_nontrivial import check_nontrivial
from evoenv.admission.l5_scorer import copy_candidates, find_leaks, leaks, nontrivial
from evoenv.admission.perturbations import extra_content, junk_answers, perturb
from evoenv.admission.reward import generator_reward
from evoenv.admission.sizes import content_measures, growth_auc, measures
from evoenv.sandbox import Rendered


def test_measures_cover_lists_numbers_text_and_named_fields():
    m = measures({"n": 12, "edges": [[0, 1], [1, 2]], "word": "abc", "meta": {"k": 3}}, prompt="hello")
    assert m["instance['n']"] == 12 and m["instance['meta']['k']"] == 3
    assert m["len(instance['edges'])"] == 2 and m["len(instance['edges'][])"] == 4
    assert m["longest_list"] == 2 and m["text_chars"] == 3 and m["prompt_chars"] == 5
    assert m["magnitude"] == 2 and m["depth"] == 4  # dict > list > list > number


def test_growth_auc_is_a_rank_statistic():
    assert growth_auc([1, 2, 3], [4, 5, 6]) == 1.0
    assert growth_auc([4, 5, 6], [1, 2, 3]) == 0.0
    assert growth_auc([1, 1], [1, 1]) == 0.5


def test_first_difference_names_the_path():
    a = {"values": [1, 2, 3], "k": 2}
    assert first_difference(a, {"values": [1, 5, 3], "k": 2}) == ("instance['values'][1]", 2, 5)
    assert first_difference(a, {"values": [1, 2, 3], "k": 2}) is None
    assert first_difference(a, {"values": [1, 2], "k": 2})[0] == "len(instance['values'])"
    assert first_difference(a, {"k": 2, "values": [1, 2, 3]})[0] == "instance (key order)"
    assert first_difference({"x": 1}, {"x": "1"}) == ("instance['x']", 1, "1")


def test_perturbations_differ_from_the_reference_and_are_deterministic():
    for ref in ("17", "3, 1, 4, 1, 5", "[0, 2, 5]", "unreachable", "x1=T x2=F x3=T", "-4.25"):
        variants = perturb(ref, random.Random(1))
        assert variants, ref
        assert all(" ".join(a.split()) != " ".join(ref.split()) for _, a in variants)
        assert variants == perturb(ref, random.Random(1))
    names = {name for name, _ in perturb("3, 1, 4, 1, 5", random.Random(0))}
    assert {"number[0]+1", "shuffle", "drop_last_element", "duplicate_element", "list_to_length"} <= names
    assert ("number[0]+1", "18") in perturb("17", random.Random(0))


def test_junk_includes_an_answer_at_the_cap_and_wrong_types():
    junk = dict(junk_answers())
    assert len(junk["long_digits"]) == 4096  # the platform's answer cap: longer answers never reach a scorer
    assert junk["empty"] == "" and "json_object" in junk and "nested_list" in junk


def test_leak_check_tolerates_formatting_and_ignores_trivial_answers():
    assert leaks("Sort [3,1,2]. e.g. [1, 2, 3] <answer>", "1 2 3")
    assert not leaks("Sort [3, 1, 2] <answer>", "1 2 3")
    assert nontrivial("1 2 3", 3, 4) and nontrivial("12345", 3, 4)
    assert not nontrivial("yes", 3, 4) and not nontrivial("42", 3, 4)


def test_difficulty_reward_peaks_at_target():
    assert difficulty_reward(0.3) == 1.0
    assert abs(difficulty_reward(0.5, 0.3, 0.15) - 0.41111) < 1e-4
    assert difficulty_reward(0.9) < difficulty_reward(0.5) < difficulty_reward(0.35)


def _stages(**passed):
    return [StageResult(stage=k, passed=v[0], score=v[1]) for k, v in passed.items()]


def test_generator_reward_formula():
    config = AdmissionConfig(invalid_penalty=-1.0, novelty_bonus=0.2)
    ok = {f"L{i}": (True, 1.0) for i in range(1, 6)}
    assert generator_reward(_stages(L1=(True, 1), L2=(False, 0)), config) == (-1.0, {"invalid_at": "L2", "penalty": -1.0})
    reward, parts = generator_reward(_stages(**ok, novelty=(True, 0.4), calibration=(True, 0.8)), config)
    assert abs(reward - (0.8 + 0.2 * 0.4)) < 1e-9 and parts["q"] == 0.8
    # failing L5 is not a validity failure: Q (none) and no bonus
    assert generator_reward(_stages(**{**ok, "L5": (False, 0.0)}), config)[0] == 0.0
    # a rejected novelty earns no bonus; a failed calibration earns no Q
    assert generator_reward(_stages(**ok, novelty=(False, 0.05), calibration=(False, 0.0)), config)[0] == 0.0
    # the review verdict is not an input
    with_review = generator_reward(_stages(**ok, novelty=(True, 0.4), review=(False, 0.0), calibration=(True, 0.8)), config)
    assert with_review[0] == reward


def test_content_measures_count_marker_characters_and_values():
    m = content_measures({"puzzle": ["1.3.", "..21"], "grid": [[0, 5, 0], [None, 12]], "name": "a-b"})
    assert m["count('.' in text)"] == 4 and m["count('-' in text)"] == 1
    assert m["count(instance['grid'][][] == 0)"] == 2 and m["count(instance['grid'][][] == null)"] == 1
    assert not any("12" in key or "'1'" in key for key in m)  # big numbers and letters/digits are not markers


def _l4(instances: dict[int, list[dict]]):
    renders = [Rendered(seed, d, inst, f"solve {inst} <answer>", f"ref-{seed}-{d}")
               for d, insts in instances.items() for seed, inst in enumerate(insts)]
    candidate = Candidate("")
    candidate.observed.renders = renders
    return check_nontrivial(candidate, AdmissionContext(sandbox=None, config=AdmissionConfig()))


def test_l4_accepts_density_and_falling_measures_but_not_noise():
    rng = random.Random(0)

    def grid(blanks: int) -> list[str]:
        cells = ["."] * blanks + [str(rng.randrange(1, 10)) for _ in range(25 - blanks)]
        rng.shuffle(cells)
        return ["".join(cells[i:i + 5]) for i in range(0, 25, 5)]

    density = _l4({1: [{"grid": grid(6 + rng.randrange(2))} for _ in range(8)],
                   10: [{"grid": grid(22 + rng.randrange(2))} for _ in range(8)]})
    assert density.passed is True and "count('.' in text) grows" in density.reason
    givens = _l4({1: [{"givens": rng.sample(range(100), 20 + rng.randrange(3))} for _ in range(8)],
                  10: [{"givens": rng.sample(range(100), 5 + rng.randrange(3))} for _ in range(8)]})
    assert givens.passed is True and "falls" in givens.reason
    noise = _l4({d: [{"values": [rng.randint(0, 9) for _ in range(20)], "mark": "." * rng.randrange(5)}
                     for _ in range(8)] for d in (1, 10)})
    assert noise.passed is False and "no measurable part of the instance grows" in noise.reason


def test_leaks_are_told_from_offered_phrases_and_selection_answers():
    def render(prompt: str, ref: str, seed: int = 0) -> Rendered:
        return Rendered(seed, 1, {}, prompt, ref)

    offered = [render(f"graph {i}; answer a length or 'there is no cycle' <answer>", ref, i)
               for i, ref in enumerate(["there is no cycle", "4", "there is no cycle", "5"])]
    assert find_leaks(offered, offered[::2], 2, 0.5) == []
    numbers = "481516 234200 108815 909092 377001"
    selection = [render(f"the 2nd smallest of {numbers} <answer>", "234200")]
    assert copy_candidates(selection[0].prompt.split(), "234200") == 5
    assert find_leaks(selection, selection, 2, 0.5) == []
    single = [render("the answer is 234200, say it <answer>", "234200", 1),
              render("the answer is 991234, say it <answer>", "991234", 2)]
    assert find_leaks(single, single, 2, 0.5) == single  # one candidate of that shape: copying wins
    shown = [render(f"sort {i} 3 1 2; e.g. 1 2 {i} 3 <answer>", f"1 2 {i} 3", i) for i in range(4)]
    assert find_leaks(shown, shown, 2, 0.5) == shown


def test_extra_content_always_contains_the_reference():
    for ref in ("17", "3 1 4", "unreachable", "x1=T x2=F"):
        variants = dict(extra_content(ref, random.Random(0)))
        assert {"reference_repeated", "reference_then_other", "other_then_reference",
                "several_answers_listed"} == set(variants)
        assert all(ref in answer and answer.strip() != ref for answer in variants.values())


def test_repeated_pairs_cover_every_level():
    pairs = [(s, d) for d in (1, 5, 10) for s in range(8)]
    assert repeated_pairs(pairs, 2) == [(0, 1), (1, 1), (0, 5), (1, 5), (0, 10), (1, 10)]
