"""A FHIR R4/R4B Bundle as a canonical :class:`PatientHistory`.

Read: one Patient; Observations whose code is in the code map (infliximab level, ADA,
CRP, ESR, albumin, body weight), ifxdose's own assessment panel and baseline TNF;
MedicationAdministration and MedicationStatement for infliximab (-> infusions) and
methotrexate (-> weekly MTX dose). Values are converted to the history's units (UCUM);
a unit that cannot be converted, a missing date or value, or a value out of the
history's range is an InputError naming the resource. Resources that are not mapped,
entered in error, not done, or model predictions are skipped and listed in
:attr:`ImportResult.skipped` — never silently guessed.

Assumptions (labelled in docs/fhir.md):
- an infliximab administration without a route is intravenous;
- an infusion without a rate or period lasts the history's default (120 min);
- an MTX record without timing is a once-weekly dose; a *stopped* MedicationStatement
  means MTX was stopped on its date (dose 0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ifxdose.adapters.fhir import codes as c
from ifxdose.adapters.fhir.elements import (
    codings,
    find_extension,
    has_coding,
    name_of,
    parse_when,
    validate_bundle,
    zone,
)
from ifxdose.adapters.fhir.mapping import CodeMap, load_mapping
from ifxdose.adapters.fhir.units import ada_unit_code, convert
from ifxdose.core.errors import InputError
from ifxdose.domain.patient import (
    AdaResult,
    Infusion,
    JointAssessment,
    LabEntry,
    Level,
    MtxEntry,
    PatientHistory,
    PatientInfo,
    WeightEntry,
)

Json = dict[str, Any]
_SKIP_STATUS = {"entered-in-error", "cancelled", "not-done", "not-taken"}
_SYSTEM_NAMES = {c.LOINC: "LOINC", c.RXNORM: "RxNorm", c.ATC: "ATC", c.LOCAL: "ifxdose"}


@dataclass
class ImportResult:
    history: PatientHistory
    skipped: list[str] = field(default_factory=list)


@dataclass
class _Collected:
    patient: Json | None = None
    lists: dict[str, list[Any]] = field(
        default_factory=lambda: {k: [] for k in ("weights", "infusions", "levels", "ada", "mtx", "assessments")}
    )
    labs: list[tuple[str | None, Json]] = field(default_factory=list)
    tnf: float | None = None
    skipped: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ small readers
def _build(model: type[BaseModel], data: Json, where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = ".".join(str(p) for p in err["loc"])
        raise InputError(f"{where} {path}".strip(), err.get("input"), err["msg"]) from None


def _label(coding: Json) -> str:
    return f"{_SYSTEM_NAMES.get(coding.get('system', ''), coding.get('system', '?'))} {coding.get('code')}"


def _effective(resource: Json, where: str, tz: str) -> Any:
    text = resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get("start")
    if text is None:
        raise InputError(f"{where} effective[x]", None, "a date (effectiveDateTime or effectivePeriod.start)")
    return parse_when(text, tz, where=f"{where} effective[x]")


def _effective_date(resource: Json, where: str, tz: str) -> date:
    when = _effective(resource, where, tz)
    return when.date() if isinstance(when, datetime) else when


def _unit(q: Json) -> str | None:
    return q.get("code") or q.get("unit")


def _number(q: Json | None, where: str) -> float:
    if not isinstance(q, dict) or not isinstance(q.get("value"), (int, float)):
        raise InputError(where, q, "a Quantity with a numeric value")
    return float(q["value"])


def _in_unit(q: Json | None, target: str, where: str, what: str) -> float:
    """The Quantity ``q`` converted to ``target`` (InputError naming ``where``)."""
    value = _number(q, where)
    return convert(value, _unit(q or {}), target, where=where, what=what)


# ------------------------------------------------------------------ Patient
def _patient(resource: Json, where: str) -> PatientInfo:
    ids = [i.get("value") for i in resource.get("identifier", []) if i.get("system") == c.PATIENT_ID]
    pid = ids[0] if ids else resource.get("id")
    if resource.get("gender") not in ("female", "male"):
        raise InputError(f"{where} gender", resource.get("gender"), "female or male (needed by the PK models)")
    birth = resource.get("birthDate")
    if not isinstance(birth, str) or len(birth) < 4:
        raise InputError(f"{where} birthDate", birth, "a birth date or year (needed for age)")
    return _build(PatientInfo, {"id": pid, "sex": resource["gender"], "birth_year": int(birth[:4])}, where)


# ------------------------------------------------------------------ Observations
def _level(obs: Json, where: str, what: str, tz: str) -> Level:
    q = obs.get("valueQuantity")
    value = _in_unit(q, "mg/L", f"{where} valueQuantity", what)
    data: Json = {"date": _effective(obs, where, tz)}
    comparator = q.get("comparator")
    if comparator in ("<", "<="):
        data.update(below_lloq=True, lloq_mg_l=value)
    elif comparator is None:
        data["value_mg_l"] = value
        lloq = find_extension(obs, c.EXT_LLOQ)
        if lloq is not None:
            data["lloq_mg_l"] = _in_unit(lloq.get("valueQuantity"), "mg/L", f"{where} extension(lloq)", what)
    else:
        raise InputError(f"{where} valueQuantity.comparator", comparator, "'<' (below the LLOQ) or none")
    method = obs.get("method") or {}
    assay = method.get("text") or next((x.get("display") for x in codings(method) if x.get("display")), None)
    if assay is not None:
        data["assay"] = assay
    return _build(Level, data, where)


def _ada_result(obs: Json, where: str) -> str:
    concepts = list(obs.get("interpretation") or []) + [obs.get("valueCodeableConcept") or {}]
    for cc in concepts:
        if has_coding(cc, c.POSITIVE):
            return "positive"
        if has_coding(cc, c.NEGATIVE):
            return "negative"
    text = str(obs.get("valueString", "")).strip().lower()
    if text in ("positive", "negative"):
        return text
    raise InputError(
        f"{where} interpretation",
        obs.get("interpretation"),
        "an interpretation coded POS or NEG (v3-ObservationInterpretation)",
    )


def _ada(obs: Json, where: str, tz: str) -> AdaResult:
    data: Json = {"date": _effective_date(obs, where, tz), "result": _ada_result(obs, where)}
    q = obs.get("valueQuantity")
    if q is not None:
        unit = q.get("unit") or q.get("code")
        ada_unit_code(unit or "", where=f"{where} valueQuantity.unit")
        data.update(titre=_number(q, f"{where} valueQuantity"), titre_unit=unit)
    tolerant = find_extension(obs, c.EXT_DRUG_TOLERANT)
    if tolerant is not None:
        data["drug_tolerant"] = tolerant.get("valueBoolean")
    return _build(AdaResult, data, where)


_LAB_TARGETS = {"crp": ("crp_mg_l", "mg/L"), "esr": ("esr_mm_h", "mm/h"), "albumin": ("albumin_g_dl", "g/dL")}


def _add_lab(out: _Collected, key: str | None, day: Any, name: str, value: float) -> None:
    """Group by the exporter's entry identifier, else the first same-day entry without ``name``."""
    for group_key, lab in out.labs:
        if group_key == key and (key is not None or (lab["date"] == day and name not in lab)):
            lab[name] = value
            return
    out.labs.append((key, {"date": day, name: value}))


