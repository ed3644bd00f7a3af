"""Compiled MAP (numba) for the common case, one patient or a batch of patients in one call.

Eligible: a library model with linear 1- or 2-compartment structure, no SC depot,
covariates constant over the history (one segment), IV doses (bolus or infusion), random
effects on CL, V1, Q or V2 — the RA default (``ifxdose_ra_mbma``) and the TDM cases. The
body (:mod:`ifxdose.core.estimation.map_numba`) runs stages 1-2 of
:func:`ifxdose.core.estimation.map.estimate_map` (screen, start choice, damped Newton with
exact analytic gradient and Hessian from one real pass) in compiled code; stages 2b-3 (multimodality certificate,
checks) stay in Python and are shared with the NumPy path, so both paths give the same
answers (tested to 1e-6 in eta) and the same errors.

When it runs: numba is loaded once the process has done ``MAP_MIN_FITS`` MAP fits (or the
simulation kernel already loaded it, or a batch of that many patients is asked for).
Assumption (tuning constant, not a correctness limit): 200 NumPy fits (~2-4 ms each on the
2-core development machine) take about as long as importing numba and loading the cached
machine code (~1 s); a CLI call or a clinic request never pays for the import.
``IFXDOSE_KERNEL_MIN_WORK=0`` forces the compiled path; ``IFXDOSE_KERNEL=0`` disables it.
Like the simulation kernel, only the main thread of an unforked process uses it
(:func:`ifxdose.core.pk.kernel.compiled_allowed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import qmc

from ifxdose.core.estimation import exact as _exact
from ifxdose.core.pk import kernel as _kernel
from ifxdose.core.pk.events import ROUTE_IV

F64 = npt.NDArray[np.float64]

MAP_MIN_FITS = 0 if _kernel.KERNEL_MIN_WORK == 0 else 200
_PARAMS = ("CL", "V1", "Q", "V2")
_STATE: dict[str, Any] = {"fits": 0}

OFV_TOL = 1e-3  #: = map.OFV_TOL (two optima whose OFVs differ by more disagree)


def module() -> ModuleType | None:
    """The compiled module (numba imported on first call), or None if unavailable/disabled."""
    if "mod" not in _STATE:
        mod: ModuleType | None = None
        if _kernel.KERNEL_ENABLED:
            try:
                from ifxdose.core.estimation import map_numba as mod
            except ImportError:  # pragma: no cover - numba is a declared dependency
                mod = None
        _STATE["mod"] = mod
    result: ModuleType | None = _STATE["mod"]
    return result


def use_compiled(n_fits: int) -> bool:
    """Whether ``n_fits`` MAP fits about to run should take the compiled path (and count them)."""
    if not _kernel.compiled_allowed():
        return False
    _STATE["fits"] = int(_STATE["fits"]) + n_fits
    if _STATE.get("mod") is not None:
        return True
    if int(_STATE["fits"]) >= MAP_MIN_FITS or _kernel.loaded():
        return module() is not None
    return False


def ready() -> bool:
    """Whether the compiled MAP is already loaded and may run here (no import is triggered)."""
    return _STATE.get("mod") is not None and _kernel.compiled_allowed()


def exact_hessian(problem: Any, obs: Any, eta: F64) -> F64 | None:
    """The OFV's exact Hessian (k, k) at eta from the one-pass analytic derivatives: compiled
    when the compiled MAP is loaded here, else the same formulas in Python
    (:mod:`ifxdose.core.estimation.exact`), so the answer does not depend on whether numba has
    loaded; None when the problem is not eligible or the point is ill-conditioned or not finite
    (the caller then differentiates numerically)."""
    if not eligible(problem):
        return None
    packed = pack([problem], [obs])
    if packed is None:
        return None
    x = np.asarray(eta, float)
    if ready():
        f, _, H = ofv_gradient_hessian(packed, x[None, :])
        if not np.isfinite(f[0]):
            return None
        out: F64 = H[0]
        return out
    f0, _, H0, ill = _exact.ofv_gradient_hessian(packed, x)
    return None if ill or not np.isfinite(f0) else H0


@dataclass(frozen=True)
class Packed:
    """P patients' data as padded arrays (doses (P, D), levels (P, T); NaN pads)."""

    tv: F64
    eta_param: npt.NDArray[np.int64]
    two_cmt: bool
    dose_t: F64
    dose_amt: F64
    dose_dur: F64
    n_dose: npt.NDArray[np.int64]
    obs_t: F64
    y: F64
    lloq: F64
    blq: npt.NDArray[np.bool_]
    n_obs: npt.NDArray[np.int64]
    omega_inv: F64
    add: float
    prop: float

    def args(self) -> tuple[Any, ...]:
        return (
            self.tv,
            self.eta_param,
            self.two_cmt,
            self.dose_t,
            self.dose_amt,
            self.dose_dur,
            self.n_dose,
            self.obs_t,
            self.y,
            self.lloq,
            self.blq,
            self.n_obs,
            self.omega_inv,
            self.add,
            self.prop,
        )


