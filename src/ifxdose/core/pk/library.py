"""The model library: each literature model is a TOML data file in ``models/``.

A file carries the reference, population, typical values with unit/grade/source,
covariate relations, the omega matrix, residual error and implementation notes and
assumptions. Data, not code (after PKPDsim's model library).
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

import numpy as np

from ifxdose.core.errors import InputError
from ifxdose.core.pk.covariates import COVARIATES
from ifxdose.core.pk.model import (
    COVARIATE_FORMS,
    LINEAR_STRUCTURES,
    NONLINEAR_STRUCTURES,
    CovariateEffect,
    PKModel,
    Value,
)

#: The default model for RA; the choice is justified in docs/models.md.
DEFAULT_RA_MODEL = "ifxdose_ra_mbma"


def default_model_name() -> str:
    return DEFAULT_RA_MODEL


def _model_files() -> dict[str, str]:
    folder = resources.files("ifxdose.core.pk") / "models"
    return {p.name[:-5]: p.read_text(encoding="utf-8") for p in folder.iterdir() if p.name.endswith(".toml")}


def list_models() -> list[str]:
    """Names of the models in the library, sorted."""
    return sorted(_model_files())


@lru_cache(maxsize=None)
def load_model(name: str) -> PKModel:
    """Load a library model by name; InputError listing the known names otherwise."""
    files = _model_files()
    if name not in files:
        raise InputError("model", name, f"known models are {', '.join(sorted(files))}")
    return parse_model(tomllib.loads(files[name]), name)


def parse_model(doc: dict, name: str) -> PKModel:
    """Build and check a PKModel from a parsed TOML document."""
    structure = doc["structure"]
    needed = {**LINEAR_STRUCTURES, **NONLINEAR_STRUCTURES}.get(structure)
    if needed is None:
        raise ValueError(f"model {name}: unknown structure {structure!r}")
    params = {k: Value(**v) for k, v in doc["parameters"].items()}
    missing = [p for p in needed if p not in params]
    if missing:
        raise ValueError(f"model {name}: structure {structure} needs parameters {missing}")
    effects = tuple(CovariateEffect(**e) for e in doc.get("covariate_effects", []))
    for e in effects:
        if e.form not in COVARIATE_FORMS or e.covariate not in COVARIATES or e.parameter not in params:
            raise ValueError(f"model {name}: bad covariate effect {e}")
    var = doc.get("variability", {})
    eta_parameters = tuple(var.get("parameters", ()))
    omega = np.array(var.get("omega", np.zeros((0, 0))), dtype=float).reshape(len(eta_parameters), len(eta_parameters))
    if eta_parameters and (not np.allclose(omega, omega.T) or np.linalg.eigvalsh(omega).min() <= 0):
        raise ValueError(f"model {name}: omega must be symmetric positive definite")
    res = doc.get("residual", {})
    return PKModel(
        name=name,
        title=doc["title"],
        structure=structure,
        citation=doc["citation"],
        population=doc["population"],
        parameters=params,
        covariate_effects=effects,
        eta_parameters=eta_parameters,
        omega=omega,
        omega_grade=var.get("grade", "P"),
        residual_additive_mg_l=float(res.get("additive_mg_l", 0.0)),
        residual_proportional=float(res.get("proportional", 0.0)),
        residual_grade=res.get("grade", "P"),
        routes=tuple(doc.get("routes", ["iv"])),
        concentration=doc.get("concentration", "total infliximab in serum"),
        version=str(doc.get("version", "1")),
        notes=tuple(doc.get("notes", ())),
        assumptions=tuple(doc.get("assumptions", ())),
    )
