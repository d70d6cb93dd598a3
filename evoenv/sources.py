"""Where environment source text comes from: a seed name or a file path.

Environment code is only ever read here as text; it runs in the sandbox.
(The registry adds lookups by id or name in ``evoenv.registry``.)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from evoenv.paths import seeds_dir

#: The ten seeds, in the order the docs list them.
SEED_NAMES = (
    "count_inversions", "longest_increasing_subsequence", "knapsack", "edit_distance",
    "shortest_path", "dag_path_count", "congruences", "subset_sum", "graph_coloring", "sat",
)

#: Source files larger than this are refused before anything reads them further.
MAX_SOURCE_BYTES = 200_000


class SourceError(ValueError):
    """The named environment could not be found or read."""


@dataclass(frozen=True)
class EnvSource:
    name: str  # seed name, or the file's stem
    code: str
    origin: str  # "seed", "file" or "registry"
    path: Path | None = None


def seed_path(name: str) -> Path:
    return seeds_dir() / f"{name}.py"


def list_seeds() -> list[EnvSource]:
    return [load_seed(name) for name in SEED_NAMES]


def load_seed(name: str) -> EnvSource:
    if name not in SEED_NAMES:
        raise SourceError(f"unknown seed {name!r}; seeds are: {', '.join(SEED_NAMES)}")
    path = seed_path(name)
    return EnvSource(name, path.read_text(encoding="utf-8"), "seed", path)


def load_file(path: Path) -> EnvSource:
    if path.is_dir():
        raise SourceError(f"{path}: is a directory, not an environment .py file")
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        raise SourceError(f"{path}: {size} bytes is larger than the {MAX_SOURCE_BYTES}-byte source limit")
    try:
        code = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return EnvSource(path.stem, code, "file", path)


def resolve(ref: str) -> EnvSource:
    """A seed name, or a path to a ``.py`` file."""
    if ref in SEED_NAMES:
        return load_seed(ref)
    path = Path(ref)
    if path.suffix == ".py" or path.exists():
        return load_file(path)
    close = difflib.get_close_matches(ref.replace("-", "_"), SEED_NAMES, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise SourceError(
        f"unknown environment {ref!r}: not a seed ({', '.join(SEED_NAMES)}) and not a file{hint}")
