"""Disease activity for a decision: ONE preference order and ONE set of categories.

Preference (Assumption, used by every policy and ``recommend``): SDAI when TJC28, SJC28,
both globals and CRP are known (RRRR, S15, decides on SDAI); else DAS28-ESR; else
DAS28-CRP (Mulleman 2009 used DAS28); else CDAI. CRP/ESR come from the assessment or a lab
entry of the same day. Categories are the ACR/EULAR 2011 ones each score module applies
(Felson 2011): remission / low / moderate / high.

"Active" (inadequate response, 効果不十分, the only case in which the JP label allows an
increase) = moderate or high activity. Assumption: low activity is an acceptable response
(neither escalate for activity nor change mechanism).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from ifxdose.domain import scores
from ifxdose.domain.patient import JointAssessment, LabEntry, PatientHistory, as_date

Category = Literal["remission", "low", "moderate", "high", "unknown"]


@dataclass(frozen=True)
class Activity:
    category: Category
    score: str = ""
    value: Decimal | None = None
    when: date | None = None

    @property
    def remission(self) -> bool:
        return self.category == "remission"

    @property
    def active(self) -> bool:
        return self.category in ("moderate", "high")

    def text(self) -> str:
        if self.category == "unknown":
            return "disease activity unknown (no assessment since the previous infusion)"
        return f"{self.score} {self.value} on {self.when} ({self.category})"


def _same_day(visit: JointAssessment, labs: list[LabEntry], name: str) -> float | None:
    value: float | None = getattr(visit, name)
    if value is not None:
        return value
    same: float | None = next(
        (getattr(x, name) for x in labs if x.date == visit.date and getattr(x, name) is not None), None
    )
    return same


def _category(s: scores.Score) -> Category:
    """The score's category as an activity category (every RA score has these four)."""
    for c in ("remission", "low", "moderate", "high"):
        if s.category == c:
            return c
    raise ValueError(f"{s.measure}: unexpected category {s.category!r}")


def score_visit(visit: JointAssessment, labs: list[LabEntry]) -> Activity:
    crp = _same_day(visit, labs, "crp_mg_l")
    esr = _same_day(visit, labs, "esr_mm_h")
    tjc, sjc = visit.tjc28, visit.sjc28
    if crp is not None and visit.ptga_mm is not None and visit.phga_mm is not None:
        s, name = scores.sdai(tjc28=tjc, sjc28=sjc, crp_mg_l=crp, ptga_mm=visit.ptga_mm, phga_mm=visit.phga_mm), "SDAI"
    elif esr is not None:
        s, name = scores.das28_esr(tjc28=tjc, sjc28=sjc, esr_mm_h=esr, ptga_mm=visit.ptga_mm), "DAS28-ESR"
    elif crp is not None:
        s, name = scores.das28_crp(tjc28=tjc, sjc28=sjc, crp_mg_l=crp, ptga_mm=visit.ptga_mm), "DAS28-CRP"
    elif visit.ptga_mm is not None and visit.phga_mm is not None:
        s, name = scores.cdai(tjc28=tjc, sjc28=sjc, ptga_mm=visit.ptga_mm, phga_mm=visit.phga_mm), "CDAI"
    else:
        return Activity("unknown")
    return Activity(_category(s), name, Decimal(s.decided_on), visit.date)


def das28_of(visit: JointAssessment, labs: list[LabEntry]) -> Decimal | None:
    """DAS28 for DAS28-defined tables (Mulleman 2009): ESR first, else CRP; None without either."""
    esr = _same_day(visit, labs, "esr_mm_h")
    crp = _same_day(visit, labs, "crp_mg_l")
    if esr is not None:
        s = scores.das28_esr(tjc28=visit.tjc28, sjc28=visit.sjc28, esr_mm_h=esr, ptga_mm=visit.ptga_mm)
    elif crp is not None:
        s = scores.das28_crp(tjc28=visit.tjc28, sjc28=visit.sjc28, crp_mg_l=crp, ptga_mm=visit.ptga_mm)
    else:
        return None
    return Decimal(s.decided_on)


def visit_assessment(history: PatientHistory, today: date) -> JointAssessment | None:
    """The latest assessment on or before ``today`` dated after the second-to-last infusion
    (an assessment on the day of the last infusion, before it, counts)."""
    given = [as_date(i.date) for i in history.infusions if as_date(i.date) <= today]
    after = given[-2] if len(given) >= 2 else date.min
    known = [a for a in history.assessments if after < a.date <= today]
    return known[-1] if known else None


def current_activity(history: PatientHistory, today: date) -> Activity:
    visit = visit_assessment(history, today)
    return Activity("unknown") if visit is None else score_visit(visit, history.labs)


__all__ = ["Activity", "Category", "current_activity", "das28_of", "score_visit", "visit_assessment"]
