"""Stepping exposure up or down within the label: shared by the trough-guided policies.

Up: raise the dose by ``dose_step_mg_per_kg`` or shorten the interval by
``interval_step_weeks`` (which first is the policy's choice), never past the policy's own
ceiling nor the label's (``label.max_dose_mg_per_kg``: JP 10 mg/kg at 8 weeks, 6 mg/kg when
shortened; shortest interval 4 weeks). Down: lengthen a shortened interval back towards
8 weeks first, then lower the dose towards the floor (Assumption: 3 mg/kg q8w, the label
standard, is the lowest a policy proposes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ifxdose.domain.label import max_dose_mg_per_kg, min_interval_weeks
from ifxdose.domain.policies.base import INDUCTION_MG_PER_KG, LABEL_INTERVAL_WEEKS

_EPS = 1e-9


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
    rules: str,
    prefer: Literal["dose", "interval"],
    dose_step_mg_per_kg: float | None,
    interval_step_weeks: float | None,
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
    dose_step_mg_per_kg: float,
    interval_step_weeks: float,
    floor_mg_per_kg: float = INDUCTION_MG_PER_KG,
) -> Step:
    """One step down: lengthen a shortened interval first, then lower the dose to the floor."""
    if interval_weeks < LABEL_INTERVAL_WEEKS - _EPS:
        new = min(interval_weeks + interval_step_weeks, LABEL_INTERVAL_WEEKS)
        return Step(dose_mg_per_kg, new, f"interval {_fmt(interval_weeks)} -> {_fmt(new)} weeks")
    new_dose = max(dose_mg_per_kg - dose_step_mg_per_kg, floor_mg_per_kg)
    if new_dose < dose_mg_per_kg - _EPS:
        return Step(new_dose, interval_weeks, f"dose {_fmt(dose_mg_per_kg)} -> {_fmt(new_dose)} mg/kg")
    return Step(dose_mg_per_kg, interval_weeks, "")
