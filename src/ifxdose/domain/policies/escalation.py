"""START dose escalation (Rahman MU et al. Ann Rheum Dis 2007;66:1233-8; seed S5).

3 mg/kg at weeks 0, 2, 6, 14, then every 8 weeks. At the infusions of weeks 22, 30, 38
and 46 (infusions 5-8) the dose rises by 1.5 mg/kg for
- primary non-response: the total tender + swollen joint count improved < 20 % from
  baseline ("did not improve by at least 20%": exactly 20 % is a response), or
- secondary non-response (flare): the improvement reached at week 22 or later has
  worsened by 50 % or more.

Assumptions (configurable): TJC28 + SJC28 stand for the trial's total joint counts; the
reference for a flare is the best improvement at an earlier assessment from week 21
(week 22 less a 7-day window); the visit assessment is the latest one after the last infusion.
"""

from __future__ import annotations

from dataclasses import dataclass

from ifxdose.domain.decisions.cite import cite
from ifxdose.domain.dosing.label import max_dose_mg_per_kg
from ifxdose.domain.policies.base import LABEL_CITATION, LABEL_INTERVAL_WEEKS, PatientState, Plan, Policy, warning

START_CITATION = cite("start")


def improved_less_than(baseline: int, current: int, pct: int) -> bool:
    """(baseline - current) / baseline < pct %, in integers (exact at the boundary)."""
    return (baseline - current) * 100 < pct * baseline


def lost_at_least(best_gain: int, current_gain: int, pct: int) -> bool:
    """The gain fell by >= pct % of the best gain (exact integer arithmetic)."""
    return best_gain > 0 and (best_gain - current_gain) * 100 >= pct * best_gain


@dataclass
class StartEscalation(Policy):
    name = "start-escalation"
    title = "START: +1.5 mg/kg for non-response at weeks 22-46"
    citation = START_CITATION
    seed_tags = ("S5",)

    step_mg_per_kg: float = 1.5  # Rahman 2007 (S5)
    response_pct: int = 20  # Rahman 2007 (S5): improvement of at least 20 %
    flare_pct: int = 50  # Rahman 2007 (S5): improvement worsened by 50 % or more
    escalation_infusions: tuple[int, ...] = (5, 6, 7, 8)  # weeks 22, 30, 38, 46 (S5)
    flare_reference_from_day: int = 147  # Assumption: week 22 less 7 days
    rules: str = "jp"

    def plan(self, state: PatientState) -> Plan:
        n = state.n_given
        if n < 3:
            return state.induction_plan("START: 3 mg/kg induction at weeks 0, 2, 6.", [])
        if n == 3:
            return Plan("infuse", "START: 3 mg/kg at week 14.", 3.0, 8.0, LABEL_INTERVAL_WEEKS)
        current = state.current_mg_per_kg()
        if n + 1 not in self.escalation_infusions:
            return Plan(
                "infuse",
                f"START: continue {current:g} mg/kg every 8 weeks (escalation only at weeks 22, 30, 38, 46).",
                current,
                8.0,
                LABEL_INTERVAL_WEEKS,
            )
        return self._evaluate(state, current)

    def _evaluate(self, state: PatientState, current: float) -> Plan:
        base, visit = state.baseline_assessment(), state.visit_assessment()
        if base is None or visit is None:
            missing = "baseline" if base is None else "this visit's"
            return Plan(
                "wait",
                f"START: {missing} tender/swollen joint count is needed to judge response "
                f"before this infusion; meanwhile {current:g} mg/kg.",
                current,
                8.0,
                8.0,
            )
        if base.tjc_sjc == 0:
            return Plan(
                "infuse",
                f"START: baseline TJC+SJC is 0, so improvement cannot be judged; continue {current:g} mg/kg.",
                current,
                8.0,
                8.0,
            )
        gain = base.tjc_sjc - visit.tjc_sjc
        pct = 100 * gain / base.tjc_sjc
        counts = f"TJC+SJC {base.tjc_sjc} at baseline, {visit.tjc_sjc} now ({pct:.1f} % improvement)"
        if improved_less_than(base.tjc_sjc, visit.tjc_sjc, self.response_pct):
            return self._escalate(current, f"primary non-response: {counts} < {self.response_pct} %")
        earlier = [
            a
            for a in state.history.assessments
            if state.history.day_of(a.date) >= self.flare_reference_from_day and a.date < visit.date
        ]
        best = max((base.tjc_sjc - a.tjc_sjc for a in earlier), default=0)
        if lost_at_least(best, gain, self.flare_pct):
            return self._escalate(
                current,
                f"secondary non-response: {counts}; the best improvement "
                f"({best} joints) worsened by >= {self.flare_pct} %",
            )
        return Plan("infuse", f"START: response maintained ({counts}); continue {current:g} mg/kg.", current, 8.0, 8.0)

    def _escalate(self, current: float, why: str) -> Plan:
        ceiling = max_dose_mg_per_kg(LABEL_INTERVAL_WEEKS, self.rules)
        wanted = current + self.step_mg_per_kg
        if wanted > ceiling:
            flag = warning(
                "start-ceiling",
                f"escalation to {wanted:g} mg/kg would exceed the label "
                f"ceiling {ceiling:g} mg/kg; kept at {min(current, ceiling):g}",
                LABEL_CITATION,
            )
            return Plan(
                "infuse",
                f"START: {why}; at the label ceiling, dose not raised.",
                min(current, ceiling),
                8.0,
                8.0,
                flags=[flag],
            )
        return Plan(
            "infuse",
            f"START: {why}, so +{self.step_mg_per_kg:g} mg/kg: {current:g} -> {wanted:g} mg/kg.",
            wanted,
            8.0,
            8.0,
        )
