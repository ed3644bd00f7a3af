"""UCUM-aware unit conversion for imported quantities.

A FHIR ``Quantity`` carries a UCUM ``code`` (and a human ``unit``). The history stores one
unit per field (``crp_mg_l``, ``albumin_g_dl``, ...), so every imported value is converted
to that unit here, and a unit that cannot be converted is an error naming the resource.

- Mass concentrations (``<mass>/<volume>``, mass g|mg|ug|ng|pg, volume L|dL|mL) convert
  by powers of ten, computed exactly as integers: mg/L = ug/mL (factor 1),
  mg/dL -> mg/L x10, g/L -> g/dL /10, ng/mL -> mg/L /1000.
- Mass: kg, g, [lb_av] (1 [lb_av] = 0.45359237 kg exactly, the international avoirdupois
  pound as UCUM defines it), [oz_av] = 1/16 [lb_av].
- Time: min, h, s; rate: mm/h only (ESR).
- Spellings: "µ"/"μ" and "mcg" are read as UCUM "u" (µg/mL -> ug/mL). Nothing else is
  guessed: "lb" or "mmol/L" are errors.
- ADA titres keep their own unit (the history stores ``titre`` + ``titre_unit``); the
  unit must be one of :data:`ADA_UNITS`.
"""

from __future__ import annotations

from ifxdose.core.errors import InputError

_MASS_EXP = {"g": 0, "mg": -3, "ug": -6, "ng": -9, "pg": -12}
_VOLUME_EXP = {"L": 0, "dL": -1, "mL": -3}
_SCALED = {
    "kg": {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "[oz_av]": 0.45359237 / 16},
    "mg": {"mg": 1.0, "g": 1000.0},
    "min": {"min": 1.0, "h": 60.0, "s": 1.0 / 60.0},
    "mm/h": {"mm/h": 1.0},
    "mm": {"mm": 1.0, "cm": 10.0},
    "{score}": {"{score}": 1.0, "1": 1.0},
}

#: ADA titre units accepted on import and export: UCUM code -> units written as such.
ADA_UNITS: dict[str, str] = {
    "ug/L": "ug/L",
    "ng/mL": "ng/mL",
    "ug/mL": "ug/mL",
    "mg/L": "mg/L",
    "[arb'U]/mL": "[arb'U]/mL",
    "AU/mL": "[arb'U]/mL",
    "U/mL": "U/mL",
    "[iU]/mL": "[iU]/mL",
}


def normalise(unit: str) -> str:
    """UCUM spelling of a unit: µ/μ/mcg -> u; surrounding spaces dropped."""
    text = unit.strip().replace("µ", "u").replace("μ", "u")
    return text.replace("mcg", "ug")


def _mass_concentration_exp(unit: str) -> int | None:
    mass, sep, volume = unit.partition("/")
    if not sep or mass not in _MASS_EXP or volume not in _VOLUME_EXP:
        return None
    return _MASS_EXP[mass] - _VOLUME_EXP[volume]


def _scale(value: float, power: int) -> float:
    """value x 10**power, exact to one rounding (divide by an exact integer)."""
    return value * 10**power if power >= 0 else value / 10**-power


def factor_or_none(unit: str, target: str) -> tuple[str, float | int] | None:
    """How to go from ``unit`` to ``target``: ("pow10", n) or ("factor", f); None if impossible."""
    source = normalise(unit)
    src_exp, dst_exp = _mass_concentration_exp(source), _mass_concentration_exp(target)
    if src_exp is not None and dst_exp is not None:
        return ("pow10", src_exp - dst_exp)
    factors = _SCALED.get(target, {})
    return ("factor", factors[source]) if source in factors else None


def allowed_units(target: str) -> list[str]:
    if _mass_concentration_exp(target) is not None:
        return [f"{m}/{v}" for m in _MASS_EXP for v in _VOLUME_EXP]
    return list(_SCALED.get(target, {target: 1.0}))


def convert(value: float, unit: str | None, target: str, *, where: str, what: str) -> float:
    """``value`` in ``unit`` expressed in ``target``; InputError naming ``where`` otherwise.

    ``where`` names the resource and path (``Observation/abc valueQuantity``), ``what`` the
    code (``LOINC 1988-5``).
    """
    if unit is None or not unit.strip():
        raise InputError(f"{where}.code", unit, f"{what} needs a UCUM unit convertible to {target}")
    how = factor_or_none(unit, target)
    if how is None:
        raise InputError(
            f"{where}.code",
            unit,
            f"unit for {what} is not convertible to {target}; allowed are " + ", ".join(allowed_units(target)),
        )
    kind, amount = how
    if kind == "pow10":
        return _scale(float(value), int(amount))
    return float(value) if amount == 1.0 else float(value) * amount


def ada_unit_code(unit: str, *, where: str) -> str:
    """The UCUM code of an ADA titre unit (``AU/mL`` -> ``[arb'U]/mL``); InputError otherwise."""
    code = ADA_UNITS.get(normalise(unit))
    if code is None:
        raise InputError(where, unit, "anti-drug antibody titre units are " + ", ".join(ADA_UNITS))
    return code
