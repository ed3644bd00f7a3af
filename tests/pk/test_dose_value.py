"""``Dose`` (one typed dose, one route conversion, the label's infusion time as a named constant)
and ``InfusionMetrics`` (typed per-infusion exposure) against hand values."""

from __future__ import annotations

import pytest

from ifxdose.core.errors import InputError
from ifxdose.core.pk import ROUTE_IV, ROUTE_SC
from ifxdose.core.pk.dose import LABEL_INFUSION_DAYS, Dose, route_code
from ifxdose.core.pk.metrics import InfusionMetrics


def test_a_planned_infusion_lasts_the_labels_two_hours():
    d = Dose.infusion(56.0, 165.0)
    assert d == (56.0, 165.0, 120 / 1440, "iv")  # still unpacks as the (day, mg, days, route) tuple
    assert LABEL_INFUSION_DAYS * 24 == pytest.approx(2.0)
    assert d.coded() == (56.0, 165.0, 120 / 1440, ROUTE_IV)


def test_one_route_conversion():
    assert (route_code("iv"), route_code("sc")) == (ROUTE_IV, ROUTE_SC)
    with pytest.raises(InputError, match="route.*'iv' and 'sc'"):
        route_code("im")


def test_simulated_doses_and_metrics_are_typed_values():
    from ifxdose.domain.simulation import infusion_metrics, simulate

    res = simulate("passot_2016_ra", "3 mg/kg at weeks 0,2", {"weight_kg": 60.0})
    assert res.doses == [Dose(0.0, 180.0, 120 / 1440, "iv"), Dose(14.0, 180.0, 120 / 1440, "iv")]  # 3 x 60 kg
    assert res.to_dict()["doses"][1] == {
        "time_days": 14.0,
        "amount_mg": 180.0,
        "duration_days": 120 / 1440,
        "route": "iv",
    }
    rows = infusion_metrics("passot_2016_ra", "3 mg/kg at weeks 0,2", {"weight_kg": 60.0})
    assert all(isinstance(r, InfusionMetrics) for r in rows)
    assert [(r.number, r.week, r.dose_mg, r.trough_day) for r in rows] == [(1, 0.0, 180.0, 14.0), (2, 2.0, 180.0, 28.0)]
    assert set(rows[0].to_dict()) == {
        "number",
        "day",
        "week",
        "dose_mg",
        "peak_mg_l",
        "trough_day",
        "trough_mg_l",
        "auc_mg_day_l",
        "days_above_threshold",
        "threshold_mg_l",
    }
