"""Dataset rows ``{question, answer, metadata}`` and the metadata they carry."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from evoenv.sandbox import Rendered


@dataclass(frozen=True)
class RowMeta:
    """Enough to rescore a row later: the code hash finds the code, (seed, difficulty) the instance."""

    env_id: int | None
    env_name: str
    code_sha256: str
    seed: int
    difficulty: int

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def parse(cls, metadata) -> RowMeta:
        """From a dict or its JSON string (schemas that cannot hold nested dicts store a string)."""
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except json.JSONDecodeError as exc:
                raise ValueError(f"row metadata is not valid JSON: {exc}") from None
        if not isinstance(metadata, dict):
            raise ValueError(f"row metadata must be a dict or JSON string, got {type(metadata).__name__}")
        missing = [k for k in ("code_sha256", "seed", "difficulty") if metadata.get(k) is None]
        if missing:
            raise ValueError(f"row metadata lacks {', '.join(missing)}; cannot rescore")
        env_id = metadata.get("env_id")
        return cls(
            env_id=int(env_id) if env_id is not None else None,
            env_name=str(metadata.get("env_name", "")),
            code_sha256=str(metadata["code_sha256"]),
            seed=int(metadata["seed"]),
            difficulty=int(metadata["difficulty"]),
        )


def make_row(meta: RowMeta, rendered: Rendered) -> dict:
    return {"question": rendered.prompt, "answer": rendered.reference, "metadata": meta.as_dict()}