def _lab(out: _Collected, obs: Json, where: str, what: str, kind: str, tz: str) -> None:
    name, unit = _LAB_TARGETS[kind]
    value = _in_unit(obs.get("valueQuantity"), unit, f"{where} valueQuantity", what)
    keys = [i.get("value") for i in obs.get("identifier", []) if i.get("system") == c.HISTORY_ENTRY]
    day = _effective_date(obs, where, tz)
    _add_lab(out, keys[0] if keys else None, day, name, value)


def _weight(obs: Json, where: str, what: str, tz: str) -> WeightEntry:
    kg = _in_unit(obs.get("valueQuantity"), "kg", f"{where} valueQuantity", what)
    day = _effective_date(obs, where, tz)
    return _build(WeightEntry, {"date": day, "weight_kg": kg}, where)


_COMPONENT_FIELDS = {
    c.PTGA.key: ("ptga_mm", "mm"),
    c.PHGA.key: ("phga_mm", "mm"),
    c.PAIN.key: ("pain_mm", "mm"),
    c.HAQ.key: ("haq_di", "{score}"),
    c.LOINC_CRP.key: ("crp_mg_l", "mg/L"),
    c.LOINC_ESR.key: ("esr_mm_h", "mm/h"),
}
_JOINT_LISTS = {c.TENDER_JOINT.key: "tender_joints", c.SWOLLEN_JOINT.key: "swollen_joints"}


