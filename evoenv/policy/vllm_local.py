"""``vllm:MODEL_OR_PATH``: an in-process ``vllm.LLM`` on a GPU.

This is the backend the trainer shares weights with. ``vllm`` is imported only
when this backend is chosen, so CPU machines never need it; without vllm or a
CUDA GPU it raises ``PolicyError`` saying which is missing.
"""

from __future__ import annotations

import time

from evoenv.policy.base import Completion, PolicyError, Prompt, Sampling
from evoenv.policy.logprobs import topk_entropy


def _require_vllm():
    try:
        import vllm
    except ImportError as exc:
        raise PolicyError(
            f"the vllm: policy needs the vllm package, which is not installed ({exc}). "
            "Install it on a CUDA machine with `pip install 'evoenv[gpu]'`, or serve the model with "
            "`vllm serve MODEL` elsewhere and use --policy openai:MODEL@http://HOST:8000/v1"
        ) from None
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    if not has_gpu:
        raise PolicyError(
            "the vllm: policy needs a CUDA GPU and none is visible (torch.cuda.is_available() is False). "
            "On a CPU machine use --policy hf:PATH, or openai:MODEL@URL for a remote server."
        )
    return vllm


class VLLMPolicy:
    def __init__(self, model: str, **engine_kwargs):
        vllm = _require_vllm()
        self.name = f"vllm:{model}"
        self._vllm = vllm
        try:
            self.llm = vllm.LLM(model=model, **engine_kwargs)
        except Exception as exc:  # vllm raises many kinds; all mean "cannot load"
            raise PolicyError(f"vllm could not load {model!r}: {type(exc).__name__}: {exc}") from None

    def check(self) -> None:
        """The engine was built in ``__init__``."""

    def generate(self, prompts: list[Prompt], sampling: Sampling) -> list[Completion]:
        params = self._vllm.SamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            stop=list(sampling.stop) or None,
            seed=sampling.seed,
            logprobs=sampling.top_logprobs if sampling.logprobs else None,
        )
        started = time.monotonic()
        # Keep the input order: chats go through llm.chat, plain text through llm.generate.
        results: list = [None] * len(prompts)
        chats = [i for i, p in enumerate(prompts) if not isinstance(p, str)]
        texts = [i for i, p in enumerate(prompts) if isinstance(p, str)]
        if chats:
            for i, out in zip(chats, self.llm.chat([prompts[i] for i in chats], params, use_tqdm=False)):
                results[i] = out
        if texts:
            for i, out in zip(texts, self.llm.generate([prompts[i] for i in texts], params, use_tqdm=False)):
                results[i] = out
        seconds = (time.monotonic() - started) / max(1, len(prompts))
        return [self._convert(out, sampling, seconds) for out in results]

    @staticmethod
    def _convert(out, sampling: Sampling, seconds: float) -> Completion:
        best = out.outputs[0]
        completion = Completion.from_output(
            best.text,
            prompt_tokens=len(out.prompt_token_ids or []),
            completion_tokens=len(best.token_ids),
            finish_reason=best.finish_reason or "stop",
            seconds=seconds,
        )
        if sampling.logprobs and best.logprobs:
            tokens, chosen, entropies = [], [], []
            for token_id, alternatives in zip(best.token_ids, best.logprobs):
                picked = alternatives.get(token_id)
                tokens.append(getattr(picked, "decoded_token", "") or "")
                chosen.append(float(picked.logprob) if picked else float("nan"))
                entropies.append(topk_entropy([float(a.logprob) for a in alternatives.values()]))
            completion.tokens, completion.token_logprobs, completion.token_entropies = tokens, chosen, entropies
        return completion

    def close(self) -> None:
        self.llm = None
