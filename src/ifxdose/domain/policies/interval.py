"""Interval shortening when troughs are low (St Clair EW et al. Arthritis Rheum
2002;46:1451-9; seed S10): shortening 8 -> 6 weeks raises the concentration more than
adding 100 mg, so the first step for a low trough is a shorter interval.

Label dosing (3 mg/kg at weeks 0, 2, 6, then every 8 weeks); from the 4th infusion, a
trough below ``low_trough_mg_l`` shortens the interval by 2 weeks, down to the label's
shortest (4 weeks). Assumption: "low" is < 1 mg/L, the level above which ACR responses were
more frequent (S10) and associated with EULAR response in RISING (S11). At the shortest
interval the policy keeps the dose and says so (no dose increase: that is another policy).
"""

from __future__ import annotations

from dataclasses import dataclass

from ifxdose.domain.decisions.cite import cite
from ifxdose.domain.policies.base import PatientState, Plan, Policy
from ifxdose.domain.policies.steps import step_up
from ifxdose.domain.policies.troughs import describe, trough_band


@dataclass
class IntervalShortening(Policy):
    name = "interval-shortening"
    title = "Shorten 8 -> 6 -> 4 weeks for a low trough"
    citation = cite("st-clair-2002")
    seed_tags = ("S10", "S11")

    low_trough_mg_l: float = 1.0  # Assumption from S10/S11 (>= 1 ug/mL associated with response)
    interval_step_weeks: float = 2.0  # S10: 8 -> 6 weeks
    rules: str = "jp"

    def plan(self, state: PatientState) -> Plan:
        if state.n_given < 3:
            return state.induction_plan("Label induction: 3 mg/kg at weeks 0, 2, 6.", [])
        dose, interval = state.current_mg_per_kg(), state.last_gap_weeks()
        level = state.latest_trough()
        if level is None:
            return Plan(
                "infuse",
                f"No trough since the previous infusion: keep {dose:g} mg/kg every "
                f"{interval:g} weeks and draw a trough before this infusion.",
                dose,
                interval,
                interval,
            )
        band = trough_band(level, self.low_trough_mg_l, high_inclusive=True)
        seen = describe(level)
        if band != "low":
            return Plan(
                "infuse",
                f"{seen} is not below {self.low_trough_mg_l:g} mg/L (or cannot be judged): "
                f"keep {dose:g} mg/kg every {interval:g} weeks.",
                dose,
                interval,
                interval,
            )
        step = step_up(
            dose,
            interval,
            rules=self.rules,
            prefer="interval",
            dose_step_mg_per_kg=None,
            interval_step_weeks=self.interval_step_weeks,
        )
        if not step.how:
            return Plan(
                "infuse",
                f"{seen} is low, but {interval:g} weeks is the shortest interval allowed; "
                f"keep {dose:g} mg/kg and consider another strategy.",
                dose,
                interval,
                interval,
            )
        return Plan(
            "infuse",
            f"{seen} is below {self.low_trough_mg_l:g} mg/L: {step.how} (a shorter "
            "interval raises troughs more than +100 mg, S10).",
            step.dose_mg_per_kg,
            step.interval_weeks,
            step.interval_weeks,
        )
