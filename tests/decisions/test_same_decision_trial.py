"""The adaptive NOR-DRUM B trial arm (vectorised over patients) decides exactly as the
NOR-DRUM policy decides for one patient with the same state (issue 11: one engine)."""

import numpy as np
import pytest

from ifxdose.domain.decisions.ada import ADA_STOP_UG_L, ada_switch_mask
from ifxdose.domain.policies import get_policy
from ifxdose.domain.policies.troughs import band_array
from ifxdose.domain.trials.adaptive import nordrum_step

from .conftest import build, week

STATES = [(3.0, 8.0), (4.5, 8.0), (6.0, 8.0), (3.0, 6.0), (6.0, 6.0), (6.0, 4.0), (10.0, 8.0), (7.5, 8.0)]
LEVELS = [0.5, 2.99, 3.0, 5.0, 8.0, 8.01, 14.0]


def _history(dose: float, interval: float, level: float):
    weeks = [0, 2, 6, 14, 14 + interval]
    h = build(
        weeks=weeks,
        mg_per_kg=[3.0, 3.0, 3.0, dose, dose],
        levels=[{"date": f"{week(14 + 2 * interval).isoformat()}T09:00:00", "value_mg_l": level}],
    )
    return h, week(14 + 2 * interval)


@pytest.mark.parametrize("dose, interval", STATES)
def test_trial_arm_step_equals_the_policy_decision(dose, interval):
    policy = get_policy("nordrum-tdm")
    n = len(LEVELS)
    doses, intervals = np.full(n, dose), np.full(n, interval)
    band = band_array(np.array(LEVELS), policy.low_mg_l, policy.high_mg_l, high_inclusive=True)
    nordrum_step(doses, intervals, band, np.ones(n, bool), policy)
    for i, level in enumerate(LEVELS):
        h, today = _history(dose, interval, level)
        d = policy.decide(h, today)
        assert (d.dose_mg_per_kg, d.interval_weeks) == (doses[i], intervals[i]), (dose, interval, level, d.rationale)


def test_trial_arm_ada_rule_equals_the_policy_rule():
    """ADA >= 50 µg/L switches in both; below it, neither (a measurable level)."""
    titres = np.array([10.0, 49.9, 50.0, 200.0])
    mask = ada_switch_mask(np.ones(4, bool), titres, np.zeros(4, bool))
    for titre, switch in zip(titres, mask):
        h = build(
            levels=[{"date": f"{week(30).isoformat()}T09:00:00", "value_mg_l": 4.0}],
            weeks=[0, 2, 6, 14, 22],
            ada=[{"date": week(30).isoformat(), "result": "positive", "titre": float(titre), "titre_unit": "ug/L"}],
        )
        d = get_policy("nordrum-tdm").decide(h, week(30))
        assert (d.action == "switch") == bool(switch) == (titre >= ADA_STOP_UG_L)
