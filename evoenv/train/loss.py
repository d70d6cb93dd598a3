"""The GRPO objective: group-relative advantages and the clipped surrogate loss.

Shapes: ``B`` sequences of ``T`` completion tokens; ``mask`` is 1 on real
completion tokens and 0 on padding. All functions are pure tensor code so they
can be tested on hand-made numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def group_advantages(rewards: torch.Tensor, group_size: int, scale_rewards: bool = True,
                     eps: float = 1e-4) -> torch.Tensor:
    """``(r - mean(group)) / (std(group) + eps)`` for consecutive groups of ``group_size``."""
    if rewards.numel() % group_size:
        raise ValueError(f"{rewards.numel()} rewards do not split into groups of {group_size}")
    grouped = rewards.view(-1, group_size)
    centred = grouped - grouped.mean(dim=1, keepdim=True)
    if scale_rewards:
        centred = centred / (grouped.std(dim=1, keepdim=True) + eps)
    return centred.view(-1)


def groups_with_signal(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """Bool per group: False when every reward in the group is equal (zero advantage)."""
    grouped = rewards.view(-1, group_size)
    return (grouped.max(dim=1).values - grouped.min(dim=1).values) > 1e-8


def token_logprobs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Log-probability of each of ``tokens`` under ``logits`` (same [B, T] positions)."""
    return torch.gather(F.log_softmax(logits.float(), dim=-1), -1, tokens.unsqueeze(-1)).squeeze(-1)


def token_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the next-token distribution at each position, [B, T]."""
    logp = F.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1)


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Unbiased, always-positive KL(pi || ref) estimate per token (Schulman's k3)."""
    delta = ref_logp - logp
    return torch.exp(delta) - delta - 1


@dataclass
class LossTerms:
    loss: torch.Tensor  # the (already normalised) scalar to backward
    policy_loss: float
    kl: float
    clip_fraction: float


def grpo_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor, *,
              epsilon_low: float, epsilon_high: float, beta: float = 0.0, ref_logp: torch.Tensor | None = None,
              loss_type: str = "token", normaliser: float) -> LossTerms:
    """Clipped surrogate (plus ``beta`` x k3 KL) for one micro-batch.

    ``normaliser`` is what the step divides by, counted over the WHOLE step so that
    gradient accumulation gives the same gradient as one big batch: the number of
    completion tokens for ``loss_type="token"`` (DAPO), the number of sequences for
    ``"sequence"`` (each sequence first averaged over its own tokens).
    """
    mask = mask.to(logp.dtype)
    ratio = torch.exp(logp - old_logp)
    adv = advantages.unsqueeze(1)
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high) * adv
    per_token = -torch.min(unclipped, clipped)
    kl = torch.zeros_like(per_token)
    if beta > 0:
        if ref_logp is None:
            raise ValueError("beta > 0 needs ref_logp")
        kl = k3_kl(logp, ref_logp)
        per_token = per_token + beta * kl
    if loss_type == "token":
        loss = (per_token * mask).sum() / normaliser
    elif loss_type == "sequence":
        per_seq = (per_token * mask).sum(1) / mask.sum(1).clamp(min=1)
        loss = per_seq.sum() / normaliser
    else:
        raise ValueError(f"unknown loss_type {loss_type!r}")
    n_tokens = mask.sum().clamp(min=1)
    with torch.no_grad():
        was_clipped = ((ratio < 1 - epsilon_low) & (adv < 0)) | ((ratio > 1 + epsilon_high) & (adv > 0))
        clip_fraction = float((was_clipped.to(mask.dtype) * mask).sum() / n_tokens)
        policy = float((-torch.min(unclipped, clipped) * mask).sum() / n_tokens)
        kl_mean = float((kl * mask).sum() / n_tokens)
    return LossTerms(loss, policy, kl_mean, clip_fraction)
