"""Calibrate the spread of ACR-N's parts (endpoints.component_gaps) on the infliximab label's ATTRACT medians.

Run: ``.venv/bin/python validation/fit_joint_counts.py`` (writes ``data/joint_counts.toml``).

ACR-N is the *smallest* of three improvements (%dTJC, %dSJC, the median of the other five core-set measures),
so a patient's joint counts improve by at least ACR-N and, unless they are the limiting part, by more. How
much more is what the infliximab label's Table 8 shows: "Components of ACR 20 at baseline and 54 weeks (Study
RA I)" (REMICADE US prescribing information, Janssen; Study RA I = ATTRACT, Lipsky 2000, NEJM 343:1594),
medians of the pooled infliximab + MTX arms (n = 340): tender joints 32 -> 8, swollen joints 20 -> 7 (the
other five: pain 6.8 -> 3.3, physician global 6.2 -> 2.1, patient global 6.3 -> 3.2, HAQ-DI 1.8 -> 1.3,
CRP 2.4 -> 0.6 mg/dL); placebo + MTX (n = 88): tender 24 -> 16, swollen 19 -> 13. Judged by the medians, the
joint counts improved by 75 % and 65 % on infliximab while ATTRACT's ACR20 at week 54 was 52 % pooled (the
label's Table 3): the joints improve well beyond the composite.

Method. Simulate ATTRACT's five arms once (maximum-likelihood models, fixed seed, ``SCALE`` times each arm's
size); for every patient ACR-N at week 54 (endpoints.acr_n_pct), the baseline TJC28 and SJC28 and the gaps g
(the cohort's ``component_z``). The model's week-54 count is baseline * (1 - ACR-N/100) * exp(-sigma g). One
parameter, sigma, is found by brentq so that the pooled infliximab arms' ratio of medians (median week-54 count /
median baseline count), averaged over the tender and the swollen count, equals the label's (8/32 + 7/20)/2 =
0.30 (the ratio falls monotonically with sigma). Assumptions: the label's medians of 68/66-joint counts give the
fractional improvement of 28-joint counts; the ratio of medians is compared with the simulated ratio of medians
(as the label reports it), on the counts before rounding and assessment error. Calibration figures: the label's
two infliximab medians. The placebo arm's two medians are predictions (reported in the file's [fit]); every
START figure stays a prediction.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import optimize

from ifxdose.core.errors import InputError
from ifxdose.domain.trials.calibrate import to_toml as calibration_toml
from ifxdose.domain.trials.definitions import get_trial
from ifxdose.domain.trials.endpoints import acr_n_pct, component_gaps, joint_count_level, latent_improvement
from ifxdose.domain.trials.engine import effective_ce, response_background
from ifxdose.domain.trials.models import Models, load_models, point_trial_effect, shift_intercepts

SCALE = 10
SEED = 20261201
WEEK54_DAY = 378.0
PLACEBO_ARM = "placebo + MTX"
#: REMICADE US prescribing information, Table 8 (Study RA I = ATTRACT), medians (baseline, week 54).
LABEL_MEDIANS = {
    "infliximab": {"tjc28": (32.0, 8.0), "sjc28": (20.0, 7.0)},
    "placebo": {"tjc28": (24.0, 16.0), "sjc28": (19.0, 13.0)},
}
SIGMA_BRACKET = (0.0, 20.0)


def label_ratio(group: str, count: str) -> float:
    """The label's ratio of medians, week 54 / baseline."""
    base, week54 = LABEL_MEDIANS[group][count]
    return week54 / base


