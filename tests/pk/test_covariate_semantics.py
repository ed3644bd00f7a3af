"""Time-varying covariates are piecewise constant (DESIGN.md); ADA from week 20 changes
clearance from then on, not before (issue 2)."""

import numpy as np

from ifxdose.domain.simulation import simulate
from ifxdose.domain.timeline import covariate_segments

REG = "3 mg/kg at weeks 0,2,6,14,22"


def test_ada_switch_changes_clearance_only_after_its_day():
    t = np.arange(0, 200, 0.5)
    neg = simulate("fasanmade_2009_uc", REG, {"weight_kg": 70.0, "ada": 0}, t)
    pos = simulate("fasanmade_2009_uc", REG, {"weight_kg": 70.0, "ada": [(0, 0), (140, 1)]}, t)
    before, after = t < 140, t > 140
    assert np.array_equal(neg.concentration_mg_l[before], pos.concentration_mg_l[before])
    # at day 140 the new clearance starts; the concentration itself is continuous (V1 unchanged)
    at = t == 140
    assert np.allclose(neg.concentration_mg_l[at], pos.concentration_mg_l[at], rtol=1e-12, atol=0)
    assert np.all(pos.concentration_mg_l[after] < neg.concentration_mg_l[after])
    cl = [row["CL"]["value"] for row in pos.parameters]
    assert cl[1] / cl[0] == 1.471  # Fasanmade 2009: ATI multiplies CL by (1 + 0.471)
    assert pos.parameters[1]["from_day"] == 140.0


def test_first_value_applies_before_its_day_and_locf_after():
    starts, values = covariate_segments({"weight_kg": [(10.0, 70.0), (50.0, 80.0)], "mtx": 1})
    assert starts.tolist() == [-np.inf, 50.0]
    assert values["weight_kg"].tolist() == [70.0, 80.0]
    assert values["mtx"].tolist() == [1.0, 1.0]


def test_mg_per_kg_uses_weight_in_force_at_each_dose():
    res = simulate("passot_2016_ra", "3 mg/kg at weeks 0,2,6", {"weight_kg": [(0, 50.0), (14, 60.0)]}, [0.0, 50.0])
    assert [d.amount_mg for d in res.doses] == [150.0, 180.0, 180.0]


def test_sample_at_dose_time_is_the_trough():
    t = np.array([13.999999, 14.0])
    res = simulate("passot_2016_ra", "3 mg/kg at weeks 0,2", {"weight_kg": 55.0}, t)
    c = res.concentration_mg_l
    assert abs(c[1] - c[0]) / c[0] < 1e-5  # pre-dose, not the post-infusion peak


def test_covariate_change_at_sample_time_applies_to_the_sample():
    """A weight change moves V1; a sample on the day of the change uses the new value."""
    t = np.array([20.0])
    a = simulate("fasanmade_2009_uc", "300 mg at day 0", {"weight_kg": [(0, 70.0), (20, 90.0)]}, t)
    just_before = simulate("fasanmade_2009_uc", "300 mg at day 0", {"weight_kg": [(0, 70.0), (19.99999, 90.0)]}, t)
    just_after = simulate("fasanmade_2009_uc", "300 mg at day 0", {"weight_kg": [(0, 70.0), (20.00001, 90.0)]}, t)
    c, before, after = a.concentration_mg_l[0], just_before.concentration_mg_l[0], just_after.concentration_mg_l[0]
    assert abs(c - before) / before < 1e-4
    # with the old weight the central volume is smaller by (70/90)^0.538 (Fasanmade 2009),
    # so the concentration is visibly higher
    assert after / c > 1.1
