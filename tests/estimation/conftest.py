"""Shared fixtures: small synthetic histories with known truth."""

import datetime as dt

import numpy as np
import pytest

from ifxdose.core.estimation import Observations, Problem
from ifxdose.core.pk import ROUTE_IV
from ifxdose.domain.modelfiles import load_model
from ifxdose.domain.patient import PatientHistory

LABEL_DAYS = [0.0, 14.0, 42.0, 98.0, 154.0]


def passot_problem(weight_kg=60.0, days=LABEL_DAYS, mg=180.0):
    m = load_model("passot_2016_ra")
    return Problem(
        m, np.array([-np.inf]), {"weight_kg": np.array([weight_kg])}, [(d, mg, 2 / 24, ROUTE_IV) for d in days]
    )


def observations(days, values, lloq=0.1):
    values = np.asarray(values, float)
    return Observations(np.asarray(days, float), values, np.where(np.isnan(values), lloq, np.nan))


@pytest.fixture
def problem():
    return passot_problem()


@pytest.fixture
def obs_with_blq():
    # troughs at weeks 6, 14 and 22 plus a mid-interval level; the week-22 trough is < 0.1 mg/L
    return observations([42.0, 70.0, 98.0, 154.0], [4.1, 2.0, 0.45, np.nan])


def history(levels, ada=(), weight_kg=55.0, start=dt.date(2024, 1, 8), n_infusions=5):
    weeks = [0, 2, 6, 14, 22, 30, 38, 46, 54][:n_infusions]
    infusions = [
        {"date": (start + dt.timedelta(weeks=w)).isoformat(), "dose_mg": 3 * weight_kg, "dose_mg_per_kg": 3}
        for w in weeks
    ]
    return PatientHistory.model_validate(
        {
            "patient": {"id": "TEST-1", "sex": "female", "birth_year": 1970},
            "weights": [{"date": start.isoformat(), "weight_kg": weight_kg}],
            "infusions": infusions,
            "levels": [{"date": (start + dt.timedelta(days=d)).isoformat(), **v} for d, v in levels],
            "ada": [{"date": (start + dt.timedelta(days=d)).isoformat(), **v} for d, v in ada],
            "mtx": [{"date": start.isoformat(), "dose_mg_week": 15}],
        }
    )
