"""Benchmark: trial replicates on Dask workers vs one process (issue 16).

ATTRACT (five arms, the published arm sizes, 54 weeks) with REPLICATES replicates: the
same ``run_trial`` in this process, then on a LocalCluster of 1 and of 2 worker processes
(one thread each). Cluster start-up and one warm-up round per cluster (imports, models)
are timed separately; the figures are medians of REPEATS runs. The results of every Dask
run are checked to be identical to the single-process run for the same seed.

JSON keys: ``replicates_per_s`` (single process, 1 worker, 2 workers),
``dask_speedup_2_vs_1`` (1-worker time / 2-worker time), ``dask_2_vs_single_process``,
``load_average`` (the machine is shared: read the speed-up with it).

Run: ``.venv/bin/python benchmarks/scale.py`` (~1-2 min).
"""

from __future__ import annotations

import json
import os
import statistics
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

from ifxdose.adapters.scale import executor  # noqa: E402
from ifxdose.domain.trials import load_models, run_trial  # noqa: E402

TRIAL = "attract"
REPLICATES = int(os.environ.get("IFXDOSE_BENCH_REPLICATES", 8))
REPEATS = 3
SEED = 2


def timed_run(models, map_fn=None):
    t0 = time.perf_counter()
    res = run_trial(TRIAL, replicates=REPLICATES, seed=SEED, models=models, map_fn=map_fn)
    return time.perf_counter() - t0, res.values


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
    result["load_average_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
