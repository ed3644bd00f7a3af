"""The infliximab orders among a Bundle of draft orders (CDS Hooks' ``context.draftOrders``)
and what they ask for: pure FHIR reading, used by the CDS order hooks through ``ifxdose.app.exchange``.

An order is infliximab when it is a MedicationRequest whose medication (inline, contained
or bundled Medication) has a code the FHIR importer maps to infliximab (RxNorm 191831,
the biosimilar RxCUIs of ``data/codes.toml``, ATC L04AB02) or whose text names it
("infliximab", "インフリキシマブ").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ifxdose.adapters.fhir.elements import codings, name_of
from ifxdose.adapters.fhir.mapping import load_mapping
from ifxdose.adapters.fhir.units import convert
from ifxdose.core.errors import InputError

Json = dict[str, Any]
NAMES = ("infliximab", "インフリキシマブ")
_WEEKS_PER = {"wk": 1.0, "d": 1 / 7, "h": 1 / 168, "mo": 365.25 / 12 / 7}


@dataclass
class DraftOrder:
    """One draft infliximab order: its reference and the dose/interval it asks for, if stated."""

    reference: str | None
    dose_mg: float | None = None
    dose_mg_per_kg: float | None = None
    interval_weeks: float | None = None


def _medication(request: Json, bundle_index: dict[str, Json]) -> Json:
    if isinstance(request.get("medicationCodeableConcept"), dict):
        return request["medicationCodeableConcept"]
    ref = str((request.get("medicationReference") or {}).get("reference", ""))
    if ref.startswith("#"):
        med = next((m for m in request.get("contained") or [] if m.get("id") == ref[1:]), {})
    else:
        med = bundle_index.get(ref, {})
    return med.get("code") or {}


_mapping = cache(load_mapping)


def is_infliximab(concept: Json) -> bool:
    found = _mapping().medication_kind(codings(concept))
    if found is not None:
        return found[0] == "infliximab"
    texts = [str(concept.get("text", ""))] + [str(x.get("display", "")) for x in codings(concept)]
    return any(name in text.lower() for text in texts for name in NAMES)


def _dose(dosage: Json) -> tuple[float | None, float | None]:
    """(mg, mg/kg) of the first doseQuantity, whichever unit it has."""
    quantity = ((dosage.get("doseAndRate") or [{}])[0] or {}).get("doseQuantity") or {}
    value, unit = quantity.get("value"), quantity.get("code") or quantity.get("unit")
    if not isinstance(value, (int, float)) or not unit:
        return None, None
    if unit.replace(" ", "") in ("mg/kg", "mg/kg{bw}"):
        return None, float(value)
    try:
        return convert(float(value), unit, "mg", where="doseQuantity", what="infliximab dose"), None
    except InputError:
        return None, None  # a unit we cannot compare (e.g. vials): no comparison


def _interval_weeks(dosage: Json) -> float | None:
    repeat = (dosage.get("timing") or {}).get("repeat") or {}
    period, unit = repeat.get("period"), repeat.get("periodUnit")
    if not isinstance(period, (int, float)) or unit not in _WEEKS_PER:
        return None
    return period * _WEEKS_PER[unit] / (repeat.get("frequency") or 1)


def infliximab_orders(draft_orders: Json) -> list[DraftOrder]:
    """The draft infliximab MedicationRequests, in bundle order."""
    entries = [e for e in draft_orders.get("entry") or [] if isinstance(e.get("resource"), dict)]
    index = {e["fullUrl"]: e["resource"] for e in entries if e.get("fullUrl")}
    index |= {f"{e['resource'].get('resourceType')}/{e['resource'].get('id')}": e["resource"] for e in entries}
    found = []
    for i, entry in enumerate(entries):
        request = entry["resource"]
        if request.get("resourceType") != "MedicationRequest" or not is_infliximab(_medication(request, index)):
            continue
        dosage = (request.get("dosageInstruction") or [{}])[0] or {}
        mg, per_kg = _dose(dosage)
        ref = name_of(request, i) if request.get("id") else None
        found.append(
            DraftOrder(reference=ref, dose_mg=mg, dose_mg_per_kg=per_kg, interval_weeks=_interval_weeks(dosage))
        )
    return found
