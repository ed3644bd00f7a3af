"""Benchmark: MAP estimation and full recommendation with the RA default model.

Prints JSON: median and p95 time per MAP estimate with 4 samples (one below LLOQ for a
quarter of the patients), per full recommendation (MAP + Laplace + SIR with 1000
posterior samples over the candidate grid), and a straightforward ODE-based MAP
(scipy solve_ivp per objective evaluation + scipy minimize) measured in the same run.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/estimate.py``
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402
from scipy.optimize import minimize  # noqa: E402
from scipy.special import log_ndtr  # noqa: E402

from ifxdose.core.estimation import Observations, Problem, estimate_map  # noqa: E402
from ifxdose.core.pk import ROUTE_IV  # noqa: E402
from ifxdose.domain.modelfiles import default_model_name, load_model  # noqa: E402
from ifxdose.domain.patient import PatientHistory  # noqa: E402
from ifxdose.domain.recommend import recommend  # noqa: E402

MODEL = load_model(default_model_name())
DOSE_DAYS = [0.0, 14.0, 42.0, 98.0, 154.0, 210.0]
SAMPLE_DAYS = np.array([42.0, 98.0, 154.0, 210.0])  # troughs before infusions 3-6


def cohort(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    weights = rng.uniform(45, 90, n)
    eta = MODEL.sample_eta(n, rng)
    out = []
    for w, e in zip(weights, eta):
        pr = Problem(
            MODEL, np.array([-np.inf]), {"weight_kg": np.array([w])}, [(d, 3 * w, 2 / 24, ROUTE_IV) for d in DOSE_DAYS]
        )
        c = pr.predict(e[None, :], SAMPLE_DAYS)[0]
        y = c * (1 + MODEL.residual_proportional * rng.standard_normal(4))
        y = np.where(y < 0.1, np.nan, y)
        out.append((pr, Observations(SAMPLE_DAYS, y, np.where(np.isnan(y), 0.1, np.nan)), w))
    return out


def ode_map(pr: Problem, obs: Observations, w: float) -> float:
    """The straightforward way: integrate the ODE for every objective evaluation."""
    omega_inv = np.linalg.inv(MODEL.omega)

    def conc(eta):
        cl, v = (MODEL.parameters["CL"].value * np.exp(eta[0]), MODEL.parameters["V1"].value * np.exp(eta[1]))
        rate_until = [(d, d + 2 / 24, 3 * w / (2 / 24)) for d in DOSE_DAYS]

        def rhs(t, a):
            r = sum(rt for s, e, rt in rate_until if s <= t < e)
            return [r - cl / v * a[0]]

        sol = solve_ivp(
            rhs, (0, SAMPLE_DAYS[-1]), [0.0], t_eval=SAMPLE_DAYS, method="LSODA", rtol=1e-8, atol=1e-10, max_step=1 / 24
        )
        return sol.y[0] / v

    def ofv(eta):
        f = conc(eta)
        sd = np.sqrt(MODEL.residual_additive_mg_l**2 + (MODEL.residual_proportional * f) ** 2)
        blq = obs.below_lloq
        val = eta @ omega_inv @ eta
        val += np.sum(((obs.value_mg_l[~blq] - f[~blq]) / sd[~blq]) ** 2 + 2 * np.log(sd[~blq]))
        val -= 2 * np.sum(log_ndtr((0.1 - f[blq]) / sd[blq]))
        return val

    t0 = time.perf_counter()
    minimize(ofv, np.zeros(2), method="BFGS")
    return time.perf_counter() - t0


def history_for(w: float, y: np.ndarray) -> PatientHistory:
    start = dt.date(2024, 1, 1)
    return PatientHistory.model_validate(
        {
            "patient": {"id": "BENCH", "sex": "female", "birth_year": 1970},
            "weights": [{"date": start.isoformat(), "weight_kg": round(float(w), 1)}],
            "infusions": [
                {"date": (start + dt.timedelta(days=d)).isoformat(), "dose_mg": round(3 * float(w), 1)}
                for d in DOSE_DAYS[:-1]
            ],
            "levels": [
                {
                    "date": (start + dt.timedelta(days=d)).isoformat(),
                    **({"below_lloq": True, "lloq_mg_l": 0.1} if np.isnan(v) else {"value_mg_l": round(float(v), 3)}),
                }
                for d, v in zip(SAMPLE_DAYS[:3], y[:3])
            ],
            "mtx": [{"date": start.isoformat(), "dose_mg_week": 15}],
        }
    )


def main() -> None:
    patients = cohort(100)
    estimate_map(*patients[0][:2])  # warm-up
    map_times = []
    for pr, obs, _ in patients:
        t0 = time.perf_counter()
        estimate_map(pr, obs)
        map_times.append(time.perf_counter() - t0)
    rec_times = []
    for pr, obs, w in patients[:30]:
        h = history_for(w, obs.value_mg_l)
        t0 = time.perf_counter()
        recommend(h, today=dt.date(2024, 6, 10), n_samples=1000)
        rec_times.append(time.perf_counter() - t0)
    ode_times = [ode_map(pr, obs, w) for pr, obs, w in patients[:5]]
    med = float(np.median(map_times))
    print(
        json.dumps(
            {
                "model": MODEL.name,
                "samples_per_patient": 4,
                "map_median_ms": round(1000 * med, 2),
                "map_p95_ms": round(1000 * float(np.quantile(map_times, 0.95)), 2),
                "recommendation_median_ms": round(1000 * float(np.median(rec_times)), 1),
                "recommendation_p95_ms": round(1000 * float(np.quantile(rec_times, 0.95)), 1),
                "recommendation_posterior_samples": 1000,
                "ode_map_median_ms": round(1000 * float(np.median(ode_times)), 1),
                "speedup_map_vs_ode_map": round(float(np.median(ode_times)) / med, 1),
                "targets": {"map_ms": 5, "recommendation_ms": 300},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
