"""Shared builders: a patient history written out by hand, varied per test."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from ifxdose.domain.patient import PatientHistory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "history_label_55kg.json"
START = date(2024, 4, 1)  # week 0 of every built history


def week(w: float) -> date:
    return START + timedelta(days=round(w * 7))


def build(
    weeks=(0, 2, 6),
    mg_per_kg=None,
    weight_kg=55.0,
    levels=(),
    ada=(),
    assessments=(),
    mtx_mg_week=15.0,
    tnf=None,
    labs=(),
) -> PatientHistory:
    """A history with infusions at ``weeks`` (mg/kg per infusion, default 3), constant weight."""
    doses = mg_per_kg or [3.0] * len(weeks)
    data = {
        "patient": {"id": "T-1", "sex": "female", "birth_year": 1970},
        "weights": [{"date": week(-1).isoformat(), "weight_kg": weight_kg}],
        "infusions": [
            {"date": week(w).isoformat(), "dose_mg": round(d * weight_kg, 2), "dose_mg_per_kg": d}
            for w, d in zip(weeks, doses)
        ],
        "levels": [dict(lv, date=week(lv["week"]).isoformat(), week=None) for lv in levels],
        "ada": [dict(a, date=week(a["week"]).isoformat(), week=None) for a in ada],
        "assessments": [dict(a, date=week(a["week"]).isoformat(), week=None) for a in assessments],
        "labs": [dict(x, date=week(x["week"]).isoformat(), week=None) for x in labs],
        "mtx": [] if mtx_mg_week is None else [{"date": week(-4).isoformat(), "dose_mg_week": mtx_mg_week}],
        "baseline_tnf_pg_ml": tnf,
    }
    for key in ("levels", "ada", "assessments", "labs"):
        for entry in data[key]:
            entry.pop("week")
    return PatientHistory.model_validate(data)


@pytest.fixture
def example() -> PatientHistory:
    return PatientHistory.model_validate(json.loads(EXAMPLE.read_text()))
