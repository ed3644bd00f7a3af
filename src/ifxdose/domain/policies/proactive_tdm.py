"""Trough-guided policies: NOR-DRUM B proactive TDM and the Mulleman 2009 RA table.

Both start with label induction and act from the 4th infusion on the latest trough since
the previous infusion. Step sizes that the sources do not give are configurable
assumptions (docs/policies.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ifxdose.domain.decisions.activity import das28_of
from ifxdose.domain.decisions.cite import cite
from ifxdose.domain.decisions.table import HIGH_TROUGH_MG_L
from ifxdose.domain.patient import Level
from ifxdose.domain.policies.base import PatientState, Plan, Policy, warning
from ifxdose.domain.policies.steps import step_down, step_up
from ifxdose.domain.policies.troughs import describe, trough_band

NORDRUM = cite("nordrum")
MULLEMAN = cite("mulleman-2009")


def _no_trough(dose: float, interval: float) -> Plan:
    return Plan(
        "wait",
        f"No trough since the previous infusion: draw a pre-dose trough and decide on the "
        f"result; meanwhile {dose:g} mg/kg every {interval:g} weeks.",
        dose,
        interval,
        interval,
    )


@dataclass
class NordrumTdm(Policy):
    """Keep the trough in 3-8 mg/L. ADA >= 50 µg/L -> switch (seed S13) is the shared safety
    rule of every policy (``decisions.ada``), applied by :meth:`Policy.decide`."""

    name = "nordrum-tdm"
    title = "NOR-DRUM B proactive TDM (trough 3-8 mg/L)"
    citation = NORDRUM
    seed_tags = ("S13",)

    low_mg_l: float = 3.0  # S13: therapeutic range 3-8 mg/L (both ends in range)
    high_mg_l: float = 8.0  # S13
    dose_step_mg_per_kg: float = 1.5  # Assumption: START step (S5); NOR-DRUM steps not found
    interval_step_weeks: float = 2.0  # Assumption: S10's 8 -> 6 weeks; NOR-DRUM steps not found
    prefer: Literal["dose", "interval"] = "dose"  # Assumption
    rules: str = "jp"

    def plan(self, state: PatientState) -> Plan:
        if state.n_given < 3:
            return state.induction_plan(
                "NOR-DRUM B is maintenance TDM; label induction first: 3 mg/kg at weeks 0, 2, 6.", []
            )
        dose, interval = state.current_mg_per_kg(), state.last_gap_weeks()
        level = state.latest_trough()
        if level is None:
            return _no_trough(dose, interval)
        return self._on_trough(level, dose, interval)

    def _on_trough(self, level: Level, dose: float, interval: float) -> Plan:
        seen = describe(level)
        band = trough_band(level, self.low_mg_l, self.high_mg_l, high_inclusive=True)
        target = f"{self.low_mg_l:g}-{self.high_mg_l:g} mg/L"
        if band == "unknown":
            return Plan(
                "wait",
                f"{seen}: the LLOQ is above {self.low_mg_l:g} mg/L, so the band is unknown; "
                f"retest with a more sensitive assay; meanwhile {dose:g} mg/kg.",
                dose,
                interval,
                interval,
            )
        if band == "target":
            return Plan(
                "infuse",
                f"{seen} is within {target}: keep {dose:g} mg/kg every {interval:g} weeks.",
                dose,
                interval,
                interval,
            )
        if band == "low":
            step = step_up(
                dose,
                interval,
                rules=self.rules,
                prefer=self.prefer,
                dose_step_mg_per_kg=self.dose_step_mg_per_kg,
                interval_step_weeks=self.interval_step_weeks,
            )
            if not step.how:
                return Plan(
                    "infuse",
                    f"{seen} is below {target}, but dose and interval are at the label's limits: "
                    f"keep {dose:g} mg/kg every {interval:g} weeks and consider switching.",
                    dose,
                    interval,
                    interval,
                )
            return Plan(
                "infuse",
                f"{seen} is below {target}: {step.how}.",
                step.dose_mg_per_kg,
                step.interval_weeks,
                step.interval_weeks,
            )
        step = step_down(
            dose,
            interval,
            dose_step_mg_per_kg=self.dose_step_mg_per_kg,
            interval_step_weeks=self.interval_step_weeks,
            rules=self.rules,
        )
        if not step.how:
            return Plan(
                "infuse",
                f"{seen} is above {target}, but {dose:g} mg/kg every {interval:g} weeks is the "
                "label standard: keep it.",
                dose,
                interval,
                interval,
            )
        return Plan(
            "infuse",
            f"{seen} is above {target}: {step.how}.",
            step.dose_mg_per_kg,
            step.interval_weeks,
            step.interval_weeks,
        )


Control = Literal["optimal", "acceptable", "inadequate"]


#: Mulleman 2009 Table 1: (trough band, disease control) -> decision.
MULLEMAN_TABLE: dict[tuple[str, Control], str] = {
    ("high", "optimal"): "decrease",
    ("high", "acceptable"): "keep",
    ("high", "inadequate"): "switch",
    ("target", "optimal"): "keep",
    ("target", "acceptable"): "keep",
    ("target", "inadequate"): "increase",
    # Assumption: the table's "Low" row gives "increase" without an optimal-control cell; with
    # optimal control we keep the dose.
    ("low", "optimal"): "keep",
    ("low", "acceptable"): "increase",
    ("low", "inadequate"): "increase",
}


@dataclass
class Mulleman2009(Policy):
    """RA trough table: < 2 increase, 2-8 keep, >= 8 decrease (or switch if control is inadequate)."""

    name = "mulleman-2009"
    title = "Mulleman 2009 RA trough table"
    citation = MULLEMAN

    low_mg_l: float = 2.0  # Mulleman 2009 Table 1: low C < 2.0
    high_mg_l: float = HIGH_TROUGH_MG_L  # Mulleman 2009 Table 1: high C >= 8.0
    max_dose_mg_per_kg: float = 7.5  # Mulleman 2009: maximal = at least 7.5 mg/kg ...
    min_interval_weeks: float = 4.0  # ... or an interval of not more than 4 weeks
    optimal_das28_below: Decimal = Decimal("2.6")  # Assumption: DAS28 remission = optimal control
    adequate_das28_max: Decimal = Decimal("3.2")  # Assumption: DAS28 <= 3.2 (low activity) = acceptable
    dose_step_mg_per_kg: float = 1.5  # Assumption: 3 -> 4.5 -> 6 -> 7.5 reaches the 7.5 ceiling
    interval_step_weeks: float = 2.0  # Assumption (S10: 8 -> 6 weeks)
    rules: str = "jp"

    def control(self, das28: Decimal | None) -> Control:
        if das28 is None:
            return "acceptable"
        if das28 < self.optimal_das28_below:
            return "optimal"
        return "acceptable" if das28 <= self.adequate_das28_max else "inadequate"

    def plan(self, state: PatientState) -> Plan:
        if state.n_given < 3:
            return state.induction_plan(
                "Label induction: 3 mg/kg at weeks 0, 2, 6 (Mulleman 2009 applies in maintenance).", []
            )
        dose, interval = state.current_mg_per_kg(), state.last_gap_weeks()
        level = state.latest_trough()
        if level is None:
            return _no_trough(dose, interval)
        band = trough_band(level, self.low_mg_l, self.high_mg_l, high_inclusive=False)
        if band == "unknown":
            return Plan(
                "wait",
                f"{describe(level)}: LLOQ above {self.low_mg_l:g} mg/L, band unknown; retest.",
                dose,
                interval,
                interval,
            )
        visit = state.visit_assessment()
        das28 = None if visit is None else das28_of(visit, state.history.labs)
        flags = (
            []
            if das28 is not None
            else [
                warning(
                    "mulleman-no-das28",
                    "no DAS28 since the last infusion: disease control taken as acceptable",
                    MULLEMAN,
                )
            ]
        )
        control = self.control(das28)
        what = MULLEMAN_TABLE[(band, control)]
        seen = f"{describe(level)} ({band}), disease control {control}" + (
            f" (DAS28 {das28})" if das28 is not None else ""
        )
        plan = self._act(what, seen, dose, interval)
        plan.flags = flags + plan.flags
        return plan

    def _act(self, what: str, seen: str, dose: float, interval: float) -> Plan:
        if what == "switch":
            return Plan("switch", f"{seen}: high trough with inadequate control; switch to another biologic.")
        if what == "keep":
            return Plan("infuse", f"{seen}: keep {dose:g} mg/kg every {interval:g} weeks.", dose, interval, interval)
        if what == "decrease":
            step = step_down(
                dose,
                interval,
                dose_step_mg_per_kg=self.dose_step_mg_per_kg,
                interval_step_weeks=self.interval_step_weeks,
            )
            text = step.how or f"already at the label standard, keep {dose:g} mg/kg"
            return Plan(
                "infuse", f"{seen}: decrease: {text}.", step.dose_mg_per_kg, step.interval_weeks, step.interval_weeks
            )
        maximal = dose >= self.max_dose_mg_per_kg or interval <= self.min_interval_weeks
        step = step_up(
            dose,
            interval,
            rules=self.rules,
            prefer="dose",
            dose_step_mg_per_kg=self.dose_step_mg_per_kg,
            interval_step_weeks=self.interval_step_weeks,
            max_dose_mg_per_kg_policy=self.max_dose_mg_per_kg,
            min_interval_weeks_policy=self.min_interval_weeks,
        )
        if maximal or not step.how:
            return Plan(
                "infuse",
                f"{seen}: increase indicated but the dosage is maximal "
                f"(>= {self.max_dose_mg_per_kg:g} mg/kg or every {self.min_interval_weeks:g} weeks); "
                f"keep {dose:g} mg/kg.",
                dose,
                interval,
                interval,
            )
        return Plan(
            "infuse", f"{seen}: increase: {step.how}.", step.dose_mg_per_kg, step.interval_weeks, step.interval_weeks
        )


__all__ = ["Control", "MULLEMAN", "MULLEMAN_TABLE", "Mulleman2009", "NORDRUM", "NordrumTdm", "das28_of"]
