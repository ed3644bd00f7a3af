"""The covariates any library model may use, with their units and allowed ranges.

Names carry their unit (DESIGN.md). Binary covariates are 0/1 indicators. Ranges are
plausibility limits for input checking, not model validity ranges; a model's own data
range is in its ``population`` text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ifxdose.core.errors import InputError


@dataclass(frozen=True)
class Covariate:
    name: str
    unit: str
    low: float
    high: float
    binary: bool
    description: str
    low_inclusive: bool = True

    def allowed(self) -> str:
        if self.binary:
            return "allowed values are 0 or 1"
        left = "[" if self.low_inclusive else "("
        return f"allowed range is {left}{self.low:g}, {self.high:g}] {self.unit}".rstrip()


COVARIATES: dict[str, Covariate] = {
    c.name: c
    for c in [
        Covariate("weight_kg", "kg", 0.0, 350.0, False, "body weight", low_inclusive=False),
        Covariate("albumin_g_dl", "g/dL", 1.0, 6.5, False, "serum albumin"),
        Covariate("crp_mg_l", "mg/L", 0.0, 500.0, False, "C-reactive protein"),
        Covariate("mtx", "", 0, 1, True, "concomitant methotrexate (IBD models: any immunomodulator)"),
        Covariate("ada", "", 0, 1, True, "anti-drug (anti-infliximab) antibodies detected"),
        Covariate("sex_female", "", 0, 1, True, "female sex"),
        Covariate("uc", "", 0, 1, True, "ulcerative colitis (Ternant 2021 central TNF baseline)"),
        Covariate(
            "tnf_pg_ml",
            "pg/mL",
            0.0,
            1000.0,
            False,
            "baseline serum TNF-alpha (RISING/RRRR tiers: low < 0.55, high >= 1.65 pg/mL)",
            low_inclusive=False,
        ),
    ]
}


def check_covariate(name: str, values: np.ndarray) -> np.ndarray:
    """Validate an array of covariate values; return it as float64.

    Raises InputError naming the covariate, the first bad value and the allowed range.
    """
    if name not in COVARIATES:
        raise InputError("covariate", name, f"known covariates are {', '.join(sorted(COVARIATES))}")
    spec = COVARIATES[name]
    arr = np.asarray(values, dtype=float)
    if spec.binary:
        bad = ~np.isin(arr, (0.0, 1.0))
    else:
        low_bad = arr <= spec.low if not spec.low_inclusive else arr < spec.low
        bad = ~np.isfinite(arr) | low_bad | (arr > spec.high)
    if np.any(bad):
        raise InputError(name, float(arr[bad].flat[0]), spec.allowed())
    return arr
