"""The prompt templates of CoTEvol, kept as Markdown files in ``prompts/``.

Placeholders are ``{{name}}``; substituted values are inserted verbatim, so a
trajectory full of braces or ``{{`` cannot break a template.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")

TEMPLATES = (
    "solve", "critic_elite_merging", "critic_success_error_fusion", "critic_failure_pattern_summary",
    "author", "mutate", "self_refine_feedback", "self_refine_refine",
)


@cache
def template(name: str) -> str:
    if name not in TEMPLATES:
        raise KeyError(f"unknown CoTEvol prompt {name!r}; templates are: {', '.join(TEMPLATES)}")
    return resources.files("evoenv.cotevol").joinpath("prompts", f"{name}.md").read_text(encoding="utf-8")


def render(name: str, **values: object) -> str:
    text = template(name)
    missing = sorted(set(_PLACEHOLDER.findall(text)) - values.keys())
    if missing:
        raise KeyError(f"prompt {name!r} needs values for: {', '.join(missing)}")
    # one pass over the template, so placeholders inside substituted values stay as written
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)
