"""MAP against independent optimisers: a dense grid (2 random effects) and a many-start
global search (4 random effects); M3 against the formula written out by hand."""

import numpy as np
import pytest
from scipy.optimize import differential_evolution
from scipy.stats import norm

from ifxdose.core.estimation import EstimationError, Observations, Problem, estimate_map, objective
from ifxdose.core.pk import ROUTE_IV
from ifxdose.domain.modelfiles import load_model

from .conftest import observations, passot_problem


def test_map_equals_dense_grid_minimum(problem, obs_with_blq):
    fit = estimate_map(problem, obs_with_blq)
    sd = np.sqrt(np.diag(problem.model.omega))
    # coarse grid over +-3 SD, then a fine grid around the best coarse point
    g = np.linspace(-3, 3, 241)
    pts = np.array(np.meshgrid(g * sd[0], g * sd[1])).reshape(2, -1).T
    ofv = objective(problem, obs_with_blq, pts)
    best = pts[np.argmin(ofv)]
    step = (g[1] - g[0]) * sd
    f = np.linspace(-5, 5, 1001)  # +-5 coarse steps: the valley of correlated CL and V can be narrow
    fine = np.array(np.meshgrid(best[0] + f * step[0], best[1] + f * step[1])).reshape(2, -1).T
    grid_min = objective(problem, obs_with_blq, fine).min()
    assert fit.ofv <= grid_min + 1e-6
    assert abs(fit.ofv - grid_min) < 1e-4


def test_map_equals_global_search_with_four_random_effects():
    """'Mould 2012' has IIV on CL, V1, Q and V2: compare with differential evolution."""
    m = load_model("mould_2012_ibd")
    pr = Problem(
        m,
        np.array([-np.inf, 140.0]),
        {"weight_kg": np.array([70.0, 70.0]), "ada": np.array([0.0, 1.0])},
        [(d, 350.0, 2 / 24, ROUTE_IV) for d in (0, 14, 42, 98, 154)],
    )
    obs = observations([42.0, 98.0, 120.0, 154.0], [9.0, 2.5, 5.0, 1.1])
    fit = estimate_map(pr, obs)
    sd = np.sqrt(np.diag(m.omega))
    de = differential_evolution(
        lambda x: float(objective(pr, obs, x[None, :])[0]),
        bounds=[(-4 * s, 4 * s) for s in sd],
        seed=3,
        tol=1e-12,
        atol=1e-12,
        maxiter=3000,
        polish=True,
    )
    assert fit.ofv <= de.fun + 1e-6
    assert abs(fit.ofv - de.fun) < 1e-4


def test_m3_term_by_hand(problem):
    """A level below the LLOQ contributes -2 ln Phi((LLOQ - f)/sd) (Beal 2001, M3)."""
    eta = np.array([[0.2, -0.1]])
    f = problem.predict(eta, [154.0])[0, 0]
    m = problem.model
    sd = np.sqrt(m.residual_additive_mg_l**2 + (m.residual_proportional * f) ** 2)
    prior = eta[0] @ np.linalg.inv(m.omega) @ eta[0]
    expected = prior - 2 * np.log(norm.cdf((0.1 - f) / sd))
    got = objective(problem, observations([154.0], [np.nan], lloq=0.1), eta)[0]
    assert got == pytest.approx(expected, rel=1e-12)


def test_below_lloq_information_depends_on_the_lloq(problem):
    """M3 treats '< LLOQ' as a probability: an LLOQ far above any plausible trough carries
    no information (the estimate stays at the prior mode); a sensitive assay's '< LLOQ'
    means fast clearance. Imputing a value (LLOQ/2) would do neither."""
    insensitive = estimate_map(problem, observations([154.0], [np.nan], lloq=100.0))
    assert np.allclose(insensitive.eta, 0.0, atol=1e-4)
    sensitive = estimate_map(problem, observations([154.0], [np.nan], lloq=0.1))
    assert sensitive.eta[0] > 0.2  # CL well above typical (eta in log units; prior SD 0.36)


def test_no_levels_gives_the_prior_mode(problem):
    fit = estimate_map(problem, Observations(np.array([]), np.array([]), np.array([])))
    assert np.allclose(fit.eta, 0.0, atol=1e-6)
    assert any("prior" in w for w in fit.warnings)


def test_implausible_level_is_refused_with_a_reason(problem):
    """A trough of 400 mg/L after 180 mg cannot be fitted: a named failure, not a number."""
    with pytest.raises(EstimationError, match="implausible|beyond"):
        estimate_map(problem, observations([98.0], [400.0]))


def test_time_varying_ada_enters_the_estimate():
    base = passot_problem()
    m = base.model
    with_ada = Problem(
        m, np.array([-np.inf, 100.0]), {"weight_kg": np.array([60.0, 60.0]), "ada": np.array([0.0, 1.0])}, base.doses
    )
    obs = observations([98.0, 154.0], [0.8, 0.3])
    a = estimate_map(base, obs)
    b = estimate_map(with_ada, obs)
    # ADA explains part of the fall after day 100, so less of it is put on the patient's own CL
    assert b.eta[0] < a.eta[0]
