# mypy: ignore-errors
# (numba compiles and type-checks these bodies itself; mypy cannot model numba semantics.)
"""The numba-compiled body of :mod:`ifxdose.core.estimation.compiled` (imported only on demand).

One patient of a linear 1- or 2-compartment library model with constant covariates and IV
doses (bolus or zero-order infusion): the concentration is the superposition of exact
single-dose responses (:func:`ifxdose.core.pk.linear.superpose`, written out here for the
closed-form 2x2 eigen-decomposition), the objective is that of
:mod:`ifxdose.core.estimation.objective` (quantified levels, Beal's M3 below the LLOQ, the
prior). The Newton steps, the screen and the global search use :func:`_ofv_exact`: OFV, exact
gradient and exact Hessian from one pass in real arithmetic (chain rule over closed-form
derivatives of the exponential sums; the eigen-quantities' derivatives by hyper-dual numbers),
so the Newton iteration is a true Newton iteration and costs about one objective evaluation.
The complex-step OFV :func:`_ofv` / :func:`_fg` (Squire & Trapp, SIAM Rev 1998;40:110;
Martins, Sturdza & Alonso, ACM TOMS 2003;29:245) is kept as the independent reference the
tests compare against (:func:`ofv_points`). The optimiser is the damped Newton of
:mod:`ifxdose.core.estimation.map` (same rules), run from each start. Shapes and status codes in :mod:`ifxdose.core.estimation.compiled`.
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
#: ``order`` of :func:`_ofv_exact` (value only / with gradient and Hessian) and the "no random
#: effect seeded" index of :func:`_hd_params`, as int64 values rather than Python ints: numba
#: types an integer constant argument as its own literal type and compiles the callee once per
#: literal value; an int64 is one runtime argument, one compilation (compile time below).
VALUES, DERIVATIVES, NO_SEED = np.int64(0), np.int64(2), np.int64(-1)

# Compile time (a fresh clone or a new numba cache pays it once; issue 14, docs/development.md):
# numba compiles a function once per argument-type signature; a prange index is typed uint64
# (the parfor pass first types the loop as a range, int64: two compilations of the callee) and
# an integer constant argument as its own literal type. So the prange index and the start index
# of the global-search Newton run are passed as np.int64(...): fit_parallel reuses fit_serial's
# compiled _fit_one, and _newton is compiled once. Session 6: ``order`` of _ofv_exact and the
# "no seed" index of _hd_params are int64 values too (VALUES, DERIVATIVES, NO_SEED: one compilation
# each instead of one per literal; the branches on ``order`` are runtime tests), the small
# complex-step and hyper-dual helpers are plain functions that LLVM inlines (no numba IR-level
# inline="always", which re-typed every inlined body at every call site), and the screen's stable
# sort is a short insertion sort instead of numba's mergesort argsort. fit_serial on an empty
# cache: ~50 -> ~39 s CPU; run time unchanged within the A/A noise (docs/development.md).


# Elementary functions of a complex-step number a + i b, b infinitesimal (|b| <= 1e-20 times a
# derivative): f(a + i b) = f(a) + i b f'(a) exactly in floating point (the b^2 terms are below
# the last bit), so no sin/cos. Not general complex functions.
@numba.njit(cache=True, nogil=True)
def _exp(x):
    e = math.exp(x.real)
    return complex(e, e * x.imag)


@numba.njit(cache=True, nogil=True)
def _expm1(x):
    e = math.expm1(x.real)
    return complex(e, (e + 1.0) * x.imag)


@numba.njit(cache=True, nogil=True)
def _sqrt(x):
    r = math.sqrt(x.real)
    if r == 0.0:  # sd exactly 0 (a pre-dose level, proportional error only): replaced by the caller
        return complex(0.0, 0.0)
    return complex(r, 0.5 * x.imag / r)


@numba.njit(cache=True, nogil=True)
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


# ---------------------------------------------------------------------------------------------
# Exact gradient and Hessian in one real pass (issue 16): the OFV is the prior plus a sum of
# per-level terms h_o(f_o), so grad = (Oi + Oi') eta + sum h'_o grad f_o and
# Hess = (Oi + Oi') + sum (h''_o grad f_o grad f_o' + h'_o Hess f_o) (chain rule). Each
# concentration is f_o = sum_e [w_e B_e(lam_e) + u_e S_e(lam_e)] over the eigen-components e,
# with per-level sums over doses whose derivatives in lam are closed form:
#   bolus     B(lam) = sum D exp(lam tau),       B' = sum D tau exp(lam tau),  B'' = sum D tau^2 exp(lam tau)
#   infusion  g(lam) = exp(lam a) expm1(lam m)   (a = time since the infusion ended, m = infused time)
#             g' = a g + m E,  g'' = a^2 g + m (a + el) E,  E = exp(lam el) = exp(lam a) + g.
# The eigenvalues lam_e, the weights w_e = c_e / V1 and u_e = w_e / lam_e depend on eta only
# through the 4 parameters; their first and second derivatives come from hyper-dual numbers
# (Fike & Alonso, AIAA 2011-886: a + b e1 + c e2 + d e1e2 with e1^2 = e2^2 = 0, exact to
# round-off), one pass per pair (i <= j) of random effects over ~40 operations.
# ---------------------------------------------------------------------------------------------
@numba.njit(cache=True, nogil=True)
def _hd_mul(a, b):
    return (
        a[0] * b[0],
        a[0] * b[1] + a[1] * b[0],
        a[0] * b[2] + a[2] * b[0],
        a[0] * b[3] + a[1] * b[2] + a[2] * b[1] + a[3] * b[0],
    )


@numba.njit(cache=True, nogil=True)
def _hd_fn(a, f0, f1, f2):
    """f(a) for a hyper-dual a, given f, f' and f'' at a[0]."""
    return (f0, f1 * a[1], f1 * a[2], f1 * a[3] + f2 * a[1] * a[2])


