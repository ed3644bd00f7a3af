"""Small pure helpers for FHIR data types, shared by the importer and the exporter.

Time: the history keeps naive local dates and times; FHIR requires a time zone on a
dateTime with a time. Export attaches the clinic's zone ``tz`` to naive times; import
converts aware times to ``tz`` and drops the zone, so a round trip with the same ``tz``
is exact. Assumption: the default zone is UTC; a clinic passes its own (``--tz Asia/Tokyo``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ifxdose.adapters.fhir import codes as c
from ifxdose.core.errors import InputError

_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def zone(tz: str) -> tzinfo:
    """``UTC``, an offset ``+09:00`` or an IANA name (``Asia/Tokyo``)."""
    if tz in ("UTC", "Z"):
        return timezone.utc
    match = _OFFSET.match(tz)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        hours, minutes = int(match.group(2)), int(match.group(3))
        if hours > 14 or minutes > 59 or (hours == 14 and minutes):
            raise InputError("tz", tz, "an offset from -14:00 to +14:00 (minutes 00 to 59)")
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError("tz", tz, "UTC, an offset like +09:00, or an IANA zone like Asia/Tokyo") from None


def format_when(when: date | datetime, tz: str) -> str:
    """FHIR date or dateTime text; a naive time gets the zone ``tz``."""
    if isinstance(when, datetime):
        return (when if when.tzinfo else when.replace(tzinfo=zone(tz))).isoformat()
    return when.isoformat()


def parse_when(text: Any, tz: str, *, where: str) -> date | datetime:
    """A FHIR date (-> date) or dateTime with time (-> naive datetime in ``tz``)."""
    if not isinstance(text, str):
        raise InputError(where, text, "a FHIR date or dateTime")
    if "T" not in text:
        if len(text) != 10:
            raise InputError(where, text, "a full date YYYY-MM-DD (a year or month alone is too vague)")
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(zone(tz)).replace(tzinfo=None)


def quantity(value: float, unit: str, code: str | None = None) -> dict[str, Any]:
    """A UCUM Quantity; ``code`` defaults to ``unit``."""
    return {"value": value, "unit": unit, "system": c.UCUM, "code": code or unit}


def concept(*codes: c.Code, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [code.coding() for code in codes]}
    if text is not None:
        out["text"] = text
    return out


def extension(url: str, **value: Any) -> dict[str, Any]:
    """``extension("...", valueString="x")``."""
    return {"url": url, **value}


def find_extension(element: dict[str, Any], url: str) -> dict[str, Any] | None:
    for ext in element.get("extension", []) or []:
        if ext.get("url") == url:
            return ext
    return None


def codings(element: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The codings of a CodeableConcept (empty if absent)."""
    return list((element or {}).get("coding", []) or [])


def has_coding(element: dict[str, Any] | None, code: c.Code) -> bool:
    return any((x.get("system"), x.get("code")) == code.key for x in codings(element))


def name_of(resource: Any, index: int) -> str:
    """``Observation/abc``, or ``Observation (entry 3)`` when the resource has no id."""
    if not isinstance(resource, dict):
        return f"Bundle.entry[{index}]"
    kind = resource.get("resourceType", "Resource")
    return f"{kind}/{resource['id']}" if resource.get("id") else f"{kind} (entry {index})"


def validate_bundle(bundle: dict[str, Any]) -> None:
    """Validate with ``fhir.resources`` R4B; the first problem as an InputError naming the resource."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        where = "Bundle." + ".".join(loc)
        if len(loc) >= 3 and loc[0] == "entry" and loc[1].isdigit() and loc[2] == "resource":
            i = int(loc[1])
            entries = bundle.get("entry") or []
            resource = entries[i].get("resource") if i < len(entries) and isinstance(entries[i], dict) else None
            where = " ".join([name_of(resource, i), ".".join(loc[3:])]).strip()
        raise InputError(where, err.get("input"), f"FHIR R4B: {err['msg']}") from None


def validate_resource(resource: dict[str, Any]) -> None:
    """Validate one resource with ``fhir.resources`` R4B (InputError naming the resource and field)."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    try:
        get_fhir_model_class(str(resource.get("resourceType"))).model_validate(resource)
    except (ValidationError, KeyError, ValueError) as exc:
        errors = exc.errors() if isinstance(exc, ValidationError) else [{"loc": (), "msg": str(exc), "input": None}]
        where = " ".join([name_of(resource, 0), ".".join(str(p) for p in errors[0]["loc"])]).strip()
        raise InputError(where, errors[0].get("input"), f"FHIR R4B: {errors[0]['msg']}") from None
