"""Compiled event-to-event propagation of linear compartment models (numba), fused over
patients and times and multithreaded over patients.

The same exact recurrence as :mod:`ifxdose.core.pk.linear` (docs/engine.md): with the
rate matrix K = V diag(lam) W (W = V^-1) of the patient's current covariate segment and
z = W A the eigen-coordinates of the amounts A, a step of length h with constant input
rate r (amount space) is

    z(t + h) = exp(lam h) z(t) + expm1(lam h) / lam * (W r)

applied from event to event and grid point to grid point, one patient per thread
iteration. A bolus adds W[:, c] * amount; a zero-order infusion changes r while it runs;
an SC dose goes into the depot (last state) times bioavailability F; a covariate switch
maps z back to amounts (V z) and into the new eigenbasis. The step's exponentials are
recomputed only when h changes (a daily grid mostly repeats h = 1 day).

Why numba: the loop over events is sequential per patient and tiny (n <= 4 states), so
NumPy can only vectorise across patients, paying one temporary array and one Python
dispatch per event and component; a compiled loop keeps the state in registers, writes
each concentration once, and ``prange`` spreads patients over cores with no pickling.
numba is a well-kept LLVM compiler for exactly this kind of NumPy loop, has wheels for
every platform NumPy has, and needs no C toolchain. It is imported lazily (CLI start-up
and small MAP problems never pay for it); the compiled code is cached on disk
(``cache=True``), so only the first call on a machine compiles.
"""

from __future__ import annotations

import os
import threading
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from ifxdose.core.pk.events import OBS

#: Load the compiled kernel once the process's linear-engine work reaches this many
#: patient-events (patients x events per patient), counting the job at hand and what the
#: NumPy path has already done. Importing numba and loading the cached machine code costs
#: ~1 s once per process (2.6 + 1.05 s measured on the loaded 2-core development machine);
#: 100 million patient-events (a job of 250,000 patients on a daily 54-week grid, or a long
#: trial run) take the NumPy path about as long, so loading never costs more than the work
#: already done, and short commands (a CLI call, one MAP fit) never load it. Assumption:
#: tuning constants measured on the development machine, not correctness limits;
#: IFXDOSE_KERNEL_MIN_WORK overrides this one (0: always use the kernel).
KERNEL_MIN_WORK = int(os.environ.get("IFXDOSE_KERNEL_MIN_WORK", 100_000_000))
#: ... and once numba is loaded, use the kernel for jobs of at least this many (a kernel
#: call costs microseconds; below this the NumPy path is as fast).
KERNEL_MIN_WORK_LOADED = min(KERNEL_MIN_WORK, 20_000)

#: Set IFXDOSE_KERNEL=0 to never use the compiled kernel (pure NumPy).
KERNEL_ENABLED = os.environ.get("IFXDOSE_KERNEL", "1") != "0"

_STATE: dict[str, Any] = {}


def _after_fork_in_child() -> None:
    """A forked child (e.g. a ProcessPoolExecutor worker on Linux) uses the NumPy path: GNU
    OpenMP, numba's usual threading layer, cannot run in a child forked after it started."""
    _STATE["forked"] = True


os.register_at_fork(after_in_child=_after_fork_in_child)


def kernel() -> ModuleType | None:
    """The compiled kernel (numba imported and the function compiled on first use), or None
    when numba is unavailable or disabled."""
    if "fn" not in _STATE:
        fn: ModuleType | None = None
        if KERNEL_ENABLED:
            try:
                from ifxdose.core.pk import kernel_numba

                fn = kernel_numba
            except ImportError:  # pragma: no cover - numba is a declared dependency
                fn = None
        _STATE["fn"] = fn
    mod: ModuleType | None = _STATE["fn"]
    return mod


def compiled_allowed() -> bool:
    """Whether compiled code may run here: enabled, not a forked child, the main thread (see
    :func:`use_kernel`)."""
    return bool(KERNEL_ENABLED and not _STATE.get("forked") and threading.current_thread() is threading.main_thread())


def loaded() -> bool:
    """Whether the simulation kernel (hence numba) is already loaded in this process."""
    return _STATE.get("fn") is not None


def use_kernel(n_patients: int, n_events: int) -> bool:
    """Whether a job of ``n_patients`` x ``n_events`` should run on the compiled kernel.

    Only the main thread uses it: a web app's worker threads (and Dask worker threads) take the
    NumPy path, which gives the same numbers. Loading or launching numba's parallel kernels
    from several Python threads at once raised SystemError in the clinic app under test
    (found by the form-route fuzz test once the process had done enough work to load numba)."""
    if not KERNEL_ENABLED or _STATE.get("forked") or threading.current_thread() is not threading.main_thread():
        return False
    work = n_patients * n_events
    if _STATE.get("fn") is not None and work >= KERNEL_MIN_WORK_LOADED:
        return True
    done = int(_STATE.get("numpy_work", 0))
    return work >= KERNEL_MIN_WORK_LOADED and work + done >= KERNEL_MIN_WORK and kernel() is not None


