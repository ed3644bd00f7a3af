"""Run a trial's arms on virtual populations of the trial's size, with replicates.

``run_trial("attract", replicates=100, seed=1)`` -> :class:`TrialResult`: per quantity, the
published value, the simulated median and 95 % interval over replicates (the spread of a
trial of that size: sampling of patients, ADA and responses, and, for the MBMA default PK model,
one posterior draw of its parameters per replicate),
and whether the published value falls inside. Deterministic for a seed: replicate r, arm a
draws from ``SeedSequence(seed, spawn_key=(r, a))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from ifxdose.core.errors import InputError
from ifxdose.domain.dosing.cost import vial_price
from ifxdose.domain.evidence import Outcome, cite, get_study
from ifxdose.domain.policies import get_policy
from ifxdose.domain.policies.programmed import tnf_tier
from ifxdose.domain.trials.adaptive import maintenance_arm, programmed_arm, start_arm
from ifxdose.domain.trials.calibrate import find_outcome
from ifxdose.domain.trials.definitions import ArmSpec, Quantity, Trial, get_trial
from ifxdose.domain.trials.endpoints import (
    acr_n_pct,
    component_gaps,
    components_at,
    das28_pair,
    eular_response,
    latent_improvement,
)
from ifxdose.domain.trials.engine import (
    CRP_OCCASION_SIGMA,
    LOD_MG_L,
    ArmRun,
    crp_course,
    daily_grid,
    effective_ce,
    fixed_arm,
    make_cohort,
    measured,
    measured_crp,
    regimen_mg_per_kg,
    reported_ada,
    response_background,
)
from ifxdose.domain.trials.mbma import MODEL_NAME as MBMA_MODEL
from ifxdose.domain.trials.mbma import posterior_models
from ifxdose.domain.trials.models import (
    ENDPOINTS,
    Models,
    load_models,
    point_trial_effect,
    posterior_variants,
    shift_intercepts,
)
from ifxdose.domain.trials.population import virtual_population
from ifxdose.domain.trials.progression import progression_records


def simulate_arm(models: Models, trial: Trial, arm: ArmSpec, n: int, rng: np.random.Generator) -> ArmRun:
    population = arm.population or trial.population
    cohort = make_cohort(virtual_population(population, n, rng), models, rng, population=population)
    grid = daily_grid(trial.horizon_day)
    if arm.kind == "placebo":
        return fixed_arm(models, cohort, None, None, grid)
    if arm.regimen is None:
        raise InputError("arm regimen", arm.name, f"an arm of kind {arm.kind!r} needs a regimen")
    if arm.kind == "fixed":
        times, mgkg = regimen_mg_per_kg(arm.regimen, trial.horizon_day)
        return fixed_arm(models, cohort, times, mgkg, grid)
    if arm.kind == "start":
        return start_arm(models, cohort, arm.regimen, grid)
    if arm.kind == "programmed":
        return programmed_arm(models, cohort, arm.regimen, grid)
    if arm.kind in ("tdm", "standard-maintenance"):
        return maintenance_arm(models, cohort, arm.regimen, grid, trial.entry_day, trial.horizon_day, arm.kind == "tdm")
    raise InputError(
        "arm kind", arm.kind, "known kinds are placebo, fixed, start, programmed, tdm, standard-maintenance"
    )


def drug_cost_jpy(run: ArmRun, from_day: float, to_day: float) -> np.ndarray:
    """Per patient: vials (rounded up per infusion, Assumption: no tolerance) x the Remicade price."""
    if run.doses is None:
        return np.zeros(run.cohort.n)
    price = vial_price()
    t = run.doses.time_days
    given = (t >= from_day) & (t <= to_day)
    vials = np.ceil(np.where(given, run.doses.amount_mg, 0.0) / price.vial_mg - 1e-9)
    return np.asarray(vials.sum(axis=1) * float(price.price), dtype=float)


def arm_records(models: Models, trial: Trial, run: ArmRun) -> dict[str, np.ndarray]:
    """Per-patient values the quantities read (see :mod:`ifxdose.domain.trials.metrics`)."""
    grid, conc = run.exposure.grid_days, run.exposure.conc_mg_l
    rec: dict[str, np.ndarray] = {}
    if trial.response_days:
        ce = models.response.effect_site(grid, conc)
        g = response_background(models, run.cohort)
        for day in trial.response_days:
            k = int(np.searchsorted(grid, day))
            for endpoint in (e for e in ENDPOINTS if e in models.response.intercepts):
                rec[f"{endpoint}@{day:g}"] = run.cohort.response_u < models.response.probability(
                    endpoint, effective_ce(run.cohort, ce[:, k]), g
                )
        rec.update(continuous_endpoint_records(models, trial.response_days, run, ce, occasions(trial)))
        rec.update(radiographic_records(models, trial.response_days, run, ce))
    for j, day in enumerate(trial.trough_days):
        c = conc[:, int(np.searchsorted(grid, day))]
        rec[f"measured@{day:g}"] = measured(models, c, run.cohort.residual_z[:, -1 - j])
        rec[f"undetectable@{day:g}"] = rec[f"measured@{day:g}"] < LOD_MG_L
    if models.inflammation and "crp_mg_l" in run.cohort.covariates:
        rec.update(crp_records(run, trial, occasions(trial)))
    rec["ada_true"] = run.exposure.onset_day <= trial.horizon_day
    rec["ada"] = reported_ada(run, trial.horizon_day, trial.ada_assay)
    rec["cost_jpy"] = drug_cost_jpy(run, trial.entry_day, trial.horizon_day)
    rec["mtx_dose_mg_week"] = run.cohort.covariates["mtx_dose_mg_week"]
    rec["tnf_tier"] = np.array([tnf_tier(float(x)) for x in run.cohort.covariates["tnf_pg_ml"]])
    rec["tnf_tier_high"] = rec["tnf_tier"] == "high"
    rec.update(run.flags)
    if "final_dose_mg_per_kg" in run.flags:
        policy = get_policy("nordrum-tdm")
        end = rec[f"measured@{trial.horizon_day:g}"]
        low, high = float(getattr(policy, "low_mg_l")), float(getattr(policy, "high_mg_l"))
        rec["in_range_end"] = (end >= low) & (end <= high)
        rec["dose_raised"] = np.nan_to_num(run.flags["final_dose_mg_per_kg"]) > 3.0
        rec["interval_shortened"] = np.nan_to_num(run.flags["final_interval_weeks"], nan=8.0) < 8.0
    return rec


def radiographic_records(models: Models, days: tuple[float, ...], run: ArmRun, ce: np.ndarray) -> dict[str, np.ndarray]:
    """mTSS change (``mtss@<day>``) from the patient's CRP course and effect-site concentration
    (domain/trials/progression.py), with baseline CRP and ESR for subgroup rows; empty when progression is
    not calibrated or the patients have no baseline CRP."""
    cov = run.cohort.covariates
    if models.progression is None or "crp_mg_l" not in cov:
        return {}
    crp = crp_course(run.cohort, run.exposure.conc_mg_l)
    rec = progression_records(
        models.progression,
        days,
        run.exposure.grid_days,
        crp,
        effective_ce(run.cohort, ce),
        run.cohort.progression_z,
        run.cohort.reading_z,
        CRP_OCCASION_SIGMA if run.cohort.crp_level_mg_l is not None else 0.0,
    )
    rec["crp0_mg_l"] = np.asarray(cov["crp_mg_l"], float)
    if "esr_mm_h" in cov:
        rec["esr0_mm_h"] = np.asarray(cov["esr_mm_h"], float)
    return rec


DAS28_COMPONENTS = ("tjc28", "sjc28", "ptga_mm", "esr_mm_h", "crp_mg_l")


def occasions(trial: Trial) -> dict[float, int]:
    """Day -> column of the patients' CRP occasion draws (engine.measured_crp): the trial's distinct
    measurement days after baseline (trough and response days), in order."""
    return {d: j for j, d in enumerate(sorted(set(trial.trough_days) | set(trial.response_days)))}


def continuous_endpoint_records(
    models: Models, days: tuple[float, ...], run: ArmRun, ce: np.ndarray, occasion: dict[float, int] | None = None
) -> dict[str, np.ndarray]:
    """ACR-N, ACR70, DAS28-CRP/ESR and EULAR response (by DAS28-CRP) on every response day
    (:mod:`ifxdose.domain.trials.endpoints`); empty when a component or the ACR50 threshold is missing."""
    cov, intercepts = run.cohort.covariates, models.response.intercepts
    if not all(c in cov for c in DAS28_COMPONENTS) or "acr50" not in intercepts:
        return {}
    grid = run.exposure.grid_days
    base = {c: np.asarray(cov[c], float) for c in DAS28_COMPONENTS}
    crp = crp_course(run.cohort, run.exposure.conc_mg_l) if models.inflammation else None
    das_crp0, das_esr0 = das28_pair(components_at(base, np.zeros(run.cohort.n), None))
    rec: dict[str, np.ndarray] = {"das28_crp@0": das_crp0, "das28_esr@0": das_esr0}
    g = response_background(models, run.cohort)
    # the spread of ACR-N's parts after baseline (endpoints.component_gaps; session 6), as START's joint counts
    gaps = None if run.cohort.component_z is None else component_gaps(run.cohort.component_z)
    for day in days:
        k = int(np.searchsorted(grid, day))
        z = latent_improvement(models.response.drug_logit(effective_ce(run.cohort, ce[:, k]), g), run.cohort.response_u)
        acrn = acr_n_pct(z, intercepts["acr20"], intercepts["acr50"])
        crp_k = None if crp is None else measured_crp(run.cohort, crp[:, k], (occasion or {}).get(day, 0))
        das_crp, das_esr = das28_pair(components_at(base, acrn, crp_k, gaps, models.joint_spread_sigma))
        eular = eular_response(das_crp0, das_crp)
        rec.update(
            {
                f"acrn@{day:g}": acrn,
                f"acr70@{day:g}": acrn >= 70.0,
                f"das28_crp@{day:g}": das_crp,
                f"das28_esr@{day:g}": das_esr,
                f"das28_crp_remission@{day:g}": das_crp < DAS28_REMISSION,
                f"eular_good@{day:g}": eular == "good",
                f"eular_response@{day:g}": eular != "none",
            }
        )
    return rec


#: DAS28 remission: < 2.6 (ACR/EULAR 2011, domain/scores/das28.py; Assumption: applied to DAS28-CRP as
#: the Japanese trials of the time did, not the 2.4 of Fleischmann 2017).
DAS28_REMISSION = 2.6


#: Assumption: CRP above 10 mg/L is "high" and at or below it "normal" (a common upper limit of normal;
#: Elliott 1993, S1, reports "CRP normalised in 17 of 19 with high CRP" without the limit).
CRP_NORMAL_MG_L = 10.0


def crp_records(run: ArmRun, trial: Trial, occasion: dict[float, int] | None = None) -> dict[str, np.ndarray]:
    """CRP under drug (engine.crp_course, from the final profiles with ADA): the measured baseline, the
    measured CRP per trough day (one occasion draw each, engine.measured_crp), its fall in % of the measured
    baseline, and "normalised" (high at the measured baseline; the patient's level <= CRP_NORMAL_MG_L at some
    day: Assumption, judged on the level, not on one noisy draw)."""
    grid = run.exposure.grid_days
    crp = crp_course(run.cohort, run.exposure.conc_mg_l)
    crp0 = run.cohort.covariates["crp_mg_l"]
    rec = {"crp0_mg_l": crp0, "crp_high": crp0 > CRP_NORMAL_MG_L}
    rec["crp_normalised"] = rec["crp_high"] & (crp.min(axis=1) <= CRP_NORMAL_MG_L)
    for day in trial.trough_days:
        c = measured_crp(run.cohort, crp[:, int(np.searchsorted(grid, day))], (occasion or {}).get(day, 0))
        rec[f"crp@{day:g}"] = c
        rec[f"crp_fall_pct@{day:g}"] = 100.0 * (1.0 - c / crp0)
    return rec


def replicate_records(
    models: Models, trial: Trial, n: int | None, seed: int, r: int
) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for a, arm in enumerate(trial.arms):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(r, a)))
        out[arm.name] = arm_records(models, trial, simulate_arm(models, trial, arm, n or trial.arm_n(arm), rng))
    return out


# ------------------------------------------------------------------------------ comparison
def published(q: Quantity) -> Outcome | None:
    if q.ref is None or not q.ref.study:
        return None
    return find_outcome(get_study(q.ref.study), q.ref.outcome, q.ref.arm, q.ref.time_point)


def published_for_compare(q: Quantity, outcome: Outcome | None) -> tuple[float | None, float | None, str]:
    """(low, high, relation) of the published value on the simulated metric's scale."""
    if outcome is None:
        return None, None, ""
    if outcome.unit == "count" and outcome.total and outcome.value is not None and q.unit == "%":
        v = 100.0 * outcome.value / outcome.total
        return v, v, outcome.relation
    if outcome.value is None:
        return outcome.low, outcome.high, "range"
    return outcome.value, outcome.value, outcome.relation


