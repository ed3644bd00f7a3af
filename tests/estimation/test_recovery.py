"""On data simulated from known random effects, the estimator recovers them better than
the population prior does (bias and RMSE), and Bayesian feedback improves the forecast
of the next trough (forward replay)."""

import numpy as np

from ifxdose.core.estimation import estimate_map

from .conftest import LABEL_DAYS, observations, passot_problem

SAMPLE_DAYS = [42.0, 98.0, 154.0]


def simulate_cohort(n, seed):
    rng = np.random.default_rng(seed)
    pr = passot_problem()
    m = pr.model
    eta = m.sample_eta(n, rng)
    true = pr.predict(eta, SAMPLE_DAYS + [210.0])
    sd = m.residual_sd_mg_l(true)
    y = true + sd * rng.standard_normal(true.shape)
    y = np.where(y < 0.1, np.nan, y)  # below the assay's LLOQ
    return pr, eta, y


def test_recovery_of_clearance_bias_and_rmse():
    pr, eta, y = simulate_cohort(120, seed=1)
    est = np.array([estimate_map(pr, observations(SAMPLE_DAYS, row[:3])).eta for row in y])
    err_post = est[:, 0] - eta[:, 0]
    err_prior = -eta[:, 0]
    assert abs(err_post.mean()) < 0.05  # bias in log CL
    assert np.sqrt(np.mean(err_post**2)) < 0.7 * np.sqrt(np.mean(err_prior**2))


def test_forward_replay_gain():
    pr, eta, y = simulate_cohort(60, seed=2)
    prior_pred = pr.predict(np.zeros((1, 2)), [210.0])[0, 0]
    post_err, prior_err = [], []
    for row in y:
        if np.isnan(row[3]):
            continue
        fit = estimate_map(pr, observations(SAMPLE_DAYS, row[:3]))
        post_err.append(pr.predict(fit.eta[None, :], [210.0])[0, 0] - row[3])
        prior_err.append(prior_pred - row[3])
    rmse = lambda e: float(np.sqrt(np.mean(np.square(e))))  # noqa: E731
    assert rmse(post_err) < 0.7 * rmse(prior_err)
    assert LABEL_DAYS[3] == 98.0
