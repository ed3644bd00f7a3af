"""A population-PK model from its document: the pure parser of the library's model format.

A model file carries the reference, population, typical values with unit/grade/source,
covariate relations, the omega matrix, residual error and implementation notes and
assumptions. Data, not code (after PKPDsim's model library). Core does no I/O: the files
are found and read by :mod:`ifxdose.domain.modelfiles`; this module turns the parsed
mapping into a checked :class:`PKModel`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ifxdose.core.pk.covariates import COVARIATES
from ifxdose.core.pk.model import (
    COVARIATE_FORMS,
    LINEAR_STRUCTURES,
    NONLINEAR_STRUCTURES,
    CovariateEffect,
    PKModel,
    Value,
)


def parse_model(doc: dict[str, Any], name: str) -> PKModel:
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