def eligible(problem: Any) -> bool:
    """Whether a problem can take the compiled path (see the module docstring)."""
    model = getattr(problem, "model", None)
    if model is None or not hasattr(problem, "typical") or hasattr(problem, "data_ofv"):
        return False
    if model.structure not in ("1cmt", "2cmt") or model.has_depot or problem.segment_start_days.size != 1:
        return False
    if not set(model.eta_parameters) <= set(_PARAMS):
        return False
    table = problem._table
    return bool(np.all(table.route == ROUTE_IV))


def _padded(rows: list[Any], width: int, fill: float, dtype: type[np.generic] = np.float64) -> npt.NDArray[Any]:
    """Ragged 1-D rows -> (P, width) filled with ``fill`` past each row's end; no per-row Python
    beyond collecting the rows (one concatenation and one masked assignment)."""
    if len(rows) == 1 and rows[0].size == width:  # a single fit: no padding to do
        return np.array(rows[0], dtype=dtype).reshape(1, width)
    sizes = np.fromiter((r.size for r in rows), np.int64, len(rows))
    out = np.full((len(rows), width), fill, dtype=dtype)
    if sizes.size and np.all(sizes == width):
        if width:
            out[...] = np.concatenate(rows).reshape(len(rows), width)  # one C pass (np.stack: ~5x slower)
        return out
    if rows:
        out[np.arange(width)[None, :] < sizes[:, None]] = np.concatenate(rows) if sizes.sum() else []
    return out


def _flat_rows(rows: list[Any]) -> tuple[F64, npt.NDArray[np.int64]] | None:
    """1-D rows (arrays or lists, one per patient) -> (their values end to end as floats, each
    row's length) in one concatenation; None if a row is not 1-D (the caller then ravels row
    by row)."""
    try:
        sizes = np.fromiter(map(len, rows), np.int64, len(rows))
        flat = np.concatenate(rows) if rows else np.zeros(0)
    except (TypeError, ValueError):  # a 0-d value (no len), or rows of different dimensions
        return None
    if flat.ndim != 1 or flat.size != int(sizes.sum()):
        return None
    return np.asarray(flat, float), sizes


def _padded_flat(flat: F64, sizes: npt.NDArray[np.int64], width: int, fill: float) -> F64:
    """Values end to end (:func:`_flat_rows`) -> (P, width), row p's values first, ``fill`` after."""
    P = sizes.size
    if P and np.all(sizes == width):
        return flat.reshape(P, width)
    out = np.full((P, width), fill)
    out[np.arange(width)[None, :] < sizes[:, None]] = flat
    return out


def _observation_arrays(observations: list[Any]) -> tuple[F64, F64, F64, npt.NDArray[np.int64]]:
    """Times, values and LLOQs (P, T) padded with NaN, and the number of levels (P,): each of the
    three fields in one concatenation over the patients when its rows are 1-D and, for values
    and LLOQs, as long as the times; otherwise (and for one patient) row by row, ravelled."""
    rows = [(o.time_days, o.value_mg_l, o.lloq_mg_l) for o in observations]
    parts = [_flat_rows([r[i] for r in rows]) for i in range(3)] if len(rows) > 1 else [None]
    t_part = parts[0]
    if t_part is not None and all(q is not None and bool(np.all(q[1] == t_part[1])) for q in parts[1:]):
        sizes = t_part[1]
        T = int(sizes.max()) if sizes.size else 0
        obs_t, y, lloq = (_padded_flat(q[0], sizes, T, np.nan) for q in parts if q is not None)
        return obs_t, y, lloq, sizes
    times = [np.asarray(r[0], float).ravel() for r in rows]
    T = max((t.size for t in times), default=0)
    y = _padded([np.asarray(r[1], float).ravel() for r in rows], T, np.nan)
    lloq = _padded([np.asarray(r[2], float).ravel() for r in rows], T, np.nan)
    return _padded(times, T, np.nan), y, lloq, np.fromiter((t.size for t in times), np.int64, len(times))