@numba.njit(cache=True, nogil=True)
def _hd_inv(a):
    r = 1.0 / a[0]
    return _hd_fn(a, r, -r * r, 2.0 * r * r * r)


@numba.njit(cache=True, nogil=True)
def _hd_div(a, b):
    return _hd_mul(a, _hd_inv(b))


@numba.njit(cache=True, nogil=True)
def _hd_add(a, b):
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


@numba.njit(cache=True, nogil=True)
def _hd_sub(a, b):
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3])


@numba.njit(cache=True, nogil=True)
def _hd_scale(a, s):
    return (a[0] * s, a[1] * s, a[2] * s, a[3] * s)


@numba.njit(cache=True, nogil=True)
def _hd_sqrt(a):
    r = math.sqrt(a[0])
    return _hd_fn(a, r, 0.5 / r, -0.25 / (r * r * r))


@numba.njit(cache=True, nogil=True)
def _hd_params(tv, eta, eta_param, two_cmt, i, j):
    """(lam_f, lam_s, w_f, w_s, u_f, u_s) as hyper-duals: e1 seeds eta[i], e2 seeds eta[j]
    (the same formulas as :func:`_ofv`; 1-compartment: the slow component is 0)."""
    cl, v1 = (tv[0], 0.0, 0.0, 0.0), (tv[1], 0.0, 0.0, 0.0)
    q, v2 = (tv[2], 0.0, 0.0, 0.0), (tv[3], 0.0, 0.0, 0.0)
    for jj in range(eta.shape[0]):  # p[eta_param[jj]] *= exp(eta[jj]) (hyper-dual exp)
        e1 = 1.0 if jj == i else 0.0
        e2 = 1.0 if jj == j else 0.0
        ex = math.exp(eta[jj])
        fac = (ex, ex * e1, ex * e2, ex * e1 * e2)
        m = eta_param[jj]
        if m == 0:
            cl = _hd_mul(cl, fac)
        elif m == 1:
            v1 = _hd_mul(v1, fac)
        elif m == 2:
            q = _hd_mul(q, fac)
        else:
            v2 = _hd_mul(v2, fac)
    zero = (0.0, 0.0, 0.0, 0.0)
    if two_cmt:
        a = _hd_scale(_hd_div(_hd_add(cl, q), v1), -1.0)
        b = _hd_div(q, v2)
        c = _hd_div(q, v1)
        d = _hd_scale(b, -1.0)
        amd = _hd_sub(a, d)
        root = _hd_sqrt(_hd_add(_hd_scale(_hd_mul(amd, amd), 0.25), _hd_mul(b, c)))
        lf = _hd_sub(_hd_scale(_hd_add(a, d), 0.5), root)
        ls = _hd_div(_hd_sub(_hd_mul(a, d), _hd_mul(b, c)), lf)
        den = _hd_inv(_hd_sub(ls, lf))
        c0 = _hd_mul(_hd_sub(ls, a), den)
        c1 = _hd_mul(_hd_sub(a, lf), den)
        iv1 = _hd_inv(v1)
        w0 = _hd_mul(c0, iv1)
        w1 = _hd_mul(c1, iv1)
        return lf, ls, w0, w1, _hd_div(w0, lf), _hd_div(w1, ls)
    lf = _hd_scale(_hd_div(cl, v1), -1.0)
    w0 = _hd_inv(v1)
    return lf, zero, w0, zero, _hd_div(w0, lf), zero


