"""What the policy is asked: the generator prompt from parent environments (with the lineage and
generation the proposal will be stored with) and the repair follow-up in the same chat."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evoenv.admission import Candidate
from evoenv.admission.repair import Repairer
from evoenv.admission.result import StageResult
from evoenv.extract import extract_code
from evoenv.hashing import code_sha256
from evoenv.policy.base import Policy, Sampling
from evoenv.prompts import chat_prompt
from evoenv.registry import EnvRecord

#: What is stored of a completion: a runaway generation is cut (and says so), not dropped.
MAX_STORED_COMPLETION = 2_000_000


def capped(text: str) -> str:
    if len(text) <= MAX_STORED_COMPLETION:
        return text
    return text[:MAX_STORED_COMPLETION] + f"\n[... cut: {len(text) - MAX_STORED_COMPLETION:,} more characters]"


def prompt_text(prompt: Sequence[dict] | str) -> str:
    """A chat prompt as the text stored with a proposal."""
    if isinstance(prompt, str):
        return prompt
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in prompt)



@dataclass(frozen=True)
class Parent:
    """A parent environment as the generator prompt shows it and the lineage records it."""

    key: str  # tells two parents apart (the registry id as text, or a source's name)
    env_id: int | None  # the registry row the lineage points at (None: not stored)
    name: str
    description: str
    code: str
    generation: int = 0

    @classmethod
    def of_record(cls, record: EnvRecord) -> Parent:
        return cls(str(record.id), record.id, record.name, record.description, record.code, record.generation)


class ProposalPrompt(list):
    """A generator chat prompt (the list of messages policies take) that also carries the lineage
    (registry id, "mutation"/"crossover") and generation its proposal will be stored with. Being a
    list, it goes through the trainer's rollout and its rank-to-rank gathering like any prompt."""

    def __init__(self, messages: list[dict], parents: list[tuple[int, str]], generation: int):
        super().__init__(messages)
        self.parents = parents
        self.generation = generation


def plan_proposal(parents: Sequence[Parent], rng: random.Random, crossover_rate: float) -> ProposalPrompt:
    """Every parent is shown; a crossover (of two distinct parents, at ``crossover_rate``) records both
    as parents, a mutation records parent 1."""
    crossover = len(parents) >= 2 and parents[0].key != parents[1].key and rng.random() < crossover_rate
    relation = "crossover" if crossover else "mutation"
    prompt = chat_prompt("generator", operation=relation, parents=[
        {"name": p.name, "description": p.description, "code": p.code} for p in parents])
    chosen = parents[:2] if crossover else parents[:1]
    lineage = [(p.env_id, relation) for p in chosen if p.env_id is not None]
    return ProposalPrompt(prompt, lineage, 1 + max((p.generation for p in parents), default=0))


def chat_repairer(policy: Policy, sampling: Sampling, prompt: list[dict], revisions: dict[str, dict],
                  on_unusable: Callable[[StageResult, str, str, int], None]) -> Repairer:
    """Asks the policy again in the same chat: its code, then the failing stage's reason. Each usable
    revision's proposal text goes into ``revisions`` (by code hash); ``on_unusable(failure, why,
    completion, completion_tokens)`` hears of a reply with no code."""
    def repair(candidate: Candidate, failure: StageResult) -> str | None:
        asked = prompt + [{"role": "assistant", "content": f"```python\n{candidate.code}```"}] + \
            chat_prompt("repair", stage=failure.stage, reason=failure.reason)
        (completion,) = policy.generate([asked], sampling)
        extraction = extract_code(completion.raw, finish_reason=completion.finish_reason)
        text = capped(completion.raw)
        if extraction.code is not None:
            revisions[code_sha256(extraction.code)] = {
                "prompt": prompt_text(asked), "completion": text, "prompt_tokens": completion.prompt_tokens,
                "completion_tokens": completion.completion_tokens}
        else:
            on_unusable(failure, extraction.reason, text, completion.completion_tokens)
        return extraction.code

    return repair
