"""Role prompt templates (Jinja2, shipped as package data).

``generator.md``, ``repair.md`` (the follow-up when a proposal is rejected) and
``solver.md`` belong to the grow loop; ``reviewer.md`` to
the admission pipeline. ``render_prompt(role, **context)`` fills one in; an
unknown variable is an error rather than a silently empty hole.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import jinja2

ROLES = ("generator", "repair", "reviewer", "solver")


class _PackageLoader(jinja2.BaseLoader):
    """Reads ``evoenv/prompts/*.md`` from the installed package or a checkout."""

    def get_source(self, environment, template):
        try:
            source = resources.files(__name__).joinpath(template).read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError):
            raise jinja2.TemplateNotFound(template) from None
        return source, None, lambda: False


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=_PackageLoader(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # prompts are plain text for a model, not HTML
    )


def template_source(role: str) -> str:
    """The raw template text of a role."""
    return _PackageLoader().get_source(_environment(), f"{role}.md")[0]


def render_prompt(role: str, **context) -> str:
    """The prompt text for ``role`` ("generator", "reviewer", "solver")."""
    if role not in ROLES:
        raise ValueError(f"unknown prompt role {role!r}; roles are {', '.join(ROLES)}")
    return _environment().get_template(f"{role}.md").render(**context).strip() + "\n"


def chat_prompt(role: str, **context) -> list[dict]:
    """The same prompt as a one-message chat, the form policies take."""
    return [{"role": "user", "content": render_prompt(role, **context)}]


def solver_prompt(instance_prompt: str) -> list[dict]:
    return chat_prompt("solver", instance_prompt=instance_prompt)
