"""Trial runner: arm sizes from the evidence, determinism, the calibrated models reproduce
their calibration targets, arms replay their policies, and the published-vs-simulated check."""

from __future__ import annotations

import numpy as np
import pytest

from ifxdose.core.errors import InputError
from ifxdose.domain.evidence import get_study
from ifxdose.domain.policies import get_policy
from ifxdose.domain.trials import get_trial, load_models, run_trial, trial_names
from ifxdose.domain.trials.definitions import Quantity
from ifxdose.domain.trials.engine import regimen_mg_per_kg
from ifxdose.domain.trials.models import calibration_data
from ifxdose.domain.trials.runner import inside, replicate_records


@pytest.fixture(scope="module")
def models():
    return load_models()


def test_arm_sizes_equal_the_evidence(models):
    trial = get_trial("attract")
    records = replicate_records(models, trial, None, seed=1, r=0)
    sizes = {a.name: a.n for a in get_study("attract").arms}
    assert {k: len(v["ada"]) for k, v in records.items()} == sizes  # 88, 86, 86, 87, 81 (S4)
    for name in trial_names():
        t = get_trial(name)
        study = get_study(t.study)
        assert all(t.arm_n(a) == next(x.n for x in study.arms if x.name == a.name) for a in t.arms)


def test_deterministic_for_a_seed(models):
    a = run_trial("rrrr", n=25, replicates=2, seed=3, models=models).rows()
    b = run_trial("rrrr", n=25, replicates=2, seed=3, models=models).rows()
    c = run_trial("rrrr", n=25, replicates=2, seed=4, models=models).rows()
    assert a == b
    assert a != c


def test_fixed_arms_replay_their_policies():
    """The evidence arm's regimen gives the same doses as the policy the arm replays."""
    for name in ("attract", "rising"):
        for arm in get_trial(name).arms:
            if arm.policy:
                ours = regimen_mg_per_kg(arm.regimen, 378.0)
                theirs = regimen_mg_per_kg(get_policy(arm.policy).regimen, 378.0)
                assert all(np.array_equal(a, b) for a, b in zip(ours, theirs))


def _calibrated(part: str, study: str, arm: str, time_point: str) -> float:
    rows = calibration_data()[part]["fit"]
    return next(r["predicted_pct"] for r in rows if (r["study"], r["arm"], r["time_point"]) == (study, arm, time_point))


def test_calibrated_models_reproduce_their_targets(models):
    """Large virtual arms through the trial engine vs the calibration's own predictions (and the data)."""
    res = run_trial("attract", n=1500, replicates=1, seed=7, models=models, parameter_uncertainty=False).rows()
    acr = {r["arm"]: r for r in res if r["quantity"] == "ACR20 week 30"}
    for arm, row in acr.items():
        assert row["simulated_median"] == pytest.approx(
            _calibrated("exposure_response", "attract", arm, "week 30"), abs=4.0
        )
    aspire = {
        r["arm"]: r
        for r in run_trial("aspire", n=2000, replicates=1, seed=7, models=models, parameter_uncertainty=False).rows()
        if r["quantity"] == "ADA by week 54"
    }
    for arm, row in aspire.items():
        assert row["simulated_median"] == pytest.approx(
            _calibrated("immunogenicity", "aspire", arm, "week 54"), abs=3.0
        )


def test_adaptive_arms_follow_their_rules(models):
    start = replicate_records(models, get_trial("start"), 300, seed=2, r=0)["3 mg/kg with escalation by 1.5 mg/kg"]
    assert start["escalated"].any() and (~start["escalated"]).any()
    assert set(np.unique(start["escalations"])) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    nd = replicate_records(models, get_trial("nor-drum-b"), 200, seed=2, r=0)
    assert not nd["standard care"]["switched"].any()
    assert nd["proactive TDM"]["dose_raised"].any()  # low troughs are stepped up (S13 policy)


def test_inside_semantics():
    q = Quantity("x", lambda R: 0.0)

    class O:  # a published outcome
        def __init__(self, value=None, low=None, high=None, relation="=", unit="%", total=None):
            self.value, self.low, self.high, self.relation, self.unit, self.total = (
                value,
                low,
                high,
                relation,
                unit,
                total,
            )

    assert inside(q, O(20), 10, 25) and not inside(q, O(30), 10, 25)
    assert inside(q, O(low=22, high=30), 15, 23) and not inside(q, O(low=22, high=30), 10, 21)
    assert inside(q, O(50, relation="<="), 40, 90) and not inside(q, O(50, relation="<="), 55, 90)
    assert inside(q, O(1, unit="count", total=7), 10, 20)  # 14.3 %
    assert inside(Quantity("d", lambda R: 0.0, check="positive"), O(1), 0.5, 3)


def test_bad_input():
    with pytest.raises(InputError):
        run_trial("unknown")
    with pytest.raises(InputError):
        run_trial("attract", n=0)
