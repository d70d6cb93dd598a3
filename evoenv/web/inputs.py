"""What the browser accepts from a user, and the messages it gives for everything else.

Every query parameter and path segment is checked here before it reaches the
registry or the sandbox, so bad input becomes a 4xx that names the parameter.
"""

from __future__ import annotations

import re

from fastapi import HTTPException

# The registry's and the pipeline's own names (stages in the order a candidate meets them),
# re-exported for the app, views and templates.
from evoenv.registry import ORIGINS, STATUSES  # noqa: F401
from evoenv.stages import STAGES  # noqa: F401

#: Sort keys the list page offers (when the registry supports them), with their labels.
SORT_LABELS = {"created": "newest", "pass_rate": "pass rate", "novelty": "novelty", "reward": "reward",
               "generation": "generation", "difficulty": "max difficulty", "name": "name", "id": "id"}


def available_sorts(registry_sorts) -> tuple[str, ...]:
    """The registry's sort keys, in the order the page lists them."""
    known = [k for k in SORT_LABELS if k in registry_sorts]
    return tuple(known + sorted(set(registry_sorts) - set(known)))


PAGE_SIZE = 50
REJECTED_PAGE_SIZE = 20  # rejected rows carry a reason and details: fewer per page
MAX_PAGE_SIZE = 200
MAX_PAGE = 10_000
MAX_SEARCH = 200
from evoenv.sdk import MAX_SEED  # noqa: E402,F401  (one range for every place that takes a seed)

MAX_ID = 2**63 - 1

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")
_TAG = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


class BadInput(HTTPException):
    """A 4xx whose detail names the offending parameter."""

    def __init__(self, message: str, status_code: int = 400):
        super().__init__(status_code=status_code, detail=message)


def env_ref(raw: str) -> int | str:
    """An environment id (digits) or name, as it appears in a URL."""
    if raw.isdigit():
        value = int(raw)
        if not 1 <= value <= MAX_ID:
            raise BadInput(f"environment id {raw[:30]!r} is out of range", 404)
        return value
    if not _NAME.match(raw):
        raise BadInput(f"{raw[:60]!r} is not an environment id or name "
                       "(ids are positive integers; names are letters, digits and _ . -)")
    return raw


def choice(name: str, value: str | None, allowed) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise BadInput(f"{name}={value[:40]!r} is not one of: {', '.join(allowed)}")
    return value


def tag(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    if not _TAG.match(value):
        raise BadInput(f"tag={value[:40]!r}: tags are 1-64 letters, digits and _ . : -")
    return value


def search(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_SEARCH:
        raise BadInput(f"search text is {len(value)} characters; the limit is {MAX_SEARCH}")
    if any(ord(c) < 32 and c not in "\t" for c in value):
        raise BadInput("search text contains control characters")
    return value or None


def difficulty(value: int, max_difficulty: int) -> int:
    if not 1 <= value <= max_difficulty:
        raise BadInput(f"difficulty={value} is out of range for this environment: use 1..{max_difficulty}", 422)
    return value
