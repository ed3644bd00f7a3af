"""Benchmark: today's MAP against the MAP of an earlier git revision, same patients, same run.

Loads ``src/ifxdose/core/estimation/map.py`` of REV (``git show``) as a second module and
times both on the ``benchmarks/estimate.py`` cohort (RA default, 6 label infusions, 4
troughs, a quarter below the LLOQ), interleaved patient by patient so that machine load
hits both alike. Prints JSON: medians, the ratio of medians, the median of paired ratios,
and the median number of objective evaluations (a load-independent measure).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/map_ab.py [REV]`` (default 4638205,
the MAP before issue 15).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import estimate as bench  # noqa: E402

from ifxdose.core.estimation import map as new_map  # noqa: E402


def _old_module(rev: str):
    root = Path(__file__).resolve().parents[1]
    text = subprocess.run(
        ["git", "show", f"{rev}:src/ifxdose/core/estimation/map.py"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "old_map.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("old_map", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["old_map"] = mod
    spec.loader.exec_module(mod)
    return mod


def main(rev: str = "4638205", n: int = 80, reps: int = 3) -> None:
    old = _old_module(rev)
    cohort = bench.cohort(n)
    t_old, t_new, e_old, e_new = [], [], [], []
    for _ in range(reps):
        for pr, obs, _w in cohort:
            t0 = time.perf_counter()
            a = old.estimate_map(pr, obs)
            t1 = time.perf_counter()
            b = new_map.estimate_map(pr, obs)
            t2 = time.perf_counter()
            t_old.append(t1 - t0)
            t_new.append(t2 - t1)
            e_old.append(a.n_evaluations)
            e_new.append(b.n_evaluations)
    t_old, t_new = np.array(t_old), np.array(t_new)
    print(
        json.dumps(
            {
                "baseline_revision": rev,
                "patients": n,
                "repetitions": reps,
                "baseline_map_median_ms": round(1000 * float(np.median(t_old)), 2),
                "map_median_ms": round(1000 * float(np.median(t_new)), 2),
                "ratio_of_medians": round(float(np.median(t_new) / np.median(t_old)), 3),
                "median_paired_ratio": round(float(np.median(t_new / t_old)), 3),
                "median_evaluations_baseline": float(np.median(e_old)),
                "median_evaluations": float(np.median(e_new)),
                "limit_ratio": 1.5,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main(*(sys.argv[1:2]))
