"""Malformed hook calls are HTTP 400 with a JSON body naming each field and its problem;
an unknown service is 404; answers are JSON, never the app's HTML error page."""

from __future__ import annotations

import pytest

from cds.hooks import LEVEL_DUE, ORDER_SELECT, ORDER_SIGN, example_prefetch, hook_request


def _fields(response) -> dict[str, str]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == "invalid CDS Hooks request" and body["message"]
    return {d["field"]: d["msg"] for d in body["detail"]}


def test_missing_hook_instance(ehr):
    body = hook_request()
    del body["hookInstance"]
    assert _fields(ehr.post(ORDER_SELECT, json=body)) == {"hookInstance": "Field required"}


def test_hook_instance_not_a_uuid(ehr):
    fields = _fields(ehr.post(ORDER_SELECT, json=dict(hook_request(), hookInstance="call-17")))
    assert list(fields) == ["hookInstance"] and "UUID" in fields["hookInstance"]


@pytest.mark.parametrize(
    "path, hook",
    [
        (ORDER_SELECT, "order-sign"),
        (ORDER_SIGN, "order-select"),
        (LEVEL_DUE, "order-select"),
        (ORDER_SELECT, "patient-view"),
    ],
)
def test_hook_must_match_the_service(ehr, path, hook):
    fields = _fields(ehr.post(path, json=hook_request(hook)))
    assert "hook" in fields


@pytest.mark.parametrize("orders", [[], "Bundle", {"resourceType": "MedicationRequest", "status": "draft"}])
def test_draft_orders_must_be_a_bundle(ehr, orders):
    body = hook_request()
    body["context"]["draftOrders"] = orders
    fields = _fields(ehr.post(ORDER_SELECT, json=body))
    assert list(fields) == ["context.draftOrders"] and "Bundle" in fields["context.draftOrders"]


def test_draft_orders_must_be_valid_fhir(ehr):
    body = hook_request()
    body["context"]["draftOrders"]["entry"][0]["resource"]["subject"] = "Patient/RA-0001"  # not a Reference
    fields = _fields(ehr.post(ORDER_SELECT, json=body))
    assert "MedicationRequest/draft-1" in fields["context.draftOrders"]


def test_missing_context_fields(ehr):
    body = hook_request()
    del body["context"]["patientId"], body["context"]["draftOrders"]
    assert set(_fields(ehr.post(ORDER_SELECT, json=body))) == {"context.patientId", "context.draftOrders"}
    assert set(_fields(ehr.post(ORDER_SELECT, json={"hook": "order-select"}))) == {"hookInstance", "context"}


def test_fhir_authorization_needs_fhir_server(ehr):
    body = hook_request()
    del body["fhirServer"]
    body["fhirAuthorization"] = {
        "access_token": "t",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cds-service",
    }
    assert "fhirServer" in _fields(ehr.post(ORDER_SELECT, json=body))["__all__"]


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[]", b"null"])
def test_body_not_a_json_object(ehr, raw):
    assert _fields(ehr.post(ORDER_SELECT, content=raw, headers={"content-type": "application/json"}))


def test_prefetch_patient_of_another_patient(ehr):
    prefetch = example_prefetch()
    prefetch["patient"]["id"] = "someone-else"
    assert "prefetch.patient" in _fields(ehr.post(ORDER_SELECT, json=hook_request(prefetch=prefetch)))


def test_prefetch_search_not_a_bundle(ehr):
    prefetch = example_prefetch()
    prefetch["observations"] = prefetch["observations"]["entry"][0]["resource"]
    fields = _fields(ehr.post(ORDER_SELECT, json=hook_request(prefetch=prefetch)))
    assert "Bundle" in fields["prefetch.observations"]


def test_unknown_service_is_404_json(ehr):
    for path in ("/cds-services/no-such-service", "/cds-services/no-such-service/feedback"):
        r = ehr.post(path, json=hook_request())
        assert r.status_code == 404 and "ifxdose-infliximab-order-select" in r.json()["services"]
