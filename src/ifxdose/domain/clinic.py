"""What the clinic's screens need from a patient history, computed once, here, so that the
web pages and the store hold no clinical logic:

- :func:`assessment_scores`: every measure of a 28-joint assessment (stored with it);
- :func:`activity_trend`: DAS28 and SDAI over time with their category bands;
- :func:`due_status`: is an infusion due, is a trough level due (the worklist); split into
  :func:`due_basis` (day-independent, cacheable) and :func:`due_on` (a date comparison);
- :func:`infusion_schedule`: given infusions and the next planned ones, with windows.

Assumptions (local practice, documented in docs/clinic.md):
- The next infusion is the label schedule's (policy ``label``: weeks 0, 2, 6 then every
  8 weeks, dated from the last infusion given) unless an accepted recommendation says
  otherwise (``planned_date``).
- "Due" means the planned date is within :data:`DUE_AHEAD_DAYS` days (or past).
- A trough level is due at a due maintenance infusion (the 4th onwards) when no level has
  been taken since the previous infusion: it is drawn just before that infusion.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from ifxdose.core.errors import InputError
from ifxdose.domain.dosing.calendar import INDUCTION_INFUSIONS, INDUCTION_WINDOW_DAYS, MAINTENANCE_WINDOW_DAYS
from ifxdose.domain.patient import Infusion, JointAssessment, PatientHistory, as_date
from ifxdose.domain.policies import get_policy
from ifxdose.domain.policies.base import INDUCTION_WEEKS, LABEL_INTERVAL_WEEKS
from ifxdose.domain.scores import DAS28_CUTOFFS, assess
from ifxdose.domain.scores._exact import Cutoffs
from ifxdose.domain.scores.sdai_cdai import SDAI_CUTOFFS

#: ``date`` for annotations inside models that have a field called ``date``.
_Date = date

DUE_AHEAD_DAYS = 7  # Assumption: the worklist looks one week ahead
_DATED_KINDS = ("weights", "infusions", "levels", "ada", "labs", "mtx", "assessments")
_VISIT_FIELDS = ("tjc28", "sjc28", "ptga_mm", "phga_mm", "pain_mm", "haq_di", "crp_mg_l", "esr_mm_h")


def assessment_scores(entry: JointAssessment) -> dict[str, Any]:
    """Every single-visit measure computable from the entry (JSON-ready; absent ones omitted)."""
    visit = {k: v for k in _VISIT_FIELDS if (v := getattr(entry, k)) is not None}
    return assess(visit).model_dump(mode="json", exclude_none=True)


class Band(BaseModel):
    model_config = ConfigDict(frozen=True)
    label: str
    low: float
    high: float | None


class TrendPoint(BaseModel):
    model_config = ConfigDict(frozen=True)
    date: date
    value: float
    display: str
    category: str | None


class Trend(BaseModel):
    measure: str
    cutoffs_source: str
    bands: list[Band]
    points: list[TrendPoint]


def _bands(cutoffs: Cutoffs) -> list[Band]:
    out: list[Band] = []
    low = 0.0
    for band in cutoffs.bands:
        high = None if band.upper is None else float(band.upper)
        out.append(Band(label=band.label, low=low, high=high))
        low = high if high is not None else low
    return out


def activity_trend(history: PatientHistory) -> list[Trend]:
    """DAS28 (ESR, else CRP: the one DAS28 preference, as ``decisions.activity.das28_of``) and SDAI
    for every assessment that allows them."""
    das: list[TrendPoint] = []
    sdai: list[TrendPoint] = []
    for entry in history.assessments:
        scores = assessment_scores(entry)
        das28 = scores.get("das28_esr") or scores.get("das28_crp")
        for series, score in ((das, das28), (sdai, scores.get("sdai"))):
            if score:
                series.append(
                    TrendPoint(
                        date=entry.date, value=score["value"], display=score["display"], category=score.get("category")
                    )
                )
    das_cutoffs = DAS28_CUTOFFS["acr-eular-2011"]
    return [
        Trend(measure="DAS28", cutoffs_source=das_cutoffs.source, bands=_bands(das_cutoffs), points=das),
        Trend(measure="SDAI", cutoffs_source=SDAI_CUTOFFS.source, bands=_bands(SDAI_CUTOFFS), points=sdai),
    ]


class DueStatus(BaseModel):
    next_infusion_number: int
    next_infusion_date: date | None
    infusion_due: bool
    overdue_days: int
    level_due: bool
    reason: str
    reason_code: str = ""  # "accepted_recommendation" | "label_schedule" | "no_data" (for translations)


def _next_date(history: PatientHistory, today: date, planned_date: date | None) -> tuple[int, date | None]:
    """The next infusion's number and its planned date (not moved to today when overdue)."""
    given = history.infusions_until(today)
    number = len(given) + 1
    if planned_date is not None:
        return number, planned_date
    if not given or not history.weights:
        return number, None
    # The label schedule as a protocol replay: the calendar shows when the next infusion is due;
    # safety findings (ADA, reactions) and implausible entries are the recommendation's business,
    # and must not take the worklist down.
    try:
        decision = get_policy("label", replay=True).decide(history, today)
    except InputError:
        return number, None
    if decision.action != "infuse" or decision.interval_weeks is None:
        return number, None
    return number, as_date(given[-1].date) + timedelta(days=round(decision.interval_weeks * 7))


