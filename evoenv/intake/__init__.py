"""The one path from a policy's completion into the registry.

    plan      a generator prompt from parent environments (mutation of parent 1, or crossover of both),
              with the lineage and generation the proposal will have
    store     extract the code (``evoenv.extract``) and add it as a candidate with its proposal text and
              lineage; the same code already stored, or claimed by another proposal of this run, is a
              duplicate and is not judged again
    decide    admission with up to ``repairs`` revisions (``evoenv.admission.repair``), then ONE admit or
              reject through ``evoenv.admission.persist`` (vectors stored under ``model_key(novelty_lambda)``)
              with the commit gate (``gate``); an admitted environment joins the novelty index

``prompts`` (plan, and the repair follow-up), ``store`` (``Intake``: store and decide), ``gate``.

The grow loop (``evoenv.grow``), the trainer's generator role (``evoenv.train.generator_admission``)
and seeding (``evoenv.seeding``) all go through ``Intake``.
"""

from evoenv.intake.gate import CandidateGate, CommitGate
from evoenv.intake.prompts import Parent, ProposalPrompt, capped, chat_repairer, plan_proposal, prompt_text
from evoenv.intake.store import Decision, Intake, Stored, admission_config, stage_dicts

__all__ = ["CandidateGate", "CommitGate", "Decision", "Intake", "Parent", "ProposalPrompt", "Stored",
           "admission_config", "capped", "chat_repairer", "plan_proposal", "prompt_text", "stage_dicts"]
