"""Benchmark: trial replication speed and memory (issue 6).

Prints JSON:
- ATTRACT (428 patients in 5 arms, to week 54, stochastic ADA, responses): seconds per
  replicate and for 100 replicates (targets < 2 s and < 60 s);
- a same-run baseline: the same ATTRACT replicate simulated one patient at a time
  (per-patient calls of the same engine) on a subset, scaled to 428 patients; the ratio;
- peak resident memory of one arm streamed in chunks for 100,000 and 1,000,000 patients
  (child processes): flat memory means the 1,000,000 run peaks near the 100,000 run.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/trials.py [--quick]``.
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

from ifxdose.domain.trials import get_trial, load_models, run_trial  # noqa: E402
from ifxdose.domain.trials.engine import daily_grid, fixed_arm, make_cohort, regimen_mg_per_kg  # noqa: E402
from ifxdose.domain.trials.population import virtual_population  # noqa: E402
from ifxdose.domain.trials.runner import arm_records  # noqa: E402


def per_patient_baseline(models, n_subset: int = 40) -> float:
    """Seconds per ATTRACT replicate if every patient were simulated alone (same engine)."""
    trial = get_trial("attract")
    rng = np.random.default_rng(3)
    grid = daily_grid(trial.horizon_day)
    arm = trial.arms[1]
    times, mgkg = regimen_mg_per_kg(arm.regimen, trial.horizon_day)
    pop = virtual_population("attract", n_subset, rng)
    cohort = make_cohort(pop, models, rng)
    t0 = time.perf_counter()
    for i in range(n_subset):
        one = make_cohort({k: v[i : i + 1] for k, v in pop.items()}, models, np.random.default_rng(i))
        arm_records(models, trial, fixed_arm(models, one, times, mgkg, grid))
    del cohort
    return (time.perf_counter() - t0) / n_subset * 428


def streamed_arm(n: int, chunk: int = 50_000) -> dict:
    """One ATTRACT arm (3 mg/kg q8w) for n patients in chunks; only running sums are kept."""
    models = load_models()
    trial = get_trial("attract")
    arm = trial.arms[1]
    times, mgkg = regimen_mg_per_kg(arm.regimen, trial.horizon_day)
    grid = daily_grid(trial.horizon_day)
    sums = {"acr20@210": 0.0, "ada": 0.0, "undetectable@378": 0.0}
    t0 = time.perf_counter()
    for k, lo in enumerate(range(0, n, chunk)):
        rng = np.random.default_rng(np.random.SeedSequence(1, spawn_key=(k,)))
        size = min(chunk, n - lo)
        cohort = make_cohort(virtual_population("attract", size, rng), models, rng)
        rec = arm_records(models, trial, fixed_arm(models, cohort, times, mgkg, grid))
        for key in sums:
            sums[key] += float(np.sum(rec[key]))
    seconds = time.perf_counter() - t0
    return {
        "n": n,
        "seconds": round(seconds, 2),
        "patients_per_s": round(n / seconds),
        **{f"{k}_pct": round(100 * v / n, 2) for k, v in sums.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def child(n: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--stream", str(n)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    if "--stream" in sys.argv:
        print(json.dumps(streamed_arm(int(sys.argv[sys.argv.index("--stream") + 1]))))
        return
    quick = "--quick" in sys.argv
    models = load_models()
    run_trial("attract", replicates=1, seed=0, models=models)  # warm-up (imports, caches)
    t0 = time.perf_counter()
    run_trial("attract", replicates=5, seed=1, models=models)
    per_rep = (time.perf_counter() - t0) / 5
    reps = 10 if quick else 100
    t0 = time.perf_counter()
    run_trial("attract", replicates=reps, seed=2, models=models)
    total = time.perf_counter() - t0
    baseline = per_patient_baseline(models)
    result = {
        "benchmark": "trials",
        "cores": 1,
        "attract_seconds_per_replicate": round(per_rep, 3),
        "target_per_replicate_s": 2.0,
        f"attract_{reps}_replicates_seconds": round(total, 2),
        "target_100_replicates_s": 60.0,
        "baseline_per_patient_seconds_per_replicate": round(baseline, 2),
        "speedup_vs_per_patient": round(baseline / per_rep, 1),
        "stream": [child(100_000)] + ([] if quick else [child(1_000_000)]),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
