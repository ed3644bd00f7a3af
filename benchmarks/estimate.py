"""Benchmark: MAP estimation and full recommendation with the RA default model.

Prints JSON: median and p95 time per MAP estimate with 4 samples (one below LLOQ for a
quarter of the patients) on the compiled path and on the NumPy path, with same-run
baselines: scipy L-BFGS-B on a numba-compiled closed form (``ratio_map_to_compiled_fit``),
a competent ODE fit (LSODA rtol 1e-6 restarted at every infusion edge, L-BFGS-B;
``speedup_map_vs_ode_map``); a batch of 4,000 subjects in one call against 4,000
sequential fits in the same process (``batch_speedup``: the median over 5 repetitions, after an
untimed one, of the ratio within each repetition's pair of runs, the sequential run right after the
batch; the ratio of the medians beside it; results checked equal); and the
full recommendation (MAP + Laplace + SIR with 1000 posterior samples over the candidate grid).

Run: ``.venv/bin/python benchmarks/estimate.py`` (about a minute; the batch uses all cores,
the single fits one).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402
from scipy.optimize import minimize  # noqa: E402
from scipy.special import log_ndtr  # noqa: E402

from ifxdose.core.estimation import Observations, Problem, compiled, estimate_map  # noqa: E402
from ifxdose.core.estimation.map import MAX_ITER, EstimationError, _prior_geometry, estimate_map_batch  # noqa: E402
from ifxdose.core.pk.dose import Dose  # noqa: E402
from ifxdose.domain.modelfiles import default_model_name, load_model  # noqa: E402
from ifxdose.domain.patient import PatientHistory  # noqa: E402
from ifxdose.domain.recommend import recommend  # noqa: E402

MODEL = load_model(default_model_name())
DOSE_DAYS = [0.0, 14.0, 42.0, 98.0, 154.0, 210.0]
SAMPLE_DAYS = np.array([42.0, 98.0, 154.0, 210.0])  # troughs before infusions 3-6
BATCH_REPEATS = 5  #: batch and sequential runs, interleaved in pairs, after one untimed pair


def cohort(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    weights = rng.uniform(45, 90, n)
    eta = MODEL.sample_eta(n, rng)
    out = []
    for w, e in zip(weights, eta):
        pr = Problem(
            MODEL, np.array([-np.inf]), {"weight_kg": np.array([w])}, [Dose.infusion(d, 3 * w) for d in DOSE_DAYS]
        )
        c = pr.predict(e[None, :], SAMPLE_DAYS)[0]
        y = c * (1 + MODEL.residual_proportional * rng.standard_normal(4))
        y = np.where(y < 0.1, np.nan, y)
        out.append((pr, Observations(SAMPLE_DAYS, y, np.where(np.isnan(y), 0.1, np.nan)), w))
    return out


def _ofv_terms(eta, f, obs, omega_inv):
    sd = np.sqrt(MODEL.residual_additive_mg_l**2 + (MODEL.residual_proportional * f) ** 2)
    blq = obs.below_lloq
    val = eta @ omega_inv @ eta
    val += np.sum(((obs.value_mg_l[~blq] - f[~blq]) / sd[~blq]) ** 2 + 2 * np.log(sd[~blq]))
    return val - 2 * np.sum(log_ndtr((obs.lloq_mg_l[blq] - f[blq]) / sd[blq]))


def ode_map(pr: Problem, obs: Observations) -> tuple[float, np.ndarray]:
    """A competent ODE fit: the 2-compartment ODE integrated by LSODA (rtol 1e-6, atol 1e-9),
    restarted at every infusion start and end so that no step crosses a rate change, levels
    read at the sample times (t_eval); scipy L-BFGS-B from the prior mode."""
    omega_inv = np.linalg.inv(MODEL.omega)
    tv = {k: float(v[0]) for k, v in pr.typical.items()}
    t = pr._table
    starts, amounts, durs = t.time_days[0], t.amount_mg[0], t.duration_days[0]
    edges = np.unique(np.concatenate([starts, starts + durs, [0.0, SAMPLE_DAYS[-1]]]))

    def conc(eta):
        cl, v1 = tv["CL"] * np.exp(eta[0]), tv["V1"] * np.exp(eta[1])
        q, v2 = tv["Q"], tv["V2"]
        out, a = np.zeros(SAMPLE_DAYS.size), np.zeros(2)
        for t0, t1 in zip(edges[:-1], edges[1:]):
            if t1 <= t0:
                continue
            on = (starts <= t0) & (t0 < starts + durs)
            r = float(np.sum(amounts[on] / durs[on]))
            inside = (SAMPLE_DAYS > t0) & (SAMPLE_DAYS <= t1)

            def rhs(_t, y, r=r):
                return [r - (cl + q) / v1 * y[0] + q / v2 * y[1], q / v1 * y[0] - q / v2 * y[1]]

            t_eval = np.append(SAMPLE_DAYS[inside & (SAMPLE_DAYS < t1)], t1)
            sol = solve_ivp(rhs, (t0, t1), a, method="LSODA", rtol=1e-6, atol=1e-9, t_eval=t_eval)
            a = sol.y[:, -1]
            out[inside] = np.append(sol.y[0, :-1], a[0])[: int(inside.sum())] / v1
        return out

    def ofv(eta):
        return _ofv_terms(eta, conc(eta), obs, omega_inv)

    t0 = time.perf_counter()
    res = minimize(ofv, np.zeros(2), method="L-BFGS-B")
    return time.perf_counter() - t0, res.x


def compiled_fit_baseline():
    """What a user would write for speed: the closed form compiled with numba (2-compartment,
    infusions, the same objective with M3), scipy L-BFGS-B (finite-difference gradient)."""
    import numba

    @numba.njit(cache=True)
    def ofv_nb(eta, cl0, v10, q, v2, dose_t, dose_amt, dose_dur, obs_t, y, lloq, blq, oi00, oi11, add, prop):
        cl, v1 = cl0 * np.exp(eta[0]), v10 * np.exp(eta[1])
        k10, k12, k21 = cl / v1, q / v1, q / v2
        s = k10 + k12 + k21
        root = np.sqrt(s * s - 4 * k10 * k21)
        alpha, beta = 0.5 * (s + root), 0.5 * (s - root)
        A, B = (alpha - k21) / (alpha - beta), (k21 - beta) / (alpha - beta)
        total = eta[0] * eta[0] * oi00 + eta[1] * eta[1] * oi11
        for o in range(obs_t.size):
            c = 0.0
            for j in range(dose_t.size):
                if obs_t[o] > dose_t[j]:
                    el = obs_t[o] - dose_t[j]
                    m = min(el, dose_dur[j])
                    r = dose_amt[j] / dose_dur[j] / v1
                    c += r * A / alpha * (1 - np.exp(-alpha * m)) * np.exp(-alpha * (el - m))
                    c += r * B / beta * (1 - np.exp(-beta * m)) * np.exp(-beta * (el - m))
            sd = np.sqrt(add * add + (prop * c) ** 2)
            if blq[o]:
                total -= 2 * np.log(0.5 * math.erfc(-((lloq[o] - c) / sd) / np.sqrt(2.0)))
            else:
                total += ((y[o] - c) / sd) ** 2 + 2 * np.log(sd)
        return total

    def fit(pr: Problem, obs: Observations) -> tuple[float, np.ndarray]:
        t = pr._table
        oi = np.linalg.inv(MODEL.omega)
        args = (
            float(pr.typical["CL"][0]),
            float(pr.typical["V1"][0]),
            float(pr.typical["Q"][0]),
            float(pr.typical["V2"][0]),
            t.time_days[0],
            t.amount_mg[0],
            t.duration_days[0],
            obs.time_days,
            np.nan_to_num(obs.value_mg_l),
            np.nan_to_num(obs.lloq_mg_l),
            obs.below_lloq,
            oi[0, 0],
            oi[1, 1],
            MODEL.residual_additive_mg_l,
            MODEL.residual_proportional,
        )
        t0 = time.perf_counter()
        res = minimize(ofv_nb, np.zeros(2), args=args, method="L-BFGS-B")
        return time.perf_counter() - t0, res.x

    return fit


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


def _median_ms(times) -> float:
    return round(1000 * float(np.median(times)), 3)


def main() -> None:
    patients = cohort(100)
    probs, obss = [p for p, _, _ in patients], [o for _, o, _ in patients]
    # the NumPy path (what a one-off CLI call or a clinic request runs)
    compiled.use_compiled, saved = (lambda n: False), compiled.use_compiled
    estimate_map(probs[0], obss[0])
    numpy_times = []
    for pr, obs in zip(probs, obss):
        t0 = time.perf_counter()
        estimate_map(pr, obs)
        numpy_times.append(time.perf_counter() - t0)
    compiled.use_compiled = saved
    # the compiled path (a long process: batch, trials, the web app's main thread after 200 fits)
    t0 = time.perf_counter()
    compiled.module()
    load_s = time.perf_counter() - t0
    compiled._STATE["fits"] = compiled.MAP_MIN_FITS
    estimate_map(probs[0], obss[0])  # warm-up
    baseline = compiled_fit_baseline()
    baseline(probs[0], obss[0])  # compile the baseline
    map_times, base_times, diffs = [], [], []
    for pr, obs in zip(probs, obss):  # interleaved, so that machine load hits both alike
        t0 = time.perf_counter()
        r = estimate_map(pr, obs)
        map_times.append(time.perf_counter() - t0)
        tb, xb = baseline(pr, obs)
        base_times.append(tb)
        diffs.append(float(np.max(np.abs(r.eta - xb))))
    ode = [ode_map(pr, obs) for pr, obs in zip(probs[:5], obss[:5])]
    ode_times = [t for t, _ in ode]
    # batch: 4,000 subjects in one call vs 4,000 sequential fits, same process, same compiled code
    big = cohort(4000, seed=2)
    bp, bo = [p for p, _, _ in big], [o for _, o, _ in big]
    estimate_map_batch(bp[:4], bo[:4])  # load/compile the threaded kernel outside the timing (as above)

    def run_sequential():
        out = []
        for pr, obs in zip(bp, bo):
            try:
                out.append(estimate_map(pr, obs))
            except EstimationError as exc:
                out.append(exc)
        return out

    estimate_map_batch(bp, bo)  # warm-up pair, untimed
    run_sequential()
    batch_runs, seq_runs = [], []
    for _ in range(BATCH_REPEATS):  # interleaved, so that load from other processes hits both alike
        t0 = time.perf_counter()
        batch = estimate_map_batch(bp, bo)
        batch_runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        seq = run_sequential()
        seq_runs.append(time.perf_counter() - t0)
    t_batch, t_seq = float(np.median(batch_runs)), float(np.median(seq_runs))
    paired = [b / a for a, b in zip(batch_runs, seq_runs)]  # each batch run and the sequential run after it
    # what bounds the batch: its compiled stages alone, one thread (the rest is Python per subject)
    omega_inv, L, screen, white = _prior_geometry(MODEL.omega)
    packed = compiled.pack(bp, bo, omega_inv)
    t0 = time.perf_counter()
    compiled.fit(packed, screen, white, L, 1e-6, MAX_ITER, parallel=False)
    t_compiled_serial = time.perf_counter() - t0
    same = all(
        (isinstance(a, EstimationError) and str(a) == str(b)) or np.array_equal(a.eta, b.eta)
        for a, b in zip(batch, seq)
    )
    rec_times = []
    for pr, obs, w in patients[:30]:
        h = history_for(w, obs.value_mg_l)
        t0 = time.perf_counter()
        recommend(h, today=dt.date(2024, 6, 10), n_samples=1000)
        rec_times.append(time.perf_counter() - t0)
    med = float(np.median(map_times))
    print(
        json.dumps(
            {
                "model": MODEL.name,
                "samples_per_patient": 4,
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "map_median_ms": _median_ms(map_times),
                "map_p95_ms": round(1000 * float(np.quantile(map_times, 0.95)), 3),
                "map_numpy_path_median_ms": _median_ms(numpy_times),
                "compiled_load_s": round(load_s, 2),
                "compiled_fit_baseline_median_ms": _median_ms(base_times),
                "ratio_map_to_compiled_fit": round(med / float(np.median(base_times)), 3),
                "max_eta_difference_to_baseline": float(np.max(diffs)),
                "ode_map_median_ms": _median_ms(ode_times),
                "speedup_map_vs_ode_map": round(float(np.median(ode_times)) / med, 1),
                "max_eta_difference_to_ode_fit": float(
                    max(np.max(np.abs(estimate_map(p, o).eta - x)) for (p, o), (_, x) in zip(zip(probs, obss), ode))
                ),
                "batch_subjects": len(bp),
                "batch_s": round(t_batch, 3),
                "sequential_s": round(t_seq, 3),
                "batch_speedup": round(float(np.median(paired)), 2),
                "batch_speedup_ratio_of_medians": round(t_seq / t_batch, 2),
                "batch_runs_s": [round(t, 3) for t in batch_runs],
                "sequential_runs_s": [round(t, 3) for t in seq_runs],
                "batch_speedup_per_run": [round(r, 2) for r in paired],
                "batch_threads": _threads(),
                "batch_equals_sequential": bool(same),
                "batch_speedup_vs_numpy_path": round(len(bp) * float(np.mean(numpy_times)) / t_batch, 1),
                "batch_baselines": "batch_speedup: vs 4,000 sequential estimate_map calls on the compiled path "
                "(a long process); batch_speedup_vs_numpy_path: vs 4,000 calls on the NumPy path (what a one-off "
                "call or a short process runs; mean of the 100 timed NumPy fits x 4,000)",
                "batch_compiled_stages_1_thread_s": round(t_compiled_serial, 3),
                "batch_speedup_bound": round(t_seq / (t_compiled_serial / _threads()), 2),
                "batch_speedup_bound_means": "sequential time / (compiled stages on one thread / threads): the "
                "speed-up if the batch had no Python at all and the threads scaled perfectly",
                "recommendation_median_ms": round(1000 * float(np.median(rec_times)), 1),
                "recommendation_p95_ms": round(1000 * float(np.quantile(rec_times, 0.95)), 1),
                "recommendation_posterior_samples": 1000,
                "targets": {"map_median_ms": 1, "ratio_map_to_compiled_fit": 0.5, "batch_speedup": 5},
            },
            indent=2,
        )
    )


def _threads() -> int:
    import numba

    return int(numba.get_num_threads())


if __name__ == "__main__":
    main()
