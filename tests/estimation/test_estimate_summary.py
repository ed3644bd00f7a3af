"""``EstimateSummary``: the typed, frozen estimate a Recommendation carries (domain/estimation.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from ifxdose.domain.estimation import EstimateSummary, estimate
from ifxdose.domain.patient import PatientHistory
from recs import make_estimate

EXAMPLE = Path(__file__).parents[2] / "examples" / "history_label_55kg.json"


def _history(**changes: object) -> PatientHistory:
    return PatientHistory.model_validate({**json.loads(EXAMPLE.read_text()), **changes})


def test_the_summary_is_the_fit_with_units():
    est = estimate(_history(), n_samples=200)
    s = est.summary()
    assert s.model == est.model.name and s.eta_parameters == est.model.eta_parameters
    np.testing.assert_array_equal(s.eta_map, est.map.eta)
    np.testing.assert_allclose(s.eta_sd_prior, np.sqrt(np.diag(est.model.omega)))  # omega of the model file
    assert s.posterior.kind == "sir" and s.posterior.n == 200 and s.method == "MAP (Beal M3) + Laplace + SIR"
    assert s.ess is not None and 200 / 4 <= s.ess <= s.posterior.proposals  # SIR accepts ESS >= n/4
    assert s.individual_parameters["CL"].unit == "L/day"
    assert [(x.observed_mg_l, x.below_lloq) for x in s.samples] == [(0.8, False)]
    with pytest.raises(ValidationError):
        s.model = "other"  # frozen
    assert EstimateSummary.model_validate_json(s.model_dump_json()) == s


def test_without_levels_the_posterior_is_the_prior_and_its_json_has_no_sir_keys():
    s = estimate(_history(levels=[]), n_samples=100).summary()
    assert (s.posterior.kind, s.method, s.ess, s.samples) == ("prior", "population prior (no levels)", None, ())
    assert json.loads(s.model_dump_json())["posterior"] == {"kind": "prior", "n": 100}  # as older versions wrote
    assert np.allclose(s.eta_map, 0.0)  # MAP without data is the prior mode


def test_one_value_per_eta_is_required():
    with pytest.raises(ValidationError, match="eta_sd_prior needs one value per eta parameter"):
        make_estimate(eta_sd_prior=[0.3])
