"""EULAR response (good / moderate / none) from baseline and current DAS28.

"A good response is defined as reaching ... a DAS28 <=3.2 in combination with an
improvement >1.2 ... A non-response is defined as an improvement <=0.6, and also as an
improvement <=1.2 with ... DAS28 >5.1. All other possibilities are ... moderate."
(van Gestel / van Riel; ARD response-criteria table; van Riel, Clin Exp Rheumatol
2005;23(Suppl 39):S93-9 [primary, abstract]; MDCalc matrix [secondary].)

Both DAS28 values are first rounded half-up to 2 decimals (their reporting precision)
and the improvement is their exact Decimal difference: 3.64 -> 2.44 improves by exactly
1.20, which is not >1.2, so the response is moderate (not the float artefact "good").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ifxdose.domain.scores._exact import dec, round_half_up
from ifxdose.domain.scores._fields import Das28Value, measure

GOOD_IMPROVEMENT = Decimal("1.2")  # "twice the measurement error" (van Riel)
MIN_IMPROVEMENT = Decimal("0.6")
LOW_ACTIVITY_MAX = Decimal("3.2")
HIGH_ACTIVITY_ABOVE = Decimal("5.1")

Response = Literal["good", "moderate", "none"]


class EularResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    measure: str = "EULAR response (DAS28)"
    response: Response
    baseline_das28: str
    current_das28: str
    improvement: float
    improvement_display: str


def classify_response(improvement: Decimal, current: Decimal) -> Response:
    """The EULAR matrix on exact decimals (improvement = baseline - current)."""
    if improvement <= MIN_IMPROVEMENT:
        return "none"
    if improvement > GOOD_IMPROVEMENT:
        return "good" if current <= LOW_ACTIVITY_MAX else "moderate"
    return "none" if current > HIGH_ACTIVITY_ABOVE else "moderate"


@measure
def eular_response(*, baseline_das28: Das28Value, current_das28: Das28Value) -> EularResponse:
    """EULAR response from two DAS28 values of the same kind (both ESR or both CRP)."""
    baseline = round_half_up(dec(baseline_das28), 2)
    current = round_half_up(dec(current_das28), 2)
    improvement = baseline - current
    return EularResponse(
        response=classify_response(improvement, current),
        baseline_das28=str(baseline),
        current_das28=str(current),
        improvement=float(improvement),
        improvement_display=str(improvement),
    )
