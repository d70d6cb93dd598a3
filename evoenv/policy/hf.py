"""``hf:PATH``: a transformers causal LM run with ``generate``, on CPU or GPU.

Prompts are batched with left padding (so every row's generation starts at the
same position). Chat prompts use the tokenizer's chat template when it has one,
else a plain ``System:/User:/Assistant:`` layout. Logprobs and entropies come
from the raw logits of each step, so they are exact, not top-k estimates.
"""

from __future__ import annotations

import os
import time

from evoenv.policy.base import Completion, PolicyError, Prompt, Sampling

PLAIN_ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}


def plain_chat(messages: list[dict]) -> str:
    """The fallback template for tokenizers without a chat template."""
    lines = [f"{PLAIN_ROLES.get(m['role'], m['role'].title())}: {m['content']}" for m in messages]
    return "\n\n".join(lines) + "\n\nAssistant:"


class HFPolicy:
    def __init__(self, path: str, *, device: str | None = None, batch_size: int = 8, dtype: str | None = None):
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - both are core dependencies
            raise PolicyError(f"hf: policy needs torch and transformers ({exc})") from None
        self.path = str(path)
        self.name = f"hf:{os.path.basename(os.path.normpath(self.path)) or self.path}"
        self.batch_size = max(1, int(batch_size))
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._torch = torch
        if not os.path.isdir(self.path):
            raise PolicyError(
                f"hf: model folder {self.path!r} does not exist; give a local folder written by save_pretrained "
                "(config.json, weights, tokenizer files). Nothing is downloaded."
            )
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            kwargs = {"local_files_only": True}
            if dtype:
                kwargs["dtype"] = getattr(torch, dtype)
            self.model = AutoModelForCausalLM.from_pretrained(self.path, **kwargs).to(self.device)
        except (OSError, ValueError) as exc:
            raise PolicyError(f"hf: cannot load a causal LM and tokenizer from {self.path}: {exc}") from None
        self.model.eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            if self.tokenizer.eos_token is None:
                raise PolicyError(f"hf: the tokenizer in {self.path} has neither a pad nor an eos token")
            self.tokenizer.pad_token = self.tokenizer.eos_token
        eos = self.tokenizer.eos_token_id
        self._eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}

    def check(self) -> None:
        """Loading in ``__init__`` already proved the model is usable."""

    def render(self, prompt: Prompt) -> str:
        if isinstance(prompt, str):
            return prompt
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        return plain_chat(prompt)

    def generate(self, prompts: list[Prompt], sampling: Sampling) -> list[Completion]:
        out: list[Completion] = []
        for start in range(0, len(prompts), self.batch_size):
            out.extend(self._batch(prompts[start : start + self.batch_size], sampling))
        return out

    def _batch(self, prompts: list[Prompt], sampling: Sampling) -> list[Completion]:
        torch = self._torch
        started = time.monotonic()
        texts = [self.render(p) for p in prompts]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        if enc["input_ids"].shape[1] == 0:
            raise PolicyError("hf: every prompt in the batch tokenised to nothing")
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        do_sample = sampling.temperature > 0
        gen_kwargs = dict(
            max_new_tokens=sampling.max_tokens,
            do_sample=do_sample,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.tokenizer.eos_token_id,
            return_dict_in_generate=True,
            output_logits=sampling.logprobs,
        )
        if do_sample:
            gen_kwargs.update(temperature=sampling.temperature, top_p=sampling.top_p, top_k=0)
        with torch.no_grad():
            result = self.model.generate(**enc, **gen_kwargs)
        prompt_len = enc["input_ids"].shape[1]
        generated = result.sequences[:, prompt_len:]
        seconds = (time.monotonic() - started) / len(prompts)
        completions = []
        for row, ids in enumerate(generated.tolist()):
            completions.append(self._row(row, ids, enc, result, sampling, seconds))
        return completions

    def _row(self, row, ids, enc, result, sampling, seconds) -> Completion:
        finish = "length"
        kept = len(ids)
        for i, tok in enumerate(ids):
            if tok in self._eos_ids:
                kept, finish = i, "stop"
                break
        ids = ids[:kept]
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        for stop in sampling.stop:
            cut = text.find(stop)
            if cut >= 0:
                text, finish = text[:cut], "stop"
        completion = Completion.from_output(
            text,
            prompt_tokens=int(enc["attention_mask"][row].sum()),
            completion_tokens=kept,
            finish_reason=finish,
            seconds=seconds,
            meta={"device": self.device},
        )
        if sampling.logprobs and result.logits is not None:
            torch = self._torch
            logits = torch.stack([step[row] for step in result.logits[:kept]]) if kept else None
            if logits is not None:
                logp = torch.log_softmax(logits.float(), dim=-1)
                chosen = torch.tensor(ids, device=logp.device).unsqueeze(1)
                completion.tokens = [self.tokenizer.decode([t]) for t in ids]
                completion.token_logprobs = logp.gather(1, chosen).squeeze(1).tolist()
                completion.token_entropies = (-(logp.exp() * logp).nan_to_num().sum(-1)).tolist()
            else:
                completion.tokens, completion.token_logprobs, completion.token_entropies = [], [], []
        return completion

    def close(self) -> None:
        self.model = None
