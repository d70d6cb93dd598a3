"""Candidates: storing a proposed program (with its tags, lineage and proposal) once per code
hash, and finding one environment by id, name, code hash or behavioural fingerprint."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import case, insert, select
from sqlalchemy.exc import IntegrityError

from evoenv.hashing import code_sha256
from evoenv.registry.core import EVER_ADMITTED, RegistryCore, UnknownEnvironment, check, finite
from evoenv.registry.database import RegistryError
from evoenv.registry.models import ORIGINS, RELATIONS, Environment, EnvironmentTag, Lineage, Proposal, utcnow
from evoenv.registry.records import EnvRecord


def proposal_row(proposal: Mapping[str, Any], run_id: int | None) -> Proposal:
    """A checked Proposal row (not yet tied to an environment)."""
    check(isinstance(proposal, Mapping), "proposal must be a mapping with prompt and completion")
    missing = {"prompt", "completion"} - set(proposal)
    check(not missing, f"proposal lacks {', '.join(sorted(missing))}")
    counts: dict[str, int] = {}
    for key in ("prompt_tokens", "completion_tokens"):
        value = proposal.get(key) or 0
        check(isinstance(value, int) and value >= 0, f"proposal {key} must be an int >= 0, got {value!r}")
        counts[key] = value
    return Proposal(
        run_id=proposal.get("run_id", run_id), prompt=str(proposal["prompt"]),
        completion=str(proposal["completion"]), **counts,
        cost=finite(proposal.get("cost") or 0.0, "proposal cost"), created_at=utcnow())


class Candidates(RegistryCore):
    def add_candidate(
        self, code: str, *, name: str, description: str, max_difficulty: int, origin: str = "generated",
        generation: int = 0, parents: Sequence[tuple[int, str]] = (), run_id: int | None = None,
        proposal: Mapping[str, Any] | None = None, tags: Iterable[str] = (),
    ) -> EnvRecord:
        """Store a new candidate, or return the environment that already has this code.

        The row, its tags, its lineage and its proposal are one transaction. When the
        same code arrives twice, even at the same moment from two processes, there is
        one environment; a second proposal is still recorded against it.
        """
        check(isinstance(code, str) and code.strip() != "", "code must be non-empty source text")
        check(isinstance(name, str) and 0 < len(name.strip()) <= 200, f"name must be 1..200 characters, got {name!r}")
        check(isinstance(description, str), "description must be text")
        check(isinstance(max_difficulty, int) and max_difficulty >= 1,
              f"max_difficulty must be an int >= 1, got {max_difficulty!r}")
        check(origin in ORIGINS, f"origin must be one of {', '.join(ORIGINS)}, got {origin!r}")
        check(isinstance(generation, int) and generation >= 0, f"generation must be an int >= 0, got {generation!r}")
        links = [tuple(p) for p in parents]
        for link in links:
            check(len(link) == 2 and link[1] in RELATIONS,
                  f"each parent is (parent_id, relation) with relation one of {', '.join(RELATIONS)}; got {link!r}")
        labels = sorted({str(t).strip() for t in tags if str(t).strip()})
        for tag in labels:
            check(len(tag) <= 64, f"tag {tag[:20]!r}... is longer than 64 characters")
        new_proposal = proposal_row(proposal, run_id) if proposal is not None else None
        sha = code_sha256(code)

        try:
            with self._tx("add_candidate") as s:
                existing = s.scalars(select(Environment).where(Environment.code_sha256 == sha)).one_or_none()
                if existing is not None:
                    if new_proposal is not None:
                        new_proposal.env_id = existing.id
                        s.add(new_proposal)
                    return EnvRecord.from_row(existing)
                self._run_exists(s, run_id)
                if links:
                    wanted = {pid for pid, _ in links}
                    found = set(s.scalars(select(Environment.id).where(Environment.id.in_(wanted))))
                    if wanted - found:
                        missing = ", ".join(map(str, sorted(wanted - found, key=str)))
                        raise UnknownEnvironment(f"parent environment {missing} does not exist in {self.url}")
                env = Environment(
                    name=name.strip(), description=description, code=code, code_sha256=sha,
                    max_difficulty=max_difficulty, status="candidate", status_reason="", origin=origin,
                    generation=generation, run_id=run_id, created_at=utcnow(),
                    tags=[EnvironmentTag(tag=t) for t in labels])
                s.add(env)
                s.flush()
                if links:
                    s.execute(insert(Lineage), [{"child_id": env.id, "parent_id": pid, "relation": rel}
                                                for pid, rel in sorted(set(links))])
                if new_proposal is not None:
                    new_proposal.env_id = env.id
                    s.add(new_proposal)
                s.flush()
                return EnvRecord.from_row(env)
        except IntegrityError as exc:
            # Another writer stored the same code between our look-up and our insert.
            record = self.by_hash(sha)
            if record is None:
                raise RegistryError(f"could not store candidate {name!r}: {exc.orig}") from None
            if proposal is not None:
                self.record_proposal(record.id, **{**dict(proposal), "run_id": run_id})
            return record

    def record_proposal(self, env_id: int, *, run_id: int | None, prompt: str, completion: str,
                        prompt_tokens: int = 0, completion_tokens: int = 0, cost: float = 0.0) -> int:
        row = proposal_row({"prompt": prompt, "completion": completion, "prompt_tokens": prompt_tokens,
                            "completion_tokens": completion_tokens, "cost": cost}, run_id)
        with self._tx("record_proposal") as s:
            self._env(s, env_id)
            self._run_exists(s, run_id)
            row.env_id = env_id
            s.add(row)
            s.flush()
            return row.id

    def proposals(self, env_id: int) -> list[dict[str, Any]]:
        with self._tx() as s:
            self._env(s, env_id)
            rows = s.scalars(select(Proposal).where(Proposal.env_id == env_id).order_by(Proposal.id))
            return [{"id": p.id, "run_id": p.run_id, "prompt": p.prompt, "completion": p.completion,
                     "prompt_tokens": p.prompt_tokens, "completion_tokens": p.completion_tokens,
                     "cost": p.cost} for p in rows]

    def get(self, id_or_name: int | str) -> EnvRecord:
        """By id, or by name (several with one name: the newest admitted, else the newest)."""
        with self._tx() as s:
            if isinstance(id_or_name, int) or (isinstance(id_or_name, str) and id_or_name.strip().isdigit()):
                return EnvRecord.from_row(self._env(s, int(id_or_name)))
            admitted_first = case((Environment.status == "admitted", 0), else_=1)
            env = s.scalars(select(Environment).where(Environment.name == str(id_or_name))
                            .order_by(admitted_first, Environment.id.desc()).limit(1)).one_or_none()
            if env is None:
                raise UnknownEnvironment(f"no environment with id or name {id_or_name!r} in {self.url}")
            return EnvRecord.from_row(env)

    def by_hash(self, sha: str) -> EnvRecord | None:
        with self._tx() as s:
            env = s.scalars(select(Environment).where(Environment.code_sha256 == sha)).one_or_none()
            return EnvRecord.from_row(env) if env is not None else None

    def find_fingerprint(self, fingerprint: str) -> EnvRecord | None:
        """The first environment that passed admission with this behavioural fingerprint."""
        with self._tx() as s:
            env = s.scalars(select(Environment).where(Environment.fingerprint == fingerprint,
                                                      Environment.status.in_(EVER_ADMITTED))
                            .order_by(Environment.id).limit(1)).one_or_none()
            return EnvRecord.from_row(env) if env is not None else None
