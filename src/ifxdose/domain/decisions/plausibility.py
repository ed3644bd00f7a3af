"""Plausibility of a history before any decision: clear errors (``InputError``: CLI exit 2,
API 422) for what cannot be right, named warnings for what is unusual.

Errors
- ``weights[i].weight_kg`` outside the adult range 25-250 kg (Assumption: an adult with RA;
  the 350 kg schema bound only catches typing errors).
- ``infusions[i]``: more than 20 mg/kg for the weight on that day (the label's ceiling is
  10 mg/kg: Assumption, twice that is a unit or typing error, e.g. 3,000 mg for 60 kg).
- ``infusions[i]``: mg and mg/kg contradict by more than 50 % (Assumption).
- ``infusions[j]`` on the same day as ``infusions[i]`` (a duplicate: "every 0 weeks").
- ``infusions[j]`` less than 7 days after ``infusions[i]`` (Assumption: never in RA; the
  label's induction gaps are 2 and 4 weeks).
- ``ada[i]``: negative with a titre at or above the 50 µg/L stop threshold.
- ``levels[i].value_mg_l`` above 400 mg/L (Assumption: above any infliximab peak; a value in
  ng/mL typed as mg/L).

Named warnings (code: message)
- ``weight-change``: weight changed by more than 10 % since the last infusion (Assumption:
  10 %, as the mg/kg tolerance) — re-weigh; the dose is per kg.
- ``mg-vs-mgkg``: mg and mg/kg differ by more than 10 % and mg is not a whole-vial
  rounding of mg/kg x weight.
- ``dose-above-label``: an infusion above the label ceiling (10 mg/kg) but below 20 mg/kg.
- ``infusion-spacing``: two infusions 7-13 days apart.
- ``level-units``: a trough above 50 mg/L (Assumption: RA troughs are rarely above 30 mg/L;
  a value that fits ng/mL).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from ifxdose.core.errors import InputError
from ifxdose.domain.decisions.ada import ADA_STOP_UG_L, titre_ug_l
from ifxdose.domain.dosing.label import max_dose_mg_per_kg
from ifxdose.domain.dosing.vials import VIAL_MG
from ifxdose.domain.patient import PatientHistory, as_date

ADULT_WEIGHT_KG = (25.0, 250.0)  # Assumption (module docstring)
MAX_PLAUSIBLE_MG_PER_KG = 20.0  # Assumption
CONTRADICTION = 0.5  # Assumption: mg vs mg/kg off by > 50 % is an error
TOLERANCE = 0.10  # Assumption: as the mg/kg "current" tolerance
MIN_SPACING_DAYS = 7  # Assumption
WARN_SPACING_DAYS = 14  # label's shortest induction gap
MAX_LEVEL_MG_L = 400.0  # Assumption
MAX_TROUGH_MG_L = 50.0  # Assumption


@dataclass(frozen=True)
class Warning_:
    code: str
    message: str

    def text(self) -> str:
        return f"{self.code}: {self.message}"


def check_adult_weight(field: str, weight_kg: float) -> None:
    """Raise :class:`InputError` naming ``field`` for a weight outside :data:`ADULT_WEIGHT_KG`
    (also the store's check when a weight is written)."""
    lo, hi = ADULT_WEIGHT_KG
    if not lo <= weight_kg <= hi:
        raise InputError(field, weight_kg, f"an adult weight is {lo:g}-{hi:g} kg")


def check_history(history: PatientHistory, today: date) -> list[Warning_]:
    """Raise :class:`InputError` for an impossible history; return named warnings."""
    out: list[Warning_] = []
    for i, w in enumerate(history.weights):
        check_adult_weight(f"weights[{i}].weight_kg", w.weight_kg)
    infusions = [i for i in history.infusions if as_date(i.date) <= today]
    for k, inf in enumerate(infusions):
        day = as_date(inf.date)
        if k:
            prev = as_date(infusions[k - 1].date)
            gap = (day - prev).days
            if gap == 0:
                raise InputError(
                    f"infusions[{k}]",
                    day.isoformat(),
                    f"duplicates infusions[{k - 1}] (same day): one infusion per day; remove the duplicate",
                )
            if gap < MIN_SPACING_DAYS:
                raise InputError(
                    f"infusions[{k}]",
                    day.isoformat(),
                    f"only {gap} days after infusions[{k - 1}] "
                    f"({prev}); infusions are at least {MIN_SPACING_DAYS} days apart (label induction: "
                    "weeks 0, 2, 6)",
                )
            if gap < WARN_SPACING_DAYS:
                out.append(
                    Warning_(
                        "infusion-spacing",
                        f"infusions[{k}] ({day}) only {gap} days after "
                        f"infusions[{k - 1}] ({prev}); the label spaces infusions at least 2 weeks apart",
                    )
                )
        weight = history.weight_on(day)
        if weight is None:
            continue
        given = inf.dose_mg / weight
        if given > MAX_PLAUSIBLE_MG_PER_KG:
            raise InputError(
                f"infusions[{k}].dose_mg",
                inf.dose_mg,
                f"{given:.1f} mg/kg at {weight:g} kg; the label's ceiling is 10 mg/kg: check the dose and the weight",
            )
        if given > max_dose_mg_per_kg(8.0) * (1 + TOLERANCE):
            out.append(
                Warning_(
                    "dose-above-label",
                    f"infusions[{k}] ({day}): {inf.dose_mg:g} mg = {given:.1f} mg/kg "
                    "at the recorded weight, above the label ceiling of 10 mg/kg",
                )
            )
        if inf.dose_mg_per_kg is not None:
            expected = inf.dose_mg_per_kg * weight
            rel = abs(inf.dose_mg - expected) / expected
            vials = {math.floor(expected / VIAL_MG) * VIAL_MG, math.ceil(expected / VIAL_MG - 1e-9) * VIAL_MG}
            if rel > CONTRADICTION and inf.dose_mg not in vials:
                raise InputError(
                    f"infusions[{k}].dose_mg",
                    inf.dose_mg,
                    f"contradicts dose_mg_per_kg "
                    f"{inf.dose_mg_per_kg:g} x {weight:g} kg = {expected:.0f} mg; correct one of them",
                )
            if rel > TOLERANCE and inf.dose_mg not in vials:
                out.append(
                    Warning_(
                        "mg-vs-mgkg",
                        f"infusions[{k}] ({day}): {inf.dose_mg:g} mg differs by "
                        f"{100 * rel:.0f} % from {inf.dose_mg_per_kg:g} mg/kg x {weight:g} kg = "
                        f"{expected:.0f} mg",
                    )
                )
    for i, a in enumerate(history.ada):
        ug = titre_ug_l(a)
        if a.result == "negative" and ug is not None and ug >= ADA_STOP_UG_L:
            raise InputError(
                f"ada[{i}]",
                f"negative with titre {a.titre:g} {a.titre_unit}",
                f"a titre >= {ADA_STOP_UG_L:g} µg/L is positive (NOR-DRUM B, S13): correct the result or the titre",
            )
    for i, lv in enumerate(history.levels):
        if lv.value_mg_l is not None and lv.value_mg_l > MAX_LEVEL_MG_L:
            raise InputError(
                f"levels[{i}].value_mg_l",
                lv.value_mg_l,
                f"above {MAX_LEVEL_MG_L:g} mg/L, more than "
                "any infliximab peak: was it reported in ng/mL (divide by 1000)?",
            )
    if infusions:
        w_last, w_now = history.weight_on(infusions[-1].date), history.weight_on(today)
        if w_last and w_now and abs(w_now - w_last) > TOLERANCE * w_last:
            out.append(
                Warning_(
                    "weight-change",
                    f"weight {w_last:g} kg at the last infusion and {w_now:g} kg now "
                    f"({100 * (w_now - w_last) / w_last:+.0f} %): re-weigh; the dose is per kg",
                )
            )
    return out


def check_trough_units(values_mg_l: list[tuple[int, float]]) -> list[Warning_]:
    """``level-units`` warnings for troughs (index, value) that fit ng/mL better than mg/L."""
    return [
        Warning_(
            "level-units",
            f"levels[{i}]: a trough of {v:g} mg/L is implausibly high for RA; was it "
            "reported in ng/mL (divide by 1000)?",
        )
        for i, v in values_mg_l
        if v > MAX_TROUGH_MG_L
    ]
