"""One entry point for both engines, chunked over patients to bound memory."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from ifxdose.core.errors import InputError
from ifxdose.core.pk.events import DoseTable
from ifxdose.core.pk.kernel import use_kernel
from ifxdose.core.pk.linear import same_schedule, simulate_linear
from ifxdose.core.pk.model import PKModel
from ifxdose.core.pk.ode import simulate_ode

ENGINES = ("auto", "closed-form", "ode")


def _checked(model: PKModel, engine: str, obs_days: npt.ArrayLike) -> np.ndarray:
    if engine not in ENGINES:
        raise InputError("engine", engine, f"allowed values are {', '.join(ENGINES)}")
    if engine == "closed-form" and not model.is_linear:
        raise InputError("engine", engine, f"model {model.name} is non-linear ({model.structure}); use 'ode' or 'auto'")
    obs = np.asarray(obs_days, float)
    if np.any(np.diff(obs, axis=-1) < 0):
        raise InputError("times", "not ascending", "observation times must be in ascending order")
    finite = np.isfinite(obs)
    if obs.size and np.any(~finite[..., :-1] & finite[..., 1:]):  # the kernel stops at the first one
        raise InputError(
            "times",
            "a non-finite time before a finite one",
            "non-finite observation times are allowed only as trailing padding (their concentrations are NaN)",
        )
    return obs


def _chunk(
    model: PKModel,
    params: dict[str, np.ndarray],
    segment_start_days: np.ndarray,
    doses: DoseTable,
    obs: np.ndarray,
    sl: slice,
    linear: bool,
    out: np.ndarray | None = None,
    same: bool | None = None,
) -> np.ndarray:
    part = DoseTable(doses.time_days[sl], doses.amount_mg[sl], doses.duration_days[sl], doses.route[sl])
    p = {k: v[sl] for k, v in params.items()}
    seg = segment_start_days[sl]
    obs_part = obs if obs.ndim == 1 else obs[sl]
    if not linear:
        return simulate_ode(model.structure, p, seg, part, obs_part)
    conc, ill = simulate_linear(model.structure, p, seg, part, obs_part, out=out, same=same)
    if ill.any():
        fallback = simulate_ode(model.structure, p, seg, part, obs_part, patients=np.nonzero(ill)[0])
        conc[ill] = fallback[ill]
    return conc


def iter_concentrations(
    model: PKModel,
    params: dict[str, np.ndarray],
    segment_start_days: np.ndarray,
    doses: DoseTable,
    obs_days: np.ndarray,
    engine: str = "auto",
    chunk_size: int = 8192,
) -> Iterator[tuple[slice, np.ndarray]]:
    """Stream :func:`simulate_concentrations` chunk by chunk: yields (patient slice,
    concentrations (chunk, T) in mg/L). Memory is bounded by one chunk, not by P."""
    obs = _checked(model, engine, obs_days)
    P, T = doses.n_patients, obs.shape[-1]
    linear = model.is_linear and engine != "ode"
    if linear:  # decided for the whole job: a large one loads the compiled kernel, the chunks follow
        use_kernel(P, T + 2 * doses.time_days.shape[1] + segment_start_days.shape[1])
    for lo in range(0, P, chunk_size):
        sl = slice(lo, min(lo + chunk_size, P))
        yield sl, _chunk(model, params, segment_start_days, doses, obs, sl, linear)


def simulate_concentrations(
    model: PKModel,
    params: dict[str, np.ndarray],
    segment_start_days: np.ndarray,
    doses: DoseTable,
    obs_days: np.ndarray,
    engine: str = "auto",
    chunk_size: int = 8192,
) -> np.ndarray:
    """Concentrations (P, T) in mg/L for individual parameters given per covariate segment.

    ``params``: name -> (P, S); ``segment_start_days``: (P, S) with column 0 = -inf;
    ``obs_days``: (P, T) or (T,). Linear models use the exact closed form (patients with an
    ill-conditioned eigenbasis fall back to the ODE engine): the compiled kernel
    (:mod:`ifxdose.core.pk.kernel`) for large jobs, the NumPy recurrence otherwise.
    Non-linear models, or ``engine="ode"``, use the ODE engine.
    """
    obs = _checked(model, engine, obs_days)
    P, T = doses.n_patients, obs.shape[-1]
    linear = model.is_linear and engine != "ode"
    # Decided once for the whole job (loads numba when the job is large); the chunks follow.
    # The compiled kernel writes patient rows (C order); the NumPy path time columns (F).
    fast = linear and use_kernel(P, T + 2 * doses.time_days.shape[1] + segment_start_days.shape[1])
    shared = obs.ndim == 1 and P > 1 and same_schedule(doses, segment_start_days)
    out = np.empty((P, T), order="C" if fast and not shared else "F")
    if fast and shared:
        # One kernel call for everyone: the temporaries are O(P n^2), small next to the
        # (P, T) result; one parallel region instead of one per chunk.
        chunk_size = max(chunk_size, P)
    for lo in range(0, P, chunk_size):
        sl = slice(lo, min(lo + chunk_size, P))
        conc = _chunk(  # rows of patients sharing one schedule share it too: checked once, above
            model, params, segment_start_days, doses, obs, sl, linear, out[sl] if linear else None, shared or None
        )
        if not np.shares_memory(conc, out):  # the linear paths write in place
            out[sl] = conc
    unreached = ~np.isfinite(obs)  # padding: NaN on every path (the NumPy path left it unwritten)
    if unreached.any():
        out[(slice(None), unreached) if obs.ndim == 1 else unreached] = np.nan
    return out
