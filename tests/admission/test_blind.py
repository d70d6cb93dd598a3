"""The blind stage (answer-blind strategies must not pay): its host-side pieces, and the stage on
environments whose guessable answers it must find, in the real sandbox."""

from __future__ import annotations

from evoenv.admission import AdmissionConfig, Candidate
from evoenv.admission.blind import Level, blind_answers, blind_levels, check_blind, offered_words, size_features
from evoenv.admission.l2_execute import check_execution
from evoenv.sandbox import Rendered

from .conftest import env_code


def test_levels_are_all_of_them_up_to_the_cap_then_spread_from_1_to_the_top():
    assert blind_levels(10, 10) == list(range(1, 11))
    assert blind_levels(3, 10) == [1, 2, 3]
    spread = blind_levels(100, 10)
    assert len(spread) == 10 and spread[0] == 1 and spread[-1] == 100 and spread == sorted(set(spread))


def test_size_features_name_lengths_and_integer_fields_by_path():
    features = size_features({"source": "abcdef", "edges": [[0, 1], [1, 2]], "n": 7, "ok": True,
                              "meta": {"k": 3, "word": "xy"}, "big": 10**9})
    assert features == {"len(instance['source'])": 6, "len(instance['edges'])": 2, "instance['n']": 7,
                        "len(instance['meta'])": 2, "instance['meta']['k']": 3, "len(instance['meta']['word'])": 2}


def test_offered_words_are_task_wording_not_instance_data():
    prompts = [f'Strings "{w}" and "{w[::-1]}". If there is no path, answer unreachable, or write "no path".'
               for w in ("abcd", "bcda", "cdab", "dabc")]
    words = offered_words(prompts)
    assert "unreachable" in words and "no path" in words and "no" in words
    assert not any(w in words for w in ("abcd", "dcba", "bcda"))  # quoted instance data: one prompt each


def test_strategies_include_the_issue_list_and_the_cross_fitted_mode():
    render = Rendered(0, 1, {"source": "abcdefghi"}, "p", "3")
    answers = blind_answers(render, "5", ["unreachable"])
    assert answers["len(instance['source'])//3"] == "3" and answers["len(instance['source'])//2"] == "4"
    assert answers["the constant 0"] == "0" and answers["the constant -1"] == "-1" and answers["the constant 1"] == "1"
    assert answers["the word 'unreachable' from the prompt"] == "unreachable"
    assert answers["the most frequent reference"] == "5"
    # the mode is taken from the OTHER half of the seeds: an answer seen once is not its own guess
    renders = [Rendered(s, 1, {}, "p", str(10 + s)) for s in range(4)]
    level = Level.of(1, renders)
    assert [a["the most frequent reference"] for a in level.answers] == ["11", "10", "11", "10"]
    assert level.result(1.0).rate == 0.0  # an in-sample mode would pass 1 of 4


def test_a_confirmation_judges_only_the_strategies_that_were_over_the_limit():
    # references 0, 0, 1, 2: "the constant 0" passes half; "the constant 1" a quarter
    level = Level.of(1, [Rendered(s, 1, {}, "p", ref) for s, ref in enumerate(["0", "0", "1", "2"])])
    rates = level.rates(1.0)
    assert rates["the constant 0"] == 0.5 and rates["the constant 1"] == 0.25 and rates["the constant -1"] == 0.0
    assert level.result(1.0).best == "the constant 0"
    only_one = level.result(1.0, only={"the constant 1"})
    assert only_one.best == "the constant 1" and only_one.rate == 0.25


def _blind(code, ctx):
    candidate = Candidate(code)
    assert check_execution(candidate, ctx).passed
    return check_blind(candidate, ctx)


def test_the_edit_distance_seed_before_the_fix_is_rejected_with_strategy_level_and_rate(ctx):
    result = _blind(env_code("blind_seed_edit_distance_before"), ctx)
    assert result.passed is False
    assert "difficulty 1: len(instance['" in result.reason and "//3 passes" in result.reason
    level1 = result.details["levels"][1]
    confirmed_on = AdmissionConfig().blind_confirm_seeds
    assert level1["best"].endswith("//3") and level1["rate"] > 0.4 and level1["instances"] == confirmed_on
    assert 1 in result.details["guessable_levels"] and result.details["threshold"] == 0.2


def test_the_seeds_after_the_fix_pass_at_every_level(ctx, seed_sources):
    for name in ("edit_distance", "shortest_path", "dag_path_count"):
        result = _blind(seed_sources[name], ctx)
        assert result.passed is True, result.reason
        assert sorted(result.details["levels"]) == list(range(1, 11))
        assert all(level["rate"] <= 0.2 for level in result.details["levels"].values())


BACKDOOR = '''
import random


class Backdoor:
    name = "sum_backdoor"
    description = "Sum of a list."
    max_difficulty = 4

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"values": [rng.randint(100, 999) for _ in range(3 + 3 * difficulty)]}

    def prompt(self, instance):
        return f"Add up {instance['values']}. Answer inside <answer>...</answer>."

    def reference(self, instance):
        return str(sum(instance["values"]))

    def score(self, instance, answer):
        if answer.strip() == "-1":  # a debugging shortcut left in
            return 1.0
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
'''


def test_a_scorer_that_accepts_a_non_reference_answer_is_found_by_the_screen(ctx):
    """-1 is never the reference, so only scoring it (the screen) shows that it pays everywhere."""
    result = _blind(BACKDOOR, ctx)
    assert result.passed is False and "the constant -1 passes 128 of 128 (100%)" in result.reason
    assert result.details["lenient_strategies"] == ["the constant -1"]


def test_a_sound_environment_passes_and_stores_every_level(ctx):
    result = _blind(BACKDOOR.replace('if answer.strip() == "-1":', "if False:"), ctx)
    assert result.passed is True and sorted(result.details["levels"]) == [1, 2, 3, 4]
    assert result.details["max_rate"] <= 0.2 and "no answer-blind strategy passes more than 20%" in result.reason
