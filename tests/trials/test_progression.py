"""Radiographic progression (issue 12 item 5): core.progression and its calibration.

Independent truths: the progression integral by hand (constant inputs) and against scipy's quad and an
ODE solver (time-varying CRP and concentration); no inhibition reproduces the MTX rate; the closed form
of omega by Monte Carlo; the calibration's closed forms (k_typ, IC50, reading SD) by brute-force
re-computation on synthetic patients; the cohort's earlier random draws unchanged by the new ones."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from ifxdose.core.errors import InputError
from ifxdose.core.progression import damage_inhibition, inflammation_excess, lognormal_omega_for_cv, mtss_change
from ifxdose.domain.trials import engine as E
from ifxdose.domain.trials.fit_progression import calibrate_progression, inflammation_integral, published
from ifxdose.domain.trials.models import load_models
from ifxdose.domain.trials.progression import ProgressionModel, load_progression, progression_records


def test_constant_inputs_by_hand():
    grid = np.arange(0.0, 101.0)
    crp = np.full((1, grid.size), 30.0)  # 20 mg/L above normal
    ce = np.full((1, grid.size), 5.0)  # Ce = IC50: half the pathway blocked
    got = mtss_change(grid, crp, ce, np.array([0.001]), 10.0, 1.0, 5.0)
    # 0.001 x 20 x 0.5 x 100 days = 1.0 point
    assert got[0, -1] == pytest.approx(1.0, rel=1e-12)
    assert got[0, 0] == 0.0
    assert got[0, 50] == pytest.approx(0.5, rel=1e-12)


def _crp(t: np.ndarray) -> np.ndarray:
    return 10.0 + 50.0 * np.exp(-t / 40.0) + 5.0 * np.sin(t / 9.0)


def _ce(t: np.ndarray) -> np.ndarray:
    return 30.0 * t / (20.0 + t)


def test_time_varying_against_quad_and_ode():
    k, normal, imax, ic50 = 0.002, 12.0, 0.8, 4.0

    def rate(t: float) -> float:
        c, e = float(_crp(np.array(t))), float(_ce(np.array(t)))
        return k * max(c - normal, 0.0) * (1.0 - imax * e / (ic50 + e))

    grid = np.linspace(0.0, 200.0, 20001)
    got = mtss_change(grid, _crp(grid)[None, :], _ce(grid)[None, :], np.array([k]), normal, imax, ic50)[0, -1]
    quad, _ = integrate.quad(rate, 0.0, 200.0, limit=500, points=[float(x) for x in np.arange(1, 200, 5)])
    ode = integrate.solve_ivp(lambda t, y: [rate(t)], (0.0, 200.0), [0.0], rtol=1e-10, atol=1e-12, max_step=0.5)
    assert got == pytest.approx(quad, rel=1e-5)
    assert got == pytest.approx(ode.y[0, -1], rel=1e-5)


def test_no_inhibition_reproduces_the_mtx_rate():
    grid = np.arange(0.0, 379.0)
    rng = np.random.default_rng(3)
    crp = rng.lognormal(np.log(20.0), 0.8, (5, 1)) * np.ones((1, grid.size))
    k = rng.lognormal(np.log(6e-4), 0.9, 5)
    ce = rng.uniform(0.0, 50.0, (5, grid.size))
    no_drug = mtss_change(grid, crp, np.zeros_like(ce), k, 10.0, 1.0, 3.0)
    imax0 = mtss_change(grid, crp, ce, k, 10.0, 0.0, 3.0)
    np.testing.assert_allclose(imax0, no_drug, rtol=1e-12)
    # constant CRP without drug: k (CRP - 10)+ t
    np.testing.assert_allclose(no_drug[:, -1], k * np.maximum(crp[:, 0] - 10.0, 0.0) * 378.0, rtol=1e-12)


def test_normal_crp_means_no_progression():
    grid = np.arange(0.0, 50.0)
    crp = np.full((2, grid.size), 10.0)
    crp[1] = 3.0
    assert np.all(mtss_change(grid, crp, np.zeros_like(crp), np.array([1.0, 1.0]), 10.0, 1.0, 1.0) == 0.0)
    np.testing.assert_array_equal(inflammation_excess(np.array([3.0, 10.0, 12.5]), 10.0), [0.0, 0.0, 2.5])
    assert damage_inhibition(np.array([0.0, 2.0]), 1.0, 2.0).tolist() == [0.0, 0.5]


@pytest.mark.parametrize(
    "kwargs",
    [{"imax": 1.5}, {"ic50_mg_l": 0.0}, {"crp_normal_mg_l": -1.0}, {"rate": -1e-3}],
)
def test_bad_input_names_the_field(kwargs):
    grid = np.arange(0.0, 3.0)
    a = np.ones((1, 3))
    args = {"imax": 1.0, "ic50_mg_l": 1.0, "crp_normal_mg_l": 10.0, "rate": 1e-3} | kwargs
    with pytest.raises(InputError) as err:
        mtss_change(grid, a, a, np.array([args["rate"]]), args["crp_normal_mg_l"], args["imax"], args["ic50_mg_l"])
    name = "rate_per_mg_l_day" if "rate" in kwargs else next(iter(kwargs))
    assert name in str(err.value)


def test_omega_closed_form_by_monte_carlo():
    rng = np.random.default_rng(7)
    x = np.maximum(rng.lognormal(np.log(20.0), 0.83, 400_000) - 10.0, 0.0)
    omega = lognormal_omega_for_cv(2.5, x)
    y = x * np.exp(omega * rng.standard_normal(x.size))
    assert np.std(y) / np.mean(y) == pytest.approx(2.5, rel=0.03)
    assert lognormal_omega_for_cv(0.1, x) == 0.0  # X alone is already more variable


def _synthetic(rng: np.random.Generator, n: int, crp_factor: float, ce_mg_l: float) -> tuple[np.ndarray, ...]:
    grid = np.arange(0.0, 379.0, 7.0)
    crp0 = rng.lognormal(np.log(20.0), 0.83, n)
    crp = (crp0 * crp_factor)[:, None] * np.ones((1, grid.size))
    ce = rng.lognormal(np.log(ce_mg_l), 1.0, n)[:, None] * np.ones((1, grid.size))
    return grid, crp, ce


def test_calibration_closed_forms_by_brute_force():
    rng = np.random.default_rng(11)
    attract = {"placebo + MTX": _synthetic(rng, 4000, 1.0, 1e-9)}
    attract |= {f"ifx{i}": _synthetic(rng, 4000, 0.35, 10.0) for i in range(4)}
    aspire = {"MTX + placebo": _synthetic(rng, 10, 1.0, 1e-9)}
    aspire |= {f"ifx{i}": _synthetic(rng, 4000, 0.35, 10.0) for i in range(2)}
    doc = calibrate_progression(attract, aspire)
    v = doc["values"]
    assert v["imax"] == 1.0
    # brute force: draw the log-normal rates and average the simulated changes
    z = np.random.default_rng(5).standard_normal(2_000_000)
    m_z, m_z2 = np.mean(np.exp(v["omega"] * z)), np.mean(np.exp(2 * v["omega"] * z))
    g, c, e = attract["placebo + MTX"]
    x_p = inflammation_integral(g, c, e, 1.0, 0.0)
    assert v["rate_per_mg_l_day"] * m_z * np.mean(x_p) == pytest.approx(published("placebo")[0], rel=0.01)
    x_i = np.concatenate([inflammation_integral(*attract[f"ifx{i}"], v["ic50_mg_l"]) for i in range(4)])
    assert v["rate_per_mg_l_day"] * m_z * np.mean(x_i) == pytest.approx(published("infliximab")[0], rel=0.01)
    # the true spread on MTX plus reading error gives ASPIRE's MTX SD (9.6 around 3.7, as a CV)
    true_cv = np.sqrt(m_z2 * np.mean(x_p**2) / (m_z * np.mean(x_p)) ** 2 - 1.0)
    assert true_cv == pytest.approx(np.sqrt(9.6**2 - v["reading_sd_points"] ** 2) / 3.7, rel=0.02)
    # reading SD: true variance on infliximab (ASPIRE) + reading variance = pooled published SD^2
    x_a = np.concatenate([inflammation_integral(*aspire[f"ifx{i}"], v["ic50_mg_l"]) for i in range(2)])
    k = v["rate_per_mg_l_day"]
    var_true = k**2 * m_z2 * np.mean(x_a**2) - (k * m_z * np.mean(x_a)) ** 2
    pooled_sd2 = (359 * 5.8**2 + 363 * 5.6**2) / (359 + 363)
    assert var_true + v["reading_sd_points"] ** 2 == pytest.approx(pooled_sd2, rel=0.03)


def test_records_add_reading_error_to_the_true_change():
    model = ProgressionModel(1e-3, 0.0, 5.0, reading_sd_points=2.0)
    grid = np.arange(0.0, 11.0)
    crp = np.full((2, grid.size), 20.0)
    rec = progression_records(model, (10.0,), grid, crp, np.zeros_like(crp), None, np.array([0.0, 1.5]))
    np.testing.assert_allclose(rec["mtss_true@10"], [0.1, 0.1])
    np.testing.assert_allclose(rec["mtss@10"], [0.1, 3.1])
    np.testing.assert_allclose(rec["mtss_neg@10"], -rec["mtss@10"])


def test_cohort_earlier_draws_unchanged():
    models = load_models()
    cov = {"weight_kg": np.full(6, 70.0)}
    a = E.make_cohort(cov, models, np.random.default_rng(4))
    rng = np.random.default_rng(4)
    eta = models.pk.sample_eta(6, rng)
    ada, u, res = rng.exponential(1.0, 6), rng.random(6), rng.standard_normal((6, 64))
    np.testing.assert_array_equal(a.eta, eta)
    np.testing.assert_array_equal(a.ada_exp, ada)
    np.testing.assert_array_equal(a.response_u, u)
    np.testing.assert_array_equal(a.residual_z, res)
    np.testing.assert_array_equal(a.progression_z, rng.standard_normal(6))
    np.testing.assert_array_equal(a.reading_z, rng.standard_normal(6))


def test_shipped_calibration_is_loaded():
    model = load_progression()
    assert model is not None and model.rate_per_mg_l_day > 0 and model.reading_sd_points >= 0
    assert load_models().progression == model
