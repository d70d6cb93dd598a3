"""What a grow run keeps of each proposal (``Slot``), each round (``RoundSummary``) and itself
(``GrowReport``, what ``evoenv grow --json`` prints)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from evoenv.admission.result import STAGES


@dataclass
class Slot:
    """One proposal of a round, from prompt to decision."""

    key: str  # "r{round}s{slot}"
    round: int
    prompt: list[dict]
    parents: list[tuple[int, str]]
    generation: int
    raw: str = ""
    #: the completion's length before ``raw`` was capped for storage
    raw_chars: int = 0
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    env_id: int | None = None
    outcome: str = ""  # "admitted" | "rejected" | "duplicate"
    reason: str = ""
    stages: list[dict] = field(default_factory=list)
    #: repair attempts admission made for this proposal, and the tokens they cost
    repairs: int = 0
    repair_tokens: int = 0


@dataclass
class RoundSummary:
    round: int
    proposed: int = 0
    passes: dict[str, int] = field(default_factory=lambda: {s: 0 for s in STAGES})
    admitted: int = 0
    rejected: int = 0
    duplicates: int = 0
    repairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    retired: list[int] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def of(cls, number: int, slots: list[Slot], seconds: float, retired: list[int]) -> RoundSummary:
        summary = cls(round=number, retired=list(retired), seconds=round(seconds, 3))
        for slot in slots:
            summary.proposed += 1
            summary.repairs += slot.repairs
            summary.admitted += slot.outcome == "admitted"
            summary.rejected += slot.outcome == "rejected"
            summary.duplicates += slot.outcome == "duplicate"
            summary.prompt_tokens += slot.prompt_tokens
            summary.completion_tokens += slot.completion_tokens + slot.repair_tokens
            for stage in slot.stages:
                if stage.get("passed") is True and stage.get("stage") in summary.passes:
                    summary.passes[stage["stage"]] += 1
        return summary


@dataclass
class GrowReport:
    run_id: int
    rounds: list[RoundSummary]
    slots: list[Slot]
    resumed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "resumed": self.resumed,
            "rounds": [asdict(r) | {"tokens": r.tokens} for r in self.rounds],
            "candidates": [
                {"key": s.key, "round": s.round, "env_id": s.env_id, "outcome": s.outcome, "reason": s.reason,
                 "failed_stage": next((x["stage"] for x in s.stages if x.get("passed") is False), None),
                 "repairs": s.repairs, "prompt_tokens": s.prompt_tokens,
                 "completion_tokens": s.completion_tokens, "seconds": round(s.seconds, 3)}
                for s in self.slots
            ],
            "totals": {
                "proposed": sum(r.proposed for r in self.rounds),
                "admitted": sum(r.admitted for r in self.rounds),
                "tokens": sum(r.tokens for r in self.rounds),
            },
        }
