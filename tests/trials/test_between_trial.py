"""Between-trial heterogeneity (core.heterogeneity, models.trial_effects), checked against independent
truths: the published I^2 by Higgins and Thompson's identity, adaptive quadrature, the conjugate normal
case in closed form, and the stored calibration's own draws."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit

from ifxdose.core.heterogeneity import (
    binomial_loglik,
    conditional_draws,
    conditional_mean,
    marginal_loglik,
)
from ifxdose.domain.trials.calibrate import between_trial, between_trial_sd, load_setup
from ifxdose.domain.trials.models import calibration_data, point_trial_effect, trial_effects


def test_tau_from_nagai_2020_by_hand():
    # Nagai et al., Clin Drug Investig 2020;40:197-209: 88 trials, 8406 placebo patients, pooled 29.0 %, I^2 69.3 %.
    m = 8406 / 88
    s2 = 1 / (m * 0.29 * 0.71)  # logit variance of a typical placebo arm: 0.05085
    assert s2 == pytest.approx(0.05085, abs=1e-5)
    tau = between_trial_sd(0.693, 0.29, 8406, 88)
    assert tau == pytest.approx(np.sqrt(0.693 / 0.307 * s2))
    assert tau**2 / (tau**2 + s2) == pytest.approx(0.693)  # Higgins and Thompson's I^2 recovered
    assert between_trial(load_setup())[0] == pytest.approx(tau)  # the setup reads the published inputs
    # A second, independent route: the published range of placebo ACR20 (10.0-46.2 % over 88 trials) is
    # about 4.9 SDs of 88 normal draws (expected range, Monte Carlo), less the within-trial variance.
    draws = np.random.default_rng(0).standard_normal((20000, 88))
    expected_range = float(np.mean(draws.max(1) - draws.min(1)))
    total_sd = (np.log(0.462 / 0.538) - np.log(0.10 / 0.90)) / expected_range
    assert np.sqrt(total_sd**2 - s2) == pytest.approx(tau, abs=0.05)


def _toy_study(shares=(0.3, 0.55), observed=(36.0, 58.0), n=(120.0, 90.0)):
    a = np.log(np.array(shares) / (1 - np.array(shares)))

    def loglik(u):
        u = np.atleast_1d(np.asarray(u, float))
        return binomial_loglik(expit(a[None, :] + u[:, None]), np.array(observed), np.array(n))

    return loglik


START_LIKE = dict(shares=(0.41, 0.51, 0.52, 0.51), observed=(36.0, 49.0, 55.0, 58.0), n=(329.0,) * 4)
LARGE = dict(shares=(0.41, 0.51), observed=(38.0, 55.0), n=(3000.0, 3000.0))


@pytest.mark.parametrize("sd", [0.1, 0.34, 1.0])
@pytest.mark.parametrize("study", [{}, START_LIKE, LARGE], ids=["toy", "start-like", "3000-per-arm"])
def test_marginal_loglik_matches_adaptive_quadrature(sd, study):
    loglik = _toy_study(**study)
    at0 = float(loglik(0.0)[0])

    def integrand(u):
        return np.exp(float(loglik(u)[0]) - at0) * stats.norm.pdf(u, 0, sd)

    ref = integrate.quad(integrand, -10 * sd, 10 * sd, epsabs=0, limit=400, points=[-0.5, 0.0, 0.5])[0]
    assert marginal_loglik(loglik, sd) == pytest.approx(np.log(ref) + at0, abs=1e-6)


def test_zero_sd_is_the_pooled_likelihood():
    loglik = _toy_study()
    assert marginal_loglik(loglik, 0.0) == float(loglik(0.0)[0])
    assert conditional_mean(loglik, 0.0) == 0.0
    assert not conditional_draws(loglik, 0.0, np.array([0.1, 0.9])).any()


def test_conjugate_normal_case_in_closed_form():
    """A normal likelihood in u: the posterior and the marginal are known exactly."""
    tau, m, s = 0.34, 0.5, 0.2

    def loglik(u):
        return -0.5 * (np.asarray(u, float) - m) ** 2 / s**2

    post_mean = m * tau**2 / (tau**2 + s**2)
    post_sd = np.sqrt(tau**2 * s**2 / (tau**2 + s**2))
    marginal = 0.5 * np.log(s**2 / (s**2 + tau**2)) - 0.5 * m**2 / (s**2 + tau**2)
    assert marginal_loglik(loglik, tau) == pytest.approx(marginal, abs=1e-8)
    assert conditional_mean(loglik, tau) == pytest.approx(post_mean, abs=1e-6)
    q = np.array([0.025, 0.25, 0.5, 0.75, 0.975])
    assert conditional_draws(loglik, tau, q) == pytest.approx(stats.norm.ppf(q, post_mean, post_sd), abs=2e-3)


def test_conditional_draws_match_the_posterior_by_quadrature():
    loglik, sd = _toy_study(), 0.34

    def post(u: float) -> float:
        return float(np.exp(loglik(u)[0] - loglik(0.0)[0])) * stats.norm.pdf(u, 0, sd)

    z = integrate.quad(post, -3, 3)[0]
    mean = integrate.quad(lambda u: u * post(u), -3, 3)[0] / z
    var = integrate.quad(lambda u: (u - mean) ** 2 * post(u), -3, 3)[0] / z
    draws = conditional_draws(loglik, sd, np.random.default_rng(1).uniform(size=20000))
    assert conditional_mean(loglik, sd) == pytest.approx(mean, abs=1e-5)
    assert draws.mean() == pytest.approx(mean, abs=4 * np.sqrt(var / 20000))
    assert draws.std() == pytest.approx(np.sqrt(var), rel=0.03)


def test_trial_effects_by_kind_of_trial():
    data = calibration_data()
    het = data["exposure_response"]["between_trial"]
    sd = het["sd_logit"]
    assert sd == pytest.approx(between_trial(load_setup())[0])
    idx = np.arange(7)
    for study in het["level_absorbed"]:  # ASPIRE, RRRR: a parameter fitted on the trial is its level
        assert not trial_effects(study, 7, idx, seed=1).any()
    for study, own in data["posterior"]["study_effect_draws"].items():  # fitted trials: their own draws
        assert trial_effects(study, 7, idx, seed=1) == pytest.approx(np.asarray(own)[idx])
        assert point_trial_effect(study) == pytest.approx(het["study_effects_at_ml"][study])
    assert not trial_effects(None, 7, idx, seed=1).any() and point_trial_effect("rising") == 0.0
    # a new trial: Normal(0, sd^2), reproducible, its own stream
    big = np.zeros(4000, int)
    u = trial_effects("rising", 4000, big, seed=1)
    assert stats.kstest(u / sd, "norm").pvalue > 1e-3
    assert (trial_effects("rising", 4000, big, seed=1) == u).all()
    assert not (trial_effects("elliott1994", 4000, big, seed=1) == u).any()
    assert not (trial_effects("rising", 4000, big, seed=2) == u).any()


def test_fitted_trials_effects_are_informed_by_their_figures():
    """A fitted trial's effect, drawn from its conditional posterior given its own ACR20 figures (hundreds of
    patients), is narrower than the between-trial prior it would have as a new trial, and pairs one to one with
    the exposure-response draws (a sampler drawing from the prior would give SD = sd)."""
    data = calibration_data()
    sd = data["exposure_response"]["between_trial"]["sd_logit"]
    n_draws = len(data["posterior"]["er_draws"])
    for study, own in data["posterior"]["study_effect_draws"].items():
        assert len(own) == n_draws
        assert np.std(own) < 0.9 * sd, study