@numba.njit(cache=True, nogil=True)
def _param_jets(x, pt, jv, jg, jh):
    """Values jv (6,), gradients jg (6, k) and Hessians jh (6, k, k) in eta of (lam_f, lam_s,
    w_f, w_s, u_f, u_s) at the real point x; returns ill-conditioned (as :func:`_ofv`)."""
    tv, eta_param, two_cmt = pt[0], pt[1], pt[2]
    k = x.shape[0]
    n_pairs = k if k > 0 else 1
    for i in range(n_pairs):
        for j in range(i, n_pairs):
            qs = _hd_params(tv, x, eta_param, two_cmt, i if k > 0 else NO_SEED, j if k > 0 else NO_SEED)
            for r in range(6):
                qr = qs[r]
                jv[r] = qr[0]
                if k > 0:
                    jg[r, i] = qr[1]
                    jg[r, j] = qr[2]
                    jh[r, i, j] = qr[3]
                    jh[r, j, i] = qr[3]
    return _ill_conditioned(x, pt, jv)


@numba.njit(cache=True, nogil=True)
def _ill_conditioned(x, pt, jv):
    """Whether the 2-compartment eigenvectors are ill-conditioned at x (1-norm condition number
    of V above 1e8, as :func:`_ofv` and linear.eigen); jv holds the eigenvalues."""
    tv, eta_param, two_cmt = pt[0], pt[1], pt[2]
    if not two_cmt:
        return False
    cl, v1, q, v2 = tv[0], tv[1], tv[2], tv[3]
    for jj in range(x.shape[0]):
        if eta_param[jj] == 0:
            cl = cl * math.exp(x[jj])
        elif eta_param[jj] == 1:
            v1 = v1 * math.exp(x[jj])
        elif eta_param[jj] == 2:
            q = q * math.exp(x[jj])
        else:
            v2 = v2 * math.exp(x[jj])
    ar = -(cl + q) / v1
    br = q / v2
    lfr, lsr = jv[0], jv[1]
    det = abs(br * (lsr - lfr))
    n_v = max(abs(br) + abs(lfr - ar), abs(br) + abs(lsr - ar))
    n_w = max(abs(lsr - ar) + abs(lfr - ar), 2.0 * abs(br)) / det if det > 0 else np.inf
    return not n_v * n_w <= 1e8


@numba.njit(cache=True, nogil=True)
def _level_terms(f, y, lloq, blq, a2, prop):
    """One level's OFV term h(f) and its derivatives h'(f), h''(f) (quantified: z^2 + 2 ln s;
    below the LLOQ: -2 ln Phi((LLOQ - f) / s)); s^2 = v = add^2 + (prop f)^2, s = 1 when v = 0."""
    pf = prop * f
    v = a2 + pf * pf
    if v == 0.0:  # ZERO_SD_REPLACEMENT_MG_L (objective.py): s = 1, constant
        s, v, dv, d2v = 1.0, 1.0, 0.0, 0.0
    else:
        s = math.sqrt(v)
        dv = 2.0 * prop * pf
        d2v = 2.0 * prop * prop
    if blq:
        ds = 0.5 * dv / s
        d2s = 0.5 * d2v / s - 0.25 * dv * dv / (s * v)
        u = (lloq - f) / s
        du = (-1.0 - u * ds) / s
        d2u = -(2.0 * du * ds + u * d2s) / s
        m = _mills(u)
        return -2.0 * _log_ndtr(u), -2.0 * m * du, 2.0 * m * (u + m) * du * du - 2.0 * m * d2u
    r = y - f
    z = r / s
    h = z * z + 2.0 * math.log(s)
    iv = 1.0 / v
    h1 = -2.0 * r * iv - r * r * dv * iv * iv + dv * iv
    h2 = (
        2.0 * iv + 4.0 * r * dv * iv * iv - r * r * d2v * iv * iv + 2.0 * r * r * dv * dv * iv * iv * iv
        + d2v * iv - dv * dv * iv * iv
    )  # fmt: skip
    return h, h1, h2


