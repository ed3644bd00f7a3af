"""Discovery document, prefetch templates and who may call the CDS endpoints."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cds.hooks import ORDER_SELECT, example_prefetch, hook_request
from ifxdose.adapters.web.app import create_app
from ifxdose.adapters.web.settings import WebSettings
from web.conftest import TODAY

# Every Observation code the importer reads (docs/fhir.md "Codes", written out by hand).
LOINC_READ = ("39803-2", "86896-8", "1988-5", "30522-7", "4537-7", "30341-2", "29463-7", "1751-7")


def test_discovery_lists_the_three_services(ehr):
    r = ehr.get("/cds-services")
    assert r.status_code == 200
    services = {s["id"]: s for s in r.json()["services"]}
    assert {sid: s["hook"] for sid, s in services.items()} == {
        "ifxdose-infliximab-order-select": "order-select",
        "ifxdose-infliximab-order-sign": "order-sign",
        "ifxdose-level-due": "patient-view",
    }
    for service in services.values():
        assert service["title"] and service["description"]
        prefetch = service["prefetch"]
        assert prefetch["patient"] == "Patient/{{context.patientId}}"
        assert prefetch["administrations"] == "MedicationAdministration?patient={{context.patientId}}"
        assert prefetch["statements"] == "MedicationStatement?patient={{context.patientId}}"
        search, _, codes = prefetch["observations"].partition("&code=")
        assert search == "Observation?patient={{context.patientId}}"
        listed = codes.split(",")
        for code in LOINC_READ:
            assert f"http://loinc.org|{code}" in listed
        assert "https://ifxdose.org/fhir/CodeSystem/ifxdose|anti-infliximab-antibody" in listed


def test_openapi_lists_the_cds_endpoints(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/cds-services", "/cds-services/{service_id}", "/cds-services/{service_id}/feedback"} <= set(paths)
    body = paths["/cds-services/{service_id}"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"hook", "hookInstance", "context"} <= set(body["required"])


def _app(tmp_path, **settings):
    return create_app(
        WebSettings(database_url=f"sqlite:///{tmp_path / 'c.sqlite3'}", secret_key="s" * 40, today=TODAY, **settings)
    )


def test_bearer_token_when_configured(tmp_path):
    app = _app(tmp_path, mode="test", cds_token="cds-token-" + "t" * 30)
    with TestClient(app) as ehr:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "cds-token-" + "t" * 30}):
            r = ehr.get("/cds-services", headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
            assert ehr.post(ORDER_SELECT, json=hook_request(), headers=headers).status_code == 401
        good = {"Authorization": "Bearer cds-token-" + "t" * 30}
        assert ehr.get("/cds-services", headers=good).status_code == 200
        r = ehr.post(ORDER_SELECT, json=hook_request(prefetch=example_prefetch()), headers=good)
        assert r.status_code == 200 and r.json()["cards"]
    app.state.store.close()


@pytest.mark.parametrize(
    "client_host, headers, status",
    [
        ("testclient", {}, 401),  # a remote client
        ("127.0.0.1", {}, 200),  # the same machine
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, 401),  # a reverse proxy on the same machine
    ],
)
def test_production_without_token_answers_only_direct_loopback(tmp_path, client_host, headers, status):
    app = _app(tmp_path, mode="production", cds_no_token=True)
    with TestClient(app, client=(client_host, 50000)) as ehr:
        assert ehr.get("/cds-services", headers=headers).status_code == status
    app.state.store.close()


def test_cds_needs_no_app_sign_in_but_the_api_still_does(ehr):
    assert ehr.get("/cds-services").status_code == 200
    assert ehr.get("/api/v1/patients").status_code == 401
