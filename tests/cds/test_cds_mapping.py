"""The CDS card's suggested MedicationRequest is the FHIR exporter's mapping of the same
Recommendation (no Bundle built), checked against the hand-written option of ``recs``."""

from __future__ import annotations

from datetime import datetime, timezone

from fhir.resources.R4B.medicationrequest import MedicationRequest

from ifxdose.adapters.fhir.exporter import history_to_bundle
from ifxdose.app.exchange import proposed_request
from recs import make_recommendation
from web.conftest import example_history

NOW = datetime(2024, 8, 26, 9, 0, tzinfo=timezone.utc)


def test_the_suggested_order_is_the_chosen_option():
    request = proposed_request(make_recommendation(), "ehr-42", NOW)
    MedicationRequest.model_validate(request)
    assert (request["status"], request["intent"]) == ("draft", "proposal")
    assert request["subject"] == {"reference": "Patient/ehr-42"} and "id" not in request
    assert request["authoredOn"] == "2024-08-26T09:00:00+00:00"
    dosage = request["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 165.0
    assert dosage["timing"] == {"event": ["2024-09-02"], "repeat": {"frequency": 1, "period": 8.0, "periodUnit": "wk"}}


def test_the_same_request_as_in_the_exported_bundle():
    rec = make_recommendation()
    bundle = history_to_bundle(example_history(), rec, now=NOW)
    (exported,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationRequest"]
    suggested = proposed_request(rec, "RA-0001", NOW)
    assert {k: v for k, v in exported.items() if k not in ("id", "subject")} == {
        k: v for k, v in suggested.items() if k != "subject"
    }


def test_stop_is_a_do_not_perform_request():
    request = proposed_request(make_recommendation(action="stop", chosen=None, options=[]), "ehr-42", NOW)
    assert request["doNotPerform"] is True and "dosageInstruction" not in request