@numba.njit(cache=True, nogil=True)
def _ofv_exact(x, g, H, pt, order, jv, jg, jh, fg, fh):
    """OFV at the real point x; with ``order`` 2 also its exact gradient g (k,) and Hessian H
    (k, k). Work arrays jv (6,), jg (6, k), jh (6, k, k), fg (k,), fh (k, k). Returns
    (ofv, ill-conditioned); +inf when anything is not finite."""
    tv, eta_param, two_cmt, dose_t, dose_amt, dose_dur, n_dose, obs_t, y, lloq, blq, n_obs, omega_inv, add, prop = pt
    k = x.shape[0]
    total = 0.0
    for i in range(k):
        for j in range(k):
            total += x[i] * omega_inv[i, j] * x[j]
    if order > 0:
        for i in range(k):
            s = 0.0
            for j in range(k):
                s += (omega_inv[i, j] + omega_inv[j, i]) * x[j]
                H[i, j] = omega_inv[i, j] + omega_inv[j, i]
            g[i] = s
    if n_obs == 0:
        return total, False
    if order > 0:
        ill = _param_jets(x, pt, jv, jg, jh)
    else:  # values only: one pass with no derivative seeded
        qs = _hd_params(tv, x, eta_param, two_cmt, NO_SEED, NO_SEED)
        for r in range(6):
            jv[r] = qs[r][0]
        ill = _ill_conditioned(x, pt, jv)
    if ill:
        return total, True
    n_lam = 2 if two_cmt else 1
    a2 = add * add
    for o in range(n_obs):
        t = obs_t[o]
        f = 0.0
        if order > 0:
            for i in range(k):
                fg[i] = 0.0
                for j in range(k):
                    fh[i, j] = 0.0
        for e in range(n_lam):
            lam, w, u = jv[e], jv[2 + e], jv[4 + e]
            b0 = b1 = b2 = s0 = s1 = s2 = 0.0
            last_m, last_em1 = np.nan, 0.0  # expm1(lam m) of the previous infusion (most share m)
            for d in range(n_dose):
                st = dose_t[d]
                if not t > st:  # a dose at exactly t is not yet given (pre-dose sample); NaN pads never
                    continue
                el = t - st
                dur = dose_dur[d]
                if dur > 0:
                    m = min(el, dur)
                    r = dose_amt[d] / dur
                    if m != last_m:
                        last_m, last_em1 = m, math.expm1(lam * m)
                    ea = math.exp(lam * (el - m))
                    gg = ea * last_em1
                    s0 += r * gg
                    if order > 0:
                        big_e = ea + gg
                        am = el - m
                        s1 += r * (am * gg + m * big_e)
                        s2 += r * (am * am * gg + m * (am + el) * big_e)
                else:
                    ex = dose_amt[d] * math.exp(lam * el)
                    b0 += ex
                    if order > 0:
                        b1 += ex * el
                        b2 += ex * el * el
            f += w * b0 + u * s0
            if order > 0:
                # d f_e = b0 dw + w b1 dlam + s0 du + u s1 dlam
                cl_ = w * b1 + u * s1  # coefficient of dlam
                for i in range(k):
                    fg[i] += b0 * jg[2 + e, i] + s0 * jg[4 + e, i] + cl_ * jg[e, i]
                for i in range(k):
                    for j in range(i, k):  # upper triangle; mirrored below (bitwise symmetric)
                        fh[i, j] += (
                            b0 * jh[2 + e, i, j] + s0 * jh[4 + e, i, j] + cl_ * jh[e, i, j]
                            + b1 * (jg[2 + e, i] * jg[e, j] + jg[e, i] * jg[2 + e, j])
                            + s1 * (jg[4 + e, i] * jg[e, j] + jg[e, i] * jg[4 + e, j])
                            + (w * b2 + u * s2) * jg[e, i] * jg[e, j]
                        )  # fmt: skip
        h, h1, h2 = _level_terms(f, y[o], lloq[o], blq[o], a2, prop)
        total += h
        if order > 0:
            for i in range(k):
                g[i] += h1 * fg[i]
                for j in range(i, k):
                    H[i, j] += h2 * fg[i] * fg[j] + h1 * fh[i, j]
    if not np.isfinite(total):
        return np.inf, False
    if order > 0:
        for i in range(k):
            for j in range(i):
                H[i, j] = H[j, i]
        for i in range(k):
            if not np.isfinite(g[i]):
                return np.inf, False
            for j in range(k):
                if not np.isfinite(H[i, j]):
                    return np.inf, False
    return total, False


