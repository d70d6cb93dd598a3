"""Rollouts: sample completions from the current policy.

Two engines with one interface (``generate`` and ``sync``):
``VLLMRollout`` (GPU, imported lazily, weights pushed into the vLLM engine
after every optimiser step) and ``HFRollout`` (transformers ``generate``, any
device; the fallback). ``make_rollout`` picks one and says why.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import torch

from evoenv.policy.base import Prompt

log = logging.getLogger("evoenv.train.rollout")


@dataclass
class RolloutBatch:
    prompt_ids: list[list[int]]
    completion_ids: list[list[int]]  # ends with EOS when the model stopped by itself
    texts: list[str]  # decoded completions, special tokens removed
    truncated: list[bool]  # hit max_new_tokens
    seconds: float

    @property
    def completion_tokens(self) -> int:
        return sum(len(c) for c in self.completion_ids)


def format_prompt(tokenizer, prompt: Prompt, system: str | None = None) -> str:
    """Chat-template the prompt when the tokenizer has a template, else plain text."""
    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
    if system and not any(m.get("role") == "system" for m in messages):
        messages = [{"role": "system", "content": system}] + messages
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return "\n\n".join(m["content"] for m in messages) + "\n"


def encode_prompts(tokenizer, texts: list[str], max_prompt_tokens: int) -> list[list[int]]:
    """Token ids per prompt, keeping the END of prompts longer than the limit (the question is there)."""
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    return [x[-max_prompt_tokens:] for x in ids]


def _cut_at_eos(ids: list[int], eos_ids: set[int], pad_id: int | None) -> tuple[list[int], bool]:
    for i, tok in enumerate(ids):
        if tok in eos_ids:
            return ids[: i + 1], False
    if pad_id is not None and pad_id not in eos_ids:
        while ids and ids[-1] == pad_id:
            ids = ids[:-1]
    return ids, True


def eos_ids_of(tokenizer, model=None) -> set[int]:
    ids = set()
    for source in (getattr(getattr(model, "generation_config", None), "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(source, int):
            ids.add(source)
        elif isinstance(source, (list, tuple)):
            ids.update(source)
    return ids


class HFRollout:
    """transformers ``generate`` on the training model itself (no weight copy needed)."""

    name = "hf"

    def __init__(self, model, tokenizer, autocast_dtype: torch.dtype | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.autocast_dtype = autocast_dtype
        self.eos = eos_ids_of(tokenizer, model)
        if tokenizer.pad_token_id is None:
            raise ValueError("the tokenizer has no pad token; set one (e.g. pad_token = eos_token)")

    @torch.no_grad()
    def generate(self, prompt_ids: list[list[int]], *, max_new_tokens: int, temperature: float,
                 top_p: float) -> RolloutBatch:
        started = time.perf_counter()
        device = next(self.model.parameters()).device
        pad = self.tokenizer.pad_token_id
        width = max(len(p) for p in prompt_ids)
        input_ids = torch.full((len(prompt_ids), width), pad, dtype=torch.long)
        attention = torch.zeros_like(input_ids)
        for row, ids in enumerate(prompt_ids):  # left padding: every prompt ends at the same column
            input_ids[row, width - len(ids):] = torch.tensor(ids)
            attention[row, width - len(ids):] = 1
        was_training = self.model.training
        self.model.eval()
        device_type = device.type
        with torch.autocast(device_type, dtype=self.autocast_dtype or torch.float32,
                            enabled=self.autocast_dtype is not None):
            out = self.model.generate(
                input_ids=input_ids.to(device), attention_mask=attention.to(device),
                do_sample=True, temperature=temperature, top_p=top_p, top_k=0,
                max_new_tokens=max_new_tokens, pad_token_id=pad, eos_token_id=sorted(self.eos) or None,
            )
        self.model.train(was_training)
        completions, truncated = [], []
        for row in out[:, width:].tolist():
            ids, cut = _cut_at_eos(row, self.eos, pad)
            completions.append(ids)
            truncated.append(cut)
        texts = self.tokenizer.batch_decode(completions, skip_special_tokens=True)
        return RolloutBatch([list(p) for p in prompt_ids], completions, texts, truncated,
                            time.perf_counter() - started)

    def sync(self, model) -> None:
        """Nothing to do: generation uses the training model's own weights."""


class VLLMRollout:
    """A colocated vLLM engine; ``sync`` loads the trainer's current weights into it."""

    name = "vllm"

    def __init__(self, model_path: str, tokenizer, *, seed: int, gpu_memory_utilization: float,
                 tensor_parallel_size: int, dtype: str = "bfloat16"):
        # The in-process engine is needed so the trainer can reach the model to load weights.
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        from vllm import LLM  # lazy: vLLM is an optional GPU dependency

        self.tokenizer = tokenizer
        self.llm = LLM(model=model_path, tokenizer=model_path, seed=seed, dtype=dtype,
                       gpu_memory_utilization=gpu_memory_utilization,
                       tensor_parallel_size=tensor_parallel_size, enable_prefix_caching=True)

    def generate(self, prompt_ids: list[list[int]], *, max_new_tokens: int, temperature: float,
                 top_p: float) -> RolloutBatch:
        from vllm import SamplingParams

        started = time.perf_counter()
        params = SamplingParams(temperature=temperature, top_p=top_p, max_tokens=max_new_tokens)
        outputs = self.llm.generate([{"prompt_token_ids": ids} for ids in prompt_ids], params, use_tqdm=False)
        completions = [list(o.outputs[0].token_ids) for o in outputs]
        texts = self.tokenizer.batch_decode(completions, skip_special_tokens=True)
        truncated = [o.outputs[0].finish_reason == "length" for o in outputs]
        return RolloutBatch([list(p) for p in prompt_ids], completions, texts, truncated,
                            time.perf_counter() - started)

    def sync(self, model) -> None:
        engine_model = self.llm.llm_engine.model_executor.driver_worker.model_runner.model
        engine_model.load_weights((name, param.data) for name, param in model.named_parameters())
        self.llm.reset_prefix_cache()


def vllm_unavailable_reason() -> str | None:
    """Why vLLM cannot be used here, or None when it can."""
    if not torch.cuda.is_available():
        return "no CUDA device"
    try:
        import vllm  # noqa: F401
    except ImportError as exc:
        return f"vllm is not installed ({exc}); pip install 'evoenv[gpu]'"
    return None


def make_rollout(kind: str, *, model, tokenizer, model_path: str, seed: int, autocast_dtype,
                 gpu_memory_utilization: float = 0.3, tensor_parallel_size: int = 1):
    """``kind`` "vllm" fails loudly without vLLM; "auto" falls back to transformers and says so."""
    if kind in ("auto", "vllm"):
        reason = vllm_unavailable_reason()
        if reason is None:
            return VLLMRollout(model_path, tokenizer, seed=seed, gpu_memory_utilization=gpu_memory_utilization,
                               tensor_parallel_size=tensor_parallel_size)
        if kind == "vllm":
            raise RuntimeError(f"rollout = 'vllm' but vLLM cannot run: {reason}")
        log.warning("vLLM rollouts unavailable (%s); using transformers generate, which is much slower", reason)
    return HFRollout(model, tokenizer, autocast_dtype)
