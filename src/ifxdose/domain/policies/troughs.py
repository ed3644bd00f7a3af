"""Which band a measured trough falls in, including results below the assay's LLOQ."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

from ifxdose.domain.patient import Level, as_date

Band = Literal["low", "target", "high", "unknown"]


def trough_band(level: Level, low_mg_l: float, high_mg_l: float = float("inf"), *, high_inclusive: bool) -> Band:
    """``low`` below ``low_mg_l``; ``high`` above ``high_mg_l`` (or at it when not
    ``high_inclusive``, i.e. when the target band excludes its upper end).

    A result below the LLOQ is ``low`` when the LLOQ is at or below ``low_mg_l`` (the true
    value is then surely below it), otherwise ``unknown``.
    """
    if level.below_lloq:
        assert level.lloq_mg_l is not None
        return "low" if level.lloq_mg_l <= low_mg_l else "unknown"
    value = level.value_mg_l
    assert value is not None
    if value < low_mg_l:
        return "low"
    if value > high_mg_l or (not high_inclusive and value == high_mg_l):
        return "high"
    return "target"


def band_array(
    level_mg_l: npt.ArrayLike, low_mg_l: float, high_mg_l: float = float("inf"), *, high_inclusive: bool
) -> npt.NDArray[np.str_]:
    """Vectorised :func:`trough_band` for measured values (trial arms): an array of
    "low" / "target" / "high" (a result below the LLOQ is given as a value below ``low_mg_l``)."""
    import numpy as np

    v = np.asarray(level_mg_l, float)
    high = (v > high_mg_l) | ((v == high_mg_l) & (not high_inclusive))
    return np.where(v < low_mg_l, "low", np.where(high, "high", "target"))


def describe(level: Level) -> str:
    when = as_date(level.date).isoformat()
    if level.below_lloq:
        return f"trough below the LLOQ ({level.lloq_mg_l:g} mg/L) on {when}"
    return f"trough {level.value_mg_l:g} mg/L on {when}"
