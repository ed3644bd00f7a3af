"""Patient pages: the list with the worklist, a new patient, the patient page (plot, trend,
calendar, recommendation panel), export and import, computing and deciding on a recommendation."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ifxdose.adapters.web.deps import CurrentUser, FormWriter, PatientCode, RecId, StoreDep, get_locale, today
from ifxdose.adapters.web.forms import form_values, from_input_error, parse_form
from ifxdose.adapters.web.history_json import parse_history
from ifxdose.adapters.web.render import render
from ifxdose.adapters.web.schemas import PatientCreate
from ifxdose.adapters.web.svg import profile_svg, trend_svg
from ifxdose.adapters.web.views import citation_links, decision_labels
from ifxdose.app import clinic
from ifxdose.app.clinic import Store
from ifxdose.app.errors import Conflict, NotFound
from ifxdose.core.errors import InputError
from ifxdose.domain.recommend import Option, Recommendation, Target

router = APIRouter(include_in_schema=False)
MAX_IMPORT_BYTES = 5_000_000


@router.get("/")
def home(user: CurrentUser):
    return RedirectResponse("/patients", status_code=303)


@router.get("/patients")
def patient_list(request: Request, store: StoreDep, user: CurrentUser, q: str = ""):
    q = q[:64]
    try:
        patients = clinic.patient_list(store, q)
    except InputError:
        patients = []
    return render(
        request,
        "patients.html",
        q=q,
        patients=patients,
        worklist=clinic.worklist(store, today(request)),
        today=today(request),
    )


@router.get("/patients/new")
def new_patient_page(request: Request, user: CurrentUser):
    return render(request, "patient_new.html")


@router.post("/patients/new")
async def new_patient(request: Request, store: StoreDep, user: FormWriter):
    values = form_values(await request.form())
    return await run_in_threadpool(_new_patient, request, store, user, values)


def _new_patient(request: Request, store: Store, user, values: dict):
    info, errors = parse_form(PatientCreate, values)
    if info is not None:
        try:
            code = clinic.create_patient(store, info, user=user.username, baseline_tnf_pg_ml=info.baseline_tnf_pg_ml)
            return RedirectResponse(f"/patients/{code}", status_code=303)
        except InputError as exc:
            errors = {"id" if exc.field in ("id", "patient.id") else exc.field: from_input_error(exc)}
        except Conflict as exc:
            errors = {"id": from_input_error(InputError("id", exc.value, "a code not used by another patient"))}
    return render(request, "patient_new.html", status=422, values=values, errors=errors)


@router.post("/patients/import")
async def import_patient(request: Request, store: StoreDep, user: FormWriter):
    form = await request.form()
    upload = form.get("history")
    raw = await upload.read(MAX_IMPORT_BYTES + 1) if hasattr(upload, "read") else b""
    mode = str(form.get("on_existing", "refuse"))
    return await run_in_threadpool(_import, request, store, user, raw, mode)


def _import(request: Request, store: Store, user, raw: bytes, mode: str):
    errors = {}
    try:
        if len(raw) > MAX_IMPORT_BYTES:
            raise InputError("history", f"{len(raw)} bytes", f"at most {MAX_IMPORT_BYTES} bytes")
        if mode not in ("refuse", "merge", "replace"):
            raise InputError("on_existing", mode, "allowed values are refuse, merge, replace")
        history = parse_history(raw)
        code = clinic.import_patient(store, history, user=user.username, on_existing=mode)  # type: ignore[arg-type]
        return RedirectResponse(f"/patients/{code}", status_code=303)
    except InputError as exc:
        errors = {"history": from_input_error(exc)}
    except Conflict as exc:
        errors = {"history": from_input_error(InputError(exc.field, exc.value, str(exc)))}
    return render(
        request,
        "patients.html",
        status=422,
        q="",
        patients=clinic.patient_list(store),
        worklist=clinic.worklist(store, today(request)),
        today=today(request),
        errors=errors,
    )


def patient_context(request: Request, store: Store, code: str) -> dict:
    loc = get_locale(request)
    view = clinic.patient_view(store, request.app.state.recommender, code, today(request))
    t = loc.t
    plot = None
    latest = view.latest
    rec, taken = _typed(latest)
    if view.profile is not None:
        plot = profile_svg(
            view.profile,
            target=_target(rec),
            title=t("plot.title", code=code),
            labels={
                "x": t("plot.x"),
                "y": t("plot.y"),
                "target": t("plot.target"),
                "band": t("plot.band"),
                "ipred": t("plot.ipred"),
                "dose": t("plot.dose"),
                "observed": t("plot.observed"),
                "blq": t("plot.blq"),
            },
        )
    trend_labels = {"x": t("trend.x"), **{k: t(f"category.{k}") for k in ("remission", "low", "moderate", "high")}}
    trends = [
        (trend, trend_svg(trend, title=t("trend.title", measure=trend.measure), labels=trend_labels, fmt_date=loc.date))
        for trend in view.trends
        if trend.points
    ]
    return {
        "code": code,
        "view": view,
        "plot": plot,
        "trends": trends,
        "latest": latest,
        "rec": rec,
        "decision_labels": taken,
        "citations": citation_links(rec.citations) if isinstance(rec, Recommendation) else [],
    }


def _typed(latest) -> tuple[Recommendation | dict | None, Option | dict | None]:
    """The latest recommendation as the domain's ``Recommendation`` and the ``Option`` the clinician
    took (rehydrated through app); a stored payload the current model no longer reads is shown as
    stored (the dicts)."""
    if latest is None:
        return None, None
    try:
        done = clinic.stored(latest)
    except ValueError:
        return latest.payload, decision_labels(latest)
    return done.recommendation, done.taken


def _target(rec: Recommendation | dict | None) -> Target:
    """The band the plot draws: the latest recommendation's target, else the default (>= 1 mg/L)."""
    return rec.target if isinstance(rec, Recommendation) else Target.lower()