class DueBasis(BaseModel):
    """What the due status needs that does not change from day to day while the history
    stays the same: the next infusion's number and date, whether a level was taken since the
    last infusion, and where the date comes from. ``valid_from`` is the newest entry's day:
    the basis holds for any ``today`` on or after it (no entry is hidden by ``today``)."""

    model_config = ConfigDict(frozen=True)
    next_infusion_number: int
    next_infusion_date: date | None
    level_since_last_infusion: bool
    reason: str
    reason_code: str
    valid_from: date


def due_basis(history: PatientHistory, today: date, planned_date: date | None = None) -> DueBasis:
    """The day-independent part of :func:`due_status` (the label replay, if any, runs here)."""
    number, when = _next_date(history, today, planned_date)
    given = history.infusions_until(today)
    since = as_date(given[-1].date) if given else date.min
    days = [as_date(e.date) for kind in _DATED_KINDS for e in getattr(history, kind)]
    if when is None:
        reason, code = "no infusion or weight recorded", "no_data"
    elif planned_date:
        reason, code = "planned date from an accepted recommendation", "accepted_recommendation"
    else:
        reason, code = "label schedule (policy 'label')", "label_schedule"
    return DueBasis(
        next_infusion_number=number,
        next_infusion_date=when,
        level_since_last_infusion=any(as_date(level.date) > since for level in history.levels),
        reason=reason,
        reason_code=code,
        valid_from=max(days, default=date.min),
    )


def due_on(basis: DueBasis, today: date) -> DueStatus:
    """The due status on ``today`` from a basis (a date comparison: no history needed)."""
    when = basis.next_infusion_date
    due = when is not None and (when - today).days <= DUE_AHEAD_DAYS
    return DueStatus(
        next_infusion_number=basis.next_infusion_number,
        next_infusion_date=when,
        infusion_due=due,
        overdue_days=max(0, (today - when).days) if when is not None else 0,
        level_due=due and basis.next_infusion_number > INDUCTION_INFUSIONS and not basis.level_since_last_infusion,
        reason=basis.reason,
        reason_code=basis.reason_code,
    )


def due_status(history: PatientHistory, today: date, planned_date: date | None = None) -> DueStatus:
    """Whether the next infusion (and a trough before it) is due within a week of ``today``."""
    return due_on(due_basis(history, today, planned_date), today)


class ScheduleRow(BaseModel):
    number: int
    date: date
    earliest: _Date | None
    latest: _Date | None
    given: Infusion | None = None


def _window(number: int) -> int:
    if number == 1:
        return 0
    return INDUCTION_WINDOW_DAYS if number <= INDUCTION_INFUSIONS else MAINTENANCE_WINDOW_DAYS


def _gap_weeks(number: int, interval_weeks: float) -> float:
    """Weeks from infusion ``number - 1`` to ``number``: label induction, then the interval."""
    if number <= len(INDUCTION_WEEKS):
        return INDUCTION_WEEKS[number - 1] - INDUCTION_WEEKS[number - 2]
    return interval_weeks


def infusion_schedule(
    history: PatientHistory,
    today: date,
    planned_date: date | None = None,
    interval_weeks: float = LABEL_INTERVAL_WEEKS,
    upcoming: int = 3,
) -> list[ScheduleRow]:
    """Infusions given so far, then the next ``upcoming`` planned ones with their windows
    (``ifxdose.domain.dosing.calendar`` windows); later ones every ``interval_weeks`` (label 8)."""
    given = history.infusions_until(today)
    rows = [
        ScheduleRow(number=i, date=as_date(inf.date), earliest=None, latest=None, given=inf)
        for i, inf in enumerate(given, start=1)
    ]
    number, when = _next_date(history, today, planned_date)
    if when is None:
        return rows
    for n in range(number, number + upcoming):
        day = when if n == number else rows[-1].date + timedelta(days=round(_gap_weeks(n, interval_weeks) * 7))
        half = timedelta(days=_window(n))
        rows.append(ScheduleRow(number=n, date=day, earliest=day - half, latest=day + half))
    return rows
