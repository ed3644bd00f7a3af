"""ACR20/50/70 and ACR-N from baseline and follow-up ACR core sets.

Felson DT et al., Arthritis Rheum 1995;38:727-35 (ACR preliminary definition of
improvement) via the OMERACT glossary and an ARD criteria table [secondary]: ACRn is
>= n% improvement in tender AND swollen joint counts and >= n% improvement in at least
3 of 5: patient pain, patient global (PtGA), physician global (PhGA), physical function
(HAQ-DI) and an acute-phase reactant (CRP or ESR). Core-set joint counts are 68 tender /
66 swollen (CanACT core-set table [secondary]).

Assumptions (labelled in docs/scores.md):
- a missing secondary measure counts as "not improved" (as fragla/acreular [C]);
- the acute-phase reactant is CRP when both visits have CRP, else ESR, unless chosen;
- a baseline of 0 counts as "not improved" for that item;
- ACR-N = min(% TJC, % SJC, median % of the 5 other measures), all 5 required. This
  definition is UNVERIFIED: the ASPIRE/Bathon 2000 methods text was not found.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, model_validator

from ifxdose.core.errors import InputError
from ifxdose.domain.scores._exact import dec, plain, round_half_up
from ifxdose.domain.scores._fields import (
    CrpMgDl,
    CrpMgL,
    EsrMmH,
    HaqDi,
    Sjc66,
    Tjc68,
    VasCm,
    VasMm,
    measure,
    reject_unitless,
)
from ifxdose.domain.scores._improvement import improvement_pct, item_change
from ifxdose.domain.scores._units import in_canonical
from ifxdose.domain.scores.results import ItemChange, Score

LEVELS: tuple[Literal[20, 50, 70], ...] = (20, 50, 70)
SECONDARY_NEEDED = 3
Apr = Literal["auto", "crp", "esr"]


class CoreSet(BaseModel):
    """One visit's ACR core set. VAS in mm or cm, CRP in mg/L or mg/dL (one unit each)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tjc68: Tjc68
    sjc66: Sjc66
    pain_mm: VasMm | None = None
    pain_cm: VasCm | None = None
    ptga_mm: VasMm | None = None
    ptga_cm: VasCm | None = None
    phga_mm: VasMm | None = None
    phga_cm: VasCm | None = None
    haq_di: HaqDi | None = None
    crp_mg_l: CrpMgL | None = None
    crp_mg_dl: CrpMgDl | None = None
    esr_mm_h: EsrMmH | None = None

    @model_validator(mode="before")
    @classmethod
    def _units_named(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            reject_unitless(dict(data))
        return data

    def canonical(self) -> dict[str, Decimal | None]:
        """Every measure in one unit (mm, mg/L) as exact decimals."""

        def pair(name: str, alt: str) -> Decimal | None:
            return in_canonical(name, getattr(self, name), getattr(self, alt), required=False)

        return {
            "tjc68": dec(self.tjc68),
            "sjc66": dec(self.sjc66),
            "pain_mm": pair("pain_mm", "pain_cm"),
            "ptga_mm": pair("ptga_mm", "ptga_cm"),
            "phga_mm": pair("phga_mm", "phga_cm"),
            "haq_di": None if self.haq_di is None else dec(self.haq_di),
            "crp_mg_l": pair("crp_mg_l", "crp_mg_dl"),
            "esr_mm_h": None if self.esr_mm_h is None else dec(self.esr_mm_h),
        }


class AcrResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    measure: str = "ACR response"
    level: Literal[0, 20, 50, 70]
    acr20: bool
    acr50: bool
    acr70: bool
    apr_used: str | None
    components: list[ItemChange]
    missing: list[str]


def _choose_apr(base: dict[str, Any], follow: dict[str, Any], apr: Apr) -> str | None:
    if apr != "auto":
        key = "crp_mg_l" if apr == "crp" else "esr_mm_h"
        if base[key] is None or follow[key] is None:
            raise InputError("apr", apr, f"{key} must be given at both visits")
        return key
    for key in ("crp_mg_l", "esr_mm_h"):
        if base[key] is not None and follow[key] is not None:
            return key
    return None


def _pairs(
    baseline: CoreSet, followup: CoreSet, apr: Apr
) -> tuple[list[tuple[str, Decimal | None, Decimal | None]], str | None]:
    base = baseline.canonical()
    follow = followup.canonical()
    used = _choose_apr(base, follow, apr)
    names = ["tjc68", "sjc66", "pain_mm", "ptga_mm", "phga_mm", "haq_di"]
    names.append(used or "crp_mg_l")
    return [(n, base[n], follow[n]) for n in names], used


@measure
def acr_response(
    *,
    baseline: CoreSet,
    followup: CoreSet,
    apr: Apr = "auto",
) -> AcrResponse:
    """ACR20/50/70 with each component's improvement; ``level`` is the highest met."""
    pairs, used = _pairs(baseline, followup, apr)
    components = [item_change(name, b, f, LEVELS) for name, b, f in pairs]
    joints, secondary = components[:2], components[2:]

    def met(n: int) -> bool:
        key = str(n)
        return all(c.improved[key] for c in joints) and sum(c.improved[key] for c in secondary) >= SECONDARY_NEEDED

    flags = {n: met(n) for n in LEVELS}
    return AcrResponse(
        level=max([n for n in LEVELS if flags[n]], default=0),
        acr20=flags[20],
        acr50=flags[50],
        acr70=flags[70],
        apr_used=used,
        components=components,
        missing=[c.name for c in components if c.baseline is None or c.followup is None],
    )


@measure
def acr_n(
    *,
    baseline: CoreSet,
    followup: CoreSet,
    apr: Apr = "auto",
) -> Score:
    """ACR-N (Assumption, unverified definition): min(%TJC, %SJC, median of the other 5)."""
    pairs, _used = _pairs(baseline, followup, apr)
    pcts = [improvement_pct(b, f) for _name, b, f in pairs]
    known = [p for p in pcts if p is not None]
    if len(known) != len(pcts):
        missing = [name for (name, _b, _f), p in zip(pairs, pcts) if p is None]
        raise InputError("acr_n", missing, "all 7 core-set measures with a baseline > 0 are required at both visits")
    joints, others = known[:2], sorted(known[2:])
    value = min(*joints, others[2])
    return Score(
        measure="ACR-N (assumed definition)",
        value=float(value),
        display=str(round_half_up(value, 1)),
        decided_on=plain(value),
    )
