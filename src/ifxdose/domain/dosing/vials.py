"""Dose in mg from mg/kg and weight, rounded to whole vials, with the wasted mg.

Remicade comes in 100 mg vials (seed S0: "100 mg/vial"); a reconstituted vial is used
once and the rest discarded (US label: "vials ... should be used immediately, not
re-entered or stored"), so the waste is vials x vial_mg - dose given.

Rounding policies:
- ``up``: give the prescribed dose, open enough whole vials (the REMICADE HCP dose
  calculator: "rounded up to nearest whole vial").
- ``nearest``: give the nearest whole number of vials when that is within
  ``tolerance_pct`` of the prescribed dose (no waste); otherwise as ``up``.
  Assumption: the default tolerance, 10 %, is a local-practice choice, not a label value.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ifxdose.core.errors import InputError, check_range

VIAL_MG = 100  # seed S0: Remicade 100 mg/vial
DEFAULT_TOLERANCE_PCT = 10.0  # Assumption: local practice, configurable
Rounding = Literal["up", "nearest"]


class VialPlan(BaseModel):
    """What to prepare for one infusion."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prescribed_mg: float
    given_mg: float
    vials: int
    vial_mg: int
    wasted_mg: float
    rounding: Rounding


def dose_mg(dose_mg_per_kg: float, weight_kg: float) -> float:
    """mg/kg x kg, rounded to 0.01 mg so that 3 x 70.1 kg is 210.3 mg, not 210.29999999999998."""
    check_range("dose_mg_per_kg", dose_mg_per_kg, 0, 20, low_inclusive=False, unit="mg/kg")
    check_range("weight_kg", weight_kg, 0, 350, low_inclusive=False, unit="kg")
    return round(dose_mg_per_kg * weight_kg, 2)


def round_to_vials(
    prescribed_mg: float,
    *,
    vial_mg: int = VIAL_MG,
    rounding: Rounding = "up",
    tolerance_pct: float = DEFAULT_TOLERANCE_PCT,
) -> VialPlan:
    """Whole vials for a dose, with the mg given and the mg wasted."""
    check_range("dose_mg", prescribed_mg, 0, 5000, low_inclusive=False, unit="mg")
    check_range("vial_mg", vial_mg, 0, 1000, low_inclusive=False, unit="mg")
    check_range("tolerance_pct", tolerance_pct, 0, 50, unit="%")
    if rounding not in ("up", "nearest"):
        raise InputError("rounding", rounding, "allowed values are 'up' or 'nearest'")
    ratio = round(prescribed_mg / vial_mg, 9)  # 200.00000001 mg is 2 vials, not 3
    if rounding == "nearest":
        nearest = max(1, round(ratio))
        if abs(nearest * vial_mg - prescribed_mg) <= prescribed_mg * tolerance_pct / 100 + 1e-9:
            return VialPlan(
                prescribed_mg=prescribed_mg,
                given_mg=float(nearest * vial_mg),
                vials=nearest,
                vial_mg=vial_mg,
                wasted_mg=0.0,
                rounding=rounding,
            )
    vials = math.ceil(ratio)
    return VialPlan(
        prescribed_mg=prescribed_mg,
        given_mg=prescribed_mg,
        vials=vials,
        vial_mg=vial_mg,
        wasted_mg=round(vials * vial_mg - prescribed_mg, 2),
        rounding=rounding,
    )
