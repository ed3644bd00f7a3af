"""Population-specific background response (issue 12): MTX started with the drug (MTX-naive patients,
ASPIRE) on the response model's bounded latent scale, checked against hand calculations and a brute-force
simulation of the latent scale."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import logit

from ifxdose.core.errors import InputError
from ifxdose.core.response import bliss_fraction, emax_logit_probability
from ifxdose.domain.trials import endpoints as EP
from ifxdose.domain.trials.calibrate import beta_low_prior, fit_background, load_setup, mtx_start_fraction
from ifxdose.domain.trials.models import ResponseModel, load_models
from ifxdose.domain.trials.population import population_constants, virtual_population

R = ResponseModel(0.1, 2.0, 4.0, 1.0, {"acr20": -1.5, "acr50": -2.7}, 0.8)


def test_probability_with_a_background_by_hand():
    # Ce = EC50 -> f = 0.5; g = 0.8 -> 1 - 0.2 * 0.5 = 0.9; logit P = -1.5 + 2 * 0.9 = 0.3
    want = 1.0 / (1.0 + math.exp(-0.3))
    assert emax_logit_probability(np.array(4.0), -1.5, 2.0, 4.0, 1.0, 0.8) == pytest.approx(want, abs=1e-12)
    assert R.probability("acr20", np.array(4.0), 0.8) == pytest.approx(want, abs=1e-12)
    # without drug the background alone: logit P = -1.5 + 2 * 0.8 = 0.1
    assert R.probability("acr20", np.array(0.0), 0.8) == pytest.approx(1.0 / (1.0 + math.exp(-0.1)), abs=1e-12)


def test_drug_increment_shrinks_by_one_minus_g():
    ce = np.array([0.5, 2.0, 4.0, 30.0])
    increment = R.drug_logit(ce, 0.8) - R.drug_logit(np.zeros(4), 0.8)
    assert increment == pytest.approx(0.2 * R.drug_logit(ce, 0.0), rel=1e-12)
    # g = 0 is the model without background (ATTRACT): 2 * Ce / (4 + Ce)
    assert R.drug_logit(ce, 0.0) == pytest.approx(2.0 * ce / (4.0 + ce), rel=1e-12)


def test_background_fraction_outside_0_1_is_refused():
    with pytest.raises(InputError, match="background_fraction"):
        bliss_fraction(np.array(0.5), 1.2)


def test_background_reads_the_mtx_start_covariate():
    g = R.background({"mtx_start": np.array([1.0, 0.0, 1.0])}, 3)
    assert g.tolist() == [0.8, 0.0, 0.8]
    assert R.background({}, 2).tolist() == [0.0, 0.0]


def test_mtx_start_fraction_by_hand():
    # z20 = 1.5, z50 = 2.7: ACR-N 26.4 sits at z = 1.5 + 6.4 * 1.2 / 30 = 1.756; g = 1.756 / 2 = 0.878
    g, z_m = mtx_start_fraction(26.4, R)
    assert z_m == pytest.approx(1.756, abs=1e-12)
    assert g == pytest.approx(0.878, abs=1e-12)
    # a median the drug's maximum cannot reach caps g at 1
    assert mtx_start_fraction(60.0, R)[0] == 1.0


def test_mtx_start_fraction_gives_the_median_by_brute_force():
    """Simulate the placebo arm's latent scale: with g from the closed form, half the patients are above 26.4 %."""
    g, _ = mtx_start_fraction(26.4, R)
    u = np.random.default_rng(3).random(400_000)
    acrn = EP.acr_n_pct(R.emax * g - logit(u), R.intercepts["acr20"], R.intercepts["acr50"])
    assert float(np.median(acrn)) == pytest.approx(26.4, abs=0.15)


def test_latent_for_acr_n_inverts_acr_n():
    z = EP.latent_for_acr_n(38.9, -1.5, -2.7)
    assert EP.acr_n_pct(np.array([z]), -1.5, -2.7)[0] == pytest.approx(38.9, abs=1e-12)


def test_only_aspire_populations_start_mtx_and_constants_draw_nothing():
    assert all(population_constants(p)["mtx_start"] == 1.0 for p in ("aspire", "aspire-placebo", "aspire-3"))
    assert all(population_constants(p)["mtx_start"] == 0.0 for p in ("attract", "start", "rising", "rrrr"))
    a = virtual_population("attract", 50, np.random.default_rng(9))
    b = virtual_population("aspire", 50, np.random.default_rng(9))
    assert a["mtx_start"].tolist() == [0.0] * 50 and b["mtx_start"].tolist() == [1.0] * 50
    # the constant consumes no random numbers: the generator is where the variables alone leave it
    rng1, rng2 = np.random.default_rng(9), np.random.default_rng(9)
    virtual_population("attract", 50, rng1)
    virtual_population("aspire", 50, rng2)
    assert rng1.random() == rng2.random()


def test_stored_calibration_holds_the_fitted_background():
    models = load_models()
    g, row = fit_background(load_setup(), models.response)
    assert models.response.mtx_start_fraction == pytest.approx(g, rel=1e-12)
    assert row["observed_median_acr_n_pct"] == 26.4 and 0.0 < g < 1.0


def test_beta_low_prior_is_the_literature_hazard_ratio_on_the_log_scale():
    # Brandse ECCO 2016: trough < 3 mg/L -> 4-fold ATI risk -> beta_low = ln 4; prior on log beta_low
    setup = load_setup()
    mean, sd = beta_low_prior(setup)
    assert mean == pytest.approx(math.log(math.log(4.0)), abs=1e-12) and sd == 0.5
    no_prior = {**setup, "immunogenicity": {k: v for k, v in setup["immunogenicity"].items() if k != "prior_beta_low"}}
    assert beta_low_prior(no_prior) is None


def test_posterior_draws_keep_the_endpoint_thresholds_ordered():
    """Each draw shifts every intercept with its ACR20 intercept: spacing as at the ML values, ACR50 rarer."""
    from ifxdose.domain.trials.models import posterior_variants

    models = load_models()
    ml = models.response.intercepts
    for m in posterior_variants(models, 40):
        shift = m.response.intercepts["acr20"] - ml["acr20"]
        assert {k: v - shift for k, v in m.response.intercepts.items()} == pytest.approx(ml, abs=1e-12)
        assert m.response.intercepts["acr50"] < m.response.intercepts["acr20"]
