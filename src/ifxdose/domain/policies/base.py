"""The shape every dosing policy shares: patient history in, :class:`Decision` out.

A policy subclasses :class:`Policy` and writes :meth:`Policy.plan`, which sees a
:class:`PatientState` (the history up to ``today``) and returns a :class:`Plan`: the action,
the dose in mg/kg, the weeks since the last infusion, and a rationale. :meth:`Policy.decide`
adds the practicalities every policy needs the same way: the date, mg from the weight,
vials and waste, the label's flags (JP or US) and the MTX warning.

Conventions (assumptions, documented in docs/policies.md):
- The next infusion is dated from the last one given (last date + gap), so a delayed
  infusion shifts the rest; an overdue infusion is dated ``today``.
- Induction is the label's 3 mg/kg at weeks 0, 2, 6 (gaps 2 and 4 weeks).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
import datetime as dt
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ifxdose.core.errors import InputError
from ifxdose.domain.label import Flag, check_infusion, mtx_flags
from ifxdose.domain.patient import Infusion, PatientHistory, as_date
from ifxdose.domain.vials import Rounding, dose_mg, round_to_vials

Action = Literal["infuse", "stop", "switch", "wait"]
#: Label induction (seed S0): weeks 0, 2, 6 at 3 mg/kg.
INDUCTION_WEEKS = (0.0, 2.0, 6.0)
INDUCTION_MG_PER_KG = 3.0
LABEL_INTERVAL_WEEKS = 8.0
LABEL_CITATION = "Remicade JP label (S0); REMICADE US PI"


class Decision(BaseModel):
    """What a policy advises now, why, and on what authority."""

    model_config = ConfigDict(extra="forbid")

    policy: str
    action: Action
    infusion_number: int | None = None
    date: dt.date | None = None
    dose_mg_per_kg: float | None = None
    dose_mg: float | None = None
    vials: int | None = None
    wasted_mg: float | None = None
    interval_weeks: float | None = None
    rationale: str
    citations: list[str]
    flags: list[Flag] = []


@dataclass
class Plan:
    """A policy's proposal before practicalities. ``gap_weeks`` is from the last infusion."""

    action: Action
    rationale: str
    dose_mg_per_kg: float | None = None
    gap_weeks: float | None = None
    interval_weeks: float | None = None
    citations: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)


def warning(rule_id: str, message: str, citation: str) -> Flag:
    """A policy's own warning (not a label rule), shown with the label's flags."""
    return Flag(rule_id=rule_id, severity="warning", message=message, citation=citation)


class PatientState:
    """The history as seen on ``today``: only what was known by then."""

    def __init__(self, history: PatientHistory, today: date) -> None:
        self.history = history
        self.today = today
        self.infusions: list[Infusion] = history.infusions_until(today)

    @property
    def n_given(self) -> int:
        return len(self.infusions)

    @property
    def last(self) -> Infusion | None:
        return self.infusions[-1] if self.infusions else None

    def week_of(self, when: date) -> float:
        return self.history.day_of(when) / 7.0

    def last_gap_weeks(self) -> float:
        """Weeks between the last two infusions, to the nearest week (label 8 if fewer than 4)."""
        if self.n_given <= len(INDUCTION_WEEKS):
            return LABEL_INTERVAL_WEEKS
        a, b = (as_date(i.date) for i in self.infusions[-2:])
        return float(round((b - a).days / 7.0))

    def current_mg_per_kg(self) -> float:
        """The last infusion's prescribed mg/kg; if not recorded, dose_mg / weight snapped to 0.5 mg/kg.

        Assumption: snapping to 0.5 mg/kg undoes vial rounding for the usual 1.5 mg/kg steps.
        """
        last = self.last
        if last is None:
            return INDUCTION_MG_PER_KG
        if last.dose_mg_per_kg is not None:
            return last.dose_mg_per_kg
        weight = self.history.weight_on(last.date)
        if weight is None:
            raise InputError("weights", [], "a weight is needed to infer mg/kg from dose_mg")
        return round(last.dose_mg / weight * 2) / 2

    def induction_plan(self, rationale: str, citations: list[str]) -> Plan:
        """The label's next induction infusion (call while fewer than 3 were given)."""
        n = self.n_given
        gap = None if n == 0 else INDUCTION_WEEKS[n] - INDUCTION_WEEKS[n - 1]
        return Plan("infuse", rationale, INDUCTION_MG_PER_KG, gap, gap, citations)

    def _since_previous(self, entries: list) -> list:
        """Entries dated after the second-to-last infusion and on or before today: a sample or
        assessment taken before the last infusion on its day (pre-dose) counts."""
        after = as_date(self.infusions[-2].date) if self.n_given >= 2 else date.min
        return [e for e in entries if after < as_date(e.date) <= self.today]

    def latest_trough(self):
        """The latest level since the previous infusion (see :meth:`_since_previous`)."""
        levels = self._since_previous(self.history.levels)
        return levels[-1] if levels else None

    def latest_ada(self):
        known = [a for a in self.history.ada if a.date <= self.today]
        return known[-1] if known else None

    def baseline_assessment(self):
        """Assumption: the baseline is the last assessment on or before the first infusion date."""
        if not self.infusions:
            return None
        known = [a for a in self.history.assessments if a.date <= self.history.reference_date]
        return known[-1] if known else None

    def visit_assessment(self):
        """The latest assessment since the previous infusion (see :meth:`_since_previous`)."""
        known = self._since_previous(self.history.assessments) if self.infusions else []
        return known[-1] if known else None


