"""RRRR: TNF-alpha-programmed dosing, then stopping in remission (Tanaka Y et al. Ann Rheum
Dis 2020;79:94-102; seed S15; TNF categories from Takeuchi T et al. Ann Rheum Dis
2011;70:1208-15, seed S14).

3 mg/kg at weeks 0, 2, 6. From week 14, by baseline TNF-alpha:
< 0.55 pg/mL -> 3 mg/kg every 8 weeks; 0.55 to < 1.65 -> 6 mg/kg every 8 weeks;
>= 1.65 -> 6 mg/kg at week 14, then 10 mg/kg every 8 weeks from week 22.
At week 54 (the 9th infusion) infliximab stops if SDAI <= 3.3 (remission). The seed writes
"< 3.3"; the default is the published SDAI remission definition, <= 3.3 (Felson DT et al.
Ann Rheum Dis 2011;70:404-13), and ``sdai_stop_inclusive=False`` gives the seed's reading.
The ``standard`` arm is label dosing with the same week-54 stop rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ifxdose.core.errors import InputError
from ifxdose.domain import scores
from ifxdose.domain.decisions.cite import cite
from ifxdose.domain.patient import JointAssessment
from ifxdose.domain.policies.base import LABEL_INTERVAL_WEEKS, PatientState, Plan, Policy

RRRR = cite("rrrr")
RISING_TNF = cite("rising-tnf")
STOP_INFUSION = 9  # weeks 0, 2, 6, 14, 22, 30, 38, 46, 54: the 9th infusion is at week 54


def tnf_tier(
    tnf_pg_ml: float, low_below: Decimal = Decimal("0.55"), high_from: Decimal = Decimal("1.65")
) -> Literal["low", "intermediate", "high"]:
    """S14/S15 categories: low < 0.55, intermediate 0.55 to < 1.65, high >= 1.65 pg/mL (exact decimals)."""
    value = Decimal(str(tnf_pg_ml))
    if value < low_below:
        return "low"
    return "intermediate" if value < high_from else "high"


#: Dose (mg/kg) by tier: at week 14, and from week 22 on (S15).
TIER_DOSES = {"low": (3.0, 3.0), "intermediate": (6.0, 6.0), "high": (6.0, 10.0)}


@dataclass
class RrrrProgrammed(Policy):
    name = "rrrr-programmed"
    title = "RRRR: TNF-alpha-programmed dosing, stop at week 54 in SDAI remission"
    citation = RRRR
    seed_tags = ("S15", "S14")

    arm: Literal["programmed", "standard"] = "programmed"
    sdai_stop_max: Decimal = Decimal("3.3")  # Felson 2011 SDAI remission <= 3.3 (seed writes < 3.3)
    sdai_stop_inclusive: bool = True
    rules: str = "jp"

    def __post_init__(self) -> None:
        if self.arm == "standard":
            self.name = "rrrr-standard"
            self.title = "RRRR standard arm: label dosing, stop at week 54 in SDAI remission"

    def plan(self, state: PatientState) -> Plan:
        n = state.n_given
        if n < 3:
            return state.induction_plan("RRRR: 3 mg/kg at weeks 0, 2, 6.", [])
        dose, why = self._maintenance_dose(state, first=(n == 3))
        if n + 1 == STOP_INFUSION:
            stop = self._stop_rule(state, dose)
            if stop is not None:
                return stop
        return Plan("infuse", why, dose, LABEL_INTERVAL_WEEKS, LABEL_INTERVAL_WEEKS, [RISING_TNF])

    def _maintenance_dose(self, state: PatientState, first: bool) -> tuple[float, str]:
        if self.arm == "standard":
            return 3.0, "RRRR standard arm: 3 mg/kg every 8 weeks."
        tnf = state.history.baseline_tnf_pg_ml
        if tnf is None:
            raise InputError(
                "baseline_tnf_pg_ml",
                None,
                "rrrr-programmed needs the baseline serum TNF-alpha in pg/mL from week 14 on",
            )
        tier = tnf_tier(tnf)
        dose = TIER_DOSES[tier][0 if first else 1]
        week = "week 14" if first else "from week 22"
        return dose, (
            f"RRRR: baseline TNF-alpha {tnf:g} pg/mL is {tier} (<0.55 / 0.55-1.65 / >=1.65), "
            f"so {dose:g} mg/kg every 8 weeks {week}."
        )

    def _stop_rule(self, state: PatientState, dose: float) -> Plan | None:
        visit = state.visit_assessment()
        sdai = None if visit is None else self._sdai(state, visit)
        if sdai is None:
            return Plan(
                "wait",
                "RRRR week 54: an SDAI (TJC28, SJC28, patient and physician global, CRP) is "
                f"needed to decide on stopping; meanwhile {dose:g} mg/kg.",
                dose,
                8.0,
                8.0,
            )
        limit = self.sdai_stop_max
        remission = sdai <= limit if self.sdai_stop_inclusive else sdai < limit
        sign = "<=" if self.sdai_stop_inclusive else "<"
        if remission:
            return Plan(
                "stop",
                f"RRRR week 54: SDAI {sdai} {sign} {limit} (remission), so stop infliximab and monitor for flare.",
                citations=[cite("felson-2011")],
            )
        return Plan(
            "infuse",
            f"RRRR week 54: SDAI {sdai} is not {sign} {limit}; continue {dose:g} mg/kg every 8 weeks.",
            dose,
            8.0,
            8.0,
        )

    @staticmethod
    def _sdai(state: PatientState, visit: JointAssessment) -> Decimal | None:
        crp = visit.crp_mg_l
        if crp is None:
            crp = next(
                (lab.crp_mg_l for lab in state.history.labs if lab.date == visit.date and lab.crp_mg_l is not None),
                None,
            )
        if crp is None or visit.ptga_mm is None or visit.phga_mm is None:
            return None
        score = scores.sdai(
            tjc28=visit.tjc28, sjc28=visit.sjc28, crp_mg_l=crp, ptga_mm=visit.ptga_mm, phga_mm=visit.phga_mm
        )
        return Decimal(score.decided_on)
