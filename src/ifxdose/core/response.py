"""Exposure-response: an effect-site concentration and an Emax model on the logit scale.

    Ce' = ke0 * (C - Ce),            Ce(0) = 0
    logit P(response) = intercept + emax * Ce^hill / (ec50^hill + Ce^hill)

``intercept`` is the endpoint's response without drug (MTX plus placebo); the drug adds
``emax`` on the logit scale.

Background treatment started with the drug (MTX in MTX-naive patients, ASPIRE) acts on the same
bounded latent scale (issue 12): its fraction ``g`` of the maximal improvement and the drug's fraction
``f = Ce^hill / (ec50^hill + Ce^hill)`` combine by Bliss independence, ``1 - (1 - g)(1 - f)``, so

    logit P = intercept + emax * (g + (1 - g) * f)

and the drug's increment shrinks by ``1 - g`` where the background is high. ``g = 0`` is the model
above (MTX continued in MTX inadequate responders, ATTRACT). Assumption (docs/trials.md). The effect compartment delays the response after the first
infusions (START's ACR20 rose from week 2 to week 22, seed S5). The values are calibrated
(docs/trials.md); the form is an assumption.

Response over visits (issue 12, session 7): a patient's latent uniform at a visit is
``Phi(sqrt(rho) Phi^-1(u) + sqrt(1 - rho) z_visit)`` (:func:`visit_uniform`, a Gaussian copula), uniform at
every visit, with two visits' normal scores correlated by ``rho``; ``rho`` is a tetrachoric correlation of
response status between two visits (:func:`tetrachoric_correlation`).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.signal import lfilter
from scipy.special import expit
from scipy.stats import norm

from ifxdose.core.errors import InputError


def effect_site(times_days: np.ndarray, conc_mg_l: np.ndarray, ke0_per_day: float) -> np.ndarray:
    """Ce (P, T) exact for C linear between grid points; Ce = 0 at the first time."""
    t = np.asarray(times_days, float)
    c = np.asarray(conc_mg_l, float)
    steps = np.diff(t)
    if t.size > 1 and np.allclose(steps, steps[0]):
        return _effect_site_uniform(c, float(steps[0]), ke0_per_day)
    ce = np.zeros_like(c)
    for k in range(1, t.size):
        h = t[k] - t[k - 1]
        a = np.exp(-ke0_per_day * h)
        slope_part = 1.0 - (1.0 - a) / (ke0_per_day * h)
        ce[:, k] = a * ce[:, k - 1] + (1.0 - a) * c[:, k - 1] + slope_part * (c[:, k] - c[:, k - 1])
    return np.asarray(ce, dtype=float)


def _effect_site_uniform(c: np.ndarray, h: float, ke0_per_day: float) -> np.ndarray:
    """The same recursion as a first-order IIR filter (uniform grid): C speed, no Python loop."""
    a = np.exp(-ke0_per_day * h)
    s = 1.0 - (1.0 - a) / (ke0_per_day * h)
    b = np.array([s, 1.0 - a - s])
    zi = -b[0] * c[:, :1]  # makes Ce(t0) = 0 exactly
    ce, _ = lfilter(b, [1.0, -a], c, axis=1, zi=zi)
    return np.asarray(ce, dtype=float)


def bliss_fraction(drug_fraction: np.ndarray, background_fraction: np.ndarray | float) -> np.ndarray:
    """Combined fraction of the maximal improvement, 1 - (1 - g)(1 - f) (Bliss independence)."""
    g = np.asarray(background_fraction, dtype=float)
    if np.any((g < 0.0) | (g > 1.0)):
        raise InputError("background_fraction", g, "must be in [0, 1]")
    return np.asarray(1.0 - (1.0 - g) * (1.0 - np.asarray(drug_fraction, dtype=float)), dtype=float)


def emax_logit_probability(
    ce_mg_l: np.ndarray,
    intercept: float,
    emax: float,
    ec50_mg_l: float,
    hill: float = 1.0,
    background_fraction: np.ndarray | float = 0.0,
) -> np.ndarray:
    """P(response) for effect-site concentrations (any shape); ``background_fraction`` g broadcasts
    against ``ce_mg_l`` (module docstring)."""
    ce = np.maximum(np.asarray(ce_mg_l, float), 0.0)
    drug = emax * bliss_fraction(ce**hill / (ec50_mg_l**hill + ce**hill), background_fraction)
    return np.asarray(expit(intercept + drug), dtype=float)


def crp_patient_level_mg_l(
    crp_measured_mg_l: np.ndarray,
    z: np.ndarray,
    population_median_mg_l: float,
    sigma_total: float,
    sigma_occasion: float,
) -> np.ndarray:
    """A patient's CRP level (the median of their occasion-to-occasion draws) given one measured value.

    Model (issue 12): log CRP_measured = log L_i + sigma_occasion * e, log L_i ~ N(mu, sigma_total^2 -
    sigma_occasion^2), mu = log(population median), so the measured values have the population's log-normal
    distribution (log-SD ``sigma_total``). The level given the measurement is the bivariate-normal
    conditional: log L_i | x ~ N(mu + rho (x - mu), rho sigma_occasion^2), rho = 1 - sigma_occasion^2 /
    sigma_total^2 (regression to the mean); ``z`` (same shape) are standard normals. ``sigma_occasion`` 0
    returns the measurement.
    """
    if not sigma_total > 0.0:
        raise InputError("sigma_total", sigma_total, "must be > 0")
    if not 0.0 <= sigma_occasion < sigma_total:
        raise InputError("sigma_occasion", sigma_occasion, f"must be in [0, sigma_total = {sigma_total:g})")
    if not population_median_mg_l > 0.0:
        raise InputError("population_median_mg_l", population_median_mg_l, "must be > 0")
    x = np.log(np.maximum(np.asarray(crp_measured_mg_l, dtype=float), 1e-12))
    mu = float(np.log(population_median_mg_l))
    rho = 1.0 - sigma_occasion**2 / sigma_total**2
    log_level = mu + rho * (x - mu) + np.sqrt(rho) * sigma_occasion * np.asarray(z, dtype=float)
    return np.asarray(np.exp(log_level), dtype=float)


def crp_course_mg_l(
    crp0_mg_l: np.ndarray,
    conc_eff_mg_l: np.ndarray,
    imax: float,
    ec50_mg_l: float,
    floor_mg_l: float,
    background_fraction: np.ndarray | float = 0.0,
) -> np.ndarray:
    """CRP (P, T) under drug: CRP0 * (1 - imax * (g + (1 - g) C / (ec50 + C))), floored at ``floor_mg_l``.

    ``crp0_mg_l`` (P,) is the baseline; ``conc_eff_mg_l`` (P, T) the concentration the
    suppression sees (infliximab in mg/L, possibly scaled by the target). A baseline below the
    floor is kept as it is (the floor never raises CRP). Inhibitory Emax form: an Assumption
    (docs/trials.md, "Inflammation over time"). ``background_fraction`` g (scalar or (P,)): a background
    treatment started with the drug (MTX in MTX-naive patients) combined with the drug's fraction by Bliss
    independence, as in :func:`emax_logit_probability` (g = 0: the drug alone).
    """
    if not 0.0 <= imax <= 1.0:
        raise InputError("imax", imax, "must be in [0, 1]")
    if ec50_mg_l <= 0.0:
        raise InputError("ec50_mg_l", ec50_mg_l, "must be > 0")
    c = np.maximum(np.asarray(conc_eff_mg_l, dtype=float), 0.0)
    crp0 = np.asarray(crp0_mg_l, dtype=float)[:, None]
    g = np.asarray(background_fraction, dtype=float)
    g = g[:, None] if g.ndim == 1 else g
    crp = crp0 * (1.0 - imax * bliss_fraction(c / (ec50_mg_l + c), g))
    return np.asarray(np.maximum(crp, np.minimum(crp0, floor_mg_l)), dtype=float)


def bivariate_normal_cdf(a: float, b: float, rho: float) -> float:
    """P(X <= a, Y <= b) for standard normals with correlation ``rho`` in (-1, 1).

    One-dimensional quadrature of P = integral_{-inf}^{a} phi(x) Phi((b - rho x) / sqrt(1 - rho^2)) dx
    (conditioning on X; deterministic, unlike a randomised multivariate algorithm).
    """
    if not -1.0 < rho < 1.0:
        raise InputError("rho", rho, "must be in (-1, 1)")
    s = float(np.sqrt(1.0 - rho * rho))
    value, _ = quad(lambda x: norm.pdf(x) * norm.cdf((b - rho * x) / s), -np.inf, a, epsabs=1e-13, epsrel=1e-11)
    return float(value)


def tetrachoric_correlation(p_first: float, p_second: float, p_both: float) -> float:
    """The correlation of a bivariate standard normal whose two thresholded halves give the shares ``p_first``,
    ``p_second`` and their joint share ``p_both`` (the tetrachoric correlation of two binary statuses):
    brentq on :func:`bivariate_normal_cdf` (Pearson 1900)."""
    for name, p in (("p_first", p_first), ("p_second", p_second), ("p_both", p_both)):
        if not 0.0 < p < 1.0:
            raise InputError(name, p, "must be in (0, 1)")
    if not max(0.0, p_first + p_second - 1.0) < p_both < min(p_first, p_second):
        raise InputError(
            "p_both", p_both, f"must be in ({max(0.0, p_first + p_second - 1.0):g}, {min(p_first, p_second):g})"
        )
    a, b = float(norm.ppf(p_first)), float(norm.ppf(p_second))
    return float(brentq(lambda r: bivariate_normal_cdf(a, b, r) - p_both, -0.9999, 0.9999, xtol=1e-12))


def visit_uniform(patient_u: np.ndarray, visit_z: np.ndarray, rho: float) -> np.ndarray:
    """A patient's latent response uniform at one visit: Phi(sqrt(rho) Phi^-1(u) + sqrt(1 - rho) z).

    ``patient_u`` (P,) is the persistent latent uniform, ``visit_z`` (P,) the visit's standard normals. Each
    visit's uniform is again uniform (the marginal response rate at any one visit is unchanged), and two
    visits' normal scores correlate by ``rho`` (a persistent plus a visit-specific part, Gaussian copula;
    docs/trials.md, "Response over visits"). ``rho`` 1 returns ``patient_u``.
    """
    if not 0.0 <= rho <= 1.0:
        raise InputError("rho", rho, "must be in [0, 1]")
    u = np.asarray(patient_u, dtype=float)
    if rho == 1.0:
        return u.copy()
    score = np.sqrt(rho) * norm.ppf(u) + np.sqrt(1.0 - rho) * np.asarray(visit_z, dtype=float)
    return np.asarray(norm.cdf(score), dtype=float)
