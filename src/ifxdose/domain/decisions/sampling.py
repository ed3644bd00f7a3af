"""When was a level drawn? Trough, peak or mid-interval, from its time relative to the infusions.

A level read "by date alone" as a trough leads to absurd advice (a 1-hour post-infusion
peak of 75 mg/L read as a high trough; a level 12 weeks after a missed infusion read as a
low trough). Every path (policies, ``recommend``, trials) classifies a level here.

Assumptions (labelled, configurable):
- Assumption: an infusion recorded as a date only starts at the clinic's infusion time,
  :data:`CLINIC_INFUSION_TIME` (10:00), not at midnight.
- Assumption: a level on the same day as a date-only infusion is a pre-dose trough (drawn
  before the infusion, the clinic's routine) unless its time is at or after the end of the
  infusion at the clinic time; either way a warning names both entries.
- Assumption: a *trough* is drawn in the last :data:`TROUGH_WINDOW_DAYS` (7) days before the
  next infusion (or before the due date when the next infusion is not recorded) and no more
  than 7 days after the due date; a *peak* within :data:`PEAK_WINDOW_HOURS` (24 h) after the
  end of an infusion (or during it); a level more than 7 days after the due date with no
  infusion in between is *late* (after a missed or delayed infusion: lower than the trough
  of the prescribed interval); anything else is *mid-interval*.
- Assumption: the due date is the previous infusion + the interval in force: the label's
  induction gaps (2, 4 weeks) for infusions 1-2, 8 weeks after the 3rd, and afterwards the
  last observed gap rounded to whole weeks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from ifxdose.domain.dosing.label import load_rules
from ifxdose.domain.patient import Level, PatientHistory, as_date, as_datetime

CLINIC_INFUSION_TIME = time(10, 0)  # Assumption: clinic routine, configurable
TROUGH_WINDOW_DAYS = 7.0  # Assumption
LATE_AFTER_DUE_DAYS = 7.0  # Assumption
PEAK_WINDOW_HOURS = 24.0  # Assumption

SampleKind = Literal["trough", "peak", "mid-interval", "late", "baseline"]


@dataclass(frozen=True)
class Sample:
    """One level with how it relates to the infusions."""

    index: int
    level: Level
    kind: SampleKind
    when: datetime
    previous_infusion: int | None  # index into history.infusions
    due: datetime | None  # when the infusion after ``previous_infusion`` was due

    @property
    def is_trough(self) -> bool:
        return self.kind == "trough"

    def describe(self) -> str:
        value = (
            f"below the LLOQ ({self.level.lloq_mg_l:g} mg/L)"
            if self.level.below_lloq
            else f"{self.level.value_mg_l:g} mg/L"
        )
        return f"{self.kind} level {value} on {self.when:%Y-%m-%d %H:%M}"


def _fmt(when: date | datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M") if isinstance(when, datetime) else when.isoformat()


def place_infusion_times(
    history: PatientHistory, clinic_time: time = CLINIC_INFUSION_TIME
) -> tuple[PatientHistory, list[str]]:
    """The history with every date-only infusion at a clock time, and a warning per same-day level.

    A same-day level before the end of the infusion at the clinic time is pre-dose: the
    infusion is placed one minute after the level (never before the clinic time).
    """
    warnings: list[str] = []
    data = history.model_dump()
    for i, inf in enumerate(history.infusions):
        if isinstance(inf.date, datetime):
            continue
        start = datetime.combine(inf.date, clinic_time)
        end = start + timedelta(minutes=inf.duration_min)
        for j, lv in enumerate(history.levels):
            if as_date(lv.date) != inf.date:
                continue
            if not isinstance(lv.date, datetime):
                warnings.append(
                    f"levels[{j}] ({_fmt(lv.date)}, no time) and infusions[{i}] ({_fmt(inf.date)}, no time) "
                    "are on the same day: the level is taken as a pre-dose trough; give the times if not"
                )
                continue
            if lv.date < end:
                start = max(start, lv.date + timedelta(minutes=1))
                warnings.append(
                    f"levels[{j}] ({_fmt(lv.date)}) and infusions[{i}] ({_fmt(inf.date)}, no time) are on "
                    f"the same day: the level is taken as a pre-dose trough and the infusion placed at "
                    f"{start:%H:%M}; give the infusion's time if not"
                )
            else:
                warnings.append(
                    f"levels[{j}] ({_fmt(lv.date)}) and infusions[{i}] ({_fmt(inf.date)}, no time) are on "
                    f"the same day: the level, drawn after the end of an infusion at the clinic time "
                    f"{clinic_time:%H:%M}, is taken as post-infusion (a peak), not a trough"
                )
        data["infusions"][i]["date"] = start
    return PatientHistory.model_validate(data), warnings


def interval_in_force_weeks(history: PatientHistory, n_given: int) -> float:
    """Weeks from infusion ``n_given`` (1-based count given so far) to the next one as planned.

    The label's induction gaps for 1-2 infusions, the standard interval after the 3rd, then
    the last observed gap rounded to whole weeks (at least the label's shortest).
    """
    rules = load_rules("jp")
    induction = rules.induction_weeks
    if n_given < len(induction):
        return induction[n_given] - induction[n_given - 1] if n_given >= 1 else 0.0
    if n_given == len(induction):
        return rules.standard_interval_weeks
    a, b = (as_date(i.date) for i in history.infusions[n_given - 2 : n_given])
    return float(max(round((b - a).days / 7.0), 1))


def classify_levels(history: PatientHistory) -> list[Sample]:
    """Every level of a history whose infusions carry clock times (see :func:`place_infusion_times`)."""
    starts = [as_datetime(i.date) for i in history.infusions]
    out = []
    for j, lv in enumerate(history.levels):
        t = as_datetime(lv.date)
        prev = max((i for i, s in enumerate(starts) if s <= t), default=None)
        if prev is None:
            out.append(Sample(j, lv, "baseline", t, None, starts[0] if starts else None))
            continue
        nxt = starts[prev + 1] if prev + 1 < len(starts) else None
        end = starts[prev] + timedelta(minutes=history.infusions[prev].duration_min)
        due = starts[prev] + timedelta(weeks=interval_in_force_weeks(history, prev + 1))
        out.append(Sample(j, lv, _kind(t, end, nxt, due), t, prev, due))
    return out


def _kind(t: datetime, end: datetime, nxt: datetime | None, due: datetime) -> SampleKind:
    if (t - end).total_seconds() <= PEAK_WINDOW_HOURS * 3600:
        return "peak"
    window = timedelta(days=TROUGH_WINDOW_DAYS)
    late = timedelta(days=LATE_AFTER_DUE_DAYS)
    if nxt is not None and nxt - window <= t and nxt <= due + late:
        return "trough"
    if t > due + late:
        return "late"
    if due - window <= t:
        return "trough"
    return "mid-interval"


def latest_sample(history: PatientHistory, today: date) -> Sample | None:
    """The level a decision reads: drawn on or before ``today`` since the second-to-last
    infusion, the latest trough among them if there is one, else the latest level."""
    samples = [s for s in classify_levels(history) if s.when.date() <= today]
    if not samples:
        return None
    given = [as_datetime(i.date) for i in history.infusions if as_date(i.date) <= today]
    after = given[-2] if len(given) >= 2 else datetime.min
    recent = [s for s in samples if s.when > after]
    troughs = [s for s in recent if s.is_trough]
    return troughs[-1] if troughs else (recent[-1] if recent else None)
