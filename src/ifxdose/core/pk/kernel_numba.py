# mypy: ignore-errors
# (numba compiles and type-checks these bodies itself; mypy cannot model numba semantics.)
"""The numba-compiled body of :mod:`ifxdose.core.pk.kernel` (imported only on demand).

See :mod:`ifxdose.core.pk.kernel` for the recurrence, the shapes and why numba.
"""

import numba
import numpy as np
from numba import prange

from ifxdose.core.pk.events import DOSE, INF_END, OBS, ROUTE_SC, SWITCH


@numba.njit(parallel=True, cache=True, nogil=True)
def propagate(obs_times, times, kinds, payload, lam, V, W, v1, f_sc, amount, duration, route, out):
    """Concentrations into ``out`` (P, T), one patient per thread iteration (``prange``).

    obs_times: (1, T) shared or (P, T) sample times, ascending (non-finite: never reached).
    times/kinds/payload: (1, M) or (P, M) covariate switches, infusion ends and doses,
    sorted (padding +inf); the two streams are merged on the fly in the order of
    :mod:`ifxdose.core.pk.events` (switch, sample, end of infusion, dose at one time).
    lam (P, S, n); V, W (P, S, n, n); v1, f_sc (P, S); amount (P, D); duration, route
    (1 or P, D); out (P, T) written in place.
    """
    P = lam.shape[0]
    ro = 0 if obs_times.shape[0] == 1 else 1  # row strides: 0 = one row shared by all
    rs = 0 if times.shape[0] == 1 else 1
    rd = 0 if duration.shape[0] == 1 else 1
    for i in prange(P):
        _patient(
            np.int64(i),  # prange's index is unsigned: int64, the type the parfor pass first compiles _patient for
            i * ro,
            i * rs,
            i * rd,
            obs_times,
            times,
            kinds,
            payload,
            lam,
            V,
            W,
            v1,
            f_sc,
            amount,
            duration,
            route,
            out,
        )


@numba.njit(cache=True, nogil=True)
def _patient(i, ro, r, rd, obs_times, times, kinds, payload, lam, V, W, v1, f_sc, amount, duration, route, out):
    """One patient's events in order: the exact recurrence of :mod:`ifxdose.core.pk.linear`."""
    n = lam.shape[2]
    M = times.shape[1]
    T = obs_times.shape[1]
    z = np.zeros(n)
    rate = np.zeros(n)
    rz = np.zeros(n)
    amounts = np.zeros(n)
    active = np.zeros(n, dtype=np.int64)
    E = np.zeros(n)
    G = np.zeros(n)
    c = np.zeros(n)
    s = 0
    for k in range(n):
        c[k] = V[i, s, 0, k] / v1[i, s]
    infusing = False
    last_h = -1.0
    jo = 0
    je = 0
    t_prev = np.inf
    while True:
        to = obs_times[ro, jo] if jo < T else np.inf
        if not np.isfinite(to):
            to = np.inf  # a NaN sample time is never reached (its output stays NaN)
        te = times[r, je] if je < M else np.inf
        if not np.isfinite(te) and not np.isfinite(to):
            break
        if te < to or (te == to and kinds[r, je] < OBS):
            t = te
            kind = kinds[r, je]
            pl = payload[r, je]
            je += 1
        else:
            t = to
            kind = OBS
            pl = jo
            jo += 1
        if not np.isfinite(t_prev):
            t_prev = t
        h = t - t_prev
        if h > 0.0:
            if h != last_h:
                for k in range(n):
                    x = lam[i, s, k] * h
                    E[k] = np.exp(x)
                    G[k] = np.expm1(x) / lam[i, s, k]
                last_h = h
            if infusing:
                for k in range(n):
                    z[k] = E[k] * z[k] + G[k] * rz[k]
            else:
                for k in range(n):
                    z[k] = E[k] * z[k]
            t_prev = t
        if kind == OBS:
            acc = 0.0
            for k in range(n):
                acc += c[k] * z[k]
            out[i, pl] = acc
        elif kind == SWITCH:
            for a in range(n):
                acc = 0.0
                for k in range(n):
                    acc += V[i, s, a, k] * z[k]
                amounts[a] = acc
            s = pl
            for a in range(n):
                acc = 0.0
                acc_r = 0.0
                for k in range(n):
                    acc += W[i, s, a, k] * amounts[k]
                    acc_r += W[i, s, a, k] * rate[k]
                z[a] = acc
                rz[a] = acc_r
            for k in range(n):
                c[k] = V[i, s, 0, k] / v1[i, s]
            last_h = -1.0
        elif kind == DOSE or kind == INF_END:
            sc = route[rd, pl] == ROUTE_SC
            comp = n - 1 if sc else 0
            dose = amount[i, pl] * (f_sc[i, s] if sc else 1.0)
            dur = duration[rd, pl]
            if dur > 0.0:
                if kind == DOSE:
                    active[comp] += 1
                    rate[comp] += dose / dur
                else:
                    active[comp] -= 1
                    rate[comp] = 0.0 if active[comp] == 0 else rate[comp] - dose / dur
                infusing = False
                for a in range(n):
                    if active[a] != 0:
                        infusing = True
                for a in range(n):
                    acc = 0.0
                    for k in range(n):
                        acc += W[i, s, a, k] * rate[k]
                    rz[a] = acc
            elif kind == DOSE:
                for k in range(n):
                    z[k] += W[i, s, k, comp] * dose


