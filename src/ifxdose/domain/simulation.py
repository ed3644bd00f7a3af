"""Simulate a regimen for one patient or a population, in the clinic's terms.

This is the one boundary where clinic inputs (regimen text, covariates as values or as
``[(day, value), ...]`` series) become core arrays. Covariate series are piecewise
constant (DESIGN.md): a value holds from its day until the next value; before its first
day the first value applies. A covariate change at a dose or sample time applies to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ifxdose.core.errors import InputError
from ifxdose.core.pk import DoseTable, PKModel, simulate_concentrations
from ifxdose.core.pk.covariates import check_covariate
from ifxdose.core.pk.dose import Dose, route_code
from ifxdose.core.pk.metrics import InfusionMetrics, auc_trapezoid, time_above
from ifxdose.core.pk.model import UNITS
from ifxdose.domain.dosing.regimen import Regimen, parse_regimen
from ifxdose.domain.modelfiles import load_library_model
from ifxdose.domain.timeline import CovariateInput, covariate_segments


def as_model(model: str | PKModel) -> PKModel:
    return load_library_model(model) if isinstance(model, str) else model


def as_regimen(regimen: str | Regimen) -> Regimen:
    return parse_regimen(regimen) if isinstance(regimen, str) else regimen


@dataclass(frozen=True)
class SimulationResult:
    """One patient's simulated profile, with everything needed to show or audit it."""

    model: str
    model_version: str
    regimen: str
    time_days: np.ndarray
    concentration_mg_l: np.ndarray
    doses: list[Dose]
    parameters: list[dict[str, Any]]
    covariates: dict[str, object]
    assumed_covariates: dict[str, float] = field(default_factory=dict)
    unused_covariates: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "model_version": self.model_version,
            "regimen": self.regimen,
            "covariates": self.covariates,
            "assumed_covariates": self.assumed_covariates,
            "unused_covariates": list(self.unused_covariates),
            "parameters": self.parameters,
            "doses": [d._asdict() for d in self.doses],
            "time_days": self.time_days.tolist(),
            "concentration_mg_l": self.concentration_mg_l.tolist(),
        }


def _dose_rows(regimen: Regimen, horizon_days: float, weight_at: Callable[[float], float]) -> list[Dose]:
    """The regimen's doses within the horizon, in mg (mg/kg times the weight in force)."""
    return [
        Dose(d.time_days, d.amount_mg(weight_at(d.time_days)), d.duration_days, d.route)
        for d in regimen.doses(horizon_days)
    ]


def _weight_lookup(starts: np.ndarray, values: dict[str, np.ndarray]) -> Callable[[float], float]:
    """The weight in force on a day (for mg/kg doses)."""
    if "weight_kg" not in values:
        raise InputError("weight_kg", None, "body weight is required, allowed range is (0, 350] kg")
    weights = values["weight_kg"]
    return lambda day: float(weights[np.searchsorted(starts, day, side="right") - 1])


def _check_times(times_days: np.ndarray) -> np.ndarray:
    t = np.asarray(times_days, dtype=float)
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)):
        raise InputError("times", "empty or not finite", "give one or more finite times in days")
    if np.any(np.diff(t) < 0):
        k = int(np.nonzero(np.diff(t) < 0)[0][0])
        raise InputError("times", f"{t[k]:g} then {t[k + 1]:g}", "times must be in ascending order")
    return t


def default_times(regimen: Regimen, step_days: float = 1.0, horizon_days: float | None = None) -> np.ndarray:
    """A grid from day 0 to the horizon (default: 8 weeks after the last dose)."""
    if horizon_days is None:
        last = regimen.last_time_days()
        horizon_days = (last if last is not None else 378.0) + 56.0
    return np.arange(0.0, horizon_days + 1e-9, step_days)


