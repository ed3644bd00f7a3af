"""Paulus 20% and 50% response (used by Elliott 1994, Lancet 344:1105; seed S2).

Paulus HE, Egger MJ, Ward JR, Williams HJ. Arthritis Rheum 1990;33:477-84 [primary,
abstract]: improvement requires a response in 4 of 6 measures: >=20% improvement in
morning stiffness, Westergren ESR, joint pain/tenderness score and joint swelling score,
and, for the patient's and the physician's overall assessment of current disease
severity on a 5-grade scale, an improvement by >=2 grades or from grade 2 to grade 1.

Assumptions (labelled in docs/scores.md):
- Paulus 50%: the same rule with 50% instead of 20% for the four continuous measures;
  the two global items keep the ">=2 grades or 2 -> 1" rule. Elliott 1994 only names
  "the more stringent 50% Paulus criteria"; its methods text was not found.
- grade 1 is the least severe grade (implied by "from grade 2 to grade 1");
- a missing measure counts as not improved; a baseline of 0 cannot improve by a %.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from ifxdose.domain.scores._exact import dec
from ifxdose.domain.scores._fields import EsrMmH, Grade, MorningStiffnessMin, NonNegative, measure
from ifxdose.domain.scores._improvement import item_change
from ifxdose.domain.scores.results import ItemChange

ITEMS_NEEDED = 4
GRADES_NEEDED = 2
LEVELS = (20, 50)
_CONTINUOUS = ("morning_stiffness_min", "esr_mm_h", "joint_pain_score", "joint_swelling_score")
_GRADES = ("ptga_grade", "phga_grade")


class PaulusVisit(BaseModel):
    """One visit's Paulus measures; joint scores are the trial's articular indices."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    morning_stiffness_min: MorningStiffnessMin | None = None
    esr_mm_h: EsrMmH | None = None
    joint_pain_score: NonNegative | None = None
    joint_swelling_score: NonNegative | None = None
    ptga_grade: Grade | None = None
    phga_grade: Grade | None = None


class PaulusResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    measure: str = "Paulus response"
    paulus20: bool
    paulus50: bool
    items: list[ItemChange]
    definition: str = (
        "4 of 6: >=n% in morning stiffness, ESR, joint pain/tenderness and "
        "swelling scores; globals >=2 grades better or 2 -> 1 (Paulus 1990). "
        "Assumption: Paulus 50% uses n = 50 with the same global rule."
    )


def grade_improved(baseline: int | None, followup: int | None) -> bool:
    """Paulus 1990: better by >=2 grades, or from grade 2 to grade 1."""
    if baseline is None or followup is None:
        return False
    return baseline - followup >= GRADES_NEEDED or (baseline == 2 and followup == 1)


def _grade_item(name: str, baseline: int | None, followup: int | None) -> ItemChange:
    met = grade_improved(baseline, followup)
    return ItemChange(
        name=name, baseline=baseline, followup=followup, improvement_pct=None, improved={str(n): met for n in LEVELS}
    )


def _maybe(value: float | None) -> Decimal | None:
    return None if value is None else dec(value)


@measure
def paulus_response(*, baseline: PaulusVisit, followup: PaulusVisit) -> PaulusResponse:
    """Paulus 20% and (assumed definition) 50% response, with each item's result."""
    items = [item_change(n, _maybe(getattr(baseline, n)), _maybe(getattr(followup, n)), LEVELS) for n in _CONTINUOUS]
    items += [_grade_item(n, getattr(baseline, n), getattr(followup, n)) for n in _GRADES]

    def met(level: int) -> bool:
        return sum(item.improved[str(level)] for item in items) >= ITEMS_NEEDED

    return PaulusResponse(paulus20=met(20), paulus50=met(50), items=items)