@router.get("/patients/{code}")
def patient_page(request: Request, code: PatientCode, store: StoreDep, user: CurrentUser):
    return render(request, "patient.html", **patient_context(request, store, code))


@router.get("/patients/{code}/recommendations/{rec_id}/report.pdf")
def recommendation_report(
    request: Request,
    code: PatientCode,
    rec_id: RecId,
    store: StoreDep,
    user: CurrentUser,
    lang: Literal["ja", "en"] | None = None,
):
    """A printable one-page PDF of a stored recommendation (the page's language, or ``lang``)."""
    from ifxdose.adapters.web.deps import Locale
    from ifxdose.adapters.web.i18n import translator
    from ifxdose.adapters.web.report import recommendation_pdf

    loc = get_locale(request)
    if lang:
        loc = Locale(code=lang, t=translator(lang), zone=loc.zone)
    view = clinic.patient_view(store, request.app.state.recommender, code, today(request))
    row = next((r for r in view.recommendations if r.id == rec_id), None)
    if row is None:
        raise NotFound("recommendation", rec_id)
    superseded = clinic.is_superseded(row, view.history)
    pdf = recommendation_pdf(
        code=code,
        patient=view.history.patient.model_dump(),
        stored=clinic.stored(row, superseded),
        profile=view.profile,
        loc=loc,
        superseded=superseded,
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{code}-recommendation-{rec_id}-{loc.code}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/patients/{code}/export")
def export_patient(code: PatientCode, store: StoreDep, user: CurrentUser):
    history = clinic.patient_history(store, code)
    return Response(
        history.model_dump_json(indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{code}.history.json"', "Cache-Control": "no-store"},
    )


@router.post("/patients/{code}/recommendations")
def new_recommendation(request: Request, code: PatientCode, store: StoreDep, user: FormWriter):
    try:
        clinic.recommend_and_store(store, request.app.state.recommender, code, today(request), user=user.username)
    except InputError as exc:
        return render(
            request,
            "patient.html",
            status=422,
            **patient_context(request, store, code),
            errors={"recommendation": from_input_error(exc)},
        )
    return RedirectResponse(f"/patients/{code}#recommendation", status_code=303)


@router.post("/patients/{code}/recommendations/{rec_id}/decision")
async def decide(request: Request, code: PatientCode, rec_id: RecId, store: StoreDep, user: FormWriter):
    values = form_values(await request.form())
    return await run_in_threadpool(_decide, request, code, rec_id, store, user, values)


def _decide(request: Request, code: str, rec_id: int, store: Store, user, values: dict):
    option = values.get("option_index")
    try:
        index = int(option) if option not in (None, "", "chosen") else None
        clinic.decide(
            store,
            code,
            rec_id,
            values.get("decision", ""),
            user=user.username,
            reason=values.get("reason", ""),
            option_index=index,
        )
    except Conflict as exc:  # before ValueError, which it is: already decided, or superseded
        return render(
            request,
            "patient.html",
            status=409,
            **patient_context(request, store, code),
            errors={"decision": from_input_error(InputError("decision", rec_id, str(exc)))},
        )
    except ValueError as exc:
        error = exc if isinstance(exc, InputError) else InputError("option_index", option, "an option number")
        return render(
            request,
            "patient.html",
            status=422,
            **patient_context(request, store, code),
            values=values,
            errors={error.field: from_input_error(error)},
        )
    return RedirectResponse(f"/patients/{code}#recommendation", status_code=303)
