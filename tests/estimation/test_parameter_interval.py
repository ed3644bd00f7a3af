"""The 80% interval of an individual parameter (``EstimateSummary.parameter_interval``, shown on
the patient page): by hand from the Laplace posterior SD, and against the SIR posterior sample
(an independent method: its weighted draws, not the normal approximation)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from ifxdose.core.errors import InputError
from ifxdose.domain.estimation import estimate
from ifxdose.domain.patient import PatientHistory
from recs import make_estimate

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "history_label_55kg.json"


def test_by_hand_log_normal_around_the_map_value():
    s = make_estimate(
        individual_parameters={
            "CL": {"value": 0.37, "unit": "L/day"},
            "V1": {"value": 3.1, "unit": "L"},
            "Q": {"value": 1.8, "unit": "L/day"},
        },
    )
    # CL: sd 0.2, z(0.90) = 1.2815515655446004 (normal table): 0.37 * exp(-+0.25631) = 0.37 * (0.77390, 1.29215) = 0.28634, 0.47810
    low, high = s.parameter_interval("CL")
    assert low == pytest.approx(0.37 * math.exp(-0.2 * 1.2815515655446004), rel=1e-12)
    assert high == pytest.approx(0.37 * math.exp(0.2 * 1.2815515655446004), rel=1e-12)
    assert (round(low, 5), round(high, 5)) == (0.28634, 0.4781)
    # V1: sd 0.15, a 95% interval: z = 1.959963984540054
    assert s.parameter_interval("V1", level=0.95) == pytest.approx(
        (3.1 * math.exp(-0.15 * 1.959963984540054), 3.1 * math.exp(0.15 * 1.959963984540054))
    )
    assert s.parameter_interval("Q") is None  # no random effect on Q: no spread


@pytest.mark.parametrize("name, level, field", [("KA", 0.8, "name"), ("CL", 1.0, "level"), ("CL", 0.0, "level")])
def test_bad_arguments_name_the_field(name, level, field):
    with pytest.raises(InputError) as info:
        make_estimate().parameter_interval(name, level)
    assert info.value.field == field


def test_close_to_the_sir_posterior_quantiles():
    """The example patient (one trough, ESS ~70% of proposals: a near-normal posterior): the
    Laplace interval's ends are within 6% of the 10th/90th percentiles of the SIR draws."""
    est = estimate(PatientHistory.model_validate(json.loads(EXAMPLE.read_text())), seed=0)
    s = est.summary()
    assert s.posterior.kind == "sir"
    for i, name in enumerate(s.eta_parameters):
        value = s.individual_parameters[name].value
        sampled = value * np.exp(np.quantile(est.posterior.eta[:, i] - est.map.eta[i], [0.1, 0.9]))
        assert s.parameter_interval(name) == pytest.approx(tuple(sampled), rel=0.06), name
