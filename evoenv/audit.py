"""The runtime audit: known-wrong answers scored among the real ones, while training and rescoring.

An environment stays untrusted after admission. One that detects admission and behaves only then
would pay for wrong answers in training, so every caller that turns scores into rewards (the
trainer's ``RewardScorer``, CoTEvol's fitness, rescoring for verl / TRL / gym) also scores a
known-wrong answer for a random share of instances, in the same job, shuffled among the real
answers so the job cannot tell which is which. A score job never holds a lone real answer: a job
with one answer always carries a known-wrong one too (admission never sends lone score calls, so a
lone call would tell the job it is not being admitted).

A known-wrong answer is judged by the rule L5 applied at admission, so an environment that passed
L5 honestly is never caught: clear junk ("empty", "junk") must score 0; the reference with extra
content (``perturbations.extra_content``: repeated, or beside a near miss) must score below 1.
Plain perturbations of the reference are not used: a feasibility task may rightly accept some.
An environment that pays is quarantined (``Registry.quarantine``) with the evidence, and its
rewards stop.
"""

from __future__ import annotations

import random
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from evoenv.answers import extract_answer
from evoenv.sandbox import protocol

#: Share of instances that get a known-wrong answer. One extra score call in a job that runs anyway
#: (no extra process), so the cost is a few percent more scorer calls; an environment that cheats on
#: every unwatched job is caught after about 1/share instances (~20), with 95% certainty after ~60.
DEFAULT_AUDIT_SHARE = 0.05

KINDS = ("empty", "junk", "extra_content")


def pays(kind: str, score: float) -> bool:
    """Whether an environment paid for a known-wrong answer of this kind (L5's rule at admission)."""
    return score >= 1.0 if kind == "extra_content" else score > 0.0


def wrong_answer(reference: str | None, rng: random.Random) -> tuple[str, str]:
    """(kind, answer): a known-wrong answer for an instance whose reference is ``reference`` (None:
    unknown, then only junk kinds). Drawn fresh each time, so no fixed string gives the audit away."""
    from evoenv.admission.perturbations import extra_content  # admission's calibration imports this module

    variants = extra_content(reference, random.Random(rng.random())) if reference and reference.strip() else []
    kind = rng.choice(KINDS if variants else KINDS[:2])
    if kind == "empty":
        return kind, ""  # what the platform passes when a response has no <answer> block
    if kind == "junk":
        return kind, " ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 8)))
                              for _ in range(rng.randint(1, 3)))
    return kind, extract_answer(f"<answer>{rng.choice(variants)[1]}</answer>")  # as a real answer arrives


@dataclass(frozen=True)
class Finding:
    """A known-wrong answer the environment paid for."""

    kind: str
    answer: str
    score: float
    instance: dict
    seed: int | None = None
    difficulty: int | None = None

    def reason(self) -> str:
        at = "" if self.seed is None else f" at seed={self.seed}, difficulty={self.difficulty}"
        return (f"the runtime audit caught it paying {self.score:g} for a known-wrong {self.kind} answer "
                f"{self.answer[:80]!r}{at}")

    def evidence(self, caught_by: str) -> dict[str, Any]:
        return {"caught_by": caught_by, "kind": self.kind, "answer": self.answer[:2000], "score": self.score,
                "seed": self.seed, "difficulty": self.difficulty, "instance": self.instance}


@dataclass
class AuditedBatch:
    """Score calls for a job: the real answers and the audit's known-wrong ones, shuffled."""

    calls: list[protocol.ScoreCall]
    #: for each call: index of the real answer it scores, or -1 - k for the k-th audit answer
    slots: list[int]
    audits: list[tuple[int, str, str]] = field(default_factory=list)  # (real index of its instance, kind, answer)

    def split(self, results: list, seeds: list | None = None, difficulties: list | None = None,
              instances: list | None = None) -> tuple[list, list[Finding]]:
        """(the real calls' results in their original order, the audit answers the environment paid for)."""
        real: list = [None] * (len(self.slots) - len(self.audits))
        found = []
        for slot, result in zip(self.slots, results):
            if slot >= 0:
                real[slot] = result
                continue
            index, kind, answer = self.audits[-1 - slot]
            value = getattr(result, "value", None) if getattr(result, "ok", False) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool) and pays(kind, float(value)):
                found.append(Finding(kind, answer, float(value), instances[index] if instances else {},
                                     seeds[index] if seeds else None, difficulties[index] if difficulties else None))
        return real, found


def audited_batch(instances: list[dict], answers: list[str], references: list[str | None] | None = None,
                  share: float = DEFAULT_AUDIT_SHARE, rng: random.Random | None = None) -> AuditedBatch:
    """Score calls for ``answers`` (to ``instances``), plus a known-wrong answer for each distinct
    instance (the same dict object) with probability ``share``, and always one when there is a single
    answer, in a random order. ``share`` 0 turns the audit off (tests of environments that would fail L5)."""
    rng = rng or secrets.SystemRandom()
    references = references or [None] * len(answers)
    firsts: dict[int, int] = {}  # one audit per instance: GRPO groups repeat an instance
    for i, instance in enumerate(instances):
        firsts.setdefault(id(instance), i)
    chosen = [i for i in firsts.values() if rng.random() < share]
    if len(answers) == 1 and not chosen and share > 0:
        chosen = [0]
    audits = [(i, *wrong_answer(references[i], rng)) for i in chosen]
    entries = [(i, instances[i], answers[i]) for i in range(len(answers))]
    entries += [(-1 - k, instances[i], answer) for k, (i, _kind, answer) in enumerate(audits)]
    rng.shuffle(entries)
    return AuditedBatch([protocol.score(inst, ans) for _, inst, ans in entries],
                        [slot for slot, _, _ in entries], audits)


def quarantine_in_registry(registry, env_id, finding: Finding, caught_by: str) -> None:
    """Record a catch: an environment with a registry id is quarantined there with the evidence (one given as
    a source file or a seed without a registry has no record; its caller stops its rewards in memory)."""
    if registry is not None and env_id is not None and str(env_id).isdigit():
        registry.quarantine(int(env_id), reason=finding.reason(), evidence=finding.evidence(caught_by))
