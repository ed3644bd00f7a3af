"""Posterior: SIR quantiles against a long Metropolis reference, within Monte-Carlo error."""

import numpy as np
import pytest

from ifxdose.core.estimation import EstimationError, estimate_map, laplace, objective, sir


def metropolis(problem, obs, start, cov, n_steps, rng):
    """Random-walk Metropolis, many independent chains advanced together (the reference)."""
    k = start.shape[1]
    chol = np.linalg.cholesky(cov * 2.38**2 / k)
    x = start.copy()
    fx = objective(problem, obs, x)
    for _ in range(n_steps):
        y = x + rng.standard_normal(x.shape) @ chol.T
        fy = objective(problem, obs, y)
        accept = np.log(rng.random(len(x))) < -0.5 * (fy - fx)
        x[accept], fx[accept] = y[accept], fy[accept]
    return x


def test_sir_matches_mcmc(problem, obs_with_blq):
    fit = estimate_map(problem, obs_with_blq)
    cov = laplace(problem, obs_with_blq, fit.eta)
    n = 4000
    post = sir(problem, obs_with_blq, fit.eta, cov, n=n, seed=11)
    rng = np.random.default_rng(5)
    chains = metropolis(problem, obs_with_blq, problem.model.sample_eta(n, rng), cov, 400, rng)
    sd = np.sqrt(np.diag(cov))
    for q in (0.1, 0.5, 0.9):
        a = np.quantile(post.eta, q, axis=0)
        b = np.quantile(chains, q, axis=0)
        # quantile Monte-Carlo SE with n = 4000 is about 0.02-0.03 SD per estimate: allow 0.15 SD
        assert np.all(np.abs(a - b) < 0.15 * sd), (q, a, b)


def test_laplace_covariance_shrinks_with_data(problem, obs_with_blq):
    fit = estimate_map(problem, obs_with_blq)
    cov = laplace(problem, obs_with_blq, fit.eta)
    assert np.all(np.diag(cov) < np.diag(problem.model.omega))


def test_adaptive_sir_recovers_from_a_misplaced_proposal(problem, obs_with_blq):
    """A proposal far too narrow and off the mode (the situation of a posterior far from the Laplace
    normal) gives degenerate weights; adapting it to the weighted draws (population Monte Carlo)
    recovers the posterior: quantiles against the independent Metropolis reference."""
    fit = estimate_map(problem, obs_with_blq)
    cov = laplace(problem, obs_with_blq, fit.eta)
    sd = np.sqrt(np.diag(cov))
    off = fit.eta + 1.5 * sd
    narrow = cov / 25
    n = 2000
    with pytest.raises(EstimationError, match="degenerate"):
        sir(problem, obs_with_blq, off, narrow, n=n, seed=3)
    post = sir(problem, obs_with_blq, off, narrow, n=n, seed=3, proposals_per_sample=10, adapt_rounds=4)
    assert post.diagnostics["adapted_rounds"] >= 1
    rng = np.random.default_rng(7)
    chains = metropolis(problem, obs_with_blq, problem.model.sample_eta(n, rng), cov, 400, rng)
    for q in (0.1, 0.5, 0.9):
        a = np.quantile(post.eta, q, axis=0)
        b = np.quantile(chains, q, axis=0)
        assert np.all(np.abs(a - b) < 0.2 * sd), (q, a, b)


@pytest.mark.parametrize("batch_size", [1, 700, 999, 1000, 4999])
def test_sir_in_batches_is_the_same_sample_bitwise(problem, obs_with_blq, batch_size):
    """Issue 13: the start job computes SIR's objective in batches with a pause between them.
    The objective is row by row, so the weights, the resampled draws and the diagnostics are
    the unbatched ones exactly; the pause runs between batches only (not before the first)."""
    fit = estimate_map(problem, obs_with_blq)
    cov = laplace(problem, obs_with_blq, fit.eta)
    whole = sir(problem, obs_with_blq, fit.eta, cov, n=1000, seed=3)
    pauses: list[int] = []
    batched = sir(
        problem,
        obs_with_blq,
        fit.eta,
        cov,
        n=1000,
        seed=3,
        batch_size=batch_size,
        between_batches=lambda: pauses.append(1),
    )
    assert np.array_equal(batched.eta, whole.eta)
    assert batched.diagnostics == whole.diagnostics
    assert len(pauses) == -(-5000 // batch_size) - 1  # 5 proposals per draw: 5,000 rows


def test_sir_refuses_an_empty_batch(problem, obs_with_blq):
    fit = estimate_map(problem, obs_with_blq)
    cov = laplace(problem, obs_with_blq, fit.eta)
    with pytest.raises(ValueError, match="batch_size"):
        sir(problem, obs_with_blq, fit.eta, cov, n=100, seed=3, batch_size=0)