#: How the 95 % interval is read off the replicates: order statistics at plotting position p (n + 1)
#: (numpy's "weibull"; Hyndman and Fan, Am Stat 1996;50:361, type 6), whose expected coverage of one more
#: draw from the same distribution is exactly p_high - p_low = 95 % once n >= 39 replicates (E[F(x_(k))] =
#: k / (n + 1)). The linear interpolation used until session 8 (position p (n - 1) + 1) covers about 86 % at
#: n = 20 and 93 % at n = 100 (uniform draws: tests/trials/test_replicate_interval.py; about 87 % at n = 20 for normal
#: ones, a Monte Carlo with the exact normal CDF, not a test).
INTERVAL_METHOD = "weibull"
#: Fewer replicates than this cannot give a 95 % interval: the positions fall outside the sample and the
#: interval is the sample's range, of expected coverage (n - 1) / (n + 1).
MIN_REPLICATES_FOR_95 = 39
#: Replicates of a whole trial unless the caller says otherwise (CLI ``trial run``, the validation scripts):
#: enough for a 95 % interval, with a bound's Monte Carlo error of about +-1.5 percentile points.
DEFAULT_REPLICATES = 100


def replicate_interval_coverage(replicates: int) -> float:
    """Expected coverage of one more trial by ``replicate_interval`` over ``replicates`` values: 0.95 from
    ``MIN_REPLICATES_FOR_95`` on, below it the sample's range, (n - 1) / (n + 1)."""
    return 0.95 if replicates >= MIN_REPLICATES_FOR_95 else (replicates - 1) / (replicates + 1)


