"""Benchmark: compile time of each numba entry point with an empty cache (a fresh clone's cost).

Each entry point runs in its own new process with its own empty ``NUMBA_CACHE_DIR``: the first
call (typing, numba IR, LLVM -O3, machine code, cache write) minus a second identical call (run
time only) is that entry point's compile time, callees included. A last process runs every
entry point one after another in one empty cache (what one test worker pays for all of them).
The arguments are built by the package's own call boundaries (``compiled.fit``,
``compiled.ofv_and_gradient``, ``kernel.run``), so the compiled signatures are the ones the
suite and production use. Prints JSON (seconds; ``uptime`` load averages, the machine is shared).

With ``--rev REV`` every measurement is made twice, interleaved (REV's ``map_numba.py`` and
``kernel_numba.py``, loaded from ``git show``, then today's), so that machine load hits both alike.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/numba_compile.py [--rev REV] [ENTRY ...]``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

ENTRIES = (
    "map.fit_serial",
    "map.fit_parallel",
    "map.ofv_derivative_points",
    "map.ofv_points",
    "kernel.propagate",
    "kernel.propagate_shared",
    "kernel.eigen_small",
)


def _map_case():  # type: ignore[no-untyped-def]
    import numpy as np

    from ifxdose.core.estimation import Observations, Problem, compiled
    from ifxdose.core.pk import ROUTE_IV
    from ifxdose.domain.modelfiles import default_model_name, load_model

    model = load_model(default_model_name())
    doses = [(d, 186.0, 2 / 24, ROUTE_IV) for d in (0.0, 14.0, 42.0, 98.0, 154.0)]
    pr = Problem(model, np.array([-np.inf]), {"weight_kg": np.array([62.0])}, doses)
    y = np.array([6.1, 2.9, 1.2, np.nan])
    o = Observations(np.array([42.0, 70.0, 98.0, 154.0]), y, np.where(np.isnan(y), 0.5, np.nan))
    return compiled, pr, o


def _call(entry: str):  # type: ignore[no-untyped-def]
    """A function that calls ``entry`` once through the package's call boundary."""
    import numpy as np

    group, name = entry.split(".")
    if group == "map":
        from ifxdose.core.estimation import map as map_mod

        compiled, pr, o = _map_case()
        compiled.module()
        if name in ("fit_serial", "fit_parallel"):
            packed = compiled.pack([pr, pr], [o, o])
            _, L, screen, white = map_mod._prior_geometry(pr.model.omega)
            return lambda: compiled.fit(packed, screen, white, L, 1e-6, 50, parallel=name == "fit_parallel")
        packed = compiled.pack([pr], [o])
        X = np.random.default_rng(3).normal(0, 0.4, (4, pr.n_eta))
        if name == "ofv_points":
            return lambda: compiled.ofv_and_gradient(packed, X)
        return lambda: compiled.ofv_gradient_hessian(packed, X)
    from ifxdose.core.pk import kernel

    kernel.kernel()
    if name == "eigen_small":
        K = np.array([[[-0.3, 0.1], [0.2, -0.1]]] * 4)
        return lambda: kernel.eigen_small(K)
    return _simulate_call(shared=name == "propagate_shared")


def _simulate_call(shared: bool):  # type: ignore[no-untyped-def]
    """The label regimen on 8 patients: one shared schedule (blocked kernel) or per-patient
    sample times (per-patient kernel)."""
    import numpy as np

    from ifxdose.core.pk import ROUTE_IV, DoseTable, kernel, simulate_concentrations
    from ifxdose.domain.modelfiles import default_model_name, load_model

    m = load_model(default_model_name())
    P = 8
    rng = np.random.default_rng(2)
    p = m.individual_parameters({"weight_kg": rng.uniform(50, 90, (P, 1))}, m.sample_eta(P, rng)[:, None, :])
    doses = DoseTable.same_for_all(P, [0.0, 14.0, 42.0], 300.0, 2 / 24, ROUTE_IV)
    obs = np.linspace(1.0, 60.0, 12) if shared else np.sort(rng.uniform(1.0, 60.0, (P, 12)), axis=1)
    kernel.KERNEL_MIN_WORK = kernel.KERNEL_MIN_WORK_LOADED = 0
    return lambda: simulate_concentrations(m, p, np.full((P, 1), -np.inf), doses, obs)


def _use_revision(rev: str) -> None:
    """Make the package's call boundaries use REV's compiled modules (a new file each: empty cache)."""
    import importlib.util
    import tempfile
    from pathlib import Path

    from ifxdose.core.estimation import compiled
    from ifxdose.core.pk import kernel

    root = Path(__file__).resolve().parents[1]
    for rel, state, key in (
        ("src/ifxdose/core/estimation/map_numba.py", compiled._STATE, "mod"),
        ("src/ifxdose/core/pk/kernel_numba.py", kernel._STATE, "fn"),
    ):
        text = subprocess.run(["git", "show", f"{rev}:{rel}"], cwd=root, check=True, capture_output=True, text=True)
        path = Path(tempfile.mkdtemp(prefix="numba-rev-")) / f"rev_{Path(rel).name}"
        path.write_text(text.stdout)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = mod
        spec.loader.exec_module(mod)
        state[key] = mod


def _child(entries: list[str]) -> None:
    if entries and entries[0].startswith("--rev="):
        _use_revision(entries.pop(0).split("=", 1)[1])
    out = {}
    for entry in entries:
        fn = _call(entry)
        t0 = time.perf_counter()
        fn()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        fn()
        second = time.perf_counter() - t0
        out[entry] = round(first - second, 2)
    print(json.dumps(out))


def _run(entries: list[str], rev: str | None = None) -> dict[str, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=tempfile.mkdtemp(prefix="numba-cold-"), IFXDOSE_KERNEL_MIN_WORK="0")
    args = [f"--rev={rev}"] if rev else []
    res = subprocess.run(
        [sys.executable, __file__, "--child", *args, *entries], env=env, capture_output=True, text=True
    )
    if res.returncode:
        raise SystemExit(res.stderr)
    result: dict[str, float] = json.loads(res.stdout.strip().splitlines()[-1])
    return result


def main(entries: list[str], rev: str | None = None) -> None:
    t0 = time.time()
    load = [os.getloadavg()]
    variants = [rev, None] if rev else [None]
    each: dict[str, dict[str, float]] = {str(v or "today"): {} for v in variants}
    for e in entries:
        for v in variants:
            each[str(v or "today")].update(_run([e], v))
    together = {str(v or "today"): _run(entries, v) for v in variants}
    load.append(os.getloadavg())
    print(
        json.dumps(
            {
                "compile_s_each_in_its_own_empty_cache": each,
                "compile_s_all_in_one_process": together,
                "total_one_process_s": {k: round(sum(v.values()), 1) for k, v in together.items()},
                "wall_s": round(time.time() - t0, 1),
                "loadavg_start_end": load,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2:])
    else:
        argv = sys.argv[1:]
        rev = None
        if argv[:1] == ["--rev"]:
            rev, argv = argv[1], argv[2:]
        main(argv or list(ENTRIES), rev)