def _component(data: Json, comp: Json, where: str) -> None:
    key = next(((x.get("system"), x.get("code")) for x in codings(comp.get("code"))), None)
    if key in (c.TJC28.key, c.SJC28.key):
        data["tjc28" if key == c.TJC28.key else "sjc28"] = comp.get("valueInteger")
    elif key in _COMPONENT_FIELDS:
        name, unit = _COMPONENT_FIELDS[key]
        data[name] = _in_unit(comp.get("valueQuantity"), unit, f"{where} component({key[1]})", name)
    elif key in _JOINT_LISTS:
        joints = data.setdefault(_JOINT_LISTS[key], [])
        joint = next(
            (x.get("code") for x in codings(comp.get("valueCodeableConcept")) if x.get("system") == c.JOINTS), None
        )
        if joint != c.NO_JOINT.code:
            joints.append(joint)


def _assessment(obs: Json, where: str, tz: str) -> JointAssessment:
    data: Json = {"date": _effective_date(obs, where, tz)}
    for comp in obs.get("component", []) or []:
        _component(data, comp, where)
    return _build(JointAssessment, data, where)


def _is_prediction(obs: Json) -> bool:
    return any(has_coding(cat, c.CATEGORY_PREDICTION) for cat in obs.get("category", []) or [])


def _observation(out: _Collected, obs: Json, where: str, mapping: CodeMap, tz: str) -> None:
    code = obs.get("code")
    if _is_prediction(obs):
        out.skipped.append(f"{where}: a model prediction, not a measurement")
    elif has_coding(code, c.ASSESSMENT):
        out.lists["assessments"].append(_assessment(obs, where, tz))
    elif has_coding(code, c.TNF_BASELINE):
        out.tnf = _in_unit(obs.get("valueQuantity"), "pg/mL", f"{where} valueQuantity", "baseline TNF-alpha")
    else:
        found = mapping.observation_kind(codings(code))
        if found is None:
            shown = ", ".join(_label(x) for x in codings(code)) or (code or {}).get("text", "no code")
            out.skipped.append(f"{where}: code not in the mapping ({shown})")
            return
        kind, coding = found
        what = _label(coding)
        if kind == "ifx_level":
            out.lists["levels"].append(_level(obs, where, what, tz))
        elif kind == "ada":
            out.lists["ada"].append(_ada(obs, where, tz))
        elif kind == "weight":
            out.lists["weights"].append(_weight(obs, where, what, tz))
        else:
            _lab(out, obs, where, what, kind, tz)


# ------------------------------------------------------------------ medications
def _medication(resource: Json, where: str, index: dict[str, Json]) -> tuple[Json, Json | None]:
    """(code CodeableConcept, Medication resource or None)."""
    if "medicationCodeableConcept" in resource:
        return resource["medicationCodeableConcept"], None
    ref = (resource.get("medicationReference") or {}).get("reference", "")
    if ref.startswith("#"):
        med = next((x for x in resource.get("contained", []) if x.get("id") == ref[1:]), None)
    else:
        med = index.get(ref)
    if med is None:
        raise InputError(f"{where} medicationReference", ref, "a contained or bundled Medication")
    return med.get("code") or {}, med