def simulate(
    model: str | PKModel,
    regimen: str | Regimen,
    covariates: Mapping[str, CovariateInput],
    times_days: Sequence[float] | np.ndarray | None = None,
    eta: Sequence[float] | np.ndarray | None = None,
    engine: str = "auto",
) -> SimulationResult:
    """Concentrations for one patient; ``weight_kg`` is required (mg/kg doses, covariate).

    ``eta`` are the patient's random effects in the order of ``model.eta_parameters``
    (None: the typical patient). mg/kg doses use the weight in force at each dose.
    """
    m, reg = as_model(model), as_regimen(regimen)
    if "weight_kg" not in covariates:
        raise InputError("weight_kg", None, "body weight is required, allowed range is (0, 350] kg")
    times = _check_times(default_times(reg) if times_days is None else np.asarray(times_days))
    starts, values = covariate_segments(covariates)
    assumed = {c: m.default_covariate(c) for c in m.covariates if c not in values}
    unused = tuple(c for c in values if c not in m.covariates)
    dose_rows = _dose_rows(reg, float(times[-1]), _weight_lookup(starts, values))
    if not dose_rows:
        raise InputError("regimen", str(reg), "no dose falls within the simulated times")
    doses = DoseTable.from_lists([[d.coded() for d in dose_rows]])
    if any(d.route not in m.routes for d in dose_rows):
        raise InputError("regimen", str(reg), f"model {m.name} supports routes {', '.join(m.routes)}")
    cov = {k: v[None, :] for k, v in values.items()}
    eta_arr = None if eta is None else np.asarray(eta, float)[None, None, :]
    params = m.individual_parameters(cov, eta_arr)
    params = {k: np.broadcast_to(v, (1, len(starts))).astype(float) for k, v in params.items()}
    conc = simulate_concentrations(m, params, starts[None, :], doses, times[None, :], engine=engine)[0]
    param_rows = [
        {
            "from_day": None if not np.isfinite(s) else float(s),
            **{k: {"value": float(v[0, i]), "unit": UNITS.get(k, m.parameters[k].unit)} for k, v in params.items()},
        }
        for i, s in enumerate(starts)
    ]
    return SimulationResult(
        model=m.name,
        model_version=m.version,
        regimen=str(reg),
        time_days=times,
        concentration_mg_l=conc,
        doses=dose_rows,
        parameters=param_rows,
        covariates={k: (v if isinstance(v, (int, float)) else [list(p) for p in v]) for k, v in covariates.items()},
        assumed_covariates=assumed,
        unused_covariates=unused,
    )


def infusion_metrics(
    model: str | PKModel,
    regimen: str | Regimen,
    covariates: Mapping[str, CovariateInput],
    eta: Sequence[float] | np.ndarray | None = None,
    horizon_days: float | None = None,
    threshold_mg_l: float = 1.0,
) -> list[InfusionMetrics]:
    """Per dose: day, mg, peak (end of infusion; grid maximum for SC), trough, AUC over the
    dosing interval and days above ``threshold_mg_l`` in it (default 1 mg/L, seed S10).

    The trough of a dose is the pre-dose level at the next dose; for the last dose it is
    taken one previous interval later (assumption: the schedule continues). AUC and time
    above use a 0.1-day grid plus the exact dose, end-of-infusion and trough times
    (trapezoidal rule; crossings by linear interpolation).
    """
    m, reg = as_model(model), as_regimen(regimen)
    horizon = default_times(reg, 1.0, horizon_days)[-1]
    starts_cov, values = covariate_segments({"weight_kg": covariates["weight_kg"]} if "weight_kg" in covariates else {})
    doses = _dose_rows(reg, float(horizon), _weight_lookup(starts_cov, values))
    starts = [d.time_days for d in doses]
    intervals = np.diff(starts) if len(starts) > 1 else np.array([56.0])
    trough_t = [*starts[1:], starts[-1] + float(intervals[-1])]
    peak_t = [d.time_days + d.duration_days for d in doses]
    just_after = [t + 1e-7 for t in starts]  # a bolus lifts the level right after its time
    times = np.unique(np.concatenate([trough_t, peak_t, just_after, np.arange(0.0, trough_t[-1] + 1e-9, 0.1)]))
    res = simulate(m, reg, covariates, times, eta)
    c_at = dict(zip(res.time_days.tolist(), res.concentration_mg_l.tolist()))
    out = []
    for k, d in enumerate(doses):
        if d.route == "sc":
            window = (res.time_days >= d.time_days) & (res.time_days <= trough_t[k])
            peak = float(res.concentration_mg_l[window].max())
        else:
            peak = c_at[peak_t[k]]
        inside = (res.time_days > d.time_days) & (res.time_days <= trough_t[k])
        t_in, c_in = res.time_days[inside], res.concentration_mg_l[inside]
        out.append(
            InfusionMetrics(
                number=k + 1,
                day=d.time_days,
                week=d.time_days / 7.0,
                dose_mg=d.amount_mg,
                peak_mg_l=peak,
                trough_day=trough_t[k],
                trough_mg_l=c_at[trough_t[k]],
                auc_mg_day_l=float(auc_trapezoid(t_in, c_in)),
                days_above_threshold=float(time_above(t_in, c_in, threshold_mg_l)),
                threshold_mg_l=threshold_mg_l,
            )
        )
    return out


