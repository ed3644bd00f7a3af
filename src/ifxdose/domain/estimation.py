"""A patient's own PK from the history: the clinic-to-core boundary for estimation.

``estimate(history)`` builds the core :class:`~ifxdose.core.estimation.Problem` from the
canonical history (doses, covariates over time, levels with their LLOQ, ADA results),
runs MAP with checks, the Laplace approximation and SIR, and reports individual
parameters, predictions at the samples and the posterior sample.

Assumptions (labelled):
- ADA status enters as a time-varying covariate from each result's date. Before the first
  result the patient is ADA-negative (a drug-naive patient has no anti-infliximab
  antibodies), so a first positive result at week 30 does not back-date ADA to day 0.
- A positive ADA result means positive from its sample date (the onset is unknown).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ifxdose.core.errors import InputError
from ifxdose.core.estimation import (
    EstimationError,
    EtaSample,
    MapResult,
    Observations,
    Problem,
    estimate_map,
    laplace,
    prior_sample,
    sir,
)
from ifxdose.core.pk import ROUTE_IV, ROUTE_SC
from ifxdose.core.pk.model import UNITS, PKModel
from ifxdose.domain.modelfiles import default_model_name, load_library_model
from ifxdose.domain.patient import PatientHistory
from ifxdose.domain.simulation import covariate_segments

#: Assumption: a CRP below 0.3 mg/L (under the detection limit of standard CRP assays) is read as
#: 0.3 mg/L, so that power-form CRP effects (the RA default, Ternant 2014) stay finite and positive.
CRP_FLOOR_MG_L = 0.3


def history_covariates(history: PatientHistory) -> dict[str, list[tuple[float, float]]]:
    """Covariate series for the PK model, with the ADA-before-first-result assumption.

    Labs give albumin and CRP over time (CRP floored at ``CRP_FLOOR_MG_L``); the history's
    baseline TNF-alpha acts from day 0 (Assumption: baseline TNF, as in RISING/RRRR, S14/S15).
    """
    series = history.covariate_series()
    if "weight_kg" not in series:
        raise InputError("weights", [], "at least one body weight is needed (mg/kg dosing and PK covariate)")
    if "crp_mg_l" in series:
        series["crp_mg_l"] = [(d, max(v, CRP_FLOOR_MG_L)) for d, v in series["crp_mg_l"]]
    if history.baseline_tnf_pg_ml is not None:
        if history.baseline_tnf_pg_ml <= 0:
            raise InputError(
                "baseline_tnf_pg_ml",
                history.baseline_tnf_pg_ml,
                "allowed range is (0, 1000] pg/mL (a PK covariate; leave it empty if not measured)",
            )
        series["tnf_pg_ml"] = [(0.0, float(history.baseline_tnf_pg_ml))]
    ada = series.get("ada")
    if ada and ada[0][1] == 1.0 and ada[0][0] > 0:
        series["ada"] = [(0.0, 0.0), *ada]
    return series


def history_observations(history: PatientHistory) -> Observations:
    lv = history.levels
    return Observations(
        time_days=np.array([history.day_of(x.date) for x in lv], float),
        value_mg_l=np.array([np.nan if x.below_lloq else x.value_mg_l for x in lv], float),
        lloq_mg_l=np.array([x.lloq_mg_l if x.lloq_mg_l is not None else np.nan for x in lv], float),
    )


def build_problem(
    history: PatientHistory, model: PKModel, extra_doses: list[tuple[float, float, float, str]] = ()
) -> Problem:
    """The core problem for this history (plus hypothetical future doses, for prediction)."""
    series = history_covariates(history)
    starts, values = covariate_segments({k: v for k, v in series.items() if k in model.covariates})
    doses = [
        (d, mg, dur, ROUTE_SC if route == "sc" else ROUTE_IV)
        for d, mg, dur, route in [*history.infusion_doses(), *extra_doses]
    ]
    if any(route == ROUTE_SC for *_, route in doses) and "sc" not in model.routes:
        raise InputError("infusions.route", "sc", f"model {model.name} supports routes {', '.join(model.routes)}")
    return Problem(model, starts, values, doses)


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

    def to_dict(self) -> dict:
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
                post = sir(problem, obs, fit.eta, cov, n=n_samples, seed=seed, proposals_per_sample=20)
                retry_warnings.append(
                    "the posterior sample needed 20 proposals per draw (importance weights "
                    "were degenerate with 5): the levels are far from the population's"
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
