"""The patient's data for a hook call: from the prefetch, else from the clinic store.

ifxdose never calls out to a FHIR server (offline by design). With all four prefetch
keys present (``patient``, ``observations``, ``administrations``, ``statements``) their
resources are gathered into one collection Bundle and read by the FHIR importer. Without
them, a patient stored in the clinic under the code ``context.patientId`` is read from
the store; any other patient is a 412 with an OperationOutcome naming what is missing.

Assumption: the EHR's Patient id is the clinic's patient code, or the Patient carries
the ifxdose ``patient-id`` identifier (then that identifier is the code).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ifxdose.adapters.web.cds.request import CdsError, HookRequest, bad_request
from ifxdose.adapters.web.cds.services import PREFETCH_KEYS
from ifxdose.adapters.web.forms import FieldError
from ifxdose.app import clinic
from ifxdose.app.clinic import CODE_PATTERN, Store, history_and_plan
from ifxdose.app.exchange import read_bundle, validate_bundle
from ifxdose.core.errors import InputError
from ifxdose.domain.patient import PatientHistory

Json = dict[str, Any]


@dataclass
class PatientData:
    history: PatientHistory
    source: str  # "prefetch" | "store"
    stored_code: str | None = None  # the patient's code in the clinic store, if it is there
    planned_date: date | None = None  # the accepted plan's next infusion (store only)
    skipped: list[str] = field(default_factory=list)


def stored(store: Store, code: str) -> bool:
    if not re.fullmatch(CODE_PATTERN, code):
        return False
    return any(p.code == code for p in clinic.patient_list(store, code))


def operation_outcome(diagnostics: str, code: str = "not-found") -> Json:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }


def _invalid(key: str, value: Any, problem: str) -> CdsError:
    shown = value if isinstance(value, (str, int, float)) else (value or {}).get("resourceType")
    return bad_request([FieldError(field=f"prefetch.{key}", value=shown, allowed=problem, msg=problem)])


def _resources(key: str, value: Json) -> list[Json]:
    """The resources of one prefetch value (a resource, or a searchset Bundle)."""
    if value.get("resourceType") != "Bundle":
        if key != "patient":
            raise _invalid(key, value, "a FHIR Bundle (the search result)")
        value = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": value}]}
    try:
        validate_bundle(value)
    except InputError as exc:
        raise _invalid(key, value, f"valid FHIR R4B ({exc})") from None
    return [
        e["resource"]
        for e in value.get("entry") or []
        if e.get("resource") and (e.get("search") or {}).get("mode") != "outcome"
    ]


def prefetch_bundle(prefetch: dict[str, Json | None], patient_id: str) -> Json:
    """One collection Bundle of every prefetched resource (duplicates by type and id once)."""
    seen: set[tuple[str, str]] = set()
    entries = []
    for key in PREFETCH_KEYS:
        for resource in _resources(key, prefetch[key] or {}):
            kind, rid = resource.get("resourceType"), resource.get("id")
            if key == "patient" and kind == "Patient" and rid not in (None, patient_id):
                raise _invalid(key, rid, f"the Patient of context.patientId {patient_id!r} (got id {rid!r})")
            if rid is not None and (kind, rid) in seen:
                continue
            seen.add((kind, rid))
            entries.append({"resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def patient_data(request: HookRequest, store: Store, *, tz: str) -> PatientData:
    """The history for this call; 400 for invalid prefetch, 412 when there is none to be had.
    Bad units or codes inside valid FHIR raise the importer's InputError (the caller shows it)."""
    patient_id = request.context.patientId
    prefetch = request.prefetch or {}
    missing = [key for key in PREFETCH_KEYS if prefetch.get(key) is None]
    if not missing:
        result = read_bundle(prefetch_bundle(prefetch, patient_id), tz=tz)
        code = result.history.patient.id
        return PatientData(result.history, "prefetch", code if stored(store, code) else None, skipped=result.skipped)
    if stored(store, patient_id):
        history, plan = history_and_plan(store, patient_id)
        return PatientData(history, "store", patient_id, plan.next_date)
    raise CdsError(
        412,
        operation_outcome(
            f"prefetch {', '.join(missing)} missing and patient {patient_id!r} is not in the ifxdose clinic "
            "database; ifxdose does not query FHIR servers (offline by design): send the prefetch of the "
            "discovery document"
        ),
    )