@dataclass(frozen=True)
class PopulationResult:
    time_days: np.ndarray
    concentration_mg_l: np.ndarray  # (P, T)
    parameters: dict[str, np.ndarray]  # name -> (P,) (first covariate segment)
    eta: np.ndarray  # (P, n_eta)


def simulate_population(
    model: str | PKModel,
    regimen: str | Regimen,
    covariates: Mapping[str, np.ndarray | float],
    times_days: Sequence[float] | np.ndarray,
    n_patients: int | None = None,
    seed: int | None = None,
    eta: np.ndarray | None = None,
    engine: str = "auto",
    chunk_size: int = 8192,
) -> PopulationResult:
    """Simulate P virtual patients: static covariates as (P,) arrays or scalars.

    Random effects are drawn from the model's omega with ``seed`` unless ``eta`` (P, n_eta)
    is given (zeros give typical patients). mg/kg doses use each patient's weight.
    """
    m, reg = as_model(model), as_regimen(regimen)
    if "weight_kg" not in covariates:
        raise InputError("weight_kg", None, "body weight is required, allowed range is (0, 350] kg")
    sizes = {np.size(v) for v in covariates.values() if np.ndim(v) > 0}
    P = n_patients or (sizes.pop() if len(sizes) == 1 else (len(eta) if eta is not None else 1))
    cov = {k: np.broadcast_to(np.asarray(v, float), (P,)) for k, v in covariates.items()}
    for k, v in cov.items():
        check_covariate(k, v)
    times = _check_times(np.asarray(times_days))
    if eta is None:
        eta = m.sample_eta(P, np.random.default_rng(seed))
    eta = np.asarray(eta, float).reshape(P, len(m.eta_parameters))
    planned = reg.doses(float(times[-1]))
    w = cov["weight_kg"][:, None]
    amounts = np.array([[d.dose] for d in planned]).T * np.where(
        np.array([d.dose_unit == "mg/kg" for d in planned]), w, 1.0
    )
    doses = DoseTable.same_for_all(
        P,
        [d.time_days for d in planned],
        amounts,
        [d.duration_days for d in planned],
        [route_code(d.route) for d in planned],
    )
    params = m.individual_parameters({k: v[:, None] for k, v in cov.items()}, eta[:, None, :])
    params = {k: np.broadcast_to(v, (P, 1)) for k, v in params.items()}
    seg = np.full((P, 1), -np.inf)
    conc = simulate_concentrations(m, params, seg, doses, times, engine=engine, chunk_size=chunk_size)
    return PopulationResult(times, conc, {k: v[:, 0].copy() for k, v in params.items()}, eta)
