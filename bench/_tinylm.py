"""A tiny language model taught from scratch, for the learning benchmarks (learning.py, curriculum.py).

Supervised pretraining on references the environments compute in the sandbox
(prompt -> ``<answer>reference</answer>`` + end of text), and sampled pass
rates scored by the environments' own scorers in the sandbox.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import torch


def completion_text(reference: str) -> str:
    return f"<answer>{reference}</answer>"


def sampled_passes(model, tokenizer, cases, scorer, *, samples: int = 1, seed: int = 0, max_new_tokens: int = 12,
                   max_prompt_tokens: int = 64, batch: int = 1024) -> list[list[float]]:
    """Rewards of ``samples`` completions (temperature 1) per case, scored in the sandbox.

    ``cases`` are ``(env_id, code, rendered)`` with ``rendered.prompt`` and ``rendered.instance``."""
    from evoenv.train.rewards import ScoreItem
    from evoenv.train.rollout import HFRollout, encode_prompts, format_prompt

    torch.manual_seed(seed)
    rollout = HFRollout(model, tokenizer)
    ids = encode_prompts(tokenizer, [format_prompt(tokenizer, r.prompt) for _e, _c, r in cases], max_prompt_tokens)
    repeated = [p for p in ids for _ in range(samples)]
    texts: list[str] = []
    for start in range(0, len(repeated), batch):
        texts += rollout.generate(repeated[start:start + batch], max_new_tokens=max_new_tokens, temperature=1.0,
                                  top_p=1.0).texts
    items = [ScoreItem(env_id, code, r.instance, texts[k * samples + j])
             for k, (env_id, code, r) in enumerate(cases) for j in range(samples)]
    values = [reward.value for reward in scorer.score(items)]
    return [values[k * samples:(k + 1) * samples] for k in range(len(cases))]


def pretrain(model, tokenizer, train_rows, *, lr: float, batch: int, max_steps: int, log: Callable[[str], None],
             check: Callable[[int, float], bool] | None = None, check_every: int = 25, seed: int = 0) -> int:
    """Supervised steps on prompt -> <answer>reference</answer>; every ``check_every`` steps
    ``check(step, loss)`` may stop early (returns True). Returns the steps taken."""
    from evoenv.train.rollout import format_prompt

    device = next(model.parameters()).device
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    rng = random.Random(seed)
    eos = tokenizer.eos_token_id
    model.train()
    for step in range(1, max_steps + 1):
        rows = rng.sample(train_rows, batch)
        seqs, masks = [], []
        for r in rows:
            prompt = tokenizer(format_prompt(tokenizer, r.prompt), add_special_tokens=False)["input_ids"]
            answer = tokenizer(completion_text(r.reference), add_special_tokens=False)["input_ids"] + [eos]
            seqs.append(prompt + answer)
            masks.append([0] * len(prompt) + [1] * len(answer))
        width = max(map(len, seqs))
        ids = torch.full((batch, width), tokenizer.pad_token_id)
        loss_mask = torch.zeros(batch, width)
        attention = torch.zeros(batch, width, dtype=torch.long)
        for i, (s, m) in enumerate(zip(seqs, masks)):
            ids[i, :len(s)] = torch.tensor(s)
            loss_mask[i, :len(m)] = torch.tensor(m, dtype=torch.float)
            attention[i, :len(s)] = 1
        ids, loss_mask, attention = ids.to(device), loss_mask.to(device), attention.to(device)
        logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1]
        nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1),
                                                reduction="none").view(batch, -1)
        loss = (nll * loss_mask[:, 1:]).sum() / loss_mask[:, 1:].sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if check is not None and step % check_every == 0:
            model.eval()
            stop = check(step, loss.item())
            model.train()
            if stop:
                return step
    return max_steps
