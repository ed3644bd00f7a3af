# mypy: ignore-errors
# (numba compiles and type-checks these bodies itself; mypy cannot model numba semantics.)
"""The numba-compiled body of :mod:`ifxdose.core.estimation.compiled` (imported only on demand).

One patient of a linear 1- or 2-compartment library model with constant covariates and IV
doses (bolus or zero-order infusion): the concentration is the superposition of exact
single-dose responses (:func:`ifxdose.core.pk.linear.superpose`, written out here for the
closed-form 2x2 eigen-decomposition), the objective is that of
:mod:`ifxdose.core.estimation.objective` (quantified levels, Beal's M3 below the LLOQ, the
prior), the gradient is exact by the complex step (Squire & Trapp, SIAM Rev 1998;40:110;
Martins, Sturdza & Alonso, ACM TOMS 2003;29:245): every operation on the path is analytic,
so Im OFV(eta + i h e_j) / h is the derivative to round-off for h = 1e-20, with no
subtractive cancellation. The Hessian is the central difference of exact gradients, the
optimiser the damped Newton of :mod:`ifxdose.core.estimation.map` (same rules), run from
each start. Shapes and status codes in :mod:`ifxdose.core.estimation.compiled`.
"""

import math

import numba
import numpy as np
from numba import prange

CS_STEP = 1e-20
SQRT2 = math.sqrt(2.0)
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: status codes (Python turns them into messages)
CONVERGED, DECREMENT, STALLED, MAX_ITER, NOT_FINITE, ILL = 0, 1, 2, 3, 4, 5
JOINED = 10  #: + index of the earlier start whose optimum this start reached (map.JOIN_TOL)
JOIN_TOL = 1e-3


# Elementary functions of a complex-step number a + i b, b infinitesimal (|b| <= 1e-20 times a
# derivative): f(a + i b) = f(a) + i b f'(a) exactly in floating point (the b^2 terms are below
# the last bit), so no sin/cos. Not general complex functions.
@numba.njit(cache=True, nogil=True, inline="always")
def _exp(x):
    e = math.exp(x.real)
    return complex(e, e * x.imag)


@numba.njit(cache=True, nogil=True, inline="always")
def _expm1(x):
    e = math.expm1(x.real)
    return complex(e, (e + 1.0) * x.imag)


@numba.njit(cache=True, nogil=True, inline="always")
def _sqrt(x):
    r = math.sqrt(x.real)
    if r == 0.0:  # sd exactly 0 (a pre-dose level, proportional error only): replaced by the caller
        return complex(0.0, 0.0)
    return complex(r, 0.5 * x.imag / r)


@numba.njit(cache=True, nogil=True, inline="always")
def _log(x):
    return complex(math.log(x.real), x.imag / x.real)


@numba.njit(cache=True, nogil=True)
def _log_ndtr(u):
    """log Phi(u), real; asymptotic series below -30 (Abramowitz & Stegun 26.2.12)."""
    if u > -30.0:
        return math.log(0.5 * math.erfc(-u / SQRT2))
    u2 = u * u
    s = 1.0 - 1.0 / u2 + 3.0 / u2**2 - 15.0 / u2**3 + 105.0 / u2**4
    return -0.5 * u2 - LOG_SQRT_2PI - math.log(-u) + math.log(s)


@numba.njit(cache=True, nogil=True)
def _mills(u):
    """phi(u) / Phi(u) = d log Phi / du."""
    if u > -30.0:
        return math.exp(-0.5 * u * u - LOG_SQRT_2PI) / (0.5 * math.erfc(-u / SQRT2))
    u2 = u * u
    return -u / (1.0 - 1.0 / u2 + 3.0 / u2**2 - 15.0 / u2**3 + 105.0 / u2**4)


@numba.njit(cache=True, nogil=True)
def _clog_ndtr(u):
    """log Phi of a complex-step argument u = a + i b (b infinitesimal): log Phi(a) + i b phi/Phi(a)."""
    return complex(_log_ndtr(u.real), u.imag * _mills(u.real))