def pack(problems: list[Any], observations: list[Any], omega_inv: F64 | None = None) -> Packed | None:
    """Pack eligible problems sharing one model into arrays; None if any is not eligible
    (``omega_inv``: the model's Omega^-1 if already at hand). Each field is gathered in one
    pass over the patients and one concatenation (no per-patient array operations); the
    padding and the checks are vectorised over all of them."""
    if not problems:
        return None
    model = problems[0].model
    kind = type(problems[0])
    if any(p.model is not model or type(p) is not kind for p in problems) or not eligible(problems[0]):
        return None  # model-level eligibility is checked once: every problem has this model and class
    if any(p.segment_start_days.size != 1 for p in problems):  # the rest of eligible(): same model
        return None
    tables = [p._table for p in problems]
    shapes = [t.time_days.shape for t in tables]
    if any(s[0] != 1 for s in shapes):
        return None
    P = len(problems)
    n_dose = np.fromiter((s[1] for s in shapes), np.int64, P)
    D = int(n_dose.max())
    if np.all(n_dose == D):  # one regimen length (the common batch): (1, D) tables stack in one C pass
        route = np.concatenate([t.route for t in tables])
        dose_t = np.concatenate([t.time_days for t in tables]).astype(float, copy=False)
        dose_amt = np.concatenate([t.amount_mg for t in tables]).astype(float, copy=False)
        dose_dur = np.concatenate([t.duration_days for t in tables]).astype(float, copy=False)
    else:
        route = _padded([t.route[0] for t in tables], D, ROUTE_IV, np.int8)
        dose_t = _padded([t.time_days[0] for t in tables], D, np.nan)
        dose_amt = _padded([t.amount_mg[0] for t in tables], D, 0.0)
        dose_dur = _padded([t.duration_days[0] for t in tables], D, 0.0)
    if not np.all(route == ROUTE_IV):
        return None
    obs_t, y, lloq, n_obs = _observation_arrays(observations)
    within = np.arange(obs_t.shape[1])[None, :] < n_obs[:, None]
    if not np.all(np.isfinite(obs_t[within])):
        return None
    blq = np.isnan(y) & within
    tv = np.zeros((P, 4))
    tv[:, 3] = 1.0  # 1-compartment: Q = 0, V2 unused
    typical = [p.typical for p in problems]
    for j, name in enumerate(_PARAMS):
        if name in typical[0]:
            tv[:, j] = np.fromiter((d[name][0] for d in typical), float, P)  # (1,) each: one segment
    return Packed(
        tv,
        np.array([_PARAMS.index(e) for e in model.eta_parameters], np.int64),
        model.structure == "2cmt",
        dose_t,
        dose_amt,
        dose_dur,
        n_dose,
        obs_t,
        y,
        lloq,
        blq,
        n_obs,
        np.ascontiguousarray(np.linalg.inv(model.omega) if omega_inv is None else omega_inv, float),
        float(model.residual_additive_mg_l),
        float(model.residual_proportional),
    )


@dataclass(frozen=True)
class Fits:
    """Stages 1-2 for P patients: screen OFVs (P, Q), up to 3 starts each (P, 3, k) with the
    Newton end points, OFVs, gradients, status codes, iterations, then in slot n_starts the
    global-search run when ``global_search`` (P,); n_starts (P,) (0: nothing finite at the
    screen, -1: ill-conditioned eigenvectors, use the NumPy/ODE path); objective evaluations
    (screen and global-search values, plus one per Newton iterate: each gives the OFV with its
    exact gradient and Hessian)."""

    screen_ofv: F64
    starts: F64
    xs: F64
    fs: F64
    gs: F64
    status: npt.NDArray[np.int64]
    iters: npt.NDArray[np.int64]
    n_starts: npt.NDArray[np.int64]
    global_search: npt.NDArray[np.bool_]
    n_evaluations: npt.NDArray[np.int64]


def empty_fits(P: int, Q: int, k: int) -> Fits:
    """The output buffers the compiled stages write into: P patients, Q screen points, k random
    effects (OFVs start at +inf, everything else at zero)."""
    return Fits(
        np.full((P, Q), np.inf),
        np.zeros((P, 4, k)),
        np.zeros((P, 4, k)),
        np.full((P, 4), np.inf),
        np.zeros((P, 4, k)),
        np.zeros((P, 4), np.int64),
        np.zeros((P, 4), np.int64),
        np.zeros(P, np.int64),
        np.zeros(P, np.bool_),
        np.zeros(P, np.int64),
    )


