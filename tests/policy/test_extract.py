"""Code extraction from generator completions: every shape a model produces,
and fuzzing to show it never raises."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evoenv.extract import MAX_COMPLETION_BYTES, extract_code

ENV = '''import random


class Parity:
    name = "parity"
    description = "Parity of a bit list."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"bits": [rng.randint(0, 1) for _ in range(4 * difficulty)]}

    def prompt(self, instance):
        return f"Parity of {instance['bits']}? Answer in <answer></answer>."

    def reference(self, instance):
        return str(sum(instance["bits"]) % 2)

    def score(self, instance, answer):
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
'''

HELPER = "def helper(x):\n    return x + 1\n"


def fenced(code: str, tag: str = "python") -> str:
    return f"```{tag}\n{code}```\n"


def test_plain_fenced_block():
    got = extract_code(fenced(ENV))
    assert got.ok and got.code == ENV and got.class_name == "Parity"


def test_chatter_and_thinking_around_the_block():
    text = ("<think>I should write a parity env. Maybe ```python\nclass Wrong: pass\n```</think>\n"
            "Sure! Here is a new environment:\n\n" + fenced(ENV) + "\nIt has a solve-verify asymmetry because ...")
    got = extract_code(text)
    assert got.ok and got.code == ENV
    assert "class Wrong" not in got.code


def test_several_blocks_picks_the_environment_class():
    text = "Helper first:\n" + fenced(HELPER) + "Env:\n" + fenced(ENV) + "Usage:\n" + fenced("env = Parity()\n") + \
        fenced("pip install nothing", "bash")
    got = extract_code(text)
    assert got.ok and got.code == ENV and "block 2 of 4" in got.reason


def test_later_revision_wins_when_two_blocks_define_an_env():
    revised = ENV.replace("4 * difficulty", "5 * difficulty")
    got = extract_code(fenced(ENV) + "Wait, let me fix the size:\n" + fenced(revised))
    assert got.ok and "5 * difficulty" in got.code


def test_tilde_fences_and_untagged_fences():
    assert extract_code("~~~\n" + ENV + "~~~").code == ENV
    assert extract_code("```\n" + ENV + "```").code == ENV


def test_missing_fences_with_chatter_before_and_after():
    text = "Here is the code.\n\n" + ENV + "\nThis environment is hard because parity needs counting.\nEnjoy!"
    got = extract_code(text)
    assert got.ok and "class Parity" in got.code and "Enjoy" not in got.code


def test_truncated_block_is_rejected_with_reason():
    cut = ENV[: ENV.index("def score")] + "    def score(self, instance, ans"
    got = extract_code("Here:\n```python\n" + cut, finish_reason="length")
    assert not got.ok
    assert "cut off" in got.reason and "token limit" in got.reason and "SyntaxError" in got.reason


def test_truncated_inside_thinking():
    got = extract_code("<think>first I will consider the DP table and", finish_reason="length")
    assert not got.ok and "<think>" in got.reason and "cut off" in got.reason


def test_block_without_env_class_names_missing_methods():
    partial = ENV.replace("    def score(self, instance, answer):\n", "    def grade(self, instance, answer):\n")
    got = extract_code(fenced(partial))
    assert not got.ok and "lacks score" in got.reason and "Parity" in got.reason


def test_only_non_python_blocks():
    got = extract_code(fenced('{"a": 1}', "json"))
    assert not got.ok and "no Python code block" in got.reason and "json" in got.reason


def test_no_code_at_all():
    got = extract_code("I cannot help with that.")
    assert not got.ok and "no code found" in got.reason


def test_empty_and_non_text():
    assert extract_code("").reason == "the completion is empty"
    assert not extract_code(None).ok  # type: ignore[arg-type]
    assert "not text" in extract_code(12).reason  # type: ignore[arg-type]


def test_non_utf8_bytes_are_replaced_not_fatal():
    raw = fenced(ENV).encode() + b"\xff\xfe trailing junk \xc3"
    got = extract_code(raw)
    assert got.ok and got.code == ENV


def test_non_utf8_inside_the_code_string_still_parses():
    raw = fenced(ENV).encode().replace(b"Parity of a bit list.", b"Parity \xff list.")
    got = extract_code(raw)
    assert got.ok and "\ufffd" in got.code


def test_ten_megabyte_output_fails_clearly():
    huge = "x" * (10 * 1024 * 1024)
    got = extract_code(huge)
    assert not got.ok and "over the" in got.reason and f"{MAX_COMPLETION_BYTES:,}" in got.reason
    assert not extract_code(huge.encode()).ok


def test_code_over_source_limit_is_refused():
    big = ENV + "\n" + "\n".join(f"CONST_{i} = {i}" for i in range(20000)) + "\n"
    got = extract_code(fenced(big))
    assert not got.ok and "source limit" in got.reason


def test_deeply_nested_text_does_not_crash():
    got = extract_code(fenced("x = " + "(" * 5000 + ")" * 5000 + "\n"))
    assert not got.ok


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.text(max_size=2000),
    st.binary(max_size=2000),
    st.lists(st.sampled_from(["```", "```python\n", "~~~", "<think>", "</think>", "\n", "class A:\n",
                              "    def sample(self, s, d): pass\n", "    def prompt(self, i): pass\n",
                              "    def reference(self, i): pass\n", "    def score(self, i, a): pass\n",
                              "import os\n", "chatter ", "\udcff", "\x00"]), max_size=40).map("".join),
))
def test_fuzz_never_raises(text):
    got = extract_code(text)
    assert got.ok == (got.code is not None)
    assert isinstance(got.reason, str) and got.reason
    if got.ok:
        import ast

        ast.parse(got.code)  # what it returns always parses
