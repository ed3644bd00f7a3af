"""All trials once; the published figures inside the 95 % interval read off the same replicates two ways:
numpy's linear interpolation (the estimator until issue 12 session 8) and the plotting position p (n + 1)
(``runner.INTERVAL_METHOD = "weibull"``, now). Separates what the interval's estimator moves from what the
model moves (docs/trials.md, "How the 95 % interval is read off the replicates").

Run: ``OMP_NUM_THREADS=1 .venv/bin/python validation/interval_methods.py [--replicates 100] [--seed 1]``;
prints JSON (counts per method and trial, the misses, the runtime). In a checkout from before session 8
(no ``runner.INTERVAL_METHOD``) it reads the intervals through ``numpy.percentile`` with the method set, which
is the same computation.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

import ifxdose.domain.trials.runner as runner
from ifxdose.domain.trials import load_models, run_trial, trial_names

METHODS = ("linear", "weibull")


def _counts(results: list[Any]) -> dict[str, Any]:
    by_trial, misses = {}, []
    for r in results:
        s = r.summary()
        by_trial[r.trial.name] = [s["inside"], s["compared"]]
        misses += [
            f"{r.trial.name}: {row['quantity']} [{row['arm']}] published {row['published']}, simulated "
            f"{row['simulated_median']:.3g} ({row['simulated_low95']:.3g}-{row['simulated_high95']:.3g})"
            for row in r.rows()
            if row["inside_95"] is False
        ]
    return {
        "inside": sum(v[0] for v in by_trial.values()),
        "compared": sum(v[1] for v in by_trial.values()),
        "by_trial": by_trial,
        "misses": misses,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--replicates", type=int, default=100
    )  # runner.DEFAULT_REPLICATES; literal: runs in pre-session-8 checkouts
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    models = load_models()
    t0 = time.perf_counter()
    results = [run_trial(n, replicates=args.replicates, seed=args.seed, models=models) for n in trial_names()]
    out: dict[str, Any] = {"replicates": args.replicates, "seed": args.seed, "runtime_s": time.perf_counter() - t0}
    percentile = np.percentile
    for method in METHODS:
        if hasattr(runner, "INTERVAL_METHOD"):
            runner.INTERVAL_METHOD = method
        else:  # a checkout from before session 8: rows() called numpy.percentile with its default
            runner.np.percentile = lambda a, q, _m=method, **kw: percentile(a, q, method=_m, **kw)  # type: ignore[assignment]
        out[method] = _counts(results)
        runner.np.percentile = percentile
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
