"""What infliximab costs: a dated price table (``data/prices.toml``) and the cost of an
infusion, of a year, and of a whole regimen for one patient.

Money is exact (Decimal; JPY has no fractional unit). The default table holds the seed's
price, Remicade 100 mg = 75,009 JPY (April 2022, seed S0); biosimilars and other
currencies are further entries of the same table.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict

from ifxdose.core.errors import InputError, check_range
from ifxdose.domain.dosing.regimen import Regimen
from ifxdose.domain.dosing.vials import DEFAULT_TOLERANCE_PCT, Rounding, dose_mg, round_to_vials

DAYS_PER_YEAR = Decimal("365.25")
_MINOR_UNIT = {"JPY": Decimal(1)}  # other currencies: cents


@dataclass(frozen=True)
class VialPrice:
    product: str
    vial_mg: int
    currency: str
    price: Decimal
    valid_from: date
    source: str
    grade: str


@cache
def price_table() -> tuple[VialPrice, ...]:
    text = resources.files("ifxdose.domain").joinpath("data/prices.toml").read_text("utf-8")
    rows = tomllib.loads(text)["price"]
    return tuple(
        VialPrice(
            r["product"],
            int(r["vial_mg"]),
            r["currency"],
            Decimal(str(r["price"])),
            date.fromisoformat(str(r["valid_from"])),
            r["source"],
            r["grade"],
        )
        for r in rows
    )


def vial_price(
    product: str = "Remicade",
    on: date | None = None,
    currency: str = "JPY",
    vial_mg: int = 100,
    table: tuple[VialPrice, ...] | None = None,
) -> VialPrice:
    """The price in force on ``on`` (default: the latest entry)."""
    rows = [
        p for p in (table or price_table()) if p.product == product and p.currency == currency and p.vial_mg == vial_mg
    ]
    if not rows:
        known = sorted({f"{p.product} {p.vial_mg} mg {p.currency}" for p in (table or price_table())})
        raise InputError("product", f"{product} {vial_mg} mg {currency}", f"priced products are {', '.join(known)}")
    rows.sort(key=lambda p: p.valid_from)
    if on is None:
        return rows[-1]
    valid = [p for p in rows if p.valid_from <= on]
    if not valid:
        raise InputError("on", on.isoformat(), f"the first {product} price is dated {rows[0].valid_from}")
    return valid[-1]


#: Assumption: Japanese NHI prices are revised every April; a price older than 400 days on
#: the date it is used for is stale (a warning, the price is still shown).
STALE_AFTER_DAYS = 400


def price_for(product: str, on: date, currency: str = "JPY", vial_mg: int = 100) -> tuple[VialPrice | None, list[str]]:
    """The sourced price of ``product`` on ``on`` with warnings, or ``None`` ("price unknown").

    Never another product's price: a biosimilar without a sourced entry has no price.
    """
    try:
        price = vial_price(product, on, currency, vial_mg)
    except InputError:
        return None, [
            f"price unknown: no sourced {currency} price for {product} {vial_mg} mg on {on} "
            "(add it to data/prices.toml); costs are not shown"
        ]
    warnings = []
    if (on - price.valid_from).days > STALE_AFTER_DAYS:
        warnings.append(
            f"price-stale: the {product} price ({price.price} {currency}/vial) is dated {price.valid_from}, "
            f"more than {STALE_AFTER_DAYS} days before {on}; NHI prices are revised yearly"
        )
    return price, warnings


def money(amount: Decimal, currency: str) -> Decimal:
    """Round half up to the currency's minor unit (1 JPY, else 0.01)."""
    return amount.quantize(_MINOR_UNIT.get(currency, Decimal("0.01")), rounding=ROUND_HALF_UP)


class InfusionCost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: int
    time_days: float
    dose_mg: float
    given_mg: float
    vials: int
    wasted_mg: float
    cost: Decimal


class RegimenCost(BaseModel):
    """Cost of a regimen for one patient: per infusion, first year, mean per year, total."""

    model_config = ConfigDict(extra="forbid")

    regimen: str
    weight_kg: float
    product: str
    currency: str
    price_per_vial: Decimal
    price_valid_from: date
    price_source: str
    infusions: list[InfusionCost]
    vials: int
    wasted_mg: float
    total: Decimal
    first_year: Decimal
    mean_per_year: Decimal | None = None


def regimen_cost(
    regimen: Regimen,
    weight_kg: float,
    *,
    horizon_days: float | None = None,
    product: str = "Remicade",
    on: date | None = None,
    currency: str = "JPY",
    rounding: Rounding = "up",
    tolerance_pct: float = DEFAULT_TOLERANCE_PCT,
) -> RegimenCost:
    """Cost of every dose up to ``horizon_days`` (needed for an open-ended regimen).

    ``first_year`` counts doses on days [0, 365); ``mean_per_year`` is total x 365.25 /
    horizon_days when a horizon is given.
    """
    check_range("weight_kg", weight_kg, 0, 350, low_inclusive=False, unit="kg")
    if horizon_days is not None:
        check_range("horizon_days", horizon_days, 0, 3650, low_inclusive=False, unit="days")
    price = vial_price(product, on, currency)
    rows = []
    for number, dose in enumerate(regimen.doses(horizon_days), start=1):
        mg = dose_mg(dose.dose, weight_kg) if dose.dose_unit == "mg/kg" else dose.dose
        plan = round_to_vials(mg, vial_mg=price.vial_mg, rounding=rounding, tolerance_pct=tolerance_pct)
        rows.append(
            InfusionCost(
                number=number,
                time_days=dose.time_days,
                dose_mg=mg,
                given_mg=plan.given_mg,
                vials=plan.vials,
                wasted_mg=plan.wasted_mg,
                cost=price.price * plan.vials,
            )
        )
    total = sum((r.cost for r in rows), Decimal(0))
    first_year = sum((r.cost for r in rows if r.time_days < 365), Decimal(0))
    per_year = None
    if horizon_days is not None:
        per_year = money(total * DAYS_PER_YEAR / Decimal(str(horizon_days)), currency)
    return RegimenCost(
        regimen=regimen.to_text(),
        weight_kg=weight_kg,
        product=product,
        currency=currency,
        price_per_vial=price.price,
        price_valid_from=price.valid_from,
        price_source=price.source,
        infusions=rows,
        vials=sum(r.vials for r in rows),
        wasted_mg=round(sum(r.wasted_mg for r in rows), 2),
        total=total,
        first_year=first_year,
        mean_per_year=per_year,
    )
