"""The clinical world: patients, dosing, decisions and policies, scores, evidence, trials.

- ``patient`` (the canonical history) and ``timeline`` (the history as core inputs: the one boundary)
- ``dosing/`` label, vials, cost, calendar, regimen language
- ``decisions/`` the clinical rules; ``policies/`` the seed's strategies; ``recommend`` (model-informed)
- ``estimation`` (a patient's own PK; ``EstimateSummary``, the typed value a recommendation
  keeps), ``batch`` (MAP over an NM-TRAN data set), ``simulation`` (a regimen's profile), ``modelfiles`` (the
  model library in ``data/models/``, user model files, ``IFXDOSE_MODELS_DIR``)
- ``scores/``, ``evidence/``, ``trials/``, ``clinic`` (worklist and schedule), ``nonmem_import``
"""
