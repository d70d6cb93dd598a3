"""extract_answer: the content of the LAST <answer>...</answer> block."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evoenv.answers import extract_answer, has_answer_block


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("The answer is <answer>42</answer>.", "42"),
        ("<answer>1</answer> then <answer>2</answer>", "2"),  # the last block wins
        ("<ANSWER>7</Answer>", "7"),  # any letter case
        ("< answer >  8 \n</ answer >", "8"),  # whitespace inside tags and around the content
        ("<answer>\n  a b  \n</answer>", "a b"),
        ("no tags at all", ""),
        ("", ""),
        ("<answer></answer>", ""),
        ("<answer>5", ""),  # never closed
        ("5</answer>", ""),  # never opened
        ("</answer><answer>", ""),  # wrong order
        ("<answer>1</answer> and later <answer>2", "1"),  # an unclosed last tag is ignored
        ("<answer>a <answer>b</answer>", "b"),  # unbalanced: the nearest opening tag wins
        ("<answer><answer>c</answer></answer>", "c"),  # nested: no stray closing tag
        ("<answer>x</answer></answer>", "x"),
        ("<answers>9</answers>", ""),  # a different tag
        ("<answer>١٢</answer>", "١٢"),  # content is returned as written
    ],
)
def test_extract_answer(response, expected):
    assert extract_answer(response) == expected


@pytest.mark.parametrize("value", [None, 42, b"<answer>1</answer>", ["<answer>1</answer>"], {"a": 1}])
def test_non_strings_give_empty(value):
    assert extract_answer(value) == ""
    assert has_answer_block(value) is False


def test_has_answer_block():
    assert has_answer_block("<answer></answer>")
    assert not has_answer_block("<answer>open only")


def test_ten_megabyte_responses():
    filler = "reasoning " * 1_000_000  # 10 MB
    assert extract_answer(filler + "<answer>17</answer>") == "17"
    assert extract_answer("<answer>3</answer>" + filler) == "3"
    assert extract_answer(filler) == ""
    # Pathological tag soup: a million unclosed openings, then a million closings.
    assert extract_answer("<answer>" * 1_000_000) == ""
    assert extract_answer("</answer>" * 1_000_000) == ""
    assert extract_answer("<answer>" * 500_000 + "z" + "</answer>" * 500_000) == "z"
    assert extract_answer("< " * 2_000_000 + "<answer>ok</answer>") == "ok"


@settings(max_examples=300, deadline=None)
@given(prefix=st.text(max_size=200), content=st.text(max_size=80).filter(lambda s: "<" not in s))
def test_a_final_block_is_always_found(prefix, content):
    assert extract_answer(f"{prefix}<answer>{content}</answer>") == content.strip()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["<answer>", "</answer>", "<ANSWER >", "x", " ", "<", ">", "/"]), max_size=40))
def test_any_tag_soup_gives_a_substring_without_closing_tags(parts):
    response = "".join(parts)
    answer = extract_answer(response)
    assert isinstance(answer, str)
    assert answer in response
    assert "</answer>" not in answer.lower()
    assert (answer != "") <= has_answer_block(response)
