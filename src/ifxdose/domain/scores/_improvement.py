"""Percentage improvement from baseline, decided exactly.

improvement% = (baseline - follow-up) / baseline * 100 (fragla/acreular responseRA.R [C];
medicalalgorithms: "value after / value before <= 0.80" for 20% [S]). "Improved by at
least n%" is tested without division: (baseline - follow-up) * 100 >= n * baseline.
Assumption: a baseline of 0 cannot improve by a percentage, so the item counts as not
improved (no source settles this; fragla/acreular would divide by zero).
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Iterable

from ifxdose.domain.scores._exact import CONTEXT
from ifxdose.domain.scores.results import ItemChange

HUNDRED = Decimal(100)


def improved_by(baseline: Decimal | None, followup: Decimal | None, pct: Decimal) -> bool:
    """True if follow-up is at least ``pct`` % lower than a positive baseline."""
    if baseline is None or followup is None or baseline <= 0:
        return False
    return (baseline - followup) * HUNDRED >= pct * baseline


def improvement_pct(baseline: Decimal | None, followup: Decimal | None) -> Decimal | None:
    """(baseline - follow-up) / baseline * 100, or None if missing or baseline is 0."""
    if baseline is None or followup is None or baseline <= 0:
        return None
    with localcontext(CONTEXT):
        return (baseline - followup) * HUNDRED / baseline


def item_change(name: str, baseline: Decimal | None, followup: Decimal | None, levels: Iterable[int]) -> ItemChange:
    """A continuous item with its improvement % and a flag per threshold."""
    pct = improvement_pct(baseline, followup)
    return ItemChange(
        name=name,
        baseline=None if baseline is None else float(baseline),
        followup=None if followup is None else float(followup),
        improvement_pct=None if pct is None else float(pct),
        improved={str(n): improved_by(baseline, followup, Decimal(n)) for n in levels},
    )