def note_numpy_work(n_patients: int, n_events: int) -> None:
    """Count work done on the NumPy path (see KERNEL_MIN_WORK)."""
    _STATE["numpy_work"] = int(_STATE.get("numpy_work", 0)) + n_patients * n_events


def set_threads(n: int | None) -> int:
    """Threads for the kernel (None: all cores numba sees); returns the number in force."""
    if kernel() is None:
        return 1
    import numba

    most = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    numba.set_num_threads(most if n is None else max(1, min(int(n), most)))
    return int(numba.get_num_threads())


def eigen_small(K: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`ifxdose.core.pk.linear.eigen` of (..., n, n) rate matrices with n = 1 or 2, on the
    compiled kernel's threads (bitwise the same numbers): (lam, V, W, condition)."""
    mod = kernel()
    if mod is None:
        raise RuntimeError("the compiled kernel is not available (numba missing or IFXDOSE_KERNEL=0)")
    n = K.shape[-1]
    flat = np.ascontiguousarray(K.reshape(-1, n, n), dtype=np.float64)
    N = flat.shape[0]
    lam, V, W, cond = np.empty((N, n)), np.empty((N, n, n)), np.empty((N, n, n)), np.empty(N)
    mod.eigen_small(flat, lam, V, W, cond)
    batch = K.shape[:-2]
    return lam.reshape(batch + (n,)), V.reshape(K.shape), W.reshape(K.shape), cond.reshape(batch)


def step_table(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a sorted shared schedule (M,): the distinct positive step lengths (H,) and, per
    event, the index of the step taken before it (-1: none). Exact: the same float
    differences t_j - t_(j-1) that event-by-event stepping computes."""
    finite = np.isfinite(times)
    t = np.where(finite, times, times[0] if times.size and finite[0] else 0.0)
    h = np.diff(t, prepend=t[:1])
    h[~finite] = 0.0
    values, index = np.unique(h, return_inverse=True)
    index = np.where(h > 0, index - int(np.count_nonzero(values <= 0)), -1)
    return values[values > 0], index.astype(np.int64)


def propagate(
    times: np.ndarray,
    kinds: np.ndarray,
    payload: np.ndarray,
    lam: np.ndarray,
    V: np.ndarray,
    W: np.ndarray,
    v1: np.ndarray,
    f_sc: np.ndarray,
    amount: np.ndarray,
    duration: np.ndarray,
    route: np.ndarray,
    out: np.ndarray,
    obs_times: np.ndarray | None = None,
) -> np.ndarray:
    """Run the compiled kernel into ``out`` (P, T). A schedule of shape (M,) holds every event
    including the samples and is shared by all patients (blocked, vectorised kernel; ``out``
    must be Fortran-ordered). A schedule of shape (P, M) holds each patient's other events
    and ``obs_times`` ((T,) or (P, T)) the samples, merged in the kernel (``out`` C-ordered).
    Shapes in :mod:`ifxdose.core.pk.kernel_numba`."""
    mod = kernel()
    if mod is None:
        raise RuntimeError("the compiled kernel is not available (numba missing or IFXDOSE_KERNEL=0)")

    def c(a: npt.ArrayLike, dtype: type[np.generic] = np.float64) -> np.ndarray:
        # one compiled signature: C-contiguous, writeable, fixed dtypes
        return np.require(a, dtype, ["C", "W"])

    rest = (
        c(lam),
        c(V),
        c(W),
        c(v1),
        c(f_sc),
        c(amount),
        c(np.atleast_2d(duration)),
        c(np.atleast_2d(route), np.int8),
        out,
    )
    if np.ndim(times) == 1:
        if not out.T.flags.c_contiguous:
            raise ValueError("a shared schedule writes a Fortran-ordered (P, T) output")
        h_values, h_index = step_table(times)
        obs = np.asarray(kinds) == OBS
        if out.size and bool(np.isfinite(np.asarray(times)[obs]).all()) and np.count_nonzero(obs) == out.shape[1]:
            mod.first_touch(out.T)  # every element is written below: fault the pages in, in parallel
        mod.propagate_shared(c(times), c(kinds, np.int8), c(payload, np.int64), h_index, h_values, *rest[:-1], out.T)
    else:
        if not out.flags.c_contiguous:
            raise ValueError("per-patient schedules write a C-ordered (P, T) output")
        if obs_times is None:
            raise ValueError("per-patient schedules need the sample times (obs_times)")
        mod.propagate(c(np.atleast_2d(obs_times)), c(times), c(kinds, np.int8), c(payload, np.int64), *rest)
    return out