@numba.njit(cache=True, nogil=True)
def _patient(data, p):
    """Patient p's slice of the packed batch ``data`` (compiled.Packed.args(): tv, eta_param,
    two_cmt, dose_t, dose_amt, dose_dur, n_dose, obs_t, y, lloq, blq, n_obs, omega_inv, add,
    prop), as one tuple passed down to the objective."""
    tv, eta_param, two_cmt, dose_t, dose_amt, dose_dur, n_dose, obs_t, y, lloq, blq, n_obs, omega_inv, add, prop = data
    return (
        tv[p], eta_param, two_cmt, dose_t[p], dose_amt[p], dose_dur[p], n_dose[p], obs_t[p], y[p], lloq[p], blq[p],
        n_obs[p], omega_inv, add, prop,
    )  # fmt: skip


@numba.njit(cache=True, nogil=True)
def _ofv(eta, pt):
    """OFV at a complex eta (k,); returns (ofv, ill-conditioned). ``pt``: one patient's data
    (:func:`_patient`); parameters tv = (CL, V1, Q, V2)."""
    tv, eta_param, two_cmt, dose_t, dose_amt, dose_dur, n_dose, obs_t, y, lloq, blq, n_obs, omega_inv, add, prop = pt
    k = eta.shape[0]
    p = np.empty(4, dtype=np.complex128)
    for i in range(4):
        p[i] = tv[i]
    for j in range(k):
        p[eta_param[j]] = p[eta_param[j]] * _exp(eta[j])
    total = 0j
    for i in range(k):
        for j in range(k):
            total += eta[i] * omega_inv[i, j] * eta[j]
    if n_obs == 0:
        return total, False
    cl, v1, q, v2 = p[0], p[1], p[2], p[3]
    if two_cmt:  # closed-form eigenpairs of [[a, b], [c, d]] as in linear._eigen_2x2
        a = -(cl + q) / v1
        b = q / v2
        c = q / v1
        d = -b
        root = _sqrt(0.25 * (a - d) ** 2 + b * c)
        lf = 0.5 * (a + d) - root
        ls = (a * d - b * c) / lf
        c0 = (ls - a) / (ls - lf)  # V[0, k] W[k, 0]: weight of each eigen-component in the central amount
        c1 = (a - lf) / (ls - lf)
        br, ar, lfr, lsr = b.real, a.real, lf.real, ls.real  # 1-norm condition number of V, as linear.eigen
        det = abs(br * (lsr - lfr))
        n_v = max(abs(br) + abs(lfr - ar), abs(br) + abs(lsr - ar))
        n_w = max(abs(lsr - ar) + abs(lfr - ar), 2.0 * abs(br)) / det if det > 0 else np.inf
        if not n_v * n_w <= 1e8:
            return total, True
        n_lam = 2
    else:
        lf = -cl / v1
        ls = lf
        c0 = 1.0 + 0j
        c1 = 0j
        n_lam = 1
    a2 = add * add
    # per eigen-component: weight in the central concentration, and for infusions divided by lam
    w0 = c0 / v1
    w1 = c1 / v1
    wi0 = w0 / lf
    wi1 = w1 / ls
    for o in range(n_obs):
        t = obs_t[o]
        f = 0j
        for j in range(n_dose):
            s = dose_t[j]
            if not t > s:  # a dose at exactly t is not yet given (pre-dose sample); NaN pads never
                continue
            el = t - s
            dur = dose_dur[j]
            if dur > 0:
                m = min(el, dur)
                r = dose_amt[j] / dur
                f += r * wi0 * _exp(lf * (el - m)) * _expm1(lf * m)
                if n_lam == 2:
                    f += r * wi1 * _exp(ls * (el - m)) * _expm1(ls * m)
            else:
                f += dose_amt[j] * w0 * _exp(lf * el)
                if n_lam == 2:
                    f += dose_amt[j] * w1 * _exp(ls * el)
        pf = prop * f
        sd = _sqrt(a2 + pf * pf)
        if sd.real == 0.0 and sd.imag == 0.0:
            sd = 1.0 + 0j  # ZERO_SD_REPLACEMENT_MG_L (objective.py)
        if blq[o]:
            total -= 2.0 * _clog_ndtr((lloq[o] - f) / sd)
        else:
            z = (y[o] - f) / sd
            total += z * z + 2.0 * _log(sd)
    return total, False


