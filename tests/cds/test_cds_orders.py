"""order-select / order-sign: realistic hook calls (prefetch from the FHIR exporter and a
hand-written hospital record), the stored patient without prefetch, an unknown patient
without prefetch (412), non-infliximab orders, stop/switch, and the card's numbers against
``recommend()`` called directly."""

from __future__ import annotations

from fhir.resources.R4B.medicationrequest import MedicationRequest

from cds.hooks import (
    ORDER_SELECT,
    ORDER_SIGN,
    RXNORM,
    assert_spec_card,
    draft_orders,
    example_prefetch,
    hook_request,
    hospital_prefetch,
    medication_request,
    prefetch_of,
)
from ifxdose.adapters.fhir.importer import bundle_to_history
from ifxdose.domain.patient import AdaResult
from ifxdose.domain.recommend import recommend
from web.conftest import TODAY, example_history, underexposed_example_history


def _one_card(response) -> dict:
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]
    assert_spec_card(card)
    return card


def test_card_numbers_equal_recommend_called_directly(ehr):
    card = _one_card(ehr.post(ORDER_SELECT, json=hook_request(prefetch=prefetch_of(underexposed_example_history()))))
    rec = recommend(underexposed_example_history(), today=TODAY)
    o = rec.chosen
    assert card["summary"] == (
        f"Infliximab {o.dose_mg:g} mg every {o.interval_weeks:g} weeks: {round(100 * o.pta)}% chance of trough ≥ 1 mg/L"
    )
    detail = card["detail"]
    for text in (
        f"{o.predicted_trough_median_mg_l:.2f} mg/L",
        f"{o.predicted_trough_p10_mg_l:.2f}–{o.predicted_trough_p90_mg_l:.2f} mg/L",
        f"{o.cost_per_year_jpy:,} JPY",
        rec.model,
        rec.model_version,
        *rec.citations,
        rec.rationale,
        rec.rationale_ja,
        o.next_date.isoformat(),
    ):
        assert text in detail, text
    # the draft asks for 165 mg every 8 weeks; ifxdose recommends otherwise -> warning
    assert (o.dose_mg, o.interval_weeks) != (165, 8) and card["indicator"] == "warning"
    assert "differs from the recommendation" in detail
    [suggestion] = card["suggestions"]
    assert card["selectionBehavior"] == "at-most-one"
    [action] = suggestion["actions"]
    assert action["type"] == "create"
    request = MedicationRequest.model_validate(action["resource"])  # a valid R4B resource
    dosage = action["resource"]["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"] == {
        "value": o.dose_mg,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }
    assert dosage["timing"]["repeat"]["period"] == o.interval_weeks and dosage["timing"]["event"] == [
        o.next_date.isoformat()
    ]
    assert request.subject.reference == "Patient/RA-0001" and request.status == "draft"
    assert all(r["display"] for r in card["overrideReasons"])
    assert card["source"]["topic"]["code"] == "infliximab-dose"
    assert "links" not in card  # the patient is not in the clinic database


def test_draft_matching_the_recommendation_is_info(ehr):
    o = recommend(underexposed_example_history(), today=TODAY).chosen
    orders = draft_orders(medication_request(dose=o.dose_mg, period_weeks=o.interval_weeks))
    card = _one_card(
        ehr.post(
            ORDER_SIGN,
            json=hook_request("order-sign", orders=orders, prefetch=prefetch_of(underexposed_example_history())),
        )
    )
    assert card["indicator"] == "info" and "differs" not in card["detail"]


def test_hospital_record_and_draft_named_only_in_japanese(ehr):
    orders = draft_orders(
        medication_request(
            "rx-9",
            coding=("https://ehr.example.jp/drug", "620009401"),
            text="インフリキシマブBS点滴静注用100mg「CTH」",
            dose=3,
            unit="mg/kg",
            patient="jp-778",
        )
    )
    prefetch = hospital_prefetch()
    card = _one_card(ehr.post(ORDER_SELECT, json=hook_request(patient="jp-778", orders=orders, prefetch=prefetch)))
    # independent oracle: the same resources read by the importer, then recommend()
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": prefetch["patient"]}]
        + [
            e
            for key in ("observations", "administrations", "statements")
            for e in prefetch[key]["entry"]
            if e["resource"]["resourceType"] != "OperationOutcome"
        ],
    }
    history = bundle_to_history(bundle)
    assert len(history.infusions) == 4 and history.levels[0].value_mg_l == 1.4 and history.labs[0].crp_mg_l == 3.5
    o = recommend(history, today=TODAY).chosen
    assert card["summary"].startswith(
        f"Infliximab {o.dose_mg:g} mg every {o.interval_weeks:g} weeks: {round(100 * o.pta)}%"
    )
    assert "rx-9: 3 mg/kg, every 8 weeks" in card["detail"]
    assert "MedicationAdministration/ma-x: status not-done" in card["detail"]  # what was not read is shown


