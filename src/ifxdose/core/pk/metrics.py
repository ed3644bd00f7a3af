"""Exposure metrics on simulated profiles: AUC and time above a threshold.

Both work on whatever grid they are given (last axis); their accuracy is that of the
grid: trapezoidal AUC, and threshold crossings found by linear interpolation.
"""

from __future__ import annotations

import numpy as np


def auc_trapezoid(time_days: np.ndarray, conc_mg_l: np.ndarray) -> np.ndarray:
    """Area under the curve in mg*day/L over the grid (trapezoidal rule, last axis)."""
    return np.trapezoid(conc_mg_l, time_days, axis=-1)


def time_above(time_days: np.ndarray, conc_mg_l: np.ndarray, threshold_mg_l: float) -> np.ndarray:
    """Days with concentration above ``threshold_mg_l`` (crossings by linear interpolation)."""
    t = np.asarray(time_days, float)
    c = np.asarray(conc_mg_l, float) - threshold_mg_l
    c0, c1 = c[..., :-1], c[..., 1:]
    dt = np.diff(t)
    both = (c0 > 0) & (c1 > 0)
    cross = (c0 > 0) != (c1 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac_above = np.where(c0 > 0, c0 / (c0 - c1), c1 / (c1 - c0))
    return np.sum(np.where(both, dt, 0.0) + np.where(cross, frac_above * dt, 0.0), axis=-1)
