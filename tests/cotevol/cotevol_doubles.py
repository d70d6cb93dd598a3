"""Test doubles and tiny environments for the CoTEvol tests.

``ScriptedPolicy`` is a TEST DOUBLE of ``evoenv.policy.Policy``: it answers each
prompt with whatever the test's ``respond`` function returns, and records every
call, so a test can check which prompt an operator built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evoenv.cotevol.trajectory import Problem
from evoenv.hashing import code_sha256
from evoenv.policy.base import Completion, Sampling
from evoenv.sandbox import SandboxedEnv

ADD_ENV = '''
import random


class AddTwo:
    name = "add_two"
    description = "Add two integers. Answer inside <answer>...</answer>."
    max_difficulty = 3

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        hi = 10 ** difficulty
        return {"a": rng.randint(0, hi), "b": rng.randint(0, hi)}

    def prompt(self, instance):
        return f"What is {instance['a']} + {instance['b']}? Put the answer inside <answer>...</answer>."

    def reference(self, instance):
        return str(instance["a"] + instance["b"])

    def score(self, instance, answer):
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
'''


def prompt_text(prompt) -> str:
    return prompt if isinstance(prompt, str) else "\n".join(m["content"] for m in prompt)


@dataclass
class Call:
    prompt: str
    sampling: Sampling


@dataclass
class ScriptedPolicy:
    """TEST DOUBLE: ``respond(prompt_text, sampling)`` returns a Completion or a str."""

    respond: object
    name: str = "scripted-test-double"
    calls: list[Call] = field(default_factory=list)
    replies: list[Completion] = field(default_factory=list)

    def generate(self, prompts, sampling):
        out = []
        for prompt in prompts:
            text = prompt_text(prompt)
            self.calls.append(Call(text, sampling))
            reply = self.respond(text, sampling)
            if not isinstance(reply, Completion):
                reply = Completion(text=reply, completion_tokens=len(str(reply).split()))
            self.replies.append(reply)
            out.append(reply)
        return out

    def close(self):
        pass


def add_problem(sandbox, seed: int = 0, difficulty: int = 1, code: str = ADD_ENV, name: str = "add_two") -> Problem:
    rendered = SandboxedEnv(code, sandbox).render(seed, difficulty)
    return Problem(name, code, code_sha256(code), rendered)


def sum_of(problem: Problem) -> int:
    return problem.rendered.instance["a"] + problem.rendered.instance["b"]

