"""The canonical patient history: validation, sorting, time axis, covariates, schema file."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from pydantic import ValidationError
from tests.dosing.conftest import ROOT

from ifxdose.domain.patient import PatientHistory
from ifxdose.domain.timeline import covariate_series, dose_events

PATIENT = {"id": "T-1", "sex": "male", "birth_year": 1960}


def history(**parts) -> PatientHistory:
    return PatientHistory.model_validate({"patient": PATIENT, **parts})


def test_committed_schema_equals_model_schema():
    committed = json.loads((ROOT / "schemas" / "patient-history.schema.json").read_text())
    assert committed == PatientHistory.model_json_schema()


def test_example_validates_and_has_every_part(example):
    assert len(example.infusions) == 4 and example.baseline_tnf_pg_ml is not None
    assert example.levels[0].lloq_mg_l is not None and example.ada[0].result == "negative"
    assert {"weight_kg", "albumin_g_dl", "crp_mg_l", "mtx", "ada"} <= set(covariate_series(example))


def test_level_before_first_infusion_is_an_error_naming_the_entry():
    with pytest.raises(ValidationError) as err:
        history(
            infusions=[{"date": "2024-02-01", "dose_mg": 200}],
            levels=[{"date": "2024-03-01", "value_mg_l": 2}, {"date": "2024-01-01", "value_mg_l": 1}],
        )
    assert "levels[1].date: 2024-01-01 is before the first infusion 2024-02-01" in str(err.value)


@pytest.mark.parametrize(
    "level, words",
    [
        ({"date": "2024-03-01", "value_mg_l": -0.1}, "greater than or equal to 0"),
        ({"date": "2024-03-01", "below_lloq": True}, "below_lloq: true needs lloq_mg_l"),
        ({"date": "2024-03-01", "below_lloq": True, "lloq_mg_l": 0.4, "value_mg_l": 0.2}, "no value_mg_l"),
        ({"date": "2024-03-01"}, "value_mg_l is required"),
    ],
)
def test_level_rules(level, words):
    with pytest.raises(ValidationError, match=words):
        history(infusions=[{"date": "2024-02-01", "dose_mg": 200}], levels=[level])


@pytest.mark.parametrize(
    "part, entry",
    [
        ("weights", {"date": "2024-01-01", "weight_kg": 0}),
        ("assessments", {"date": "2024-01-01", "tjc28": 29, "sjc28": 0}),
        ("mtx", {"date": "2024-01-01", "dose_mg_week": -1}),
        ("assessments", {"date": "2024-01-01", "tjc28": 1, "sjc28": 0, "tender_joints": ["left_toe"]}),
        ("assessments", {"date": "2024-01-01", "tjc28": 2, "sjc28": 0, "tender_joints": ["left_knee"]}),
        ("weights", {"date": "2024-01-01", "weight_kg": 50, "height_cm": 160}),  # extra=forbid
    ],
)
def test_bad_entries_are_rejected_naming_the_field(part, entry):
    with pytest.raises(ValidationError) as err:
        history(**{part: [entry]})
    assert part in str(err.value)


def test_lists_are_sorted_and_days_count_from_first_infusion_midnight():
    h = history(
        infusions=[{"date": "2024-02-15T12:00:00", "dose_mg": 200}, {"date": "2024-02-01", "dose_mg": 200}],
        weights=[{"date": "2024-02-15", "weight_kg": 60}, {"date": "2024-01-20", "weight_kg": 58}],
    )
    assert h.reference_date == date(2024, 2, 1)
    assert [w.weight_kg for w in h.weights] == [58, 60]
    # 14 days and 12 hours after 2024-02-01 00:00
    assert h.day_of(datetime(2024, 2, 15, 12)) == 14.5
    assert dose_events(h) == [(0.0, 200.0, 120 / 1440, "iv"), (14.5, 200.0, 120 / 1440, "iv")]


def test_covariate_series_keys_only_where_data_exist_and_binary_coding():
    h = history(
        infusions=[{"date": "2024-02-01", "dose_mg": 200}],
        mtx=[{"date": "2024-01-01", "dose_mg_week": 15}, {"date": "2024-03-02", "dose_mg_week": 0}],
        ada=[{"date": "2024-03-02", "result": "positive", "titre": 80, "titre_unit": "ug/L"}],
    )
    series = covariate_series(h)
    assert set(series) == {"mtx", "ada"}
    # 2024-01-01 is 31 days before 2024-02-01; 2024-03-02 is 30 days after (2024 is a leap year)
    assert series["mtx"] == [(-31.0, 1.0), (30.0, 0.0)]
    assert series["ada"] == [(30.0, 1.0)]


def test_weight_on_is_last_observation_carried_forward():
    h = history(weights=[{"date": "2024-02-01", "weight_kg": 60}, {"date": "2024-03-01", "weight_kg": 62}])
    assert h.weight_on(date(2024, 1, 1)) == 60  # before the first value, the first value
    assert h.weight_on(date(2024, 2, 29)) == 60
    assert h.weight_on(date(2024, 3, 1)) == 62


def test_ada_titre_units():
    h = history(
        ada=[
            {"date": "2024-01-01", "result": "positive", "titre": 60, "titre_unit": "µg/L"},
            {"date": "2024-01-02", "result": "positive", "titre": 60, "titre_unit": "AU/mL"},
        ]
    )
    assert h.ada[0].titre_ug_l() == 60 and h.ada[1].titre_ug_l() is None