@numba.njit(cache=True, nogil=True)
def _work(k):
    """Work arrays of :func:`_ofv_exact` for k random effects."""
    return np.empty(6), np.zeros((6, k)), np.zeros((6, k, k)), np.empty(k), np.empty((k, k))


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
    jv, jg, jh, fg, fh = _work(k)
    f, ill = _ofv_exact(x, g, H, pt, DERIVATIVES, jv, jg, jh, fg, fh)
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
                fn, illn = _ofv_exact(xn, gn, Hn, pt, DERIVATIVES, jv, jg, jh, fg, fh)
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
def _stable_order(v):
    """``np.argsort(v, kind="mergesort")`` for the screen's ~20 values (no NaN: the caller stores
    +inf for them): a stable insertion sort, the same permutation as any stable sort. Numba's
    mergesort argsort costs ~4 s of compilation on an empty cache, paid again in every caller's
    LLVM module; here it is a few lines (Q = 1 + 2k + 16 values: at most ~300 comparisons)."""
    n = v.shape[0]
    order = np.arange(n)
    for i in range(1, n):
        cur = order[i]
        j = i - 1
        while j >= 0 and v[order[j]] > v[cur]:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = cur
    return order


@numba.njit(cache=True, nogil=True)
def _fit_one(
    p,
    screen,
    white,
    global_pts,
    ofv_tol,
    gtol,
    max_iter,
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
    jv, jg, jh, fg, fh = _work(k)
    g0, h0 = np.empty(k), np.empty((k, k))
    any_ill = False
    for s in range(Q):
        v, ill = _ofv_exact(screen[s], g0, h0, pt, VALUES, jv, jg, jh, fg, fh)
        any_ill = any_ill or ill
        screen_ofv[p, s] = v if np.isfinite(v) else np.inf
    n_eval[p] = Q
    if any_ill:
        return -1
    order = _stable_order(screen_ofv[p])
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
            screen[chosen[c]], gtol, max_iter, pt, xs[p, c], gs[p, c],
            xs[p], c,
        )  # fmt: skip
        if status[p, c] == ILL:
            return -1
        if status[p, c] >= JOINED:  # report the optimum of the start it joined
            j = status[p, c] - JOINED
            xs[p, c] = xs[p, j]
            gs[p, c] = gs[p, j]
            fs[p, c] = fs[p, j]
        n_eval[p] += iters[p, c] + 1
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
            v, ill = _ofv_exact(global_pts[s], g0, h0, pt, VALUES, jv, jg, jh, fg, fh)
            if np.isfinite(v) and v < g_best:
                g_best, i_best = v, s
        n_eval[p] += global_pts.shape[0]
        if i_best >= 0:
            starts[p, n] = global_pts[i_best]
            fs[p, n], status[p, n], iters[p, n] = _newton(
                global_pts[i_best], gtol, max_iter, pt, xs[p, n], gs[p, n],
                xs[p], np.int64(0),
            )  # fmt: skip
            if status[p, n] == ILL:
                return -1
            n_eval[p] += iters[p, n] + 1
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
            np.int64(p),  # prange's index is unsigned: int64 shares fit_serial's compiled _fit_one
            screen,
            white,
            global_pts,
            ofv_tol,
            gtol,
            max_iter,
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


#: Assumption (scheduling, not numerics): patients are handed to the threads in chunks of this
#: many (numba's dynamic chunking) instead of one equal block per thread, so the few patients
#: with a global search (1,024 extra objective values each) do not leave one thread idle.
PARALLEL_CHUNK = 8


def fit_threads(*args):
    """:func:`fit_parallel` with patients dealt to threads in chunks of ``PARALLEL_CHUNK``."""
    with numba.parallel_chunksize(PARALLEL_CHUNK):
        fit_parallel(*args)


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


@numba.njit(cache=True, nogil=True)
def ofv_derivative_points(
    X,
    p,
    data,
    out_f,
    out_g,
    out_h,
):
    """OFV (N,), exact gradients (N, k) and exact Hessians (N, k, k) at points X (N, k) for
    patient p from the real one-pass derivatives (NaN OFV: ill-conditioned)."""
    pt = _patient(data, p)
    jv, jg, jh, fg, fh = _work(X.shape[1])
    for s in range(X.shape[0]):
        f, ill = _ofv_exact(X[s], out_g[s], out_h[s], pt, DERIVATIVES, jv, jg, jh, fg, fh)
        out_f[s] = np.nan if ill else f
