"""DAS28-ESR and DAS28-CRP, 4- and 3-variable forms, with disease-activity categories.

Formulas verbatim from das-score.nl (Radboud UMC Nijmegen, downloads page) [primary]:

    DAS28(4)     = 0.56*sqrt(t28) + 0.28*sqrt(sw28) + 0.70*ln(ESR) + 0.014*GH
    DAS28(3)     = [0.56*sqrt(t28) + 0.28*sqrt(sw28) + 0.70*ln(ESR)]*1.08 + 0.16
    DAS28-CRP(4) = 0.56*sqrt(TJC28) + 0.28*sqrt(SJC28) + 0.36*ln(CRP+1) + 0.014*GH + 0.96
    DAS28-CRP(3) = [0.56*sqrt(TJC28) + 0.28*sqrt(SJC28) + 0.36*ln(CRP+1)]*1.10 + 1.15

ESR in mm/h, CRP in mg/L, GH (patient global) on a 100 mm VAS. The 3-variable form is
used when no patient global is given. The score is evaluated in 34-digit Decimal
arithmetic, rounded half-up to 2 decimals (its reporting precision) and the category is
decided on that rounded value, so the displayed score and its category always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Callable, Literal

from ifxdose.domain.scores._exact import CONTEXT, Band, Cutoffs, dec, round_half_up
from ifxdose.domain.scores._fields import CrpMgDl, CrpMgL, EsrMmH, Sjc28, Tjc28, VasCm, VasMm, measure
from ifxdose.domain.scores._units import in_canonical
from ifxdose.domain.scores.results import Score

D = Decimal

#: ACR/EULAR 2011 (Felson et al., Ann Rheum Dis 2011, Table 3): remission <2.6,
#: low 2.6-3.2 (3.2 included), moderate >3.2-5.1, high >5.1. Default.
ACR_EULAR_2011 = Cutoffs(
    "acr-eular-2011",
    "Felson DT et al. Ann Rheum Dis 2011;70:404-13 (Table 3); das-score.nl",
    (Band("remission", D("2.6"), False), Band("low", D("3.2")), Band("moderate", D("5.1")), Band("high")),
)
#: das-score.nl wording: "low disease activity <3.2", so exactly 3.2 is moderate.
DAS_SCORE_NL = Cutoffs(
    "das-score-nl",
    "das-score.nl downloads page (Radboud UMC): remission <2.6, low <3.2, high >5.1",
    (Band("remission", D("2.6"), False), Band("low", D("3.2"), False), Band("moderate", D("5.1")), Band("high")),
)
#: DAS28-CRP thresholds: remission 2.4 and low 2.9 from Fleischmann R et al., RMD Open
#: 2017;3:e000382 (abstract). Assumption: high >4.6 is from code only (CamCOPS,
#: RheumaComposites.jl); edges assumed like ACR/EULAR (remission strict, others closed).
CRP_FLEISCHMANN_2017 = Cutoffs(
    "crp-fleischmann-2017",
    "Fleischmann R et al. RMD Open 2017;3:e000382 (2.4, 2.9); 4.6 from code only (assumption)",
    (Band("remission", D("2.4"), False), Band("low", D("2.9")), Band("moderate", D("4.6")), Band("high")),
)
CUTOFFS: dict[str, Cutoffs] = {c.name: c for c in (ACR_EULAR_2011, DAS_SCORE_NL, CRP_FLEISCHMANN_2017)}
CutoffName = Literal["acr-eular-2011", "das-score-nl", "crp-fleischmann-2017"]


@dataclass(frozen=True)
class _Formula:
    """One DAS28 variant (das-score.nl): APR term and the 4-/3-variable constants."""

    name: str
    apr_coefficient: Decimal
    apr_transform: Callable[[Decimal], Decimal]
    constant_4: Decimal
    factor_3: Decimal
    constant_3: Decimal


_ESR = _Formula("DAS28-ESR", D("0.70"), lambda esr: esr.ln(), D(0), D("1.08"), D("0.16"))
_CRP = _Formula("DAS28-CRP", D("0.36"), lambda crp: (crp + 1).ln(), D("0.96"), D("1.10"), D("1.15"))


def _evaluate(formula: _Formula, tjc28: int, sjc28: int, apr: Decimal, ptga_mm: Decimal | None) -> Decimal:
    with localcontext(CONTEXT):
        core = (
            D("0.56") * D(tjc28).sqrt()
            + D("0.28") * D(sjc28).sqrt()
            + formula.apr_coefficient * formula.apr_transform(apr)
        )
        if ptga_mm is None:
            return core * formula.factor_3 + formula.constant_3
        return core + D("0.014") * ptga_mm + formula.constant_4


def das28_category(das28: float | Decimal, cutoffs: CutoffName = "acr-eular-2011") -> str:
    """Category of a DAS28 value, decided on the value rounded half-up to 2 decimals."""
    return CUTOFFS[cutoffs].classify(round_half_up(dec(das28), 2))


def _score(
    formula: _Formula, tjc28: int, sjc28: int, apr: Decimal, ptga_mm: Decimal | None, cutoffs: CutoffName
) -> Score:
    exact = _evaluate(formula, tjc28, sjc28, apr, ptga_mm)
    shown = round_half_up(exact, 2)
    return Score(
        measure=f"{formula.name}({3 if ptga_mm is None else 4})",
        value=float(exact),
        display=str(shown),
        category=CUTOFFS[cutoffs].classify(shown),
        cutoffs=cutoffs,
        decided_on=str(shown),
    )


@measure
def das28_esr(
    *,
    tjc28: Tjc28,
    sjc28: Sjc28,
    esr_mm_h: EsrMmH,
    ptga_mm: VasMm | None = None,
    ptga_cm: VasCm | None = None,
    cutoffs: CutoffName = "acr-eular-2011",
) -> Score:
    """DAS28-ESR; 4-variable with a patient global (mm or cm), else 3-variable."""
    ptga = in_canonical("ptga_mm", ptga_mm, ptga_cm, required=False)
    return _score(_ESR, tjc28, sjc28, dec(esr_mm_h), ptga, cutoffs)


@measure
def das28_crp(
    *,
    tjc28: Tjc28,
    sjc28: Sjc28,
    crp_mg_l: CrpMgL | None = None,
    crp_mg_dl: CrpMgDl | None = None,
    ptga_mm: VasMm | None = None,
    ptga_cm: VasCm | None = None,
    cutoffs: CutoffName = "acr-eular-2011",
) -> Score:
    """DAS28-CRP (CRP in mg/L in the formula; mg/dL is converted exactly)."""
    crp = in_canonical("crp_mg_l", crp_mg_l, crp_mg_dl, required=True)
    ptga = in_canonical("ptga_mm", ptga_mm, ptga_cm, required=False)
    assert crp is not None
    return _score(_CRP, tjc28, sjc28, crp, ptga, cutoffs)
