"""Novelty: reject a candidate too close to an admitted environment.

Two tests, both against the admitted pool:

- a behavioural fingerprint (sha256 of the prompts and references on the
  canonical seeds and difficulties) catches a renamed or reformatted copy
  exactly, whatever its code looks like;
- MiniLM embeddings of the rendered prompt and the code, mixed with lambda
  (see ``embedding``), pick the nearest admitted environments; behaviour
  then decides (see ``behaviour``): a neighbour whose answers agree with the
  candidate's, or whose code has the same structure, is a copy whatever the
  wording; a neighbour that only reads alike (similarity >= threshold) rejects
  unless the behaviour shows a different task (one program answers the
  other's instances differently, or the answers are of another type).

The admitted pool is a ``novelty_index.NoveltyIndex`` (re-exported here for its
many callers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evoenv.admission.behaviour import compare, structure_similarity
from evoenv.admission.candidate import AdmissionContext, Candidate, failed, not_run, passed, timed
from evoenv.admission.config import AdmissionConfig
from evoenv.admission.embedding import embed_environments
from evoenv.admission.novelty_index import Neighbour, NoveltyIndex, canonical_prompt, fingerprint
from evoenv.sandbox import EnvCallError, SandboxedEnv, SandboxError

__all__ = ["NoveltyIndex", "check_novelty", "embed_candidate"]


def embed_candidate(candidate: Candidate, config: AdmissionConfig) -> np.ndarray:
    observed = candidate.observed
    if observed.embedding is None:
        if observed.info is None:
            raise ValueError("embed_candidate needs L2's description of the candidate (observed.info)")
        prompt = canonical_prompt(observed.canonical or observed.renders, observed.info.max_difficulty, config)
        observed.embedding = embed_environments([(prompt, candidate.code)], config.novelty_lambda,
                                                config.embed_threads)[0]
    return observed.embedding


@timed("novelty")
def check_novelty(candidate: Candidate, ctx: AdmissionContext):
    """Not a copy of an admitted environment (fingerprint, answers, code structure), and not one that reads
    alike (MiniLM) unless its behaviour shows a different task."""
    config = ctx.config
    observed = candidate.observed
    if not observed.renders or observed.info is None:
        return failed("no renders from L2 to compare (run L2 first)")
    if not observed.canonical:
        # the checks above judged instances at seeds no job can predict; copies are matched on fixed seeds
        try:
            observed.canonical = SandboxedEnv(candidate.code, ctx.sandbox, ctx.limits).render_many(
                config.canonical_pairs(observed.info.max_difficulty))
        except (SandboxError, EnvCallError) as exc:
            return failed(f"rendering the canonical seeds for the fingerprint failed: {exc}")
    fp = fingerprint(observed.canonical, observed.info.max_difficulty, config)
    observed.fingerprint = fp
    if ctx.novelty is None:
        return not_run("novelty", "no index of admitted environments")
    index = ctx.novelty
    itself = index.key_of_hash(candidate.code_sha256)
    hit = index.find_fingerprint(fp)
    if hit is not None and hit[0] != itself:
        key, name = hit
        return failed(f"behaviourally identical to admitted environment {name!r} ({key}): the same prompts and "
                      "references on the canonical seeds, so it is a renamed or reformatted copy",
                      fingerprint=fp, duplicate_of={"id": key, "name": name}, model=index.model)
    vector = embed_candidate(candidate, config)
    neighbours = index.nearest(vector, config.novelty_neighbours, exclude=itself)
    shown = [n.as_dict() for n in neighbours]
    top = neighbours[0] if neighbours else None
    similarity = top.similarity if top else 0.0
    # Behaviour decides: the closest few neighbours are compared by what they compute and how the code is
    # built; wording (the embedding) rejects on its own only when behaviour cannot tell the two apart.
    readalike: list[tuple[Neighbour, dict[str, Any] | None]] = []
    evidence: dict[str, Any] | None
    compared = [(n, e) for rank, (n, e) in enumerate(zip(shown, neighbours))
                if rank < config.novelty_behaviour_neighbours or e.similarity >= config.novelty_threshold]
    for neighbour, entry in compared:
        known = index.behaviour(entry.key, ctx.sandbox, config)
        if known is None:
            if entry.similarity >= config.novelty_threshold:
                readalike.append((entry, None))
            continue
        if entry.similarity < config.novelty_behaviour_gate:  # far apart: only the (cheap) structure check
            neighbour["behaviour"] = {"structure": round(structure_similarity(candidate.code, known[0]), 3)}
            if neighbour["behaviour"]["structure"] < config.novelty_structure_threshold:
                continue
            evidence = {"same": 0.0, **neighbour["behaviour"]}
        else:
            evidence = compare(candidate.code, observed.canonical, known[0], known[1], ctx.sandbox, ctx.limits)
            neighbour["behaviour"] = evidence
        copy = []
        if evidence["same"] >= config.novelty_behaviour_share:
            copy.append(f"the same answers on {evidence['same']:.0%} of the compared instances (same seeds "
                        f"{evidence['same_seed']:.0%}; the candidate's reference on its instances: "
                        f"{evidence['candidate_on_its_instances']}; its reference on the candidate's: "
                        f"{evidence['it_on_candidate_instances']})")
        if evidence["structure"] >= config.novelty_structure_threshold:
            copy.append(f"the same code structure ({evidence['structure']:.2f} >= "
                        f"{config.novelty_structure_threshold:.2f}, names and constants aside)")
        if copy:
            result = failed(f"too similar to admitted environment {entry.name!r} ({entry.key}): "
                            f"{' and '.join(copy)}; a renamed or reworded copy computes a new quantity only in "
                            f"name (embedding similarity {entry.similarity:.3f})",
                            neighbours=shown, fingerprint=fp, model=index.model)
            result.score = 1.0 - similarity
            return result
        if entry.similarity >= config.novelty_threshold:
            readalike.append((entry, evidence))
    blocking = [(e, ev) for e, ev in readalike if ev is None or not ev["differs"]]
    if blocking:
        entry, evidence = blocking[0]
        why = ("its code is not available to compare behaviour" if evidence is None else
               "and behaviour does not show a different task (neither program answers the other's instances "
               "differently, and the answers are of the same type)")
        result = failed(f"too similar to admitted environment {entry.name!r} ({entry.key}): similarity "
                        f"{entry.similarity:.3f} >= {config.novelty_threshold:.2f} (prompt "
                        f"{entry.prompt_similarity:.3f}, code {entry.code_similarity:.3f}, lambda "
                        f"{config.novelty_lambda:g}), {why}", neighbours=shown, fingerprint=fp, model=index.model)
        result.score = 1.0 - similarity
        return result
    if readalike:
        entry, evidence = readalike[0]
        assert evidence is not None  # an entry without behaviour evidence is blocking, handled above
        reason = (f"reads like admitted environment {entry.name!r} (similarity {entry.similarity:.3f} >= "
                  f"{config.novelty_threshold:.2f}) but computes something else: the candidate's reference on "
                  f"its instances: {evidence['candidate_on_its_instances']}; its reference on the candidate's: "
                  f"{evidence['it_on_candidate_instances']}; code structure {evidence['structure']:.2f}")
    elif top:
        reason = f"nearest admitted environment is {top.name!r} at similarity {similarity:.3f} (< {config.novelty_threshold:.2f})"
    else:
        reason = "no admitted environments to compare with"
    result = passed(reason, neighbours=shown, fingerprint=fp, model=index.model, compared=len(index))
    result.score = 1.0 - similarity
    return result