@numba.njit(cache=True, nogil=True)
def _fg(x, g, pt):
    """OFV at real x (k,) and its exact gradient into g (complex step); returns (ofv, ill)."""
    k = x.shape[0]
    e = np.empty(k, dtype=np.complex128)
    f = np.inf
    if k == 0:
        v, ill = _ofv(
            e,
            pt,
        )
        return v.real, ill
    for j in range(k):
        for i in range(k):
            e[i] = x[i]
        e[j] = complex(x[j], CS_STEP)
        v, ill = _ofv(
            e,
            pt,
        )
        if ill:
            return np.inf, True
        f = v.real
        g[j] = v.imag / CS_STEP
    if not np.isfinite(f):
        return np.inf, False
    for j in range(k):
        if not np.isfinite(g[j]):
            return np.inf, False
    return f, False


@numba.njit(cache=True, nogil=True)
def _fgh(
    x,
    g,
    H,
    hstep,
    pt,
):
    """OFV, exact gradient (g) and Hessian (H: central differences of exact gradients)."""
    k = x.shape[0]
    f, ill = _fg(
        x,
        g,
        pt,
    )
    if ill or not np.isfinite(f):
        return f, ill
    gp = np.empty(k)
    gm = np.empty(k)
    xs = x.copy()
    for j in range(k):
        xs[j] = x[j] + hstep
        fp, illp = _fg(
            xs,
            gp,
            pt,
        )
        xs[j] = x[j] - hstep
        fm, illm = _fg(
            xs,
            gm,
            pt,
        )
        xs[j] = x[j]
        if illp or illm:
            return f, True
        if not (np.isfinite(fp) and np.isfinite(fm)):
            return np.inf, False
        for i in range(k):
            H[i, j] = (gp[i] - gm[i]) / (2.0 * hstep)
    for i in range(k):
        for j in range(i + 1, k):
            s = 0.5 * (H[i, j] + H[j, i])
            H[i, j] = s
            H[j, i] = s
    return f, False


@numba.njit(cache=True, nogil=True)
def _newton_step(g, H):
    """map._newton_step: Hessian shifted to positive definite, step capped at 2 eta units
    (eigenvalues and the solve in closed form for k <= 2, LAPACK otherwise)."""
    k = g.shape[0]
    if k == 1:
        w_min = w_max_abs = H[0, 0]
        w_max_abs = abs(w_min)
    elif k == 2:
        m = 0.5 * (H[0, 0] + H[1, 1])
        r = math.sqrt(0.25 * (H[0, 0] - H[1, 1]) ** 2 + H[0, 1] * H[1, 0])
        w_min = m - r
        w_max_abs = max(abs(m - r), abs(m + r))
    else:
        w = np.linalg.eigvalsh(H)
        w_min = w.min()
        w_max_abs = np.max(np.abs(w))
    wmax = max(1.0, w_max_abs)
    Hs = H.copy()
    if w_min <= 1e-8 * wmax:
        shift = abs(w_min) + 1e-3 * wmax
        for i in range(k):
            Hs[i, i] += shift
    if k == 1:
        step = -g / Hs[0, 0]
    elif k == 2:
        det = Hs[0, 0] * Hs[1, 1] - Hs[0, 1] * Hs[1, 0]
        step = np.empty(2)
        step[0] = -(Hs[1, 1] * g[0] - Hs[0, 1] * g[1]) / det
        step[1] = -(Hs[0, 0] * g[1] - Hs[1, 0] * g[0]) / det
    else:
        step = -np.linalg.solve(Hs, g)
    norm = math.sqrt(np.sum(step * step))
    if norm > 2.0:
        step = step * (2.0 / norm)
    return step


