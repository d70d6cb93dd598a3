import math

import pytest
import torch

from evoenv.train.loss import group_advantages, groups_with_signal, grpo_loss, k3_kl


def test_group_advantages_are_centred_and_scaled_per_group():
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.5])
    adv = group_advantages(rewards, 4)
    assert adv[:4].sum().abs() < 1e-6
    assert adv[0] > 0 > adv[1]
    assert torch.allclose(adv[4:], torch.zeros(4))  # no spread, no signal
    unscaled = group_advantages(rewards, 4, scale_rewards=False)
    assert torch.allclose(unscaled[:4], torch.tensor([0.5, -0.5, -0.5, 0.5]))
    assert groups_with_signal(rewards, 4).tolist() == [True, False]
    with pytest.raises(ValueError, match="groups of 3"):
        group_advantages(rewards, 3)


def test_k3_is_zero_at_equality_and_positive_elsewhere():
    logp = torch.log(torch.tensor([0.2, 0.5, 0.9]))
    assert torch.allclose(k3_kl(logp, logp), torch.zeros(3))
    assert (k3_kl(logp, logp + 0.3) > 0).all() and (k3_kl(logp, logp - 0.3) > 0).all()


def test_clipping_stops_the_gradient_beyond_the_trust_region():
    old = torch.zeros(1, 2)
    # ratio e^0.5 ~ 1.65 > 1 + 0.2 with positive advantage: clipped, no gradient
    logp = torch.tensor([[0.5, 0.0]], requires_grad=True)
    mask = torch.tensor([[1, 1]])
    terms = grpo_loss(logp, old, torch.tensor([1.0]), mask, epsilon_low=0.2, epsilon_high=0.2, normaliser=2)
    terms.loss.backward()
    assert logp.grad[0, 0] == 0 and logp.grad[0, 1] != 0
    assert terms.clip_fraction == pytest.approx(0.5)
    # a higher epsilon_high (DAPO clip-higher) lets the same token learn
    logp2 = torch.tensor([[0.5, 0.0]], requires_grad=True)
    grpo_loss(logp2, old, torch.tensor([1.0]), mask, epsilon_low=0.2, epsilon_high=1.0, normaliser=2).loss.backward()
    assert logp2.grad[0, 0] < 0


def _accumulated(logp, adv, mask, loss_type, chunks):
    normaliser = mask.sum() if loss_type == "token" else len(adv)
    total = 0.0
    for rows in chunks:
        terms = grpo_loss(logp[rows], logp[rows].detach(), adv[rows], mask[rows], epsilon_low=0.2,
                          epsilon_high=0.2, loss_type=loss_type, normaliser=float(normaliser))
        total = total + terms.loss
    return total


@pytest.mark.parametrize("loss_type", ["token", "sequence"])
def test_gradient_accumulation_matches_one_big_batch(loss_type):
    torch.manual_seed(0)
    base = torch.randn(4, 5)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 0, 0]])
    adv = torch.tensor([1.0, -1.0, 0.5, -0.5])
    grads = []
    for chunks in ([[0, 1, 2, 3]], [[0], [1, 2], [3]]):
        logp = base.clone().requires_grad_(True)
        _accumulated(logp, adv, mask, loss_type, chunks).backward()
        grads.append(logp.grad)
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


def test_token_and_sequence_normalisation_weigh_long_answers_differently():
    mask = torch.tensor([[1, 1, 1, 1], [1, 0, 0, 0]])
    adv = torch.tensor([1.0, 1.0])
    logp = torch.zeros(2, 4, requires_grad=True)
    grpo_loss(logp, logp.detach(), adv, mask, epsilon_low=0.2, epsilon_high=0.2, loss_type="token",
              normaliser=5).loss.backward()
    token_grad = logp.grad.clone()
    logp.grad = None
    grpo_loss(logp, logp.detach(), adv, mask, epsilon_low=0.2, epsilon_high=0.2, loss_type="sequence",
              normaliser=2).loss.backward()
    # token level: every token weighs 1/5; sequence level: the lone token weighs 1/2, the others 1/8
    assert token_grad[0, 0] == pytest.approx(-1 / 5) and token_grad[1, 0] == pytest.approx(-1 / 5)
    assert logp.grad[0, 0] == pytest.approx(-1 / 8) and logp.grad[1, 0] == pytest.approx(-1 / 2)
    assert logp.grad[1, 1] == 0  # padding never learns


def test_kl_term_needs_a_reference_and_is_added():
    logp = torch.zeros(1, 2, requires_grad=True)
    mask = torch.ones(1, 2)
    with pytest.raises(ValueError, match="ref_logp"):
        grpo_loss(logp, logp.detach(), torch.zeros(1), mask, epsilon_low=0.2, epsilon_high=0.2, beta=0.1, normaliser=2)
    ref = torch.full((1, 2), -1.0)
    terms = grpo_loss(logp, logp.detach(), torch.zeros(1), mask, epsilon_low=0.2, epsilon_high=0.2, beta=0.1,
                      ref_logp=ref, normaliser=2)
    expected_kl = math.exp(-1) + 1 - 1
    assert terms.kl == pytest.approx(expected_kl, rel=1e-5)
    assert float(terms.loss.detach()) == pytest.approx(0.1 * expected_kl, rel=1e-5)
