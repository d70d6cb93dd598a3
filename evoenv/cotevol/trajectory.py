"""A reasoning trajectory (one individual of a population) and the problem it answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from evoenv.answers import extract_answer, has_answer_block
from evoenv.policy.base import Completion
from evoenv.sandbox import Rendered


@dataclass(frozen=True)
class Problem:
    """One environment instance to synthesise a chain of thought for."""

    env_name: str
    code: str
    code_sha256: str
    rendered: Rendered
    env_id: int | None = None  # registry id; None when the source came from a seed file

    @property
    def key(self) -> str:
        return f"{self.env_name}@{self.code_sha256[:8]}/d{self.rendered.difficulty}/s{self.rendered.seed}"


@dataclass
class Trajectory:
    text: str
    #: Operators that made it, oldest first, e.g. ("init", "crossover:elite_merging", "mutation:step3").
    lineage: tuple[str, ...] = ()
    completion_tokens: int = 0
    prompt_tokens: int = 0
    finish_reason: str = "stop"
    #: Per generated token (text, entropy in nats), when the backend gave logprobs.
    tokens: list[str] | None = None
    token_entropies: list[float] | None = None
    token_logprobs: list[float] | None = None
    # Filled in by scoring and fitness.
    answer: str = ""
    has_answer: bool = False
    score: float = 0.0
    correct: bool = False
    fitness: float = 0.0
    fitness_parts: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):  # a backend that returned None or bytes
            self.text = "" if self.text is None else str(self.text)
        self.answer = extract_answer(self.text)
        self.has_answer = has_answer_block(self.text)

    @property
    def length(self) -> int:
        """Length in generated tokens; whitespace words when the backend reported no count."""
        return self.completion_tokens if self.completion_tokens > 0 else len(self.text.split())

    @property
    def valid(self) -> bool:
        """Worth a place in the initial population: some text, and not a backend error."""
        return bool(self.text.strip()) and self.finish_reason != "error"

    @classmethod
    def from_completion(cls, completion: Completion, lineage: tuple[str, ...],
                        prefix: Trajectory | None = None, prefix_chars: int = 0) -> Trajectory:
        """A trajectory from a completion; with ``prefix``, the first ``prefix_chars`` of it are
        kept in front (mutation) along with the per-token data of the tokens inside them."""
        text = completion.text if isinstance(completion.text, str) else ""
        tokens, entropies, logprobs = completion.tokens, completion.token_entropies, completion.token_logprobs
        completion_tokens = completion.completion_tokens
        if prefix is not None:
            head = prefix.text[:prefix_chars]
            n_head = _tokens_within(prefix.tokens, prefix_chars, len(prefix.text))
            tokens = _join(prefix.tokens, tokens, n_head)
            entropies = _join(prefix.token_entropies, entropies, n_head)
            logprobs = _join(prefix.token_logprobs, logprobs, n_head)
            text = head + text
            completion_tokens += round(prefix.length * prefix_chars / max(1, len(prefix.text)))
        return cls(text=text, lineage=lineage, completion_tokens=completion_tokens,
                   prompt_tokens=completion.prompt_tokens, finish_reason=completion.finish_reason,
                   tokens=tokens, token_entropies=entropies, token_logprobs=logprobs)


def _tokens_within(tokens: list[str] | None, chars: int, total_chars: int) -> int:
    """How many leading tokens lie inside the first ``chars`` characters."""
    if not tokens:
        return 0
    scale = total_chars / max(1, sum(len(t) for t in tokens))
    used, count = 0, 0
    for token in tokens:
        if (used + len(token)) * scale > chars:
            break
        used += len(token)
        count += 1
    return count


def _join(head: list | None, tail: list | None, n_head: int) -> list | None:
    if head is None or tail is None:
        return None
    return list(head[:n_head]) + list(tail)
