"""RISING's compared ACR-N is the abstract's definition (S11; Takeuchi 2009, Mod Rheumatol 19:478: "Mean ACR-N at
week 54, the primary endpoint"), and the helpers of validation/rising_acrn.py are right on hand examples."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from ifxdose.domain.trials.definitions import get_trial

SCRIPT = Path(__file__).resolve().parents[2] / "validation" / "rising_acrn.py"


def _script():
    spec = importlib.util.spec_from_file_location("rising_acrn", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("arm", ["3 mg/kg q8w", "10 mg/kg q8w"])
def test_rising_acr_n_row_is_the_arm_mean_at_week_54(arm: str) -> None:
    """The abstract's statistic (a mean, not a median or an AUC) at week 54 (day 378 = 54 x 7, not "to week 54"),
    over every patient of the arm: hand example with a worsening patient (-40 %) kept, not floored."""
    q = next(
        q
        for q in get_trial("rising").quantities
        if q.label.startswith("mean ACR-N") and q.ref is not None and q.ref.arm == arm
    )
    assert q.ref is not None and q.ref.time_point == "week 54" and 54 * 7 == 378
    other = "10 mg/kg q8w" if arm == "3 mg/kg q8w" else "3 mg/kg q8w"
    records = {
        arm: {"acrn@378": np.array([80.0, 50.0, 10.0, -40.0]), "acrn@98": np.array([0.0, 0.0, 0.0, 0.0])},
        other: {"acrn@378": np.array([99.0, 99.0]), "acrn@98": np.array([0.0, 0.0])},
    }
    assert q.metric is not None
    assert q.metric(records) == pytest.approx((80 + 50 + 10 - 40) / 4)  # 25.0


def test_shift_for_mean_hand_example() -> None:
    mod = _script()
    # raw ACR-N (-150, 0, 40): a shift of 30 gives clip(-120)=-100, 30, 70 -> mean 0
    assert mod.shift_for_mean(np.array([-150.0, 0.0, 40.0]), 0.0) == pytest.approx(30.0)
    # the clip at +100: (90, 90) shifted by 20 is (100, 100), mean 100 is reached at s = 10
    assert mod.shift_for_mean(np.array([90.0, 90.0]), 99.999) == pytest.approx(9.999, abs=1e-6)


def test_worst_excluded_hand_example() -> None:
    mod = _script()
    x = np.array([100.0, 50.0, 0.0, -50.0])  # mean 25
    assert mod.worst_excluded_for_mean(x, 25.0) == pytest.approx(0.0)
    assert mod.worst_excluded_for_mean(x, 50.0) == pytest.approx(25.0)  # keep 100, 50, 0
    assert mod.worst_excluded_for_mean(x, 75.0) == pytest.approx(50.0)  # keep 100, 50
    assert mod.worst_excluded_for_mean(x, 101.0) == pytest.approx(100.0)
    # median: all four -> 25; drop -50 -> (100, 50, 0) median 50; drop 0 too -> (100, 50) median 75
    assert mod.worst_excluded_for_mean(x, 50.0, "median") == pytest.approx(25.0)
    assert mod.worst_excluded_for_mean(x, 60.0, "median") == pytest.approx(50.0)


def test_shift_for_median_hand_example() -> None:
    mod = _script()
    # median of (-10, 0, 30) is 0; a shift of 12 makes it 12
    assert mod.shift_for_mean(np.array([-10.0, 0.0, 30.0]), 12.0, "median") == pytest.approx(12.0)


def test_unclipped_acr_n_matches_the_endpoint_inside_the_clip() -> None:
    from ifxdose.domain.trials.endpoints import acr_n_pct

    mod = _script()
    z = np.array([-3.0, -1.0, 0.0, 0.5, 2.0])
    raw = mod.unclipped_acr_n(z, 1.4, -0.2)  # z20 = -1.4, z50 = 0.2: 30 points per 1.6
    assert raw[1] == pytest.approx(20 + 30 * (-1.0 + 1.4) / 1.6)
    np.testing.assert_allclose(np.clip(raw, -100, 100), acr_n_pct(z, 1.4, -0.2))
