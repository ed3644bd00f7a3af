"""Posterior uncertainty: Laplace approximation at the MAP, then sampling-importance-resampling.

A posterior is an :class:`EtaSample`, the same type as a prior sample, so simulation and
dosing never branch on which one they hold.

SIR: Dosne AG, Bergstrand M, Harling K, Karlsson MO. Improving the estimation of parameter
uncertainty distributions in nonlinear mixed effects models using sampling importance
resampling. J Pharmacokinet Pharmacodyn 2016;43:583-596. Proposal: multivariate t (5 df)
centred at the MAP with the Laplace covariance inflated by 1.5 (a heavier-tailed proposal
than the target keeps the importance weights bounded); M = 5 N proposals; N resampled
without replacement with probability proportional to the weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from scipy import stats

from ifxdose.core.estimation import compiled as _compiled
from ifxdose.core.estimation.map import FD_STEP, EstimationError
from ifxdose.core.estimation.objective import Observations, objective
from ifxdose.core.estimation.problem import Problem


@dataclass(frozen=True)
class EtaSample:
    """Random-effect vectors (N, k) with their source ("prior", "laplace", "sir")."""

    eta: np.ndarray
    kind: str
    diagnostics: dict[str, Any] = field(default_factory=dict)


def prior_sample(problem: Problem, n: int, seed: int = 0) -> EtaSample:
    return EtaSample(problem.model.sample_eta(n, np.random.default_rng(seed)), "prior")


def hessian(problem: Problem, obs: Observations, eta_hat: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """Hessian of the OFV at eta_hat: exact (analytic second derivatives of the closed form,
    :func:`ifxdose.core.estimation.compiled.exact_hessian`: compiled once numba is loaded in
    this process, the same formulas in Python before) when the model is eligible for the
    compiled MAP; otherwise central differences of the OFV (error O(step^2)), all points in
    one batch."""
    exact = _compiled.exact_hessian(problem, obs, eta_hat)
    if exact is not None:
        return exact
    k = eta_hat.size
    E = np.eye(k) * step
    pts = [eta_hat]
    for i in range(k):
        for j in range(k):
            pts += [eta_hat + E[i] + E[j], eta_hat + E[i] - E[j], eta_hat - E[i] + E[j], eta_hat - E[i] - E[j]]
    vals = objective(problem, obs, np.array(pts))
    H = np.empty((k, k))
    n = 1
    for i in range(k):
        for j in range(k):
            pp, pm, mp, mm = vals[n : n + 4]
            H[i, j] = (pp - pm - mp + mm) / (4 * step * step)
            n += 4
    return 0.5 * (H + H.T)


def laplace(problem: Problem, obs: Observations, eta_hat: np.ndarray) -> np.ndarray:
    """Posterior covariance of eta: 2 H^-1 (OFV is -2 log posterior)."""
    H = hessian(problem, obs, np.asarray(eta_hat, float))
    eig = np.linalg.eigvalsh(H)
    if not np.all(np.isfinite(H)) or eig.min() <= 0:
        raise EstimationError("the objective's Hessian at the MAP is not positive definite: not a minimum")
    return 2.0 * np.linalg.inv(H)


def _batched_objective(
    problem: Problem,
    obs: Observations,
    draws: np.ndarray,
    batch_size: int | None,
    between: Callable[[], object] | None,
) -> np.ndarray:
    """``objective(problem, obs, draws)``, ``batch_size`` rows at a time, ``between()`` between batches."""
    if batch_size is None or batch_size >= len(draws):
        return objective(problem, obs, draws)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    parts = []
    for start in range(0, len(draws), batch_size):
        if start and between is not None:
            between()
        parts.append(objective(problem, obs, draws[start : start + batch_size]))
    return np.concatenate(parts)


def sir(
    problem: Problem,
    obs: Observations,
    eta_hat: np.ndarray,
    cov: np.ndarray,
    n: int = 1000,
    seed: int = 0,
    proposals_per_sample: int = 5,
    df: float = 5.0,
    inflation: float = 1.5,
    adapt_rounds: int = 0,
    batch_size: int | None = None,
    between_batches: Callable[[], object] | None = None,
) -> EtaSample:
    """Sampling-importance-resampling from a multivariate-t proposal around the MAP.

    When the importance weights are degenerate (effective sample size < n/4) and ``adapt_rounds``
    > 0, the proposal is moved to the weighted draws (their mean and ``inflation`` x their
    covariance) and the draw repeated, up to ``adapt_rounds`` times: adaptive importance sampling
    (population Monte Carlo, Cappé et al. 2004, J Comput Graph Stat 13:907). It helps when the
    posterior is far from the Laplace normal (a level below the LLOQ, a skewed tail); the result is
    still an exact importance-weighted sample of the same posterior.

    ``batch_size``: the proposals' objective is computed this many draws at a time, with
    ``between_batches()`` called between two batches (a background job can let a request run
    alone there); the objective is row by row, so the sample is the same (bitwise, tested).
    """
    rng = np.random.default_rng(seed)
    m = n * proposals_per_sample
    loc, scale = np.asarray(eta_hat, float), cov * inflation
    for round_ in range(adapt_rounds + 1):
        proposal = stats.multivariate_t(loc=loc, shape=scale, df=df, seed=rng)
        draws = np.atleast_2d(proposal.rvs(size=m)).reshape(m, -1)
        log_target = -0.5 * _batched_objective(problem, obs, draws, batch_size, between_batches)
        log_w = log_target - proposal.logpdf(draws)
        log_w = np.where(np.isfinite(log_w), log_w, -np.inf)
        w = np.exp(log_w - log_w.max())
        w /= w.sum()
        ess = 1.0 / np.sum(w * w)
        if ess >= n / 4:
            break
        if round_ == adapt_rounds:
            raise EstimationError(f"importance weights are degenerate (effective sample size {ess:.0f} < {n / 4:.0f})")
        loc = w @ draws
        centred = draws - loc
        weighted_cov = (centred * w[:, None]).T @ centred
        # keep the proposal proper: never narrower than a tenth of the Laplace covariance
        scale = inflation * (weighted_cov + 0.1 * cov)
    idx = rng.choice(m, size=n, replace=False, p=w)
    return EtaSample(
        draws[idx],
        "sir",
        {
            "proposals": m,
            "effective_sample_size": float(ess),
            "max_weight": float(w.max()),
            "fd_step": FD_STEP,
            "adapted_rounds": round_,
        },
    )
