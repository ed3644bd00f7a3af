"""FHIR in and out of the clinic store, the use cases the web API (``/api/v1/fhir/import``,
``/api/v1/patients/{code}/fhir``) and the CLI (``ifxdose fhir import --into-db``,
``ifxdose fhir export CODE``) share: :func:`import_bundle` and :func:`export_patient`. The
FHIR mapping itself (pure conversion, no store) is ``ifxdose.adapters.fhir``.

Export adds the recommendation a receiving system should see: the newest *accepted* one
(with the option the clinician took), else the newest still *proposed* one. Assumption:
an overridden recommendation is not exported — the clinician rejected it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ifxdose.adapters import store as st
from ifxdose.adapters.fhir.exporter import history_to_bundle
from ifxdose.adapters.fhir.importer import import_bundle as read_bundle
from ifxdose.adapters.fhir.mapping import CodeMap
from ifxdose.adapters.store.records import OnExisting
from ifxdose.app import clinic
from ifxdose.domain.recommend import Recommendation

Json = dict[str, Any]


@dataclass
class StoredImport:
    patient: str
    created: bool
    skipped: list[str] = field(default_factory=list)


def exported_recommendation(store: st.Store, code: str) -> Recommendation | None:
    """The stored recommendation to export with the patient (see module docstring), or None;
    an accepted one carries the option the clinician took as its ``chosen``."""
    accepted = st.accepted_plan(store, code)
    if accepted is not None:
        return st.stored_recommendation(accepted).model_copy(update={"chosen": st.taken_option(accepted)})
    proposed = [row for row in st.recommendations(store, code, limit=1) if row.status == "proposed"]
    return st.stored_recommendation(proposed[0]) if proposed else None


def export_patient(
    store: st.Store,
    code: str,
    *,
    tz: str = "UTC",
    bundle_type: str = "collection",
    recommendation: Recommendation | None = None,
) -> Json:
    """The stored patient (and its recommendation, unless one is given) as a validated R4B Bundle."""
    history = st.patient_history(store, code)
    rec = recommendation if recommendation is not None else exported_recommendation(store, code)
    return history_to_bundle(history, rec, tz=tz, bundle_type=bundle_type)


def import_bundle(
    store: st.Store,
    bundle: Any,
    *,
    user: str,
    tz: str = "UTC",
    mapping: CodeMap | None = None,
    on_existing: OnExisting = "merge",
) -> StoredImport:
    """Read a Bundle and store its patient: created if new; else, by ``on_existing``, merged by
    content (entries not yet recorded are added, none removed; a different sex or birth year is
    refused), replaced (every recorded entry voided, kept, audited, and the Bundle's stored) or
    refused (``Conflict`` on ``patient.id``)."""
    result = read_bundle(bundle, mapping, tz=tz)
    code = result.history.patient.id
    created = not any(p.code == code for p in st.list_patients(store, code))
    clinic.import_patient(store, result.history, user=user, on_existing=on_existing)
    return StoredImport(patient=code, created=created, skipped=result.skipped)
