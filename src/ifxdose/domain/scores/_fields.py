"""Allowed ranges of every input, with units in the names, and the ``@measure`` decorator.

One table (:data:`RANGES`) feeds the pydantic types used in function signatures and
input models, and the messages for inputs given without a unit.
"""

from __future__ import annotations

import functools
import typing
from typing import Annotated, Any, Callable, TypeVar

from pydantic import Field, ValidationError, validate_call

from ifxdose.core.errors import InputError

#: name -> (low, high, unit). Sources in docs/scores.md; plausibility bounds are assumptions.
RANGES: dict[str, tuple[float, float, str]] = {
    "tjc28": (0, 28, "joints"),
    "sjc28": (0, 28, "joints"),
    "tjc68": (0, 68, "joints"),
    "sjc66": (0, 66, "joints"),
    "vas_mm": (0, 100, "mm"),  # 100 mm VAS (das-score.nl)
    "vas_cm": (0, 10, "cm"),  # 0-10 cm scale (Felson 2011 ARD Table 6)
    # Assumption: ESR >= 1 mm/h keeps ln(ESR) >= 0 (CamCOPS das28.py uses 1-300 [C]);
    # 200 mm/h is the height of the Westergren column.
    "esr_mm_h": (1, 200, "mm/h"),
    # Assumption: plausibility bound 500 mg/L (CamCOPS uses 0-300 [C]).
    "crp_mg_l": (0, 500, "mg/L"),
    "crp_mg_dl": (0, 50, "mg/dL"),
    "haq_di": (0, 3, "HAQ-DI units"),  # 0-3 (ARAMIS / CLINHAQ [S])
    "haq_category": (0, 3, "points"),
    "mtss": (0, 448, "SHS units"),  # van der Heijde modified Sharp, 0-448 [P-abstract]
    "das28": (0, 10, "DAS28 units"),
    "morning_stiffness_min": (0, 1440, "min"),
    "grade": (1, 5, "grade"),  # Paulus 1990: 5-grade scale
}


def allowed(key: str) -> str:
    low, high, unit = RANGES[key]
    return f"[{low:g}, {high:g}] {unit}"


def _bounded(kind: type, key: str, **extra: Any) -> Any:
    low, high, _unit = RANGES[key]
    whole = " (whole numbers)" if kind is int else ""
    description = f"allowed range is {allowed(key)}{whole}"
    return Annotated[kind, Field(ge=low, le=high, description=description, **extra)]


Tjc28 = _bounded(int, "tjc28")
Sjc28 = _bounded(int, "sjc28")
Tjc68 = _bounded(int, "tjc68")
Sjc66 = _bounded(int, "sjc66")
VasMm = _bounded(float, "vas_mm", allow_inf_nan=False)
VasCm = _bounded(float, "vas_cm", allow_inf_nan=False)
EsrMmH = _bounded(float, "esr_mm_h", allow_inf_nan=False)
CrpMgL = _bounded(float, "crp_mg_l", allow_inf_nan=False)
CrpMgDl = _bounded(float, "crp_mg_dl", allow_inf_nan=False)
HaqDi = _bounded(float, "haq_di", allow_inf_nan=False)
HaqCategory = _bounded(int, "haq_category")
Mtss = _bounded(float, "mtss", allow_inf_nan=False)
Das28Value = _bounded(float, "das28", allow_inf_nan=False)
MorningStiffnessMin = _bounded(float, "morning_stiffness_min", allow_inf_nan=False)
Grade = _bounded(int, "grade")
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False, description="allowed range is [0, inf)")]


#: Names that carry no unit, and what to give instead.
UNITLESS: dict[str, str] = {
    "crp": f"give crp_mg_l {allowed('crp_mg_l')} or crp_mg_dl {allowed('crp_mg_dl')}",
    "esr": f"give esr_mm_h {allowed('esr_mm_h')}",
    **{
        name: f"give {name}_mm {allowed('vas_mm')} or {name}_cm {allowed('vas_cm')}"
        for name in ("ptga", "phga", "pain", "gh", "vas")
    },
    "tjc": f"give tjc28 {allowed('tjc28')} or tjc68 {allowed('tjc68')}",
    "sjc": f"give sjc28 {allowed('sjc28')} or sjc66 {allowed('sjc66')}",
}


def reject_unitless(data: dict[str, Any]) -> None:
    """Raise InputError for a field given without its unit (e.g. ``crp=7``)."""
    for name in data:
        if name in UNITLESS:
            raise InputError(name, data[name], f"a unit is required: {UNITLESS[name]}")


F = TypeVar("F", bound=Callable[..., Any])


def measure(func: F) -> F:
    """Validate a measure's keyword arguments against their annotated ranges."""
    validated = validate_call(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        reject_unitless(kwargs)
        try:
            return validated(*args, **kwargs)
        except ValidationError as exc:
            if exc.title != func.__name__:
                raise
            raise _as_input_error(func, exc) from None

    return wrapper  # type: ignore[return-value]


def _as_input_error(func: Callable[..., Any], exc: ValidationError) -> Exception:
    """The first argument error as an InputError stating the full allowed range."""
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]] or [func.__name__]
    if len(loc) > 1:
        return InputError(".".join(loc), error.get("input"), error["msg"])
    field = loc[0]
    hints = typing.get_type_hints(func, include_extras=True)
    metadata = getattr(hints.get(field), "__metadata__", ())
    descriptions = [m.description for m in metadata if getattr(m, "description", None)]
    if not descriptions:
        for arg in typing.get_args(hints.get(field)):
            descriptions += [m.description for m in getattr(arg, "__metadata__", ()) if getattr(m, "description", None)]
    allowed_text = descriptions[0] if descriptions else error["msg"]
    return InputError(field, error.get("input"), allowed_text)
