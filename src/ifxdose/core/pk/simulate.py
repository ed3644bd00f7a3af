"""One entry point for both engines, chunked over patients to bound memory."""

from __future__ import annotations

import numpy as np

from ifxdose.core.errors import InputError
from ifxdose.core.pk.events import DoseTable
from ifxdose.core.pk.linear import simulate_linear
from ifxdose.core.pk.model import PKModel
from ifxdose.core.pk.ode import simulate_ode

ENGINES = ("auto", "closed-form", "ode")


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
    ill-conditioned eigenbasis fall back to the ODE engine); non-linear models, or
    ``engine="ode"``, use the ODE engine.
    """
    if engine not in ENGINES:
        raise InputError("engine", engine, f"allowed values are {', '.join(ENGINES)}")
    if engine == "closed-form" and not model.is_linear:
        raise InputError("engine", engine, f"model {model.name} is non-linear ({model.structure}); use 'ode' or 'auto'")
    P = doses.n_patients
    obs = np.asarray(obs_days, float)
    if np.any(np.diff(obs, axis=-1) < 0):
        raise InputError("times", "not ascending", "observation times must be in ascending order")
    out = np.empty((P, obs.shape[-1]), order="F")
    for lo in range(0, P, chunk_size):
        sl = slice(lo, min(lo + chunk_size, P))
        part = DoseTable(doses.time_days[sl], doses.amount_mg[sl], doses.duration_days[sl], doses.route[sl])
        p = {k: v[sl] for k, v in params.items()}
        seg = segment_start_days[sl]
        obs_part = obs if obs.ndim == 1 else obs[sl]
        if model.is_linear and engine != "ode":
            conc, ill = simulate_linear(model.structure, p, seg, part, obs_part, out=out[sl])
            if ill.any():
                fallback = simulate_ode(model.structure, p, seg, part, obs_part, patients=np.nonzero(ill)[0])
                conc[ill] = fallback[ill]
        else:
            conc = simulate_ode(model.structure, p, seg, part, obs_part)
        if not np.shares_memory(conc, out):  # the uniform path wrote in place
            out[sl] = conc
    return out
