"""The shape every dosing policy shares: patient history in, :class:`Decision` out.

A policy subclasses :class:`Policy` and writes :meth:`Policy.plan`, which sees a
:class:`PatientState` (the history up to ``today``) and returns a :class:`Plan`: the action,
the dose in mg/kg, the weeks since the last infusion, and a rationale. :meth:`Policy.decide`
applies what every policy must do the same way, from the ONE set of rules in
``ifxdose.domain.decisions``:

- plausibility checks (errors raise ``InputError``; named warnings are reported);
- date-only infusions placed at the clinic infusion time; every level classified as
  trough / peak / mid-interval / late; a policy that reads a trough gets the posterior-
  predicted trough when the sample is not one, and the decision says so;
- safety first: a severe infusion reaction stops, ADA >= 50 µg/L or ADA with an
  undetectable level switches (S12, S13) — a protocol replay (``replay=True``) keeps its
  arm and is flagged instead; a mild reaction adds premedication advice;
- remission: never escalate (the JP label allows increases only for inadequate or waning
  response; replays are flagged);
- the practicalities: the date (last infusion + the new interval, or today), mg from
  mg/kg and the weight, the one vial rounding, the label's flags (JP or US), the MTX
  warning, and the next visit.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

from ifxdose.core.errors import InputError
from ifxdose.domain.decisions import activity as act
from ifxdose.domain.decisions import ada as ada_rules
from ifxdose.domain.decisions import dosing, plausibility, reactions, sampling
from ifxdose.domain.decisions.cite import Citation, cite
from ifxdose.domain.decisions.nextvisit import LOW_LEVEL_MG_L, NextVisit, next_visit
from ifxdose.domain.dosing.label import Flag, check_infusion, mtx_flags
from ifxdose.domain.dosing.vials import Rounding
from ifxdose.domain.patient import AdaResult, Infusion, JointAssessment, Level, PatientHistory, as_date

Action = Literal["infuse", "stop", "switch", "wait"]
#: Label induction, read from the label rule data (seed S0): weeks 0, 2, 6 at 3 mg/kg.
INDUCTION_WEEKS = dosing.induction_weeks()
INDUCTION_MG_PER_KG = dosing.induction_mg_per_kg()
LABEL_INTERVAL_WEEKS = dosing.standard_interval_weeks()
LABEL_CITATION = cite("label-jp") + "; " + cite("label-us")


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
    citations: list[Citation]
    flags: list[Flag] = []
    kind: str = ""  # induction / escalate / keep / reduce / stop / switch / change_mechanism / resample / wait
    warnings: list[str] = []
    next_visit: NextVisit | None = None


@dataclass
class Plan:
    """A policy's proposal before practicalities. ``gap_weeks`` is from the last infusion."""

    action: Action
    rationale: str
    dose_mg_per_kg: float | None = None
    gap_weeks: float | None = None
    interval_weeks: float | None = None
    citations: list[Citation] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)


def warning(rule_id: str, message: str, citation: str) -> Flag:
    """A policy's own warning (not a label rule), shown with the label's flags."""
    return Flag(rule_id=rule_id, severity="warning", message=message, citation=citation)


class PatientState:
    """The history as seen on ``today``: only what was known by then."""

    def __init__(
        self, history: PatientHistory, today: date, clinic_time: dt.time = sampling.CLINIC_INFUSION_TIME
    ) -> None:
        self.original = history
        self.history, self.time_warnings = sampling.place_infusion_times(history, clinic_time)
        self.today = today
        self.infusions: list[Infusion] = self.history.infusions_until(today)
        self.notes: list[str] = []  # what the decision must say about its inputs (non-trough samples)

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
        if self.n_given <= dosing.n_induction():
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

    def induction_plan(self, rationale: str, citations: list[Citation]) -> Plan:
        """The label's next induction infusion (call while fewer than 3 were given)."""
        gap = dosing.induction_gap_weeks(self.n_given)
        return Plan("infuse", rationale, INDUCTION_MG_PER_KG, gap, gap, citations)

    def sample(self) -> sampling.Sample | None:
        return sampling.latest_sample(self.history, self.today)

    def latest_trough(self) -> Level | None:
        """The trough a policy reads: the latest level since the previous infusion when it is
        a trough; otherwise the posterior-predicted trough before the infusion that was due
        (and a note that says so); None without a level."""
        s = self.sample()
        if s is None or s.kind == "baseline":
            return None
        if s.is_trough:
            return s.level
        assert s.due is not None
        due = s.due - dt.timedelta(minutes=1)
        predicted = predicted_trough_mg_l(self.history, due)
        if predicted is None:
            self.notes.append(
                f"levels[{s.index}] is a {s.describe()}, not a trough, and no trough could be "
                "predicted: draw a pre-dose trough"
            )
            return None
        self.notes.append(
            f"levels[{s.index}] is a {s.describe()}, not a trough: the posterior-predicted trough "
            f"before the infusion due {due:%Y-%m-%d} ({predicted:.3g} mg/L, RA default model) is "
            "used instead"
        )
        return Level(date=due, value_mg_l=round(predicted, 3))

    def latest_ada(self) -> AdaResult | None:
        known = [a for a in self.history.ada if a.date <= self.today]
        return known[-1] if known else None

    def baseline_assessment(self) -> JointAssessment | None:
        """Assumption: the baseline is the last assessment on or before the first infusion date."""
        if not self.infusions:
            return None
        known = [a for a in self.history.assessments if a.date <= self.history.reference_date]
        return known[-1] if known else None

    def visit_assessment(self) -> JointAssessment | None:
        """The latest assessment since the previous infusion (``decisions.activity``)."""
        return act.visit_assessment(self.history, self.today) if self.infusions else None

    def activity(self) -> act.Activity:
        return act.current_activity(self.history, self.today)