def simulate_attract(models: Models, scale: int = SCALE, seed: int = SEED) -> dict[str, dict[str, np.ndarray]]:
    """Per ATTRACT arm: ACR-N at week 54, baseline TJC28/SJC28 and the gaps (P, 3) of its virtual patients."""
    from ifxdose.domain.trials.runner import simulate_arm

    trial = get_trial("attract")
    # ATTRACT's own level: the calibration fitted its ACR20 figures with a trial effect (models.point_trial_effect).
    models = replace(models, response=shift_intercepts(models.response, point_trial_effect(trial.study)))
    intercepts = models.response.intercepts
    out: dict[str, dict[str, np.ndarray]] = {}
    for a, arm in enumerate(trial.arms):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(b"attract"), a)))
        run = simulate_arm(models, trial, arm, scale * trial.arm_n(arm), rng)
        grid = run.exposure.grid_days
        k = int(np.searchsorted(grid, WEEK54_DAY))
        ce = models.response.effect_site(grid[: k + 1], run.exposure.conc_mg_l[:, : k + 1])[:, k]
        drug = models.response.drug_logit(effective_ce(run.cohort, ce), response_background(models, run.cohort))
        if run.cohort.component_z is None:
            raise InputError("cohort", "component_z", "the cohort has no draws of the ACR-N parts' spread")
        out[arm.name] = {
            "acr_n": acr_n_pct(
                latent_improvement(drug, run.cohort.response_u), intercepts["acr20"], intercepts["acr50"]
            ),
            "tjc28": np.asarray(run.cohort.covariates["tjc28"], float),
            "sjc28": np.asarray(run.cohort.covariates["sjc28"], float),
            "gaps": component_gaps(run.cohort.component_z),
        }
    return out


def ratio_of_medians(arms: list[dict[str, np.ndarray]], count: str, sigma: float) -> float:
    """Median week-54 count / median baseline count of the pooled ``arms`` for ``count`` (tjc28 or sjc28)."""
    column = 0 if count == "tjc28" else 1
    base = np.concatenate([a[count] for a in arms])
    week54 = np.concatenate([joint_count_level(a[count], a["acr_n"], a["gaps"][:, column], sigma) for a in arms])
    return float(np.median(week54) / np.median(base))


def mean_ratio(arms: list[dict[str, np.ndarray]], sigma: float) -> float:
    return 0.5 * (ratio_of_medians(arms, "tjc28", sigma) + ratio_of_medians(arms, "sjc28", sigma))


def calibrate_joint_counts(attract: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    """sigma by brentq on the label's pooled infliximab medians (module docstring), with the placebo check."""
    ifx = [v for k, v in attract.items() if k != PLACEBO_ARM]
    placebo = [attract[PLACEBO_ARM]]
    target = 0.5 * (label_ratio("infliximab", "tjc28") + label_ratio("infliximab", "sjc28"))
    lo, hi = SIGMA_BRACKET
    if not mean_ratio(ifx, hi) < target < mean_ratio(ifx, lo):
        raise InputError("joint-count calibration", "sigma", f"the target {target:.3f} is not bracketed by {lo}-{hi}")
    sigma = float(optimize.brentq(lambda s: mean_ratio(ifx, s) - target, lo, hi, xtol=1e-10))
    fit: dict[str, Any] = {
        "target_infliximab_mean_ratio": target,
        "infliximab_mean_ratio_without_spread": mean_ratio(ifx, 0.0),
        "virtual_patients_per_arm_scale": SCALE,
        "seed": SEED,
    }
    for group, arms in (("infliximab", ifx), ("placebo", placebo)):
        for count in ("tjc28", "sjc28"):
            fit[f"{group}_{count}_label_ratio"] = label_ratio(group, count)
            fit[f"{group}_{count}_simulated_ratio"] = ratio_of_medians(arms, count, sigma)
            fit[f"{group}_{count}_simulated_ratio_without_spread"] = ratio_of_medians(arms, count, 0.0)
        fit[f"{group}_median_acr_n_pct"] = float(np.median(np.concatenate([a["acr_n"] for a in arms])))
    return {
        "version": "1",
        "date": dt.date.today().isoformat(),
        "method": "fit_joint_counts.py docstring: sigma by brentq on the label's pooled infliximab ratio of medians",
        "values": {"sigma": sigma},
        "fit": fit,
    }


def to_toml(doc: dict[str, Any]) -> str:
    """The data file's text (:func:`ifxdose.domain.trials.calibrate.to_toml` with its provenance line)."""
    return (
        "# Written by validation/fit_joint_counts.py (domain/trials/fit_joint_counts.py); do not edit.\n"
        + calibration_toml(doc)
    )


def run(models: Models | None = None) -> dict[str, Any]:
    return calibrate_joint_counts(simulate_attract(models or load_models()))