def _dosages(resource: Json) -> tuple[Json, Json | None, Json | None]:
    """(dosage element, dose Quantity, rate Ratio) of an administration or a statement."""
    dosage = resource.get("dosage")
    if isinstance(dosage, list):
        dosage = dosage[0] if dosage else {}
        dose_rate = (dosage.get("doseAndRate") or [{}])[0]
        return dosage, dose_rate.get("doseQuantity"), dose_rate.get("rateRatio")
    dosage = dosage or {}
    return dosage, dosage.get("dose"), dosage.get("rateRatio")


def _route(dosage: Json, where: str) -> str:
    route = dosage.get("route")
    if route is None:
        return "iv"
    for name, code in c.ROUTES.items():
        if has_coding(route, code):
            return name
    raise InputError(f"{where} dosage.route", route, "intravenous (SNOMED 47625008) or subcutaneous (34206005)")


def _duration_min(resource: Json, rate: Json | None, where: str, tz: str) -> float | None:
    if rate is not None:
        return _in_unit(rate.get("denominator"), "min", f"{where} dosage.rateRatio.denominator", "infusion time")
    period = resource.get("effectivePeriod") or {}
    if period.get("start") and period.get("end"):
        start, end = (parse_when(period[k], tz, where=f"{where} effectivePeriod.{k}") for k in ("start", "end"))
        if isinstance(start, datetime) and isinstance(end, datetime):
            return (end - start).total_seconds() / 60.0
    return None


def _infusion(resource: Json, where: str, cc: Json, med: Json | None, product: str | None, tz: str) -> Infusion:
    dosage, dose, rate = _dosages(resource)
    data: Json = {
        "date": _effective(resource, where, tz),
        "route": _route(dosage, where),
        "dose_mg": _in_unit(dose, "mg", f"{where} dosage.dose", "infliximab dose"),
        "product": cc.get("text")
        or product
        or next((x["display"] for x in codings(cc) if x.get("display")), "infliximab"),
    }
    duration = _duration_min(resource, rate, where, tz)
    if duration is not None:
        data["duration_min"] = duration
    per_kg = find_extension(dosage, c.EXT_DOSE_PER_KG)
    if per_kg is not None:
        data["dose_mg_per_kg"] = _number(per_kg.get("valueQuantity"), f"{where} extension(dose-mg-per-kg)")
    lot = ((med or {}).get("batch") or {}).get("lotNumber")
    if lot is not None:
        data["lot"] = lot
    reaction = find_extension(resource, c.EXT_REACTION)
    if reaction is not None:
        data["reaction"] = reaction.get("valueString")
    return _build(Infusion, data, where)


_WEEKS = {"wk": 1.0, "d": 1.0 / 7.0}


def _mtx(resource: Json, where: str, tz: str) -> MtxEntry:
    day = _effective_date(resource, where, tz)
    if resource.get("status") == "stopped":
        return _build(MtxEntry, {"date": day, "dose_mg_week": 0.0}, where)
    dosage, dose, _ = _dosages(resource)
    mg = _in_unit(dose, "mg", f"{where} dosage.dose", "methotrexate dose")
    repeat = (dosage.get("timing") or {}).get("repeat") or {}
    if repeat:
        unit = repeat.get("periodUnit")
        if unit not in _WEEKS or not repeat.get("period"):
            raise InputError(f"{where} dosage.timing.repeat", repeat, "a period in wk or d")
        weeks = repeat["period"] * _WEEKS[unit]
        mg = mg * repeat.get("frequency", 1) / weeks
    return _build(MtxEntry, {"date": day, "dose_mg_week": mg}, where)


