"""Time to anti-drug antibodies (ADA): a piecewise-constant hazard driven by concentration.

Hazard per day for patient i at time t (Assumption: the form; the values are calibrated,
see docs/trials.md):

    h_i(t) = h0 * exp(-decline * t) * exp(beta_low * 1[C_i(t) < threshold]) * multiplier_i

with t in days from the first infusion (``decline`` lets the baseline hazard fall with time
on drug, as antibodies mostly appear in the first months), and where ``multiplier_i`` carries covariates (e.g. the MTX hazard ratio for patients on MTX).
On a time grid the hazard is held constant over [t_k, t_{k+1}) at its value at t_k, so the
cumulative hazard is piecewise linear and the onset time is found exactly by inverse CDF:
the first t with H_i(t) = E_i, E_i ~ Exp(1) (E_i = -log U_i).
"""

from __future__ import annotations

import numpy as np

from ifxdose.core.errors import InputError


def hazard_per_day(
    times_days: np.ndarray,
    conc_mg_l: np.ndarray,
    h0_per_day: float,
    beta_low: float,
    threshold_mg_l: float,
    multiplier: np.ndarray | float = 1.0,
    decline_per_day: float = 0.0,
) -> np.ndarray:
    """h (P, T) in 1/day for concentrations (P, T) at ``times_days`` (T,)."""
    low = np.asarray(conc_mg_l) < threshold_mg_l
    m = np.asarray(multiplier, float)
    base = h0_per_day * np.exp(-decline_per_day * np.asarray(times_days, float))
    return np.asarray(base * np.where(low, np.exp(beta_low), 1.0) * (m[:, None] if m.ndim == 1 else m), dtype=float)


def cumulative_hazard(
    times_days: np.ndarray,
    conc_mg_l: np.ndarray,
    h0_per_day: float,
    beta_low: float,
    threshold_mg_l: float,
    multiplier: np.ndarray | float = 1.0,
    decline_per_day: float = 0.0,
) -> np.ndarray:
    """H (P, T): H[:, 0] = 0, H[:, k] = sum_{j<k} h(t_j) (t_{j+1} - t_j)."""
    t = np.asarray(times_days, float)
    if t.ndim != 1 or np.any(np.diff(t) <= 0):
        raise InputError("times_days", "not strictly ascending", "give an ascending 1-D grid")
    h = hazard_per_day(t, conc_mg_l, h0_per_day, beta_low, threshold_mg_l, multiplier, decline_per_day)
    H = np.zeros(h.shape)
    np.cumsum(h[:, :-1] * np.diff(t), axis=1, out=H[:, 1:])
    return H


def onset_days(times_days: np.ndarray, cum_hazard: np.ndarray, exp_draws: np.ndarray) -> np.ndarray:
    """Onset time (P,) where H reaches ``exp_draws`` (linear within a grid step); inf if never."""
    t = np.asarray(times_days, float)
    e = np.asarray(exp_draws, float)
    reached = cum_hazard >= e[:, None]
    k = np.argmax(reached, axis=1)
    hit = reached[np.arange(len(e)), k] & (k > 0)
    out = np.full(len(e), np.inf)
    i = np.nonzero(hit)[0]
    k = k[i]
    H0, H1 = cum_hazard[i, k - 1], cum_hazard[i, k]
    frac = np.where(H1 > H0, (e[i] - H0) / np.where(H1 > H0, H1 - H0, 1.0), 0.0)
    out[i] = t[k - 1] + frac * (t[k] - t[k - 1])
    out[(e <= 0)] = t[0]
    return out


def incidence(cum_hazard: np.ndarray) -> np.ndarray:
    """Expected share with ADA by each grid time (T,): mean over patients of 1 - exp(-H)."""
    return np.asarray(np.mean(-np.expm1(-cum_hazard), axis=0), dtype=float)


def window_weights(
    times_days: np.ndarray, start_day: float, end_day: float, decline_per_day: float = 0.0
) -> np.ndarray:
    """w (T,): exp(-decline * t_k) times the length of [t_k, t_{k+1}) within [start, end)."""
    t = np.asarray(times_days, float)
    left = np.clip(t[:-1], start_day, end_day)
    right = np.clip(t[1:], start_day, end_day)
    w = np.zeros(t.size)
    w[:-1] = np.exp(-decline_per_day * t[:-1]) * (right - left)
    return w


def window_cumulative_hazard(
    times_days: np.ndarray,
    below: np.ndarray,
    start_day: float,
    end_day: float,
    h0_per_day: float,
    beta_low: float,
    multiplier: np.ndarray | float = 1.0,
    decline_per_day: float = 0.0,
) -> np.ndarray:
    """H(end) - H(start) (P,) from the indicator ``below`` = 1[C < threshold] (P, T).

    The same hazard as :func:`cumulative_hazard`, as one matrix-vector product: fast when
    only h0, beta_low, the multiplier or the decline change (calibration).
    """
    w = window_weights(times_days, start_day, end_day, decline_per_day)
    return np.asarray(
        h0_per_day * np.asarray(multiplier, float) * (w.sum() + np.expm1(beta_low) * (below @ w)), dtype=float
    )


def reported_positive(
    onset_days: np.ndarray, sample_days: np.ndarray, conc_at_samples_mg_l: np.ndarray, drug_tolerance_mg_l: float
) -> np.ndarray:
    """What an ADA assay reports (P,): positive if, at some sample on or after the true onset, the
    drug level is below the assay's drug tolerance (``inf`` for a drug-tolerant assay).

    ``sample_days`` (P, S) or (S,), NaN for no sample; ``conc_at_samples_mg_l`` (P, S). A
    drug-sensitive assay (antibodies bound by drug escape it) misses ADA while drug is present:
    Afonso 2016 (Ther Adv Gastroenterol, doi:10.1177/1756283X16658223) showed ADA detection falls with the infliximab level.
    """
    onset = np.asarray(onset_days, float)[:, None]
    s = np.broadcast_to(np.asarray(sample_days, float), np.shape(conc_at_samples_mg_l))
    seen = (s >= onset) & np.isfinite(s) & (np.asarray(conc_at_samples_mg_l, float) < drug_tolerance_mg_l)
    return np.asarray(seen.any(axis=1), dtype=bool)
