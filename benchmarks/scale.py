"""Benchmark: trial replicates on Dask workers vs one process (issue 16).

ATTRACT (five arms, the published arm sizes, 54 weeks) with REPLICATES replicates: the
same ``run_trial`` in this process, then on a LocalCluster of 1 and of 2 worker processes
(one thread each). Cluster start-up and one warm-up round per cluster (imports, models)
are timed separately; the figures are medians of REPEATS runs. The results of every Dask
run are checked to be identical to the single-process run for the same seed.

JSON keys: ``replicates_per_s`` (single process, 1 worker, 2 workers),
``dask_speedup_2_vs_1`` (1-worker time / 2-worker time), ``dask_2_vs_single_process``,
``load_average`` (the machine is shared: read the speed-up with it).

Calibration (``calibration``): the immunogenicity posterior's emcee sampler (the packaged setup:
3,000 virtual patients per target scenario, 12 walkers; CAL_STEPS steps) with its walkers'
log posteriors evaluated in this process, then through ``EmceePool`` on 1 and 2 workers
(the clusters started and warmed as above; the sampler's function is sent once per run).
The draws are checked to be identical. Keys: ``calibration_dask_speedup_2_vs_1``,
``calibration_dask_2_vs_single_process``, ``log_posterior_ms`` (one evaluation here),
``scatter_and_one_task_s`` (sending a sampler's function to 2 workers plus one task) and
``round_trip_ms_trivial_tasks`` (one emcee round trip of walkers/2 tasks that do nothing).
Only the samplers are distributed: the Nelder-Mead fits and the assay simulations of
``calibrate()`` stay in the calling process. Assumption (benchmark): the detection fractions
are left at 1 (the fixed-point iteration is skipped); a log posterior costs the same.

Run: ``.venv/bin/python benchmarks/scale.py`` (~2-4 min; IFXDOSE_BENCH_CAL_STEPS, default 20).
"""

from __future__ import annotations

import json
import os
import statistics
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

from ifxdose.adapters.scale import emcee_pool, executor  # noqa: E402
from ifxdose.domain.modelfiles import load_library_model  # noqa: E402
from ifxdose.domain.trials import calibrate as cal  # noqa: E402
from ifxdose.domain.trials import load_models, run_trial  # noqa: E402

TRIAL = "attract"
REPLICATES = int(os.environ.get("IFXDOSE_BENCH_REPLICATES", 8))
REPEATS = 3
SEED = 2
CAL_STEPS = int(os.environ.get("IFXDOSE_BENCH_CAL_STEPS", 20))


def timed_run(models, map_fn=None):
    t0 = time.perf_counter()
    res = run_trial(TRIAL, replicates=REPLICATES, seed=SEED, models=models, map_fn=map_fn)
    return time.perf_counter() - t0, res.values


def _zero(x) -> float:
    return 0.0


