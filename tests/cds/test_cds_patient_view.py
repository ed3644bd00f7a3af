"""patient-view (ifxdose-level-due): a card when ``due_status`` says a trough level is due."""

from __future__ import annotations

from cds.hooks import LEVEL_DUE, assert_spec_card, example_prefetch, hook_request, prefetch_of
from ifxdose.domain.clinic import due_status
from ifxdose.domain.patient import Level
from web.conftest import TODAY, example_history


def test_level_due_card_with_link_for_a_stored_patient(ehr, with_example):
    due = due_status(example_history(), TODAY)
    assert due.level_due  # infusion 5 within a week, no level since infusion 4
    for body in (hook_request("patient-view"), hook_request("patient-view", prefetch=example_prefetch())):
        r = ehr.post(LEVEL_DUE, json=body)
        assert r.status_code == 200, r.text
        [card] = r.json()["cards"]
        assert_spec_card(card)
        assert card["indicator"] == "info" and card["source"]["topic"]["code"] == "infliximab-level-due"
        assert card["summary"] == (
            f"Infliximab trough level due before infusion {due.next_infusion_number} "
            f"on {due.next_infusion_date.isoformat()}"
        )
        assert card["links"][0]["url"] == "https://ifxdose.clinic.example/patients/RA-0001"


def test_no_card_when_a_level_was_measured(ehr):
    history = example_history()
    history.levels.append(Level(date="2024-08-20", value_mg_l=2.0))
    assert not due_status(history, TODAY).level_due
    r = ehr.post(LEVEL_DUE, json=hook_request("patient-view", prefetch=prefetch_of(history)))
    assert r.status_code == 200 and r.json() == {"cards": []}


def test_no_card_for_a_record_without_infliximab(ehr):
    prefetch = prefetch_of(example_history().model_copy(update={"infusions": [], "levels": []}))
    assert ehr.post(LEVEL_DUE, json=hook_request("patient-view", prefetch=prefetch)).json() == {"cards": []}


def test_no_card_for_unreadable_records(ehr):
    prefetch = example_prefetch()
    prefetch["patient"]["gender"] = "unknown"  # the PK models need female or male
    assert ehr.post(LEVEL_DUE, json=hook_request("patient-view", prefetch=prefetch)).json() == {"cards": []}


def test_unknown_patient_without_prefetch_is_412(ehr):
    r = ehr.post(LEVEL_DUE, json=hook_request("patient-view", patient="NEW-1"))
    assert r.status_code == 412 and r.json()["resourceType"] == "OperationOutcome"
