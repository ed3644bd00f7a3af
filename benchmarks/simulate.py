"""Benchmark: population simulation of the Japanese label regimen to week 54 (issue 16).

Label regimen (3 mg/kg at weeks 0, 2, 6 then every 8 weeks until week 54, 2-h infusions),
daily grid 0..378 days, random effects, 100,000 patients, for the 2-compartment RA model
(Ternant 2014) and the 1-compartment default (Passot 2016). Prints JSON with same-run
references, each the competent version of what a user would write:

- ``numpy_recurrence``: a hand-written NumPy exact recurrence (eigen-decomposition per
  patient, interval-to-interval propagation vectorised over patients, step exponentials
  cached per step length);
- ``numba_fused``: a hand-written numba kernel fused over patients x times, specialised to
  the structure (scalars in registers, one schedule), single thread;
- ``memory_floor``: allocating and writing the (P, T) output array once.
- ``memory_floor_thread_speedup_2_vs_1``: the same allocation and write by numba threads, 1 vs 2
  threads (paired, like the engine): the most a kernel that must write its output can gain from
  a second thread on this machine (a bound for ``thread_speedup_2_vs_1``, measured in the same run).

``ratio_to_fused_kernel`` = ifxdose engine time / hand-written numba time, single thread
(goal <= 1.5); ``thread_speedup_2_vs_1`` = ifxdose kernel 1 thread / 2 threads (goal
>= 1.7): the median over REPEATS repetitions of the ratio within each repetition's pair of
runs (the 2-thread run right after the 1-thread one), the ratio of the medians beside it,
and the hand-written kernel's the same way (``reference_thread_speedup_2_vs_1``);
``end_to_end`` adds what ``simulate_population`` does around the engine (random
effects, covariate model, dose table checks). Every figure is the median of REPEATS runs,
interleaved so that load from other processes hits all of them alike, after one untimed
warm-up round; ``load_average`` records the machine's load during the run. Peak memory comes from child processes that
stream 10,000 and 100,000 patients chunk by chunk (``iter_concentrations``), keeping one
summary per patient. Compile time: a fresh interpreter with an empty numba cache (first call
ever: JIT compilation) and one with the cache filled (first call in a new process), each
also timing the import of numba and the kernel module.

Run: ``.venv/bin/python benchmarks/simulate.py`` (~1-2 min; set IFXDOSE_BENCH_N to change N).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402

from ifxdose.core.pk import (  # noqa: E402
    DoseTable,
    kernel,  # noqa: E402
    simulate_concentrations,
)
from ifxdose.core.pk.events import DOSE, INF_END, OBS, ROUTE_IV  # noqa: E402
from ifxdose.core.pk.linear import shared_schedule  # noqa: E402
from ifxdose.core.pk.simulate import iter_concentrations  # noqa: E402
from ifxdose.domain.dosing.regimen import parse_regimen  # noqa: E402
from ifxdose.domain.modelfiles import load_model  # noqa: E402
from ifxdose.domain.simulation import simulate_population  # noqa: E402

LABEL = "3 mg/kg at weeks 0,2,6 then every 8 weeks until week 54"
GRID = np.arange(0.0, 379.0)  # daily to week 54
MODELS = {"2cmt": "ternant_2014_ra", "1cmt": "passot_2016_ra"}
N = int(os.environ.get("IFXDOSE_BENCH_N", 100_000))
REPEATS = 7


def inputs(model_name: str, n: int, seed: int = 1):
    """Individual parameters (P, 1), the dose table and covariates of n virtual patients."""
    rng = np.random.default_rng(seed)
    m = load_model(model_name)
    cov = {
        "weight_kg": rng.uniform(40, 100, n),
        "mtx": np.ones(n),
        "crp_mg_l": rng.uniform(1, 40, n),
        "ada": np.zeros(n),
    }
    cov = {k: v for k, v in cov.items() if k in m.covariates}
    eta = m.sample_eta(n, rng)
    params = m.individual_parameters({k: v[:, None] for k, v in cov.items()}, eta[:, None, :])
    params = {k: np.ascontiguousarray(np.broadcast_to(v, (n, 1))) for k, v in params.items()}
    planned = parse_regimen(LABEL).doses(float(GRID[-1]))
    amounts = cov["weight_kg"][:, None] * np.array([d.dose for d in planned])[None, :]
    doses = DoseTable.same_for_all(
        n, [d.time_days for d in planned], amounts, [d.duration_days for d in planned], ROUTE_IV
    )
    return m, params, doses, cov


# ----------------------------------------------------------------- same-run references
def numpy_recurrence(params: dict, doses: DoseTable, schedule) -> np.ndarray:
    """Hand-written NumPy exact recurrence: K = V diag(lam) V^-1 per patient (LAPACK),
    state z = V^-1 A (P, n), step to each event with exp(lam h) and the infusion integral."""
    P = doses.n_patients
    cl, v1 = params["CL"][:, 0], params["V1"][:, 0]
    if "Q" in params:
        q, v2 = params["Q"][:, 0], params["V2"][:, 0]
        K = np.zeros((P, 2, 2))
        K[:, 0, 0], K[:, 0, 1], K[:, 1, 0], K[:, 1, 1] = -(cl + q) / v1, q / v2, q / v1, -q / v2
    else:
        K = (-cl / v1)[:, None, None]
    lam, V = np.linalg.eig(K)
    lam, V = lam.real, V.real
    W = np.linalg.inv(V)
    times, kinds, payload = schedule
    out = np.empty((P, GRID.size), order="F")  # one contiguous column per sample time
    n = lam.shape[1]
    lam_t = np.ascontiguousarray(lam.T)  # (n, P): one contiguous vector per eigen-component
    z = np.zeros((n, P))
    rz = np.zeros((n, P))
    c0 = np.ascontiguousarray((V[:, 0, :] / v1[:, None]).T)
    w0 = np.ascontiguousarray(W[:, :, 0].T)  # input into the central compartment
    cache: dict[float, tuple] = {}
    t_prev = times[0]
    for t, kind, pl in zip(times, kinds, payload):
        h = t - t_prev
        if h > 0:
            if h not in cache:
                cache[h] = (np.exp(lam_t * h), np.expm1(lam_t * h) / lam_t)
            e, g = cache[h]
            z *= e
            z += g * rz
            t_prev = t
        if kind == OBS:
            out[:, pl] = (c0 * z).sum(axis=0)
        elif kind == DOSE:
            rz = w0 * (doses.amount_mg[:, pl] / doses.duration_days[0, pl])
        elif kind == INF_END:
            rz = np.zeros((n, P))  # infusions do not overlap: the rate returns to zero
    return out


@numba.njit(parallel=True, cache=True)
def _fused_2cmt(cl, v1, q, v2, amount, dur, times, kinds, payload, out):
    """Hand-written numba kernel, 2-compartment: per patient the analytic eigenpairs, the
    state in four scalars, patients over threads."""
    for i in numba.prange(cl.size):
        a, b, c, d = -(cl[i] + q[i]) / v1[i], q[i] / v2[i], q[i] / v1[i], -q[i] / v2[i]
        root = np.sqrt(0.25 * (a - d) ** 2 + b * c)
        l0 = 0.5 * (a + d) - root
        l1 = (a * d - b * c) / l0
        v10, v11 = l0 - a, l1 - a  # V = [[b, b], [v10, v11]]
        det = b * v11 - b * v10
        w00, w01, w10 = v11 / det, -b / det, -v10 / det
        c0, c1 = b / v1[i], b / v1[i]
        z0 = z1 = r0 = r1 = 0.0
        e0 = e1 = g0 = g1 = 0.0
        last = -1.0
        t_prev = times[0]
        for j in range(times.size):
            h = times[j] - t_prev
            if h > 0.0:
                if h != last:
                    e0, e1 = np.exp(l0 * h), np.exp(l1 * h)
                    g0, g1 = np.expm1(l0 * h) / l0, np.expm1(l1 * h) / l1
                    last = h
                z0 = e0 * z0 + g0 * r0
                z1 = e1 * z1 + g1 * r1
                t_prev = times[j]
            k, p = kinds[j], payload[j]
            if k == 1:  # OBS
                out[i, p] = c0 * z0 + c1 * z1
            elif k == 3:  # DOSE (infusion start)
                rate = amount[i, p] / dur[p]
                r0, r1 = w00 * rate, w10 * rate
            elif k == 2:  # INF_END
                r0 = r1 = 0.0
        _ = w01


@numba.njit(parallel=True, cache=True)
def _fused_1cmt(cl, v1, amount, dur, times, kinds, payload, out):
    """Hand-written numba kernel, 1-compartment (amount in one scalar)."""
    for i in numba.prange(cl.size):
        lam = -cl[i] / v1[i]
        a = r = e = g = 0.0
        last = -1.0
        t_prev = times[0]
        for j in range(times.size):
            h = times[j] - t_prev
            if h > 0.0:
                if h != last:
                    e, g = np.exp(lam * h), np.expm1(lam * h) / lam
                    last = h
                a = e * a + g * r
                t_prev = times[j]
            k, p = kinds[j], payload[j]
            if k == 1:
                out[i, p] = a / v1[i]
            elif k == 3:
                r = amount[i, p] / dur[p]
            elif k == 2:
                r = 0.0


def numba_fused(params: dict, doses: DoseTable, schedule) -> np.ndarray:
    """The hand-written kernel, returning a new (P, T) array like any simulator would."""
    times, kinds, payload = schedule
    out = np.empty((doses.n_patients, GRID.size))
    args = (doses.amount_mg, doses.duration_days[0].copy(), times, kinds.astype(np.int64), payload, out)
    if "Q" in params:
        _fused_2cmt(
            params["CL"][:, 0].copy(),
            params["V1"][:, 0].copy(),
            params["Q"][:, 0].copy(),
            params["V2"][:, 0].copy(),
            *args,
        )
    else:
        _fused_1cmt(params["CL"][:, 0].copy(), params["V1"][:, 0].copy(), *args)
    return out


def ode_baseline(model_name: str, n: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Per patient: scipy solve_ivp (LSODA, rtol 1e-6, atol 1e-9) piecewise between dose
    events, the straightforward ODE approach; returns (seconds, its result, ifxdose's)."""
    from scipy.integrate import solve_ivp

    from ifxdose.core.pk.linear import rate_matrix

    m, params, doses, _ = inputs(model_name, n, seed=7)
    ours = simulate_concentrations(m, params, np.full((n, 1), -np.inf), doses, GRID)
    starts, amounts, durs = doses.time_days[0], doses.amount_mg, doses.duration_days[0]
    edges = sorted({0.0, *starts, *(starts + durs)} | {float(GRID[-1])})
    edges = [e for e in edges if e <= GRID[-1]]
    out = np.empty((n, GRID.size))
    t0 = time.perf_counter()
    for i in range(n):
        K = rate_matrix(m.structure, {k: float(v[i, 0]) for k, v in params.items()})
        y = np.zeros(K.shape[0])
        for a, b in zip(edges[:-1], edges[1:]):
            r = np.zeros(K.shape[0])
            r[0] = sum(amounts[i, d] / durs[d] for d in range(starts.size) if starts[d] <= a < starts[d] + durs[d])
            inside = (GRID >= a) & (GRID < b)
            sol = solve_ivp(
                lambda _t, A: K @ A + r,
                (a, b),
                y,
                method="LSODA",
                rtol=1e-6,
                atol=1e-9,
                t_eval=np.append(GRID[inside], b),
            )
            out[i, inside] = sol.y[0, :-1] / params["V1"][i, 0]
            y = sol.y[:, -1]
        out[i, -1] = y[0] / params["V1"][i, 0]  # day 378 is a dose time: the sample is pre-dose
    return time.perf_counter() - t0, out, ours


