"""ACR/EULAR Boolean remission, 2011 and 2022 ("Boolean 2.0") versions.

2011: TJC <=1, SJC <=1, CRP <=1 mg/dL, PtGA <=1 (0-10 scale), all at once.
Felson DT et al., Arthritis Rheum 2011;63:573-86 and Ann Rheum Dis 2011;70:404-13,
Table 6 [primary]. 2022: PtGA <=2 cm, other items unchanged. Studenic P et al.,
Ann Rheum Dis 2023;82:74-80 and Arthritis Rheumatol 2023;75:15-22 [primary, abstract].
Each item is compared exactly in Decimal (10 mg/L is exactly 1 mg/dL).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ifxdose.domain.scores._exact import dec, plain
from ifxdose.domain.scores._fields import CrpMgDl, CrpMgL, Sjc28, Tjc28, VasCm, VasMm, measure
from ifxdose.domain.scores._units import in_large

#: PtGA limit (cm) by version; the other limits are 1 in both (sources above).
PTGA_LIMIT_CM = {"2011": Decimal(1), "2022": Decimal(2)}
Version = Literal["2011", "2022"]


class BooleanItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    value: str
    limit: str
    met: bool


class BooleanRemission(BaseModel):
    model_config = ConfigDict(frozen=True)

    measure: str
    remission: bool
    items: list[BooleanItem]
    #: Joints missed by the 28-joint count (feet, ankles) may hide activity (Felson 2011).
    note: str = "28-joint counts; including feet and ankles is preferable (Felson 2011)"


def _item(name: str, value: Decimal, limit: Decimal) -> BooleanItem:
    return BooleanItem(name=name, value=plain(value), limit=f"<= {plain(limit)}", met=value <= limit)


@measure
def boolean_remission(
    *,
    tjc28: Tjc28,
    sjc28: Sjc28,
    crp_mg_dl: CrpMgDl | None = None,
    crp_mg_l: CrpMgL | None = None,
    ptga_cm: VasCm | None = None,
    ptga_mm: VasMm | None = None,
    version: Version = "2011",
) -> BooleanRemission:
    """ACR/EULAR Boolean remission: every item at or below its limit."""
    crp = in_large("crp_mg_l", crp_mg_l, crp_mg_dl, required=True)
    ptga = in_large("ptga_mm", ptga_mm, ptga_cm, required=True)
    assert crp is not None and ptga is not None
    one = Decimal(1)
    items = [
        _item("tjc28", dec(tjc28), one),
        _item("sjc28", dec(sjc28), one),
        _item("crp_mg_dl", crp, one),
        _item("ptga_cm", ptga, PTGA_LIMIT_CM[version]),
    ]
    return BooleanRemission(
        measure=f"ACR/EULAR Boolean remission {version}", remission=all(i.met for i in items), items=items
    )
