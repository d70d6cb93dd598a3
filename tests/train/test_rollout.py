import logging

import pytest
import torch

from evoenv.train.rollout import HFRollout, _cut_at_eos, encode_prompts, format_prompt, make_rollout


@pytest.fixture(scope="module")
def tiny(tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_model), AutoTokenizer.from_pretrained(tiny_model)


def test_completions_stop_at_eos_and_drop_padding():
    assert _cut_at_eos([5, 6, 1, 0, 0], {1}, 0) == ([5, 6, 1], False)
    assert _cut_at_eos([5, 6, 7], {1}, 0) == ([5, 6, 7], True)
    assert _cut_at_eos([5, 0, 0], {1}, 0) == ([5], True)


def test_prompts_use_the_chat_template_when_there_is_one(tiny):
    _model, tokenizer = tiny
    assert format_prompt(tokenizer, "2+2?", system="Be brief.") == "Be brief.\n\n2+2?\n"
    tokenizer.chat_template = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}[assistant]"
    try:
        assert format_prompt(tokenizer, "2+2?") == "[user] 2+2?\n[assistant]"
    finally:
        tokenizer.chat_template = None


def test_long_prompts_keep_their_end(tiny):
    _model, tokenizer = tiny
    (ids,) = encode_prompts(tokenizer, ["x " * 200 + "the question"], max_prompt_tokens=10)
    assert len(ids) == 10 and tokenizer.decode(ids).endswith("the question")


def test_hf_rollout_samples_a_batch(tiny):
    model, tokenizer = tiny
    torch.manual_seed(0)
    batch = HFRollout(model, tokenizer).generate([[5, 6, 7], [8]], max_new_tokens=6, temperature=1.0, top_p=1.0)
    assert len(batch.completion_ids) == 2 and all(1 <= len(c) <= 6 for c in batch.completion_ids)
    assert batch.texts == tokenizer.batch_decode(batch.completion_ids, skip_special_tokens=True)
    assert batch.completion_tokens == sum(len(c) for c in batch.completion_ids)


def test_vllm_is_refused_clearly_without_a_gpu_and_auto_falls_back(tiny, caplog, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the no-GPU fallback, on any machine
    model, tokenizer = tiny
    with pytest.raises(RuntimeError, match="rollout = 'vllm' but vLLM cannot run: no CUDA device"):
        make_rollout("vllm", model=model, tokenizer=tokenizer, model_path="x", seed=0, autocast_dtype=None)
    with caplog.at_level(logging.WARNING, logger="evoenv.train.rollout"):
        engine = make_rollout("auto", model=model, tokenizer=tokenizer, model_path="x", seed=0, autocast_dtype=None)
    assert engine.name == "hf"
    assert any("using transformers generate" in r.getMessage() for r in caplog.records)
