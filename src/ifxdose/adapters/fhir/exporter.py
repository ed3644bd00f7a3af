"""A patient history (and optionally a recommendation) as a FHIR R4B Bundle.

What is written (docs/fhir.md has the full table):

- Patient: gender, birthDate (year only), the history's patient id as an identifier;
- weights, infliximab levels, CRP/ESR/albumin -> Observations with LOINC + UCUM;
  a level below the LLOQ -> ``valueQuantity`` with comparator ``<`` and the LLOQ;
- ADA results -> Observation (local code), interpretation POS/NEG, titre as a Quantity;
- assessments -> one Observation per assessment (local panel code) with components;
- infusions -> MedicationAdministration with a contained Medication (RxNorm 191831,
  ATC L04AB02, product as text, lot as ``batch.lotNumber``), dose in mg, route (SNOMED),
  duration as ``rateRatio`` mg/min, dose per kg and infusion reaction as extensions;
- MTX entries -> MedicationStatement (RxNorm 6851, ATC L04AX03), mg once a week;
- a recommendation -> MedicationRequest (status draft, intent proposal), an Observation
  for the predicted trough (category "prediction", local code, never LOINC 39803-2), a
  Device naming the model and its version, and a Provenance pointing at them.

``importer.bundle_to_history`` reads all of it back exactly (the round trip is tested).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import ifxdose
from ifxdose.adapters.fhir import codes as c
from ifxdose.adapters.fhir.elements import concept, extension, format_when, quantity, validate_bundle, zone
from ifxdose.adapters.fhir.units import ada_unit_code
from ifxdose.core.errors import InputError
from ifxdose.domain.patient import (
    AdaResult,
    Infusion,
    JointAssessment,
    LabEntry,
    Level,
    MtxEntry,
    PatientHistory,
    WeightEntry,
)
from ifxdose.domain.recommend import Option, Recommendation

_NAMESPACE = uuid.UUID("5d1f7c1e-4c55-4b8e-9a3e-2f0d6f1f0a11")
BUNDLE_TYPES = ("collection", "transaction")
Json = dict[str, Any]


class _Entries:
    """Collects resources, gives each a stable id and a ``urn:uuid`` fullUrl."""

    def __init__(self, patient_id: str, bundle_type: str) -> None:
        self.patient_id = patient_id
        self.bundle_type = bundle_type
        self.items: list[Json] = []
        self.counts: dict[str, int] = {}

    def add(self, resource: Json, prefix: str) -> Json:
        """Add ``resource``; return a Reference to it."""
        n = self.counts[prefix] = self.counts.get(prefix, 0) + 1
        resource["id"] = f"{prefix}-{n}"
        url = "urn:uuid:" + str(uuid.uuid5(_NAMESPACE, f"{self.patient_id}/{resource['id']}"))
        entry: Json = {"fullUrl": url, "resource": resource}
        if self.bundle_type == "transaction":
            entry["request"] = {"method": "POST", "url": resource["resourceType"]}
        self.items.append(entry)
        return {"reference": url}


def _text(field: str, value: str) -> str:
    if not value.strip():
        raise InputError(field, value, "FHIR strings cannot be empty; leave the field out instead")
    return value


def _observation(code: Json, category: c.Code, subject: Json, when: Any, tz: str, **fields: Any) -> Json:
    obs: Json = {
        "resourceType": "Observation",
        "status": "final",
        "category": [concept(category)],
        "code": code,
        "subject": subject,
    }
    if when is not None:
        obs["effectiveDateTime"] = format_when(when, tz)
    obs.update({key: value for key, value in fields.items() if value is not None})
    return obs


# ------------------------------------------------------------------ history
def _patient(history: PatientHistory) -> Json:
    info = history.patient
    return {
        "resourceType": "Patient",
        "identifier": [{"system": c.PATIENT_ID, "value": _text("patient.id", info.id)}],
        "gender": info.sex,
        "birthDate": f"{info.birth_year:04d}",
    }


def _weight(entry: WeightEntry, subject: Json, tz: str) -> Json:
    return _observation(
        concept(c.LOINC_WEIGHT),
        c.CATEGORY_VITAL,
        subject,
        entry.date,
        tz,
        valueQuantity=quantity(entry.weight_kg, "kg"),
    )


def _level(level: Level, subject: Json, tz: str) -> Json:
    if level.below_lloq:
        value = {**quantity(level.lloq_mg_l, "ug/mL"), "comparator": "<"}
        lloq = None
    else:
        value = quantity(level.value_mg_l, "ug/mL")
        lloq = level.lloq_mg_l
    return _observation(
        concept(c.LOINC_IFX),
        c.CATEGORY_LAB,
        subject,
        level.date,
        tz,
        valueQuantity=value,
        method={"text": _text("levels.assay", level.assay)} if level.assay is not None else None,
        extension=[extension(c.EXT_LLOQ, valueQuantity=quantity(lloq, "ug/mL"))] if lloq is not None else None,
    )


def _ada(ada: AdaResult, subject: Json, tz: str) -> Json:
    interpretation = concept(c.POSITIVE if ada.result == "positive" else c.NEGATIVE)
    value: Json = {"valueCodeableConcept": interpretation}
    if ada.titre is not None and ada.titre_unit is not None:
        unit = _text("ada.titre_unit", ada.titre_unit)
        value = {"valueQuantity": quantity(ada.titre, unit, ada_unit_code(unit, where="ada.titre_unit"))}
    tolerant = (
        [extension(c.EXT_DRUG_TOLERANT, valueBoolean=ada.drug_tolerant)] if ada.drug_tolerant is not None else None
    )
    return _observation(
        concept(c.ADA),
        c.CATEGORY_LAB,
        subject,
        ada.date,
        tz,
        interpretation=[interpretation],
        extension=tolerant,
        **value,
    )


_LAB_FIELDS = (
    ("crp_mg_l", c.LOINC_CRP, "mg/L"),
    ("esr_mm_h", c.LOINC_ESR, "mm/h"),
    ("albumin_g_dl", c.LOINC_ALBUMIN, "g/dL"),
)


def _labs(lab: LabEntry, index: int, subject: Json, tz: str) -> list[Json]:
    """One Observation per value; a shared identifier keeps the entry together."""
    entry_id = [{"system": c.HISTORY_ENTRY, "value": f"labs/{index}"}]
    return [
        _observation(
            concept(code),
            c.CATEGORY_LAB,
            subject,
            lab.date,
            tz,
            identifier=entry_id,
            valueQuantity=quantity(getattr(lab, name), unit),
        )
        for name, code, unit in _LAB_FIELDS
        if getattr(lab, name) is not None
    ]


_ASSESSMENT_QUANTITIES = (
    ("ptga_mm", c.PTGA, "mm"),
    ("phga_mm", c.PHGA, "mm"),
    ("pain_mm", c.PAIN, "mm"),
    ("haq_di", c.HAQ, "{score}"),
    ("crp_mg_l", c.LOINC_CRP, "mg/L"),
    ("esr_mm_h", c.LOINC_ESR, "mm/h"),
)


def _joint_components(code: c.Code, joints: list[str] | None) -> list[Json]:
    if joints is None:
        return []
    chosen = [c.joint_code(j) for j in joints] or [c.NO_JOINT.coding()]
    return [{"code": concept(code), "valueCodeableConcept": {"coding": [coding]}} for coding in chosen]


def _assessment(a: JointAssessment, subject: Json, tz: str) -> Json:
    components: list[Json] = [
        {"code": concept(c.TJC28), "valueInteger": a.tjc28},
        {"code": concept(c.SJC28), "valueInteger": a.sjc28},
    ]
    components += [
        {"code": concept(code), "valueQuantity": quantity(getattr(a, name), unit)}
        for name, code, unit in _ASSESSMENT_QUANTITIES
        if getattr(a, name) is not None
    ]
    components += _joint_components(c.TENDER_JOINT, a.tender_joints)
    components += _joint_components(c.SWOLLEN_JOINT, a.swollen_joints)
    return _observation(concept(c.ASSESSMENT), c.CATEGORY_SURVEY, subject, a.date, tz, component=components)


def _ifx_concept(text: str) -> Json:
    return concept(c.RXNORM_IFX, c.ATC_IFX, text=text)


def _per_kg(dose_mg_per_kg: float | None) -> list[Json] | None:
    if dose_mg_per_kg is None:
        return None
    return [extension(c.EXT_DOSE_PER_KG, valueQuantity=quantity(dose_mg_per_kg, "mg/kg"))]


def _infusion(inf: Infusion, subject: Json, tz: str) -> Json:
    medication: Json = {
        "resourceType": "Medication",
        "id": "med",
        "code": _ifx_concept(_text("infusions.product", inf.product)),
    }
    if inf.lot is not None:
        medication["batch"] = {"lotNumber": _text("infusions.lot", inf.lot)}
    dosage: Json = {
        "route": concept(c.ROUTES[inf.route]),
        "dose": quantity(inf.dose_mg, "mg"),
        "rateRatio": {"numerator": quantity(inf.dose_mg, "mg"), "denominator": quantity(inf.duration_min, "min")},
    }
    if inf.dose_mg_per_kg is not None:
        dosage["extension"] = _per_kg(inf.dose_mg_per_kg)
    resource: Json = {
        "resourceType": "MedicationAdministration",
        "contained": [medication],
        "status": "completed",
        "medicationReference": {"reference": "#med"},
        "subject": subject,
        "effectiveDateTime": format_when(inf.date, tz),
        "dosage": dosage,
    }
    if inf.reaction is not None:
        resource["extension"] = [extension(c.EXT_REACTION, valueString=_text("infusions.reaction", inf.reaction))]
    return resource


def _weekly_dose(dose_mg: float) -> Json:
    return {
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}},
        "doseAndRate": [{"doseQuantity": quantity(dose_mg, "mg")}],
    }


def _mtx(entry: MtxEntry, subject: Json, tz: str) -> Json:
    return {
        "resourceType": "MedicationStatement",
        "status": "active" if entry.dose_mg_week > 0 else "stopped",
        "medicationCodeableConcept": concept(c.RXNORM_MTX, c.ATC_MTX, text="methotrexate"),
        "subject": subject,
        "effectiveDateTime": format_when(entry.date, tz),
        "dosage": [_weekly_dose(entry.dose_mg_week)],
    }


def _tnf(value: float, subject: Json) -> Json:
    return _observation(
        concept(c.TNF_BASELINE), c.CATEGORY_LAB, subject, None, "UTC", valueQuantity=quantity(value, "pg/mL")
    )


def _add_history(entries: _Entries, history: PatientHistory, tz: str) -> Json:
    subject = entries.add(_patient(history), "patient")
    for w in history.weights:
        entries.add(_weight(w, subject, tz), "weight")
    for inf in history.infusions:
        entries.add(_infusion(inf, subject, tz), "infusion")
    for level in history.levels:
        entries.add(_level(level, subject, tz), "level")
    for ada in history.ada:
        entries.add(_ada(ada, subject, tz), "ada")
    for i, lab in enumerate(history.labs):
        for obs in _labs(lab, i, subject, tz):
            entries.add(obs, "lab")
    for m in history.mtx:
        entries.add(_mtx(m, subject, tz), "mtx")
    for a in history.assessments:
        entries.add(_assessment(a, subject, tz), "assessment")
    if history.baseline_tnf_pg_ml is not None:
        entries.add(_tnf(history.baseline_tnf_pg_ml, subject), "tnf")
    return subject


# ------------------------------------------------------------------ recommendation
def _dosage_instruction(chosen: Option) -> Json:
    weekly = {"frequency": 1, "period": chosen.interval_weeks, "periodUnit": "wk"}
    dosage: Json = {
        "text": f"{chosen.dose_mg:g} mg IV every {chosen.interval_weeks:g} weeks from {chosen.next_date.isoformat()}",
        "timing": {"event": [chosen.next_date.isoformat()], "repeat": weekly},
        "route": concept(c.SNOMED_IV),
        "doseAndRate": [{"doseQuantity": quantity(chosen.dose_mg, "mg")}],
    }
    if chosen.dose_mg_per_kg is not None:
        dosage["extension"] = _per_kg(chosen.dose_mg_per_kg)
    return dosage


def medication_request(rec: Recommendation, subject: Json, now: str) -> Json:
    """The MedicationRequest (status draft, intent proposal) for ``rec``: its chosen option's
    dose, interval and first date, or ``doNotPerform`` when nothing is to be given (stop,
    switch). ``subject``: a Reference to the Patient; ``now``: authoredOn (FHIR dateTime)."""
    request: Json = {
        "resourceType": "MedicationRequest",
        "extension": [extension(c.EXT_ACTION, valueString=rec.action)],
        "status": "draft",
        "intent": "proposal",
        "medicationCodeableConcept": _ifx_concept("infliximab"),
        "subject": subject,
        "authoredOn": now,
        "note": [{"text": rec.rationale}],
    }
    if rec.chosen is None:
        request["doNotPerform"] = True
    else:
        request["dosageInstruction"] = [_dosage_instruction(rec.chosen)]
    return request


_PREDICTION_COMPONENTS = (
    ("predicted_trough_p10_mg_l", c.PREDICTED_P10, "ug/mL"),
    ("predicted_trough_p90_mg_l", c.PREDICTED_P90, "ug/mL"),
    ("pta", c.PTA, "1"),
)


def _prediction(rec: Recommendation, subject: Json, request: Json) -> Json | None:
    chosen = rec.chosen
    if chosen is None:
        return None
    median = chosen.predicted_trough_median_mg_l
    components = [
        {"code": concept(code), "valueQuantity": quantity(getattr(chosen, name), unit)}
        for name, code, unit in _PREDICTION_COMPONENTS
        if getattr(chosen, name) is not None
    ]
    if median is None and not components:
        return None
    return _observation(
        concept(c.PREDICTED_TROUGH),
        c.CATEGORY_PREDICTION,
        subject,
        None,
        "UTC",
        basedOn=[request],
        method={"text": f"{rec.model} {rec.model_version}"},
        valueQuantity=quantity(median, "ug/mL") if median is not None else None,
        component=components or None,
    )


def _device(rec: Recommendation) -> Json:
    return {
        "resourceType": "Device",
        "deviceName": [{"name": rec.model, "type": "model-name"}],
        "version": [
            {"type": {"text": "model version"}, "value": rec.model_version},
            {"type": {"text": "ifxdose"}, "value": ifxdose.__version__},
        ],
    }


def _provenance(rec: Recommendation, targets: list[Json], device: Json, now: str) -> Json:
    provenance: Json = {"resourceType": "Provenance", "target": targets, "recorded": now, "agent": [{"who": device}]}
    if rec.citations:
        provenance["entity"] = [
            {"role": "source", "what": {"display": _text("citations", text)}} for text in rec.citations
        ]
    return provenance


def _add_recommendation(entries: _Entries, rec: Recommendation, subject: Json, now: str) -> None:
    request = entries.add(medication_request(rec, subject, now), "recommendation")
    targets = [request]
    prediction = _prediction(rec, subject, request)
    if prediction is not None:
        targets.append(entries.add(prediction, "prediction"))
    device = entries.add(_device(rec), "model")
    entries.add(_provenance(rec, targets, device, now), "provenance")


def history_to_bundle(
    history: PatientHistory,
    recommendation: Recommendation | None = None,
    *,
    tz: str = "UTC",
    bundle_type: str = "collection",
    now: datetime | None = None,
) -> Json:
    """The history (and a recommendation, if given) as a validated FHIR R4B Bundle (JSON dict).

    ``recommendation``: the domain's Recommendation (its chosen option is the proposal). ``tz``: the zone
    of the history's naive times. ``now``: the export time (Bundle.timestamp, Provenance).
    """
    if bundle_type not in BUNDLE_TYPES:
        raise InputError("bundle_type", bundle_type, "allowed are " + ", ".join(BUNDLE_TYPES))
    zone(tz)  # a bad zone is refused even when no naive time needs it
    stamp = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    stamp_text = format_when(stamp, "UTC")
    entries = _Entries(history.patient.id, bundle_type)
    subject = _add_history(entries, history, tz)
    if recommendation is not None:
        _add_recommendation(entries, recommendation, subject, stamp_text)
    bundle: Json = {"resourceType": "Bundle", "type": bundle_type, "timestamp": stamp_text, "entry": entries.items}
    validate_bundle(bundle)
    return bundle
