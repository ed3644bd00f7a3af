"""HAQ-DI (Health Assessment Questionnaire disability index) from category scores.

Rules [secondary: ARAMIS text excerpt; CLINHAQ instructions; LOINC 75874-8 definition]:
- 8 categories, each scored 0-3 as its worst item;
- if aids/devices or help from another person are used for a category, a category
  score of 0 or 1 is raised to 2; a 2 or 3 stays;
- HAQ-DI = sum of category scores / number of categories answered, which must be at
  least 6 (LOINC 75874-8 term definition [secondary]).
Assumption: aids recorded for an unanswered category do not make it answered.
Displayed to 3 decimals (sum/8 is exact at 3 decimals); value is full precision.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Iterable

from ifxdose.core.errors import InputError
from ifxdose.domain.scores._exact import CONTEXT, plain, round_half_up
from ifxdose.domain.scores._fields import HaqCategory, measure
from ifxdose.domain.scores.results import Score

CATEGORIES = ("dressing", "arising", "eating", "walking", "hygiene", "reach", "grip", "activities")
MIN_ANSWERED = 6
AIDED_MINIMUM = 2


def _adjusted(score: int, aided: bool) -> int:
    return max(score, AIDED_MINIMUM) if aided else score


@measure
def haq_di(
    *,
    dressing: HaqCategory | None = None,
    arising: HaqCategory | None = None,
    eating: HaqCategory | None = None,
    walking: HaqCategory | None = None,
    hygiene: HaqCategory | None = None,
    reach: HaqCategory | None = None,
    grip: HaqCategory | None = None,
    activities: HaqCategory | None = None,
    aids: Iterable[str] = (),
) -> Score:
    """HAQ-DI from the 8 category scores (0-3) and the categories using aids or help."""
    given = dict(zip(CATEGORIES, (dressing, arising, eating, walking, hygiene, reach, grip, activities)))
    aided = set(aids)
    unknown = sorted(aided - set(CATEGORIES))
    if unknown:
        raise InputError("aids", unknown, f"allowed categories are {', '.join(CATEGORIES)}")
    scores = [_adjusted(s, name in aided) for name, s in given.items() if s is not None]
    if len(scores) < MIN_ANSWERED:
        raise InputError("categories", len(scores), f"at least {MIN_ANSWERED} of {len(CATEGORIES)} must be answered")
    with localcontext(CONTEXT):
        value = Decimal(sum(scores)) / Decimal(len(scores))
    return Score(measure="HAQ-DI", value=float(value), display=str(round_half_up(value, 3)), decided_on=plain(value))
