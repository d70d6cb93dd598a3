"""The optional environment SDK: parse helpers on the host, and the base class in the sandbox."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evoenv.sandbox import SandboxedEnv
from evoenv.sdk import Environment, parse_int, parse_int_list


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42), ("  -7\n", -7), ("0", 0), ("9" * 4000, int("9" * 4000)),
        ("-0", None), ("+5", None), ("007", None), ("1e3", None), ("1.0", None), ("1_000", None),
        ("٣", None), ("１２", None), ("", None), ("  ", None), ("None", None), ("0x10", None),
        ("1 2", None), ("9" * 4001, None), ("9" * 1_000_000, None), ('{"a": 1}', None),
        (None, None), (5, None), (["1"], None),
    ],
)
def test_parse_int(text, expected):
    assert parse_int(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 2 3", [1, 2, 3]), ("1,2,3", [1, 2, 3]), ("[1, -2, 3]", [1, -2, 3]), (" [ 4 ] ", [4]),
        ("1,\n2 ,3", [1, 2, 3]), ("[]", []), ("", None), ("   ", None),
        ("1 2 x", None), ("1, -0", None), ("[1, 2", None), ("1 2.5", None),
        ("[[1]]", None), ("1" * 200_000, None), (None, None), ([1, 2], None),
    ],
)
def test_parse_int_list(text, expected):
    assert parse_int_list(text) == expected


def test_base_class_rng_is_seeded_by_seed_and_difficulty():
    assert Environment.rng(3, 4).random() == Environment.rng(3, 4).random()
    assert Environment.rng(3, 4).random() != Environment.rng(4, 3).random()


DOC = Path(__file__).resolve().parent.parent / "docs" / "environment-contract.md"


def _doc_code_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_docs_sdk_example_runs_in_the_sandbox(sandbox):
    (code,) = [block for block in _doc_code_blocks() if "from evoenv.sdk import" in block]
    env = SandboxedEnv(code, sandbox)
    assert env.info().name == "doubling" and env.info().class_name == "Doubling"
    rendered = env.render(5, 2)
    assert rendered.reference == str(2 * rendered.instance["x"])
    assert env.score_many([(rendered.instance, rendered.reference), (rendered.instance, "-0"),
                           (rendered.instance, f"0{rendered.reference}")]) == [1.0, 0.0, 0.0]


def test_the_docs_worked_example_is_the_seed_file_verbatim():
    seed = (DOC.parent.parent / "seeds" / "subset_sum.py").read_text(encoding="utf-8")
    assert seed in _doc_code_blocks()


def test_the_docs_import_allowlist_is_what_the_sandbox_preloads():
    from evoenv_guest.worker import PRELOADED

    section = DOC.read_text(encoding="utf-8").split("## Allowed imports")[1].split("##")[0]
    listed = set(re.findall(r"`([a-z_.]+)`", section))
    assert listed - {"__future__"} == set(PRELOADED) | {"evoenv.sdk"}
    assert "__future__" in listed  # compiler directives: allowed by the policy and the guest's import guard