def memory_floor(n: int) -> np.ndarray:
    out = np.empty((n, GRID.size))
    out.fill(1.0)
    return out


@numba.njit(parallel=True, cache=True)
def _fill_rows(out: np.ndarray) -> None:
    for i in numba.prange(out.shape[0]):
        out[i, :] = 1.0


def memory_floor_threaded(n: int) -> np.ndarray:
    """The memory floor written by numba threads (``numba.set_num_threads`` sets how many): the
    1- vs 2-thread ratio of allocating and writing the output is the most any kernel that
    must write that output can gain from a second thread on this machine."""
    out = np.empty((n, GRID.size))
    _fill_rows(out)
    return out


# ------------------------------------------------------------------------- measuring
def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleaved_runs(jobs: dict, repeats: int = REPEATS) -> dict[str, list[float]]:
    """Wall times of each job, the jobs interleaved round-robin, after one untimed warm-up round."""
    for job in jobs.values():
        job()
    runs: dict[str, list[float]] = {k: [] for k in jobs}
    for _ in range(repeats):
        for name, job in jobs.items():
            runs[name].append(job())
    return runs


def thread_speedup(one: list[float], two: list[float]) -> dict:
    """1-thread / 2-thread speed-up from runs taken in pairs (the 2-thread run right after the
    1-thread one in each repetition): the median of the per-pair ratios (headline: a load
    change between repetitions hits both runs of a pair alike), the ratio of the medians,
    and every pair's ratio."""
    pairs = [a / b for a, b in zip(one, two)]
    return {
        "median_of_paired_ratios": round(statistics.median(pairs), 3),
        "ratio_of_medians": round(statistics.median(one) / statistics.median(two), 3),
        "per_repetition": [round(r, 2) for r in pairs],
    }


