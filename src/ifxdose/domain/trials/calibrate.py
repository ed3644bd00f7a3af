"""Calibrate the immunogenicity and exposure-response models to the evidence base.

Run: ``ifxdose trial calibrate [--out PATH] [--show]`` (the CLI adapter writes the file; this
module computes and formats). Inputs: ``data/calibration_setup.toml`` (targets as evidence
outcome references, fixed assumptions, start values); observed values and n are read from
the evidence base. Output: ``data/calibration.toml`` (version, date, inputs, fitted values,
fit per figure).

Method (docs/trials.md):
1. Immunogenicity. For each target scenario, simulate ``n_virtual`` ADA-free virtual
   patients (fixed seed); the expected share with ADA by the target day is the mean of
   1 - exp(-(H(day) - H(entry))). Maximise the binomial likelihood (observed share x n)
   over log h0, beta_low, log MTX hazard ratio (Nelder-Mead).
2. Exposure-response. With the fitted ADA model, simulate each scenario once with
   stochastic ADA (fixed seed); the expected response is the mean of P(Ce(day)). Maximise
   the binomial likelihood of the ACR20 targets over the intercept, log emax, log ec50 and
   log ke0, with a log-normal prior on ke0 from S1's onset ("maximal from week 3"; without
   it ke0 and ec50 drift to 0 together: the arms' ACR20 alone cannot separate them), each
   trial's effect on the intercepts integrated out (between-trial heterogeneity, SD from
   [exposure_response.between_trial]; core.heterogeneity); then each remission intercept
   alone, the drug effect and the trial's effect fixed; then draws of each fitted trial's
   effect given each posterior draw (``study_effect_draws``).
3. Fit per figure: observed (with the Wilson 95 % CI for its n) vs predicted.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
import zlib
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any, Callable

import numpy as np
from scipy import optimize, stats
from scipy.special import expit

from ifxdose.core.errors import InputError
from ifxdose.core.heterogeneity import binomial_loglik, conditional_draws, conditional_mean, marginal_loglik
from ifxdose.core.immunogenicity import window_cumulative_hazard
from ifxdose.core.pk import DoseTable, PKModel
from ifxdose.domain.evidence import get_study
from ifxdose.domain.evidence.models import Outcome, Study
from ifxdose.domain.modelfiles import load_library_model as load_model
from ifxdose.domain.trials import engine
from ifxdose.domain.trials.definitions import ASSAYS
from ifxdose.domain.trials.endpoints import latent_for_acr_n
from ifxdose.domain.trials.engine import (
    ArmRun,
    Cohort,
    ada_free_concentrations,
    daily_grid,
    dose_table,
    effective_ce,
    exposure,
    make_cohort,
    regimen_mg_per_kg,
    reported_ada,
)
from ifxdose.domain.trials.models import AdaModel, Models, ResponseModel, models_from, shift_intercepts
from ifxdose.domain.trials.population import population_constants, virtual_population

DATA = resources.files("ifxdose.domain.trials") / "data"


def load_setup() -> dict[str, Any]:
    return tomllib.loads((DATA / "calibration_setup.toml").read_text(encoding="utf-8"))


def find_outcome(study: Study, name: str, arm: str | None, time_point: str | None = None) -> Outcome:
    """The one outcome with this exact name, arm (and time point if given)."""
    found = [
        o
        for o in study.outcomes
        if o.name == name and o.arm == arm and (time_point is None or o.time_point == time_point)
    ]
    if len(found) != 1:
        raise InputError(
            "outcome", f"{study.key}: {name} / {arm} / {time_point}", f"matches {len(found)} outcomes, need 1"
        )
    return found[0]


def arm_n(study: Study, arm: str) -> int | None:
    return next((a.n for a in study.arms if a.name == arm), None)


@dataclass(frozen=True)
class Target:
    """One calibration figure: the evidence outcome, its n, and the scenario that predicts it."""

    spec: dict[str, Any]
    outcome: Outcome
    n: int

    @property
    def observed_pct(self) -> float:
        assert self.outcome.value is not None, self.outcome.name
        return float(self.outcome.value)

    @property
    def label(self) -> str:
        return f"{self.spec['study']}: {self.outcome.name}, {self.outcome.arm}, {self.outcome.time_point}"


def _n_of(spec: dict[str, Any], study: Study, outcome: Outcome) -> int:
    if "n_from" in spec:
        ref = find_outcome(study, spec["n_from"]["outcome"], spec["arm"])
        assert ref.value is not None and ref.total is not None, ref.name
        return int(ref.value) if spec["n_from"]["part"] == "count" else int(ref.total - ref.value)
    n = outcome.total or arm_n(study, spec["arm"])
    if n is None:
        raise InputError("n", spec, "the evidence gives no n for this target")
    return int(n)


def make_target(spec: dict[str, Any]) -> Target:
    study = get_study(spec["study"])
    outcome = find_outcome(study, spec["outcome"], spec.get("outcome_arm", spec["arm"]) or None, spec.get("time_point"))
    return Target(spec, outcome, _n_of(spec, study, outcome))


def target_regimen(spec: dict[str, Any]) -> str | None:
    """The scenario's regimen: explicit, or the evidence arm's (or its variant's); None = placebo."""
    if "regimen" in spec:
        return str(spec["regimen"])
    study = get_study(spec["study"])
    arm = next(a for a in study.arms if a.name == spec.get("regimen_arm", spec["arm"]))
    if "regimen_variant" in spec:
        return next(v.regimen for v in arm.variants if v.when == spec["regimen_variant"])
    return arm.regimen


def scenario_cohort(pk: PKModel, population: str, n: int, seed: int, pk_background: float = 0.0) -> Cohort:
    """The same virtual patients for every evaluation (common random numbers). ``pk_background``: the
    MTX-start background fraction g of patients who start MTX with the drug (``mtx_start``), as the trial
    engine gives it to them (``ResponseModel.background``), so that the PK's CRP covariate sees it
    (engine.MTX_START_ON_PK; setup ``[background] pk_fraction``)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(population.encode()),)))
    covariates = virtual_population(population, n, rng)
    cohort = make_cohort(covariates, Models(pk, None, None), rng)  # type: ignore[arg-type]
    start = covariates.get("mtx_start")
    if start is None or not pk_background:
        return cohort
    return replace(cohort, crp_background=np.asarray(pk_background * (start > 0), dtype=float))


def pk_background(setup: dict[str, Any]) -> float:
    """The MTX-start background g the PK's CRP covariate sees in the calibration's scenarios (setup
    ``[background] pk_fraction``; 0 without it). Assumption (docs/trials.md, Calibration): g is fitted after
    the ADA and exposure-response steps, so the scenarios take the previous calibration's g and the run
    reports the new one beside it (one fixed-point step; re-run while they differ)."""
    return float(setup.get("background", {}).get("pk_fraction", 0.0)) if engine.MTX_START_ON_PK else 0.0


def binomial_nll(pred_pct: np.ndarray, obs_pct: np.ndarray, n: np.ndarray) -> float:
    return -float(binomial_loglik(np.asarray(pred_pct, float) / 100.0, obs_pct, n))


def interp_columns(values: np.ndarray, grid: np.ndarray, day: float) -> np.ndarray:
    """values (P, T) at ``day`` by linear interpolation on the grid."""
    k = int(np.clip(np.searchsorted(grid, day, side="right") - 1, 0, grid.size - 2))
    w = (day - grid[k]) / (grid[k + 1] - grid[k])
    return np.asarray((1 - w) * values[:, k] + w * values[:, k + 1], dtype=float)


# ------------------------------------------------------------------ immunogenicity
@dataclass
class AdaScenario:
    target: Target
    below: np.ndarray  # (P, T) 1[C < threshold] for the patients of the target (ADA-free profile)
    grid: np.ndarray
    mtx: np.ndarray
    cohort: Cohort | None = None
    doses: DoseTable | None = None
    mask: np.ndarray | None = None
    detection: float = 1.0  # assay-reported / true ADA share (1 for a drug-tolerant assay)

    @property
    def assay(self) -> str:
        return ASSAYS.get(self.target.spec["study"], "drug-tolerant")


def ada_scenarios(setup: dict[str, Any], pk: PKModel) -> list[AdaScenario]:
    out = []
    for spec in setup["immunogenicity"]["targets"]:
        target = make_target(spec)
        cohort = scenario_cohort(pk, spec["population"], setup["n_virtual"], setup["seed"], pk_background(setup))
        grid = daily_grid(np.ceil(spec["day"]) + 1)
        regimen = target_regimen(spec)
        assert regimen is not None, spec
        times, mgkg = regimen_mg_per_kg(regimen, float(grid[-1]))
        conc = ada_free_concentrations(pk, cohort, dose_table(times, mgkg, cohort.weight_kg), grid, inflammation(setup))
        mtx = cohort.covariates["mtx"]
        mask = np.ones(cohort.n, bool) if "mtx" not in spec else (mtx == spec["mtx"])
        below = (conc[mask] < setup["immunogenicity"]["fixed"]["threshold_mg_l"]).astype(float)
        doses = dose_table(times, mgkg, cohort.weight_kg)
        out.append(AdaScenario(target, below, grid, mtx[mask], cohort, doses, mask))
    return out


def inflammation(setup: dict[str, Any]) -> bool:
    """Inflammation over time in the calibration's simulations (setup ``inflammation_feedback``)."""
    return bool(setup.get("inflammation_feedback", False))


def detection_fraction(model: AdaModel, pk: PKModel, sc: AdaScenario, inflamed: bool = False) -> float:
    """Share of true ADA (by the target day) that the study's assay reports: one stochastic simulation
    of the scenario's patients (common random numbers) with titre-dependent clearance (engine)."""
    if sc.assay == "drug-tolerant":
        return 1.0
    spec = sc.target.spec
    models = Models(pk, model, None, inflammation=inflamed)  # type: ignore[arg-type]
    assert sc.cohort is not None
    run = ArmRun(sc.cohort, exposure(models, sc.cohort, sc.doses, sc.grid, spec.get("entry_day", 0.0)), sc.doses, {})
    true = (run.exposure.onset_day <= spec["day"])[sc.mask]
    seen = reported_ada(run, spec["day"], sc.assay)[sc.mask]
    return float(seen.sum() / true.sum()) if true.sum() >= 5 else 1.0


def ada_model(x: np.ndarray, threshold_mg_l: float) -> AdaModel:
    """x = log h0, log beta_low (beta_low > 0: low concentrations raise the hazard), log MTX HR, log decline."""
    return AdaModel(float(np.exp(x[0])), float(np.exp(x[1])), threshold_mg_l, float(np.exp(x[2])), float(np.exp(x[3])))


def predict_ada_pct(model: AdaModel, sc: AdaScenario) -> float:
    """Expected % with ADA between entry and the target day (ADA-free at entry)."""
    spec = sc.target.spec
    multiplier = np.where(sc.mtx > 0, model.mtx_hazard_ratio, 1.0)
    dH = window_cumulative_hazard(
        sc.grid,
        sc.below,
        spec.get("entry_day", 0.0),
        spec["day"],
        model.h0_per_day,
        model.beta_low,
        multiplier,
        model.decline_per_day,
    )
    return float(100 * np.mean(-np.expm1(-dH)) * sc.detection)


def beta_low_prior(setup: dict[str, Any]) -> tuple[float, float] | None:
    """(mean, SD) of the log-normal prior on beta_low (setup ``[immunogenicity.prior_beta_low]``: the
    median hazard ratio below the threshold and the log-SD), or None without one.

    Without it the seed's ADA figures identify only h0 * exp(beta_low): the fit runs to the degenerate
    "ADA only below 3 mg/L" corner (h0 3e-10/day, beta 19.5, a hazard ratio of 3e8). The prior's source
    is the literature's trough-ADA association (its ``source`` in the setup)."""
    spec = setup["immunogenicity"].get("prior_beta_low")
    if spec is None:
        return None
    return float(np.log(np.log(spec["median_hazard_ratio"]))), float(spec["log_sd"])


def fit_immunogenicity(
    setup: dict[str, Any], pk: PKModel, pool: Any = None
) -> tuple[AdaModel, list[dict[str, Any]], float]:
    """Binomial likelihood of the assay-reported ADA shares, with the weakly informative prior on
    beta_low (:func:`beta_low_prior`; MAP). The reported share is the true share (exact
    expectation over the fixed patients) times the assay's detection fraction; the detection
    fractions come from a stochastic simulation at the previous estimate (fixed-point iteration,
    ``assay_iterations`` rounds; 1 for drug-tolerant assays)."""
    sc = ada_scenarios(setup, pk)
    thr = setup["immunogenicity"]["fixed"]["threshold_mg_l"]
    fit = [s for s in sc if s.target.spec["use"] == "fit"]
    obs = np.array([s.target.observed_pct for s in fit])
    n = np.array([s.target.n for s in fit], float)

    prior = beta_low_prior(setup)

    def nll(x: np.ndarray) -> float:
        penalty = 0.0 if prior is None else 0.5 * ((x[1] - prior[0]) / prior[1]) ** 2
        return binomial_nll(np.array([predict_ada_pct(ada_model(x, thr), s) for s in fit]), obs, n) + penalty

    s0 = setup["immunogenicity"]["start"]
    x = np.log([s0["h0_per_day"], s0["beta_low"], s0["mtx_hazard_ratio"], s0["decline_per_day"]])
    for _ in range(setup["immunogenicity"].get("assay_iterations", 3)):
        for s in sc:  # detection at the current estimate (first round: the start values), then refit
            s.detection = detection_fraction(ada_model(x, thr), pk, s, inflammation(setup))
        res = optimize.minimize(nll, x, method="Nelder-Mead", options={"xatol": 1e-5, "fatol": 1e-7, "maxiter": 4000})
        x = res.x
    model = ada_model(res.x, thr)
    rows = [
        {**fit_row(s.target, predict_ada_pct(model, s)), "assay": s.assay, "detection": round(s.detection, 3)}
        for s in sc
    ]
    global _ADA_POSTERIOR
    _ADA_POSTERIOR = ada_posterior(setup, nll, res.x, pool)
    for r, s in zip(rows, sc):
        pred = [
            predict_ada_pct(ada_model(np.log(d), thr), s) for d in _ADA_POSTERIOR[:: max(1, len(_ADA_POSTERIOR) // 50)]
        ]
        r["predictive_low95_pct"], r["predictive_high95_pct"] = (
            round(float(v), 2) for v in np.percentile(pred, [2.5, 97.5])
        )
    return model, rows, float(res.fun)


_ADA_POSTERIOR: np.ndarray = np.zeros((0, 4))
_ER_POSTERIOR: np.ndarray = np.zeros((0, 4))


def ada_posterior(
    setup: dict[str, Any], nll: Callable[[np.ndarray], float], x_hat: np.ndarray, pool: Any = None
) -> np.ndarray:
    """Posterior draws (h0, beta_low, MTX HR, decline) by emcee around the ML estimate.

    Likelihood: the same binomial likelihood (detection fractions held at their converged
    values). Priors (Assumption, weak): each log parameter normal with SD 2 around the ML value,
    which only keeps walkers off the flat ridges (h0 and beta_low are partly confounded).
    ``pool``: any object with ``.map`` (emcee's ``pool=``; e.g. Dask workers,
    ``ifxdose.adapters.scale.EmceePool``); None evaluates in this process. Same draws either way.
    """
    import emcee

    post = setup.get("posterior", {})
    walkers, steps, burn = post.get("walkers", 12), post.get("ada_steps", 300), post.get("ada_burn", 100)
    rng = np.random.default_rng(setup["seed"])

    def logp(x: np.ndarray) -> float:
        if np.any(np.abs(x - x_hat) > 8):
            return -np.inf
        return -nll(x) - 0.5 * float(np.sum(((x - x_hat) / 2.0) ** 2))

    p0 = x_hat + 0.01 * rng.standard_normal((walkers, len(x_hat)))
    sampler = emcee.EnsembleSampler(walkers, len(x_hat), logp, pool=pool)
    sampler.random_state = np.random.RandomState(int(rng.integers(2**31))).get_state()
    sampler.run_mcmc(p0, steps, progress=False)
    chain = sampler.get_chain(discard=burn, flat=True)
    keep = chain[np.linspace(0, len(chain) - 1, post.get("draws_kept", 200)).astype(int)]
    return np.asarray(np.exp(keep), dtype=float)


def er_posterior(
    setup: dict[str, Any],
    nll: Callable[[np.ndarray], float],
    x_hat: np.ndarray,
    start_draws: np.ndarray,
    pool: Any = None,
) -> np.ndarray:
    """Posterior draws (intercept ACR20, log Emax, log EC50, log ke0) by emcee.

    Log posterior: minus ``nll`` (the binomial likelihood of the ACR20 figures plus the ke0 prior);
    flat on the other parameters within 8 units of the ML value. The walkers start from draws of the
    Laplace approximation (so the burn-in is short); setup [posterior] er_walkers, er_steps, er_burn.
    ``pool``: as in ``ada_posterior``.
    """
    import emcee

    post = setup.get("posterior", {})
    walkers, steps, burn = post.get("er_walkers", 8), post.get("er_steps", 150), post.get("er_burn", 50)
    rng = np.random.default_rng(setup["seed"] + 1)

    def logp(x: np.ndarray) -> float:
        if not np.all(np.isfinite(x)) or np.any(np.abs(x - x_hat) > 8):
            return -np.inf
        return -float(nll(x))

    p0 = start_draws[rng.choice(len(start_draws), walkers, replace=False)]
    sampler = emcee.EnsembleSampler(walkers, len(x_hat), logp, pool=pool)
    sampler.random_state = np.random.RandomState(int(rng.integers(2**31))).get_state()
    sampler.run_mcmc(p0, steps, progress=False)
    global _ER_SAMPLER_INFO
    _ER_SAMPLER_INFO = {
        "sampler": "emcee",
        "walkers": walkers,
        "steps": steps,
        "burn": burn,
        "acceptance": round(float(np.mean(sampler.acceptance_fraction)), 3),
    }
    chain = sampler.get_chain(discard=burn, flat=True)
    return np.asarray(chain[np.linspace(0, len(chain) - 1, post.get("draws_kept", 200)).astype(int)], dtype=float)


_ER_SAMPLER_INFO: dict[str, Any] = {"sampler": "laplace"}


def laplace_draws(
    fun: Callable[[np.ndarray], float], x_hat: np.ndarray, n: int, seed: int, step: float = 1e-2
) -> np.ndarray:
    """Draws from N(x_hat, H^-1), H the central-difference Hessian of ``fun`` (a negative log posterior)."""
    k = len(x_hat)
    H = np.zeros((k, k))
    f0 = fun(x_hat)
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * step, np.eye(k)[j] * step
            if i == j:
                H[i, i] = (fun(x_hat + ei) - 2 * f0 + fun(x_hat - ei)) / step**2
            else:
                H[i, j] = H[j, i] = (
                    fun(x_hat + ei + ej) - fun(x_hat + ei - ej) - fun(x_hat - ei + ej) + fun(x_hat - ei - ej)
                ) / (4 * step**2)
    w, V = np.linalg.eigh(H)
    cov = (V / np.maximum(w, 1e-6)) @ V.T
    return np.random.default_rng(seed).multivariate_normal(x_hat, cov, size=n)


def fit_row(target: Target, predicted_pct: float) -> dict[str, Any]:
    k = int(round(target.observed_pct / 100 * target.n))
    ci = stats.binomtest(k, target.n).proportion_ci(method="wilson")
    lo, hi = 100 * ci.low, 100 * ci.high
    spec = target.spec
    relation = target.outcome.relation
    inside = (
        (lo <= predicted_pct <= hi)
        if relation in ("=", "~")
        else (predicted_pct <= target.observed_pct if relation in ("<", "<=") else predicted_pct >= target.observed_pct)
    )
    return {
        "study": spec["study"],
        "outcome": target.outcome.name,
        "arm": target.outcome.arm or "",
        "time_point": target.outcome.time_point,
        "use": spec["use"],
        "n": target.n,
        "observed": target.outcome.value_text(),
        "observed_pct": target.observed_pct,
        "ci95_low_pct": round(lo, 2),
        "ci95_high_pct": round(hi, 2),
        "predicted_pct": round(predicted_pct, 2),
        "inside": bool(inside),
    }


# ------------------------------------------------------------------ exposure-response
@dataclass
class ErScenario:
    target: Target
    conc: np.ndarray  # (P, T) shared by the targets of one (population, regimen)
    grid: np.ndarray
    cohort: Cohort | None = None

    def ce_at_day(self, model: ResponseModel, cache: dict[Any, Any]) -> np.ndarray:
        """The effective effect-site concentration (Ce / TNF scale, engine.effective_ce) on the target day."""
        key = (id(self.conc), model.ke0_per_day)
        if key not in cache:
            cache.clear() if len(cache) > 32 else None
            cache[key] = model.effect_site(self.grid, self.conc)
        ce = interp_columns(cache[key], self.grid, self.target.spec["day"])
        return ce if self.cohort is None else effective_ce(self.cohort, ce)


def er_scenarios(setup: dict[str, Any], models: Models) -> list[ErScenario]:
    cache: dict[tuple[str, str | None], tuple[np.ndarray, np.ndarray, Cohort]] = {}
    out = []
    for spec in setup["exposure_response"]["targets"]:
        target = make_target(spec)
        regimen = target_regimen(spec)
        key = (spec["population"], regimen)
        if key not in cache:
            cohort = scenario_cohort(
                models.pk, spec["population"], setup["n_virtual"], setup["seed"], pk_background(setup)
            )
            grid = daily_grid(400)
            doses = None
            if regimen is not None:
                times, mgkg = regimen_mg_per_kg(regimen, float(grid[-1]))
                doses = dose_table(times, mgkg, cohort.weight_kg)
            cache[key] = (exposure(models, cohort, doses, grid).conc_mg_l, grid, cohort)
        conc, grid, cohort = cache[key]
        out.append(ErScenario(target, conc, grid, cohort))
    return out


def response_model(x: np.ndarray, hill: float, intercepts: dict[str, float]) -> ResponseModel:
    return ResponseModel(
        float(np.exp(x[3])), float(np.exp(x[1])), float(np.exp(x[2])), hill, {"acr20": float(x[0]), **intercepts}
    )


def predict_response_pct(model: ResponseModel, sc: ErScenario, cache: dict[str, Any], u: float = 0.0) -> float:
    """The expected share (%) of the scenario's endpoint; ``u`` the trial effect on every intercept."""
    m = model if u == 0.0 else shift_intercepts(model, u)
    return float(100 * np.mean(m.probability(sc.target.spec["endpoint"], sc.ce_at_day(m, cache))))


def between_trial_sd(i_squared: float, pooled_share: float, patients: float, trials: float) -> float:
    """Between-trial SD tau on the logit scale from a meta-analysis's I^2: tau^2 = I^2/(1 - I^2) * s^2, s^2 =
    1/(m p (1 - p)) the logit variance of a typical arm (m = patients/trials, p the pooled share)
    (Higgins and Thompson 2002, Stat Med 21:1539: I^2 = tau^2/(tau^2 + s^2))."""
    m = patients / trials
    s2 = 1.0 / (m * pooled_share * (1.0 - pooled_share))
    return float(np.sqrt(i_squared / (1.0 - i_squared) * s2))


def between_trial(setup: dict[str, Any]) -> tuple[float, str]:
    """(SD of the trial effect on the logit scale, its source); (0, "") without [exposure_response.between_trial]."""
    spec = setup["exposure_response"].get("between_trial")
    if not spec:
        return 0.0, ""
    sd = between_trial_sd(spec["i_squared"], spec["pooled_placebo_acr20"], spec["placebo_patients"], spec["trials"])
    return sd, str(spec["source"])


def study_loglik(
    model: ResponseModel, scs: list[ErScenario], cache: dict[str, Any]
) -> Callable[[np.ndarray], np.ndarray]:
    """u (array) -> the binomial log-likelihood of the scenarios' figures with trial effect u on every intercept
    (the shares as ``predict_response_pct``: the mean over the virtual patients of expit(intercept + u + drug))."""
    obs = np.array([s.target.observed_pct for s in scs])
    n = np.array([s.target.n for s in scs], float)
    logits = [model.intercepts[s.target.spec["endpoint"]] + model.drug_logit(s.ce_at_day(model, cache)) for s in scs]

    def at(u: np.ndarray) -> np.ndarray:
        u = np.atleast_1d(np.asarray(u, float))
        shares = np.column_stack([expit(lg[None, :] + u[:, None]).mean(axis=1) for lg in logits])
        return binomial_loglik(shares, obs, n)

    return at


def by_study(scs: list[ErScenario]) -> dict[str, list[ErScenario]]:
    out: dict[str, list[ErScenario]] = {}
    for s in scs:
        out.setdefault(s.target.spec["study"], []).append(s)
    return out


def ke0_prior(setup: dict[str, Any]) -> tuple[float, float, str]:
    """(mean of log ke0, SD, source): the onset time scale from the evidence (S1: maximal from week 3).

    Assumption: 'maximal from week N' means N weeks = ``half_lives`` effect-site half-lives.
    """
    spec = setup["exposure_response"]["prior_ke0"]
    onset = find_outcome(get_study(spec["study"]), spec["outcome"], None)
    assert onset.value is not None, onset.name
    half_life_days = onset.value * 7.0 / spec["half_lives"]
    return float(np.log(np.log(2) / half_life_days)), float(spec["log_sd"]), spec["source"]


def fit_exposure_response(
    setup: dict[str, Any], models: Models, pool: Any = None
) -> tuple[ResponseModel, list[dict[str, Any]], float]:
    sc = er_scenarios(setup, models)
    hill = setup["exposure_response"]["fixed"]["hill"]
    acr = [s for s in sc if s.target.spec["endpoint"] == "acr20" and s.target.spec["use"] == "fit"]
    prior_mean, prior_sd, _ = ke0_prior(setup)
    cache: dict[str, Any] = {}
    tau, _ = between_trial(setup)
    studies = by_study(acr)

    def nll(x: np.ndarray) -> float:
        """Minus the log-likelihood of the ACR20 figures, each trial's effect integrated out (a random-effects
        model for binomial data; tau = 0: the pooled binomial likelihood), plus the ke0 prior."""
        m = response_model(x, hill, {})
        penalty = 0.5 * ((x[3] - prior_mean) / prior_sd) ** 2
        return float(-sum(marginal_loglik(study_loglik(m, own, cache), tau) for own in studies.values()) + penalty)

    s0 = setup["exposure_response"]["start"]
    x0 = np.array([s0["intercept_acr20"], np.log(s0["emax"]), np.log(s0["ec50_mg_l"]), np.log(s0["ke0_per_day"])])
    res = optimize.minimize(nll, x0, method="Nelder-Mead", options={"xatol": 1e-5, "fatol": 1e-7, "maxiter": 4000})
    # Each fitted trial's own effect at the ML estimate (its posterior mean given its ACR20 figures): the
    # other endpoints' intercepts are fitted on top of it, and its figures are predicted with it.
    m_hat = response_model(res.x, hill, {})
    u_hat = {k: conditional_mean(study_loglik(m_hat, own, cache), tau) for k, own in studies.items()}
    intercepts = {}
    for endpoint in sorted({s.target.spec["endpoint"] for s in sc} - {"acr20"}):
        own = [s for s in sc if s.target.spec["endpoint"] == endpoint and s.target.spec["use"] == "fit"]
        o = np.array([s.target.observed_pct for s in own])
        nn = np.array([s.target.n for s in own], float)

        def nll1(
            a: float,
            endpoint: str = endpoint,
            own: list[ErScenario] = own,
            o: np.ndarray = o,
            nn: np.ndarray = nn,
        ) -> float:
            m = response_model(res.x, hill, {endpoint: float(a)})
            pred = [predict_response_pct(m, s, cache, u_hat.get(s.target.spec["study"], 0.0)) for s in own]
            return binomial_nll(np.array(pred), o, nn)

        intercepts[endpoint] = float(
            optimize.minimize_scalar(nll1, bounds=(-8, 4), method="bounded", options={"xatol": 1e-7}).x
        )
    model = response_model(res.x, hill, intercepts)
    rows = [
        fit_row(s.target, predict_response_pct(model, s, cache, u_hat.get(s.target.spec["study"], 0.0))) for s in sc
    ]
    global _ER_POSTERIOR, _STUDY_EFFECTS
    draws = laplace_draws(nll, res.x, setup.get("posterior", {}).get("draws_kept", 200), setup["seed"])
    if setup.get("posterior", {}).get("er_sampler") == "emcee":
        draws = er_posterior(setup, nll, res.x, draws, pool)
    _ER_POSTERIOR = np.column_stack([draws[:, 0], np.exp(draws[:, 1:])])
    _STUDY_EFFECTS = study_effect_draws(draws, hill, studies, tau, cache, setup["seed"])
    _STUDY_EFFECTS_ML.clear()
    _STUDY_EFFECTS_ML.update(u_hat)
    thin = slice(None, None, max(1, len(draws) // 25))
    for r, s in zip(rows, sc):
        u_draws = _STUDY_EFFECTS.get(s.target.spec["study"], np.zeros(len(draws)))
        pred = [
            predict_response_pct(response_model(d, hill, intercepts), s, cache, float(u))
            for d, u in zip(draws[thin], u_draws[thin])
        ]
        r["predictive_low95_pct"], r["predictive_high95_pct"] = (
            round(float(v), 2) for v in np.percentile(pred, [2.5, 97.5])
        )
    return model, rows, float(res.fun)


_STUDY_EFFECTS: dict[str, np.ndarray] = {}
_STUDY_EFFECTS_ML: dict[str, float] = {}


def study_effect_draws(
    draws: np.ndarray,
    hill: float,
    studies: dict[str, list[ErScenario]],
    tau: float,
    cache: dict[str, Any],
    seed: int,
) -> dict[str, np.ndarray]:
    """For every fitted trial, one draw of its effect per posterior draw of (intercept, log Emax, log EC50,
    log ke0): from its conditional posterior given that draw and the trial's ACR20 figures (prior
    Normal(0, tau^2)); together the pairs are draws of the joint posterior. tau = 0: no draws."""
    if tau <= 0:
        return {}
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(b"between-trial"),)))
    uniforms = rng.uniform(size=(len(studies), len(draws)))
    out: dict[str, list[float]] = {k: [] for k in studies}
    for j, d in enumerate(draws):
        m = response_model(d, hill, {})
        for i, (k, own) in enumerate(studies.items()):
            out[k].append(float(conditional_draws(study_loglik(m, own, cache), tau, uniforms[i, j : j + 1])[0]))
    return {k: np.array(v) for k, v in out.items()}


def mtx_start_fraction(median_acr_n_pct: float, er: ResponseModel) -> tuple[float, float]:
    """(g, z_m): the background fraction of patients starting MTX with the drug, from the median ACR-N
    ``m`` of an MTX-naive *placebo* arm, and the latent threshold z_m of ACR-N = m.

    With no drug, z = emax g - logit u (u uniform, endpoints.latent_improvement), and ACR-N >= m <=> z >= z_m
    (endpoints.latent_for_acr_n), so P(ACR-N >= m) = expit(emax g - z_m). A published median says half the
    arm is above m; the binomial likelihood of "n/2 of n above m" is maximal at P = 1/2, i.e.
    g = z_m / emax, clipped to [0, 1] (g = 1: MTX alone at the drug's maximal effect). Closed form, so the
    arm's n does not matter; only this one figure is used (the infliximab arms' ACR-N are predictions).
    """
    z_m = latent_for_acr_n(median_acr_n_pct, er.intercepts["acr20"], er.intercepts["acr50"])
    return float(np.clip(z_m / er.emax, 0.0, 1.0)), z_m


def fit_background(setup: dict[str, Any], er: ResponseModel) -> tuple[float, dict[str, Any]]:
    """The MTX-start background fraction from setup ``[background]`` (one evidence figure)."""
    spec = setup["background"]
    for t in setup["exposure_response"]["targets"]:  # the drug effect is fitted where MTX does not start
        if population_constants(t["population"]).get("mtx_start", 0.0):
            raise InputError("exposure_response target", t, "must not be an MTX-start population")
    outcome = find_outcome(get_study(spec["study"]), spec["outcome"], spec["arm"], spec["time_point"])
    assert outcome.value is not None, outcome.name
    g, z_m = mtx_start_fraction(float(outcome.value), er)
    row = {
        "study": spec["study"],
        "outcome": outcome.name,
        "arm": spec["arm"],
        "time_point": spec["time_point"],
        "observed_median_acr_n_pct": float(outcome.value),
        "latent_threshold": z_m,
        "mtx_start_fraction": g,
        "predicted_acr20_pct": 100.0 / (1.0 + float(np.exp(-(er.intercepts["acr20"] + er.emax * g)))),
    }
    return g, row


def with_background(doc: dict[str, Any], setup: dict[str, Any]) -> dict[str, Any]:
    """The calibration document with the MTX-start background fitted on its exposure-response values
    (a step after the exposure-response fit, conditional on it): ``mtx_start_fraction`` in
    [exposure_response.values] and the figure in [background]."""
    if "background" not in setup:
        return doc
    er = models_from(doc, pk=load_model(doc["pk_model"])).response
    g, row = fit_background(setup, er)
    row["pk_fraction_in"] = pk_background(setup)
    doc["exposure_response"]["values"]["mtx_start_fraction"] = g
    doc["background"] = {
        "form": "logit P = intercept + emax (g + (1 - g) f), g = mtx_start_fraction where MTX starts with the drug",
        "source": setup["background"]["source"],
        "fit": [row],
    }
    return doc


def s10_check(models: Models, setup: dict[str, Any]) -> dict[str, Any]:
    """S10: ACR20 at week 54 higher with trough >= 1 mg/L than below (ATTRACT infliximab arms pooled)."""
    study = get_study("attract")
    above, below = [], []
    for arm in study.arms:
        if arm.regimen is None:
            continue
        cohort = scenario_cohort(models.pk, "attract", setup["n_virtual"], setup["seed"])
        grid = daily_grid(378)
        times, mgkg = regimen_mg_per_kg(arm.regimen, 378.0)
        conc = exposure(models, cohort, dose_table(times, mgkg, cohort.weight_kg), grid).conc_mg_l
        p = models.response.probability("acr20", effective_ce(cohort, models.response.effect_site(grid, conc)[:, -1]))
        above.append(p[conc[:, -1] >= 1.0])
        below.append(p[conc[:, -1] < 1.0])
    a, b = np.concatenate(above), np.concatenate(below)
    outcome = find_outcome(
        get_study("stclair2002"), "trough associated with higher ACR response", "infliximab (all arms)"
    )
    return {
        "study": "stclair2002",
        "outcome": outcome.name,
        "arm": outcome.arm,
        "time_point": "week 54",
        "use": "check",
        "observed": "higher ACR response with trough >= 1 ug/mL",
        "predicted_acr20_trough_ge_1_pct": round(100 * float(a.mean()), 2),
        "predicted_acr20_trough_lt_1_pct": round(100 * float(b.mean()), 2),
        "share_trough_ge_1_pct": round(100 * a.size / (a.size + b.size), 2),
        "inside": bool(a.mean() > b.mean()),
    }


# ------------------------------------------------------------------ the document
def calibrate(setup: dict[str, Any] | None = None, pool: Any = None) -> dict[str, Any]:
    """The calibration document. ``pool`` (an object with ``.map``, default None = this process)
    evaluates the emcee walkers' log posteriors, e.g. on Dask workers; the result does not depend on it."""
    setup = setup or load_setup()
    pk = load_model(setup["pk_model"])
    ada, ada_rows, ada_nll = fit_immunogenicity(setup, pk, pool)
    models = Models(pk, ada, None, inflammation=inflammation(setup))  # type: ignore[arg-type]
    er, er_rows, er_nll = fit_exposure_response(setup, models, pool)
    models = Models(pk, ada, er, inflammation=inflammation(setup))
    doc = {
        "version": setup["version"],
        "inflammation_feedback": inflammation(setup),
        "calibrated_on": dt.date.today().isoformat(),
        "pk_model": setup["pk_model"],
        "pk_model_ada_factor": 1.0 + next(e.theta for e in pk.covariate_effects if e.covariate == "ada"),
        "n_virtual": setup["n_virtual"],
        "seed": setup["seed"],
        "method": "binomial maximum likelihood (Nelder-Mead) on expected shares over a fixed virtual population; "
        "ADA shares as the study's assay reports them (detection fractions by fixed-point iteration); "
        "see the docstring of ifxdose.domain.trials.calibrate and docs/trials.md",
        "immunogenicity": {
            "form": setup["immunogenicity"]["form"],
            "values": {
                "h0_per_day": ada.h0_per_day,
                "beta_low": ada.beta_low,
                "threshold_mg_l": ada.threshold_mg_l,
                "mtx_hazard_ratio": ada.mtx_hazard_ratio,
                "decline_per_day": ada.decline_per_day,
            },
            "fixed_sources": setup["immunogenicity"]["fixed_sources"],
            "prior_beta_low": setup["immunogenicity"].get("prior_beta_low", {}),
            "neg_log_likelihood": ada_nll,
            "fit": ada_rows,
        },
        "exposure_response": {
            "form": setup["exposure_response"]["form"],
            "values": {
                "ke0_per_day": er.ke0_per_day,
                "emax": er.emax,
                "ec50_mg_l": er.ec50_mg_l,
                "hill": er.hill,
                **{f"intercept_{k}": v for k, v in er.intercepts.items()},
                "between_trial_sd_logit": between_trial(setup)[0],
            },
            "between_trial": {
                "sd_logit": between_trial(setup)[0],
                "source": between_trial(setup)[1],
                "level_absorbed": setup["exposure_response"].get("between_trial", {}).get("level_absorbed", {}),
                "study_effects_at_ml": dict(_STUDY_EFFECTS_ML),
            },
            "fixed_sources": {**setup["exposure_response"]["fixed_sources"], "prior_ke0": ke0_prior(setup)[2]},
            "prior_log_ke0": {"mean": ke0_prior(setup)[0], "sd": ke0_prior(setup)[1]},
            "penalised_neg_log_likelihood_acr20": er_nll,
            "fit": er_rows,
            "checks": [s10_check(models, setup)],
        },
        "posterior": {
            "method": "immunogenicity: emcee ensemble MCMC on the binomial likelihood (weak log-normal priors, SD 2, "
            "around the ML estimate); exposure-response: "
            + (
                "emcee ensemble MCMC on the penalised likelihood, walkers started from a Laplace approximation "
                if _ER_SAMPLER_INFO.get("sampler") == "emcee"
                else "Laplace approximation of the penalised likelihood "
            )
            + "(intercept_acr20, log emax, log ec50, log ke0), other intercepts at their ML values",
            "er_sampler": dict(_ER_SAMPLER_INFO),
            "ada_parameters": ["h0_per_day", "beta_low", "mtx_hazard_ratio", "decline_per_day"],
            "ada_draws": [[float(f"{v:.6g}") for v in row] for row in _ADA_POSTERIOR],
            "er_parameters": ["intercept_acr20", "emax", "ec50_mg_l", "ke0_per_day"],
            "er_draws": [[float(f"{v:.6g}") for v in row] for row in _ER_POSTERIOR],
            "study_effect_draws": {k: [float(f"{v:.6g}") for v in u] for k, u in _STUDY_EFFECTS.items()},
        },
    }
    return with_background(doc, setup)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(float(v)) if isinstance(v, float) else str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return "[\n" + "".join(f"  {_toml_value(x)},\n" for x in v) + "]"


def to_toml(doc: dict[str, Any], prefix: str = "") -> str:
    """A small TOML writer for this document (scalars, inline tables, arrays of inline tables)."""
    lines, tables = [], []
    for k, v in doc.items():
        if isinstance(v, dict):
            tables.append((k, v))
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    out = "\n".join(lines) + "\n"
    for k, v in tables:
        name = f"{prefix}{k}"
        out += f"\n[{name}]\n" + to_toml(v, name + ".")
    return out


def predictive_range_pct(row: dict[str, Any]) -> tuple[float, float]:
    """Approximate posterior predictive 95 % range of the *observed* share of a figure: the 95 % range of
    the expected share over the posterior draws, widened at each end by the binomial 95 % half-width for
    the figure's n (normal approximation)."""
    lo, hi, n = row["predictive_low95_pct"] / 100, row["predictive_high95_pct"] / 100, max(int(row["n"]), 1)
    lo -= 1.96 * np.sqrt(lo * (1 - lo) / n)
    hi += 1.96 * np.sqrt(hi * (1 - hi) / n)
    return 100 * max(lo, 0.0), 100 * min(hi, 1.0)


def fit_markdown(doc: dict[str, Any]) -> str:
    """The fit per figure as Markdown tables (docs/trials.md), with the posterior predictive check."""
    out = []
    for part in ("immunogenicity", "exposure_response"):
        out.append(f"\n**{part}** — " + ", ".join(f"{k} = {v:.4g}" for k, v in doc[part]["values"].items()) + "\n")
        out.append(
            "| study | figure | arm | time | use | n | assay (detected share) | observed % (95% CI) | predicted % "
            "| inside | posterior predictive 95 % | PPC |"
        )
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in doc[part]["fit"]:
            assay = f"{r['assay']} ({r['detection']:.2f})" if "assay" in r else "—"
            if "predictive_low95_pct" in r:
                lo, hi = predictive_range_pct(r)
                ppc = f"{lo:.1f}–{hi:.1f} | {'ok' if lo <= r['observed_pct'] <= hi else '**conflict**'}"
            else:
                ppc = "— | —"
            out.append(
                f"| {r['study']} | {r['outcome']} | {r['arm']} | {r['time_point']} | {r['use']} | {r['n']} | {assay} | "
                f"{r['observed']} ({r['ci95_low_pct']:.1f}–{r['ci95_high_pct']:.1f}) | {r['predicted_pct']:.1f} | "
                f"{'yes' if r['inside'] else 'no'} | {ppc} |"
            )
    for b in doc.get("background", {}).get("fit", []):
        out.append(
            f"\nBackground (MTX starts with the drug): {b['study']} {b['outcome']}, {b['arm']}, {b['time_point']} "
            f"= {b['observed_median_acr_n_pct']:g} % -> latent threshold {b['latent_threshold']:.3f}, "
            f"mtx_start_fraction g = {b['mtx_start_fraction']:.3f} (ACR20 of that arm {b['predicted_acr20_pct']:.1f} %)."
        )
    for c in doc["exposure_response"].get("checks", []):
        out.append(
            f"\nS10 check: predicted ACR20 at week 54 {c['predicted_acr20_trough_ge_1_pct']:.1f}% with trough "
            f">= 1 mg/L vs {c['predicted_acr20_trough_lt_1_pct']:.1f}% below "
            f"({c['share_trough_ge_1_pct']:.0f}% of patients >= 1 mg/L): {'consistent' if c['inside'] else 'not consistent'}."
        )
    return "\n".join(out)


def calibration_document_text(doc: dict[str, Any]) -> str:
    """The calibration as the TOML text of ``calibration.toml`` (the CLI writes it)."""
    return "# Written by ifxdose trial calibrate; do not edit by hand.\n" + to_toml(doc)


def stored_calibration_text() -> str:
    """The packaged ``calibration.toml`` (the one the trials run with)."""
    return (DATA / "calibration.toml").read_text(encoding="utf-8")