def _medication_event(
    out: _Collected, resource: Json, where: str, mapping: CodeMap, index: dict[str, Json], tz: str
) -> None:
    cc, med = _medication(resource, where, index)
    found = mapping.medication_kind(codings(cc))
    if found is None:
        shown = ", ".join(_label(x) for x in codings(cc)) or cc.get("text", "no code")
        out.skipped.append(f"{where}: medication not in the mapping ({shown})")
    elif found[0] == "infliximab":
        out.lists["infusions"].append(_infusion(resource, where, cc, med, found[1], tz))
    else:
        out.lists["mtx"].append(_mtx(resource, where, tz))


# ------------------------------------------------------------------ bundle
def _load(bundle_json: Any) -> Json:
    data = bundle_json
    if isinstance(bundle_json, (str, bytes)):
        try:
            data = json.loads(bundle_json)
        except json.JSONDecodeError as exc:
            raise InputError("bundle", f"line {exc.lineno}", f"valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise InputError(
            "bundle.resourceType",
            data.get("resourceType") if isinstance(data, dict) else type(data).__name__,
            "a FHIR Bundle",
        )
    validate_bundle(data)
    return data


def _resources(bundle: Json) -> list[tuple[str, Json]]:
    return [
        (name_of(e["resource"], i), e["resource"]) for i, e in enumerate(bundle.get("entry") or []) if e.get("resource")
    ]


def _index(bundle: Json) -> dict[str, Json]:
    index: dict[str, Json] = {}
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        if entry.get("fullUrl"):
            index[entry["fullUrl"]] = resource
        if resource.get("id"):
            index[f"{resource.get('resourceType')}/{resource['id']}"] = resource
    return index


def _collect(bundle: Json, mapping: CodeMap, tz: str) -> _Collected:
    out = _Collected()
    index = _index(bundle)
    handlers: dict[str, Callable[[Json, str], None]] = {
        "Observation": lambda r, w: _observation(out, r, w, mapping, tz),
        "MedicationAdministration": lambda r, w: _medication_event(out, r, w, mapping, index, tz),
        "MedicationStatement": lambda r, w: _medication_event(out, r, w, mapping, index, tz),
    }
    for where, resource in _resources(bundle):
        kind = resource.get("resourceType")
        if kind == "Patient":
            if out.patient is not None:
                raise InputError(where, "a second Patient", "one patient per bundle")
            out.patient = {"where": where, "resource": resource}
        elif resource.get("status") in _SKIP_STATUS:
            out.skipped.append(f"{where}: status {resource['status']}")
        elif kind in handlers:
            handlers[kind](resource, where)
        else:
            out.skipped.append(f"{where}: {kind} is not read")
    return out


def import_bundle(bundle_json: Any, mapping: CodeMap | None = None, *, tz: str = "UTC") -> ImportResult:
    """Read a Bundle (dict, JSON text or bytes); the history plus what was skipped and why."""
    zone(tz)  # a bad zone is refused even when no time in the Bundle needs it
    bundle = _load(bundle_json)
    out = _collect(bundle, mapping or load_mapping(), tz)
    if out.patient is None:
        raise InputError("bundle", "no Patient", "exactly one Patient resource")
    info = _patient(out.patient["resource"], out.patient["where"])
    labs = [_build(LabEntry, lab, f"labs on {lab['date']}") for _, lab in out.labs]
    history = _build(
        PatientHistory, {"patient": info, **out.lists, "labs": labs, "baseline_tnf_pg_ml": out.tnf}, "history"
    )
    return ImportResult(history=history, skipped=out.skipped)


def bundle_to_history(bundle_json: Any, mapping: CodeMap | None = None, *, tz: str = "UTC") -> PatientHistory:
    """The patient history in a Bundle (see :func:`import_bundle`)."""
    return import_bundle(bundle_json, mapping, tz=tz).history


