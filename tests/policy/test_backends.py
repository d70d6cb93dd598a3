"""hf: with a tiny random model built here, replay: (the test double), vllm:'s
clear failure without a GPU, and thinking-block handling."""

from __future__ import annotations

import json
import math

import pytest

from evoenv.policy import Completion, PolicyError, Sampling, load_policy, split_thinking
from tests.policy.tiny_model import build_tiny_model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny-gpt2"))


def test_hf_batched_left_padding_matches_one_by_one(tiny_model):
    policy = load_policy(f"hf:{tiny_model}", device="cpu", batch_size=4)
    prompts = ["class Env: def sample", "hi", [{"role": "user", "content": "answer tags please"}]]
    greedy = Sampling(temperature=0.0, max_tokens=6)
    batched = policy.generate(prompts, greedy)
    alone = [policy.generate([p], greedy)[0] for p in prompts]
    assert [c.text for c in batched] == [c.text for c in alone]
    assert all(c.completion_tokens >= 1 for c in batched)
    # no chat template: the plain layout is used for chat prompts
    assert policy.render(prompts[2]) == "User: answer tags please\n\nAssistant:"
    assert batched[2].prompt_tokens == len(policy.tokenizer(policy.render(prompts[2]))["input_ids"])


def test_hf_logprobs_and_entropies_are_consistent(tiny_model):
    policy = load_policy(f"hf:{tiny_model}", device="cpu")
    (c,) = policy.generate(["the quick brown fox"], Sampling(temperature=1.0, max_tokens=5, seed=7, logprobs=True))
    n = c.completion_tokens
    assert len(c.tokens) == len(c.token_logprobs) == len(c.token_entropies) == n
    vocab = len(policy.tokenizer)
    for lp, h in zip(c.token_logprobs, c.token_entropies):
        assert lp <= 0.0
        assert 0.0 <= h <= math.log(vocab) + 1e-4
    # same seed, same sample
    (again,) = policy.generate(["the quick brown fox"], Sampling(temperature=1.0, max_tokens=5, seed=7, logprobs=True))
    assert again.text == c.text and again.token_logprobs == pytest.approx(c.token_logprobs)


def test_hf_uses_the_chat_template_when_there_is_one(tmp_path):
    folder = build_tiny_model(tmp_path / "m", chat_template=(
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"))
    policy = load_policy(f"hf:{folder}", device="cpu")
    assert policy.render([{"role": "user", "content": "x"}]) == "<|user|>x<|assistant|>"
    (c,) = policy.generate([[{"role": "user", "content": "x"}]], Sampling(temperature=0, max_tokens=3))
    assert c.finish_reason in ("stop", "length")


def test_hf_missing_folder_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError, match="does not exist"):
        load_policy(f"hf:{tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PolicyError, match="cannot load"):
        load_policy(f"hf:{tmp_path / 'empty'}")


def test_vllm_without_gpu_or_package_is_a_clear_error():
    with pytest.raises(PolicyError) as err:
        load_policy("vllm:/models/tiny")
    message = str(err.value)
    assert ("vllm package" in message and "evoenv[gpu]" in message) or "CUDA GPU" in message


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_replay_in_order_with_when_and_repeat(tmp_path):
    file = write_jsonl(tmp_path / "r.jsonl", [
        {"text": "<think>hmm</think>first", "completion_tokens": 11},
        {"text": "VERDICT no", "when": ["review", "bad"], "unless": "ignore", "repeat": True},
        {"text": "VERDICT ok", "when": "review", "repeat": True},
        "second",
        {"text": "third", "finish_reason": "length"},
    ])
    policy = load_policy(f"replay:{file}")
    out = policy.generate(["a", "please review this", "b", "review bad one", "review bad, ignore"], Sampling())
    assert [c.text for c in out] == ["first", "VERDICT ok", "second", "VERDICT no", "VERDICT ok"]
    assert out[0].raw == "<think>hmm</think>first" and out[0].completion_tokens == 11
    assert policy.generate(["c"], Sampling())[0].finish_reason == "length"
    with pytest.raises(PolicyError, match="no unused record"):
        policy.generate(["d"], Sampling())


def test_replay_cursor_survives_a_restart(tmp_path):
    file = write_jsonl(tmp_path / "r.jsonl", ["one", "two", "three"])
    cursor = tmp_path / "cursor.json"
    first = load_policy(f"replay:{file}", cursor=str(cursor))
    assert first.generate(["x"], Sampling())[0].text == "one"
    second = load_policy(f"replay:{file}", cursor=str(cursor))
    assert [c.text for c in second.generate(["x", "y"], Sampling())] == ["two", "three"]


def test_replay_bad_files(tmp_path):
    with pytest.raises(PolicyError, match="does not exist"):
        load_policy(f"replay:{tmp_path / 'missing.jsonl'}")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{oops\n')
    with pytest.raises(PolicyError, match=r"bad.jsonl:2: not JSON"):
        load_policy(f"replay:{bad}")
    bad.write_text('{"txt": "ok"}\n')
    with pytest.raises(PolicyError, match=r":1: a record needs"):
        load_policy(f"replay:{bad}")


@pytest.mark.parametrize("raw, thinking, visible", [
    ("<think>a</think>b", "a", "b"),
    ("plan</think>answer", "plan", "answer"),  # opened by the chat template
    ("x<think>cut off", "cut off", "x"),
    ("<Thinking>1</Thinking>m<think>2</think>e", "1\n2", "me"),
    ("no thinking here", "", "no thinking here"),
])
def test_split_thinking(raw, thinking, visible):
    assert split_thinking(raw) == (thinking, visible)
    c = Completion.from_output(raw)
    assert c.text == visible and c.raw == raw
