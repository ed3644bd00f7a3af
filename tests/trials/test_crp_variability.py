"""Within-patient CRP variability (issue 12): a measured CRP is one log-normal draw around the patient's level.

Independent truths: the conditional level by Bayes' rule with numerical integration over the generative
model (not the closed form); the measured-value marginal and the test-retest correlation by Monte Carlo;
the occasion draw's coefficient of variation by hand (sqrt(exp(sigma^2) - 1)); the expected excess above
normal by Monte Carlo and by scipy's quad; the regression to the mean of a top tertile by two-dimensional
numerical integration; the cohort's earlier random draws unchanged by the new ones.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from ifxdose.core.errors import InputError
from ifxdose.core.population import lognormal_sigma_from_cv
from ifxdose.core.progression import expected_lognormal_excess, mtss_change
from ifxdose.core.response import crp_patient_level_mg_l
from ifxdose.domain.trials import engine as E
from ifxdose.domain.trials.models import load_models
from ifxdose.domain.trials.population import crp_lognormal

MEDIAN, SIG_T = 20.0, float(np.sqrt(np.log(2.0)))  # the virtual population's CRP: median 20 mg/L, CV 1.0
SIG_W = lognormal_sigma_from_cv(0.42)


def test_occasion_sigma_is_the_cited_cv():
    # CV of a log-normal with log-SD sigma is sqrt(exp(sigma^2) - 1): 0.42 (Macy 1997)
    assert np.sqrt(np.expm1(E.CRP_OCCASION_SIGMA**2)) == pytest.approx(0.42, rel=1e-12)
    assert crp_lognormal() == (pytest.approx(MEDIAN), pytest.approx(SIG_T))
    assert crp_lognormal("aspire") == crp_lognormal()


def test_conditional_level_matches_bayes_by_quadrature():
    """E[log L | x] and Var[log L | x] by integrating prior x likelihood over log L (no closed form used)."""
    mu, sig_b = np.log(MEDIAN), np.sqrt(SIG_T**2 - SIG_W**2)
    for x in (3.0, 20.0, 90.0):
        lx = np.log(x)

        def post(u: float) -> float:
            return float(stats.norm.pdf(u, mu, sig_b) * stats.norm.pdf(lx, u, SIG_W))

        z0 = integrate.quad(post, mu - 10, mu + 10)[0]
        m1 = integrate.quad(lambda u: u * post(u), mu - 10, mu + 10)[0] / z0
        m2 = integrate.quad(lambda u: u * u * post(u), mu - 10, mu + 10)[0] / z0
        z = np.array([-1.0, 0.0, 1.0])
        got = np.log(crp_patient_level_mg_l(np.full(3, x), z, MEDIAN, SIG_T, SIG_W))
        assert got[1] == pytest.approx(m1, abs=1e-7)
        assert (got[2] - got[0]) / 2.0 == pytest.approx(np.sqrt(m2 - m1**2), rel=1e-6)


def test_a_second_measurement_has_the_population_distribution_and_the_test_retest_correlation():
    rng = np.random.default_rng(7)
    n = 400_000
    x = np.exp(rng.normal(np.log(MEDIAN), SIG_T, n))
    level = crp_patient_level_mg_l(x, rng.standard_normal(n), MEDIAN, SIG_T, SIG_W)
    x2 = level * np.exp(SIG_W * rng.standard_normal(n))
    assert np.median(x2) == pytest.approx(MEDIAN, rel=0.01)
    assert np.std(np.log(x2)) == pytest.approx(SIG_T, rel=0.01)
    # test-retest correlation on the log scale = between-patient share of the variance, 1 - sig_w^2/sig_t^2
    rho = 1.0 - SIG_W**2 / SIG_T**2
    assert np.corrcoef(np.log(x), np.log(x2))[0, 1] == pytest.approx(rho, abs=0.005)


def test_top_tertile_regresses_to_the_mean_by_double_integration():
    """E[L | x >= 30 mg/L] from the generative model (log L ~ N(mu, sig_b^2), log x = log L + sig_w e) by
    dblquad, against the simulated levels of patients measured >= 30 mg/L; and it is below E[x | x >= 30]."""
    mu, sig_b, cut = np.log(MEDIAN), np.sqrt(SIG_T**2 - SIG_W**2), np.log(30.0)

    def joint(e: float, u: float) -> float:  # density of (log L = u, e), restricted to u + sig_w e >= cut
        return float(stats.norm.pdf(u, mu, sig_b) * stats.norm.pdf(e))

    lo_e = lambda u: (cut - u) / SIG_W  # noqa: E731
    p = integrate.dblquad(joint, mu - 8 * sig_b, mu + 8 * sig_b, lo_e, 12.0)[0]
    num = integrate.dblquad(lambda e, u: np.exp(u) * joint(e, u), mu - 8 * sig_b, mu + 8 * sig_b, lo_e, 12.0)[0]
    expected_level = num / p
    rng = np.random.default_rng(3)
    x = np.exp(rng.normal(mu, SIG_T, 600_000))
    level = crp_patient_level_mg_l(x, rng.standard_normal(x.size), MEDIAN, SIG_T, SIG_W)
    top = x >= 30.0
    assert np.mean(top) == pytest.approx(p, abs=0.003)
    assert np.mean(level[top]) == pytest.approx(expected_level, rel=0.01)
    assert expected_level < 0.85 * np.mean(x[top])  # the top tertile's level is well below its measurement


def test_level_rejects_bad_parameters():
    with pytest.raises(InputError, match="sigma_occasion"):
        crp_patient_level_mg_l(np.ones(1), np.zeros(1), MEDIAN, 0.5, 0.6)
    with pytest.raises(InputError, match="sigma_total"):
        crp_patient_level_mg_l(np.ones(1), np.zeros(1), MEDIAN, 0.0, 0.0)
    np.testing.assert_allclose(crp_patient_level_mg_l(np.array([7.0]), np.ones(1), MEDIAN, SIG_T, 0.0), [7.0])


@pytest.mark.parametrize("m", [0.0, 2.0, 10.0, 14.0, 60.0])
def test_expected_excess_by_monte_carlo_and_quad(m: float):
    z = np.random.default_rng(11).standard_normal(2_000_000)
    mc = float(np.mean(np.maximum(m * np.exp(SIG_W * z) - 10.0, 0.0)))
    quad = integrate.quad(lambda u: max(m * np.exp(SIG_W * u) - 10.0, 0.0) * stats.norm.pdf(u), -12, 12, limit=200)[0]
    got = float(expected_lognormal_excess(np.array(m), SIG_W, 10.0))
    assert got == pytest.approx(quad, rel=1e-7, abs=1e-7)
    assert got == pytest.approx(mc, abs=0.01 * max(m, 1.0))
    assert float(expected_lognormal_excess(np.array(m), 0.0, 10.0)) == max(m - 10.0, 0.0)


def test_mtss_change_with_occasion_variability_by_hand():
    grid = np.arange(0.0, 101.0)
    crp = np.full((1, grid.size), 30.0)
    k = np.array([0.001])
    got = mtss_change(grid, crp, np.zeros_like(crp), k, 10.0, 1.0, 5.0, SIG_W)[0, -1]
    # constant level: 0.001 x E[(30 e^{sZ} - 10)+] x 100 days; E by quad
    ex = integrate.quad(lambda u: max(30 * np.exp(SIG_W * u) - 10, 0) * stats.norm.pdf(u), -12, 12)[0]
    assert got == pytest.approx(0.1 * ex, rel=1e-7)
    assert got > 0.1 * 20.0  # Jensen: fluctuation adds excess when the level is above normal


def test_measured_crp_is_one_draw_around_the_level():
    rng = np.random.default_rng(5)
    cov = {"weight_kg": np.full(200_000, 70.0), "crp_mg_l": np.exp(rng.normal(np.log(MEDIAN), SIG_T, 200_000))}
    cohort = E.make_cohort(cov, load_models(), rng)
    assert cohort.crp_level_mg_l is not None and cohort.crp_occasion_z is not None
    level = E.crp_level(cohort)
    m3 = E.measured_crp(cohort, level, 3)
    ratio = m3 / level
    assert np.std(ratio) / np.mean(ratio) == pytest.approx(0.42, rel=0.02)
    np.testing.assert_allclose(np.log(ratio), E.CRP_OCCASION_SIGMA * cohort.crp_occasion_z[:, 3], atol=1e-12)
    with pytest.raises(InputError, match="occasion"):
        E.measured_crp(cohort, level, E.N_CRP_OCCASIONS)


def test_cohort_earlier_draws_unchanged_by_the_crp_draws():
    models = load_models()
    cov = {"weight_kg": np.full(6, 70.0), "crp_mg_l": np.full(6, 40.0)}
    a = E.make_cohort(cov, models, np.random.default_rng(4))
    rng = np.random.default_rng(4)
    models.pk.sample_eta(6, rng)
    rng.exponential(1.0, 6), rng.random(6), rng.standard_normal((6, 64))
    np.testing.assert_array_equal(a.progression_z, rng.standard_normal(6))
    np.testing.assert_array_equal(a.reading_z, rng.standard_normal(6))
    z = rng.standard_normal(6)
    np.testing.assert_allclose(a.crp_level_mg_l, crp_patient_level_mg_l(np.full(6, 40.0), z, MEDIAN, SIG_T, SIG_W))
    np.testing.assert_array_equal(a.crp_occasion_z, rng.standard_normal((6, E.N_CRP_OCCASIONS)))


# ---------------------------------------------------------------- MTX started with the drug lowers CRP too
def test_crp_course_with_background_by_hand():
    """CRP = level (1 - Imax (g + (1 - g) C/(EC50 + C))) by hand, per patient g."""
    from ifxdose.core.response import crp_course_mg_l

    level = np.array([40.0, 40.0, 40.0])
    conc = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 3.0]])
    g = np.array([0.0, 0.5, 0.83])
    got = crp_course_mg_l(level, conc, 0.9, 1.0, 0.3, g)
    # no drug: 40 (1 - 0.9 g); C = 1 = EC50: f = 1/2; C = 3: f = 3/4
    np.testing.assert_allclose(got[:, 0], [40.0, 40.0 * (1 - 0.45), 40.0 * (1 - 0.9 * 0.83)])
    np.testing.assert_allclose(got[0, 1], 40.0 * (1 - 0.9 * 0.5))
    np.testing.assert_allclose(got[1, 1], 40.0 * (1 - 0.9 * (0.5 + 0.5 * 0.5)))
    np.testing.assert_allclose(got[2, 1], 40.0 * (1 - 0.9 * (0.83 + 0.17 * 0.75)))
    with pytest.raises(InputError, match="background_fraction"):
        crp_course_mg_l(level, conc, 0.9, 1.0, 0.3, 1.5)


def test_mtx_start_lowers_the_placebo_crp_course_and_only_there():
    models = load_models()
    g = models.response.mtx_start_fraction
    assert 0.0 < g < 1.0
    n = 4
    cov = {"weight_kg": np.full(n, 70.0), "crp_mg_l": np.full(n, 30.0), "mtx_start": np.array([1.0, 1.0, 0.0, 0.0])}
    cohort = E.make_cohort(cov, models, np.random.default_rng(2))
    np.testing.assert_allclose(cohort.crp_background, [g, g, 0.0, 0.0])
    course = E.crp_course(cohort, np.zeros((n, 3)))  # placebo: no drug
    level = E.crp_level(cohort)
    np.testing.assert_allclose(course[:, 1], level * np.array([1 - 0.9 * g, 1 - 0.9 * g, 1.0, 1.0]))
    # no random number is drawn for it: the occasion draws are those of a cohort without mtx_start
    plain = E.make_cohort({k: v for k, v in cov.items() if k != "mtx_start"}, models, np.random.default_rng(2))
    np.testing.assert_array_equal(plain.crp_occasion_z, cohort.crp_occasion_z)
    np.testing.assert_allclose(plain.crp_background, np.zeros(n))


def test_pk_crp_covariate_sees_the_mtx_start_background():
    """Session 5 (engine.MTX_START_ON_PK): the PK's weekly CRP carries the MTX-start background as the damage
    course does, by the hand formula level * (1 - 0.9 (g + (1 - g) C / (1 + C))) at C = 2 mg/L."""
    models = load_models()
    g = models.response.mtx_start_fraction
    n, grid = 3, np.arange(0.0, 29.0)
    cov = {"weight_kg": np.full(n, 70.0), "crp_mg_l": np.full(n, 30.0), "mtx_start": np.ones(n)}
    cohort = E.make_cohort(cov, models, np.random.default_rng(1))
    conc = np.full((n, grid.size), 2.0)
    expected = E.crp_level(cohort)[:, None] * (1 - 0.9 * (g + (1 - g) * 2.0 / 3.0)) * np.ones((1, 4))
    assert E.MTX_START_ON_PK
    np.testing.assert_allclose(E.weekly_crp(cohort, conc, grid), expected)
    np.testing.assert_allclose(E.crp_course(cohort, conc)[:, :4], expected)


def test_calibration_cohorts_carry_the_engine_background():
    """The calibration's scenario patients get the g the engine gives the same patients (MTX starting with
    the drug only), so the ADA fit and the trial engine simulate ASPIRE's exposure alike."""
    from ifxdose.domain.trials.calibrate import load_setup, pk_background, scenario_cohort

    models = load_models()
    g = pk_background(load_setup())
    assert g == pytest.approx(models.response.mtx_start_fraction, abs=0.02)  # the fixed point, one step
    aspire = scenario_cohort(models.pk, "aspire", 50, 3, g)
    np.testing.assert_allclose(aspire.crp_background, np.full(50, g))
    np.testing.assert_allclose(
        aspire.crp_background / g,
        models.response.background(aspire.covariates, 50) / models.response.mtx_start_fraction,
    )
    attract = scenario_cohort(models.pk, "attract", 50, 3, g)
    assert attract.crp_background is None or not np.any(attract.crp_background)
    plain = scenario_cohort(models.pk, "aspire", 50, 3, 0.0)
    np.testing.assert_array_equal(plain.eta, aspire.eta)  # the same patients, no extra draw