def replicate_interval(values: np.ndarray, method: str | None = None) -> tuple[float, float, float]:
    """(median, 2.5th, 97.5th percentile) of the replicates' values: the predictive 95 % interval of one more
    trial of the same design (``INTERVAL_METHOD``)."""
    how: Any = method or INTERVAL_METHOD  # one of numpy's percentile methods
    med, lo, hi = np.percentile(np.asarray(values, float), [50, 2.5, 97.5], method=how)
    return float(med), float(lo), float(hi)


def inside(q: Quantity, outcome: Outcome | None, lo: float, hi: float) -> bool | None:
    """Is the published value consistent with the simulated 95 % interval [lo, hi]?"""
    if q.metric is None or outcome is None or not np.isfinite(lo):
        return None
    if q.check == "positive":
        return bool(lo > 0)
    a, b, rel = published_for_compare(q, outcome)
    if a is None or b is None:
        return None
    if rel in ("<", "<="):
        return bool(lo <= b)
    if rel in (">", ">="):
        return bool(hi >= a)
    return bool(lo <= b and hi >= a)  # a point (a = b) or a range: overlap


@dataclass
class TrialResult:
    trial: Trial
    n: int | None
    replicates: int
    seed: int
    calibration_version: str
    values: dict[int, list[float]] = field(default_factory=dict)  # quantity index -> per replicate
    parameter_uncertainty: bool = False

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for i, q in enumerate(self.trial.quantities):
            outcome = published(q)
            vals = np.array(self.values.get(i, []), float)
            finite = vals[np.isfinite(vals)]
            med, lo, hi = replicate_interval(finite) if finite.size else (np.nan,) * 3
            out.append(
                {
                    "quantity": q.label,
                    "arm": q.ref.arm if q.ref else None,
                    "role": q.role,
                    "unit": q.unit,
                    "published": outcome.value_text() if outcome is not None else None,
                    "published_time": outcome.time_point if outcome is not None else None,
                    "source": cite(q.ref.study) if q.ref and q.ref.study else None,
                    "simulated_median": None if q.metric is None or not np.isfinite(med) else float(med),
                    "simulated_low95": None if q.metric is None or not np.isfinite(lo) else float(lo),
                    "simulated_high95": None if q.metric is None or not np.isfinite(hi) else float(hi),
                    "inside_95": inside(q, outcome, lo, hi),
                    "note": q.note,
                }
            )
        return out

    def summary(self) -> dict[str, int]:
        compared = [r for r in self.rows() if r["inside_95"] is not None]
        return {
            "compared": len(compared),
            "inside": sum(r["inside_95"] for r in compared),
            "not_modelled": sum(r["role"] == "not modelled" for r in self.rows()),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial": self.trial.name,
            "title": self.trial.title,
            "study": cite(self.trial.study),
            "n_per_arm": self.n or {a.name: self.trial.arm_n(a) for a in self.trial.arms},
            "replicates": self.replicates,
            "seed": self.seed,
            "calibration_version": self.calibration_version,
            "parameter_uncertainty": self.parameter_uncertainty,
            "summary": self.summary(),
            "rows": self.rows(),
        }


