"""The FHIR endpoints of the JSON API: import into the clinic, export a patient as a Bundle."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from ifxdose.adapters.fhir.elements import validate_bundle
from ifxdose.adapters.fhir.exporter import history_to_bundle
from ifxdose.adapters.fhir.importer import bundle_to_history, bundle_to_recommendation
from web.conftest import example_history, sign_in

HOSPITAL = Path(__file__).parents[1] / "fhir" / "data" / "hospital_bundle.json"


def test_import_then_export_gives_the_history_back(client):
    original = example_history()
    r = client.post(
        "/api/v1/fhir/import", json=history_to_bundle(original, tz="Asia/Tokyo"), params={"tz": "Asia/Tokyo"}
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"patient": "RA-0001", "created": True, "skipped": []}
    exported = client.get("/api/v1/patients/RA-0001/fhir", params={"tz": "Asia/Tokyo"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/fhir+json")
    validate_bundle(exported.json())
    assert bundle_to_history(exported.json(), tz="Asia/Tokyo") == original
    assert client.get("/api/v1/patients/RA-0001/history").json() == original.model_dump(mode="json")
    again = client.post("/api/v1/fhir/import", json=exported.json(), params={"tz": "Asia/Tokyo"})
    assert again.status_code == 201 and again.json()["created"] is False


def test_import_lists_what_was_skipped(client):
    r = client.post("/api/v1/fhir/import", json=json.loads(HOSPITAL.read_text()))
    assert r.status_code == 201, r.text
    skipped = " ".join(r.json()["skipped"])
    assert "Observation/hr1" in skipped and "Observation/ati1" in skipped  # heart rate; lab code not mapped


def test_bad_unit_is_422_naming_the_resource(client):
    bundle = json.loads(HOSPITAL.read_text())
    for entry in bundle["entry"]:
        if entry["resource"].get("id") == "alb1":
            entry["resource"]["valueQuantity"].update(unit="mmol/L", code="mmol/L")
    r = client.post("/api/v1/fhir/import", json=bundle)
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["field"] == "Observation/alb1 valueQuantity.code" and error["value"] == "mmol/L"
    assert client.get("/api/v1/patients").json() == []  # nothing half-written


def test_not_a_bundle_and_bad_zone_are_422(client):
    r = client.post("/api/v1/fhir/import", json={"resourceType": "Patient"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "bundle.resourceType"
    bundle = history_to_bundle(example_history())
    assert client.post("/api/v1/fhir/import", json=bundle, params={"tz": "Mars/Olympus"}).status_code == 422


def test_export_carries_the_accepted_recommendation(client, with_underexposed_example):
    assert bundle_to_recommendation(client.get("/api/v1/patients/RA-0001/fhir").json()) is None
    rec = client.post("/api/v1/patients/RA-0001/recommendations").json()
    proposed = bundle_to_recommendation(client.get("/api/v1/patients/RA-0001/fhir").json())
    assert proposed.chosen.dose_mg == rec["recommendation"]["chosen"]["dose_mg"]
    other = next(i for i, o in enumerate(rec["recommendation"]["options"]) if "recommended" not in o["label"])
    client.post(
        f"/api/v1/patients/RA-0001/recommendations/{rec['id']}/decision",
        json={"decision": "accept", "option_index": other},
    )
    accepted = bundle_to_recommendation(client.get("/api/v1/patients/RA-0001/fhir").json())
    taken = rec["recommendation"]["options"][other]
    assert (accepted.chosen.dose_mg, accepted.chosen.interval_weeks) == (taken["dose_mg"], taken["interval_weeks"])


def test_roles_csrf_and_sign_in(app, with_example):
    bundle = history_to_bundle(example_history())
    with TestClient(app) as anonymous:
        assert anonymous.get("/api/v1/patients/RA-0001/fhir").status_code == 401
        assert anonymous.post("/api/v1/fhir/import", json=bundle).status_code == 401
    with TestClient(app) as viewer:
        sign_in(viewer, "viewer")
        assert viewer.get("/api/v1/patients/RA-0001/fhir").status_code == 200
        assert viewer.post("/api/v1/fhir/import", json=bundle).status_code == 403
    with TestClient(app) as doc:
        sign_in(doc)
        del doc.headers["X-CSRF-Token"]
        assert doc.post("/api/v1/fhir/import", json=bundle).status_code == 403
        assert doc.get("/api/v1/patients/NOPE/fhir").status_code == 404


def test_openapi_documents_the_fhir_endpoints(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "post" in paths["/api/v1/fhir/import"] and "get" in paths["/api/v1/patients/{code}/fhir"]