def with_threads(n: int, fn):
    def job():
        kernel.set_threads(n)
        numba.set_num_threads(n)
        return timed(fn)

    return job


def model_block(label: str, model_name: str) -> dict:
    m, params, doses, cov = inputs(model_name, N)
    seg = np.full((N, 1), -np.inf)
    schedule = shared_schedule(doses, seg, GRID)

    def engine():
        return simulate_concentrations(m, params, seg, doses, GRID)

    def numpy_engine():
        kernel.KERNEL_ENABLED = False
        try:
            return simulate_concentrations(m, params, seg, doses, GRID)
        finally:
            kernel.KERNEL_ENABLED = True

    def end_to_end():
        return simulate_population(m, LABEL, cov, GRID, seed=3)

    # correctness first (also warms every path): all references against the engine
    ours = engine()
    checks = {
        "numpy_fallback": numpy_engine(),
        "numpy_recurrence": numpy_recurrence(params, doses, schedule),
        "numba_fused": numba_fused(params, doses, schedule),
    }
    floor_c = 1e-3 * ours.max()
    max_rel = {k: float(np.max(np.abs(v - ours) / np.maximum(np.abs(ours), floor_c))) for k, v in checks.items()}
    runs = interleaved_runs(
        {
            "ifxdose_engine_1_thread": with_threads(1, engine),
            "ifxdose_engine_2_threads": with_threads(2, engine),
            "ifxdose_end_to_end_1_thread": with_threads(1, end_to_end),
            "ifxdose_numpy_fallback": with_threads(1, numpy_engine),
            "numpy_recurrence": with_threads(1, lambda: numpy_recurrence(params, doses, schedule)),
            "numba_fused_1_thread": with_threads(1, lambda: numba_fused(params, doses, schedule)),
            "numba_fused_2_threads": with_threads(2, lambda: numba_fused(params, doses, schedule)),
            "memory_floor": lambda: timed(lambda: memory_floor(N)),
            "memory_floor_1_thread": with_threads(1, lambda: memory_floor_threaded(N)),
            "memory_floor_2_threads": with_threads(2, lambda: memory_floor_threaded(N)),
        }
    )
    kernel.set_threads(None)
    t = {k: statistics.median(v) for k, v in runs.items()}
    ours = thread_speedup(runs["ifxdose_engine_1_thread"], runs["ifxdose_engine_2_threads"])
    ref = thread_speedup(runs["numba_fused_1_thread"], runs["numba_fused_2_threads"])
    floor = thread_speedup(runs["memory_floor_1_thread"], runs["memory_floor_2_threads"])
    base = t["numba_fused_1_thread"]
    return {
        "model": model_name,
        "structure": label,
        "patients": N,
        "patients_per_s": {k: round(N / v) for k, v in t.items()},
        "seconds_median": {k: round(v, 4) for k, v in t.items()},
        "time_over_numba_fused": {k: round(v / base, 3) for k, v in t.items()},
        "ratio_to_fused_kernel": round(t["ifxdose_engine_1_thread"] / base, 3),
        "ratio_end_to_end_to_fused_kernel": round(t["ifxdose_end_to_end_1_thread"] / base, 3),
        "thread_speedup_2_vs_1": ours["median_of_paired_ratios"],
        "reference_thread_speedup_2_vs_1": ref["median_of_paired_ratios"],
        "memory_floor_thread_speedup_2_vs_1": floor["median_of_paired_ratios"],
        "thread_speedup_detail": {"ifxdose_engine": ours, "numba_fused_reference": ref, "memory_floor": floor},
        "max_rel_diff_vs_ifxdose": max_rel,
    }


