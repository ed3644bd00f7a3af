"""A patient's history as the core's inputs, converted in one place.

Every path that hands a :class:`~ifxdose.domain.patient.PatientHistory` to the PK core
(estimation, recommendation, the model spread, forward prediction) goes through here:

- :func:`covariate_series` — the history's covariates as ``[(day, value), ...]``;
- :func:`history_covariates` — the same, as the PK model sees them (CRP floor, baseline
  TNF-alpha, ADA-negative before the first result);
- :func:`covariate_segments` — any covariate series (or constant) as the core's piecewise
  constant segments;
- :func:`dose_events` — the infusions as typed :class:`~ifxdose.core.pk.dose.Dose` values
  ``(time_days, amount_mg, duration_days, route)``;
- :func:`history_observations` — the measured levels (LLOQ-censored) as core observations;
- :func:`build_problem` — all of it as the core estimation :class:`Problem`.

Time semantics (DESIGN.md): days count from midnight of the first infusion date
(:meth:`PatientHistory.day_of`); a covariate value holds from its day until the next value
and, before its first day, the first value applies; a change at a dose or sample time
applies to it.

Assumptions (labelled):
- ADA status enters as a time-varying covariate from each result's date. Before the first
  result the patient is ADA-negative (a drug-naive patient has no anti-infliximab
  antibodies), so a first positive result at week 30 does not back-date ADA to day 0.
- A positive ADA result means positive from its sample date (the onset is unknown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ifxdose.core.errors import InputError
from ifxdose.core.pk.covariates import COVARIATES, check_covariate
from ifxdose.core.pk.dose import Dose, route_code
from ifxdose.core.pk.model import PKModel
from ifxdose.domain.patient import PatientHistory

if TYPE_CHECKING:  # imported where used: the estimation package loads scipy.stats (CLI start-up)
    from ifxdose.core.estimation import Observations, Problem

#: A covariate given as one constant value or as ``[(day, value), ...]``.
CovariateInput = float | Sequence[tuple[float, float]]
#: A dose on the history's day axis: the core's typed ``Dose`` (a NamedTuple, so it still unpacks
#: as ``(day, dose_mg, duration_days, route)``).
DoseEvent = Dose

MINUTES_PER_DAY = 1440.0

#: Assumption: a CRP below 0.3 mg/L (under the detection limit of standard CRP assays) is read as
#: 0.3 mg/L, so that power-form CRP effects (the RA default, Ternant 2014) stay finite and positive.
CRP_FLOOR_MG_L = 0.3


def covariate_series(history: PatientHistory) -> dict[str, list[tuple[float, float]]]:
    """Covariates as ``[(day, value), ...]``; keys only where data exist.

    ``mtx`` is 1 while dose_mg_week > 0; ``ada`` is 1 from a positive result. Entries on
    the same day keep the last one.
    """
    day = history.day_of
    raw: dict[str, list[tuple[float, float]]] = {
        "weight_kg": [(day(w.date), w.weight_kg) for w in history.weights],
        "albumin_g_dl": [(day(x.date), x.albumin_g_dl) for x in history.labs if x.albumin_g_dl is not None],
        "crp_mg_l": [(day(x.date), x.crp_mg_l) for x in history.labs if x.crp_mg_l is not None],
        "mtx": [(day(m.date), float(m.dose_mg_week > 0)) for m in history.mtx],
        "ada": [(day(a.date), float(a.result == "positive")) for a in history.ada],
    }
    return {name: list(dict(pairs).items()) for name, pairs in raw.items() if pairs}


def history_covariates(history: PatientHistory) -> dict[str, list[tuple[float, float]]]:
    """Covariate series for the PK model, with the ADA-before-first-result assumption.

    Labs give albumin and CRP over time (CRP floored at ``CRP_FLOOR_MG_L``); the history's
    baseline TNF-alpha acts from day 0 (Assumption: baseline TNF, as in RISING/RRRR, S14/S15).
    """
    series = covariate_series(history)
    if "weight_kg" not in series:
        raise InputError("weights", [], "at least one body weight is needed (mg/kg dosing and PK covariate)")
    if "crp_mg_l" in series:
        series["crp_mg_l"] = [(d, max(v, CRP_FLOOR_MG_L)) for d, v in series["crp_mg_l"]]
    if history.baseline_tnf_pg_ml is not None:
        if history.baseline_tnf_pg_ml <= 0:
            raise InputError(
                "baseline_tnf_pg_ml",
                history.baseline_tnf_pg_ml,
                "allowed range is (0, 1000] pg/mL (a PK covariate; leave it empty if not measured)",
            )
        series["tnf_pg_ml"] = [(0.0, float(history.baseline_tnf_pg_ml))]
    ada = series.get("ada")
    if ada and ada[0][1] == 1.0 and ada[0][0] > 0:
        series["ada"] = [(0.0, 0.0), *ada]
    return series


def covariate_segments(
    covariates: Mapping[str, CovariateInput],
) -> tuple[npt.NDArray[np.float64], dict[str, npt.NDArray[np.float64]]]:
    """Segment start days (S,) (the first is -inf) and each covariate's value per segment."""
    series: dict[str, list[tuple[float, float]]] = {}
    for name, value in covariates.items():
        if name not in COVARIATES:
            raise InputError("covariate", name, f"known covariates are {', '.join(sorted(COVARIATES))}")
        if isinstance(value, (int, float, np.floating, np.integer)):
            pairs = [(-np.inf, float(value))]
        else:
            pairs = [(float(d), float(v)) for d, v in value]
            if not pairs:
                raise InputError(name, [], "give a value or at least one (day, value) pair")
            days = [d for d, _ in pairs]
            if any(b <= a for a, b in zip(days, days[1:])) or not all(np.isfinite(days)):
                raise InputError(name, days, "days of a covariate series must be finite and strictly ascending")
        check_covariate(name, np.array([v for _, v in pairs]))
        series[name] = pairs
    changes = sorted({d for pairs in series.values() for d, _ in pairs[1:]})
    starts = np.array([-np.inf, *changes], dtype=np.float64)
    values: dict[str, npt.NDArray[np.float64]] = {}
    for name, pairs in series.items():
        days_arr = np.array([d for d, _ in pairs], dtype=np.float64)
        vals = np.array([v for _, v in pairs], dtype=np.float64)
        idx = np.searchsorted(days_arr, starts, side="right") - 1
        values[name] = vals[np.maximum(idx, 0)]
    return starts, values