@numba.njit(cache=True, nogil=True)
def _newton(
    x0,
    gtol,
    max_iter,
    hstep,
    pt,
    out_x,
    out_g,
    prev_x,
    n_prev,
):
    """Damped Newton with Armijo backtracking from x0 (map._newton_multi's rules, one start; a
    start that comes within JOIN_TOL of an earlier start's optimum ``prev_x[:n_prev]`` stops
    there: status JOINED + that start's index). Writes the point and gradient; returns
    (ofv, status, iterations)."""
    k = x0.shape[0]
    x = x0.copy()
    g = np.zeros(k)
    H = np.zeros((k, k))
    gn = np.zeros(k)
    Hn = np.zeros((k, k))
    f, ill = _fgh(
        x,
        g,
        H,
        hstep,
        pt,
    )
    status, it = NOT_FINITE, 0
    if ill:
        status = ILL
    elif np.isfinite(f):
        status = MAX_ITER
        while it < max_iter:
            joined = -1
            for c in range(n_prev):
                if np.max(np.abs(prev_x[c] - x)) < JOIN_TOL:
                    joined = c
                    break
            if joined >= 0:
                status = JOINED + joined
                break
            if math.sqrt(np.sum(g * g)) < gtol:
                status = CONVERGED
                break
            step = _newton_step(g, H)
            slope = np.sum(g * step)
            if -slope < 1e-10:
                status = DECREMENT
                break
            t = 1.0
            accepted = False
            while True:
                xn = x + t * step
                fn, illn = _fgh(
                    xn,
                    gn,
                    Hn,
                    hstep,
                    pt,
                )
                if illn:
                    status = ILL
                    break
                if np.isfinite(fn) and fn <= f + 1e-4 * t * slope:
                    x[:] = xn
                    f = fn
                    g[:] = gn
                    H[:, :] = Hn
                    accepted = True
                    break
                t *= 0.5
                if t < 1e-6:
                    status = STALLED
                    break
            if not accepted:
                break
            it += 1
    out_x[:] = x
    out_g[:] = g
    return f, status, it