def child_stream(n: int) -> None:
    """Stream n patients chunk by chunk and keep only each patient's week-54 trough."""
    kernel.kernel()
    m, params, doses, _ = inputs(MODELS["2cmt"], n)
    seg = np.full((n, 1), -np.inf)
    trough = np.empty(n)
    for rows, conc in iter_concentrations(m, params, seg, doses, GRID):
        trough[rows] = conc[:, -1]
    print(peak_rss_mb())


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; ru_maxrss would include the parent's at fork)."""
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


COMPILE_PROBE = """
import json, time
t0 = time.perf_counter()
from ifxdose.core.pk import kernel
kernel.kernel()  # imports numba and the kernel module
t1 = time.perf_counter()
import numpy as np
from ifxdose.core.pk import DoseTable, simulate_concentrations
from ifxdose.domain.modelfiles import load_model
m = load_model("ternant_2014_ra")
p = m.individual_parameters({"weight_kg": np.full((64, 1), 70.0)})
doses = DoseTable.same_for_all(64, [0.0, 14.0, 42.0], 210.0, 2 / 24, 0)
kernel.KERNEL_MIN_WORK = 0
t2 = time.perf_counter()
simulate_concentrations(m, p, np.full((64, 1), -np.inf), doses, np.arange(0.0, 379.0))
t3 = time.perf_counter()
print(json.dumps({"import_numba_and_kernel_s": round(t1 - t0, 3), "first_call_s": round(t3 - t2, 3)}))
"""


