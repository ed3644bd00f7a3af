"""The exact OFV Hessian of the compiled MAP (:func:`ifxdose.core.estimation.map_numba._ofv_exact`)
in plain Python, for processes that have not loaded numba (a CLI call, a clinic request).

Laplace's covariance (:func:`ifxdose.core.estimation.posterior.laplace`) needs the Hessian of
the OFV at the MAP once per recommendation. The compiled path computes it exactly from one
real pass (chain rule over closed-form derivatives of the exponential sums, the
eigen-quantities' derivatives by hyper-dual numbers: Fike & Alonso, AIAA 2011-886). This
module is the same formulas, operation for operation, in Python floats and :mod:`math`, so a
process gives the same interval before and after numba loads (tested against the compiled
pass and a 40-digit mpmath reference, tests/estimation/test_map_hessian.py). Scalar Python:
~0.1-0.3 ms for 4 levels x 6 infusions and 2 random effects, once per Laplace approximation.
Shapes: one patient of :class:`ifxdose.core.estimation.compiled.Packed`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
HD = tuple[float, float, float, float]  #: hyper-dual a + b e1 + c e2 + d e1 e2 (e1^2 = e2^2 = 0)

SQRT2 = math.sqrt(2.0)
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _mul(a: HD, b: HD) -> HD:
    return (
        a[0] * b[0],
        a[0] * b[1] + a[1] * b[0],
        a[0] * b[2] + a[2] * b[0],
        a[0] * b[3] + a[1] * b[2] + a[2] * b[1] + a[3] * b[0],
    )


def _fn(a: HD, f0: float, f1: float, f2: float) -> HD:
    return (f0, f1 * a[1], f1 * a[2], f1 * a[3] + f2 * a[1] * a[2])


def _inv(a: HD) -> HD:
    r = 1.0 / a[0]
    return _fn(a, r, -r * r, 2.0 * r * r * r)


def _div(a: HD, b: HD) -> HD:
    return _mul(a, _inv(b))


def _add(a: HD, b: HD) -> HD:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


def _sub(a: HD, b: HD) -> HD:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3])


def _scale(a: HD, s: float) -> HD:
    return (a[0] * s, a[1] * s, a[2] * s, a[3] * s)


def _sqrt(a: HD) -> HD:
    r = math.sqrt(a[0])
    return _fn(a, r, 0.5 / r, -0.25 / (r * r * r))


def _log_ndtr(u: float) -> float:
    """log Phi(u); asymptotic series below -30 (Abramowitz & Stegun 26.2.12)."""
    if u > -30.0:
        return math.log(0.5 * math.erfc(-u / SQRT2))
    u2 = u * u
    s = 1.0 - 1.0 / u2 + 3.0 / u2**2 - 15.0 / u2**3 + 105.0 / u2**4
    return -0.5 * u2 - LOG_SQRT_2PI - math.log(-u) + math.log(s)


def _mills(u: float) -> float:
    """phi(u) / Phi(u) = d log Phi / du."""
    if u > -30.0:
        return math.exp(-0.5 * u * u - LOG_SQRT_2PI) / (0.5 * math.erfc(-u / SQRT2))
    u2 = u * u
    return -u / (1.0 - 1.0 / u2 + 3.0 / u2**2 - 15.0 / u2**3 + 105.0 / u2**4)


def _params(tv: F64, eta: F64, eta_param: Any, two_cmt: bool, i: int, j: int) -> tuple[HD, ...]:
    """(lam_f, lam_s, w_f, w_s, u_f, u_s) as hyper-duals, e1 seeding eta[i] and e2 eta[j]."""
    cl: HD = (float(tv[0]), 0.0, 0.0, 0.0)
    v1: HD = (float(tv[1]), 0.0, 0.0, 0.0)
    q: HD = (float(tv[2]), 0.0, 0.0, 0.0)
    v2: HD = (float(tv[3]), 0.0, 0.0, 0.0)
    for jj in range(eta.shape[0]):
        e1 = 1.0 if jj == i else 0.0
        e2 = 1.0 if jj == j else 0.0
        ex = math.exp(float(eta[jj]))
        fac = (ex, ex * e1, ex * e2, ex * e1 * e2)
        m = int(eta_param[jj])
        if m == 0:
            cl = _mul(cl, fac)
        elif m == 1:
            v1 = _mul(v1, fac)
        elif m == 2:
            q = _mul(q, fac)
        else:
            v2 = _mul(v2, fac)
    zero = (0.0, 0.0, 0.0, 0.0)
    if two_cmt:
        a = _scale(_div(_add(cl, q), v1), -1.0)
        b = _div(q, v2)
        c = _div(q, v1)
        d = _scale(b, -1.0)
        amd = _sub(a, d)
        root = _sqrt(_add(_scale(_mul(amd, amd), 0.25), _mul(b, c)))
        lf = _sub(_scale(_add(a, d), 0.5), root)
        ls = _div(_sub(_mul(a, d), _mul(b, c)), lf)
        den = _inv(_sub(ls, lf))
        c0 = _mul(_sub(ls, a), den)
        c1 = _mul(_sub(a, lf), den)
        iv1 = _inv(v1)
        w0 = _mul(c0, iv1)
        w1 = _mul(c1, iv1)
        return lf, ls, w0, w1, _div(w0, lf), _div(w1, ls)
    lf = _scale(_div(cl, v1), -1.0)
    w0 = _inv(v1)
    return lf, zero, w0, zero, _div(w0, lf), zero


def _ill_conditioned(x: F64, tv: F64, eta_param: Any, two_cmt: bool, jv: list[float]) -> bool:
    """1-norm condition number of the 2-compartment eigenvectors above 1e8 (as linear.eigen)."""
    if not two_cmt:
        return False
    cl, v1, q, v2 = float(tv[0]), float(tv[1]), float(tv[2]), float(tv[3])
    for jj in range(x.shape[0]):
        m = int(eta_param[jj])
        if m == 0:
            cl = cl * math.exp(float(x[jj]))
        elif m == 1:
            v1 = v1 * math.exp(float(x[jj]))
        elif m == 2:
            q = q * math.exp(float(x[jj]))
        else:
            v2 = v2 * math.exp(float(x[jj]))
    ar = -(cl + q) / v1
    br = q / v2
    lfr, lsr = jv[0], jv[1]
    det = abs(br * (lsr - lfr))
    n_v = max(abs(br) + abs(lfr - ar), abs(br) + abs(lsr - ar))
    n_w = max(abs(lsr - ar) + abs(lfr - ar), 2.0 * abs(br)) / det if det > 0 else math.inf
    return not n_v * n_w <= 1e8


def _level_terms(f: float, y: float, lloq: float, blq: bool, a2: float, prop: float) -> tuple[float, float, float]:
    """One level's OFV term h(f), h'(f), h''(f) (quantified: z^2 + 2 ln s; below the LLOQ:
    -2 ln Phi((LLOQ - f) / s)); s^2 = add^2 + (prop f)^2, s = 1 when that is 0."""
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
        2.0 * iv
        + 4.0 * r * dv * iv * iv
        - r * r * d2v * iv * iv
        + 2.0 * r * r * dv * dv * iv * iv * iv
        + d2v * iv
        - dv * dv * iv * iv
    )
    return h, h1, h2


def ofv_gradient_hessian(packed: Any, x: F64, patient: int = 0) -> tuple[float, F64, F64, bool]:
    """OFV, exact gradient (k,) and exact Hessian (k, k) at the real point x (k,) for one
    patient of a :class:`~ifxdose.core.estimation.compiled.Packed`, and whether its
    eigenvectors are ill-conditioned there (then nothing else is meaningful). Non-finite
    results give OFV +inf, as the compiled pass."""
    p = patient
    tv, eta_param, two_cmt = packed.tv[p], packed.eta_param, bool(packed.two_cmt)
    omega_inv, add, prop = packed.omega_inv, float(packed.add), float(packed.prop)
    x = np.asarray(x, float)
    k = x.shape[0]
    xs = [float(v) for v in x]
    oi = [[float(omega_inv[i, j]) for j in range(k)] for i in range(k)]
    total = 0.0
    for i in range(k):
        for j in range(k):
            total += xs[i] * oi[i][j] * xs[j]
    g = [0.0] * k
    H = [[0.0] * k for _ in range(k)]
    for i in range(k):
        s = 0.0
        for j in range(k):
            s += (oi[i][j] + oi[j][i]) * xs[j]
            H[i][j] = oi[i][j] + oi[j][i]
        g[i] = s
    n_obs = int(packed.n_obs[p])
    if n_obs == 0:
        return total, np.array(g), np.array(H).reshape(k, k), False
    jv = [0.0] * 6
    jg = [[0.0] * k for _ in range(6)]
    jh = [[[0.0] * k for _ in range(k)] for _ in range(6)]
    n_pairs = k if k > 0 else 1
    for i in range(n_pairs):
        for j in range(i, n_pairs):
            qs = _params(tv, x, eta_param, two_cmt, i if k > 0 else -1, j if k > 0 else -1)
            for r in range(6):
                qr = qs[r]
                jv[r] = qr[0]
                if k > 0:
                    jg[r][i] = qr[1]
                    jg[r][j] = qr[2]
                    jh[r][i][j] = qr[3]
                    jh[r][j][i] = qr[3]
    if _ill_conditioned(x, tv, eta_param, two_cmt, jv):
        return total, np.array(g), np.array(H).reshape(k, k), True
    dose_t = [float(v) for v in packed.dose_t[p]]
    dose_amt = [float(v) for v in packed.dose_amt[p]]
    dose_dur = [float(v) for v in packed.dose_dur[p]]
    n_dose = int(packed.n_dose[p])
    n_lam = 2 if two_cmt else 1
    a2 = add * add
    for o in range(n_obs):
        t = float(packed.obs_t[p, o])
        f = 0.0
        fg = [0.0] * k
        fh = [[0.0] * k for _ in range(k)]
        for e in range(n_lam):
            lam, w, u = jv[e], jv[2 + e], jv[4 + e]
            b0 = b1 = b2 = s0 = s1 = s2 = 0.0
            last_m, last_em1 = math.nan, 0.0
            for d in range(n_dose):
                st = dose_t[d]
                if not t > st:  # a dose at exactly t is not yet given (pre-dose sample)
                    continue
                el = t - st
                dur = dose_dur[d]
                if dur > 0:
                    m = min(el, dur)
                    rr = dose_amt[d] / dur
                    if m != last_m:
                        last_m, last_em1 = m, math.expm1(lam * m)
                    ea = math.exp(lam * (el - m))
                    gg = ea * last_em1
                    s0 += rr * gg
                    big_e = ea + gg
                    am = el - m
                    s1 += rr * (am * gg + m * big_e)
                    s2 += rr * (am * am * gg + m * (am + el) * big_e)
                else:
                    ex = dose_amt[d] * math.exp(lam * el)
                    b0 += ex
                    b1 += ex * el
                    b2 += ex * el * el
            f += w * b0 + u * s0
            cl_ = w * b1 + u * s1  # coefficient of dlam
            for i in range(k):
                fg[i] += b0 * jg[2 + e][i] + s0 * jg[4 + e][i] + cl_ * jg[e][i]
            for i in range(k):
                for j in range(i, k):
                    fh[i][j] += (
                        b0 * jh[2 + e][i][j]
                        + s0 * jh[4 + e][i][j]
                        + cl_ * jh[e][i][j]
                        + b1 * (jg[2 + e][i] * jg[e][j] + jg[e][i] * jg[2 + e][j])
                        + s1 * (jg[4 + e][i] * jg[e][j] + jg[e][i] * jg[4 + e][j])
                        + (w * b2 + u * s2) * jg[e][i] * jg[e][j]
                    )
        h, h1, h2 = _level_terms(f, float(packed.y[p, o]), float(packed.lloq[p, o]), bool(packed.blq[p, o]), a2, prop)
        total += h
        for i in range(k):
            g[i] += h1 * fg[i]
            for j in range(i, k):
                H[i][j] += h2 * fg[i] * fg[j] + h1 * fh[i][j]
    for i in range(k):
        for j in range(i):
            H[i][j] = H[j][i]
    g_a, H_a = np.array(g), np.array(H).reshape(k, k)
    if not (math.isfinite(total) and np.all(np.isfinite(g_a)) and np.all(np.isfinite(H_a))):
        return math.inf, g_a, H_a, False
    return total, g_a, H_a, False
