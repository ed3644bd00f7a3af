"""History -> core inputs (domain/timeline.py), against expectations built by hand from the dates.

The reference day 0 is midnight of the first infusion, 2024-02-01 (2024 is a leap year:
2024-02-29 is day 28, 2024-03-01 day 29). Every expected number below is counted from the
calendar, not taken from the code's output.
"""

from __future__ import annotations

import numpy as np
import pytest

from ifxdose.core.errors import InputError
from ifxdose.core.pk.dose import Dose
from ifxdose.core.pk.events import ROUTE_IV, ROUTE_SC
from ifxdose.domain.modelfiles import load_library_model
from ifxdose.domain.patient import PatientHistory
from ifxdose.domain.timeline import (
    CRP_FLOOR_MG_L,
    MINUTES_PER_DAY,
    build_problem,
    core_route,
    covariate_segments,
    covariate_series,
    dose_events,
    history_covariates,
    history_observations,
    infusion_duration_days,
)

INF = float("inf")


def _history(**over: object) -> PatientHistory:
    doc = {
        "patient": {"id": "T-TL", "sex": "female", "birth_year": 1965},
        "infusions": [
            {"date": "2024-02-15T12:00:00", "dose_mg": 250, "duration_min": 180},
            {"date": "2024-02-01", "dose_mg": 200},  # default 120 min; listed out of order on purpose
            {"date": "2024-03-14", "dose_mg": 120, "route": "sc"},
        ],
        "weights": [{"date": "2024-01-25", "weight_kg": 60}, {"date": "2024-03-01", "weight_kg": 62}],
        "labs": [
            {"date": "2024-02-01", "crp_mg_l": 0.1, "albumin_g_dl": 4.0},
            {"date": "2024-02-20", "crp_mg_l": 12.0},
        ],
        "mtx": [{"date": "2024-01-01", "dose_mg_week": 15}, {"date": "2024-03-02", "dose_mg_week": 0}],
        "ada": [{"date": "2024-02-29", "result": "negative"}, {"date": "2024-03-10", "result": "positive"}],
        "levels": [
            {"date": "2024-02-15", "value_mg_l": 20.0},
            {"date": "2024-03-14", "below_lloq": True, "lloq_mg_l": 0.4},
        ],
        "baseline_tnf_pg_ml": 5.0,
    }
    doc.update(over)
    return PatientHistory.model_validate(doc)


def test_dose_events_count_days_from_first_infusion_and_sc_is_a_bolus():
    # 02-15 12:00 is 14.5 days after 02-01 00:00; 03-14 is 29 + 13 = 42 days after.
    assert dose_events(_history()) == [
        (0.0, 200.0, 120 / 1440, "iv"),
        (14.5, 250.0, 180 / 1440, "iv"),
        (42.0, 120.0, 0.0, "sc"),
    ]


def test_duration_and_route_conversions():
    assert MINUTES_PER_DAY == 24 * 60
    assert infusion_duration_days("iv", 120) == pytest.approx(2 / 24)
    assert infusion_duration_days("sc", 120) == 0.0
    assert (core_route("iv"), core_route("sc")) == (ROUTE_IV, ROUTE_SC)
    with pytest.raises(InputError, match="route.*'iv' and 'sc'"):
        core_route("im")


def test_raw_covariate_series_by_calendar():
    s = covariate_series(_history())
    assert s["weight_kg"] == [(-7.0, 60.0), (29.0, 62.0)]  # 01-25 is 7 days before 02-01
    assert s["crp_mg_l"] == [(0.0, 0.1), (19.0, 12.0)]  # raw: no floor here
    assert s["albumin_g_dl"] == [(0.0, 4.0)]  # the 02-20 lab has no albumin
    assert s["mtx"] == [(-31.0, 1.0), (30.0, 0.0)]
    assert s["ada"] == [(28.0, 0.0), (38.0, 1.0)]
    assert "tnf_pg_ml" not in s


def test_model_covariates_floor_crp_carry_tnf_from_day_0_and_keep_ada_negative_before_first_result():
    s = history_covariates(_history())
    assert s["crp_mg_l"] == [(0.0, CRP_FLOOR_MG_L), (19.0, 12.0)] and CRP_FLOOR_MG_L == 0.3
    assert s["tnf_pg_ml"] == [(0.0, 5.0)]
    assert s["ada"] == [(28.0, 0.0), (38.0, 1.0)]  # first result negative: nothing prepended
    only_positive = history_covariates(_history(ada=[{"date": "2024-03-10", "result": "positive"}]))
    assert only_positive["ada"] == [(0.0, 0.0), (38.0, 1.0)]  # negative until the first (positive) result
    with pytest.raises(InputError, match="weights"):
        history_covariates(_history(weights=[]))


