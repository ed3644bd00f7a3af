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
import numpy.typing as npt

from ifxdose.core.pk.events import DOSE, INF_END, OBS, ROUTE_SC, SWITCH, DoseTable, build_schedule
from ifxdose.core.pk.kernel import note_numpy_work, use_kernel

#: Patients whose eigenvector matrix has a condition estimate above this go to the ODE engine.
MAX_CONDITION = 1e8


def n_states(structure: str, has_depot: bool) -> int:
    return {"1cmt": 1, "2cmt": 2, "3cmt": 3}[structure] + int(has_depot)


def rate_matrix(structure: str, params: dict[str, np.ndarray]) -> np.ndarray:
    """The matrix K (..., n, n) of dA/dt = K A for amounts [central, peripheral(s), depot]."""
    cl, v1 = params["CL"], params["V1"]
    n = n_states(structure, "KA" in params)
    K = np.zeros(np.shape(cl) + (n, n), dtype=np.result_type(*params.values(), float))  # complex for the complex step
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


def _eigen_2x2(K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of 2-compartment matrices [[a, b], [c, d]] with b, c > 0, in closed form.

    lam = tr/2 -+ sqrt(tr^2/4 - det) (distinct and real since b c > 0); eigenvector
    (b, lam - a). Written so that no cancellation occurs in the smaller eigenvalue.
    """
    a, b, c, d = K[..., 0, 0], K[..., 0, 1], K[..., 1, 0], K[..., 1, 1]
    half_tr = 0.5 * (a + d)
    root = np.sqrt(0.25 * (a - d) ** 2 + b * c)
    lam_fast = half_tr - root  # most negative
    lam_slow = (a * d - b * c) / lam_fast  # product of roots = det, avoids cancellation
    lam = np.stack([lam_fast, lam_slow], axis=-1)
    V = np.empty(K.shape, dtype=K.dtype)
    V[..., 0, :] = b[..., None]
    V[..., 1, :] = lam - a[..., None]
    return lam, V


def eigen(K: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Real eigen-decomposition of a batch of rate matrices: (lam, V, W = V^-1, condition)."""
    lam: np.ndarray
    V: np.ndarray
    W: np.ndarray
    if K.shape[-1] == 1:
        lam, V = K[..., 0].copy(), np.ones(K.shape)
        W = V.copy()
    elif K.shape[-1] == 2:
        lam, V = _eigen_2x2(K)
        det = V[..., 0, 0] * V[..., 1, 1] - V[..., 0, 1] * V[..., 1, 0]
        W = np.empty(V.shape, dtype=V.dtype)  # the adjugate over det, element by element (no stacking)
        np.divide(V[..., 1, 1], det, out=W[..., 0, 0])
        np.divide(-V[..., 0, 1], det, out=W[..., 0, 1])
        np.divide(-V[..., 1, 0], det, out=W[..., 1, 0])
        np.divide(V[..., 0, 0], det, out=W[..., 1, 1])
    else:
        lam_c, V_c = np.linalg.eig(K)
        lam, V = lam_c.real, V_c.real  # mammillary matrices are similar to symmetric ones: real spectrum
        W = np.linalg.inv(V)
    if K.shape[-1] == 1:
        return lam, V, W, np.ones(K.shape[:-2])
    if K.shape[-1] == 2:  # the same 1-norm, written out (reductions over axes of 2 are slow)

        def norm1(M: np.ndarray) -> np.ndarray:
            n: np.ndarray = np.maximum(
                np.abs(M[..., 0, 0]) + np.abs(M[..., 1, 0]), np.abs(M[..., 0, 1]) + np.abs(M[..., 1, 1])
            )
            return n

        return lam, V, W, norm1(V) * norm1(W)
    cond = np.abs(V).sum(-2).max(-1) * np.abs(W).sum(-2).max(-1)  # 1-norm condition number
    return lam, V, W, cond


def _phi(lam: np.ndarray, h: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """exp(lam h) and the exact input integral expm1(lam h)/lam."""
    x = lam * h
    return np.exp(x), np.expm1(x) / lam


def _simulate_ragged(
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
    lam_all, V_all, W_all, ill = _eigen_all(structure, params)
    times, kinds, payload = build_schedule(doses, segment_start_days, obs_days)
    n = lam_all.shape[-1]
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


def _eigen_all(
    structure: str, params: dict[str, np.ndarray], compiled: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    K = rate_matrix(structure, params)
    if compiled and K.shape[-1] <= 2 and K.dtype == np.float64:  # the kernel's threads, the same numbers
        from ifxdose.core.pk.kernel import eigen_small

        lam, V, W, cond = eigen_small(K)
    else:
        lam, V, W, cond = eigen(K)
    return lam, V, W, np.asarray((cond > MAX_CONDITION).any(axis=1))


def same_schedule(doses: DoseTable, segment_start_days: np.ndarray) -> bool:
    """True when every patient has the same event times, durations and routes."""

    def same(a: np.ndarray) -> bool:
        if a.flags.c_contiguous and a.dtype.itemsize in (1, 8):  # bitwise equal rows: same (one pass)
            bits = a.view(np.uint64 if a.dtype.itemsize == 8 else np.uint8)
            if bool((bits == bits[:1]).all()):
                return True
        eq = a == a[:1]  # else by value (0.0 == -0.0; NaN pads equal)
        if a.dtype.kind == "f":
            eq |= np.isnan(a) & np.isnan(a[:1])
        return bool(eq.all())

    return all(same(a) for a in (doses.time_days, doses.duration_days, doses.route, segment_start_days))


Schedule = tuple[np.ndarray, np.ndarray, np.ndarray]  #: sorted event times, kinds, payloads


def _run_kernel(
    structure: str,
    params: dict[str, np.ndarray],
    doses: DoseTable,
    schedule: Schedule,
    n_obs: int,
    obs_finite: bool,
    out: np.ndarray | None,
    obs_times: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The compiled kernel on a sorted schedule (times, kinds, payload): each (M,) with the
    samples, shared by all patients, or (P, M) without them, the samples in ``obs_times``
    ((T,) or (P, T)); returns (conc (P, n_obs), ill-conditioned mask)."""
    from ifxdose.core.pk.kernel import propagate

    times, kinds, payload = schedule
    shared = times.ndim == 1
    P = doses.n_patients
    lam, V, W, ill = _eigen_all(structure, params, compiled=True)
    S = lam.shape[1]
    v1 = np.broadcast_to(params["V1"], (P, S))
    f_sc = np.broadcast_to(params["F"] if "F" in params else 1.0, (P, S))
    rows = slice(0, 1) if shared else slice(None)
    # shared: one contiguous column per sample time (F order); else one row per patient (C order)
    contiguous = out is not None and (out.flags.f_contiguous if shared else out.flags.c_contiguous)
    direct = contiguous and out is not None and out.dtype == np.float64
    target = out if direct and out is not None else np.empty((P, n_obs), order="F" if shared else "C")
    if not obs_finite:  # samples at non-finite times are never reached: NaN, as on the NumPy path
        target.fill(np.nan)
    propagate(
        times,
        kinds,
        payload,
        lam,
        V,
        W,
        v1,
        f_sc,
        doses.amount_mg,
        doses.duration_days[rows],
        doses.route[rows],
        target,
        obs_times,
    )
    if out is not None and not direct:
        out[...] = target
        target = out
    return target, ill


def simulate_linear(
    structure: str,
    params: dict[str, np.ndarray],
    segment_start_days: np.ndarray,
    doses: DoseTable,
    obs_days: np.ndarray,
    out: np.ndarray | None = None,
    same: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Central concentrations (P, T) in mg/L at ``obs_days`` ((T,) shared or (P, T)), exact.

    ``params`` maps parameter names to (P, S) arrays, one column per covariate segment;
    segment s applies from ``segment_start_days[:, s]`` (column 0 from -inf; inf pads).
    Returns (concentration, ill_conditioned mask (P,)). Patients sharing one schedule
    (the usual population case) take a fast path that steps all of them at once.
    ``same``: :func:`same_schedule` of these patients if the caller already knows it (the
    check reads every dose row: ~8 ms of serial work per 100,000 patients).
    """
    P = doses.n_patients
    if obs_days.ndim == 1 and P > 1 and (same_schedule(doses, segment_start_days) if same is None else same):
        return _simulate_uniform(structure, params, segment_start_days, doses, obs_days, out)
    n_events = obs_days.shape[-1] + 2 * doses.time_days.shape[1] + segment_start_days.shape[1]
    if use_kernel(P, n_events):  # each patient's own events, merged with the samples in the kernel
        events = build_schedule(doses, segment_start_days, np.empty((P, 0)))
        return _run_kernel(
            structure,
            params,
            doses,
            events,
            obs_days.shape[-1],
            bool(np.isfinite(obs_days).all()),
            out,
            obs_times=obs_days,
        )
    note_numpy_work(P, n_events)
    if obs_days.ndim == 1:
        obs_days = np.broadcast_to(obs_days, (P, obs_days.size))
    conc, ill = _simulate_ragged(structure, params, segment_start_days, doses, obs_days)
    if out is not None:
        out[...] = conc
        conc = out
    return conc, ill


def shared_schedule(doses: DoseTable, segment_start_days: np.ndarray, obs_days: np.ndarray) -> Schedule:
    """The sorted event schedule (times, kinds, payload) of the first patient, for reuse by
    :func:`simulate_shared` when many parameter sets share it (populations, estimation)."""
    one = DoseTable(doses.time_days[:1], doses.amount_mg[:1], doses.duration_days[:1], doses.route[:1])
    times, kinds, payload = build_schedule(one, segment_start_days[:1], obs_days[None, :])
    return times[0], kinds[0], payload[0]


def _simulate_uniform(
    structure: str,
    params: dict[str, np.ndarray],
    segment_start_days: np.ndarray,
    doses: DoseTable,
    obs_days: np.ndarray,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    schedule = shared_schedule(doses, segment_start_days, obs_days)
    return simulate_shared(structure, params, doses, obs_days.size, schedule, out)


def _matvec(M: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per-patient matrix times vector, all component-major: out[i, p] = sum_k M[i, k, p] x[k, p]
    for M (n, n, P), x (n, P). Written out over the n <= 4 components (contiguous vector
    operations) instead of ``np.einsum("pik,kp->ip")`` on strided (P, n, n) slices, which cost
    ~5-10x more on 2,500 patients; the same products, summed in the same order (k = 0, 1, ...)."""
    n = x.shape[0]
    out = np.empty((n, x.shape[1]), dtype=np.result_type(M, x))
    for i in range(n):
        acc = M[i, 0] * x[0]
        for k in range(1, n):
            acc += M[i, k] * x[k]
        out[i] = acc
    return out


def simulate_shared(
    structure: str,
    params: dict[str, np.ndarray],
    doses: DoseTable,
    n_obs: int,
    schedule: Schedule,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Same event schedule for all patients: one sort, component-major vectors, no masks.

    ``schedule`` comes from :func:`shared_schedule`; ``doses`` may carry per-patient
    amounts. State z is (n, P) so each eigen-component is a contiguous vector; results go
    straight into ``out`` (P, T) when given (e.g. a slice of a Fortran-ordered array).
    """
    P, T = doses.n_patients, n_obs
    times, kinds, payload = schedule
    dtype = np.result_type(*params.values(), doses.amount_mg, float)  # complex: complex-step derivatives
    if dtype.kind != "c" and use_kernel(P, times.size):
        return _run_kernel(structure, params, doses, schedule, T, bool(np.isfinite(times[kinds == OBS]).all()), out)
    note_numpy_work(P, times.size)
    # segment-major (S, P, ...): one segment's matrices are contiguous (elementwise: the same numbers)
    lam_all, V_all, W_all, cond = eigen(rate_matrix(structure, {k: v.T for k, v in params.items()}))
    ill = np.asarray((cond > MAX_CONDITION).any(axis=0))
    n = lam_all.shape[-1]
    conc = np.full((P, T), np.nan, order="F", dtype=dtype) if out is None else out

    def segment(s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | float]:
        V = np.ascontiguousarray(V_all[s].transpose(1, 2, 0))  # (n, n, P): component-major
        W = np.ascontiguousarray(W_all[s].transpose(1, 2, 0))
        lam = np.ascontiguousarray(lam_all[s].T)  # (n, P)
        c_row = V[0] / params["V1"][:, s]  # (n, P)
        f_sc = params["F"][:, s] if "F" in params else 1.0
        return lam, V, W, c_row, f_sc

    lam, V, W, c_row, f_sc = segment(0)
    z = np.zeros((n, P), dtype=dtype)
    rate = np.zeros((n, P), dtype=dtype)
    active = np.zeros(n, dtype=np.int32)
    rz = None  # (n, P) eigen-coordinates of the infusion rate; None while nothing infuses
    tmp = np.empty((n, P), dtype=dtype)
    cache: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    t_prev = times[0]  # step length -> (exp(lam h), expm1(lam h)/lam), per segment
    sampled = np.flatnonzero(kinds == OBS)
    last = int(sampled[-1]) + 1 if sampled.size else 0  # events after the last sample change no output
    for t, kind, pl in zip(times[:last], kinds[:last], payload[:last]):
        if not np.isfinite(t):
            break
        h = t - t_prev
        if h > 0:
            phi = cache.get(h)
            if phi is None:
                phi = cache[h] = _phi(lam, h)
            z *= phi[0]
            if rz is not None:
                np.multiply(phi[1], rz, out=tmp)
                z += tmp
            t_prev = t
        if kind == OBS:
            col = c_row[0] * z[0]
            for k in range(1, n):
                col += c_row[k] * z[k]
            conc[:, pl] = col
        elif kind == SWITCH:
            amounts = _matvec(V, z)
            lam, V, W, c_row, f_sc = segment(pl)
            z = _matvec(W, amounts)
            rz = _matvec(W, rate) if active.any() else None
            cache = {}
        elif kind in (DOSE, INF_END):
            sc = doses.route[0, pl] == ROUTE_SC
            comp = n - 1 if sc else 0
            amount = doses.amount_mg[:, pl] * (f_sc if sc else 1.0)
            dur = doses.duration_days[0, pl]
            if dur > 0:
                sign = 1 if kind == DOSE else -1
                active[comp] += sign
                rate[comp] = 0.0 if active[comp] == 0 else rate[comp] + sign * amount / dur
                rz = _matvec(W, rate) if active.any() else None
            elif kind == DOSE:
                z += W[:, comp] * amount
    return conc, ill


def superpose_geometry(
    dose_time_days: npt.ArrayLike, dose_duration_days: npt.ArrayLike, obs_days: npt.ArrayLike
) -> dict[str, np.ndarray]:
    """The eta-independent part of :func:`superpose`: elapsed times and infusion overlaps (T, D)."""
    t = np.asarray(obs_days, float)[:, None]
    s = np.asarray(dose_time_days, float)[None, :]
    dur = np.asarray(dose_duration_days, float)[None, :]
    after = t > s  # a dose at exactly t is not yet given: the sample is pre-dose
    elapsed = np.where(after, t - s, 0.0)
    infusing = np.minimum(elapsed, dur)  # m - s, time spent infusing before t
    infusion = np.broadcast_to(dur > 0, after.shape)
    return {
        "after": after,
        "elapsed": elapsed,
        "infusing": infusing,
        "since_end": elapsed - infusing,
        "infusion": infusion,
        "rate_per_mg": np.where(infusion, 1.0 / np.where(dur > 0, dur, 1.0), 1.0),
    }


def superpose(
    structure: str,
    params: dict[str, np.ndarray],
    dose_time_days: np.ndarray,
    dose_amount_mg: np.ndarray,
    dose_duration_days: np.ndarray,
    dose_route: np.ndarray,
    obs_days: np.ndarray,
    geometry: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Concentrations (N, T) by superposition of exact single-dose responses.

    For parameters constant in time (one covariate segment) a linear model's response is
    the sum over doses. In the eigenbasis, a zero-order input of rate R over [s, s + T]
    into compartment c contributes, at t > s, with m = min(t, s + T),

        h_k(t) = R * exp(lam_k (t - m)) * expm1(lam_k (m - s)) / lam_k

    (a bolus: amount * exp(lam_k (t - s))), and C(t) = sum_k V[0,k] W[k,c] h_k(t) / V1.
    A dose at exactly t is not yet given (the sample is pre-dose). Fully vectorised over
    parameter sets, doses and times: no event loop. ``params`` are (N,) arrays; doses (D,).
    ``geometry`` (from :func:`superpose_geometry`) may be passed to reuse the time part.
    Returns (concentration, ill-conditioned mask (N,)).
    """
    g = geometry or superpose_geometry(dose_time_days, dose_duration_days, obs_days)
    lam, V, W, cond = eigen(rate_matrix(structure, params))  # (N, n), (N, n, n)
    n = lam.shape[-1]
    sc = dose_route == ROUTE_SC
    comp = np.where(sc, n - 1, 0)
    amount = dose_amount_mg[None, :] * (np.where(sc[None, :], params["F"][:, None], 1.0) if sc.any() else 1.0)
    # weight of each eigen-component in the central amount per unit input into comp: (N, D, n)
    coef = V[:, 0, :][:, None, :] * np.swapaxes(W[:, :, comp], 1, 2)
    lam4 = lam[:, None, None, :]  # (N, 1, 1, n)
    h = np.exp(lam4 * g["since_end"][..., None])
    h = np.where(g["infusion"][..., None], h * np.expm1(lam4 * g["infusing"][..., None]) / lam4, h)
    h *= (g["rate_per_mg"] * g["after"])[..., None]  # (N, T, D, n) per mg
    central = np.einsum("ntdk,ndk,nd->nt", h, coef, amount)
    return central / params["V1"][:, None], cond > MAX_CONDITION
