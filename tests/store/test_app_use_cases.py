"""The use cases of ``ifxdose.app`` at the function level (the adapters' tests reach them through
HTTP and the CLI): a stand-in engine's Recommendation is stored, listed, superseded by new data,
accepted, planned and exported with the option taken."""

from __future__ import annotations

import datetime as dt

import pytest

from ifxdose.adapters import store as st
from ifxdose.adapters.fhir.importer import bundle_to_recommendation
from ifxdose.app import clinic
from ifxdose.app.engine import Recommender
from ifxdose.app.fhir import export_patient
from ifxdose.domain.patient import Level
from recs import make_option, make_recommendation

TODAY = dt.date(2024, 8, 26)
REC = make_recommendation(
    options=[
        make_option(),
        make_option(label="shorter interval", interval_weeks=6.0, next_date=dt.date(2024, 9, 2)),
    ]
)
ENGINE = Recommender(recommend=lambda history, *, today: REC, predict_profile=lambda history: None)


def test_recommend_store_accept_plan_and_export(store, example_history):
    clinic.import_patient(store, example_history, user="t")
    rec_id = clinic.recommend_and_store(store, ENGINE, "RA-0001", TODAY, user="doc")
    (stored,) = clinic.recommendations_of(store, "RA-0001")
    assert (stored.row.id, stored.recommendation, stored.taken, stored.superseded) == (rec_id, REC, None, False)
    decided = clinic.accept_recommendation(store, "RA-0001", rec_id, "accept", user="doc", option_index=1)
    assert decided.taken == REC.options[1] and decided.row.status == "accepted"
    history, plan = clinic.history_and_plan(store, "RA-0001")
    assert (plan.next_date, plan.interval_weeks) == (dt.date(2024, 9, 2), 6.0)  # the option taken, by hand
    exported = bundle_to_recommendation(export_patient(store, "RA-0001"))
    assert (exported.chosen.interval_weeks, exported.chosen.next_date) == (6.0, dt.date(2024, 9, 2))


def test_new_data_supersede_and_accepting_is_refused(store, example_history):
    clinic.import_patient(store, example_history, user="t")
    rec_id = clinic.recommend_and_store(store, ENGINE, "RA-0001", TODAY, user="doc")
    clinic.record_entries(
        store, "RA-0001", [("levels", Level(date="2024-08-20", value_mg_l=2.5), None)], user="doc", today=TODAY
    )
    (stored,) = clinic.recommendations_of(store, "RA-0001")
    assert stored.superseded
    with pytest.raises(st.Conflict, match="superseded"):
        clinic.accept_recommendation(store, "RA-0001", rec_id, "accept", user="doc")


def test_an_engine_answer_that_is_not_a_recommendation_is_refused(store, example_history):
    clinic.import_patient(store, example_history, user="t")
    wrong = Recommender(recommend=lambda history, *, today: REC.model_dump(), predict_profile=lambda h: None)
    with pytest.raises(TypeError, match="not ifxdose's Recommendation"):
        clinic.recommend_and_store(store, wrong, "RA-0001", TODAY, user="doc")
    assert clinic.recommendations_of(store, "RA-0001") == []
