"""Unit choice and exact conversion: each quantity is given in exactly one unit.

1 mg/dL = 10 mg/L (CRP); 1 cm = 10 mm (VAS). Conversions are done in Decimal, so
0.3 cm is exactly 3 mm.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ifxdose.core.errors import InputError
from ifxdose.domain.scores._exact import dec
from ifxdose.domain.scores._fields import allowed

TEN = Decimal(10)

#: canonical unit name -> (alternative unit name, factor alt->canonical, range key, alt range key)
_PAIRS = {
    "crp_mg_l": ("crp_mg_dl", TEN, "crp_mg_l", "crp_mg_dl"),
    "ptga_mm": ("ptga_cm", TEN, "vas_mm", "vas_cm"),
    "phga_mm": ("phga_cm", TEN, "vas_mm", "vas_cm"),
    "pain_mm": ("pain_cm", TEN, "vas_mm", "vas_cm"),
}


def _choose(small: str, small_value: Any, large: str, large_value: Any) -> None:
    if small_value is not None and large_value is not None:
        raise InputError(f"{small}/{large}", (small_value, large_value), "give one unit only, not both")


def in_canonical(name: str, value: Any, alt_value: Any, *, required: bool) -> Decimal | None:
    """The quantity in its canonical unit (mg/L, mm) from whichever unit was given."""
    alt, factor, key, alt_key = _PAIRS[name]
    _choose(name, value, alt, alt_value)
    if value is not None:
        return dec(value)
    if alt_value is not None:
        return dec(alt_value) * factor
    if required:
        raise InputError(
            name.split("_")[0],
            None,
            f"required; give {name} {allowed(key)} or {alt} {allowed(alt_key)}",
        )
    return None


def in_large(name: str, value: Any, alt_value: Any, *, required: bool) -> Decimal | None:
    """The same quantity in the larger unit (mg/dL, cm)."""
    small = in_canonical(name, value, alt_value, required=required)
    return None if small is None else small / TEN
