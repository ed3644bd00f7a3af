"""The spread of ACR-N's parts (issue 12, session 6): joint counts improve by ACR-N plus a non-negative excess.

Checked against the definition (ACR-N = min(%dTJC, %dSJC, median of the other five): the reconstructed minimum is
ACR-N for every simulated patient and visit, and neither count improves by less), the gaps' law by Monte Carlo
against its closed form (quadrature), a homogeneous group's median count against the closed form
exp(-sigma * median gap), the calibration's brentq against a closed-form sigma, and the stored sigma against a
fresh run of the calibration.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from ifxdose.domain.trials import engine as E
from ifxdose.domain.trials.adaptive import start_arm
from ifxdose.domain.trials.definitions import get_trial
from ifxdose.domain.trials.endpoints import (
    acr_n_pct,
    component_gaps,
    gap_cdf,
    joint_count_level,
    latent_improvement,
)
from ifxdose.domain.trials.fit_joint_counts import (
    PLACEBO_ARM,
    calibrate_joint_counts,
    label_ratio,
    run,
)
from ifxdose.domain.trials.models import joint_counts_data, load_models
from ifxdose.domain.trials.population import virtual_population

N = 400_000


def median_gap() -> float:
    """The median of one part's gap, from the closed-form law (brentq on gap_cdf = 1/2)."""
    return float(optimize.brentq(lambda x: gap_cdf(x) - 0.5, 0.0, 5.0, xtol=1e-12))


def test_gap_law_at_zero_is_one_third_each_part_limits_equally_often():
    assert gap_cdf(0.0) == pytest.approx(1.0 / 3.0, abs=1e-10)
    assert gap_cdf(-0.1) == 0.0
    assert gap_cdf(12.0) == pytest.approx(1.0, abs=1e-10)


@pytest.mark.parametrize("x", [0.0, 0.25, 0.5, 1.0, 2.0])
def test_gaps_by_monte_carlo_match_the_closed_form(x):
    z = np.random.default_rng(11).standard_normal((N, 3))
    g = component_gaps(z)
    expected = gap_cdf(x)
    se = np.sqrt(expected * (1 - expected) / N)
    for c in range(3):
        assert np.mean(g[:, c] <= x) == pytest.approx(expected, abs=5 * se)


def test_exactly_one_part_limits_and_no_gap_is_negative():
    g = component_gaps(np.random.default_rng(12).standard_normal((10_000, 3)))
    assert (g >= 0).all()
    assert ((g == 0).sum(axis=1) == 1).all()


def test_a_homogeneous_groups_median_count_is_the_closed_form():
    # baseline 20 joints, ACR-N 30 % for everyone: median count = 20 * 0.7 * exp(-sigma * median gap)
    sigma, base, acrn = 1.3, 20.0, 30.0
    g = component_gaps(np.random.default_rng(13).standard_normal((N, 3)))
    level = joint_count_level(np.full(N, base), np.full(N, acrn), g[:, 0], sigma)
    assert np.median(level) == pytest.approx(base * 0.7 * np.exp(-sigma * median_gap()), rel=3e-3)
    # without the spread the count improves by exactly ACR-N (the minimum the definition allows)
    assert joint_count_level(np.array([base]), np.array([acrn]), g[:1, 0], 0.0)[0] == pytest.approx(14.0)


def test_invalid_sigma_is_refused():
    with pytest.raises(ValueError, match="sigma"):
        joint_count_level(np.array([10.0]), np.array([20.0]), np.array([0.5]), -1.0)


