"""Vials and waste, cost from the seed's price (S0), calendar windows, ASPIRE MTX titration (S7)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ifxdose.core.errors import InputError
from ifxdose.domain.dosing.calendar import infusion_calendar, mtx_titration
from ifxdose.domain.dosing.cost import VialPrice, regimen_cost, vial_price
from ifxdose.domain.dosing.regimen import parse_regimen
from ifxdose.domain.dosing.vials import dose_mg, round_to_vials


@pytest.mark.parametrize(
    "prescribed, vials, waste",
    [
        (165.0, 2, 35.0),  # 3 mg/kg x 55 kg: 2 vials, 200 - 165 = 35 mg wasted
        (200.0, 2, 0.0),  # exactly two vials
        (200.01, 3, 99.99),
        (550.0, 6, 50.0),  # 10 mg/kg x 55 kg
    ],
)
def test_round_up(prescribed, vials, waste):
    plan = round_to_vials(prescribed)
    assert (plan.vials, plan.wasted_mg, plan.given_mg) == (vials, waste, prescribed)


def test_float_product_does_not_open_an_extra_vial():
    # 3 x 70.1 = 210.29999999999998 in floats; the dose is 210.3 mg -> 3 vials
    assert dose_mg(3, 70.1) == 210.3
    assert round_to_vials(dose_mg(2, 100)).vials == 2


@pytest.mark.parametrize(
    "prescribed, tol, given, vials, waste",
    [
        (210.0, 10, 200.0, 2, 0.0),  # |200 - 210| = 10 <= 21 (10 %): give 2 vials
        (165.0, 10, 165.0, 2, 35.0),  # nearest is 200, 35 > 16.5: round up instead
        (180.0, 10, 180.0, 2, 20.0),  # |200 - 180| = 20 > 18 (10 %): round up, 20 mg wasted
        (190.0, 10, 200.0, 2, 0.0),  # |200 - 190| = 10 <= 19: give 2 vials (200 mg)
    ],
)
def test_round_nearest_within_tolerance(prescribed, tol, given, vials, waste):
    plan = round_to_vials(prescribed, rounding="nearest", tolerance_pct=tol)
    assert (plan.given_mg, plan.vials, plan.wasted_mg) == (given, vials, waste)


@given(st.floats(min_value=1, max_value=5000))
def test_vials_cover_the_dose_and_waste_is_less_than_a_vial(prescribed):
    plan = round_to_vials(prescribed)
    assert plan.vials * 100 >= plan.given_mg - 1e-6 and 0 <= plan.wasted_mg < 100


def test_rounding_bad_input():
    with pytest.raises(InputError, match="dose_mg"):
        round_to_vials(0)
    with pytest.raises(InputError, match="rounding"):
        round_to_vials(100, rounding="down")  # type: ignore[arg-type]


def test_seed_price_is_the_default():
    price = vial_price()
    # S0: 100 mg/vial = 75,009 JPY (April 2022)
    assert (price.price, price.vial_mg, price.currency, price.valid_from) == (
        Decimal(75009),
        100,
        "JPY",
        date(2022, 4, 1),
    )


def test_dated_price_lookup_and_other_currencies():
    table = (
        VialPrice("Remicade", 100, "JPY", Decimal(80000), date(2020, 4, 1), "test", "assumption"),
        VialPrice("Remicade", 100, "JPY", Decimal(75009), date(2022, 4, 1), "S0", "secondary"),
        VialPrice("Biosimilar X", 100, "EUR", Decimal("123.45"), date(2023, 1, 1), "test", "assumption"),
    )
    assert vial_price(on=date(2021, 6, 1), table=table).price == 80000
    assert vial_price(on=date(2022, 4, 1), table=table).price == 75009
    assert vial_price("Biosimilar X", currency="EUR", table=table).price == Decimal("123.45")
    with pytest.raises(InputError, match="first Remicade price is dated 2020-04-01"):
        vial_price(on=date(2019, 1, 1), table=table)
    with pytest.raises(InputError, match="priced products"):
        vial_price("Nothing")


def test_label_regimen_first_year_cost_hand_calculated():
    # 55 kg, 3 mg/kg = 165 mg = 2 vials per infusion. Infusions in days [0, 365):
    # weeks 0, 2, 6, 14, 22, 30, 38, 46 = 8 infusions (week 54 = day 378 is past the year).
    # 8 x 2 x 75,009 = 1,200,144 JPY; waste 8 x 35 = 280 mg.
    cost = regimen_cost(parse_regimen("3 mg/kg at weeks 0,2,6 then every 8 weeks"), 55, horizon_days=364)
    assert cost.first_year == cost.total == Decimal(1200144)
    assert cost.vials == 16 and cost.wasted_mg == 280.0
    assert cost.infusions[0].cost == Decimal(150018)
    # mean per year: 1,200,144 x 365.25 / 364 = 1,204,265.3... -> 1,204,265 JPY
    assert cost.mean_per_year == Decimal(1204265)


def test_cost_of_an_escalated_bounded_regimen():
    # START-like (S5): 3 mg/kg at 0, 2, 6, 14 (2 vials each at 60 kg: 180 mg) then 4.5 mg/kg at 22
    # (270 mg -> 3 vials): 4 x 2 + 3 = 11 vials x 75,009 = 825,099 JPY
    cost = regimen_cost(parse_regimen("3 mg/kg at weeks 0,2,6,14; 4.5 mg/kg at week 22"), 60)
    assert cost.vials == 11 and cost.total == Decimal(825099) and cost.mean_per_year is None


def test_calendar_dates_and_windows():
    rows = infusion_calendar(parse_regimen("3 mg/kg at weeks 0,2,6 then every 8 weeks until week 22"), date(2024, 4, 1))
    # 2024-04-01 + 14, 42, 98, 154 days
    assert [r.date for r in rows] == [
        date(2024, 4, 1),
        date(2024, 4, 15),
        date(2024, 5, 13),
        date(2024, 7, 8),
        date(2024, 9, 2),
    ]
    assert rows[0].earliest == rows[0].latest == date(2024, 4, 1)
    assert (rows[1].earliest, rows[1].latest) == (date(2024, 4, 12), date(2024, 4, 18))  # +/-3 days
    assert (rows[3].earliest, rows[3].latest) == (date(2024, 7, 1), date(2024, 7, 15))  # +/-7 days


def test_aspire_mtx_titration():
    # S7: 7.5 mg/week, 15 at week 4, 20 at week 8
    steps = mtx_titration(date(2024, 4, 1))
    assert [(s.date, s.dose_mg_week) for s in steps] == [
        (date(2024, 4, 1), 7.5),
        (date(2024, 4, 29), 15.0),
        (date(2024, 5, 27), 20.0),
    ]
