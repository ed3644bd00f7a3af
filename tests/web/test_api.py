"""The JSON API: the clinic's whole workflow, 422 bodies naming field and allowed range,
import/export, and the app with a stand-in engine (any object with the same two functions, returning the domain's Recommendation)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ifxdose.app.engine import Recommender
from recs import make_recommendation
from web.conftest import example_history, make_app, sign_in


def test_workflow_create_record_recommend_accept(client):
    assert client.post("/api/v1/patients", json={"id": "API-1", "sex": "female", "birth_year": 1970}).status_code == 201
    base = "/api/v1/patients/API-1"
    assert client.post(f"{base}/weights", json={"date": "2024-03-25", "weight_kg": 60}).status_code == 201
    for day in ("2024-04-01", "2024-04-15", "2024-05-13", "2024-07-08"):
        r = client.post(f"{base}/infusions", json={"date": day, "dose_mg": 180, "dose_mg_per_kg": 3})
        assert r.status_code == 201 and r.json()["kind"] == "infusions"
    assert (
        client.post(
            f"{base}/levels", json={"date": "2024-07-08T09:00:00", "value_mg_l": 0.5, "lloq_mg_l": 0.1}
        ).status_code
        == 201
    )
    rec = client.post(f"{base}/recommendations")
    assert rec.status_code == 201, rec.text
    body = rec.json()
    assert body["status"] == "proposed" and body["recommendation"]["options"]
    assert body["model"] and body["model_version"]
    decided = client.post(f"{base}/recommendations/{body['id']}/decision", json={"decision": "accept"})
    assert decided.status_code == 200 and decided.json()["status"] == "accepted"
    again = client.post(f"{base}/recommendations/{body['id']}/decision", json={"decision": "accept"})
    assert again.status_code == 409
    assert client.get(f"{base}/schedule").json()[-1]["given"] is None
    assert [p["code"] for p in client.get("/api/v1/patients", params={"q": "api"}).json()] == ["API-1"]
    profile = client.get(f"{base}/profile").json()
    assert profile["observed"] and len(profile["time_days"]) == len(profile["ipred_mg_l"])


def test_422_names_field_value_and_allowed_range(client, with_example):
    r = client.post("/api/v1/patients/RA-0001/weights", json={"date": "2024-08-01", "weight_kg": 400})
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert (
        error["field"] == "weight_kg" and error["value"] == 400 and error["allowed"] == "allowed range is (0, 350] kg"
    )
    r = client.post("/api/v1/patients/RA-0001/levels", json={"date": "2023-01-01", "value_mg_l": 1})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "date"
    r = client.post("/api/v1/patients/RA-0001/infusions", json={"date": "2024-09-01", "dose_mg": 100, "vials": 0})
    assert r.json()["detail"][0]["field"] == "vials"
    r = client.post("/api/v1/patients/RA-0001/infusions", json={"date": "2024-09-01T10:00:00+09:00", "dose_mg": 100})
    assert r.status_code == 422 and "UTC offset" in r.json()["detail"][0]["allowed"]
    r = client.post("/api/v1/patients", json={"id": "x/y", "sex": "female", "birth_year": 1970})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "id"


def test_history_export_import_round_trip(client, with_example):
    exported = client.get("/api/v1/patients/RA-0001/history").json()
    assert exported == example_history().model_dump(mode="json")
    exported["patient"]["id"] = "RA-COPY"
    assert client.post("/api/v1/patients/import", json=exported).status_code == 201
    assert client.post("/api/v1/patients/import", json=exported).status_code == 409
    assert client.post("/api/v1/patients/import", params={"replace": True}, json=exported).status_code == 201
    copy = client.get("/api/v1/patients/RA-COPY/history").json()
    assert {k: v for k, v in copy.items() if k != "patient"} == {k: v for k, v in exported.items() if k != "patient"}
    bad = dict(exported, infusions=[{"date": "2024-04-01", "dose_mg": -1}])
    r = client.post("/api/v1/patients/import", json=bad)
    assert r.status_code == 422 and r.json()["detail"][0]["field"].startswith("infusions.0.dose_mg")
    mixed = dict(
        exported,
        infusions=[
            {"date": "2024-04-01T10:00:00+09:00", "dose_mg": 100},
            {"date": "2024-04-15T10:00:00", "dose_mg": 100},
        ],
    )
    assert client.post("/api/v1/patients/import", json=mixed).status_code == 422


def test_openapi_documents_the_api(client):
    spec = client.get("/api/openapi.json").json()
    assert "/api/v1/patients/{code}/infusions" in spec["paths"]
    assert "/api/v1/patients/{code}/recommendations/{rec_id}/decision" in spec["paths"]
    assert "API" in client.get("/api/docs").text


def _fake_recommendation():
    return make_recommendation(
        action="stop",
        chosen=None,
        options=[],
        decision="stop",
        rationale="ADA positive with an undetectable trough (fake engine)",
    )


def test_app_runs_with_a_stand_in_engine(tmp_path):
    fake = Recommender(
        recommend=lambda history, *, today: _fake_recommendation(),
        predict_profile=lambda history: (_ for _ in ()).throw(ValueError("no model")),
    )
    app = make_app(f"sqlite:///{tmp_path / 'f.sqlite3'}", recommender=fake)
    from ifxdose.adapters import store as st

    st.import_history(app.state.store, example_history(), user="t")
    with TestClient(app) as c:
        sign_in(c)
        rec = c.post("/api/v1/patients/RA-0001/recommendations").json()
        assert rec["action"] == "stop" and rec["model"] == "fake"
        page = c.get("/patients/RA-0001").text
        assert "Stop infliximab" in page and "stand-in engine" in page and "no model" in page
        assert (
            c.post(
                f"/api/v1/patients/RA-0001/recommendations/{rec['id']}/decision", json={"decision": "accept"}
            ).json()["chosen_option"]
            is None
        )