def test_calibration_brentq_equals_the_closed_form_sigma():
    # every patient with the same ACR-N and baseline: the ratio of medians is (1 - A/100) exp(-sigma m_g), so the
    # sigma that gives the label's mean ratio t solves (1 - A/100) exp(-sigma m_g) = t in closed form
    rng = np.random.default_rng(14)
    acrn = 25.0

    def arm(n: int) -> dict[str, np.ndarray]:
        return {
            "acr_n": np.full(n, acrn),
            "tjc28": np.full(n, 14.0),
            "sjc28": np.full(n, 10.0),
            "gaps": component_gaps(rng.standard_normal((n, 3))),
        }

    doc = calibrate_joint_counts({PLACEBO_ARM: arm(1000), "a": arm(N // 2), "b": arm(N // 2)})
    target = 0.5 * (label_ratio("infliximab", "tjc28") + label_ratio("infliximab", "sjc28"))
    assert target == pytest.approx(0.30)  # the label: (8/32 + 7/20) / 2
    closed = -np.log(target / (1 - acrn / 100)) / median_gap()
    assert doc["values"]["sigma"] == pytest.approx(closed, rel=5e-3)


def test_every_start_patient_satisfies_the_acr_n_definition():
    # reconstruct the three parts' improvements at every visit: their minimum is the patient's ACR-N and neither
    # joint count improves by less (before rounding and assessment error)
    models = load_models()
    assert models.joint_spread_sigma > 0
    trial = get_trial("start")
    rng = np.random.default_rng(15)
    cohort = E.make_cohort(virtual_population("start", 300, rng), models, rng, population="start")
    run_ = start_arm(models, cohort, str(trial.arms[0].regimen), E.daily_grid(trial.horizon_day))
    grid, r = run_.exposure.grid_days, models.response
    ce = r.effect_site(grid, run_.exposure.conc_mg_l)
    gaps = component_gaps(cohort.component_z)
    for day, occasion in ((154.0, 1), (210.0, 2), (378.0, 5)):  # START's assessments (weeks 22, 30, 54)
        k = int(np.searchsorted(grid, day))
        drug = r.drug_logit(E.effective_ce(cohort, ce[:, k]), E.response_background(models, cohort))
        u = E.visit_response_u(cohort, occasion)  # the visit's latent response (session 7)
        acrn = acr_n_pct(latent_improvement(drug, u), r.intercepts["acr20"], r.intercepts["acr50"])
        parts = []
        for c in range(3):
            base = np.full(cohort.n, 10.0) if c == 2 else cohort.covariates[("tjc28", "sjc28")[c]]
            level = joint_count_level(base, acrn, gaps[:, c], models.joint_spread_sigma)
            parts.append(100.0 * (1.0 - level / base))
        judged = (cohort.covariates["tjc28"] > 0) & (cohort.covariates["sjc28"] > 0)
        parts_ = np.array(parts)[:, judged]
        assert judged.mean() > 0.9
        assert np.allclose(parts_.min(axis=0), acrn[judged], atol=1e-9)
        assert (parts_[:2] >= acrn[judged] - 1e-9).all()
        assert (parts_[:2] > acrn[judged] + 1.0).any()  # and some patients' joints improve by more


def test_stored_sigma_is_a_fresh_calibration():
    stored = joint_counts_data()
    assert stored is not None
    fresh = run()
    # a stale file (models re-calibrated, sigma not re-fitted) moves sigma far more than floating-point noise
    assert fresh["values"]["sigma"] == pytest.approx(stored["values"]["sigma"], rel=1e-6)


def test_das28_components_take_their_own_parts_by_hand():
    # ACR-N 20 %, sigma 1, gaps (0, 0.5, 1.0): TJC keeps 0.8, SJC 0.8 e^-0.5, patient global and ESR 0.8 e^-1
    from ifxdose.domain.trials.endpoints import components_at

    base = {
        k: np.array([v]) for k, v in dict(tjc28=20.0, sjc28=10.0, ptga_mm=60.0, esr_mm_h=40.0, crp_mg_l=20.0).items()
    }
    c = components_at(base, np.array([20.0]), np.array([5.0]), np.array([[0.0, 0.5, 1.0]]), 1.0)
    assert c["tjc28"][0] == 16
    assert c["sjc28"][0] == np.rint(10 * 0.8 * np.exp(-0.5))  # 4.85 -> 5
    assert c["ptga_mm"][0] == pytest.approx(60 * 0.8 * np.exp(-1.0))
    assert c["esr_mm_h"][0] == pytest.approx(40 * 0.8 * np.exp(-1.0))
    assert c["crp_mg_l"][0] == 5.0  # CRP follows the drug
    # without gaps: every component keeps exactly the ACR-N fraction (as before session 6)
    same = components_at(base, np.array([20.0]), np.array([5.0]))
    assert (same["tjc28"][0], same["sjc28"][0], same["ptga_mm"][0]) == (16, 8, pytest.approx(48.0))
