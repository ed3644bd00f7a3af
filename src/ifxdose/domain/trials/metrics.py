"""Summaries of simulated arms: each metric maps the arms' per-patient records to one number.

A record is ``{key: (P,) array}`` per arm (see :func:`ifxdose.domain.trials.runner.arm_records`):
``acr20@210`` (responder on day 210), ``measured@378`` (a measured level, mg/L),
``undetectable@378``, ``ada``, ``cost_jpy``, ``tnf_tier``, policy flags such as ``escalated``.
An empty subgroup gives NaN (reported as such, never as 0).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Records = dict[str, dict[str, np.ndarray]]
Metric = Callable[[Records], float]
Mask = Callable[[dict[str, np.ndarray]], np.ndarray]


def _values(rec: dict[str, np.ndarray], key: str, among: Mask | None) -> np.ndarray:
    x = np.asarray(rec[key], float)
    return x if among is None else x[among(rec)]


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if x.size else float("nan")


def pct(arm: str, key: str, among: Mask | None = None) -> Metric:
    """% of the arm's patients (or of a subgroup) for whom ``key`` is true."""
    return lambda R: 100.0 * _mean(_values(R[arm], key, among))


def complement(metric: Metric) -> Metric:
    """100 minus a % metric."""
    return lambda R: 100.0 - metric(R)


def pooled_pct(arms: tuple[str, ...], key: str, among: Mask | None = None) -> Metric:
    """% over the arms pooled; NaN when the records lack ``key`` (e.g. CRP keys without inflammation)."""

    def f(R: Records) -> float:
        if any(key not in R[a] for a in arms):
            return float("nan")
        return 100.0 * _mean(np.concatenate([_values(R[a], key, among) for a in arms]))

    return f


def count(arm: str, key: str) -> Metric:
    return lambda R: float(np.sum(R[arm][key]))


def median(arm: str, key: str, among: Mask | None = None) -> Metric:
    def f(R: Records) -> float:
        x = _values(R[arm], key, among)
        return float(np.median(x)) if x.size else float("nan")

    return f


def mean(arm: str, key: str, among: Mask | None = None) -> Metric:
    return lambda R: _mean(_values(R[arm], key, among))


def odds_ratio(arm: str, reference: str, key: str) -> Metric:
    """Odds ratio of ``key`` in ``arm`` vs ``reference`` (0.5 added to every cell if one is empty)."""

    def f(R: Records) -> float:
        a, b = np.sum(R[arm][key]), np.size(R[arm][key]) - np.sum(R[arm][key])
        c, d = np.sum(R[reference][key]), np.size(R[reference][key]) - np.sum(R[reference][key])
        if min(a, b, c, d) == 0:
            a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
        return float(a * d / (b * c))

    return f


def pooled_difference(arms: tuple[str, ...], key: str, group: Mask) -> Metric:
    """% with ``key`` in the group minus % outside it, arms pooled (percentage points)."""

    def f(R: Records) -> float:
        x = np.concatenate([np.asarray(R[a][key], float) for a in arms])
        g = np.concatenate([group(R[a]) for a in arms])
        return 100.0 * (_mean(x[g]) - _mean(x[~g]))

    return f


def key_is(key: str, value: object) -> Mask:
    return lambda rec: np.asarray(rec[key]) == value


def key_true(key: str) -> Mask:
    return lambda rec: np.asarray(rec[key], bool)


def key_false(key: str) -> Mask:
    return lambda rec: ~np.asarray(rec[key], bool)


def key_at_least(key: str, threshold: float) -> Mask:
    return lambda rec: np.asarray(rec[key], float) >= threshold


def key_between(key: str, low: float, high: float) -> Mask:
    """``low <= rec[key] <= high`` (both ends included)."""

    def mask(rec: dict[str, np.ndarray]) -> np.ndarray:
        value = np.asarray(rec[key], float)
        return (value >= low) & (value <= high)

    return mask


def association_p_value(arms: tuple[str, ...], x_key: str, y_key: str) -> Metric:
    """One-sided p-value of a positive Spearman association of ``x_key`` with ``y_key``, arms pooled
    (the test a published "higher X goes with greater Y, p < ..." reports; Spearman: Assumption)."""

    def f(R: Records) -> float:
        from scipy.stats import spearmanr

        if any(k not in R[a] for a in arms for k in (x_key, y_key)):
            return float("nan")
        x = np.concatenate([np.asarray(R[a][x_key], float) for a in arms])
        y = np.concatenate([np.asarray(R[a][y_key], float) for a in arms])
        if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
            return float("nan")
        rho, p = spearmanr(x, y)
        return float(p / 2 if rho > 0 else 1 - p / 2)

    return f


def pooled_mean(arms: tuple[str, ...], key: str, among: Mask | None = None) -> Metric:
    """Mean of ``key`` over the arms pooled (or a subgroup); NaN when the records lack ``key`` (e.g. mTSS
    without a calibrated progression model) or the subgroup is empty."""

    def f(R: Records) -> float:
        if any(key not in R[a] for a in arms):
            return float("nan")
        return _mean(np.concatenate([_values(R[a], key, among) for a in arms]))

    return f


def difference(first: Metric, second: Metric) -> Metric:
    """first minus second."""
    return lambda R: first(R) - second(R)