def test_segments_are_last_value_carried_forward_and_first_value_before_its_day():
    starts, values = covariate_segments(history_covariates(_history()))
    # changes after each series' first point: crp 19, weight 29, mtx 30, ada 38
    np.testing.assert_array_equal(starts, [-INF, 19.0, 29.0, 30.0, 38.0])
    np.testing.assert_array_equal(values["weight_kg"], [60, 60, 62, 62, 62])
    np.testing.assert_array_equal(values["crp_mg_l"], [0.3, 12, 12, 12, 12])
    np.testing.assert_array_equal(values["mtx"], [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(values["ada"], [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(values["tnf_pg_ml"], [5] * 5)
    np.testing.assert_array_equal(values["albumin_g_dl"], [4] * 5)


@pytest.mark.parametrize(
    "covariates, field",
    [
        ({"height_cm": 170.0}, "covariate"),
        ({"weight_kg": []}, "weight_kg"),
        ({"weight_kg": [(10.0, 60.0), (10.0, 61.0)]}, "weight_kg"),
    ],
)
def test_segments_reject_bad_input_naming_the_field(covariates, field):
    with pytest.raises(InputError) as err:
        covariate_segments(covariates)
    assert err.value.field == field


def test_observations_censor_below_lloq():
    obs = history_observations(_history())
    np.testing.assert_array_equal(obs.time_days, [14.0, 42.0])
    assert obs.value_mg_l[0] == 20.0 and np.isnan(obs.value_mg_l[1])
    assert np.isnan(obs.lloq_mg_l[0]) and obs.lloq_mg_l[1] == 0.4


def test_problem_uses_only_the_model_covariates_and_coded_routes():
    model = load_library_model("hanzel_2021_ctp13")  # covariates: weight, albumin, ADA; routes iv and sc
    assert set(model.covariates) == {"weight_kg", "albumin_g_dl", "ada"}
    p = build_problem(_history(), model, extra_doses=[Dose.infusion(70.0, 300.0)])
    np.testing.assert_array_equal(p.segment_start_days, [-INF, 29.0, 38.0])  # weight 29, ADA 38
    assert set(p.covariate_values) == {"weight_kg", "albumin_g_dl", "ada"}
    np.testing.assert_array_equal(p.covariate_values["weight_kg"], [60, 62, 62])
    np.testing.assert_array_equal(p.covariate_values["ada"], [0, 0, 1])
    assert p.doses == [
        (0.0, 200.0, 120 / 1440, ROUTE_IV),
        (14.5, 250.0, 180 / 1440, ROUTE_IV),
        (42.0, 120.0, 0.0, ROUTE_SC),
        (70.0, 300.0, 2 / 24, ROUTE_IV),
    ]


def test_the_core_problem_takes_typed_doses_and_keeps_them_coded():
    """``Problem`` takes the domain's ``Dose`` values; it stores the kernel's coded tuples, and the
    prediction is the same as from hand-coded tuples (a 2-hour IV infusion: route code ROUTE_IV)."""
    from ifxdose.core.estimation import Problem

    model = load_library_model("ternant_2014_ra")
    starts, weight = np.array([-INF]), {"weight_kg": np.array([70.0])}
    typed = Problem(model, starts, weight, [Dose.infusion(0.0, 350.0), Dose.infusion(14.0, 350.0)])
    coded = Problem(model, starts, weight, [(0.0, 350.0, 2 / 24, ROUTE_IV), (14.0, 350.0, 2 / 24, ROUTE_IV)])
    assert typed.doses == coded.doses == [(0.0, 350.0, 2 / 24, ROUTE_IV), (14.0, 350.0, 2 / 24, ROUTE_IV)]
    eta, days = np.zeros((1, len(model.eta_parameters))), np.array([1.0, 13.9, 42.0])
    np.testing.assert_array_equal(typed.predict(eta, days), coded.predict(eta, days))


def test_an_sc_dose_on_an_iv_only_model_is_refused_naming_the_route():
    with pytest.raises(InputError) as err:
        build_problem(_history(), load_library_model("ternant_2014_ra"))
    assert err.value.field == "infusions.route" and "iv" in str(err.value)