# ------------------------------------------------------------------ recommendation
class ProposedRegimen(BaseModel):
    """The proposed infusion as a MedicationRequest and its prediction Observation carry it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    dose_mg: float = Field(gt=0, le=5000, allow_inf_nan=False)
    dose_mg_per_kg: float | None = Field(default=None, gt=0, le=20, allow_inf_nan=False)
    interval_weeks: float = Field(gt=0, le=52, allow_inf_nan=False)
    next_date: date
    predicted_trough_median_mg_l: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    predicted_trough_p10_mg_l: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    predicted_trough_p90_mg_l: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    pta: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)


class RecommendationInBundle(BaseModel):
    """What a Bundle holds of an ifxdose ``Recommendation`` (the exporter writes it from the
    domain value; FHIR carries only this part of it: no options, target, warnings, estimation).
    Read back from a Bundle another system may have edited, so every field is checked."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())
    action: str = Field(min_length=1)
    chosen: ProposedRegimen | None = None
    model: str = Field(min_length=1)
    model_version: str = Field(min_length=1)
    rationale: str = Field(min_length=1)
    citations: list[str] = Field(default_factory=list)


def _references(resource: Json, name: str) -> list[str]:
    return [ref.get("reference", "") for ref in resource.get(name, []) or []]


def _chosen(request: Json, prediction: Json | None) -> Json:
    dosage = request["dosageInstruction"][0]
    chosen: Json = {
        "dose_mg": dosage["doseAndRate"][0]["doseQuantity"]["value"],
        "interval_weeks": dosage["timing"]["repeat"]["period"],
        "next_date": dosage["timing"]["event"][0],
    }
    per_kg = find_extension(dosage, c.EXT_DOSE_PER_KG)
    if per_kg is not None:
        chosen["dose_mg_per_kg"] = per_kg["valueQuantity"]["value"]
    if prediction is not None:
        if "valueQuantity" in prediction:
            chosen["predicted_trough_median_mg_l"] = prediction["valueQuantity"]["value"]
        names = {
            c.PREDICTED_P10.code: "predicted_trough_p10_mg_l",
            c.PREDICTED_P90.code: "predicted_trough_p90_mg_l",
            c.PTA.code: "pta",
        }
        for comp in prediction.get("component", []) or []:
            chosen[names[codings(comp["code"])[0]["code"]]] = comp["valueQuantity"]["value"]
    return chosen


def bundle_to_recommendation(bundle_json: Any) -> RecommendationInBundle | None:
    """The part of a recommendation ifxdose wrote into a Bundle (None if there is none)."""
    bundle = _load(bundle_json)
    index = _index(bundle)
    entries = {e.get("fullUrl"): e["resource"] for e in bundle.get("entry") or [] if e.get("resource")}
    found = [
        (url, r)
        for url, r in entries.items()
        if r.get("resourceType") == "MedicationRequest" and find_extension(r, c.EXT_ACTION)
    ]
    if not found:
        return None
    url, request = found[0]
    prediction = next(
        (
            r
            for r in entries.values()
            if r.get("resourceType") == "Observation" and url in _references(r, "basedOn") and _is_prediction(r)
        ),
        None,
    )
    provenance = next(
        (r for r in entries.values() if r.get("resourceType") == "Provenance" and url in _references(r, "target")), {}
    )
    device = index.get(((provenance.get("agent") or [{}])[0].get("who") or {}).get("reference", ""), {})
    versions = {(v.get("type") or {}).get("text"): v.get("value") for v in device.get("version", [])}
    data: Json = {
        "action": find_extension(request, c.EXT_ACTION)["valueString"],
        "chosen": None if request.get("doNotPerform") else _chosen(request, prediction),
        "model": (device.get("deviceName") or [{}])[0].get("name"),
        "model_version": versions.get("model version"),
        "rationale": (request.get("note") or [{}])[0].get("text"),
        "citations": [e["what"]["display"] for e in provenance.get("entity", []) or []],
    }
    return _build(RecommendationInBundle, data, f"MedicationRequest/{request.get('id')}")