_PREDICTED: dict[tuple[str, str], float | None] = {}


def predicted_trough_mg_l(history: PatientHistory, when: dt.datetime) -> float | None:
    """Posterior median concentration at ``when`` (RA default model, 200 SIR samples), cached."""
    from ifxdose.domain.estimation import estimate
    from ifxdose.domain.timeline import build_problem

    key = (history.model_dump_json(), when.isoformat())
    if key not in _PREDICTED:
        if len(_PREDICTED) > 256:
            _PREDICTED.clear()
        try:
            est = estimate(history, n_samples=200, seed=0)
            conc = build_problem(history, est.model).predict(est.posterior.eta, np.array([history.day_of(when)]))[:, 0]
            _PREDICTED[key] = float(np.median(conc))
        except InputError:
            _PREDICTED[key] = None
    return _PREDICTED[key]


class DosingPolicy(Protocol):
    """What the registry hands out: a :class:`Policy`, or ``recommend``'s ``ModelInformedPolicy``."""

    replay: bool

    @property
    def name(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def citation(self) -> str: ...

    @property
    def seed_tags(self) -> tuple[str, ...]: ...

    def decide(self, history: PatientHistory, today: date) -> Decision: ...


class Policy(ABC):
    """A dosing strategy from the literature: ``decide(history, today) -> Decision``."""

    name: str
    title: str
    citation: str
    seed_tags: tuple[str, ...] = ()
    rules: str = "jp"  # label rule set for flags: "jp" or "us"
    rounding: Rounding = "up"
    replay: bool = False  # a protocol replay keeps its arm on safety findings and flags them

    @abstractmethod
    def plan(self, state: PatientState) -> Plan:
        """The policy's own rule: what to do next and why."""

    @property
    def citations(self) -> list[Citation]:
        return [cite(t) for t in self.seed_tags] + [Citation.of(self.citation)]

    def decide(self, history: PatientHistory, today: date) -> Decision:
        named = plausibility.check_history(history, today)
        state = PatientState(history, today)
        warnings = [*state.time_warnings, *(w.text() for w in named)]
        ada = ada_rules.ada_status(state.history, today)
        warnings += ada.warnings
        reaction = reactions.reaction_status(state.history, today)
        stop: tuple[Literal["stop", "switch"], str, list[Citation]] | None = None
        if reaction.severity == "severe":
            stop = ("stop", reaction.stop_reason(), reaction.citations())
        elif ada.switch:
            stop = ("switch", ada.reason(), ada.citations())
        ctx = (state, ada, reaction, warnings)
        if stop is not None and not self.replay:
            return self._final(
                ctx,
                Decision(
                    policy=self.name,
                    action=stop[0],
                    kind=stop[0],
                    date=today,
                    rationale=stop[1][0].upper() + stop[1][1:] + ".",
                    citations=list(dict.fromkeys([*self.citations, *stop[2]])),
                    warnings=warnings,
                ),
            )
        plan = self.plan(state)
        citations = list(dict.fromkeys([*self.citations, *plan.citations]))
        flags = list(plan.flags)
        if stop is not None:
            flags.append(
                warning(f"safety-{stop[0]}", f"{stop[1]} (protocol replay: the arm is kept)", "; ".join(stop[2]))
            )
        for note in state.notes:
            flags.append(warning("non-trough", note, cite("S13")))
            plan.rationale = f"{plan.rationale} [{note}]"
        if reaction.severity == "mild":
            flags.append(warning("infusion-reaction", reaction.premedication(), "; ".join(reaction.citations())))
        plan = self._remission_guard(state, plan, flags)
        plan.flags = flags
        if plan.action in ("stop", "switch"):
            return self._final(
                ctx,
                Decision(
                    policy=self.name,
                    action=plan.action,
                    kind=plan.action,
                    date=today,
                    rationale=plan.rationale,
                    citations=citations,
                    flags=plan.flags,
                    warnings=warnings,
                ),
            )
        return self._final(ctx, self._dosed(state, plan, citations, warnings))

    def _remission_guard(self, state: PatientState, plan: Plan, flags: list[Flag]) -> Plan:
        """Never escalate in remission (replays: flag it)."""
        if plan.dose_mg_per_kg is None or state.n_given < dosing.n_induction():
            return plan
        current = (state.current_mg_per_kg(), state.last_gap_weeks())
        new = (plan.dose_mg_per_kg, plan.interval_weeks or current[1])
        if dosing.exposure_change(current, new) != "escalate":
            return plan
        activity = state.activity()
        if not activity.remission:
            return plan
        why = (
            f"{activity.text()} is remission: the JP label allows increases only for inadequate or waning "
            "response (効果不十分又は効果が減弱した場合)"
        )
        if self.replay:
            flags.append(
                warning("remission-escalation", f"{why} (protocol replay: the arm is kept)", cite("label-jp-stepwise"))
            )
            return plan
        flags.append(
            warning("remission-no-escalation", f"{plan.rationale} — not applied: {why}", cite("label-jp-stepwise"))
        )
        return Plan(
            "infuse",
            f"{plan.rationale} Not applied: {why}; keep {current[0]:g} mg/kg every {current[1]:g} weeks.",
            current[0],
            current[1],
            current[1],
            [*plan.citations, cite("label-jp-stepwise"), cite("felson-2011")],
        )

    def _final(
        self,
        ctx: tuple[PatientState, ada_rules.AdaStatus, reactions.ReactionStatus, list[str]],
        decision: Decision,
    ) -> Decision:
        state, ada, reaction, _ = ctx
        s = state.sample()
        low = s is not None and (s.level.below_lloq or (s.level.value_mg_l or 0.0) < LOW_LEVEL_MG_L)
        known = [a.date for a in state.history.ada if a.date <= state.today]
        going_on = decision.action in ("infuse", "wait")
        decision.next_visit = next_visit(
            decision.date if going_on else None,
            decision.infusion_number,
            reaction,
            ada.positive,
            low,
            known[-1] if known else None,
        )
        if not decision.kind:
            decision.kind = self._kind(state, decision)
        return decision

    @staticmethod
    def _kind(state: PatientState, d: Decision) -> str:
        if d.action == "wait":
            return "wait"
        if state.n_given < dosing.n_induction() or d.dose_mg_per_kg is None:
            return "induction"
        current = (state.current_mg_per_kg(), state.last_gap_weeks())
        return dosing.exposure_change(current, (d.dose_mg_per_kg, d.interval_weeks or current[1]))

    def _dosed(self, state: PatientState, plan: Plan, citations: list[Citation], warnings: list[str]) -> Decision:
        assert plan.dose_mg_per_kg is not None
        today = state.today
        rationale = plan.rationale
        last = as_date(state.last.date) if state.last is not None else None
        when = dosing.next_due(last, plan.gap_weeks, today)
        if (
            last is not None
            and plan.gap_weeks is not None
            and when == today
            and last + timedelta(days=round(plan.gap_weeks * 7)) < today
        ):
            rationale += f" (due {(last + timedelta(days=round(plan.gap_weeks * 7))).isoformat()}: overdue, so today)"
        weight = state.history.weight_on(when)
        if weight is None:
            raise InputError("weights", [], "at least one weight is needed to turn mg/kg into mg")
        vials = dosing.prepare(plan.dose_mg_per_kg, weight, self.rounding)
        number = state.n_given + 1
        gap = None if last is None else (when - last).days / 7.0
        flags = [
            *plan.flags,
            *check_infusion(number, plan.dose_mg_per_kg, gap, self.rules),
            *mtx_flags(state.history.on_mtx(when), self.rules),
        ]
        return Decision(
            policy=self.name,
            action=plan.action,
            infusion_number=number,
            date=when,
            dose_mg_per_kg=plan.dose_mg_per_kg,
            dose_mg=vials.given_mg,
            vials=vials.vials,
            wasted_mg=vials.wasted_mg,
            interval_weeks=plan.interval_weeks,
            rationale=rationale,
            citations=citations,
            flags=flags,
            warnings=warnings,
        )


def record(history: PatientHistory, decision: Decision) -> PatientHistory:
    """The history with the decided infusion given as advised (for closed-loop simulation)."""
    if decision.action not in ("infuse",) or decision.date is None or decision.dose_mg is None:
        return history
    infusion = Infusion(date=decision.date, dose_mg=decision.dose_mg, dose_mg_per_kg=decision.dose_mg_per_kg)
    data = history.model_dump()
    data["infusions"] = [*data["infusions"], infusion.model_dump()]
    return PatientHistory.model_validate(data)
