"""Exposure metrics on simulated profiles: AUC and time above a threshold.

Both work on whatever grid they are given (last axis); their accuracy is that of the
grid: trapezoidal AUC, and threshold crossings found by linear interpolation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class InfusionMetrics:
    """Exposure after one dose, over its dosing interval (``domain.simulation.infusion_metrics``)."""

    number: int
    day: float
    week: float
    dose_mg: float
    peak_mg_l: float
    trough_day: float
    trough_mg_l: float
    auc_mg_day_l: float
    days_above_threshold: float
    threshold_mg_l: float

    def to_dict(self) -> dict[str, Any]:
        """The fields by name (JSON output)."""
        return asdict(self)


def auc_trapezoid(time_days: npt.ArrayLike, conc_mg_l: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Area under the curve in mg*day/L over the grid (trapezoidal rule, last axis)."""
    c = np.asarray(conc_mg_l, dtype=np.float64)
    t = np.asarray(time_days, dtype=np.float64)
    return np.asarray(np.trapezoid(c, t, axis=-1), dtype=np.float64)


def time_above(time_days: npt.ArrayLike, conc_mg_l: npt.ArrayLike, threshold_mg_l: float) -> npt.NDArray[np.float64]:
    """Days with concentration above ``threshold_mg_l`` (crossings by linear interpolation)."""
    t = np.asarray(time_days, float)
    c = np.asarray(conc_mg_l, float) - threshold_mg_l
    c0, c1 = c[..., :-1], c[..., 1:]
    dt = np.diff(t)
    both = (c0 > 0) & (c1 > 0)
    cross = (c0 > 0) != (c1 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac_above = np.where(c0 > 0, c0 / (c0 - c1), c1 / (c1 - c0))
    return np.asarray(np.sum(np.where(both, dt, 0.0) + np.where(cross, frac_above * dt, 0.0), axis=-1), np.float64)