#: Assumption (numerical design): the compiled path's global search (stage 2b, only when starts
#: disagree) scans this many scrambled-Sobol points of the whitened box [-4, 4]^k and runs
#: Newton from the best; the NumPy path runs differential evolution over the same box.
N_GLOBAL = 1024


@lru_cache(maxsize=16)
def _global_points(k: int) -> F64:
    return np.ascontiguousarray(8.0 * qmc.Sobol(k, scramble=True, seed=20261130).random(N_GLOBAL) - 4.0)


_SCALED: dict[bytes, F64] = {}


def _global_points_scaled(L: F64) -> F64:
    """The global-search points in eta units (whitened points times L'), once per L."""
    key = L.tobytes() + str(L.shape).encode()
    if key not in _SCALED:
        if len(_SCALED) > 64:
            _SCALED.clear()
        k = L.shape[0]
        _SCALED[key] = np.ascontiguousarray(_global_points(k) @ L.T) if k else np.zeros((0, 0))
    return _SCALED[key]


def fit(packed: Packed, screen: F64, white: F64, L: F64, gtol: float, max_iter: int, parallel: bool = False) -> Fits:
    """Run the compiled stages 1-2 (``parallel``: patients over threads)."""
    mod = module()
    if mod is None:
        raise RuntimeError("the compiled MAP is not available (numba missing or IFXDOSE_KERNEL=0)")
    P, Q, k = packed.tv.shape[0], screen.shape[0], screen.shape[1]
    out = empty_fits(P, Q, k)
    fn = mod.fit_threads if parallel and P > 1 else mod.fit_serial
    fn(
        np.ascontiguousarray(screen, float),
        np.ascontiguousarray(white, float),
        _global_points_scaled(np.ascontiguousarray(L, float)),
        OFV_TOL,
        float(gtol),
        int(max_iter),
        packed.args(),
        out.screen_ofv,
        out.starts,
        out.xs,
        out.fs,
        out.gs,
        out.status,
        out.iters,
        out.n_starts,
        out.global_search,
        out.n_evaluations,
    )
    return out


def ofv_and_gradient(packed: Packed, X: F64, patient: int = 0) -> tuple[F64, F64]:
    """Compiled OFV (N,) and exact gradient (N, k) at points X (N, k) (NaN: ill-conditioned)."""
    mod = module()
    if mod is None:
        raise RuntimeError("the compiled MAP is not available (numba missing or IFXDOSE_KERNEL=0)")
    X = np.ascontiguousarray(np.atleast_2d(X), float)
    f, g = np.empty(X.shape[0]), np.empty(X.shape)
    mod.ofv_points(X, int(patient), packed.args(), f, g)
    return f, g


def ofv_gradient_hessian(packed: Packed, X: F64, patient: int = 0) -> tuple[F64, F64, F64]:
    """Compiled OFV (N,), exact gradient (N, k) and exact Hessian (N, k, k) at points X (N, k)
    from the one-pass analytic derivatives the Newton steps use (NaN OFV: ill-conditioned)."""
    mod = module()
    if mod is None:
        raise RuntimeError("the compiled MAP is not available (numba missing or IFXDOSE_KERNEL=0)")
    X = np.ascontiguousarray(np.atleast_2d(X), float)
    n, k = X.shape
    f, g, H = np.empty(n), np.empty((n, k)), np.empty((n, k, k))
    mod.ofv_derivative_points(X, int(patient), packed.args(), f, g, H)
    return f, g, H


_MESSAGES = {
    0: "converged in {} iterations",
    1: "converged in {} iterations (Newton decrement below round-off)",
    2: "line search stalled after {} iterations",
    3: "stopped after {} iterations",
    4: "objective not finite at the start",
    5: "ill-conditioned eigenvectors",
}


@lru_cache(maxsize=4096)
def message(status: int, iters: int, max_iter: int) -> str:
    """The NumPy path's message for one compiled status code (cached: few distinct values)."""
    if status >= 10:
        return f"joined start {status - 9} after {iters} iterations"
    return _MESSAGES[status].format(max_iter if status == 3 else iters)


def messages(status: npt.NDArray[np.int64], iters: npt.NDArray[np.int64], max_iter: int) -> list[str]:
    """The NumPy path's messages for the compiled status codes."""
    return [message(int(s), int(i), int(max_iter)) for s, i in zip(status, iters)]
