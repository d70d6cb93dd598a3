"""Rescoring (verl, TRL, gym-style) of an environment that forges its scores past the guest's own
checks: the host refuses the values, so the rows score 0, never 1e308 (nor 1.0 after a clamp)."""

from __future__ import annotations

from evoenv.integrations import trl as trl_integration
from evoenv.integrations.catalog import Catalog
from evoenv.integrations.export import build_rows
from evoenv.integrations.gym import score_answer
from evoenv.integrations.verl import compute_score
from tests.adversarial.hostile_programs import FORGE_CALL
from tests.integrations.test_export import NEW_ENV, _wrap

FORGED_ENV = NEW_ENV + "\nOP = 'score'\nFORGED = 1e308\n" + FORGE_CALL


def test_forged_scores_rescore_to_zero_everywhere(tmp_path, sandbox, scorer_for):
    from evoenv.registry import open_registry

    url = f"sqlite:///{tmp_path / 'reg.db'}"
    registry = open_registry(url, upgrade_schema=True)
    record = registry.add_candidate(FORGED_ENV, name="digit_sum", description="Sum the digits.", max_difficulty=6)
    registry.admit(record.id)  # as if it had slipped through admission
    catalog = Catalog(url)
    scorer_for(catalog)
    rows = build_rows(envs="digit_sum", per_env=2, difficulty="2-3", catalog=catalog, sandbox=sandbox)
    assert rows
    for row in rows:
        assert compute_score("evoenv/digit_sum", _wrap(row["answer"]), row["answer"], row["metadata"]) == 0.0
        assert compute_score("evoenv/digit_sum", _wrap("wrong"), row["answer"], row["metadata"]) == 0.0
        assert score_answer(row["answer"], {"metadata": row["metadata"]}) == 0.0
    completions = [_wrap(r["answer"]) for r in rows]
    assert trl_integration.reward_func(completions, metadata=[r["metadata"] for r in rows]) == [0.0] * len(rows)