class Policy(ABC):
    """A dosing strategy from the literature: ``decide(history, today) -> Decision``."""

    name: str
    title: str
    citation: str
    seed_tags: tuple[str, ...] = ()
    rules: str = "jp"  # label rule set for flags: "jp" or "us"
    rounding: Rounding = "up"

    @abstractmethod
    def plan(self, state: PatientState) -> Plan:
        """The policy's own rule: what to do next and why."""

    @property
    def citations(self) -> list[str]:
        return [*self.seed_tags, self.citation]

    def decide(self, history: PatientHistory, today: date) -> Decision:
        state = PatientState(history, today)
        plan = self.plan(state)
        citations = list(dict.fromkeys([*self.citations, *plan.citations]))
        if plan.action in ("stop", "switch"):
            return Decision(policy=self.name, action=plan.action, date=today, rationale=plan.rationale,
                            citations=citations, flags=plan.flags)
        return self._dosed(state, plan, citations)

    def _dosed(self, state: PatientState, plan: Plan, citations: list[str]) -> Decision:
        assert plan.dose_mg_per_kg is not None
        today = state.today
        rationale = plan.rationale
        if state.last is None or plan.gap_weeks is None:
            when = today
        else:
            when = as_date(state.last.date) + timedelta(days=round(plan.gap_weeks * 7))
            if when < today:
                rationale += f" (due {when.isoformat()}: overdue, so today)"
                when = today
        weight = state.history.weight_on(when)
        if weight is None:
            raise InputError("weights", [], "at least one weight is needed to turn mg/kg into mg")
        mg = dose_mg(plan.dose_mg_per_kg, weight)
        vials = round_to_vials(mg, rounding=self.rounding)
        number = state.n_given + 1
        gap = None if state.last is None else (when - as_date(state.last.date)).days / 7.0
        flags = [*plan.flags, *check_infusion(number, plan.dose_mg_per_kg, gap, self.rules),
                 *mtx_flags(state.history.on_mtx(when), self.rules)]
        return Decision(policy=self.name, action=plan.action, infusion_number=number, date=when,
                        dose_mg_per_kg=plan.dose_mg_per_kg, dose_mg=vials.given_mg, vials=vials.vials,
                        wasted_mg=vials.wasted_mg, interval_weeks=plan.interval_weeks,
                        rationale=rationale, citations=citations, flags=flags)


def record(history: PatientHistory, decision: Decision) -> PatientHistory:
    """The history with the decided infusion given as advised (for closed-loop simulation)."""
    if decision.action not in ("infuse",) or decision.date is None or decision.dose_mg is None:
        return history
    infusion = Infusion(date=decision.date, dose_mg=decision.dose_mg, dose_mg_per_kg=decision.dose_mg_per_kg)
    data = history.model_dump()
    data["infusions"] = [*data["infusions"], infusion.model_dump()]
    return PatientHistory.model_validate(data)
