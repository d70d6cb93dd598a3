"""The second wave of soundness checks (issue 14 items 1, 2, 4, 5, 6, 7): each test fails without its check.

- the platform's answer cap (``evoenv.answers.MAX_ANSWER_CHARS``), applied in the sandbox pool;
- the ``roundtrip`` op and L2's comparison of the raw and the JSON round-tripped instance;
- L2's sweep over more seeds at level 1 and the two highest levels;
- L5's near misses (superset, subset, all elements, integer +-1/+-2/x2), label/position leaks and
  Unicode-digit junk.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from evoenv.admission import AdmissionConfig, AdmissionContext, Candidate
from evoenv.admission.config import draw_probe_seeds
from evoenv.admission.l2_execute import _roundtrip_difference, check_execution
from evoenv.admission.l5_scorer import _near_miss_failure, _same_answer, find_label_leak
from evoenv.admission.perturbations import DIGIT_TRAPS, integer_near_misses, junk_answers, set_misses, universe
from evoenv.answers import MAX_ANSWER_CHARS
from evoenv.paths import guest_root
from evoenv.sandbox import Rendered, SandboxedEnv
from evoenv.train.rewards import RewardScorer, ScoreItem

guest_root()
from evoenv_guest.runner import json_changes  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "corpus"

ACCEPTS_ANYTHING = '''
class Lenient:
    name = "lenient"
    description = "Scores every answer 1."
    max_difficulty = 2

    def sample(self, seed, difficulty):
        return {"seed": seed}

    def prompt(self, instance):
        return "Say anything. <answer>...</answer>"

    def reference(self, instance):
        return "x"

    def score(self, instance, answer):
        return 1.0
'''

# Loading this environment raises, so a job that reaches it fails as a whole.
BROKEN_ON_LOAD = ACCEPTS_ANYTHING + "\nraise RuntimeError('loaded')\n"


# ---- item 7: the answer-size cap -------------------------------------------------------------------

def test_answers_over_the_cap_score_zero_without_reaching_the_scorer(sandbox):
    env = SandboxedEnv(ACCEPTS_ANYTHING, sandbox)
    at_cap, over = "9" * MAX_ANSWER_CHARS, "9" * (MAX_ANSWER_CHARS + 1)
    assert env.score_many([({}, "short"), ({}, over), ({}, at_cap), ({}, "x" * 1_000_000)]) == [1.0, 0.0, 1.0, 0.0]
    # only capped answers: no job at all, so even an environment that cannot load scores them 0
    job = SandboxedEnv(BROKEN_ON_LOAD, sandbox).run([{"op": "score", "instance": {}, "answer": over}])
    assert job.ok and [r.value for r in job.results] == [0.0]
    assert not sandbox.run(BROKEN_ON_LOAD, [{"op": "score", "instance": {}, "answer": "a"}]).ok


def test_training_rewards_apply_the_same_cap(sandbox):
    completions = ["<answer>ok</answer>", f"<answer>{'7' * (MAX_ANSWER_CHARS + 5)}</answer>"]
    # audit off: it would rightly quarantine an environment that pays for anything, and this test is about the cap
    rewards = RewardScorer(sandbox, audit_share=0.0).score(
        [ScoreItem("lenient", ACCEPTS_ANYTHING, {}, c) for c in completions])
    assert [r.value for r in rewards] == [1.0, 0.0]
    assert rewards[1].failure is None  # a capped answer is a plain 0, not a failed job


def test_cli_score_applies_the_same_cap(tmp_path):
    path = tmp_path / "lenient.py"
    path.write_text(ACCEPTS_ANYTHING)
    env = {"PYTHONPATH": str(REPO), "EVOENV_SANDBOX": "process", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "evoenv", "score", str(path), "-s", "1", "-d", "1", "-r", "-"],
                         input=f"<answer>{'1' * (MAX_ANSWER_CHARS + 1)}</answer>", capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "score: 0.0" in run.stdout.splitlines()


def test_junk_stops_at_the_cap_and_includes_isdigit_traps():
    junk = dict(junk_answers(MAX_ANSWER_CHARS))
    assert len(junk["long_digits"]) == MAX_ANSWER_CHARS and int(junk["long_digits"]) > 0  # int() can read it
    for label, text in DIGIT_TRAPS:
        assert junk[label] == text and text.isnumeric()
        try:
            int(text)
        except ValueError:
            pass
        else:
            raise AssertionError(f"{label} {text!r} is no trap: int() reads it")
    assert junk["arabic_indic_digit"] == "٣"
    assert _same_answer("٣", "3") and _same_answer(" Yes", "yes") and not _same_answer("²", "2")


# ---- item 1: the JSON round trip -------------------------------------------------------------------

def test_json_changes_names_each_field_once():
    from collections import defaultdict

    changes = json_changes({"blocked": [(1, 2), (3, 4)], "cost": {3: 4}, "ok": [[1], {"a": "b"}]})
    assert changes == ["instance['blocked'][0] is a tuple (arrives as a list)",
                       "instance['cost'] has int keys such as 3 (they arrive as strings, '3')"]
    assert json_changes({"d": defaultdict(int)}) == ["instance['d'] is a defaultdict (arrives as a dict)"]
    assert json_changes({"grid": [[0, 1], [1, 0]], "name": "x", "w": 1.5}) == []


def test_roundtrip_op_runs_both_sides_only_when_types_change(sandbox):
    code = (CORPUS / "broken" / "l2_tuple_blocked_cells.py").read_text()
    (value,) = SandboxedEnv(code, sandbox)._values([{"op": "roundtrip", "seed": 11, "difficulty": 9}])
    assert value["changes"] and "tuple" in value["changes"][0]
    assert (value["raw_reference"], value["reference"]) == ("30", "24")
    plain = (CORPUS / "good" / "short_int_max_flow.py").read_text()
    (value,) = SandboxedEnv(plain, sandbox)._values([{"op": "roundtrip", "seed": 1, "difficulty": 3}])
    assert value["changes"] == [] and value["raw_reference"] is None and value["score"] == 1.0


def test_roundtrip_difference_compares_only_what_ran():
    base = {"reference": "7", "score": 1.0, "changes": ["instance['k'] has int keys such as 1 (...)"]}
    assert _roundtrip_difference({**base, "raw_reference": None, "raw_score": None}, "seed=0") == ""
    assert _roundtrip_difference({**base, "raw_reference": "7 ", "raw_score": 1.0}, "seed=0") == ""
    reason = _roundtrip_difference({**base, "raw_reference": "9", "raw_score": 1.0}, "seed=0")
    assert "JSON round trip" in reason and "'9'" in reason and "int keys" in reason
    assert "score(instance, reference)" in _roundtrip_difference({**base, "raw_reference": "7", "raw_score": 0.0},
                                                                 "seed=0")


def test_l2_rejects_a_reference_that_ignores_tuple_cells_and_admits_one_that_reads_them(sandbox):
    bad = Candidate((CORPUS / "broken" / "l2_tuple_blocked_cells.py").read_text())
    result = check_execution(bad, AdmissionContext(sandbox, AdmissionConfig()))
    assert result.passed is False and "JSON round trip" in result.reason and "tuple" in result.reason
    good = Candidate((CORPUS / "good" / "tuples_in_sample_read_as_pairs.py").read_text())
    assert check_execution(good, AdmissionContext(sandbox, AdmissionConfig())).passed is True


# ---- item 2: the sweep over more seeds -------------------------------------------------------------

def test_sweep_levels_are_level_one_and_the_two_highest():
    config = AdmissionConfig()
    assert config.sweep_levels(10) == [1, 9, 10] and config.sweep_levels(2) == [1, 2] and config.sweep_levels(1) == [1]
    drawn = [draw_probe_seeds(48) for _ in range(2)]
    assert drawn[0] != drawn[1] and len(set(drawn[0])) == 48  # fresh, distinct seeds: no job can predict them


def test_sweep_finds_a_crash_that_seeds_0_to_7_miss(sandbox):
    code = (CORPUS / "broken" / "l2_lookup_table_one_short_at_top_levels.py").read_text()
    # seeds 0..7 (where it renders fine) for L2's probe, the 48 after them for the sweep: deterministic
    fixed = dict(probe_seeds=tuple(range(8)), sweep_seed_values=tuple(range(8, 56)))
    without = check_execution(Candidate(code), AdmissionContext(sandbox, AdmissionConfig(sweep_seeds=0, **fixed)))
    assert without.passed is True
    result = check_execution(Candidate(code), AdmissionContext(sandbox, AdmissionConfig(**fixed)))
    assert result.passed is False and "IndexError" in result.reason and "seed=18, difficulty=9" in result.reason


def test_sweep_shrinks_to_the_time_budget(sandbox):
    code = (CORPUS / "good" / "short_int_max_flow.py").read_text()
    result = check_execution(Candidate(code), AdmissionContext(sandbox, AdmissionConfig(sweep_budget_s=1e-6)))
    assert result.passed is True and result.details["sweep_seeds"] == 0
    result = check_execution(Candidate(code), AdmissionContext(sandbox, AdmissionConfig(sweep_seeds=5)))
    assert result.details["sweep_seeds"] == 5 and result.details["sweep_levels"] == [1, 9, 10]


# ---- item 4: near misses ---------------------------------------------------------------------------

def test_set_misses_of_an_index_answer():
    instance = {"values": [5, 9, 2, 7, 1, 8], "target": 16}
    misses = dict(set_misses("0 2 3", instance, random.Random(0)))
    assert set(misses) == {"superset", "subset", "all_elements"}
    assert misses["all_elements"] == "0 1 2 3 4 5"
    extra = set(misses["superset"].split()) - {"0", "2", "3"}
    assert len(extra) == 1 and extra <= {"1", "4", "5"} and len(misses["superset"].split()) == 4
    assert len(misses["subset"].split()) == 2 and set(misses["subset"].split()) < {"0", "2", "3"}
    # elements drawn from a list of values: the universe is that list, not indices
    assert universe(["9", "7"], instance) == ["5", "9", "2", "7", "1", "8"]
    # a sequence with repeats (a colouring) only gets the all-elements answer
    assert [k for k, _ in set_misses("0 1 0 2", {"n": 5, "k": 3}, random.Random(0))] == ["all_elements"]
    assert set_misses("17", instance, random.Random(0)) == []


def test_integer_near_misses():
    assert integer_near_misses("17") == [("+1", "18"), ("-1", "16"), ("+2", "19"), ("-2", "15"), ("x2", "34")]
    assert ("x2", "0") not in integer_near_misses("0") and integer_near_misses("1 2") == []


def _near(label, accepted, tried):
    r = Rendered(0, 1, {}, "p", "5")
    return [(label, r, "6", 1.0 if i < accepted else 0.0) for i in range(tried)]


def test_near_miss_failure_is_a_share_per_kind():
    assert _near_miss_failure(_near("superset", 6, 24), 0.25) is None  # 25%: another valid answer now and then
    failure = _near_miss_failure(_near("superset", 7, 24) + _near("+1", 0, 24), 0.25)
    assert failure is not None and "superset" in failure.reason and "7 of 24" in failure.reason
    assert "duplicates is not enough" in failure.reason
    failure = _near_miss_failure(_near("+1", 24, 24), 0.25)
    assert "reference +1" in failure.reason and "compare exactly" in failure.reason


# ---- item 5: leaks under a label or at a position --------------------------------------------------

def _renders(make_prompt, references):
    return [Rendered(i, 1, {}, make_prompt(i, ref), ref) for i, ref in enumerate(references)]


def test_label_leak_finds_a_hidden_field_printed_by_a_generic_renderer():
    rng = random.Random(3)
    refs = [str(rng.randint(1000, 9999)) for _ in range(24)]

    def prompt(i, ref):
        others = " ".join(str(rng.randint(1000, 9999)) for _ in range(8))
        return f"numbers: {others} {ref}\nmodulus: 7\nodd_one: {ref}\nWhich one? <answer>...</answer>"

    leak = find_label_leak(_renders(prompt, refs), 0.9, 2.0, 2)
    assert leak is not None and leak["key"] == "after the label 'odd_one'" and leak["matched"] == 24
    # a one-word answer works too
    words = ["lions", "bears", "owls", "foxes"] * 6
    leak = find_label_leak(_renders(lambda i, ref: f'{{"teams": ["owls", "lions"], "winner": "{ref}"}}', words),
                           0.9, 2.0, 2)
    assert leak is not None and "winner" in leak["key"]


def test_position_leak_without_a_label():
    rng = random.Random(4)
    rows = []
    for i in range(24):
        values = rng.sample(range(100, 999), 6)
        answer = values[2]  # always the third number: a generator that inserts the answer at a fixed place
        rows.append(Rendered(i, 1, {}, f"Pick the odd one: {' '.join(map(str, values))} <answer>", str(answer)))
    leak = find_label_leak(rows, 0.9, 2.0, 2)
    assert leak is not None and leak["key"] in ("at token 6 of the prompt", "5 tokens before its end")
    assert find_label_leak([Rendered(r.seed, 1, {}, r.prompt, str(max(map(int, r.prompt.split()[4:10]))))
                            for r in rows], 0.9, 2.0, 2) is None


def test_label_leak_ignores_chance_offered_answers_and_lists():
    rng = random.Random(5)
    # a small count that equals a labelled small number now and then
    rows = []
    for i in range(24):
        target, rolls = rng.randint(1, 6), [rng.randint(1, 6) for _ in range(6)]
        rows.append(Rendered(i, 1, {}, f"target: {target}\nrolls: {' '.join(map(str, rolls))}\n<answer>",
                             str(rolls.count(target))))
    assert find_label_leak(rows, 0.9, 2.0, 2) is None
    # the instruction offers both answers after the same label in every prompt
    yes_no = ["yes", "no"] * 12
    assert find_label_leak(_renders(lambda i, ref: "Put your answer: yes or no <answer>", yes_no), 0.9, 2.0, 2) is None
    # a label followed by many different values labels a list, not the answer (here: the largest)
    listed = []
    for i in range(24):
        values = rng.sample(range(1, 10), 4)
        listed.append(Rendered(i, 1, {}, " ".join(f"capacity {v}" for v in values) + " <answer>", str(max(values))))
    assert find_label_leak(listed, 0.9, 2.0, 2) is None


TYPE_REPORTER = '''
class TypeReporter:
    name = "type_reporter"
    description = "Reports the types its methods receive."
    max_difficulty = 2

    def sample(self, seed, difficulty):
        return {"cell": (seed, difficulty), "table": {seed: "x"}}

    def _seen(self, instance):
        return f"{type(instance['cell']).__name__} {type(next(iter(instance['table']))).__name__}"

    def prompt(self, instance):
        return self._seen(instance) + " <answer>...</answer>"

    def reference(self, instance):
        return self._seen(instance)

    def score(self, instance, answer):
        return 1.0 if answer == self._seen(instance) else 0.0
'''


def test_methods_only_ever_receive_the_round_tripped_instance(sandbox):
    env = SandboxedEnv(TYPE_REPORTER, sandbox)
    rendered = env.render(3, 1)
    assert rendered.prompt.startswith("list str") and rendered.reference == "list str"
    assert rendered.instance == {"cell": [3, 1], "table": {"3": "x"}}
    (sampled,) = env._values([{"op": "sample", "seed": 3, "difficulty": 1}])
    assert env.score(sampled, "list str") == 1.0
    (value,) = env._values([{"op": "roundtrip", "seed": 3, "difficulty": 1}])
    # only admission's probe sees the raw form, and reports the difference
    assert (value["reference"], value["raw_reference"]) == ("list str", "tuple int")
