"""Building CDS Hooks requests the way an EHR does, and checking cards against the
CDS Hooks 2.0 card rules as written in shared/research/ra_scores_and_codes.md Part B §B3
(an oracle independent of ifxdose's card writer)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from ifxdose.adapters.fhir.exporter import history_to_bundle
from ifxdose.domain.patient import PatientHistory
from web.conftest import example_history

HERE = Path(__file__).parent
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ORDER_SELECT = "/cds-services/ifxdose-infliximab-order-select"
ORDER_SIGN = "/cds-services/ifxdose-infliximab-order-sign"
LEVEL_DUE = "/cds-services/ifxdose-level-due"
Json = dict[str, Any]


def medication_request(
    rid: str = "draft-1",
    *,
    coding: tuple[str, str] | None = (RXNORM, "191831"),
    text: str | None = None,
    dose: float | None = 165,
    unit: str = "mg",
    period_weeks: float | None = 8,
    patient: str = "RA-0001",
) -> Json:
    concept: Json = {}
    if coding is not None:
        concept["coding"] = [{"system": coding[0], "code": coding[1]}]
    if text is not None:
        concept["text"] = text
    dosage: Json = {"route": {"coding": [{"system": "http://snomed.info/sct", "code": "47625008"}]}}
    if dose is not None:
        dosage["doseAndRate"] = [
            {"doseQuantity": {"value": dose, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}
        ]
    if period_weeks is not None:
        dosage["timing"] = {"repeat": {"frequency": 1, "period": period_weeks, "periodUnit": "wk"}}
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": concept,
        "subject": {"reference": f"Patient/{patient}"},
        "dosageInstruction": [dosage],
    }


def draft_orders(*requests: Json) -> Json:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in requests]}


def _searchset(resources: list[Json]) -> Json:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


def prefetch_of(history: PatientHistory, patient_id: str = "RA-0001") -> Json:
    """What an EHR holding this history would prefetch: the Patient and three searchsets."""
    resources = [e["resource"] for e in history_to_bundle(history)["entry"]]
    for r in resources:
        r.pop("id", None)
        if "subject" in r:
            r["subject"] = {"reference": f"Patient/{patient_id}"}
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    patient["id"] = patient_id
    of = lambda kind: [r for r in resources if r["resourceType"] == kind]  # noqa: E731
    return {
        "patient": patient,
        "observations": _searchset(of("Observation")),
        "administrations": _searchset(of("MedicationAdministration")),
        "statements": _searchset(of("MedicationStatement")),
    }


def example_prefetch() -> Json:
    return prefetch_of(example_history())


def hospital_prefetch() -> Json:
    return json.loads((HERE / "data" / "hospital_prefetch.json").read_text(encoding="utf-8"))


def hook_request(
    hook: str = "order-select", *, patient: str = "RA-0001", orders: Json | None = None, prefetch: Json | None = None
) -> Json:
    context: Json = {"userId": "Practitioner/dr-sato", "patientId": patient, "encounterId": "Encounter/e-42"}
    if hook in ("order-select", "order-sign"):
        context["draftOrders"] = orders if orders is not None else draft_orders(medication_request(patient=patient))
    if hook == "order-select":
        context["selections"] = [
            f"MedicationRequest/{e['resource']['id']}"
            for e in context["draftOrders"]["entry"]
            if e["resource"].get("id")
        ]
    body: Json = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": "https://ehr.example.jp/fhir",
        "context": context,
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def assert_spec_card(card: Json) -> None:
    """Card attributes per CDS Hooks 2.0 (research file Part B §B3)."""
    assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140
    assert card["indicator"] in ("info", "warning", "critical")
    assert card["source"]["label"]
    uuid.UUID(card["uuid"])
    if card.get("suggestions"):
        assert card["selectionBehavior"] in ("at-most-one", "any")
        for suggestion in card["suggestions"]:
            assert suggestion["label"]
            for action in suggestion["actions"]:
                assert action["type"] in ("create", "update", "delete") and action["description"]
                assert ("resource" in action) if action["type"] != "delete" else ("resourceId" in action)
    for reason in card.get("overrideReasons", []):
        assert reason["display"]
    for link in card.get("links", []):
        assert link["label"] and link["url"] and link["type"] in ("absolute", "smart")
