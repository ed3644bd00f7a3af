"""Exact closed-form propagation of linear compartment models, vectorised over patients.

For a linear model dA/dt = K A + r (amounts A, constant input rate r between events) the
solution over a step h is, with K = V diag(lam) V^-1 and z = V^-1 A (eigen-coordinates),

    z(t + h) = exp(lam h) z(t) + expm1(lam h) / lam * V^-1 r

which is exact (no ODE stepping). Mammillary models have real, negative, distinct
eigenvalues; the few patients whose eigenvector matrix is ill-conditioned (e.g. KA equal
to an elimination eigenvalue) are reported so that the caller can route them to the ODE
engine. Time-varying parameters are piecewise constant: at a switch the state is mapped
back to amounts and into the new eigenbasis.
"""

from __future__ import annotations

import numpy as np

from ifxdose.core.pk.events import DOSE, INF_END, OBS, ROUTE_SC, SWITCH, DoseTable, build_schedule

#: Patients whose eigenvector matrix has a condition estimate above this go to the ODE engine.
MAX_CONDITION = 1e8


def n_states(structure: str, has_depot: bool) -> int:
    return {"1cmt": 1, "2cmt": 2, "3cmt": 3}[structure] + int(has_depot)


def rate_matrix(structure: str, params: dict[str, np.ndarray]) -> np.ndarray:
    """The matrix K (..., n, n) of dA/dt = K A for amounts [central, peripheral(s), depot]."""
    cl, v1 = params["CL"], params["V1"]
    n = n_states(structure, "KA" in params)
    K = np.zeros(np.shape(cl) + (n, n))
    K[..., 0, 0] = -cl / v1
    for i, (q, v) in enumerate([("Q", "V2"), ("Q3", "V3")][: {"1cmt": 0, "2cmt": 1, "3cmt": 2}[structure]], start=1):
        k1i, ki1 = params[q] / v1, params[q] / params[v]
        K[..., 0, 0] -= k1i
        K[..., 0, i] = ki1
        K[..., i, 0] = k1i
        K[..., i, i] = -ki1
    if "KA" in params:
        K[..., 0, n - 1] = params["KA"]
        K[..., n - 1, n - 1] = -params["KA"]
    return K


def eigen(K: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Real eigen-decomposition of a batch of rate matrices: (lam, V, W = V^-1, condition)."""
    lam, V = np.linalg.eig(K)
    lam, V = lam.real, V.real  # mammillary matrices are similar to symmetric ones: real spectrum
    W = np.linalg.inv(V)
    cond = np.abs(V).sum(-2).max(-1) * np.abs(W).sum(-2).max(-1)  # 1-norm condition number
    return lam, V, W, cond


def _phi(lam: np.ndarray, h: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """exp(lam h) and the exact input integral expm1(lam h)/lam."""
    x = lam * h
    return np.exp(x), np.expm1(x) / lam


def simulate_linear(
    structure: str,
    params: dict[str, np.ndarray],
    segment_start_days: np.ndarray,
    doses: DoseTable,
    obs_days: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Central concentrations (P, T) in mg/L at ``obs_days`` (P, T), exact.

    ``params`` maps parameter names to (P, S) arrays, one column per covariate segment;
    segment s applies from ``segment_start_days[:, s]`` (column 0 from -inf; inf pads).
    Returns (concentration, ill_conditioned mask (P,)).
    """
    P, T = obs_days.shape
    K = rate_matrix(structure, params)
    lam_all, V_all, W_all, cond = eigen(K)
    ill = (cond > MAX_CONDITION).any(axis=1)
    times, kinds, payload = build_schedule(doses, segment_start_days, obs_days)
    n = K.shape[-1]
    depot = n - 1
    rows = np.arange(P)
    seg = np.zeros(P, dtype=int)
    lam, V, W = lam_all[:, 0].copy(), V_all[:, 0].copy(), W_all[:, 0].copy()
    v1 = params["V1"][:, 0].copy()
    f_sc = params["F"][:, 0].copy() if "F" in params else np.ones(P)
    z = np.zeros((P, n))
    rate = np.zeros((P, n))  # infusion input rates in amount space (mg/day)
    active = np.zeros((P, n), dtype=np.int32)  # count of running infusions per compartment
    rz = np.zeros((P, n))
    conc = np.full((P, T), np.nan)
    t_prev = np.where(np.isfinite(times[:, 0]), times[:, 0], 0.0)
    cache_h, cache = None, None
    uniform_t = np.all(times == times[:1], axis=0) if P else np.ones(times.shape[1], bool)
    uniform_k = np.all(kinds == kinds[:1], axis=0) if P else np.ones(times.shape[1], bool)
    prev_uniform = bool(uniform_t[0]) if times.shape[1] else True  # t_prev same for all

    for j in range(times.shape[1]):
        t = times[:, j]
        kind_j = kinds[:, j]
        if uniform_t[j] and prev_uniform:
            t0 = t[0]
            if not np.isfinite(t0):
                break
            h = t0 - t_prev[0]
            if h > 0:
                if cache_h != h or cache is None:
                    cache_h, cache = h, _phi(lam, h)
                E, G = cache
                z = E * z + G * rz
            t_prev[:] = t0
        else:
            fin = np.isfinite(t)
            h = np.where(fin, t - t_prev, 0.0)
            E, G = _phi(lam, h[:, None])
            z = E * z + G * rz
            t_prev = np.where(fin, t, t_prev)
            prev_uniform = bool(uniform_t[j])
        kinds_here = (int(kind_j[0]),) if uniform_k[j] else tuple(np.unique(kind_j))
        for kind in kinds_here:
            idx = rows if uniform_k[j] else np.nonzero(kind_j == kind)[0]
            pl = payload[idx, j]
            if kind == OBS:
                conc[idx, pl] = np.einsum("pk,pk->p", V[idx, 0, :], z[idx]) / v1[idx]
            elif kind == SWITCH:
                amounts = np.einsum("pik,pk->pi", V[idx], z[idx])
                seg[idx] = pl
                lam[idx], V[idx], W[idx] = lam_all[idx, pl], V_all[idx, pl], W_all[idx, pl]
                v1[idx] = params["V1"][idx, pl]
                if "F" in params:
                    f_sc[idx] = params["F"][idx, pl]
                z[idx] = np.einsum("pik,pk->pi", W[idx], amounts)
                rz[idx] = np.einsum("pik,pk->pi", W[idx], rate[idx])
                cache = None
            elif kind in (DOSE, INF_END):
                sc = doses.route[idx, pl] == ROUTE_SC
                comp = np.where(sc, depot, 0)
                amount = doses.amount_mg[idx, pl] * np.where(sc, f_sc[idx], 1.0)
                dur = doses.duration_days[idx, pl]
                inf = dur > 0
                if kind == DOSE and np.any(~inf):
                    b = idx[~inf]
                    z[b] += W[b, :, comp[~inf]] * amount[~inf, None]
                if np.any(inf):
                    i_idx, i_comp = idx[inf], comp[inf]
                    sign = 1 if kind == DOSE else -1
                    rate[i_idx, i_comp] += sign * amount[inf] / dur[inf]
                    active[i_idx, i_comp] += sign
                    rate[i_idx, i_comp] = np.where(active[i_idx, i_comp] == 0, 0.0, rate[i_idx, i_comp])
                    rz[i_idx] = np.einsum("pik,pk->pi", W[i_idx], rate[i_idx])
    return conc, ill
