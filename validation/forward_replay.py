"""Forward-replay evaluation of Bayesian feedback, as clinicians use it.

A simulated cohort on the Japanese label regimen (3 mg/kg at weeks 0, 2, 6, then every
8 weeks) with troughs at weeks 6, 14, 22, 30, 38 and 46 (assay: proportional + additive
error of the model; LLOQ 0.1 mg/L, M3). For each patient the troughs are revealed one
at a time; before each new trough we predict it
- a priori: the population model (eta = 0) with the patient's covariates;
- a posteriori: the MAP estimate from the troughs revealed so far;
and compare with the measured trough. Reported: RMSE and mean prediction error (MPE) in
mg/L, and the median absolute percentage error, per number of troughs already known.

Assumptions: weights uniform 45-90 kg; the model's other covariates (CRP, albumin, TNF-alpha, MTX)
from the ATTRACT-like virtual RA population and known to the estimator; true random effects drawn from the model's own
omega (the model is correct by construction: this measures the gain from feedback, not
model misspecification). Below-LLOQ measured troughs are left out of the error metrics.

Run: ``.venv/bin/python validation/forward_replay.py [--n 200] [--seed 1] [--markdown]``
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from ifxdose.core.estimation import Observations, Problem, estimate_map
from ifxdose.core.pk.dose import Dose
from ifxdose.domain.modelfiles import default_model_name, load_model
from ifxdose.domain.trials.population import virtual_population

DOSE_WEEKS = [0, 2, 6, 14, 22, 30, 38, 46]
TROUGH_WEEKS = [6, 14, 22, 30, 38, 46]
LLOQ_MG_L = 0.1


def run(n: int, seed: int, model_name: str) -> dict:
    m = load_model(model_name)
    rng = np.random.default_rng(seed)
    days = np.array(TROUGH_WEEKS, float) * 7
    errors = {"prior": [[] for _ in days], "posterior": [[] for _ in days]}
    # Covariates the model uses besides weight (CRP, albumin, TNF-alpha, MTX) from the ATTRACT-like
    # virtual RA population (domain/trials/data/population.toml), known to the estimator as labs are.
    pop = virtual_population("attract", n, np.random.default_rng(seed + 1000))
    extra = [k for k in m.covariates if k not in ("weight_kg", "ada") and k in pop]
    for i in range(n):
        w = rng.uniform(45, 90)
        pr = Problem(
            m,
            np.array([-np.inf]),
            {"weight_kg": np.array([w]), **{k: pop[k][i : i + 1] for k in extra}},
            [Dose.infusion(wk * 7.0, 3 * w) for wk in DOSE_WEEKS],
        )
        eta = m.sample_eta(1, rng)
        true = pr.predict(eta, days)[0]
        y = true + m.residual_sd_mg_l(true) * rng.standard_normal(days.size)
        y = np.where(y < LLOQ_MG_L, np.nan, y)
        prior_pred = pr.predict(np.zeros((1, len(m.eta_parameters))), days)[0]
        for j in range(days.size):
            if np.isnan(y[j]):
                continue
            known = Observations(days[:j], y[:j], np.where(np.isnan(y[:j]), LLOQ_MG_L, np.nan))
            fit = estimate_map(pr, known)
            post = pr.predict(fit.eta[None, :], days[j : j + 1])[0, 0]
            errors["prior"][j].append((prior_pred[j] - y[j], y[j]))
            errors["posterior"][j].append((post - y[j], y[j]))
    rows = []
    for j, wk in enumerate(TROUGH_WEEKS):
        row = {"trough_week": wk, "troughs_known": j, "n": len(errors["prior"][j])}
        for kind in ("prior", "posterior"):
            e = np.array([a for a, _ in errors[kind][j]])
            obs = np.array([b for _, b in errors[kind][j]])
            row[f"{kind}_rmse_mg_l"] = float(np.sqrt(np.mean(e**2)))
            row[f"{kind}_mpe_mg_l"] = float(np.mean(e))
            row[f"{kind}_median_ape_pct"] = float(np.median(np.abs(e) / obs) * 100)
        rows.append(row)
    return {"model": model_name, "n_patients": n, "seed": seed, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--model", default=default_model_name())
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    res = run(args.n, args.seed, args.model)
    if not args.markdown:
        print(json.dumps(res, indent=2))
        return
    print(f"model {res['model']}, {res['n_patients']} simulated patients, seed {res['seed']}\n")
    print(
        "| trough at week | troughs known | n | RMSE a priori (mg/L) | RMSE Bayesian | MPE a priori | MPE Bayesian | median APE a priori | median APE Bayesian |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in res["rows"]:
        print(
            f"| {r['trough_week']} | {r['troughs_known']} | {r['n']} | {r['prior_rmse_mg_l']:.2f} | {r['posterior_rmse_mg_l']:.2f} | "
            f"{r['prior_mpe_mg_l']:+.2f} | {r['posterior_mpe_mg_l']:+.2f} | {r['prior_median_ape_pct']:.0f}% | {r['posterior_median_ape_pct']:.0f}% |"
        )


if __name__ == "__main__":
    main()