def run_child(*args: str, env: dict | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}
    )
    return proc.stdout.strip().splitlines()[-1]


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--stream":
        return child_stream(int(sys.argv[2]))
    kernel.kernel()  # load the compiled kernel up front (a long-running process would have)
    result: dict = {
        "regimen": LABEL,
        "grid_points": int(GRID.size),
        "repeats": REPEATS,
        "numba": numba.__version__,
        "threading_layer_threads": numba.config.NUMBA_NUM_THREADS,
        "load_average_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory() as cache:
        result["compile_empty_cache"] = json.loads(run_child("-c", COMPILE_PROBE, env={"NUMBA_CACHE_DIR": cache}))
        result["compile_cached"] = json.loads(run_child("-c", COMPILE_PROBE, env={"NUMBA_CACHE_DIR": cache}))
    for label, name in MODELS.items():
        result[label] = model_block(label, name)
    secs, base, ours = ode_baseline(MODELS["1cmt"], 10)
    result["ode_baseline"] = {
        "model": MODELS["1cmt"],
        "patients": 10,
        "patients_per_s": round(10 / secs, 2),
        "speedup_of_ifxdose_1_thread": round(result["1cmt"]["patients_per_s"]["ifxdose_engine_1_thread"] / (10 / secs)),
        "max_rel_diff": float(np.max(np.abs(base - ours) / np.maximum(ours, 1e-3 * ours.max()))),
    }
    # keys of the earlier version of this script (default model, simulate_population)
    result["patients_per_s_100000"] = result["1cmt"]["patients_per_s"]["ifxdose_end_to_end_1_thread"]
    result["speedup_vs_ode_baseline"] = result["ode_baseline"]["speedup_of_ifxdose_1_thread"]
    result["ratio_to_fused_kernel"] = result["2cmt"]["ratio_to_fused_kernel"]
    result["thread_speedup_2_vs_1"] = result["2cmt"]["thread_speedup_2_vs_1"]
    rss = {n: float(run_child(__file__, "--stream", str(n))) for n in (10_000, 100_000)}
    result["streaming_peak_rss_mb"] = {str(k): round(v, 1) for k, v in rss.items()}
    result["streaming_rss_ratio_100k_vs_10k"] = round(rss[100_000] / rss[10_000], 3)
    result["load_average_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