def infusion_duration_days(route: str, duration_min: float) -> float:
    """An infusion's duration in days; an SC injection is a bolus (0 days)."""
    return 0.0 if route == "sc" else duration_min / MINUTES_PER_DAY


#: The core's route code for ``"iv"`` or ``"sc"``: the one conversion, ``core.pk.dose.route_code``.
core_route = route_code


def dose_events(history: PatientHistory) -> list[DoseEvent]:
    """The infusions as ``[Dose(day, dose_mg, duration_days, route), ...]``; SC injections last 0 days."""
    return [
        Dose(history.day_of(i.date), i.dose_mg, infusion_duration_days(i.route, i.duration_min), i.route)
        for i in history.infusions
    ]


def history_observations(history: PatientHistory) -> Observations:
    """The measured levels: a result below the LLOQ is NaN with its LLOQ (Beal M3 in core)."""
    from ifxdose.core.estimation import Observations

    lv = history.levels
    return Observations(
        time_days=np.array([history.day_of(x.date) for x in lv], float),
        value_mg_l=np.array([np.nan if x.below_lloq else x.value_mg_l for x in lv], float),
        lloq_mg_l=np.array([x.lloq_mg_l if x.lloq_mg_l is not None else np.nan for x in lv], float),
    )


def build_problem(history: PatientHistory, model: PKModel, extra_doses: Sequence[Dose] = ()) -> Problem:
    """The core problem for this history (plus hypothetical future doses, for prediction)."""
    from ifxdose.core.estimation import Problem

    series = history_covariates(history)
    starts, values = covariate_segments({k: v for k, v in series.items() if k in model.covariates})
    doses = [*dose_events(history), *extra_doses]
    if any(d.route == "sc" for d in doses) and "sc" not in model.routes:
        raise InputError("infusions.route", "sc", f"model {model.name} supports routes {', '.join(model.routes)}")
    return Problem(model, starts, values, doses)
