"""Every number the admission pipeline uses, in one config dataclass.

Defaults follow the EvoEnv paper where it gives a number (K=3 reviews at
temperature 0.6, m=8 calibration instances, target pass rate 0.3, novelty
lambda 0.5 and threshold 0.80, seed floor 0.2). The others are ours and are
documented in docs/admission.md.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from evoenv.answers import MAX_ANSWER_CHARS
from evoenv.configfile import build_dataclass
from evoenv.defaults import POOL_MAX_EPOCHS, TARGET_PASS_RATE
from evoenv.train.instances import TRAIN_SEED_LIMIT


@dataclass
class AdmissionConfig:
    # --- sandbox limits: None = the platform's job limits (``Limits.for_jobs``), the same for training,
    # exports, CLI and web, so a job cannot tell admission from training; set only in tests
    cpu_s: float | None = None
    memory_mb: int | None = None
    wall_s: float | None = None

    # --- L1 parse
    max_source_bytes: int = 200_000
    max_levels: int = 1000  # a larger max_difficulty is refused as a typo

    # --- L2 execute: n_seeds probe seeds at low, middle and max difficulty (L3-L5 reuse L2's renders)
    n_seeds: int = 8
    #: L2's probe seeds; empty: drawn fresh per candidate by ``draw_probe_seeds``. L2 records the seeds
    #: it used in its details, so giving them here reruns it on the same instances.
    probe_seeds: tuple[int, ...] = ()
    #: the canonical seeds seed_base .. seed_base+fingerprint_seeds-1 are only for the novelty
    #: fingerprint (the same for every environment, so copies match); no check is judged on them
    seed_base: int = 0
    #: then this many more seeds at level 1 and the two highest levels (a rare crash: a lookup table one
    #: entry short fails on a few seeds in fifty), reference and score(reference) on the raw and on the
    #: JSON round-tripped instance; fewer when L2's renders say the sweep would take over sweep_budget_s
    sweep_seeds: int = 48
    #: fixed sweep seeds (a rerun, a reproducible test); empty: drawn fresh like ``probe_seeds``
    sweep_seed_values: tuple[int, ...] = ()
    sweep_budget_s: float = 3.0

    # --- L3 determinism: two fresh interpreters with these PYTHONHASHSEEDs
    hash_seeds: tuple[int, int] = (1, 2)
    #: also re-render the first few pairs of every level at the end of one job (the other renders in
    #: reverse order): state must not leak between calls
    repeat_pairs: int = 3

    # --- L4 non-triviality
    #: at most this share of the references may be one and the same answer
    max_reference_share: float = 0.9
    #: a size measure "grows" when P(size at max > size at low) over seed pairs reaches this
    growth_auc: float = 0.9
    #: a content count (marker characters or values) growing, or any measure falling, counts as a change
    #: only at this AUC (or 1 - it): there are many such measures, so chance needs a stricter bar
    #: (with 8 seeds per level, AUC >= 0.97 by chance has probability about 3e-4 per measure)
    content_change_auc: float = 0.97

    # --- L5 scorer contract
    #: instances whose references are perturbed (taken evenly across difficulties)
    perturb_instances: int = 6
    #: at least this share of perturbed references must score < 1 (feasibility tasks may
    #: accept some perturbations as other valid answers, so not all)
    min_perturbation_reject: float = 0.6
    #: a prompt "leaks" when it contains a non-trivial reference in at least this share of instances
    leak_share: float = 0.5
    #: a reference is non-trivial when it has this many tokens, or is one number of this many digits
    leak_min_tokens: int = 3
    leak_min_digits: int = 4
    #: a one-token reference is not leaked when the prompt holds more than this many distinct tokens of its
    #: shape (copying would be a guess among them: a selection task)
    leak_max_candidates: int = 2
    #: a reference that also appears in at least this share of the prompts whose reference differs is
    #: instruction text (an offered answer), not a leak
    leak_offered_share: float = 0.5
    #: the longest junk answer L5 sends: the platform's answer cap (longer answers score 0 without reaching
    #: the scorer, see evoenv.answers.MAX_ANSWER_CHARS), so L5 tests robustness only up to it
    long_answer_chars: int = MAX_ANSWER_CHARS
    #: near misses of a reference (plus one element, minus one, all elements at once; an integer +-1, +-2, x2)
    #: may score 1 on at most this share of the instances they apply to, per kind: an exact scorer accepts
    #: none, a sound feasibility scorer only the rare one that is another valid answer
    near_miss_accept_share: float = 0.25
    #: a value printed under one label (or at one position) of the prompt is a leak when it is the reference
    #: in at least leak_label_share of the instances (a generic renderer prints the hidden field in all of
    #: them; a structural favourite, such as the root of a tree as the common ancestor, in far fewer) and at
    #: least leak_label_lift times as often as it equals the reference of another instance (chance: a short
    #: integer that happens to be printed there)
    leak_label_share: float = 0.9
    leak_label_lift: float = 2.0

    # --- blind: answer-blind strategies (constants, the most frequent reference, offered words, size
    # functions) must not pay. A level where one passes more than blind_max_rate rejects: the paper's
    # target pass rate is 0.3, so a guess at 0.2 would earn most of the reward a calibrated level pays
    blind_max_rate: float = 0.2
    blind_seeds: int = 32  # fresh instances per level
    #: a level over the limit is measured again on this many fresh instances, for the strategies that were over,
    #: before it rejects: a strategy truly paying 13.5% then rejects ~2% of the time, one paying 30% passes <1%
    blind_confirm_seeds: int = 128
    #: fixed blind seeds (a rerun, a reproducible test); empty: drawn fresh per level like L2's probe seeds,
    #: so an environment cannot look guessable-proof on known seeds and guessable on the others
    blind_seed_values: tuple[int, ...] = ()
    #: every answer-blind answer is scored on this many instances per level; on the rest, a strategy's answers
    #: are scored only when the scorer accepted one of its non-reference answers here (else only exact
    #: matches of the reference count)
    blind_screen: int = 8
    blind_levels: int = 10  # every level when max_difficulty <= this, else this many spread from 1 to the top
    blind_parallel: int = 4  # levels measured side by side (one render and one score job each)

    # --- self-review (paper: K=3 at temperature 0.6)
    review_k: int = 3
    review_temperature: float = 0.6
    review_max_tokens: int = 2048
    #: a review whose verdict cannot be parsed counts as a reject (a reviewer that cannot answer
    #: has not vouched for the environment)
    unparsable_review_rejects: bool = True

    # --- calibration (paper: m=8, target 0.3)
    calibration_m: int = 8
    #: calibration's seeds at every probed level; empty: drawn fresh by ``draw_probe_seeds`` (recorded
    #: in the calibration curve)
    calibration_seeds: tuple[int, ...] = ()
    calibration_max_probes: int = 4
    solver_temperature: float = 1.0
    solver_max_tokens: int = 2048
    pass_threshold: float = 1.0  # a solver answer passes when its score reaches this
    target_pass_rate: float = TARGET_PASS_RATE
    q_sigma: float = 0.15

    # --- novelty (paper: MiniLM, lambda=0.5, reject at >= 0.80)
    novelty_lambda: float = 0.5
    novelty_threshold: float = 0.80
    novelty_neighbours: int = 5
    fingerprint_seeds: int = 4  # seeds 0..3 at low, middle and max difficulty
    #: behaviour decides (docs/admission.md, Novelty): the nearest this many are compared by behaviour
    novelty_behaviour_neighbours: int = 3
    #: below this embedding similarity only code structure is compared (running each program on the
    #: other's instances costs two sandbox jobs per neighbour)
    novelty_behaviour_gate: float = 0.6
    #: a copy: at least this share of equal answers (same seeds, or one's reference on the other's instances)
    novelty_behaviour_share: float = 0.5
    #: a copy: syntax trees this similar with names and constants dropped (distinct tasks: <= 0.53 among
    #: the seeds and test environments; renamed copies >= 0.98)
    novelty_structure_threshold: float = 0.85
    embed_threads: int = 1  # BLAS threads while embedding (restored after); 0 = leave the setting

    # --- generator reward: penalty if L1-L4 fails, else Q + novelty_bonus * (1 - max similarity)
    invalid_penalty: float = -1.0
    novelty_bonus: float = 0.2

    # --- decision and pool
    #: without a policy, review and calibration do not run; admit anyway? (``evoenv init`` does,
    #: for the seeds; a grow run always has a policy)
    admit_without_policy: bool = False
    #: run calibration even when review or novelty rejected, so the reward never depends on them
    calibrate_rejected: bool = True
    pool_max_epochs: int = POOL_MAX_EPOCHS
    seed_floor: float = 0.2

    #: extra fields a caller wants stored with the run (not used by the stages)
    notes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "") -> AdmissionConfig:
        """The config with the settings in ``data`` (field name: value) over the defaults, each checked
        against its field's type: an unknown key or a wrong type raises ``evoenv.configfile.ConfigError``
        naming the key (``where`` + ``.`` + key, e.g. ``admission.blind_max_rate``)."""
        return build_dataclass(cls, data, f"{where}." if where else "")

    def difficulties(self, max_difficulty: int) -> list[int]:
        """Low, middle and max difficulty, without repeats."""
        levels = [1, (1 + max_difficulty) // 2, max_difficulty]
        return sorted(set(levels))

    def pairs(self, max_difficulty: int, seeds: Sequence[int]) -> list[tuple[int, int]]:
        return [(s, d) for d in self.difficulties(max_difficulty) for s in seeds]

    def sweep_levels(self, max_difficulty: int) -> list[int]:
        """Level 1 and the two highest levels, without repeats."""
        return sorted({1, max(1, max_difficulty - 1), max_difficulty})

    def canonical_pairs(self, max_difficulty: int) -> list[tuple[int, int]]:
        """The novelty fingerprint's pairs: the same seeds for every environment."""
        return self.pairs(max_difficulty, range(self.seed_base, self.seed_base + self.fingerprint_seeds))


def draw_probe_seeds(n: int, given: Sequence[int] = ()) -> list[int]:
    """Seeds for the instances admission judges: ``given`` (a rerun with recorded seeds), else ``n``
    distinct seeds from a secure RNG over the range training draws its seeds from, so no job can
    predict them or tell an admission job from a training job by its seeds."""
    if given:
        return [int(s) for s in given]
    return secrets.SystemRandom().sample(range(TRAIN_SEED_LIMIT), n)