def calibration_block() -> dict:
    """The immunogenicity sampler of the calibration: this process vs 1 and 2 Dask workers."""
    setup = cal.load_setup()
    setup.setdefault("posterior", {}).update(ada_steps=CAL_STEPS, ada_burn=CAL_STEPS // 2, draws_kept=50)
    pk = load_library_model(setup["pk_model"])
    thr = setup["immunogenicity"]["fixed"]["threshold_mg_l"]
    fit = [s for s in cal.ada_scenarios(setup, pk) if s.target.spec["use"] == "fit"]
    obs = np.array([s.target.observed_pct for s in fit])
    n = np.array([s.target.n for s in fit], float)

    def nll(x: np.ndarray) -> float:  # as in calibrate.fit_immunogenicity
        return cal.binomial_nll(np.array([cal.predict_ada_pct(cal.ada_model(x, thr), s) for s in fit]), obs, n)

    s0 = setup["immunogenicity"]["start"]
    x_hat = np.log([s0["h0_per_day"], s0["beta_low"], s0["mtx_hazard_ratio"], s0["decline_per_day"]])
    t0 = time.perf_counter()
    for _ in range(20):
        nll(x_hat)
    block: dict = {
        "n_virtual": setup["n_virtual"],
        "walkers": setup["posterior"].get("walkers", 12),
        "steps": CAL_STEPS,
        "log_posterior_ms": round((time.perf_counter() - t0) / 20 * 1e3, 3),
    }

    def timed_sampler(pool=None):
        t0 = time.perf_counter()
        draws = cal.ada_posterior(setup, nll, x_hat, pool)
        return time.perf_counter() - t0, draws

    single = [timed_sampler() for _ in range(REPEATS)]
    seconds = {"single_process": statistics.median(t for t, _ in single)}
    identical = True
    for workers in (1, 2):
        with emcee_pool(f"local:{workers}") as pool:
            timed_sampler(pool)  # warm every worker (imports, the scattered function)
            runs = [timed_sampler(pool) for _ in range(REPEATS)]
            if workers == 2:  # where the overhead goes: the one-off scatter, then the round trips
                t0 = time.perf_counter()
                pool.map(nll, [x_hat])  # a new function: scattered to both workers, then one task
                block["scatter_and_one_task_s"] = round(time.perf_counter() - t0, 3)
                half = [x_hat] * (block["walkers"] // 2)
                t0 = time.perf_counter()
                for _ in range(10):
                    pool.map(_zero, half)
                block["round_trip_ms_trivial_tasks"] = round((time.perf_counter() - t0) / 10 * 1e3, 2)
        identical &= all(np.array_equal(d, single[0][1]) for _, d in runs)
        seconds[f"dask_{workers}_worker{'s' if workers > 1 else ''}"] = statistics.median(t for t, _ in runs)
    block["seconds_median"] = {k: round(v, 3) for k, v in seconds.items()}
    block["calibration_dask_speedup_2_vs_1"] = round(seconds["dask_1_worker"] / seconds["dask_2_workers"], 3)
    block["calibration_dask_2_vs_single_process"] = round(seconds["single_process"] / seconds["dask_2_workers"], 3)
    block["identical_to_single_process"] = identical
    return block


def main() -> None:
    models = load_models()
    result: dict = {
        "trial": TRIAL,
        "replicates": REPLICATES,
        "repeats": REPEATS,
        "cpu_count": os.cpu_count(),
        "load_average_before": os.getloadavg(),
    }
    run_trial(TRIAL, replicates=1, seed=SEED, models=models)  # warm-up (imports, caches)
    single = [timed_run(models) for _ in range(REPEATS)]
    reference = single[0][1]
    seconds = {"single_process": statistics.median(t for t, _ in single)}
    identical = True
    for workers in (1, 2):
        t0 = time.perf_counter()
        with executor(f"local:{workers}") as map_fn:
            result[f"cluster_start_s_{workers}"] = round(time.perf_counter() - t0, 2)
            run_trial(TRIAL, replicates=workers, seed=SEED, models=models, map_fn=map_fn)  # warm every worker
            runs = [timed_run(models, map_fn) for _ in range(REPEATS)]
        identical &= all(values == reference for _, values in runs)
        seconds[f"dask_{workers}_worker{'s' if workers > 1 else ''}"] = statistics.median(t for t, _ in runs)
    result["seconds_median"] = {k: round(v, 3) for k, v in seconds.items()}
    result["replicates_per_s"] = {k: round(REPLICATES / v, 2) for k, v in seconds.items()}
    result["dask_speedup_2_vs_1"] = round(seconds["dask_1_worker"] / seconds["dask_2_workers"], 3)
    result["dask_2_vs_single_process"] = round(seconds["single_process"] / seconds["dask_2_workers"], 3)
    result["identical_to_single_process"] = identical
    result["calibration"] = calibration_block()
    result["calibration_dask_speedup_2_vs_1"] = result["calibration"]["calibration_dask_speedup_2_vs_1"]
    result["load_average_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
