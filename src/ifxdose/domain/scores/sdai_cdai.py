"""SDAI and CDAI, summed exactly in Decimal, with categories.

SDAI = TJC28 + SJC28 + PtGA (0-10 cm) + PhGA (0-10 cm) + CRP (mg/dL)
CDAI = TJC28 + SJC28 + PtGA (0-10 cm) + PhGA (0-10 cm)
Source: Felson DT et al., Ann Rheum Dis 2011;70:404-13, Table 6 footnote [primary];
PMC2678269 Table 1 [secondary]. The sum of the inputs as typed is exact, so the category
is decided on it unrounded and it is displayed unrounded (no rounding can disagree).
"""

from __future__ import annotations

from decimal import Decimal

from ifxdose.domain.scores._exact import Band, Cutoffs, dec, plain
from ifxdose.domain.scores._fields import CrpMgDl, CrpMgL, Sjc28, Tjc28, VasCm, VasMm, measure
from ifxdose.domain.scores._units import in_large
from ifxdose.domain.scores.results import Score

D = Decimal

#: Felson 2011 ARD Table 3 [primary]: remission <=3.3, low <=11, moderate <=26, high >26.
SDAI_CUTOFFS = Cutoffs(
    "sdai-acr-eular-2011",
    "Felson DT et al. Ann Rheum Dis 2011;70:404-13 (Tables 3, 6)",
    (Band("remission", D("3.3")), Band("low", D(11)), Band("moderate", D(26)), Band("high")),
)
#: Felson 2011 ARD Table 3 [primary]: remission <=2.8, low <=10, moderate <=22, high >22.
CDAI_CUTOFFS = Cutoffs(
    "cdai-acr-eular-2011",
    "Felson DT et al. Ann Rheum Dis 2011;70:404-13 (Table 3)",
    (Band("remission", D("2.8")), Band("low", D(10)), Band("moderate", D(22)), Band("high")),
)


def _clinical_sum(
    tjc28: int, sjc28: int, ptga_mm: float | None, ptga_cm: float | None, phga_mm: float | None, phga_cm: float | None
) -> Decimal:
    ptga = in_large("ptga_mm", ptga_mm, ptga_cm, required=True)
    phga = in_large("phga_mm", phga_mm, phga_cm, required=True)
    assert ptga is not None and phga is not None
    return dec(tjc28) + dec(sjc28) + ptga + phga


def _result(name: str, total: Decimal, cutoffs: Cutoffs) -> Score:
    return Score(
        measure=name,
        value=float(total),
        display=plain(total),
        category=cutoffs.classify(total),
        cutoffs=cutoffs.name,
        decided_on=plain(total),
    )


@measure
def cdai(
    *,
    tjc28: Tjc28,
    sjc28: Sjc28,
    ptga_cm: VasCm | None = None,
    phga_cm: VasCm | None = None,
    ptga_mm: VasMm | None = None,
    phga_mm: VasMm | None = None,
) -> Score:
    """Clinical Disease Activity Index (globals in cm, or mm converted exactly)."""
    total = _clinical_sum(tjc28, sjc28, ptga_mm, ptga_cm, phga_mm, phga_cm)
    return _result("CDAI", total, CDAI_CUTOFFS)


@measure
def sdai(
    *,
    tjc28: Tjc28,
    sjc28: Sjc28,
    crp_mg_dl: CrpMgDl | None = None,
    crp_mg_l: CrpMgL | None = None,
    ptga_cm: VasCm | None = None,
    phga_cm: VasCm | None = None,
    ptga_mm: VasMm | None = None,
    phga_mm: VasMm | None = None,
) -> Score:
    """Simplified Disease Activity Index (CRP in mg/dL; mg/L is divided by 10 exactly)."""
    crp = in_large("crp_mg_l", crp_mg_l, crp_mg_dl, required=True)
    assert crp is not None
    total = _clinical_sum(tjc28, sjc28, ptga_mm, ptga_cm, phga_mm, phga_cm) + crp
    return _result("SDAI", total, SDAI_CUTOFFS)
