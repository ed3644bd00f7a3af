"""FHIR exchange without the clinic store: the conversions the CDS Hooks services and the CLI's
``ifxdose fhir import`` / ``export`` (files, no database) share, so that neither adapter imports
the FHIR mapping (``ifxdose.adapters.fhir``, pure conversion) itself: the adapters meet only in
``ifxdose.app`` (import-linter, pyproject.toml).

Thin on purpose: each name is the mapping's own function or value under the use case's name, or
a composition of two of them (:func:`proposed_request`, :func:`observation_codes`); no FHIR logic
lives here. The use cases on stored patients (import into, export from the clinic store) are
``ifxdose.app.fhir``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ifxdose.adapters.fhir import codes as _codes
from ifxdose.adapters.fhir.elements import format_when, validate_bundle, validate_resource
from ifxdose.adapters.fhir.exporter import history_to_bundle, medication_request
from ifxdose.adapters.fhir.importer import ImportResult
from ifxdose.adapters.fhir.importer import import_bundle as read_bundle
from ifxdose.adapters.fhir.mapping import CodeMap, load_mapping
from ifxdose.adapters.fhir.orders import DraftOrder, infliximab_orders
from ifxdose.domain.recommend import Recommendation

__all__ = [
    "LOCAL_BASE",
    "CodeMap",
    "DraftOrder",
    "ImportResult",
    "history_to_bundle",
    "infliximab_orders",
    "load_mapping",
    "observation_codes",
    "proposed_request",
    "read_bundle",
    "validate_bundle",
]

Json = dict[str, Any]

#: The base URL of ifxdose's own code systems and naming systems (``adapters.fhir.codes``).
LOCAL_BASE = _codes.LOCAL_BASE


def observation_codes() -> list[str]:
    """``system|code`` of every Observation code the importer reads (built-in and codes.toml),
    with the joint assessment and the TNF-inhibitor baseline: what a CDS prefetch should ask for."""
    codes = [f"{system}|{code}" for system, code in load_mapping().observations]
    extra = (_codes.ASSESSMENT, _codes.TNF_BASELINE)
    return sorted(set(codes) | {f"{c.system}|{c.code}" for c in extra})


def proposed_request(rec: Recommendation, patient_id: str, now: datetime | None = None) -> Json:
    """The exporter's validated MedicationRequest for ``rec`` (no Bundle), pointing at the
    EHR's ``Patient/{patient_id}``; ``now``: authoredOn (default: this second, UTC)."""
    stamp = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    request = medication_request(rec, {"reference": f"Patient/{patient_id}"}, format_when(stamp, "UTC"))
    validate_resource(request)
    return request
