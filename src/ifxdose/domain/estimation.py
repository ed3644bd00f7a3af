"""A patient's own PK from the history: the clinic-to-core boundary for estimation.

``estimate(history)`` builds the core :class:`~ifxdose.core.estimation.Problem` from the
canonical history (doses, covariates over time, levels with their LLOQ, ADA results),
runs MAP with checks, the Laplace approximation and SIR, and reports individual
parameters, predictions at the samples and the posterior sample.

The history becomes the core's inputs in :mod:`ifxdose.domain.timeline` (covariates with
their assumptions, doses, levels, the :class:`Problem`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ifxdose.core.errors import InputError
from ifxdose.core.estimation import (
    EstimationError,
    EtaSample,
    MapResult,
    Observations,
    estimate_map,
    laplace,
    prior_sample,
    sir,
)
from ifxdose.core.pk.model import UNITS, PKModel
from ifxdose.domain.modelfiles import default_model_name, load_library_model
from ifxdose.domain.patient import PatientHistory
from ifxdose.domain.timeline import build_problem, history_observations


@dataclass(frozen=True)
class Estimate:
    """A patient's posterior: MAP, individual parameters, predictions, posterior sample."""

    model: PKModel
    map: MapResult
    posterior: EtaSample
    covariance: np.ndarray
    observations: Observations
    ipred_mg_l: np.ndarray
    parameters: dict[str, float]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        obs = self.observations
        return {
            "model": self.model.name,
            "model_version": self.model.version,
            "eta_parameters": list(self.model.eta_parameters),
            "eta_map": self.map.eta.tolist(),
            "eta_sd_posterior": np.sqrt(np.diag(self.covariance)).tolist(),
            "eta_sd_prior": np.sqrt(np.diag(self.model.omega)).tolist(),
            "individual_parameters": {
                k: {"value": v, "unit": UNITS.get(k, self.model.parameters[k].unit)} for k, v in self.parameters.items()
            },
            "objective": {
                "ofv": self.map.ofv,
                "ofv_prior_mode": self.map.ofv_prior_mode,
                "gradient_norm": self.map.gradient_norm,
                "evaluations": self.map.n_evaluations,
                "converged": True,
                "starts": self.map.starts,
            },
            "posterior": {
                "kind": self.posterior.kind,
                "n": int(self.posterior.eta.shape[0]),
                **self.posterior.diagnostics,
            },
            "samples": [
                {
                    "day": float(t),
                    "observed_mg_l": None if np.isnan(y) else float(y),
                    "below_lloq": bool(np.isnan(y)),
                    "lloq_mg_l": None if np.isnan(q) else float(q),
                    "ipred_mg_l": float(f),
                }
                for t, y, q, f in zip(obs.time_days, obs.value_mg_l, obs.lloq_mg_l, self.ipred_mg_l)
            ],
            "warnings": self.warnings,
        }


def estimate(
    history: PatientHistory, model: str | PKModel | None = None, n_samples: int = 1000, seed: int = 0
) -> Estimate:
    """MAP + Laplace + SIR for one patient; raises InputError on an unusable history."""
    m = load_library_model(model or default_model_name()) if not isinstance(model, PKModel) else model
    if not history.infusions:
        raise InputError("infusions", [], "at least one infusion is needed to estimate PK")
    problem = build_problem(history, m)
    obs = history_observations(history)
    retry_warnings: list[str] = []
    try:
        fit = estimate_map(problem, obs)
        cov = laplace(problem, obs, fit.eta)
        if not obs.n:
            post = prior_sample(problem, n_samples, seed)
        else:
            try:
                post = sir(problem, obs, fit.eta, cov, n=n_samples, seed=seed)
            except EstimationError:
                # A posterior far in the tail of the prior (e.g. an undetectable level) can leave too few
                # effective importance weights; four times more proposals is the same method, larger.
                # If that too is degenerate, the proposal adapts to the weighted draws (adaptive IS).
                post = sir(problem, obs, fit.eta, cov, n=n_samples, seed=seed, proposals_per_sample=20, adapt_rounds=3)
                adapted = int(post.diagnostics.get("adapted_rounds", 0))
                retry_warnings.append(
                    "the posterior sample needed 20 proposals per draw (importance weights "
                    "were degenerate with 5)"
                    + (f" and {adapted} adapted proposal(s)" if adapted else "")
                    + ": the levels are far from the population's"
                )
    except EstimationError as exc:
        raise InputError("levels", f"{obs.n} level(s)", f"estimation failed: {exc}") from None
    ipred = problem.predict(fit.eta[None, :], obs.time_days)[0] if obs.n else np.array([])
    warnings = list(fit.warnings) + retry_warnings + ada_assay_warnings(history)
    params = {k: float(v[0, -1]) for k, v in problem.parameters(fit.eta[None, :]).items()}
    return Estimate(m, fit, post, cov, obs, ipred, params, warnings)


#: Above this level a drug-sensitive ADA assay can miss antibodies (drug interference).
#: Assumption: 1 mg/L, the order of the drug tolerance of bridging ELISAs; configurable.
DRUG_INTERFERENCE_MG_L = 1.0


def ada_assay_warnings(history: PatientHistory) -> list[str]:
    """A negative ADA result from a drug-sensitive assay, with drug present, may be false."""
    out = []
    for a in history.ada:
        if a.result != "negative" or a.drug_tolerant is not False:
            continue
        same_day = [
            lv.value_mg_l
            for lv in history.levels
            if abs(history.day_of(lv.date) - history.day_of(a.date)) < 1.0 and lv.value_mg_l is not None
        ]
        if any(v >= DRUG_INTERFERENCE_MG_L for v in same_day):
            out.append(
                f"ADA negative on {a.date} by a drug-sensitive assay with infliximab >= "
                f"{DRUG_INTERFERENCE_MG_L:g} mg/L present: the result may be a false negative"
            )
    return out