@numba.njit(cache=True, nogil=True)
def _fit_one(
    p,
    screen,
    white,
    global_pts,
    ofv_tol,
    gtol,
    max_iter,
    hstep,
    data,
    screen_ofv,
    starts,
    xs,
    fs,
    gs,
    status,
    iters,
    global_search,
    n_eval,
):
    """Screen, choose starts (map.estimate_map's rules), Newton from each start; returns the
    number of starts (0: nothing finite, -1: ill-conditioned)."""
    pt = _patient(data, p)
    n_obs = pt[11]
    Q, k = screen.shape
    e = np.empty(k, dtype=np.complex128)
    any_ill = False
    for s in range(Q):
        for i in range(k):
            e[i] = screen[s, i]
        v, ill = _ofv(
            e,
            pt,
        )
        any_ill = any_ill or ill
        screen_ofv[p, s] = v.real if np.isfinite(v.real) else np.inf
    n_eval[p] = Q
    if any_ill:
        return -1
    order = np.argsort(screen_ofv[p], kind="mergesort")
    if not np.isfinite(screen_ofv[p, order[0]]):
        return 0
    chosen = np.full(3, -1)
    chosen[0] = order[0]
    n = 1
    if order[0] != 0:
        chosen[1] = 0
        n = 2
    if n_obs > 0:
        for i in order:
            if not np.isfinite(screen_ofv[p, i]):
                break
            if i == chosen[0] or i == chosen[1]:
                continue
            far = True
            for c in range(n):
                d2 = 0.0
                for j in range(k):
                    d2 += (white[chosen[c], j] - white[i, j]) ** 2
                if not math.sqrt(d2) > 1.0:
                    far = False
            if far:
                chosen[n] = i
                n += 1
                break
    for c in range(n):
        starts[p, c] = screen[chosen[c]]
        fs[p, c], status[p, c], iters[p, c] = _newton(
            screen[chosen[c]], gtol, max_iter, hstep, pt, xs[p, c], gs[p, c],
            xs[p], c,
        )  # fmt: skip
        if status[p, c] == ILL:
            return -1
        if status[p, c] >= JOINED:  # report the optimum of the start it joined
            j = status[p, c] - JOINED
            xs[p, c] = xs[p, j]
            gs[p, c] = gs[p, j]
            fs[p, c] = fs[p, j]
        n_eval[p] += (iters[p, c] + 1) * (2 * k + 1) * k
    best = np.inf
    for c in range(n):
        best = min(best, fs[p, c])
    disagree = False
    for c in range(n):
        if np.isfinite(fs[p, c]) and fs[p, c] - best > ofv_tol:
            disagree = True
    if disagree:  # stage 2b: scan the global points, Newton from the best one
        g_best, i_best = np.inf, -1
        for s in range(global_pts.shape[0]):
            for i in range(k):
                e[i] = global_pts[s, i]
            v, ill = _ofv(
                e,
                pt,
            )
            if np.isfinite(v.real) and v.real < g_best:
                g_best, i_best = v.real, s
        n_eval[p] += global_pts.shape[0]
        if i_best >= 0:
            starts[p, n] = global_pts[i_best]
            fs[p, n], status[p, n], iters[p, n] = _newton(
                global_pts[i_best], gtol, max_iter, hstep, pt, xs[p, n], gs[p, n],
                xs[p], 0,
            )  # fmt: skip
            if status[p, n] == ILL:
                return -1
            n_eval[p] += (iters[p, n] + 1) * (2 * k + 1) * k
            global_search[p] = True
    return n


@numba.njit(cache=True, nogil=True)
def fit_serial(
    screen,
    white,
    global_pts,
    ofv_tol,
    gtol,
    max_iter,
    hstep,
    data,
    screen_ofv,
    starts,
    xs,
    fs,
    gs,
    status,
    iters,
    n_starts,
    global_search,
    n_eval,
):
    """MAP stages 1-2 for P patients, one after another (shapes in compiled.py)."""
    for p in range(data[0].shape[0]):
        n_starts[p] = _fit_one(
            p,
            screen,
            white,
            global_pts,
            ofv_tol,
            gtol,
            max_iter,
            hstep,
            data,
            screen_ofv,
            starts,
            xs,
            fs,
            gs,
            status,
            iters,
            global_search,
            n_eval,
        )


@numba.njit(parallel=True, cache=True, nogil=True)
def fit_parallel(
    screen,
    white,
    global_pts,
    ofv_tol,
    gtol,
    max_iter,
    hstep,
    data,
    screen_ofv,
    starts,
    xs,
    fs,
    gs,
    status,
    iters,
    n_starts,
    global_search,
    n_eval,
):
    """As :func:`fit_serial`, patients spread over threads (``prange``); each patient's numbers
    do not depend on the thread that computes them."""
    for p in prange(data[0].shape[0]):
        n_starts[p] = _fit_one(
            p,
            screen,
            white,
            global_pts,
            ofv_tol,
            gtol,
            max_iter,
            hstep,
            data,
            screen_ofv,
            starts,
            xs,
            fs,
            gs,
            status,
            iters,
            global_search,
            n_eval,
        )


@numba.njit(cache=True, nogil=True)
def ofv_points(
    X,
    p,
    data,
    out_f,
    out_g,
):
    """OFV (N,) and exact gradients (N, k) at points X (N, k) for patient p (tests, diagnostics)."""
    pt = _patient(data, p)
    for s in range(X.shape[0]):
        f, ill = _fg(
            X[s],
            out_g[s],
            pt,
        )
        out_f[s] = np.nan if ill else f
