"""The JSON API (/api/v1), mirroring the pages. Writes need a physician or pharmacist and
the session's CSRF token in X-CSRF-Token; bad input is a 422 naming the field, the value
and what is allowed."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi import Path as PathParam
from pydantic import ConfigDict, Field, create_model

from ifxdose.adapters.web.deps import ApiWriter, CurrentUser, PatientCode, RecId, StoreDep, StudyId, find_study, today
from ifxdose.adapters.web.forms import refuse_bool_numbers
from ifxdose.adapters.web.history_json import parse_history
from ifxdose.adapters.web.routes.auth import api as session_api
from ifxdose.adapters.web.schemas import (
    Created,
    DecisionIn,
    EntryOut,
    InfusionIn,
    PatientCreate,
    RecommendationOut,
    Voided,
    VoidIn,
)
from ifxdose.app import clinic
from ifxdose.app.clinic import ENTRY_KINDS, PatientSummary
from ifxdose.core.errors import InputError
from ifxdose.domain.clinic import DueStatus, ScheduleRow, Trend
from ifxdose.domain.evidence import Study, load_studies
from ifxdose.domain.patient import PatientHistory

ERRORS = {
    401: {"description": "not signed in"},
    403: {"description": "role may only read, or no CSRF token"},
    404: {"description": "no such patient"},
    422: {"description": "bad input: field, value, allowed"},
}
router = APIRouter(responses=ERRORS)
router.include_router(session_api)


def _strict(model: type):
    """A dependency refusing JSON true/false for numeric fields (no bool coercion)."""

    async def check(request: Request) -> None:
        try:
            data = await request.json()
        except ValueError:
            return  # not JSON: the body's own validation answers
        refuse_bool_numbers(model, data)
        if isinstance(data, dict) and isinstance(data.get("entry"), dict):
            refuse_bool_numbers(model, data["entry"], "entry.")

    return Depends(check)


def _rec_out(stored: clinic.StoredRecommendation) -> RecommendationOut:
    row = stored.row
    return RecommendationOut(
        id=row.id,
        superseded=stored.superseded,
        created_at=row.created_at,
        created_by=row.created_by,
        model=row.model,
        model_version=row.model_version,
        action=row.action,
        status=row.status,
        recommendation=stored.recommendation,
        chosen_option=stored.taken,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
    )


# ------------------------------------------------------------------------------ patients
@router.get("/patients", response_model=list[PatientSummary], tags=["patients"])
def list_patients(store: StoreDep, user: CurrentUser, q: Annotated[str, Query(max_length=64)] = ""):
    """Patients whose code contains ``q``."""
    return clinic.patient_list(store, q)


@router.post(
    "/patients", response_model=Created, status_code=201, tags=["patients"], dependencies=[_strict(PatientCreate)]
)
def create_patient(body: PatientCreate, store: StoreDep, user: ApiWriter):
    code = clinic.create_patient(store, body, user=user.username, baseline_tnf_pg_ml=body.baseline_tnf_pg_ml)
    return Created(kind="patient", id=code, patient=code)


@router.post("/patients/import", response_model=Created, status_code=201, tags=["patients"])
def import_patient(
    store: StoreDep,
    user: ApiWriter,
    body: Annotated[dict[str, Any], Body()],
    replace: Annotated[bool, Query(description="void every recorded entry, store the imported")] = False,
    merge: Annotated[bool, Query(description="add the imported entries not yet recorded")] = False,
):
    """Store a whole patient from its canonical history JSON (schemas/patient-history.schema.json).
    A patient already stored: 409 unless ``merge`` or ``replace`` (nothing is deleted: replaced
    entries are voided and the audit keeps them)."""
    if replace and merge:
        raise InputError("replace", True, "either replace or merge, not both")
    history = parse_history(_json(body))
    code = clinic.import_patient(
        store, history, user=user.username, on_existing="replace" if replace else "merge" if merge else "refuse"
    )
    return Created(kind="patient", id=code, patient=code)


def _json(body: dict[str, Any]) -> str:
    import json

    try:
        return json.dumps(body, allow_nan=False)
    except ValueError:
        raise InputError("history", "(document)", "JSON without NaN or Infinity") from None


@router.get("/patients/{code}/history", response_model=PatientHistory, tags=["patients"])
def export_patient(code: PatientCode, store: StoreDep, user: CurrentUser):
    """The whole patient as the canonical history JSON (lossless: import gives the same history)."""
    return clinic.patient_history(store, code)


@router.get("/patients/{code}/due", response_model=DueStatus, tags=["patients"])
def due(request: Request, code: PatientCode, store: StoreDep, user: CurrentUser):
    return clinic.patient_view(store, request.app.state.recommender, code, today(request), with_profile=False).due


@router.get("/patients/{code}/schedule", response_model=list[ScheduleRow], tags=["patients"])
def schedule(request: Request, code: PatientCode, store: StoreDep, user: CurrentUser):
    """Infusions given and the next planned ones, with their windows (the calendar)."""
    return clinic.patient_view(store, request.app.state.recommender, code, today(request), with_profile=False).schedule


@router.get("/patients/{code}/trend", response_model=list[Trend], tags=["patients"])
def trend(request: Request, code: PatientCode, store: StoreDep, user: CurrentUser):
    """DAS28 and SDAI over time with their category bands."""
    return clinic.patient_view(store, request.app.state.recommender, code, today(request), with_profile=False).trends


@router.get("/patients/{code}/profile", tags=["patients"])
def profile(request: Request, code: PatientCode, store: StoreDep, user: CurrentUser) -> dict[str, Any]:
    """The concentration-time profile behind the plot: individual prediction, 80 % band, observed levels."""
    view = clinic.patient_view(store, request.app.state.recommender, code, today(request))
    if view.profile_error:
        raise InputError("history", code, view.profile_error)
    return view.profile.model_dump(mode="json") if view.profile is not None else {}


@router.get("/worklist", response_model=list[clinic.WorklistItem], tags=["patients"])
def worklist(request: Request, store: StoreDep, user: CurrentUser):
    """Patients due for an infusion or a trough level within a week."""
    return clinic.worklist(store, today(request))


# ------------------------------------------------------------------------------ entries
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=64,
        description="a retry with the same key does not write twice",
    ),
]
EntryId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


def _entry_route(kind: str, model: type) -> None:
    domain_model = ENTRY_KINDS[kind][1]

    def record(
        request: Request,
        code: PatientCode,
        entry: model,
        store: StoreDep,  # type: ignore[valid-type]
        user: ApiWriter,
        key: IdempotencyKey = None,
    ) -> Created:
        vials = getattr(entry, "vials", None)
        row_id = clinic.record_entries(
            store,
            code,
            [(kind, domain_model.model_validate(entry.model_dump(exclude={"vials"})), vials)],
            user=user.username,
            today=today(request),
            request_id=key,
        )[0]
        return Created(kind=kind, id=row_id, patient=code)

    record.__name__ = f"record_{kind}"
    router.post(
        f"/patients/{{code}}/{kind}",
        response_model=Created,
        status_code=201,
        tags=["records"],
        summary=f"Record {kind}",
        dependencies=[_strict(model)],
    )(record)

    amend_body = create_model(
        f"Amend{model.__name__}",
        __config__=ConfigDict(extra="forbid"),
        reason=(str, Field(min_length=1, max_length=2000, description="why (required)")),
        entry=(model, ...),
    )

    def amend(
        request: Request,
        code: PatientCode,
        entry_id: EntryId,
        body: amend_body,  # type: ignore[valid-type]
        store: StoreDep,
        user: ApiWriter,
    ) -> Created:
        vials = getattr(body.entry, "vials", None)
        new_id = clinic.amend_entry(
            store,
            code,
            kind,
            entry_id,
            domain_model.model_validate(body.entry.model_dump(exclude={"vials"})),
            user=user.username,
            reason=body.reason,
            vials=vials,
            today=today(request),
        )
        return Created(kind=kind, id=new_id, patient=code)

    amend.__name__ = f"amend_{kind}"
    router.post(
        f"/patients/{{code}}/{kind}/{{entry_id}}/amend",
        response_model=Created,
        tags=["records"],
        summary=f"Correct one of the {kind}: the old entry is voided (kept), the new one names it",
        dependencies=[_strict(model)],
    )(amend)

    def void(code: PatientCode, entry_id: EntryId, body: VoidIn, store: StoreDep, user: ApiWriter) -> Voided:
        clinic.void_entry(store, code, kind, entry_id, user=user.username, reason=body.reason)
        return Voided(kind=kind, id=entry_id, patient=code)

    void.__name__ = f"void_{kind}"
    router.post(
        f"/patients/{{code}}/{kind}/{{entry_id}}/void",
        response_model=Voided,
        tags=["records"],
        summary=f"Void one of the {kind} (kept with who, when, why; left out of the history)",
    )(void)

    def listing(
        code: PatientCode,
        store: StoreDep,
        user: CurrentUser,
        voided: Annotated[bool, Query(description="the voided entries instead")] = False,
    ) -> list[EntryOut]:
        return [
            EntryOut(
                id=row.id,
                entry=entry,
                voided_at=row.voided_at,
                voided_by=row.voided_by,
                void_reason=row.void_reason,
                amends_id=row.amends_id,
            )
            for row, entry in clinic.list_entries(store, code, kind, voided=voided)
        ]

    listing.__name__ = f"list_{kind}"
    router.get(
        f"/patients/{{code}}/{kind}",
        response_model=list[EntryOut],
        tags=["records"],
        summary=f"The recorded {kind} with their ids",
    )(listing)


for _kind, (_, _model) in ENTRY_KINDS.items():
    _entry_route(_kind, InfusionIn if _kind == "infusions" else _model)


# ------------------------------------------------------------------------ recommendations
@router.post(
    "/patients/{code}/recommendations", response_model=RecommendationOut, status_code=201, tags=["recommendations"]
)
def new_recommendation(request: Request, code: PatientCode, store: StoreDep, user: ApiWriter):
    """Run the recommendation engine on the stored history and store its answer."""
    clinic.recommend_and_store(store, request.app.state.recommender, code, today(request), user=user.username)
    return _rec_out(clinic.latest_recommendation(store, code))


@router.get("/patients/{code}/recommendations", response_model=list[RecommendationOut], tags=["recommendations"])
def list_recommendations(code: PatientCode, store: StoreDep, user: CurrentUser):
    """Newest first; ``superseded``: a proposed one computed before data were recorded or corrected
    (accepting it is refused with 409)."""
    return [_rec_out(stored) for stored in clinic.recommendations_of(store, code)]


@router.post(
    "/patients/{code}/recommendations/{rec_id}/decision", response_model=RecommendationOut, tags=["recommendations"]
)
def decide(code: PatientCode, rec_id: RecId, body: DecisionIn, store: StoreDep, user: ApiWriter):
    """Accept (optionally another option than the chosen one) or override with a reason."""
    return _rec_out(
        clinic.accept_recommendation(
            store, code, rec_id, body.decision, user=user.username, reason=body.reason, option_index=body.option_index
        )
    )


# ------------------------------------------------------------------------------- evidence
@router.get("/evidence", response_model=list[Study], tags=["evidence"])
def evidence(user: CurrentUser):
    return load_studies()


@router.get("/evidence/{study_id}", response_model=Study, tags=["evidence"])
def study(study_id: StudyId, user: CurrentUser):
    return find_study(study_id)


@router.get("/health", include_in_schema=False)
def health() -> dict[str, str]:
    return {"status": "ok"}