def test_link_to_the_patient_page_when_stored(ehr, with_example):
    card = _one_card(ehr.post(ORDER_SELECT, json=hook_request(prefetch=example_prefetch())))
    assert card["links"] == [
        {
            "label": "ifxdose: patient RA-0001",
            "url": "https://ifxdose.clinic.example/patients/RA-0001",
            "type": "absolute",
        }
    ]


def test_prefetch_absent_uses_the_stored_history(ehr, with_example):
    with_prefetch = _one_card(ehr.post(ORDER_SELECT, json=hook_request(prefetch=example_prefetch())))
    stored = _one_card(ehr.post(ORDER_SELECT, json=hook_request()))
    assert stored["summary"] == with_prefetch["summary"] and stored["links"]


def test_partial_prefetch_falls_back_to_the_store(ehr, with_example):
    prefetch = example_prefetch()
    prefetch["statements"] = None  # the EHR could not fetch it (allowed by the spec)
    assert _one_card(ehr.post(ORDER_SELECT, json=hook_request(prefetch=prefetch)))["links"]


def test_prefetch_absent_unknown_patient_is_412_with_operation_outcome(ehr):
    r = ehr.post(ORDER_SELECT, json=hook_request(patient="UNKNOWN-9"))
    assert r.status_code == 412
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    [issue] = outcome["issue"]
    assert issue["severity"] == "error" and "prefetch" in issue["diagnostics"]
    assert "UNKNOWN-9" in issue["diagnostics"]


def test_no_infliximab_order_no_cards(ehr):
    orders = draft_orders(
        medication_request(coding=(RXNORM, "6851"), text="methotrexate"),
        {
            "resourceType": "ServiceRequest",
            "id": "sr-1",
            "status": "draft",
            "intent": "order",
            "subject": {"reference": "Patient/RA-0001"},
        },
    )
    for body in (hook_request(orders=orders), hook_request(orders=orders, prefetch=example_prefetch())):
        r = ehr.post(ORDER_SELECT, json=body)
        assert r.status_code == 200 and r.json() == {"cards": []}


def test_antibodies_at_stop_threshold_give_a_critical_card(ehr):
    history = example_history()
    history.ada.append(AdaResult(date="2024-08-19", result="positive", titre=80, titre_unit="ug/L"))
    card = _one_card(ehr.post(ORDER_SELECT, json=hook_request(prefetch=prefetch_of(history))))
    rec = recommend(history, today=TODAY)
    # ADA >= 50 ug/L (NOR-DRUM B, S13): stop infliximab AND switch — one action for every path
    assert rec.action == "switch" and card["indicator"] == "critical"
    assert card["summary"].startswith("Switch from infliximab") and rec.rationale in card["detail"]
    [suggestion] = card["suggestions"]
    assert suggestion["actions"] == [
        {"type": "delete", "description": "Remove MedicationRequest/draft-1", "resourceId": "MedicationRequest/draft-1"}
    ]


def test_unreadable_unit_gives_a_warning_card_naming_the_resource(ehr):
    prefetch = hospital_prefetch()
    prefetch["observations"]["entry"][3]["resource"]["valueQuantity"].update(unit="nmol/L", code="nmol/L")
    card = _one_card(ehr.post(ORDER_SELECT, json=hook_request(patient="jp-778", prefetch=prefetch)))
    assert card["indicator"] == "warning" and "Observation/crp-1" in card["detail"]
    assert "suggestions" not in card


def test_history_without_infusions_gives_an_info_card(ehr):
    history = example_history().model_copy(update={"infusions": []})
    card = _one_card(ehr.post(ORDER_SELECT, json=hook_request(prefetch=prefetch_of(history))))
    assert card["indicator"] == "info" and "infusion" in card["detail"]
