"""Closed form against textbook formulas written out by hand (independent of the engine)."""

import numpy as np
import pytest

from ifxdose.core.pk import ROUTE_IV, DoseTable, simulate_concentrations
from ifxdose.core.pk.metrics import auc_trapezoid, time_above
from ifxdose.domain.modelfiles import load_model
from ifxdose.domain.simulation import simulate

from .conftest import rel_close


def test_one_compartment_infusion_by_hand():
    """1-cmt zero-order infusion (Gibaldi & Perrier): during C = R/CL (1 - e^-kt);
    after the end T: C = R/CL (1 - e^-kT) e^-k(t-T)."""
    cl, v, dose, T = 0.3576, 5.4, 165.0, 2 / 24  # Passot 2016 RA typical, 55 kg x 3 mg/kg
    k, rate = cl / v, dose / T
    t = np.array([0.0, 0.02, T, 1.0, 7.0, 14.0 - 1e-9])
    during = rate / cl * (1 - np.exp(-k * np.minimum(t, T)))
    expected = np.where(t <= T, during, rate / cl * (1 - np.exp(-k * T)) * np.exp(-k * (t - T)))
    res = simulate("passot_2016_ra", "165 mg at day 0", {"weight_kg": 55.0}, t)
    assert rel_close(res.concentration_mg_l, expected, rtol=1e-9)


def test_two_compartment_bolus_biexponential_by_hand():
    """2-cmt IV bolus: C = A e^-alpha t + B e^-beta t with alpha, beta the roots of
    s^2 + (k10+k12+k21) s + k10 k21 = 0, A = D/V1 (alpha - k21)/(alpha - beta),
    B = D/V1 (k21 - beta)/(alpha - beta) (Rowland & Tozer)."""
    m = load_model("fasanmade_2009_uc")
    p = m.individual_parameters({"weight_kg": np.array([[77.0]])})
    cl, v1, q, v2 = (float(p[k][0, 0]) for k in ("CL", "V1", "Q", "V2"))
    k10, k12, k21 = cl / v1, q / v1, q / v2
    s = k10 + k12 + k21
    alpha = (s + np.sqrt(s * s - 4 * k10 * k21)) / 2
    beta = (s - np.sqrt(s * s - 4 * k10 * k21)) / 2
    D = 400.0
    t = np.array([0.0, 0.1, 1.0, 5.0, 20.0, 60.0])
    expected = (
        D
        / v1
        * ((alpha - k21) / (alpha - beta) * np.exp(-alpha * t) + (k21 - beta) / (alpha - beta) * np.exp(-beta * t))
    )
    doses = DoseTable.from_lists([[(0.0, D, 0.0, ROUTE_IV)]])
    got = simulate_concentrations(m, p, np.full((1, 1), -np.inf), doses, t + 1e-12)
    assert rel_close(got[0], expected, rtol=1e-8)


def test_auc_of_a_bolus_is_dose_over_clearance():
    """AUC(0-inf) = D / CL for any linear model (mass balance)."""
    m = load_model("passot_2016_ra")
    # fine where the curve bends (the 1-min infusion and the distribution phase), coarser in the
    # slow terminal phase: step 5e-5 d on day 0-1 (40x finer than the former uniform 0.002 d
    # grid of 200,001 points), 0.02 d after; 40,000 points instead of 200,001
    t = np.concatenate([np.linspace(0, 1, 20001), np.linspace(1, 400, 19951)[1:]])
    res = simulate(m, "200 mg at day 0 over 1 min", {"weight_kg": 70.0}, t)
    assert abs(auc_trapezoid(t, res.concentration_mg_l) - 200 / 0.3576) / (200 / 0.3576) < 1e-4


def test_time_above_threshold_by_hand():
    # a triangle 0 -> 4 -> 0 over days 0, 2, 4 is above 1 mg/L from day 0.5 to day 3.5: 3 days
    assert time_above(np.array([0.0, 2.0, 4.0]), np.array([0.0, 4.0, 0.0]), 1.0) == 3.0
    assert time_above(np.array([0.0, 1.0]), np.array([2.0, 3.0]), 1.0) == 1.0


def test_interval_auc_and_time_above_by_hand():
    """1-cmt, one 2-h infusion of D every 56 days at steady state is not needed: for the
    first dose alone, AUC(0-56) = D/CL (1 - e^-56k) approximately (infusion short vs t1/2);
    exactly, integrate the infusion formula: AUC = D/CL - tail, tail = C(56)/k."""
    from ifxdose.domain.simulation import infusion_metrics

    cl, v, dose = 0.3576, 5.4, 165.0
    k = cl / v
    rows = infusion_metrics("passot_2016_ra", "165 mg at weeks 0,8", {"weight_kg": 55.0})
    c56 = rows[0].trough_mg_l
    assert rows[0].auc_mg_day_l == pytest.approx(dose / cl - c56 / k, rel=2e-4)
    # above 1 mg/L from t1, when R/CL (1 - e^-k t1) = 1 during the infusion (rate R = D/T),
    # until C(T) e^-k(t - T) = 1 after it: time above = T + ln(C(T))/k - t1
    T = 2 / 24
    t1 = -np.log(1 - cl / (dose / T)) / k
    expected = T + np.log(rows[0].peak_mg_l) / k - t1
    assert rows[0].days_above_threshold == pytest.approx(expected, abs=1e-4)
