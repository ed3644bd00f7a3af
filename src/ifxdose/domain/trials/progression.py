"""Radiographic progression of the virtual patients (mTSS change; core.progression).

The parameters are read from ``data/progression.toml``, written by
``validation/fit_progression.py`` (:mod:`ifxdose.domain.trials.fit_progression`); nothing here is
tuned by hand. Records: ``mtss@<day>`` (mTSS change from baseline, points) for every response day.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from ifxdose.core.progression import mtss_change

#: Assumption: CRP above 10 mg/L is raised and drives damage, at or below it none (S8: "normal CRP/ESR:
#: no progression even on MTX"; 10 mg/L, a common upper limit of normal, as runner.CRP_NORMAL_MG_L).
CRP_NORMAL_MG_L = 10.0
#: Assumption: infliximab can block the damage pathway completely (S6: total score "unchanged on IFX";
#: Lipsky 2000 reports a negative mean change, -0.7, at 10 mg/kg q4w), so Imax = 1.
IMAX = 1.0


@dataclass(frozen=True)
class ProgressionModel:
    """d mTSS/dt = k_typ exp(omega z) max(CRP - crp_normal, 0) (1 - imax Ce/(ic50 + Ce)) (core.progression)."""

    rate_per_mg_l_day: float
    omega: float
    ic50_mg_l: float
    crp_normal_mg_l: float = CRP_NORMAL_MG_L
    imax: float = IMAX
    #: SD of the reading error of a measured mTSS change (points): measured = true + reading_sd * e
    reading_sd_points: float = 0.0

    def rates(self, z: np.ndarray | None, n: int) -> np.ndarray:
        """k_i (P,): the typical rate times exp(omega z) (z None: every patient typical)."""
        zz = np.zeros(n) if z is None else np.asarray(z, dtype=float)
        return np.asarray(self.rate_per_mg_l_day * np.exp(self.omega * zz), dtype=float)

    def change(
        self,
        grid_days: np.ndarray,
        crp_mg_l: np.ndarray,
        ce_mg_l: np.ndarray,
        z: np.ndarray | None,
        occasion_sigma: float = 0.0,
    ) -> np.ndarray:
        """Cumulative mTSS change (P, T) on the grid; ``crp_mg_l`` the CRP level course, fluctuating
        log-normally with ``occasion_sigma`` (core.progression.mtss_change)."""
        return mtss_change(
            grid_days,
            crp_mg_l,
            ce_mg_l,
            self.rates(z, crp_mg_l.shape[0]),
            self.crp_normal_mg_l,
            self.imax,
            self.ic50_mg_l,
            occasion_sigma,
        )


def progression_data() -> dict[str, Any] | None:
    """The calibrated document (``data/progression.toml``), None when absent."""
    path = resources.files("ifxdose.domain.trials") / "data" / "progression.toml"
    if not path.is_file():
        return None
    return tomllib.loads(path.read_text(encoding="utf-8"))


def progression_from(data: dict[str, Any] | None) -> ProgressionModel | None:
    if not data:
        return None
    v = data["values"]
    return ProgressionModel(
        float(v["rate_per_mg_l_day"]),
        float(v["omega"]),
        float(v["ic50_mg_l"]),
        float(v.get("crp_normal_mg_l", CRP_NORMAL_MG_L)),
        float(v.get("imax", IMAX)),
        float(v.get("reading_sd_points", 0.0)),
    )


def load_progression() -> ProgressionModel | None:
    return progression_from(progression_data())


def progression_records(
    model: ProgressionModel,
    days: tuple[float, ...],
    grid_days: np.ndarray,
    crp_mg_l: np.ndarray,
    ce_eff_mg_l: np.ndarray,
    z: np.ndarray | None,
    reading_z: np.ndarray | None = None,
    occasion_sigma: float = 0.0,
) -> dict[str, np.ndarray]:
    """Per day: ``mtss_true@<day>`` (P,), the modelled change; ``mtss@<day>``, the change as a reading
    reports it (true + reading_sd_points x reading_z; Assumption: normal reading error, independent of
    the true change, one draw per patient); ``mtss_neg@<day>``, its negative (for "higher X, less
    progression" association tests)."""
    cum = model.change(grid_days, crp_mg_l, ce_eff_mg_l, z, occasion_sigma)
    err = 0.0 if reading_z is None else model.reading_sd_points * np.asarray(reading_z, dtype=float)
    rec: dict[str, np.ndarray] = {}
    for day in days:
        k = int(np.searchsorted(grid_days, day))
        rec[f"mtss_true@{day:g}"] = cum[:, k]
        rec[f"mtss@{day:g}"] = cum[:, k] + err
        rec[f"mtss_neg@{day:g}"] = -rec[f"mtss@{day:g}"]
    return rec
