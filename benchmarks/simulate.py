"""Benchmark: population simulation of the Japanese label regimen to week 54.

Prints JSON: patients per second for 10,000 and 100,000 virtual patients (default RA
model, random effects, daily grid 0..378 days), the same job done by a straightforward
per-patient scipy ``solve_ivp`` baseline on a subset (per-patient rate) in the same run,
the ratio, and the peak resident memory of a 100,000-patient run (child process).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/simulate.py`` (one core).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402

from ifxdose.core.pk import default_model_name, load_model  # noqa: E402
from ifxdose.core.pk.linear import rate_matrix  # noqa: E402
from ifxdose.domain.regimen import parse_regimen  # noqa: E402
from ifxdose.domain.simulation import simulate_population  # noqa: E402

LABEL = "3 mg/kg at weeks 0,2,6 then every 8 weeks until week 54"
GRID = np.arange(0.0, 379.0)  # daily to week 54


def covariates(n: int, rng: np.random.Generator) -> dict:
    return {"weight_kg": rng.uniform(40, 100, n), "mtx": 1.0, "crp_mg_l": rng.uniform(1, 40, n)}


def ours(n: int, seed: int = 1) -> tuple[float, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cov = covariates(n, rng)
    t0 = time.perf_counter()
    res = simulate_population(default_model_name(), LABEL, cov, GRID, seed=seed)
    return time.perf_counter() - t0, res.concentration_mg_l, res.parameters


def ode_baseline(params: dict, weights: np.ndarray, n: int) -> tuple[float, np.ndarray]:
    """Per patient: solve_ivp (LSODA, rtol 1e-6, atol 1e-9) piecewise between dose events."""
    model = load_model(default_model_name())
    doses = parse_regimen(LABEL).doses(378.0)
    out = np.empty((n, GRID.size))
    t0 = time.perf_counter()
    for i in range(n):
        p = {k: float(v[i]) for k, v in params.items()}
        K = rate_matrix(model.structure, p)
        edges = sorted(e for e in {0.0, *(d.time_days for d in doses), *(d.time_days + d.duration_days for d in doses)} if e <= 378.0)
        y = np.zeros(K.shape[0])
        for a, b in zip(edges[:-1], edges[1:]):
            rate = sum(d.amount_mg(weights[i]) / d.duration_days for d in doses if d.time_days <= a < d.time_days + d.duration_days)
            r = np.zeros(K.shape[0])
            r[0] = rate
            inside = GRID[(GRID >= a) & (GRID < b)]
            sol = solve_ivp(lambda _t, A: K @ A + r, (a, b), y, method="LSODA", rtol=1e-6, atol=1e-9,
                            t_eval=np.append(inside, b))
            out[i, (GRID >= a) & (GRID < b)] = sol.y[0, :-1] / p["V1"]
            y = sol.y[:, -1]
        out[i, -1] = y[0] / p["V1"]  # day 378 is a dose time: the sample is pre-dose
    return time.perf_counter() - t0, out


def peak_memory_mb(n: int) -> float:
    """Peak resident set size (MB) of a child process that simulates n patients."""
    proc = subprocess.run([sys.executable, __file__, "--child", str(n)], capture_output=True, text=True, check=True)
    return float(proc.stdout.strip())


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        ours(int(sys.argv[2]))
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return
    ours(1000)  # warm-up (imports, model load)
    result: dict = {"regimen": LABEL, "model": default_model_name(), "grid_points": int(GRID.size)}
    for n in (10_000, 100_000):
        secs = min(ours(n)[0] for _ in range(3))
        result[f"patients_per_s_{n}"] = round(n / secs)
        result[f"seconds_{n}"] = round(secs, 3)
    n_base = 20
    _, conc, params = ours(n_base, seed=7)
    weights = covariates(n_base, np.random.default_rng(7))["weight_kg"]
    base_secs, base_conc = ode_baseline(params, weights, n_base)
    result["ode_baseline_patients_per_s"] = round(n_base / base_secs, 2)
    result["ode_baseline_subset"] = n_base
    result["speedup_vs_ode_baseline"] = round(result["patients_per_s_100000"] / (n_base / base_secs))
    result["max_rel_diff_vs_ode_baseline"] = float(np.max(np.abs(conc - base_conc) / np.maximum(np.abs(base_conc), 1e-3)))
    result["peak_rss_mb_100000"] = round(peak_memory_mb(100_000), 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
