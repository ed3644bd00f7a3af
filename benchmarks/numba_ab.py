"""Benchmark: the compiled MAP and eigen kernels of an earlier git revision against today's, same run.

Loads ``map_numba.py`` and ``kernel_numba.py`` of REV (``git show``) as second modules next to
today's, compiles both (warm-up outside the timing), checks they give bitwise the same numbers,
then times them interleaved (A, B, A, B, ...) so that machine load hits both alike: the
compiled MAP stages 1-2 on the ``benchmarks/estimate.py`` cohort, one patient per call
(``fit_serial``, as a single ``estimate_map``) and the whole cohort in one threaded call
(``fit_serial`` and ``fit_threads``, as ``estimate_map_batch``), and ``eigen_small`` on 200,000 2x2 rate
matrices, all as CPU time of this process (``time.process_time``: a process waiting for a
core on a shared machine is not charged; the threaded calls are charged for every thread) (each round: the median single fit over the cohort, the best of REPEATS batch and
eigen calls; old and new alternate in going first). Prints JSON: medians over the rounds per
variant, ratio new/old of the medians.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/numba_ab.py [REV] [ROUNDS]`` (default
b18cdba, before issue 14's compile-time changes).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import estimate as bench  # noqa: E402

from ifxdose.core.estimation import compiled  # noqa: E402
from ifxdose.core.estimation.map import MAX_ITER, _prior_geometry  # noqa: E402
from ifxdose.core.pk import kernel  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 5  #: per round and variant: the batch and eigen timings are the best of this many


def _module_at(rev: str, rel: str, name: str) -> ModuleType:
    text = subprocess.run(["git", "show", f"{rev}:{rel}"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.gettempdir()) / f"numba-ab-{rev}" / f"{name}.py"  # stable: a rerun loads numba's cache
    path.parent.mkdir(exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _fit(mod: ModuleType, packed: compiled.Packed, geometry: tuple, threads: bool) -> np.ndarray:
    """compiled.fit's call with ``mod`` as the compiled module; returns the end points."""
    _, L, screen, white = geometry
    P, Q, k = packed.tv.shape[0], screen.shape[0], screen.shape[1]
    out = compiled.empty_fits(P, Q, k)
    fn = mod.fit_threads if threads else mod.fit_serial
    fn(
        screen,
        white,
        compiled._global_points_scaled(L),
        compiled.OFV_TOL,
        1e-6,
        MAX_ITER,
        packed.args(),
        *(getattr(out, f.name) for f in dataclasses.fields(out)),
    )
    return out.xs


def _eigen(mod: ModuleType, K: np.ndarray) -> np.ndarray:
    N, n = K.shape[0], K.shape[1]
    lam, V, W, cond = np.empty((N, n)), np.empty((N, n, n)), np.empty((N, n, n)), np.empty(N)
    mod.eigen_small(K, lam, V, W, cond)
    return W


def main(rev: str = "b18cdba", rounds: int = 7) -> None:
    old_map = _module_at(rev, "src/ifxdose/core/estimation/map_numba.py", "old_map_numba")
    old_kernel = _module_at(rev, "src/ifxdose/core/pk/kernel_numba.py", "old_kernel_numba")
    new_map = compiled.module()
    new_kernel = kernel.kernel()
    assert new_map is not None and new_kernel is not None
    patients = bench.cohort(200)
    geometry = _prior_geometry(bench.MODEL.omega)
    singles = [compiled.pack([pr], [o], geometry[0]) for pr, o, _ in patients]
    batch = compiled.pack([pr for pr, _, _ in patients], [o for _, o, _ in patients], geometry[0])
    rng = np.random.default_rng(5)
    K = np.zeros((200_000, 2, 2))
    K[:, 0, 0], K[:, 0, 1] = -rng.uniform(0.1, 1, 200_000), rng.uniform(0.01, 0.2, 200_000)
    K[:, 1, 0], K[:, 1, 1] = rng.uniform(0.01, 0.2, 200_000), -K[:, 0, 1]
    variants = {"old": (old_map, old_kernel), "new": (new_map, new_kernel)}
    t0 = time.process_time()
    for mm, km in variants.values():  # compile (or load from the cache) outside the timing
        _fit(mm, singles[0], geometry, False)
        _fit(mm, batch, geometry, True)
        _eigen(km, K[:10])
    compile_s = time.process_time() - t0
    same = bool(
        np.array_equal(_fit(old_map, batch, geometry, True), _fit(new_map, batch, geometry, True))
        and all(np.array_equal(_fit(old_map, s, geometry, False), _fit(new_map, s, geometry, False)) for s in singles)
        and np.array_equal(_eigen(old_kernel, K), _eigen(new_kernel, K))
    )
    times: dict[str, dict[str, list[float]]] = {
        v: {"single_fit_us": [], "batch_serial_ms": [], "batch_threads_ms": [], "eigen_ms": []} for v in variants
    }
    for r in range(rounds):
        order = list(variants.items()) if r % 2 == 0 else list(variants.items())[::-1]  # alternate who goes first
        for name, (mm, km) in order:
            per = []
            for s in singles:
                t = time.process_time()
                _fit(mm, s, geometry, False)
                per.append(time.process_time() - t)
            times[name]["single_fit_us"].append(1e6 * float(np.median(per)))
            for key, threads in (("batch_serial_ms", False), ("batch_threads_ms", True)):
                best = np.inf
                for _ in range(REPEATS):  # best of REPEATS: another process's burst hits one repeat, not all
                    t = time.process_time()
                    _fit(mm, batch, geometry, threads)
                    best = min(best, time.process_time() - t)
                times[name][key].append(1e3 * best)
            best = np.inf
            for _ in range(REPEATS):
                t = time.process_time()
                _eigen(km, K)
                best = min(best, time.process_time() - t)
            times[name]["eigen_ms"].append(1e3 * best)
    med = {v: {k: round(float(np.median(x)), 2) for k, x in d.items()} for v, d in times.items()}
    print(
        json.dumps(
            {
                "rev": rev,
                "bitwise_same_results": same,
                "medians": med,
                "ratio_new_over_old": {k: round(med["new"][k] / med["old"][k], 3) for k in med["new"]},
                "compile_or_cache_load_s": round(compile_s, 1),
                "rounds": rounds,
                "loadavg": [round(x, 2) for x in os.getloadavg()],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main(*(sys.argv[1:2] or ["b18cdba"]), *([int(sys.argv[2])] if len(sys.argv) > 2 else []))
