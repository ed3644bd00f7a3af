"""Radiographic progression (modified total Sharp score, mTSS) from inflammation and drug (issue 12).

The seed's causal story (S6-S10), not a fitted association:

    d mTSS_i / dt = k_i * max(CRP_i(t) - CRP_normal, 0) * (1 - Imax * Ce_i(t) / (IC50 + Ce_i(t)))

- damage is driven by inflammation above normal (S8, Smolen 2006: normal CRP/ESR, no progression even
  on MTX; S9, Smolen 2005: CRP correlates with progression on MTX); ``CRP_i(t)`` is the patient's
  simulated CRP course (it falls under drug);
- infliximab also inhibits the damage pathway directly (S9: progression halted even in ACR20
  non-responders; S10, St Clair 2002: higher concentration, less progression): an inhibitory Emax of
  the (effect-site) concentration;
- ``k_i = k_typ * exp(omega * z_i)``, z_i standard normal: between-patient variability of the damage
  rate per unit of inflammation (log-normal, Assumption).

With piecewise-linear integrands between grid points the trapezoidal rule is the exact integral
(:func:`mtss_change`). The forms (linear in the CRP excess, inhibitory Emax) are Assumptions
(docs/trials.md, "Radiographic progression").
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from ifxdose.core.errors import InputError


def damage_inhibition(ce_mg_l: np.ndarray, imax: float, ic50_mg_l: float) -> np.ndarray:
    """Fraction of the damage pathway blocked by drug: Imax * Ce / (IC50 + Ce) (any shape)."""
    if not 0.0 <= imax <= 1.0:
        raise InputError("imax", imax, "must be in [0, 1]")
    if not ic50_mg_l > 0.0:
        raise InputError("ic50_mg_l", ic50_mg_l, "must be > 0")
    ce = np.maximum(np.asarray(ce_mg_l, dtype=float), 0.0)
    return np.asarray(imax * ce / (ic50_mg_l + ce), dtype=float)


def inflammation_excess(crp_mg_l: np.ndarray, crp_normal_mg_l: float) -> np.ndarray:
    """max(CRP - CRP_normal, 0) in mg/L: the inflammation that drives damage (S8)."""
    if not crp_normal_mg_l >= 0.0:
        raise InputError("crp_normal_mg_l", crp_normal_mg_l, "must be >= 0")
    return np.asarray(np.maximum(np.asarray(crp_mg_l, dtype=float) - crp_normal_mg_l, 0.0), dtype=float)


def expected_lognormal_excess(median_mg_l: np.ndarray, sigma: float, threshold_mg_l: float) -> np.ndarray:
    """E[max(m exp(sigma Z) - K, 0)], Z standard normal (any shape): the mean CRP excess above K of a
    patient whose CRP fluctuates log-normally around the level m from occasion to occasion.

    Closed form (the log-normal partial expectation, as in Black-Scholes): m exp(sigma^2/2) Phi(d1) - K
    Phi(d2), d2 = ln(m/K)/sigma, d1 = d2 + sigma; sigma = 0 gives max(m - K, 0). Over a year a fluctuation
    much faster than the year averages to this expectation (Assumption, docs/trials.md).
    """
    if not sigma >= 0.0:
        raise InputError("sigma", sigma, "must be >= 0")
    if not threshold_mg_l > 0.0:
        raise InputError("threshold_mg_l", threshold_mg_l, "must be > 0")
    m = np.maximum(np.asarray(median_mg_l, dtype=float), 0.0)
    if sigma == 0.0:
        return np.asarray(np.maximum(m - threshold_mg_l, 0.0), dtype=float)
    with np.errstate(divide="ignore"):
        d2 = np.log(m / threshold_mg_l) / sigma
    d1 = d2 + sigma
    out = m * np.exp(sigma**2 / 2.0) * ndtr(d1) - threshold_mg_l * ndtr(d2)
    return np.asarray(np.maximum(out, 0.0), dtype=float)


def mtss_change(
    grid_days: np.ndarray,
    crp_mg_l: np.ndarray,
    ce_mg_l: np.ndarray,
    rate_per_mg_l_day: np.ndarray,
    crp_normal_mg_l: float,
    imax: float,
    ic50_mg_l: float,
    occasion_sigma: float = 0.0,
) -> np.ndarray:
    """Cumulative mTSS change (P, T) from the first grid time: the integral of the rate (module
    docstring) by the trapezoidal rule. ``crp_mg_l`` and ``ce_mg_l`` are (P, T) on ``grid_days`` (T,);
    ``rate_per_mg_l_day`` is k_i (P,), mTSS points per (mg/L above normal) per day. With
    ``occasion_sigma`` > 0, ``crp_mg_l`` is the patient's CRP level (median) and the excess is its
    expectation under log-normal occasion-to-occasion fluctuation (:func:`expected_lognormal_excess`)."""
    t = np.asarray(grid_days, dtype=float)
    if t.ndim != 1 or t.size < 1 or np.any(np.diff(t) <= 0):
        raise InputError("grid_days", "shape/order", "must be a strictly increasing 1-D grid")
    k = np.asarray(rate_per_mg_l_day, dtype=float)
    if np.any(k < 0):
        raise InputError("rate_per_mg_l_day", float(k.min()), "must be >= 0")
    if occasion_sigma > 0.0:
        excess = expected_lognormal_excess(crp_mg_l, occasion_sigma, crp_normal_mg_l)
    else:
        excess = inflammation_excess(crp_mg_l, crp_normal_mg_l)
    f = excess * (1.0 - damage_inhibition(ce_mg_l, imax, ic50_mg_l))
    steps = 0.5 * (f[:, 1:] + f[:, :-1]) * np.diff(t)
    cum = np.concatenate([np.zeros((f.shape[0], 1)), np.cumsum(steps, axis=1)], axis=1)
    return np.asarray(k[:, None] * cum, dtype=float)


def lognormal_omega_for_cv(cv_target: float, inflammation_integral: np.ndarray) -> float:
    """omega of k_i = k_typ exp(omega z) such that the mTSS change k_i * X_i (X_i independent of z)
    has coefficient of variation ``cv_target``: (CV^2 + 1) = (E[X^2] / E[X]^2) exp(omega^2), so
    omega = sqrt(ln((CV^2 + 1) / (CV_X^2 + 1))), 0 when X alone is already as variable."""
    x = np.asarray(inflammation_integral, dtype=float)
    if not cv_target > 0.0:
        raise InputError("cv_target", cv_target, "must be > 0")
    if x.size == 0 or not np.mean(x) > 0.0:
        raise InputError("inflammation_integral", "mean", "must have a positive mean")
    ratio = float(np.mean(x**2) / np.mean(x) ** 2)
    return float(np.sqrt(max(np.log((cv_target**2 + 1.0) / ratio), 0.0)))
