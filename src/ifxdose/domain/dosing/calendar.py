"""Calendars: infusion dates with their allowed windows, and the ASPIRE MTX titration.

The window around each planned infusion is local practice, not label text.
Assumption: +/-3 days around the induction infusions at weeks 2 and 6 and +/-7 days
around maintenance infusions (configurable); the first infusion is the reference and has
no window. A window never lets two infusions come closer than the label's shortest
interval: that is checked on the regimen by :func:`ifxdose.domain.dosing.label.check_regimen`.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict

from ifxdose.core.errors import check_range
from ifxdose.domain.dosing.label import load_rules
from ifxdose.domain.dosing.regimen import Regimen

#: ``date`` for annotations inside models that have a field called ``date``.
_Date = date

INDUCTION_WINDOW_DAYS = 3  # Assumption: local practice
MAINTENANCE_WINDOW_DAYS = 7  # Assumption: local practice
INDUCTION_INFUSIONS = len(load_rules("jp").induction_weeks)  # label: weeks 0, 2, 6 (seed S0), from the rule data

#: ASPIRE MTX titration, St Clair 2004 Arthritis Rheum 50:3432 (seed S7):
#: 7.5 mg/week, 15 mg/week at week 4, 20 mg/week at week 8.
ASPIRE_MTX_STEPS: tuple[tuple[int, float], ...] = ((0, 7.5), (4, 15.0), (8, 20.0))


class CalendarEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: int
    date: date
    earliest: _Date
    latest: _Date
    week: float
    dose: float
    dose_unit: str
    route: str


class MtxStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: date
    week: int
    dose_mg_week: float


def infusion_calendar(
    regimen: Regimen,
    start: date,
    *,
    horizon_days: float | None = None,
    induction_window_days: int = INDUCTION_WINDOW_DAYS,
    maintenance_window_days: int = MAINTENANCE_WINDOW_DAYS,
) -> list[CalendarEntry]:
    """One row per dose: planned date (start + day, rounded to whole days) and its window."""
    check_range("induction_window_days", induction_window_days, 0, 14, unit="days")
    check_range("maintenance_window_days", maintenance_window_days, 0, 28, unit="days")
    rows = []
    for number, dose in enumerate(regimen.doses(horizon_days), start=1):
        planned = start + timedelta(days=round(dose.time_days))
        half = 0 if number == 1 else induction_window_days if number <= INDUCTION_INFUSIONS else maintenance_window_days
        rows.append(
            CalendarEntry(
                number=number,
                date=planned,
                earliest=planned - timedelta(days=half),
                latest=planned + timedelta(days=half),
                week=dose.time_days / 7.0,
                dose=dose.dose,
                dose_unit=dose.dose_unit,
                route=dose.route,
            )
        )
    return rows


def mtx_titration(start: date, steps: tuple[tuple[int, float], ...] = ASPIRE_MTX_STEPS) -> list[MtxStep]:
    """MTX dose changes as dated steps (default: ASPIRE, seed S7)."""
    return [MtxStep(date=start + timedelta(weeks=week), week=week, dose_mg_week=dose) for week, dose in steps]
