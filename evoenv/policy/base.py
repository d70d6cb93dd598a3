"""The policy interface: one model, two roles (generator and solver).

Every backend (``openai:``, ``vllm:``, ``hf:``, and the ``replay:`` test double)
implements ``Policy.generate``: one completion per prompt, batched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

#: A prompt is plain text or a chat: [{"role": "system"|"user"|"assistant", "content": str}, ...]
Prompt = str | list[dict]


@dataclass(frozen=True)
class Sampling:
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 1024
    stop: tuple[str, ...] = ()
    seed: int | None = None
    #: Ask for per-token logprobs (and top-k alternatives, for entropy). Backends that
    #: cannot give them leave the fields None.
    logprobs: bool = False
    top_logprobs: int = 5


@dataclass
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"  # "stop" | "length" | "error"
    #: Per generated token: the token's text, its logprob, and an entropy estimate
    #: from the top-k alternatives. None where the backend gives no logprobs.
    tokens: list[str] | None = None
    token_logprobs: list[float] | None = None
    token_entropies: list[float] | None = None
    seconds: float = 0.0
    meta: dict = field(default_factory=dict)
    #: The model's full output when it differs from ``text``: reasoning models'
    #: ``<think>...</think>`` blocks are kept here and stripped from ``text``,
    #: which is what the platform parses (code, verdicts, ``<answer>`` tags).
    raw_text: str | None = None

    @property
    def raw(self) -> str:
        """The full output, thinking included."""
        return self.text if self.raw_text is None else self.raw_text

    @classmethod
    def from_output(cls, raw: str, **fields) -> Completion:
        """A completion whose ``text`` is ``raw`` without its thinking blocks."""
        from evoenv.policy.thinking import strip_thinking

        visible = strip_thinking(raw)
        return cls(text=visible, raw_text=None if visible == raw else raw, **fields)


class Policy(Protocol):
    #: A stable id of the model/checkpoint, used as the calibration key in the registry.
    name: str

    def generate(self, prompts: list[Prompt], sampling: Sampling) -> list[Completion]: ...

    def close(self) -> None: ...

    # Backends may also define ``check() -> None``: raise PolicyError naming what to
    # fix when the model cannot be reached or loaded (``load_policy`` calls it).


class PolicyError(RuntimeError):
    """The policy is unreachable or misconfigured; the message says what to fix."""
