"""Fixed regimens: the label, and the seed's trial arms for replication.

The n-th infusion of the regimen follows the (n-1)-th by the regimen's gap. When the
regimen has no further dose, the policy says ``stop`` (trial arm complete).
"""

from __future__ import annotations

from dataclasses import dataclass

from ifxdose.core.errors import InputError
from ifxdose.domain.dosing.regimen import parse_regimen
from ifxdose.domain.policies.base import PatientState, Plan, Policy

#: Listing horizon for open-ended regimens (10 years; a policy decides one infusion at a time).
_HORIZON_DAYS = 3650.0


@dataclass
class FixedRegimenPolicy(Policy):
    """A regimen given as written, whatever the patient's state."""

    name: str
    title: str
    regimen: str
    citation: str
    seed_tags: tuple[str, ...] = ()
    rules: str = "jp"

    def __post_init__(self) -> None:
        doses = parse_regimen(self.regimen).doses(_HORIZON_DAYS)
        if any(d.dose_unit != "mg/kg" for d in doses):
            raise InputError("regimen", self.regimen, "fixed policies are written in mg/kg")
        self._doses = doses

    def plan(self, state: PatientState) -> Plan:
        n = state.n_given
        if n >= len(self._doses):
            return Plan(
                "stop",
                f"All {len(self._doses)} infusions of '{self.regimen}' have been given: "
                f"the {self.title} regimen is complete.",
            )
        dose = self._doses[n]
        gap = None if n == 0 else (dose.time_days - self._doses[n - 1].time_days) / 7.0
        week = dose.time_days / 7.0
        return Plan(
            "infuse",
            f"{self.title}: infusion {n + 1} of '{self.regimen}', "
            f"{dose.dose:g} mg/kg at week {week:g} of the schedule.",
            dose.dose,
            gap,
            gap,
        )


def _arm(name: str, title: str, regimen: str, citation: str, *tags: str) -> FixedRegimenPolicy:
    return FixedRegimenPolicy(name=name, title=title, regimen=regimen, citation=citation, seed_tags=tags)


LABEL = (
    "label",
    "Label dosing (3 mg/kg at weeks 0, 2, 6, then every 8 weeks)",
    "3 mg/kg at weeks 0,2,6 then every 8 weeks",
    "Remicade JP label, 用法・用量 <関節リウマチ> (https://expydoc.com/doc/9625991/); REMICADE US PI",
)
ATTRACT = "Maini RN et al. Lancet 1999;354:1932-9 (ATTRACT); Lipsky PE et al. N Engl J Med 2000;343:1594-602"
RISING = "Takeuchi T et al. Mod Rheumatol 2009;19:478-87 (RISING)"


def fixed_policies() -> dict[str, FixedRegimenPolicy]:
    """The label and the trial arms.

    Assumption: ATTRACT arms run to week 50 (last q4w dose; q8w last at week 46), before the
    week-54 assessment (S6); RISING arms give the randomised dose every 8 weeks from week 14
    to week 46, before the week-54 endpoint and trough (S11).
    """
    arms = [_arm(*LABEL, "S0")]
    for dose in (3, 10):
        for every in (8, 4):
            arms.append(
                _arm(
                    f"attract-{dose}q{every}",
                    f"ATTRACT {dose} mg/kg every {every} weeks",
                    f"{dose} mg/kg at weeks 0,2,6 then every {every} weeks until week 50",
                    ATTRACT,
                    "S4",
                    "S6",
                )
            )
    for dose in (3, 6, 10):
        arms.append(
            _arm(
                f"rising-{dose}",
                f"RISING {dose} mg/kg from week 14",
                f"3 mg/kg at weeks 0,2,6; {dose} mg/kg every 8 weeks from week 14 until week 46",
                RISING,
                "S11",
            )
        )
    return {arm.name: arm for arm in arms}
