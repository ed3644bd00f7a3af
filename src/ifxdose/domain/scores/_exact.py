"""Exact decimal arithmetic for every category and threshold decision.

Scores are reported as floats (``value``), but each decision (category, response,
remission item) is taken on a :class:`decimal.Decimal`: either the exact sum of the
inputs as typed (SDAI, CDAI, Boolean, ACR, Paulus, mTSS) or the DAS28 rounded half-up
to its reporting precision of 2 decimals. Binary floating-point noise such as
``3.64 - 2.44 == 1.2000000000000002`` therefore cannot move a patient across a cut-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Sequence

#: 34 significant digits (IEEE 754 decimal128); ``sqrt`` and ``ln`` are correctly
#: rounded in this context, so a DAS28 tie at 2 decimals is only ever a real tie.
CONTEXT = Context(prec=34)


def dec(number: float | int | Decimal) -> Decimal:
    """The number as typed: ints exactly, floats by their shortest repr (0.1 -> 0.1)."""
    if isinstance(number, Decimal):
        return number
    if isinstance(number, int):
        return Decimal(number)
    return Decimal(repr(float(number)))


def round_half_up(number: Decimal, places: int) -> Decimal:
    """Round to ``places`` decimals, halves away from zero (2.595 -> 2.60)."""
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def plain(number: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 20, 2.1, 0.35."""
    text = format(number.normalize(), "f")
    return "0" if text == "-0" else text


@dataclass(frozen=True)
class Band:
    """A category whose upper edge is ``upper`` (None: unbounded), closed or open."""

    label: str
    upper: Decimal | None = None
    inclusive: bool = True

    def holds(self, value: Decimal) -> bool:
        if self.upper is None:
            return True
        return value < self.upper or (self.inclusive and value == self.upper)


@dataclass(frozen=True)
class Cutoffs:
    """A named, cited set of bands, lowest first; the last band is unbounded."""

    name: str
    source: str
    bands: Sequence[Band]

    def classify(self, value: Decimal) -> str:
        return next(band.label for band in self.bands if band.holds(value))
