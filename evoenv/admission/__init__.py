"""Admission: the four contracts a candidate environment passes before it becomes a reward source.

One module per stage, each ``check_*(candidate, ctx) -> StageResult``:
L1 ``l1_parse``, L2 ``l2_execute``, L3 ``l3_determinism``, L4 ``l4_nontrivial``,
L5 ``l5_scorer``, ``review``, ``calibration``, ``novelty``. ``pipeline`` runs them
in order and computes the generator reward (``reward``); ``persist`` records an
outcome through the Registry API; ``repair`` is the optional repair loop. Pool
rotation and the seed floor are the registry's (``advance_pool_epoch``,
``sample_pool``). Every number is a field of ``AdmissionConfig``.
See docs/admission.md.
"""

from evoenv.admission.candidate import AdmissionContext, Candidate
from evoenv.admission.config import AdmissionConfig
from evoenv.admission.pipeline import AdmissionOutcome, admit_candidate, run_stages
from evoenv.admission.result import STAGES, StageResult

__all__ = ["STAGES", "AdmissionConfig", "AdmissionContext", "AdmissionOutcome", "Candidate", "StageResult",
           "admit_candidate", "run_stages"]
