"""The replicates' 95 % interval is a predictive interval of one more trial: its expected coverage is checked by
Monte Carlo on uniform samples (the coverage of [lo, hi] for a U(0, 1) draw is hi - lo, exactly)."""

from __future__ import annotations

import numpy as np
import pytest

from ifxdose.domain.trials.runner import MIN_REPLICATES_FOR_95, replicate_interval, replicate_interval_coverage


def _expected_coverage(n: int, method: str | None = None, samples: int = 4000) -> float:
    u = np.random.default_rng(n).uniform(size=(samples, n))
    bounds = np.array([replicate_interval(row, method)[1:] for row in u])
    return float(np.mean(bounds[:, 1] - bounds[:, 0]))


@pytest.mark.parametrize("n", [40, 100, 200])
def test_interval_covers_95_percent_of_a_new_trial(n):
    # E[F(x_(k))] = k / (n + 1): positions 0.025 (n + 1) and 0.975 (n + 1) cover 0.95 exactly (SE < 1e-3 here)
    assert _expected_coverage(n) == pytest.approx(0.95, abs=0.002)
    assert replicate_interval_coverage(n) == pytest.approx(_expected_coverage(n), abs=0.002)


def test_linear_interpolation_undercovers_with_few_replicates():
    """Why the estimator changed in session 8: numpy's default (linear) at 20 replicates covers ~86 %."""
    assert _expected_coverage(20, "linear") == pytest.approx(18.05 / 21, abs=0.005)  # (19.525 - 1.475) / 21
    assert _expected_coverage(100, "linear") == pytest.approx(94.05 / 101, abs=0.002)


def test_too_few_replicates_give_the_sample_range():
    n = MIN_REPLICATES_FOR_95 - 1
    x = np.random.default_rng(1).normal(size=n)
    _, lo, hi = replicate_interval(x)
    assert (lo, hi) == (x.min(), x.max())
    assert _expected_coverage(n) == pytest.approx((n - 1) / (n + 1), abs=0.002)
    assert replicate_interval_coverage(n) == pytest.approx(_expected_coverage(n), abs=0.002)
    x = np.random.default_rng(2).normal(size=MIN_REPLICATES_FOR_95)
    assert replicate_interval(x)[1] == pytest.approx(x.min())  # position exactly 1 at n = 39


def test_median_is_the_sample_median():
    x = np.random.default_rng(3).normal(size=100)
    assert replicate_interval(x)[0] == pytest.approx(np.median(x))
