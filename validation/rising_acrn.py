"""RISING's mean ACR-N at week 54 (S11; Takeuchi 2009, Mod Rheumatol 19:478): what is compared, and how far
the simulated patients are from it (docs/trials.md, "RISING's mean ACR-N: the definition checked").

Not a fit: nothing here changes a model or a row of ``ifxdose trial run``. It prints, over the same replicates
and posterior draws as ``ifxdose trial run rising --replicates 20 --seed 1``, for the 3 and 10 mg/kg arms:

- the compared statistic (mean ACR-N at week 54 over every randomised patient: the abstract's definition) and,
  as sensitivities of the parts of the definition the abstract does not give (not adopted), the median, the
  mean with worsening floored at 0 %, and the share of the worst patients a completers-only analysis would have
  to drop for the rest's mean to reach the published one;
- the ACR20 / ACR50 / ACR70 shares of the same patients;
- the shift of every simulated patient's ACR-N (the model's latent improvement, in ACR-N points before the
  [-100, 100] clip) that would give the published mean, and the ACR20 / ACR50 shares the shifted patients
  would have: what the published figure says about the response *level*, in the model's own terms.

The same for ASPIRE's *median* ACR-N at week 54 (S7; St Clair 2004, Arthritis Rheum 50:3432, abstract: "the median
percentage of American College of Rheumatology improvement (ACR-N)" at week 54; the MTX + placebo arm is a
calibration figure, the infliximab arms are predictions), with the shift computed for the median.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python validation/rising_acrn.py`` (about half a minute); prints JSON.
"""

from __future__ import annotations

import json

import numpy as np
from scipy.optimize import brentq

from ifxdose.domain.trials import load_models
from ifxdose.domain.trials.definitions import get_trial
from ifxdose.domain.trials.endpoints import latent_improvement
from ifxdose.domain.trials.engine import effective_ce, response_background
from ifxdose.domain.trials.runner import replicate_models, simulate_arm

#: S11 (abstract, Takeuchi 2009): mean ACR-N at week 54, the primary endpoint.
PUBLISHED = {"3 mg/kg q8w": 51.3, "10 mg/kg q8w": 58.3}
#: S7 (abstract, St Clair 2004): median ACR-N at week 54.
PUBLISHED_ASPIRE = {"MTX + placebo": 26.4, "MTX + 3 mg/kg q8w": 38.9, "MTX + 6 mg/kg q8w": 46.7}
DAY = 378.0
REPLICATES = 20
SEED = 1


def unclipped_acr_n(z: np.ndarray, intercept_acr20: float, intercept_acr50: float) -> np.ndarray:
    """ACR-N before the [-100, 100] clip (endpoints.acr_n_pct without np.clip)."""
    z20, z50 = -intercept_acr20, -intercept_acr50
    return 20.0 + 30.0 * (z - z20) / (z50 - z20)


def shift_for_mean(raw_acr_n: np.ndarray, target_mean: float, statistic: str = "mean") -> float:
    """The shift s (ACR-N points) with stat(clip(raw + s, -100, 100)) = target (monotone in s); ``statistic``
    "mean" or "median"."""
    stat = np.mean if statistic == "mean" else np.median
    return float(brentq(lambda s: float(stat(np.clip(raw_acr_n + s, -100, 100))) - target_mean, -300.0, 300.0))


def worst_excluded_for_mean(acr_n: np.ndarray, target_mean: float, statistic: str = "mean") -> float:
    """The smallest share (%) of patients, removed from the lowest ACR-N up, after which the rest's mean (or
    median) reaches ``target_mean``: a bound on what a completers-only analysis (withdrawals = the worst
    responders) could do."""
    x = np.sort(acr_n)[::-1]
    if statistic == "mean":
        running = np.cumsum(x) / np.arange(1, x.size + 1)
    else:
        running = np.array([np.median(x[: m + 1]) for m in range(x.size)])
    kept = np.nonzero(running >= target_mean)[0]
    return 100.0 * (1.0 - (int(kept.max()) + 1) / x.size) if kept.size else 100.0


def summary(raw: np.ndarray, target: float, statistic: str = "mean") -> dict[str, float]:
    acrn = np.clip(raw, -100.0, 100.0)
    s = shift_for_mean(raw, target, statistic)
    shifted = np.clip(raw + s, -100.0, 100.0)
    return {
        "mean": float(np.mean(acrn)),
        "median": float(np.median(acrn)),
        "mean_floored_at_0": float(np.mean(np.maximum(acrn, 0.0))),
        "acr20_pct": 100 * float(np.mean(acrn >= 20)),
        "acr50_pct": 100 * float(np.mean(acrn >= 50)),
        "acr70_pct": 100 * float(np.mean(acrn >= 70)),
        "clipped_at_minus_100_pct": 100 * float(np.mean(raw <= -100)),
        "worst_excluded_pct_for_published": worst_excluded_for_mean(acrn, target, statistic),
        "shift_to_published_mean": s,
        "shifted_acr20_pct": 100 * float(np.mean(shifted >= 20)),
        "shifted_acr50_pct": 100 * float(np.mean(shifted >= 50)),
    }


def arm_summaries(trial_name: str, published: dict[str, float], statistic: str) -> dict[str, dict]:
    """Per arm: the 2.5 / 50 / 97.5 percentiles over replicates of every :func:`summary` entry."""
    models = load_models()
    trial = get_trial(trial_name)
    rows: dict[str, list[dict[str, float]]] = {a: [] for a in published}
    for r, m in enumerate(replicate_models(models, REPLICATES, trial.study, SEED)):
        for a, arm in enumerate(trial.arms):
            if arm.name not in published:
                continue
            rng = np.random.default_rng(np.random.SeedSequence(SEED, spawn_key=(r, a)))
            run = simulate_arm(m, trial, arm, trial.arm_n(arm), rng)
            grid = run.exposure.grid_days
            ce = m.response.effect_site(grid, run.exposure.conc_mg_l)[:, int(np.searchsorted(grid, DAY))]
            drug = m.response.drug_logit(effective_ce(run.cohort, ce), response_background(m, run.cohort))
            z = latent_improvement(drug, run.cohort.response_u)
            raw = unclipped_acr_n(z, m.response.intercepts["acr20"], m.response.intercepts["acr50"])
            rows[arm.name].append(summary(raw, published[arm.name], statistic))
    out = {}
    for arm, reps in rows.items():
        out[arm] = {
            f"published_{statistic}_acr_n": published[arm],
            **{
                k: [round(float(x), 2) for x in np.percentile([rep[k] for rep in reps], [2.5, 50, 97.5])]
                for k in reps[0]
            },
        }
    return out


def main() -> None:
    print(
        json.dumps(
            {
                "replicates": REPLICATES,
                "seed": SEED,
                "day": DAY,
                "rising (mean)": arm_summaries("rising", PUBLISHED, "mean"),
                "aspire (median)": arm_summaries("aspire", PUBLISHED_ASPIRE, "median"),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
