"""Response over visits (issue 12, session 7): a persistent plus a visit-specific latent response.

Checked against independent sources: the bivariate normal CDF by quadrature against scipy's multivariate
normal (Genz's algorithm) and Sheppard's closed form at the medians; the tetrachoric correlation against
shares computed in closed form and against thresholded Monte Carlo normals of known correlation; the visit
uniform's marginal law (uniform) and its two-visit joint law by Monte Carlo against the closed form; the
stored correlation against GO-FORWARD's published counts; START's assessed ACR-N reading the visit uniform.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kstest, multivariate_normal, norm

from ifxdose.core.errors import InputError
from ifxdose.core.response import bivariate_normal_cdf, tetrachoric_correlation, visit_uniform
from ifxdose.domain.trials import engine as E
from ifxdose.domain.trials.adaptive import start_joint_counts
from ifxdose.domain.trials.definitions import get_trial
from ifxdose.domain.trials.endpoints import acr_n_pct, latent_improvement
from ifxdose.domain.trials.models import load_models
from ifxdose.domain.trials.population import virtual_population

N = 400_000


@pytest.mark.parametrize("a,b,rho", [(0.3, -0.2, 0.68), (-1.1, 0.4, 0.2), (0.9, 1.3, -0.5), (0.0, 0.0, 0.95)])
def test_bivariate_cdf_matches_scipy_multivariate_normal(a, b, rho):
    expected = multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]]).cdf([a, b])
    assert bivariate_normal_cdf(a, b, rho) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("rho", [-0.7, 0.0, 0.3, 0.683, 0.99])
def test_bivariate_cdf_at_the_medians_is_sheppards_formula(rho):
    # Sheppard (1899): P(X <= 0, Y <= 0) = 1/4 + arcsin(rho) / (2 pi)
    assert bivariate_normal_cdf(0.0, 0.0, rho) == pytest.approx(0.25 + np.arcsin(rho) / (2 * np.pi), abs=1e-9)


def test_bivariate_cdf_without_correlation_is_the_product():
    assert bivariate_normal_cdf(0.7, -0.4, 0.0) == pytest.approx(norm.cdf(0.7) * norm.cdf(-0.4), abs=1e-10)


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9])
def test_tetrachoric_inverts_sheppards_formula(rho):
    assert tetrachoric_correlation(0.5, 0.5, 0.25 + np.arcsin(rho) / (2 * np.pi)) == pytest.approx(rho, abs=1e-8)


def test_tetrachoric_recovers_a_known_correlation_from_thresholded_normals():
    rho = 0.6
    rng = np.random.default_rng(21)
    x = rng.standard_normal(N)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(N)
    first, second = x < 0.25, y < -0.15  # shares 0.60 and 0.44
    est = tetrachoric_correlation(first.mean(), second.mean(), np.mean(first & second))
    assert est == pytest.approx(rho, abs=0.01)


@pytest.mark.parametrize(
    "args,field",
    [
        ((0.0, 0.5, 0.2), "p_first"),
        ((0.5, 1.0, 0.2), "p_second"),
        ((0.6, 0.6, 0.65), "p_both"),
        ((0.6, 0.6, 0.1), "p_both"),
    ],
)
def test_tetrachoric_rejects_impossible_shares_naming_the_field(args, field):
    with pytest.raises(InputError, match=field):
        tetrachoric_correlation(*args)


@pytest.mark.parametrize("rho", [-0.1, 1.5])
def test_visit_uniform_rejects_a_correlation_outside_0_1(rho):
    with pytest.raises(InputError, match="rho"):
        visit_uniform(np.array([0.5]), np.array([0.0]), rho)


def test_visit_uniform_with_full_persistence_is_the_patient_uniform():
    u = np.random.default_rng(22).random(1000)
    assert np.array_equal(visit_uniform(u, np.ones(1000), 1.0), u)


def test_visit_uniform_is_uniform_and_two_visits_follow_the_bivariate_law():
    # the marginal response rate at any one visit is unchanged (uniform), and the joint share of two visits'
    # responses is the bivariate normal CDF at (Phi^-1(p1), Phi^-1(p2)) with correlation rho
    rho, p1, p2 = 0.683, 0.42, 0.58
    rng = np.random.default_rng(23)
    u = rng.random(N)
    v1, v2 = visit_uniform(u, rng.standard_normal(N), rho), visit_uniform(u, rng.standard_normal(N), rho)
    assert kstest(v1, "uniform").pvalue > 0.001
    both = np.mean((v1 < p1) & (v2 < p2))
    expected = bivariate_normal_cdf(float(norm.ppf(p1)), float(norm.ppf(p2)), rho)
    assert both == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / N))
    assert both > p1 * p2 + 0.05  # persistent: far from independent visits
    assert both < min(p1, p2) - 0.05  # not fully persistent either


def test_stored_correlation_is_go_forward_group_4_and_reproduces_its_counts():
    g = E.GOFORWARD_GROUP4_ACR20
    assert (g["n"], g["week24"], g["week52"], g["both"]) == (89, 53 / 89, 0.58, 41 / 89)
    rho = E.response_visit_rho()
    assert 0.6 < rho < 0.75
    # by Monte Carlo through the model's own visit uniforms: 41 of the 53 week-24 responders respond at week 52
    rng = np.random.default_rng(24)
    u = rng.random(N)
    w24 = visit_uniform(u, rng.standard_normal(N), rho) < g["week24"]
    w52 = visit_uniform(u, rng.standard_normal(N), rho) < g["week52"]
    assert np.mean(w24 & w52) / np.mean(w24) == pytest.approx(41 / 53, abs=0.005)


def test_start_assessments_read_the_visit_uniform(monkeypatch):
    models = load_models()
    trial = get_trial("start")
    rng = np.random.default_rng(25)
    cohort = E.make_cohort(virtual_population("start", 400, rng), models, rng, population="start")
    grid = E.daily_grid(trial.horizon_day)
    times, base = E.regimen_mg_per_kg(str(trial.arms[0].regimen), float(grid[-1]))
    run = E.fixed_arm(models, cohort, times, np.tile(base, (cohort.n, 1)), grid)
    day, occasion = 153.0, 1  # week 22
    k = int(np.searchsorted(run.exposure.grid_days, day))
    ce = models.response.effect_site(run.exposure.grid_days[: k + 1], run.exposure.conc_mg_l[:, : k + 1])[:, k]
    drug = models.response.drug_logit(E.effective_ce(cohort, ce), E.response_background(models, cohort))
    ints = models.response.intercepts

    def acrn(u: np.ndarray) -> np.ndarray:
        return acr_n_pct(latent_improvement(drug, u), ints["acr20"], ints["acr50"])

    expected_u = visit_uniform(cohort.response_u, cohort.response_visit_z[:, occasion], E.response_visit_rho())
    assert np.array_equal(E.visit_response_u(cohort, occasion), expected_u)
    # the assessed counts with assessment error removed follow the visit ACR-N, not the persistent one
    monkeypatch.setattr(E, "RESPONSE_VISIT_VARIATION", False)
    assert np.array_equal(E.visit_response_u(cohort, occasion), cohort.response_u)
    off = start_joint_counts(models, run, day, occasion)
    monkeypatch.setattr(E, "RESPONSE_VISIT_VARIATION", True)
    on = start_joint_counts(models, run, day, occasion)
    assert not np.array_equal(off[0] + off[1], on[0] + on[1])
    assert not np.array_equal(acrn(expected_u), acrn(cohort.response_u))
    # a patient whose visit latent is better improves at least as much in joints, up to assessment error (SEM)
    better = acrn(expected_u) - acrn(cohort.response_u) > 30
    assert better.sum() > 10
    assert np.mean((on[0] + on[1])[better] <= (off[0] + off[1])[better]) > 0.9
