"""Calibrate the radiographic progression model (domain/trials/progression.py) on published figures.

Run: ``.venv/bin/python validation/fit_progression.py`` (writes ``data/progression.toml``).

Method (docs/trials.md, "Radiographic progression"). Simulate ATTRACT's arms and ASPIRE's infliximab arms
once with the calibrated PK, ADA, CRP and response models (maximum-likelihood values, fixed seed,
``SCALE`` times each arm's size); for every patient the inflammation integral
X_i(IC50) = int_0^378 max(CRP_i(t) - 10, 0) (1 - Ce_i/(IC50 + Ce_i)) dt (mg/L x day). A measured change is
true + reading error (SD sigma_r). Then, iterated to a fixed point (sigma_r moves the true CV):

1. omega (between-patient SD of log k) from the coefficient of variation of the *true* mTSS change on
   MTX: ASPIRE's MTX + placebo arm, 3.7 +/- 9.6 (St Clair 2004), true SD sqrt(9.6^2 - sigma_r^2), applied
   to ATTRACT's placebo X_i (core.progression.lognormal_omega_for_cv). Assumption: the CV transfers
   between the two MTX arms.
2. k_typ so that the expected mean change of ATTRACT's placebo + MTX arm is 7.0 at week 54 (Lipsky 2000):
   k_typ = 7.0 / (mean X_i * exp(omega^2 / 2)) (z independent of X; E exp(omega z) = exp(omega^2 / 2)).
3. IC50 so that the expected pooled mean of the four infliximab arms is 0.6 (Lipsky 2000): brentq on
   log IC50 (the pooled mean rises monotonically with IC50).
4. sigma_r from the SD of the change on infliximab in ASPIRE (0.4 +/- 5.8 and 0.5 +/- 5.6, St Clair 2004;
   pooled SD by arm size): sigma_r^2 = SD^2 - Var(true change), the true variance of the simulated ASPIRE
   infliximab patients (E[k^2 X^2] - E[k X]^2, with E exp(2 omega z) = exp(2 omega^2)). Where drug holds
   progression near zero, the spread of the reported change is mostly reading error.

Calibration figures: ATTRACT's two means (and ASPIRE's three SDs, which the replication tables do not
compare). Every other mTSS figure (ASPIRE's means, S8's tertiles, S9's subgroups and tests, S10's
association) is a prediction.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

import numpy as np
from scipy import optimize

from ifxdose.core.errors import InputError
from ifxdose.core.progression import lognormal_omega_for_cv, mtss_change
from ifxdose.domain.evidence import get_study
from ifxdose.domain.trials.calibrate import find_outcome
from ifxdose.domain.trials.calibrate import to_toml as calibration_toml
from ifxdose.domain.trials.definitions import get_trial
from ifxdose.domain.trials.engine import CRP_OCCASION_CV, CRP_OCCASION_SIGMA, crp_course, effective_ce
from ifxdose.domain.trials.models import Models, load_models
from ifxdose.domain.trials.progression import CRP_NORMAL_MG_L, IMAX

SCALE = 30
SEED = 20261130
WEEK54_DAY = 378.0
TARGETS = {
    "placebo": ("lipsky2000", "mean change in modified Sharp score", "placebo + MTX", "week 54"),
    "infliximab": ("lipsky2000", "mean change in modified Sharp score", "infliximab (all arms)", "week 54"),
    "cv": ("aspire", "mean change in van der Heijde-modified Sharp score", "MTX + placebo", "week 54"),
    "reading_3": ("aspire", "mean change in van der Heijde-modified Sharp score", "MTX + 3 mg/kg q8w", "week 54"),
    "reading_6": ("aspire", "mean change in van der Heijde-modified Sharp score", "MTX + 6 mg/kg q8w", "week 54"),
}
ITERATIONS = 50


def published(key: str) -> tuple[float, float | None]:
    """(value, sd) of a target figure from the evidence base."""
    study, name, arm, tp = TARGETS[key]
    o = find_outcome(get_study(study), name, arm, tp)
    if o.value is None:
        raise InputError("progression target", key, "the evidence outcome has no value")
    return float(o.value), None if o.sd is None else float(o.sd)


def inflammation_integral(
    grid: np.ndarray, crp_mg_l: np.ndarray, ce_mg_l: np.ndarray, ic50_mg_l: float, imax: float = IMAX
) -> np.ndarray:
    """X_i (P,) to the last grid day: the mTSS change with k = 1 (core.progression.mtss_change); ``crp_mg_l``
    the CRP level course, fluctuating from occasion to occasion (engine.CRP_OCCASION_SIGMA)."""
    k = np.ones(crp_mg_l.shape[0])
    cum = mtss_change(grid, crp_mg_l, ce_mg_l, k, CRP_NORMAL_MG_L, imax, ic50_mg_l, CRP_OCCASION_SIGMA)
    return np.asarray(cum[:, -1], dtype=float)


def simulate_trial(
    name: str, models: Models, scale: int = SCALE, seed: int = SEED
) -> dict[str, tuple[np.ndarray, ...]]:
    """Per arm of a trial: (grid, CRP course (P, T), effective Ce (P, T)) to week 54."""
    from ifxdose.domain.trials.runner import simulate_arm

    trial = get_trial(name)
    out: dict[str, tuple[np.ndarray, ...]] = {}
    for a, arm in enumerate(trial.arms):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(name.encode()), a)))
        run = simulate_arm(models, trial, arm, scale * trial.arm_n(arm), rng)
        grid = run.exposure.grid_days
        keep = grid <= WEEK54_DAY
        ce = models.response.effect_site(grid, run.exposure.conc_mg_l)
        crp = crp_course(run.cohort, run.exposure.conc_mg_l)
        out[arm.name] = (grid[keep], crp[:, keep], effective_ce(run.cohort, ce)[:, keep])
    return out


def _arm_sd(keys: tuple[str, ...]) -> float:
    """Pooled SD (by arm n) of published changes."""
    ns, var = [], []
    for key in keys:
        study, _, arm, _ = TARGETS[key]
        _, sd = published(key)
        n = next(a.n for a in get_study(study).arms if a.name == arm)
        if sd is None or n is None:
            raise InputError("progression target", key, "needs an SD and an arm n")
        ns.append(float(n))
        var.append(sd**2)
    return float(np.sqrt(np.average(var, weights=ns)))


def calibrate_progression(
    attract: dict[str, tuple[np.ndarray, ...]], aspire: dict[str, tuple[np.ndarray, ...]]
) -> dict[str, Any]:
    """The steps of the module docstring on simulated arms (``simulate_trial``)."""
    placebo_mean, _ = published("placebo")
    ifx_mean, _ = published("infliximab")
    cv_mean, cv_sd = published("cv")
    if cv_sd is None:
        raise InputError("progression target", "cv", "the evidence outcome has no SD")
    ifx_sd = _arm_sd(("reading_3", "reading_6"))
    grid, crp, ce = attract["placebo + MTX"]
    x_placebo = inflammation_integral(grid, crp, ce, 1.0, imax=0.0)
    ifx = [v for k, v in attract.items() if k != "placebo + MTX"]
    aspire_ifx = [v for k, v in aspire.items() if k != "MTX + placebo"]
    crp_only_x = np.concatenate([inflammation_integral(g, c, e, 1.0, 0.0) for g, c, e in ifx])
    lo, hi = np.log(1e-4), np.log(1e4)
    sigma_r, omega, k_typ, ic50, imax = 0.0, 0.0, 0.0, 1.0, IMAX
    for _ in range(ITERATIONS):
        true_sd = float(np.sqrt(max(cv_sd**2 - sigma_r**2, 1e-12)))
        omega = lognormal_omega_for_cv(true_sd / cv_mean, x_placebo)
        k_typ = placebo_mean / (float(np.mean(x_placebo)) * np.exp(omega**2 / 2.0))
        m1 = k_typ * np.exp(omega**2 / 2.0)

        def pooled(c50: float) -> float:
            return float(m1 * np.mean(np.concatenate([inflammation_integral(g, c, e, c50, IMAX) for g, c, e in ifx])))

        if pooled(np.exp(hi)) <= ifx_mean:  # the CRP pathway alone is already at or below the figure
            imax, ic50 = 0.0, 1.0
        else:
            imax = IMAX
            ic50 = float(np.exp(optimize.brentq(lambda u: pooled(float(np.exp(u))) - ifx_mean, lo, hi, xtol=1e-10)))
        x = np.concatenate([inflammation_integral(g, c, e, ic50, imax) for g, c, e in aspire_ifx])
        var_true = float(k_typ**2 * np.exp(2.0 * omega**2) * np.mean(x**2) - (m1 * np.mean(x)) ** 2)
        new = float(np.sqrt(max(ifx_sd**2 - var_true, 0.0)))
        if abs(new - sigma_r) < 1e-9:
            sigma_r = new
            break
        sigma_r = new
    x_aspire = np.concatenate([inflammation_integral(g, c, e, ic50, imax) for g, c, e in aspire_ifx])
    return {
        "version": "2",
        "date": dt.date.today().isoformat(),
        "method": "fit_progression.py docstring: omega and k_typ closed form, IC50 by brentq, reading SD, "
        "iterated to a fixed point",
        "values": {
            "rate_per_mg_l_day": float(k_typ),
            "omega": float(omega),
            "ic50_mg_l": ic50,
            "crp_normal_mg_l": CRP_NORMAL_MG_L,
            "imax": imax,
            "reading_sd_points": sigma_r,
        },
        "fit": {
            "attract_placebo_mean_mtss_change": placebo_mean,
            "attract_infliximab_pooled_mean_mtss_change": ifx_mean,
            "predicted_infliximab_pooled_mean": float(
                k_typ
                * np.exp(omega**2 / 2.0)
                * np.mean(np.concatenate([inflammation_integral(g, c, e, ic50, imax) for g, c, e in ifx]))
            ),
            "predicted_infliximab_pooled_mean_crp_pathway_only": float(
                k_typ * np.exp(omega**2 / 2.0) * np.mean(crp_only_x)
            ),
            "aspire_placebo_sd_target": cv_sd,
            "aspire_placebo_mean_for_cv": cv_mean,
            "true_cv_on_mtx": float(np.sqrt(max(cv_sd**2 - sigma_r**2, 0.0)) / cv_mean),
            "aspire_infliximab_pooled_sd_target": ifx_sd,
            "aspire_infliximab_true_sd": float(
                np.sqrt(
                    k_typ**2 * np.exp(2.0 * omega**2) * np.mean(x_aspire**2)
                    - (k_typ * np.exp(omega**2 / 2.0) * np.mean(x_aspire)) ** 2
                )
            ),
            "placebo_share_without_inflammation_above_normal": float(np.mean(x_placebo == 0.0)),
            "crp_occasion_cv": CRP_OCCASION_CV,
            "virtual_patients_per_arm_scale": SCALE,
            "seed": SEED,
        },
    }


def to_toml(doc: dict[str, Any]) -> str:
    """The data file's text (:func:`ifxdose.domain.trials.calibrate.to_toml` with its provenance line)."""
    return (
        "# Written by validation/fit_progression.py (domain/trials/fit_progression.py); do not edit.\n"
        + calibration_toml(doc)
    )


def run(models: Models | None = None) -> dict[str, Any]:
    m = models or load_models()
    return calibrate_progression(simulate_trial("attract", m), simulate_trial("aspire", m))