def replicate_models(models: Models, replicates: int, study: str | None = None, seed: int = 0) -> list[Models]:
    """One posterior draw per replicate (parameter uncertainty): ADA and exposure-response draws from
    ``data/calibration.toml`` and, for the MBMA default, PK draws from ``data/mbma_posterior.toml``; with
    ``study``, the trial's effect on the response intercepts too (between-trial heterogeneity,
    ``models.trial_effects``)."""
    variants = posterior_variants(models, replicates, study, seed)
    if models.pk.name != MBMA_MODEL:
        return variants
    return [replace(v, pk=pk) for v, pk in zip(variants, posterior_models(replicates))]


def run_trial(
    name: str,
    n: int | None = None,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    models: Models | None = None,
    progress: Callable[[int], None] | None = None,
    map_fn: Callable[..., Any] | None = None,
    parameter_uncertainty: bool = True,
) -> TrialResult:
    """Simulate every arm ``replicates`` times; ``n`` overrides every arm's size.

    ``map_fn(fn, replicate_numbers)`` (default: the built-in ``map``) may run the replicates
    elsewhere (e.g. as Dask tasks, ``ifxdose.adapters.scale``); it must yield the results in
    order. Each replicate draws from its own seed sequence, so the result is the same.

    With ``parameter_uncertainty`` (default) replicate r uses the r-th of ``replicates`` evenly spaced
    posterior draws of the model parameters and the trial's effect on the response intercepts (its own
    posterior for a trial the calibration fitted, a new trial's draw otherwise: between-trial heterogeneity,
    ``models.trial_effects``), so the 95 % interval holds parameter, trial and sampling uncertainty. Without
    it: the point estimate (with a fitted trial's own effect at the ML parameters) and the sampling spread.
    """
    if n is not None and n <= 0:
        raise InputError("n", n, "allowed range is [1, inf) patients per arm")
    if replicates <= 0:
        raise InputError("replicates", replicates, "allowed range is [1, inf)")
    trial = get_trial(name)
    models = models or load_models()
    result = TrialResult(trial, n, replicates, seed, models.calibration_version)
    per_replicate = replicate_models(models, replicates, trial.study, seed) if parameter_uncertainty else []
    result.parameter_uncertainty = bool(per_replicate) and per_replicate[0] is not models
    if not result.parameter_uncertainty:  # the point estimate, with a fitted trial's own effect
        u = point_trial_effect(trial.study)
        per_replicate = [
            models if u == 0.0 else replace(models, response=shift_intercepts(models.response, u))
        ] * replicates

    def replicate(r: int) -> list[tuple[int, float]]:
        records = replicate_records(per_replicate[r], trial, n, seed, r)
        return [(i, q.metric(records)) for i, q in enumerate(trial.quantities) if q.metric is not None]

    for r, values in enumerate((map_fn or map)(replicate, range(replicates))):
        for i, v in values:
            result.values.setdefault(i, []).append(v)
        if progress:
            progress(r + 1)
    return result
