"""Continuous endpoints (issue 12) against independent truths: the vectorised DAS28 against the
project's exact DAS28 (itself tested against published vectors) and a published vector; EULAR against
the project's rule; ACR-N against the response model's own ACR20/ACR50 classification."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from ifxdose.domain.scores.das28 import das28_crp, das28_esr
from ifxdose.domain.scores.eular import eular_response as eular_exact
from ifxdose.domain.trials import endpoints as EP


def test_das28_crp_published_vector():
    # ra_scores_and_codes.md test vector: TJC 4, SJC 5, CRP 7 mg/L, GH 50 -> DAS28-CRP 4.15 (4.1547)
    got = EP.das28_crp_array(np.array([4.0]), np.array([5.0]), np.array([7.0]), np.array([50.0]))
    assert got[0] == pytest.approx(4.1547, abs=1e-4)


def test_vectorised_das28_equals_the_exact_scores():
    rng = np.random.default_rng(0)
    tjc, sjc = rng.integers(0, 29, 40), rng.integers(0, 29, 40)
    crp, esr, gh = rng.uniform(0.3, 120, 40), rng.uniform(2, 120, 40), rng.uniform(0, 100, 40)
    crp_v = EP.das28_crp_array(tjc.astype(float), sjc.astype(float), crp, gh)
    esr_v = EP.das28_esr_array(tjc.astype(float), sjc.astype(float), esr, gh)
    for i in range(40):
        kw = {"tjc28": int(tjc[i]), "sjc28": int(sjc[i]), "ptga_mm": float(gh[i])}
        assert crp_v[i] == pytest.approx(float(das28_crp(crp_mg_l=float(crp[i]), **kw).value), abs=1e-9)
        assert esr_v[i] == pytest.approx(float(das28_esr(esr_mm_h=float(esr[i]), **kw).value), abs=1e-9)


def test_eular_matches_the_project_rule_including_the_exact_boundary():
    rng = np.random.default_rng(1)
    base, now = rng.uniform(2, 8, 300), rng.uniform(1, 8, 300)
    base, now = np.append(base, 3.64), np.append(now, 2.44)  # improvement exactly 1.20 -> moderate
    got = EP.eular_response(base, now)
    want = [eular_exact(baseline_das28=float(b), current_das28=float(c)).response for b, c in zip(base, now)]
    assert got.tolist() == want
    assert got[-1] == "moderate"


def test_acr_n_reproduces_the_response_models_acr20_and_acr50():
    """ACR-N >= 20 exactly when u < expit(intercept_acr20 + drug), and >= 50 for ACR50."""
    a20, a50 = -1.49, -2.73
    rng = np.random.default_rng(2)
    u, drug = rng.random(5000), rng.uniform(0, 2.5, 5000)
    acrn = EP.acr_n_pct(EP.latent_improvement(drug, u), a20, a50)
    assert np.array_equal(acrn >= 20, u < expit(a20 + drug))
    assert np.array_equal(acrn >= 50, u < expit(a50 + drug))
    assert acrn.min() >= -100 and acrn.max() <= 100
    with pytest.raises(ValueError):
        EP.acr_n_pct(np.zeros(1), -2.0, -1.0)


def test_components_improve_by_the_acr_n_fraction():
    base = {
        k: np.array([v]) for k, v in dict(tjc28=14.0, sjc28=10.0, ptga_mm=60.0, esr_mm_h=40.0, crp_mg_l=20.0).items()
    }
    c = EP.components_at(base, np.array([50.0]), None)
    assert (c["tjc28"][0], c["sjc28"][0], c["ptga_mm"][0], c["esr_mm_h"][0], c["crp_mg_l"][0]) == (7, 5, 30, 20, 10)
    assert EP.components_at(base, np.array([50.0]), np.array([3.0]))["crp_mg_l"][0] == 3.0  # CRP from the drug
    worse = EP.components_at(base, np.array([-100.0]), None)
    assert worse["tjc28"][0] == 28 and worse["ptga_mm"][0] == 100  # capped at the scale maxima
