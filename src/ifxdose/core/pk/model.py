"""A population-PK model as data plus small functions.

A :class:`PKModel` holds typical parameter values, covariate relations, between-subject
variability (full omega matrix of log-normal random effects), residual error (additive +
proportional) and its provenance. Every number carries a grade:

- ``P``      primary paper (abstract/text) or label
- ``P-code`` open-source model file citing the paper's table (third-party transcription)
- ``C``      code only, provenance unclear
- ``D``      derived by us from sourced numbers (the derivation is in ``notes``)
- ``A``      assumption (labelled, with the reason, in ``assumptions``)

Model files live in ``domain/data/models/*.toml`` (read by :mod:`ifxdose.domain.modelfiles`, parsed by :mod:`ifxdose.core.pk.parse`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ifxdose.core.errors import InputError
from ifxdose.core.pk.covariates import COVARIATES, check_covariate

#: Structures and the compartments/parameters each needs. Linear structures run on the
#: closed-form engine; the others need the ODE engine.
LINEAR_STRUCTURES = {
    "1cmt": ("CL", "V1"),
    "2cmt": ("CL", "V1", "Q", "V2"),
    "3cmt": ("CL", "V1", "Q", "V2", "Q3", "V3"),
}
NONLINEAR_STRUCTURES = {
    # Berends 2019: 2-cmt + TMDD quasi-steady-state in the central compartment.
    "2cmt_tmdd_qss": ("CL", "V1", "Q", "V2", "KSS", "BMAX", "KINT", "KDEG"),
    # Ternant 2021: 2-cmt + TMDD QSS in the central and the peripheral compartment.
    "2cmt_double_tmdd_qss": (
        "CL",
        "V1",
        "Q",
        "V2",
        "KSS",
        "R0",
        "KINT",
        "KSS_P",
        "R0_P",
        "KINT_P",
        "KDEG",
    ),
}
COVARIATE_FORMS = ("power", "exponential", "linear", "factor")
UNITS = {
    "CL": "L/day",
    "V1": "L",
    "Q": "L/day",
    "V2": "L",
    "Q3": "L/day",
    "V3": "L",
    "KA": "1/day",
    "F": "fraction",
}


@dataclass(frozen=True)
class Value:
    """A number from the literature (or an assumption) with its unit, grade and source."""

    value: float
    unit: str = ""
    grade: str = "P"
    source: str = ""


@dataclass(frozen=True)
class CovariateEffect:
    """Multiplicative effect of one covariate on one parameter.

    Forms (``x`` the covariate value, ``ref`` the reference, ``theta`` the estimate):
    ``power`` (x/ref)^theta; ``exponential`` exp(theta*(x-ref)); ``linear``
    1 + theta*(x-ref); ``factor`` theta^x (x a 0/1 indicator).
    """

    parameter: str
    covariate: str
    form: str
    theta: float
    reference: float = 0.0
    grade: str = "P"
    source: str = ""

    def multiplier(self, x: np.ndarray) -> np.ndarray:
        if self.form == "power":
            return (x / self.reference) ** self.theta
        if self.form == "exponential":
            return np.exp(self.theta * (x - self.reference))
        if self.form == "linear":
            return 1.0 + self.theta * (x - self.reference)
        return self.theta**x  # factor


@dataclass(frozen=True)
class PKModel:
    """A population-PK model: structure, typical values, covariates, IIV, residual, source."""

    name: str
    title: str
    structure: str
    citation: str
    population: str
    parameters: dict[str, Value]
    covariate_effects: tuple[CovariateEffect, ...] = ()
    eta_parameters: tuple[str, ...] = ()
    omega: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    omega_grade: str = "P"
    residual_additive_mg_l: float = 0.0
    residual_proportional: float = 0.0
    residual_grade: str = "P"
    routes: tuple[str, ...] = ("iv",)
    concentration: str = "total infliximab in serum"
    version: str = "1"
    notes: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()

    # ----------------------------------------------------------------- structure
    @property
    def is_linear(self) -> bool:
        return self.structure in LINEAR_STRUCTURES

    @property
    def has_depot(self) -> bool:
        return "KA" in self.parameters

    @property
    def covariates(self) -> tuple[str, ...]:
        """Covariates this model uses, in first-use order (weight always first)."""
        names = ["weight_kg"] + [e.covariate for e in self.covariate_effects]
        return tuple(dict.fromkeys(names))

    def default_covariate(self, name: str) -> float:
        """Value used when a covariate is not given: the model's reference (0 for indicators)."""
        if COVARIATES[name].binary:
            refs = [e.reference for e in self.covariate_effects if e.covariate == name]
            return float(refs[0]) if refs and refs[0] in (0.0, 1.0) else 0.0
        refs = [e.reference for e in self.covariate_effects if e.covariate == name and e.form != "factor"]
        if not refs:
            raise InputError(name, None, "a value is required for this covariate")
        return float(refs[0])

    # ------------------------------------------------------------ parameters
    def typical_parameters(self, covariates: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Typical (eta = 0) parameters for covariate arrays of any common shape."""
        unknown = set(covariates) - set(COVARIATES)
        if unknown:
            raise InputError("covariate", sorted(unknown)[0], f"known covariates are {', '.join(sorted(COVARIATES))}")
        values = {k: check_covariate(k, v) for k, v in covariates.items()}
        shape = np.broadcast_shapes(*(np.shape(v) for v in values.values())) if values else ()
        out = {k: np.full(shape, p.value, dtype=float) for k, p in self.parameters.items()}
        for eff in self.covariate_effects:
            x = values.get(eff.covariate)
            if x is None:
                x = np.full(shape, self.default_covariate(eff.covariate))
            out[eff.parameter] = out[eff.parameter] * eff.multiplier(x)
        return out

    def individual_parameters(
        self, covariates: dict[str, np.ndarray], eta: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Individual parameters: typical(covariates) * exp(eta).

        ``eta`` has shape (..., n_eta) matching ``eta_parameters``; its leading shape must
        broadcast with the covariate arrays (e.g. covariates (P, S), eta (P, 1, n_eta)).
        """
        params = self.typical_parameters(covariates)
        if eta is None:
            return params
        eta = np.asarray(eta, dtype=float)
        if eta.shape[-1] != len(self.eta_parameters):
            raise InputError(
                "eta",
                eta.shape,
                f"last axis must have {len(self.eta_parameters)} random effects ({', '.join(self.eta_parameters)})",
            )
        for i, name in enumerate(self.eta_parameters):
            params[name] = params[name] * np.exp(eta[..., i])
        return params

    def sample_eta(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw n random-effect vectors from N(0, omega)."""
        k = len(self.eta_parameters)
        if k == 0:
            return np.zeros((n, 0))
        return rng.multivariate_normal(np.zeros(k), self.omega, size=n, method="cholesky")

    def residual_sd_mg_l(self, concentration_mg_l: np.ndarray) -> np.ndarray:
        """SD of an observation: sqrt(additive^2 + (proportional * C)^2), in mg/L."""
        c = np.asarray(concentration_mg_l, dtype=float)
        return np.sqrt(self.residual_additive_mg_l**2 + (self.residual_proportional * c) ** 2)
