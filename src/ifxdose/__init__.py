"""ifxdose: infliximab dosing for rheumatoid arthritis.

Layers (dependencies point down only; enforced by import-linter, see pyproject):

- ``ifxdose.core``     pure numerics: PK models and engines (numpy/scipy only)
- ``ifxdose.domain``   the clinic's language: regimens, scores, policies
- ``ifxdose.adapters`` CLI, plots, (later) web, store, FHIR

The names most users need are re-exported here lazily, so ``import ifxdose`` stays cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"

_EXPORTS = {
    "InputError": "ifxdose.core.errors",
    "load_model": "ifxdose.domain.modelfiles",
    "list_models": "ifxdose.core.pk.library",
    "default_model_name": "ifxdose.core.pk.library",
    "simulate": "ifxdose.domain.simulation",
    "simulate_population": "ifxdose.domain.simulation",
    "parse_regimen": "ifxdose.domain.regimen",
    "Regimen": "ifxdose.domain.regimen",
    "PatientHistory": "ifxdose.domain.patient",
    "estimate": "ifxdose.domain.tdm",
    "recommend": "ifxdose.domain.recommend",
    "Target": "ifxdose.domain.recommend",
    "predict_profile": "ifxdose.domain.recommend",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ifxdose' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
