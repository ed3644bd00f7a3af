"""Export -> import is the identity, and every exported bundle validates with fhir.resources R4B."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.fhir.strategies import histories, recommendations

from fuzzing import examples
from ifxdose.adapters.fhir import codes as c
from ifxdose.adapters.fhir.exporter import history_to_bundle
from ifxdose.adapters.fhir.importer import (
    ProposedRegimen,
    RecommendationInBundle,
    bundle_to_history,
    bundle_to_recommendation,
    import_bundle,
)
from ifxdose.domain.patient import PatientHistory
from recs import make_option, make_recommendation

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = PatientHistory.model_validate_json((ROOT / "examples" / "history_label_55kg.json").read_text())
REC = make_recommendation(
    option=make_option(
        dose_mg=165,
        dose_mg_per_kg=3,
        interval_weeks=8,
        next_date="2024-09-02",
        predicted_trough_median_mg_l=1.1,
        predicted_trough_p10_mg_l=0.3,
        predicted_trough_p90_mg_l=2.5,
        pta=0.62,
    ),
    model="passot2016",
    model_version="1.0",
    rationale="Label dosing.",
    citations=["Maini RN et al. Lancet 1999;354:1932-9"],
)
NOW = datetime(2024, 8, 26, 9, 0, tzinfo=timezone.utc)


def through_json(bundle: dict) -> str:
    return json.dumps(bundle, ensure_ascii=False)


@pytest.mark.parametrize("tz", ["UTC", "+09:00", "Asia/Tokyo"])
def test_example_history_round_trips(tz):
    assert bundle_to_history(through_json(history_to_bundle(EXAMPLE, tz=tz)), tz=tz) == EXAMPLE


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.sampled_from(["UTC", "+09:00", "Asia/Tokyo"]))
def test_any_history_round_trips(history, tz):
    bundle = history_to_bundle(history, tz=tz, now=NOW)
    back = import_bundle(through_json(bundle), tz=tz)
    assert back.history == history
    assert back.skipped == []


@settings(max_examples=examples(30), deadline=None)
@given(recommendations())
def test_any_recommendation_round_trips(rec):
    bundle = history_to_bundle(EXAMPLE, rec, now=NOW)
    assert bundle_to_recommendation(through_json(bundle)) == _what_fhir_carries(rec)
    assert bundle_to_history(bundle) == EXAMPLE  # the recommendation does not leak into the history


def _what_fhir_carries(rec):
    """The part of a Recommendation the exporter writes (docs/fhir.md): action, the chosen
    option's dose, mg/kg, interval, first date, predicted troughs and PTA, model, rationale, sources."""
    o = rec.chosen
    chosen = (
        None
        if o is None
        else ProposedRegimen(
            dose_mg=o.dose_mg,
            dose_mg_per_kg=o.dose_mg_per_kg,
            interval_weeks=o.interval_weeks,
            next_date=o.next_date,
            predicted_trough_median_mg_l=o.predicted_trough_median_mg_l,
            predicted_trough_p10_mg_l=o.predicted_trough_p10_mg_l,
            predicted_trough_p90_mg_l=o.predicted_trough_p90_mg_l,
            pta=o.pta,
        )
    )
    return RecommendationInBundle(
        action=rec.action,
        chosen=chosen,
        model=rec.model,
        model_version=rec.model_version,
        rationale=rec.rationale,
        citations=rec.citations,
    )


def test_the_written_recommendation_reads_back_with_the_hand_written_values():
    back = bundle_to_recommendation(through_json(history_to_bundle(EXAMPLE, REC, now=NOW)))
    assert (back.action, back.model, back.model_version, back.rationale) == (
        "infuse",
        "passot2016",
        "1.0",
        "Label dosing.",
    )
    assert back.chosen == ProposedRegimen(
        dose_mg=165,
        dose_mg_per_kg=3,
        interval_weeks=8,
        next_date="2024-09-02",
        predicted_trough_median_mg_l=1.1,
        predicted_trough_p10_mg_l=0.3,
        predicted_trough_p90_mg_l=2.5,
        pta=0.62,
    )