#: Patients per block of the shared-schedule kernel: state (n, B) stays in L1 and the inner
#: loops over patients vectorise (SIMD). Assumption: tuning constant, not a correctness limit.
BLOCK = 64


@numba.njit(parallel=True, cache=True, nogil=True)
def propagate_shared(times, kinds, payload, h_index, h_values, lam, V, W, v1, f_sc, amount, duration, route, out):
    """One schedule for all patients: blocks of BLOCK patients over threads, events in order,
    patients innermost (vectorised). ``h_index[j]`` is the index in ``h_values`` of the step
    length before event j (-1: no step), so each distinct step's exponentials are computed
    once per block and segment. ``out`` is (T, P) (the transpose of a Fortran-ordered
    (P, T) result): each sample time's concentrations are contiguous. Other shapes as in
    :func:`propagate` with (M,) schedules."""
    P = lam.shape[0]
    for b in prange((P + BLOCK - 1) // BLOCK):
        _block(
            b * BLOCK,
            min(P, (b + 1) * BLOCK),
            times,
            kinds,
            payload,
            h_index,
            h_values,
            lam,
            V,
            W,
            v1,
            f_sc,
            amount,
            duration,
            route,
            out,
        )


@numba.njit(cache=True, nogil=True)
def _block(lo, hi, times, kinds, payload, h_index, h_values, lam, V, W, v1, f_sc, amount, duration, route, out):
    n = lam.shape[2]
    B = hi - lo
    H = h_values.size
    z = np.zeros((n, B))
    rate = np.zeros((n, B))
    rz = np.zeros((n, B))
    amounts = np.zeros((n, B))
    c = np.zeros((n, B))
    obs = np.zeros(B)
    E = np.zeros((H, n, B))
    G = np.zeros((H, n, B))
    ready = np.zeros(H, dtype=np.bool_)
    active = np.zeros(n, dtype=np.int64)
    s = 0
    for k in range(n):
        for p in range(B):
            c[k, p] = V[lo + p, s, 0, k] / v1[lo + p, s]
    infusing = False
    for j in range(times.size):
        if not np.isfinite(times[j]):
            break
        q = h_index[j]
        if q >= 0:
            if not ready[q]:
                h = h_values[q]
                for k in range(n):
                    for p in range(B):
                        x = lam[lo + p, s, k] * h
                        E[q, k, p] = np.exp(x)
                        G[q, k, p] = np.expm1(x) / lam[lo + p, s, k]
                ready[q] = True
            if infusing:
                for k in range(n):
                    for p in range(B):
                        z[k, p] = E[q, k, p] * z[k, p] + G[q, k, p] * rz[k, p]
            else:
                for k in range(n):
                    for p in range(B):
                        z[k, p] *= E[q, k, p]
        kind = kinds[j]
        pl = payload[j]
        if kind == OBS:  # out is (T, P): one contiguous run of B patients per sample time
            for p in range(B):
                obs[p] = c[0, p] * z[0, p]
            for k in range(1, n):
                for p in range(B):
                    obs[p] += c[k, p] * z[k, p]
            for p in range(B):
                out[pl, lo + p] = obs[p]
        elif kind == SWITCH:
            for a in range(n):
                for p in range(B):
                    acc = 0.0
                    for k in range(n):
                        acc += V[lo + p, s, a, k] * z[k, p]
                    amounts[a, p] = acc
            s = pl
            for a in range(n):
                for p in range(B):
                    acc = 0.0
                    acc_r = 0.0
                    for k in range(n):
                        acc += W[lo + p, s, a, k] * amounts[k, p]
                        acc_r += W[lo + p, s, a, k] * rate[k, p]
                    z[a, p] = acc
                    rz[a, p] = acc_r
            for k in range(n):
                for p in range(B):
                    c[k, p] = V[lo + p, s, 0, k] / v1[lo + p, s]
            ready[:] = False
        elif kind == DOSE or kind == INF_END:
            sc = route[0, pl] == ROUTE_SC
            comp = n - 1 if sc else 0
            dur = duration[0, pl]
            if dur > 0.0:
                if kind == DOSE:
                    active[comp] += 1
                else:
                    active[comp] -= 1
                for p in range(B):
                    dose = amount[lo + p, pl] * (f_sc[lo + p, s] if sc else 1.0)
                    if active[comp] == 0:
                        rate[comp, p] = 0.0
                    elif kind == DOSE:
                        rate[comp, p] += dose / dur
                    else:
                        rate[comp, p] -= dose / dur
                infusing = False
                for a in range(n):
                    if active[a] != 0:
                        infusing = True
                for a in range(n):
                    for p in range(B):
                        acc = 0.0
                        for k in range(n):
                            acc += W[lo + p, s, a, k] * rate[k, p]
                        rz[a, p] = acc
            elif kind == DOSE:
                for p in range(B):
                    dose = amount[lo + p, pl] * (f_sc[lo + p, s] if sc else 1.0)
                    for k in range(n):
                        z[k, p] += W[lo + p, s, k, comp] * dose


#: Doubles per 4 KiB page: one store per page faults it in.
PAGE_DOUBLES = 512


@numba.njit(parallel=True, cache=True, nogil=True)
def first_touch(out):
    """Fault in a fresh (T, P) output in parallel, sample time rows split between threads, by
    writing 0.0 at one element per page (the caller overwrites every element afterwards).

    Why: numpy asks for transparent huge pages on large arrays, and the blocked kernel has
    every thread write a slice of every row; both threads then fault the same 2 MiB pages
    and wait for each other's zeroing. Split by rows, each thread zeroes its own pages."""
    T, P = out.shape
    for t in prange(T):
        for p in range(0, P, PAGE_DOUBLES):
            out[t, p] = 0.0
        out[t, P - 1] = 0.0


@numba.njit(parallel=True, cache=True, nogil=True)
def eigen_small(K, lam, V, W, cond):
    """Eigen-decomposition of (N, n, n) rate matrices, n = 1 or 2, patients over threads:
    the same closed forms and operation order as :func:`ifxdose.core.pk.linear.eigen`
    (bitwise the same results; tested). Writes lam (N, n), V, W (N, n, n), cond (N,)."""
    N = K.shape[0]
    n = K.shape[1]
    for i in prange(N):
        if n == 1:
            lam[i, 0] = K[i, 0, 0]
            V[i, 0, 0] = 1.0
            W[i, 0, 0] = 1.0
            cond[i] = 1.0
            continue
        a, b, c, d = K[i, 0, 0], K[i, 0, 1], K[i, 1, 0], K[i, 1, 1]
        half_tr = 0.5 * (a + d)
        root = np.sqrt(0.25 * (a - d) ** 2 + b * c)
        lam_fast = half_tr - root
        lam_slow = (a * d - b * c) / lam_fast
        lam[i, 0] = lam_fast
        lam[i, 1] = lam_slow
        v00 = b
        v01 = b
        v10 = lam_fast - a
        v11 = lam_slow - a
        V[i, 0, 0] = v00
        V[i, 0, 1] = v01
        V[i, 1, 0] = v10
        V[i, 1, 1] = v11
        det = v00 * v11 - v01 * v10
        w00 = v11 / det
        w01 = -v01 / det
        w10 = -v10 / det
        w11 = v00 / det
        W[i, 0, 0] = w00
        W[i, 0, 1] = w01
        W[i, 1, 0] = w10
        W[i, 1, 1] = w11
        cond[i] = _nanmax(abs(v00) + abs(v10), abs(v01) + abs(v11)) * _nanmax(abs(w00) + abs(w10), abs(w01) + abs(w11))


@numba.njit(cache=True, nogil=True, inline="always")
def _nanmax(x, y):
    """np.maximum of two floats (NaN if either is NaN)."""
    if x != x or y != y:
        return np.nan
    return x if x >= y else y
