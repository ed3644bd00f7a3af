"""Change in the modified total Sharp score (van der Heijde), with a detectability flag.

Range 0-448 (van der Heijde et al., Rheumatology, SENS paper abstract [primary]).
Smallest detectable difference (SDD), in SHS units:
- 5.0: 1-year progression, Bruynesteyn K et al., Arthritis Rheum 2002;46:913-20 [abstract];
- 11 and 15.5: early RA, one / two trained observers, Lassere M et al. (OMERACT) [abstract].
Non-progression: change <= 0.5 (used in the etanercept VERA/ERA ARD table [secondary]).
Assumption: a change is called detectable when it is strictly greater than the SDD.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from ifxdose.domain.scores._exact import dec, plain
from ifxdose.domain.scores._fields import Mtss, measure

SDD_BRUYNESTEYN_2002 = 5.0
SDD_LASSERE_ONE_READER = 11.0
SDD_LASSERE_TWO_READERS = 15.5
NON_PROGRESSION_MAX = Decimal("0.5")


class SharpChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    measure: str = "mTSS change"
    change: float
    display: str
    sdc: float
    exceeds_sdc: bool
    non_progression: bool


@measure
def mtss_change(*, baseline_mtss: Mtss, followup_mtss: Mtss, sdc: Mtss = SDD_BRUYNESTEYN_2002) -> SharpChange:
    """Follow-up minus baseline mTSS; flags a change beyond the smallest detectable one."""
    change = dec(followup_mtss) - dec(baseline_mtss)
    return SharpChange(
        change=float(change),
        display=plain(change),
        sdc=sdc,
        exceeds_sdc=change > dec(sdc),
        non_progression=change <= NON_PROGRESSION_MAX,
    )
