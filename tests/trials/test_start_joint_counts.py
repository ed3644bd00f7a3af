"""START's escalation on assessed joint counts (issue 12): the assessment error against the stated
distribution (exact enumeration of the rounded, clipped normal), the share crossing the 20 % threshold and the
visit-to-visit correlation of a patient's improvement against hand calculations, and the simulated arm's
decisions replayed one patient at a time through the START policy (the decision engine).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from tests.dosing.conftest import build, week

from ifxdose.domain.policies import get_policy
from ifxdose.domain.trials import engine as E
from ifxdose.domain.trials.adaptive import start_arm, start_non_response
from ifxdose.domain.trials.definitions import get_trial
from ifxdose.domain.trials.endpoints import (
    JOINT_COUNT_SEM,
    assessed_joint_count,
    joint_count_level,
)
from ifxdose.domain.trials.models import load_models
from ifxdose.domain.trials.population import virtual_population

N = 200_000


def pmf(level: float, sem: float = JOINT_COUNT_SEM) -> np.ndarray:
    """P(count = k), k = 0..28, of round(level + sem z) clipped to [0, 28] (the stated distribution)."""
    edges = np.arange(-0.5, 29.0, 1.0)
    cdf = norm.cdf((edges - level) / sem)
    cdf[0], cdf[-1] = 0.0, 1.0  # clipping: everything below 0.5 is 0, everything above 27.5 is 28
    return np.diff(cdf)


def total_pmf(tjc_level: float, sjc_level: float) -> np.ndarray:
    return np.convolve(pmf(tjc_level), pmf(sjc_level))  # independent errors: the sum's pmf, totals 0..56


def p_lack(base: np.ndarray, visit: np.ndarray) -> np.ndarray:
    """P(lack of response | baseline total b) for every b (improved < 20 %, b > 0), by enumeration."""
    b = np.arange(base.size)[:, None]
    t = np.arange(visit.size)[None, :]
    lack = (b > 0) & ((b - t) * 100 < 20 * b)
    return np.asarray((lack * visit[None, :]).sum(axis=1), dtype=float)


def test_sem_is_uhlig_2009_smallest_detectable_difference_by_hand():
    # Uhlig 2009: SDD 10-15 % of the maximum; 12.5 % of 28 joints = 3.5; SEM = SDD / (1.96 sqrt 2)
    assert JOINT_COUNT_SEM == pytest.approx(3.5 / (1.959964 * 1.414214), rel=1e-6)
    assert JOINT_COUNT_SEM == pytest.approx(1.2627, abs=1e-4)


@pytest.mark.parametrize("level", [10.3, 0.4, 27.8])
def test_assessed_count_has_the_stated_distribution(level):
    rng = np.random.default_rng(1)
    counts = assessed_joint_count(np.full(N, level), rng.standard_normal(N))
    freq = np.bincount(counts, minlength=29) / N
    assert np.max(np.abs(freq - pmf(level))) < 0.005
    assert counts.min() >= 0 and counts.max() <= 28


def test_share_crossing_the_20_percent_threshold_matches_enumeration():
    # a patient with baseline TJC 14, SJC 10 whose ACR-N is 15 % (just below the 20 % of ACR20):
    # without assessment error never a responder; with it, P(lack) by enumeration over both assessments
    tjc0, sjc0, acrn = 14.0, 10.0, np.full(N, 15.0)
    rng = np.random.default_rng(2)
    z = rng.standard_normal((N, 4))
    b = assessed_joint_count(np.full(N, tjc0), z[:, 0]) + assessed_joint_count(np.full(N, sjc0), z[:, 1])
    t = assessed_joint_count(joint_count_level(np.full(N, tjc0), acrn), z[:, 2]) + assessed_joint_count(
        joint_count_level(np.full(N, sjc0), acrn), z[:, 3]
    )
    lack, flare = start_non_response(b, t, np.zeros(N, np.int64), 20, 50)
    base, visit = total_pmf(tjc0, sjc0), total_pmf(tjc0 * 0.85, sjc0 * 0.85)
    expected = float(base @ p_lack(base, visit))
    se = np.sqrt(expected * (1 - expected) / N)
    assert lack.mean() == pytest.approx(expected, abs=4 * se)
    assert 0.5 < expected < 0.9  # not a certainty either way: the threshold is crossed by chance
    assert not flare.any()  # no earlier gain, no flare


def test_visit_to_visit_correlation_and_late_response_by_hand():
    # two visits against the same baseline assessment: I_k = B - T_k, Cov(I_1, I_2) = Var(B), so
    # corr = Var(B) / (Var(B) + Var(T)); and P(lack at visit 1, response at visit 2) = sum_b p(b) q(b) (1 - q(b))
    tjc0, sjc0, acrn = 12.0, 9.0, 18.0
    base, visit = total_pmf(tjc0, sjc0), total_pmf(tjc0 * (1 - acrn / 100), sjc0 * (1 - acrn / 100))
    k = np.arange(base.size)
    var_b = float(base @ k**2 - (base @ k) ** 2)
    var_t = float(visit @ k**2 - (visit @ k) ** 2)
    corr_expected = var_b / (var_b + var_t)
    q = p_lack(base, visit)
    late_expected = float(base @ (q * (1 - q)))

    rng = np.random.default_rng(3)
    z = rng.standard_normal((N, 6))

    def total(level_t, level_s, i):
        return assessed_joint_count(np.full(N, level_t), z[:, i]) + assessed_joint_count(
            np.full(N, level_s), z[:, i + 1]
        )

    b = total(tjc0, sjc0, 0)
    t1 = total(tjc0 * (1 - acrn / 100), sjc0 * (1 - acrn / 100), 2)
    t2 = total(tjc0 * (1 - acrn / 100), sjc0 * (1 - acrn / 100), 4)
    assert np.corrcoef(b - t1, b - t2)[0, 1] == pytest.approx(corr_expected, abs=0.01)
    lack1, _ = start_non_response(b, t1, np.zeros(N, np.int64), 20, 50)
    lack2, _ = start_non_response(b, t2, np.zeros(N, np.int64), 20, 50)
    late = np.mean(lack1 & ~lack2)
    assert late == pytest.approx(late_expected, abs=4 * np.sqrt(late_expected / N))
    assert late_expected > 0.1  # a patient failing at one visit responds at the next in > 10 % of cases


def test_policy_rules_at_their_integer_boundaries():
    # baseline 10: 8 is exactly 20 % (response), 9 is 10 % (lack); best gain 6, now 3: lost exactly 50 % (flare)
    lack, flare = start_non_response(
        np.array([10, 10, 10, 10, 0]), np.array([8, 9, 7, 6, 3]), np.array([0, 0, 6, 6, 0]), 20, 50
    )
    assert lack.tolist() == [False, True, False, False, False]
    assert flare.tolist() == [False, False, True, False, False]


def test_simulated_start_arm_decisions_are_the_policy_decisions():
    # every escalation visit of simulated patients replayed through the START policy (decide on a history
    # with the arm's doses and assessments): the dose the policy gives is the dose the arm gave
    models = load_models()
    trial = get_trial("start")
    rng = np.random.default_rng(5)
    cohort = E.make_cohort(virtual_population("start", 40, rng), models, rng, population="start")
    grid = E.daily_grid(trial.horizon_day)
    run = start_arm(models, cohort, str(trial.arms[0].regimen), grid)
    times = run.doses.time_days[0]
    mgkg = run.doses.amount_mg / cohort.weight_kg[:, None]
    policy = get_policy("start-escalation")
    visit_days = [float(times[n - 1]) for n in policy.escalation_infusions]
    assert run.flags["escalated"].any() and (~run.flags["escalated"]).any()
    for p in range(cohort.n):
        assessments = [
            {"week": -1, "tjc28": int(run.flags["tjc28_assessed@0"][p]), "sjc28": int(run.flags["sjc28_assessed@0"][p])}
        ]
        for j, day in zip((n - 1 for n in policy.escalation_infusions), visit_days):
            assessments.append(
                {
                    "week": (day - 1) / 7,
                    "tjc28": int(run.flags[f"tjc28_assessed@{day:g}"][p]),
                    "sjc28": int(run.flags[f"sjc28_assessed@{day:g}"][p]),
                }
            )
            given = [float(t) / 7 for t in times[:j]]
            h = build(weeks=given, mg_per_kg=[round(float(x), 6) for x in mgkg[p, :j]], assessments=assessments)
            d = policy.decide(h, week((day - 1) / 7))
            assert d.action == "infuse" and d.date == week(day / 7), (p, day, d.rationale)
            assert d.dose_mg_per_kg == pytest.approx(mgkg[p, j], abs=1e-6), (p, day, d.rationale)
