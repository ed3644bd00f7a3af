"""Importing a hand-written hospital bundle (data/hospital_bundle.json) with local codes and mixed units."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime
from pathlib import Path

import pytest

from ifxdose.adapters.fhir.importer import bundle_to_history, import_bundle
from ifxdose.adapters.fhir.mapping import load_mapping
from ifxdose.core.errors import InputError

HERE = Path(__file__).parent
BUNDLE = json.loads((HERE / "data" / "hospital_bundle.json").read_text(encoding="utf-8"))
LOCAL = load_mapping(HERE / "data" / "local_codes.toml")


def imported(bundle=BUNDLE, mapping=LOCAL):
    return import_bundle(bundle, mapping, tz="Asia/Tokyo")


def resource(bundle: dict, rid: str) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"].get("id") == rid)


def test_hospital_bundle_values_in_history_units():
    h = imported().history
    assert (h.patient.id, h.patient.sex, h.patient.birth_year) == ("p123", "female", 1962)
    assert h.weights[0].date == date(2024, 1, 8)
    assert h.weights[0].weight_kg == pytest.approx(121 * 0.45359237)  # 121 lb = 54.885 kg
    (inf,) = h.infusions
    assert inf.date == datetime(2024, 1, 8, 10, 0)  # local time, +09:00 dropped
    assert (inf.dose_mg, inf.duration_min, inf.route) == (165.0, 150.0, "iv")  # 0.165 g; 10:00-12:30
    assert inf.product == "Inflectra"  # RxCUI 1790541 (codes.toml)
    assert (h.levels[0].value_mg_l, h.levels[0].assay) == (4.2, "ELISA (Matriks Biotek)")  # 4.2 ug/mL
    assert (h.levels[1].below_lloq, h.levels[1].lloq_mg_l) == (True, 0.4)  # < 400 ng/mL = < 0.4 mg/L
    (ada,) = h.ada
    assert (ada.result, ada.titre, ada.titre_unit, ada.titre_ug_l()) == ("positive", 35.0, "ng/mL", 35.0)
    (lab,) = h.labs  # three results, one draw
    assert lab.crp_mg_l == pytest.approx(12.0)  # 1.2 mg/dL x 10
    assert lab.albumin_g_dl == pytest.approx(3.5)  # 35 g/L / 10
    assert lab.esr_mm_h == 38.0  # LOINC 30341-2 (codes.toml)
    (mtx,) = h.mtx
    assert mtx.dose_mg_week == 12.0  # 6 mg twice a week


def test_skipped_resources_are_listed_with_the_reason():
    skipped = imported().skipped
    assert skipped == [
        "Observation/hr1: code not in the mapping (LOINC 8867-4)",
        "Observation/crp-err: status entered-in-error",
    ]


def test_without_the_local_mapping_the_ada_result_is_skipped_not_guessed():
    result = import_bundle(BUNDLE, tz="Asia/Tokyo")
    assert result.history.ada == []
    assert any(s.startswith("Observation/ati1: code not in the mapping") for s in result.skipped)


def test_unknown_unit_is_an_error_naming_the_resource():
    bundle = copy.deepcopy(BUNDLE)
    resource(bundle, "crp1")["valueQuantity"].update(unit="mmol/L", code="mmol/L")
    with pytest.raises(InputError) as err:
        imported(bundle)
    assert str(err.value).startswith(
        "Observation/crp1 valueQuantity.code: 'mmol/L' is not allowed; unit for LOINC 1988-5 is not convertible to mg/L"
    )


def test_value_out_of_the_history_range_names_the_resource():
    bundle = copy.deepcopy(BUNDLE)
    resource(bundle, "wt1")["valueQuantity"].update(value=1200)  # 1200 lb = 544 kg > 350
    with pytest.raises(InputError, match=r"^Observation/wt1 weight_kg"):
        imported(bundle)


def test_invalid_fhir_is_an_error_naming_the_resource():
    bundle = copy.deepcopy(BUNDLE)
    del resource(bundle, "ifx1")["status"]
    with pytest.raises(InputError, match=r"^Observation/ifx1 status"):
        imported(bundle)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda b: b["entry"].pop(0), "exactly one Patient"),
        (lambda b: b["entry"].append(copy.deepcopy(b["entry"][0])), "one patient per bundle"),
        (lambda b: resource(b, "p123").update(gender="unknown"), "Patient/p123 gender"),
        (lambda b: resource(b, "ifx2").pop("effectiveDateTime"), "Observation/ifx2 effective"),
        (lambda b: resource(b, "ifx2")["valueQuantity"].update(comparator=">"), "comparator"),
        (lambda b: resource(b, "ati1").pop("interpretation"), "Observation/ati1 interpretation"),
        (lambda b: resource(b, "ma1")["dosage"]["route"]["coding"][0].update(code="78421000"), "dosage.route"),
    ],
)
def test_bad_bundles(change, message):
    bundle = copy.deepcopy(BUNDLE)
    change(bundle)
    with pytest.raises(InputError, match=message):
        imported(bundle)


def test_not_a_bundle():
    with pytest.raises(InputError, match="a FHIR Bundle"):
        bundle_to_history({"resourceType": "Patient"})
    with pytest.raises(InputError, match="valid JSON"):
        bundle_to_history("{not json")


def test_stopped_mtx_statement_means_dose_zero():
    bundle = copy.deepcopy(BUNDLE)
    resource(bundle, "mtx1")["status"] = "stopped"
    assert imported(bundle).history.mtx[0].dose_mg_week == 0.0


@pytest.mark.parametrize("tz", ["+99:99", "-14:30", "Mars/Olympus", "../../etc/passwd"])
def test_a_bad_zone_is_refused_even_when_no_time_needs_it(tz):
    """Import and export name the zone as the bad field whatever the data: a Bundle or history with
    no timed entry once made the zone unchecked (the export answered 200 for ?tz=+99:99)."""
    from ifxdose.adapters.fhir.exporter import history_to_bundle
    from ifxdose.domain.patient import PatientHistory

    only_patient = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [e for e in copy.deepcopy(BUNDLE)["entry"] if e["resource"]["resourceType"] == "Patient"],
    }
    with pytest.raises(InputError) as err:
        import_bundle(only_patient, LOCAL, tz=tz)
    assert err.value.field == "tz"
    bare = PatientHistory.model_validate({"patient": {"id": "RA-9", "sex": "female", "birth_year": 1970}})
    with pytest.raises(InputError) as err:
        history_to_bundle(bare, None, tz=tz)
    assert err.value.field == "tz"
    assert history_to_bundle(bare, None, tz="Asia/Tokyo")["resourceType"] == "Bundle"
