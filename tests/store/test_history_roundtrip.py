"""Export and import of a whole patient as the canonical history JSON, losslessly."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifxdose.adapters.store import (
    Conflict,
    add_entry,
    entry_rows,
    import_history,
    open_store,
    patient_history,
)
from ifxdose.domain.patient import Infusion, PatientHistory

RICH = {
    "patient": {"id": "TEST-RICH", "sex": "male", "birth_year": 1950},
    "weights": [{"date": "2024-01-01", "weight_kg": 61.25}, {"date": "2024-06-01", "weight_kg": 59.9}],
    "infusions": [
        {
            "date": "2024-01-02T09:15:00",
            "dose_mg": 183.75,
            "dose_mg_per_kg": 3,
            "route": "iv",
            "duration_min": 150,
            "product": "Infliximab BS (example)",
            "lot": "LOT-ß-1",
            "reaction": "悪寒、軽度",
        },
        {"date": "2024-01-16", "dose_mg": 200},
        {"date": "2024-01-16T00:00:00", "dose_mg": 0.1, "route": "sc", "duration_min": 0},
    ],
    "levels": [
        {"date": "2024-01-16", "below_lloq": True, "lloq_mg_l": 0.035, "assay": "ELISA"},
        {"date": "2024-03-01T08:00:00", "value_mg_l": 0.123456789012345},
    ],
    "ada": [
        {"date": "2024-03-01", "result": "positive", "titre": 12.5, "titre_unit": "ug/L", "drug_tolerant": True},
        {"date": "2024-04-01", "result": "negative"},
    ],
    "labs": [{"date": "2024-01-01", "crp_mg_l": 0.0, "esr_mm_h": 1, "albumin_g_dl": 6.5}, {"date": "2024-02-01"}],
    "mtx": [{"date": "2023-01-01", "dose_mg_week": 0}],
    "assessments": [
        {
            "date": "2024-01-01",
            "tjc28": 2,
            "sjc28": 1,
            "ptga_mm": 0.5,
            "haq_di": 3,
            "tender_joints": ["left_pip5", "right_knee"],
            "swollen_joints": ["left_shoulder"],
        },
        {"date": "2024-03-01", "tjc28": 28, "sjc28": 0},
    ],
    "baseline_tnf_pg_ml": 0.54,
}


def test_example_history_round_trips(store, example_history):
    import_history(store, example_history, user="tester")
    assert patient_history(store, "RA-0001") == example_history


def test_rich_history_round_trips_through_json(store, tmp_path):
    history = PatientHistory.model_validate(RICH)
    import_history(store, history, user="tester")
    exported = patient_history(store, "TEST-RICH").model_dump_json()
    again = PatientHistory.model_validate_json(exported)
    assert again == history
    # dates keep their form: a date stays a date, a datetime keeps its time
    assert json.loads(exported)["infusions"][0]["date"] == "2024-01-02T09:15:00"
    assert json.loads(exported)["infusions"][1]["date"] == "2024-01-16"
    # and a second database receives exactly the same patient
    other = open_store(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    import_history(other, again, user="tester")
    assert patient_history(other, "TEST-RICH") == history


def test_import_refuses_existing_patient_unless_replace(store, example_history):
    import_history(store, example_history, user="tester")
    with pytest.raises(Conflict):
        import_history(store, example_history, user="tester")
    smaller = example_history.model_copy(update={"levels": []})
    import_history(store, smaller, user="tester", replace=True)
    assert patient_history(store, "RA-0001") == smaller


def test_derived_columns_are_stored(store, example_history):
    import_history(store, example_history, user="tester")
    add_entry(store, "RA-0001", "infusions", Infusion(date="2024-09-02", dose_mg=250), user="tester", vials=3)
    rows = entry_rows(store, "RA-0001", "infusions")
    assert [r.vials for r in rows] == [2, 2, 2, 2, 3]  # 165 mg -> 2 vials of 100 mg
    scores = entry_rows(store, "RA-0001", "assessments")[0].scores
    # DAS28-CRP(4) of 10 tender, 8 swollen, CRP 18 mg/L, PtGA 60 mm, by hand:
    # 0.56*sqrt(10) + 0.28*sqrt(8) + 0.36*ln(19) + 0.014*60 + 0.96 = 5.4228
    assert scores["das28_crp"]["value"] == pytest.approx(5.4228, abs=1e-4)
    assert scores["sdai"]["value"] == pytest.approx(10 + 8 + 6.0 + 5.5 + 1.8)  # CRP in mg/dL


_values = st.floats(min_value=0.01, max_value=349, allow_nan=False, allow_infinity=False)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    weights=st.lists(
        st.tuples(
            st.dates(
                min_value=__import__("datetime").date(1990, 1, 1), max_value=__import__("datetime").date(2090, 1, 1)
            ),
            _values,
        ),
        min_size=1,
        max_size=6,
    ),
    doses=st.lists(st.floats(min_value=0.5, max_value=5000, allow_nan=False), min_size=1, max_size=5),
)
def test_generated_histories_round_trip(tmp_path_factory, weights, doses):
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('gen') / 'db.sqlite3'}")
    history = PatientHistory.model_validate(
        {
            "patient": {"id": "GEN", "sex": "female", "birth_year": 1980},
            "weights": [{"date": d.isoformat(), "weight_kg": w} for d, w in weights],
            "infusions": [{"date": f"2024-0{1 + i}-01", "dose_mg": dose} for i, dose in enumerate(doses)],
        }
    )
    import_history(store, history, user="tester")
    assert patient_history(store, "GEN") == history
    store.close()