def test_every_exported_resource_validates_on_its_own():
    bundle = history_to_bundle(EXAMPLE, REC, now=NOW)
    Bundle.model_validate(bundle)
    kinds = set()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        kinds.add(resource["resourceType"])
    assert kinds == {
        "Patient",
        "Observation",
        "MedicationAdministration",
        "MedicationStatement",
        "MedicationRequest",
        "Device",
        "Provenance",
    }


def test_transaction_bundle_posts_every_resource():
    bundle = history_to_bundle(EXAMPLE, REC, bundle_type="transaction", now=NOW)
    Bundle.model_validate(bundle)
    assert all(e["request"] == {"method": "POST", "url": e["resource"]["resourceType"]} for e in bundle["entry"])
    assert bundle_to_history(bundle) == EXAMPLE


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_recommendation_resources_carry_the_documented_markers():
    bundle = history_to_bundle(EXAMPLE, REC, now=NOW)
    (request,) = _resources(bundle, "MedicationRequest")
    assert (request["status"], request["intent"]) == ("draft", "proposal")
    dosage = request["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 165
    assert dosage["timing"] == {"event": ["2024-09-02"], "repeat": {"frequency": 1, "period": 8, "periodUnit": "wk"}}
    predictions = [
        o for o in _resources(bundle, "Observation") if o["code"]["coding"][0]["code"] == c.PREDICTED_TROUGH.code
    ]
    (prediction,) = predictions
    assert prediction["category"][0]["coding"][0]["code"] == "prediction"
    assert c.LOINC_IFX.code not in json.dumps(prediction)  # never mistaken for a measured level
    (device,) = _resources(bundle, "Device")
    assert device["deviceName"][0]["name"] == "passot2016" and device["version"][0]["value"] == "1.0"
    (provenance,) = _resources(bundle, "Provenance")
    assert provenance["recorded"] == "2024-08-26T09:00:00+00:00"
    assert [e["what"]["display"] for e in provenance["entity"]] == ["Maini RN et al. Lancet 1999;354:1932-9"]


def test_stop_recommendation_is_a_do_not_perform_request():
    bundle = history_to_bundle(EXAMPLE, REC.model_copy(update={"action": "stop", "chosen": None}), now=NOW)
    (request,) = _resources(bundle, "MedicationRequest")
    assert request["doNotPerform"] is True and "dosageInstruction" not in request
    assert not [o for o in _resources(bundle, "Observation") if o["category"][0]["coding"][0]["code"] == "prediction"]


def test_below_lloq_level_is_a_less_than_quantity():
    history = EXAMPLE.model_copy(
        update={
            "levels": [EXAMPLE.levels[0].model_copy(update={"value_mg_l": None, "below_lloq": True, "lloq_mg_l": 0.4})]
        }
    )
    (level,) = [
        o
        for o in _resources(history_to_bundle(history), "Observation")
        if o["code"]["coding"][0]["code"] == c.LOINC_IFX.code
    ]
    assert level["valueQuantity"]["comparator"] == "<" and level["valueQuantity"]["value"] == 0.4
    assert bundle_to_history(history_to_bundle(history)) == history


def test_naive_times_get_the_clinic_zone():
    bundle = history_to_bundle(EXAMPLE, tz="Asia/Tokyo")
    (last,) = [a for a in _resources(bundle, "MedicationAdministration") if "T" in a["effectiveDateTime"]]
    assert last["effectiveDateTime"] == "2024-07-08T10:00:00+09:00"
    # read back in UTC the same instant is 01:00 local-UTC: the zone matters and is explicit
    assert bundle_to_history(bundle, tz="UTC").infusions[-1].date == datetime(2024, 7, 8, 1, 0)
