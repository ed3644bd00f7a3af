"""Doses, intervals and dates: the ONE induction, the steps up and down, the ONE vial
rounding (``ifxdose.domain.dosing.vials``), whole-vial options with the mg/kg they really give,
and the date of the next infusion.

- Induction: read from the label rule data (``data/label_rules.toml``: 3 mg/kg at weeks
  0, 2, 6, then the standard 8-week interval), never restated.
- Steps (Assumption, configurable per policy): up = +1.5 mg/kg (START, S5) or -2 weeks
  (St Clair 2002, S10), one step at a time: the JP label says increases and shortenings
  are made stepwise (段階的に行う); never past the label's ceiling at that interval, nor its
  shortest interval. Down = lengthen a shortened interval back towards 8 weeks first,
  then lower the dose to the floor (Assumption: 3 mg/kg q8w, the label standard).
- Dates: the first dose of a new interval is due at last infusion + new interval, or
  today when that is past.
- Prescribing is in mg/kg. Assumption: a whole-vial dose whose mg/kg differs by more than
  :data:`CURRENT_TOLERANCE` (10 %) from the prescribed mg/kg is a change, never "current".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from ifxdose.domain.dosing.label import load_rules, max_dose_mg_per_kg, min_interval_weeks
from ifxdose.domain.dosing.vials import VIAL_MG, Rounding, VialPlan, dose_mg, round_to_vials

_EPS = 1e-9
CURRENT_TOLERANCE = 0.10  # Assumption: 10 % in mg/kg
DOSE_STEP_MG_PER_KG = 1.5  # Assumption: START's step (S5)
INTERVAL_STEP_WEEKS = 2.0  # Assumption: St Clair 2002's 8 -> 6 weeks (S10)


def induction_weeks(rules: str = "jp") -> tuple[float, ...]:
    return load_rules(rules).induction_weeks


def induction_mg_per_kg(rules: str = "jp") -> float:
    return load_rules(rules).induction_mg_per_kg


def standard_interval_weeks(rules: str = "jp") -> float:
    return load_rules(rules).standard_interval_weeks


def n_induction(rules: str = "jp") -> int:
    return len(induction_weeks(rules))


def induction_gap_weeks(n_given: int, rules: str = "jp") -> float | None:
    """Weeks from the last induction infusion to the next one (None before the first)."""
    weeks = induction_weeks(rules)
    if n_given == 0:
        return None
    if n_given < len(weeks):
        return weeks[n_given] - weeks[n_given - 1]
    return standard_interval_weeks(rules)


def next_due(last: date | None, interval_weeks: float | None, today: date) -> date:
    """Last infusion + interval, or today when that is past (or nothing was given)."""
    if last is None or interval_weeks is None:
        return today
    return max(last + timedelta(days=round(interval_weeks * 7)), today)


@dataclass(frozen=True)
class Step:
    dose_mg_per_kg: float
    interval_weeks: float
    how: str  # words for the rationale; "" when nothing changed


def _fmt(x: float) -> str:
    return f"{x:g}"


def step_up(
    dose_mg_per_kg: float,
    interval_weeks: float,
    *,
    rules: str = "jp",
    prefer: Literal["dose", "interval"] = "dose",
    dose_step_mg_per_kg: float | None = DOSE_STEP_MG_PER_KG,
    interval_step_weeks: float | None = INTERVAL_STEP_WEEKS,
    max_dose_mg_per_kg_policy: float = float("inf"),
    min_interval_weeks_policy: float = 0.0,
) -> Step:
    """One step up in exposure, or ``how == ""`` if every allowed step is used up."""

    def by_dose() -> Step | None:
        if dose_step_mg_per_kg is None:
            return None
        ceiling = min(max_dose_mg_per_kg(interval_weeks, rules), max_dose_mg_per_kg_policy)
        new = min(dose_mg_per_kg + dose_step_mg_per_kg, ceiling)
        if new <= dose_mg_per_kg + _EPS:
            return None
        return Step(new, interval_weeks, f"dose {_fmt(dose_mg_per_kg)} -> {_fmt(new)} mg/kg")

    def by_interval() -> Step | None:
        if interval_step_weeks is None:
            return None
        shortest = max(min_interval_weeks(rules), min_interval_weeks_policy)
        new = max(interval_weeks - interval_step_weeks, shortest)
        if new >= interval_weeks - _EPS or dose_mg_per_kg > max_dose_mg_per_kg(new, rules) + _EPS:
            return None
        return Step(dose_mg_per_kg, new, f"interval {_fmt(interval_weeks)} -> {_fmt(new)} weeks")

    order = (by_dose, by_interval) if prefer == "dose" else (by_interval, by_dose)
    for attempt in order:
        step = attempt()
        if step is not None:
            return step
    return Step(dose_mg_per_kg, interval_weeks, "")


def step_down(
    dose_mg_per_kg: float,
    interval_weeks: float,
    *,
    dose_step_mg_per_kg: float = DOSE_STEP_MG_PER_KG,
    interval_step_weeks: float = INTERVAL_STEP_WEEKS,
    floor_mg_per_kg: float | None = None,
    rules: str = "jp",
) -> Step:
    """One step down: lengthen a shortened interval first, then lower the dose to the floor."""
    floor = induction_mg_per_kg(rules) if floor_mg_per_kg is None else floor_mg_per_kg
    standard = standard_interval_weeks(rules)
    if interval_weeks < standard - _EPS:
        new = min(interval_weeks + interval_step_weeks, standard)
        return Step(dose_mg_per_kg, new, f"interval {_fmt(interval_weeks)} -> {_fmt(new)} weeks")
    new_dose = max(dose_mg_per_kg - dose_step_mg_per_kg, floor)
    if new_dose < dose_mg_per_kg - _EPS:
        return Step(new_dose, interval_weeks, f"dose {_fmt(dose_mg_per_kg)} -> {_fmt(new_dose)} mg/kg")
    return Step(dose_mg_per_kg, interval_weeks, "")


def exposure_mg_per_kg_week(dose_mg_per_kg: float, interval_weeks: float) -> float:
    return dose_mg_per_kg / interval_weeks


Change = Literal["escalate", "keep", "reduce"]


def exposure_change(
    current: tuple[float, float], new: tuple[float, float], tolerance: float = CURRENT_TOLERANCE
) -> Change:
    """Compare (mg/kg, weeks) regimens: more mg/kg per infusion or a shorter interval is an
    escalation; within ``tolerance`` of the current mg/kg at the same interval is "keep"."""
    (d0, w0), (d1, w1) = current, new
    same_dose = abs(d1 - d0) <= tolerance * d0 + _EPS
    if same_dose and abs(w1 - w0) < _EPS:
        return "keep"
    if (d1 > d0 * (1 + tolerance) + _EPS and w1 <= w0 + _EPS) or (w1 < w0 - _EPS and d1 >= d0 * (1 - tolerance)):
        return "escalate"
    if exposure_mg_per_kg_week(d1, w1) > exposure_mg_per_kg_week(d0, w0) * (1 + tolerance):
        return "escalate"
    return "reduce" if exposure_mg_per_kg_week(d1, w1) < exposure_mg_per_kg_week(d0, w0) - _EPS else "keep"


def is_current(prescribed_mg_per_kg: float, given_mg_per_kg: float, tolerance: float = CURRENT_TOLERANCE) -> bool:
    return abs(given_mg_per_kg - prescribed_mg_per_kg) <= tolerance * prescribed_mg_per_kg + _EPS


def pct_change(old: float, new: float) -> float:
    return round(100.0 * (new - old) / old, 1)


def prepare(dose_mg_per_kg: float, weight_kg: float, rounding: Rounding = "up") -> VialPlan:
    """The ONE vial rounding for a mg/kg prescription."""
    return round_to_vials(dose_mg(dose_mg_per_kg, weight_kg), rounding=rounding)


def whole_vial_doses(
    weight_kg: float, interval_weeks: float, floor_mg_per_kg: float, rules: str = "jp", vial_mg: int = VIAL_MG
) -> list[int]:
    """Whole-vial counts from the floor (rounded up) to the label ceiling at this interval (rounded down)."""
    import math

    first = max(1, math.ceil(floor_mg_per_kg * weight_kg / vial_mg - _EPS))
    last = math.floor(max_dose_mg_per_kg(interval_weeks, rules) * weight_kg / vial_mg + _EPS)
    return list(range(first, last + 1))
