"""FHIR in the JSON API (/api/v1): import a Bundle into the clinic, export a patient as one.
Same rules as the rest of the API: signed in; writes need a writer role and X-CSRF-Token;
bad units or codes are a 422 naming the resource (``Observation/alb1 valueQuantity.code``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ifxdose.adapters.web.deps import ApiWriter, CurrentUser, PatientCode, StoreDep
from ifxdose.adapters.web.routes.api import ERRORS
from ifxdose.app.fhir import export_patient, import_bundle

router = APIRouter(responses=ERRORS, tags=["fhir"])
FHIR_JSON = "application/fhir+json"
Tz = Annotated[
    str | None,
    Query(
        max_length=64,
        description="zone of the history's naive times: UTC, +09:00 or Asia/Tokyo (default: IFXDOSE_FHIR_TZ)",
    ),
]


class FhirImported(BaseModel):
    patient: str
    created: bool
    skipped: list[str]


def _tz(request: Request, tz: str | None) -> str:
    return tz or request.app.state.settings.fhir_tz


@router.post("/fhir/import", response_model=FhirImported, status_code=201)
def import_fhir(
    request: Request,
    store: StoreDep,
    user: ApiWriter,
    bundle: Annotated[dict[str, Any], Body(description="a FHIR R4/R4B Bundle with one Patient")],
    tz: Tz = None,
    replace: Annotated[
        bool, Query(description="void every recorded entry and store the Bundle's (default: merge)")
    ] = False,
):
    """Store the patient in a FHIR Bundle: created; or merged into the stored one (entries not yet
    recorded added, none removed); or, with ``replace=true``, its recorded entries voided (kept,
    audited) and the Bundle's stored. What was not read, and why."""
    done = import_bundle(
        store, bundle, user=user.username, tz=_tz(request, tz), on_existing="replace" if replace else "merge"
    )
    return FhirImported(patient=done.patient, created=done.created, skipped=done.skipped)


@router.get(
    "/patients/{code}/fhir",
    response_class=JSONResponse,
    responses={200: {"content": {FHIR_JSON: {}}, "description": "a validated FHIR R4B Bundle"}},
)
def export_fhir(request: Request, code: PatientCode, store: StoreDep, user: CurrentUser, tz: Tz = None):
    """The patient's history, plus the newest accepted (else still proposed) recommendation, as a FHIR Bundle."""
    bundle = export_patient(store, code, tz=_tz(request, tz))
    return JSONResponse(bundle, media_type=FHIR_JSON, headers={"Cache-Control": "no-store"})
