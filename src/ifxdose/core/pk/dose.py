"""One dose as a typed value, and the one conversion of its route to the kernel's code.

``Dose`` is a ``NamedTuple``: named, typed and immutable, and still unpacks as the
``(time_days, amount_mg, duration_days, route)`` tuple the event tables are built from.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from ifxdose.core.errors import InputError
from ifxdose.core.pk.events import ROUTE_IV, ROUTE_SC

Route = Literal["iv", "sc"]

#: Assumption: a planned (future) IV infusion lasts 2 hours, the label's minimum infusion time
#: (Mitsubishi Tanabe patient information, "点滴は2時間以上": ``decisions.cite("label-jp-infusion")``;
#: ATTRACT infused over 2 hours, S4-attract-1999).
LABEL_INFUSION_DAYS = 2.0 / 24.0

_ROUTE_CODES = {"iv": ROUTE_IV, "sc": ROUTE_SC}


def route_code(route: str) -> int:
    """The kernel's route code (``ROUTE_IV``/``ROUTE_SC``) for ``"iv"`` or ``"sc"``."""
    try:
        return _ROUTE_CODES[route]
    except KeyError:
        raise InputError("route", route, "allowed are 'iv' and 'sc'") from None


class Dose(NamedTuple):
    """A dose given (or planned) on a study day: mg, infusion time in days (0 for SC), route."""

    time_days: float
    amount_mg: float
    duration_days: float
    route: Route = "iv"

    @classmethod
    def infusion(cls, time_days: float, amount_mg: float) -> Dose:
        """A planned IV infusion of the label's duration (:data:`LABEL_INFUSION_DAYS`)."""
        return cls(time_days, amount_mg, LABEL_INFUSION_DAYS, "iv")

    def coded(self) -> tuple[float, float, float, int]:
        """``(time_days, amount_mg, duration_days, route code)`` for ``DoseTable.from_lists``."""
        return (self.time_days, self.amount_mg, self.duration_days, route_code(self.route))
