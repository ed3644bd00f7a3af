"""Core numerics of issue 6 against independent oracles: analytic survival, analytic
effect-site solutions, the model formulas at hand-checkable points, and the population's
documented inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit

from ifxdose.core.errors import InputError
from ifxdose.core.immunogenicity import cumulative_hazard, onset_days, window_cumulative_hazard
from ifxdose.core.population import Marginal, sample_population
from ifxdose.core.response import effect_site, emax_logit_probability
from ifxdose.domain.trials.population import population_spec, virtual_population


def test_constant_hazard_onsets_are_exponential_ks():
    """Concentrations always above the threshold: h = h0 * multiplier, so onset ~ Exp(rate)."""
    rng = np.random.default_rng(11)
    n, h0, mult = 20000, 0.004, 0.5
    grid = np.arange(0.0, 6001.0)
    H = cumulative_hazard(grid, np.full((1, grid.size), 50.0), h0, 3.0, 3.0, mult)
    onset = onset_days(grid, np.broadcast_to(H, (n, grid.size)), rng.exponential(1.0, n))
    assert np.isfinite(onset).mean() > 0.99
    p = stats.kstest(onset[np.isfinite(onset)], stats.expon(scale=1 / (h0 * mult)).cdf).pvalue
    assert p > 0.01


def test_low_concentration_multiplies_the_hazard_and_decline_integrates_exactly():
    grid = np.arange(0.0, 101.0)
    conc = np.where(grid < 50, 10.0, 1.0)[None, :]
    H = cumulative_hazard(grid, conc, 0.01, np.log(4.0), 3.0, 1.0, decline_per_day=0.0)
    assert H[0, 50] == pytest.approx(0.5) and H[0, 100] == pytest.approx(0.5 + 4 * 0.5)
    Hd = cumulative_hazard(grid, conc, 0.01, 0.0, 3.0, 1.0, decline_per_day=0.02)
    expected = 0.01 * np.sum(np.exp(-0.02 * grid[:100]))  # hazard held at each grid point for a day
    assert Hd[0, 100] == pytest.approx(expected)


def test_window_hazard_equals_difference_of_cumulative_hazard():
    rng = np.random.default_rng(2)
    grid = np.arange(0.0, 300.0)
    conc = rng.uniform(0, 6, (40, grid.size))
    m = rng.uniform(0.5, 1.5, 40)
    H = cumulative_hazard(grid, conc, 0.003, 1.2, 3.0, m, 0.004)
    W = window_cumulative_hazard(grid, (conc < 3.0).astype(float), 30.0, 200.0, 0.003, 1.2, m, 0.004)
    assert np.allclose(W, H[:, 200] - H[:, 30])


def test_onset_is_exact_within_a_step():
    grid = np.array([0.0, 10.0, 20.0])
    H = np.array([[0.0, 1.0, 3.0]])
    assert onset_days(grid, H, np.array([2.0]))[0] == pytest.approx(15.0)
    assert onset_days(grid, H, np.array([5.0]))[0] == np.inf


def test_effect_site_matches_analytic_step_and_both_algorithms_agree():
    t = np.arange(0.0, 60.0)
    c = np.full((1, t.size), 8.0)
    c[0, 0] = 0.0  # first infusion at t = 0: C jumps within the first step
    ce = effect_site(t, np.full((1, t.size), 8.0), 0.1)
    assert np.allclose(ce[0], 8.0 * (1 - np.exp(-0.1 * t)))
    t2 = np.concatenate([t[:-1], [t[-1] + 0.5]])  # non-uniform grid -> the explicit recursion
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 10, (5, t.size))
    assert np.allclose(effect_site(t, x, 0.07)[:, :-1], effect_site(t2, x, 0.07)[:, :-1])


def test_emax_logit_at_hand_points():
    assert emax_logit_probability(0.0, -1.2, 2.0, 3.0) == pytest.approx(expit(-1.2))
    assert emax_logit_probability(3.0, -1.2, 2.0, 3.0) == pytest.approx(expit(-1.2 + 1.0))


def test_population_matches_documented_inputs():
    pop = virtual_population("attract", 50000, np.random.default_rng(5))
    spec = {v["name"]: v for v in population_spec("attract")[0]}
    assert np.median(pop["weight_kg"]) == pytest.approx(spec["weight_kg"]["median"], rel=0.02)
    assert pop["sex_female"].mean() == pytest.approx(spec["sex_female"]["p"], abs=0.01)
    assert (pop["tnf_pg_ml"] >= 1.65).mean() == pytest.approx(spec["tnf_pg_ml"]["share_above"], abs=0.01)  # S14 ~13 %
    assert pop["mtx"].min() == 1.0  # S4: all on MTX
    assert np.median(pop["mtx_dose_mg_week"]) == pytest.approx(15.0, rel=0.03)  # S4 median 15 mg/week
    assert pop["mtx_dose_mg_week"].min() >= 10 and pop["mtx_dose_mg_week"].max() <= 35  # S4 range 10-35
    assert set(np.unique(pop["tjc28"])) <= set(range(29))
    zc, ze = (stats.norm.ppf(stats.rankdata(pop[k]) / (len(pop[k]) + 1)) for k in ("crp_mg_l", "esr_mm_h"))
    assert np.corrcoef(zc, ze)[0, 1] == pytest.approx(0.6, abs=0.03)


def test_population_overrides_and_determinism():
    a = virtual_population("elliott1993", 200, np.random.default_rng(9))
    b = virtual_population("elliott1993", 200, np.random.default_rng(9))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert a["mtx"].max() == 0 and a["mtx_dose_mg_week"].max() == 0  # S1: DMARDs stopped
    jp = virtual_population("rrrr", 20000, np.random.default_rng(1))
    assert np.median(jp["weight_kg"]) == pytest.approx(54.0, rel=0.03)


def test_bad_population_input():
    with pytest.raises(InputError):
        virtual_population("nope", 10, np.random.default_rng(1))
    with pytest.raises(InputError):
        sample_population(0, np.random.default_rng(1), [Marginal("x", "normal", {"mean": 0, "sd": 1})])
    with pytest.raises(InputError):
        Marginal("x", "gamma")


def test_posterior_predictive_range_widens_the_parameter_range_by_the_binomial_half_width():
    from ifxdose.domain.trials.calibrate import predictive_range_pct

    lo, hi = predictive_range_pct({"predictive_low95_pct": 10.0, "predictive_high95_pct": 20.0, "n": 100})
    # hand: 0.10 - 1.96 sqrt(0.1 * 0.9 / 100) = 0.04120; 0.20 + 1.96 sqrt(0.2 * 0.8 / 100) = 0.27840
    assert (round(lo, 2), round(hi, 2)) == (4.12, 27.84)
    assert predictive_range_pct({"predictive_low95_pct": 0.5, "predictive_high95_pct": 99.9, "n": 5}) == (0.0, 100.0)


def test_stored_calibration_records_inflammation_and_the_er_sampler():
    from ifxdose.domain.trials.models import calibration_data

    doc = calibration_data()
    assert doc["inflammation_feedback"] is True
    post = doc["posterior"]
    assert post["er_sampler"]["sampler"] == "emcee" and 0.1 < post["er_sampler"]["acceptance"] < 0.9
    assert len(post["er_draws"]) == len(post["ada_draws"]) == 200
