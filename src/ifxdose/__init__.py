"""ifxdose: infliximab dosing for rheumatoid arthritis.

Layers (dependencies point down only; enforced by import-linter, see pyproject):

- ``ifxdose.core``     pure numerics: PK model parser and engines, estimation (numpy/scipy only, no I/O)
- ``ifxdose.domain``   the clinic's language: patient history and its timeline, dosing (label, vials,
  cost, calendar, regimen), decisions and policies, scores, evidence, trials, the model library
- ``ifxdose.app``      the use cases every adapter shares (record, recommend and store, import/export)
- ``ifxdose.adapters`` CLI, web (pages, JSON API, FHIR routes, CDS Hooks), store, FHIR mapping, plots

docs/architecture.md describes the floors and where to add a model, policy, score or adapter.

The names most users need are re-exported here lazily, so ``import ifxdose`` stays cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"

_EXPORTS = {
    "InputError": "ifxdose.core.errors",
    "load_model": "ifxdose.domain.modelfiles",
    "list_models": "ifxdose.domain.modelfiles",
    "default_model_name": "ifxdose.domain.modelfiles",
    "simulate": "ifxdose.domain.simulation",
    "simulate_population": "ifxdose.domain.simulation",
    "parse_regimen": "ifxdose.domain.dosing.regimen",
    "Regimen": "ifxdose.domain.dosing.regimen",
    "PatientHistory": "ifxdose.domain.patient",
    "estimate": "ifxdose.domain.estimation",
    "recommend": "ifxdose.domain.recommend",
    "Target": "ifxdose.domain.recommend",
    "predict_profile": "ifxdose.domain.recommend",
    # policies: the seed's strategies and recommend, one registry (docs/decisions.md)
    "get_policy": "ifxdose.domain.policies",
    "list_policies": "ifxdose.domain.policies",
    "register_policy": "ifxdose.domain.policies",
    # RA measures (docs/scores.md)
    "assess": "ifxdose.domain.scores",
    "das28_crp": "ifxdose.domain.scores",
    "das28_esr": "ifxdose.domain.scores",
    "sdai": "ifxdose.domain.scores",
    "cdai": "ifxdose.domain.scores",
    "acr_response": "ifxdose.domain.scores",
    "eular_response": "ifxdose.domain.scores",
    "boolean_remission": "ifxdose.domain.scores",
    # trials in silico (docs/trials.md)
    "run_trial": "ifxdose.domain.trials",
    "trial_names": "ifxdose.domain.trials",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ifxdose' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
