"""Recording forms: infusion, labs (drug level, ADA, CRP/ESR/albumin, baseline TNF-α),
28-joint assessment, weight and MTX. Bad input re-renders the form with a message next to
each field (422); a valid form writes all its entries in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Literal

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ifxdose.adapters.web.deps import CurrentUser, Forbidden, FormWriter, PatientCode, StoreDep, get_locale, today
from ifxdose.adapters.web.forms import FieldError, field_specs, form_values, from_input_error, parse_form
from ifxdose.adapters.web.render import render
from ifxdose.adapters.web.schemas import MAX_VIALS
from ifxdose.adapters.web.views import JOINT_XY, joint_label
from ifxdose.app import clinic
from ifxdose.app.clinic import ENTRY_KINDS, WRITER_ROLES, Store
from ifxdose.app.errors import Conflict
from ifxdose.core.errors import InputError, check_range
from ifxdose.domain.patient import AdaResult, Infusion, JointAssessment, LabEntry, Level, MtxEntry, WeightEntry
from ifxdose.domain.scores import JOINTS_28, joint_counts

router = APIRouter(include_in_schema=False)
FormName = Literal["infusion", "labs", "assessment", "weight"]


@dataclass
class Parsed:
    entries: list[tuple[str, BaseModel, int | None]] = field(default_factory=list)
    baseline_tnf_pg_ml: float | None = None
    errors: dict[str, FieldError] = field(default_factory=dict)


def _with_time(values: dict[str, Any], time_field: str) -> str | None:
    day = values.get("date")
    when = values.get(time_field)
    return f"{day}T{when}" if day and when else day


def _number(
    parsed: Parsed, values: dict[str, Any], name: str, low: float, high: float, *, unit: str, integer: bool = False
) -> float | None:
    """A bounded number from the form, or None (absent, or an error recorded for the field)."""
    raw = values.get(name)
    if not raw:
        return None
    try:
        if integer and not str(raw).isdigit():
            raise InputError(name, raw, f"a whole number from {low:g} to {high:g}")
        return check_range(name, raw, low, high, unit=unit)
    except InputError as exc:
        parsed.errors[name] = from_input_error(exc)
        return None


def _section(
    parsed: Parsed,
    kind: str,
    model: type[BaseModel],
    data: dict[str, Any],
    vials: int | None = None,
) -> BaseModel | None:
    entry, errors = parse_form(model, data)
    parsed.errors.update(errors)
    if entry is not None:
        parsed.entries.append((kind, entry, vials))
    return entry


def _parse_infusion(values: dict[str, Any]) -> Parsed:
    parsed = Parsed()
    vials = _number(parsed, values, "vials", 1, MAX_VIALS, unit="vials", integer=True)
    _section(
        parsed,
        "infusions",
        Infusion,
        {**values, "date": _with_time(values, "time")},
        None if vials is None else int(vials),
    )
    return parsed


_LEVEL = ("value_mg_l", "below_lloq", "lloq_mg_l", "assay")
_ADA = ("ada_result", "titre", "titre_unit", "drug_tolerant")
_CHEM = ("crp_mg_l", "esr_mm_h", "albumin_g_dl")


def _parse_labs(values: dict[str, Any]) -> Parsed:
    parsed = Parsed()
    given = lambda names: any(values.get(n) for n in names)  # noqa: E731
    if given(_LEVEL):
        data = {k: values.get(k) for k in _LEVEL if values.get(k)}
        data["below_lloq"] = values.get("below_lloq") == "on"
        _section(parsed, "levels", Level, {**data, "date": _with_time(values, "time")})
    if given(_ADA):
        data = {
            "result": values.get("ada_result"),
            "titre": values.get("titre"),
            "titre_unit": values.get("titre_unit"),
            "drug_tolerant": {"yes": True, "no": False}.get(values.get("drug_tolerant", "")),
        }
        entry, errors = parse_form(
            AdaResult, {"date": values.get("date"), **{k: v for k, v in data.items() if v is not None}}
        )
        parsed.errors.update({("ada_result" if k == "result" else k): e for k, e in errors.items()})
        if entry is not None:
            parsed.entries.append(("ada", entry, None))
    if given(_CHEM):
        _section(parsed, "labs", LabEntry, {"date": values.get("date"), **{k: values[k] for k in _CHEM if k in values}})
    parsed.baseline_tnf_pg_ml = _number(parsed, values, "baseline_tnf_pg_ml", 0, 1000, unit="pg/mL")
    if not parsed.entries and not parsed.errors and parsed.baseline_tnf_pg_ml is None:
        parsed.errors["__all__"] = FieldError(field="__all__", allowed="at least one result", msg="form.empty")
    return parsed


def _parse_assessment(values: dict[str, Any]) -> Parsed:
    parsed = Parsed()
    try:
        counts = joint_counts(tender=values.get("tender_joints", []), swollen=values.get("swollen_joints", []))
    except InputError as exc:
        parsed.errors[exc.field + "_joints"] = from_input_error(exc)
        return parsed
    _section(
        parsed,
        "assessments",
        JointAssessment,
        {
            **values,
            "tjc28": counts.tjc28,
            "sjc28": counts.sjc28,
            "tender_joints": counts.tender,
            "swollen_joints": counts.swollen,
        },
    )
    return parsed


def _parse_weight(values: dict[str, Any]) -> Parsed:
    parsed = Parsed()
    if values.get("weight_kg") or not values.get("dose_mg_week"):
        _section(parsed, "weights", WeightEntry, {k: values.get(k) for k in ("date", "weight_kg") if values.get(k)})
    if values.get("dose_mg_week"):
        _section(parsed, "mtx", MtxEntry, {k: values.get(k) for k in ("date", "dose_mg_week") if values.get(k)})
    return parsed


PARSERS: dict[str, Callable[[dict[str, Any]], Parsed]] = {
    "infusion": _parse_infusion,
    "labs": _parse_labs,
    "assessment": _parse_assessment,
    "weight": _parse_weight,
}


def _render_form(request: Request, code: str, form: str, status: int = 200, **context):
    t = get_locale(request).t
    return render(
        request,
        f"form_{form}.html",
        status=status,
        code=code,
        form=form,
        joints=JOINTS_28,
        joint_xy=JOINT_XY,
        joint_label=lambda joint: joint_label(joint, t),
        **context,
    )


@router.get("/patients/{code}/record/{form}")
def record_form(request: Request, code: PatientCode, form: FormName, store: StoreDep, user: CurrentUser):
    if user.role not in WRITER_ROLES:
        raise Forbidden("role")  # a read-only user is not shown a form that would refuse them
    clinic.patient_history(store, code)  # 404 for an unknown patient
    # request_id: a double-clicked Save (two POSTs with the same id) records once.
    return _render_form(
        request, code, form, values={"date": today(request).isoformat(), "request_id": uuid.uuid4().hex}
    )


@router.post("/patients/{code}/record/{form}")
async def record(request: Request, code: PatientCode, form: FormName, store: StoreDep, user: FormWriter):
    values = form_values(await request.form(), list_fields=("tender_joints", "swollen_joints"))
    return await run_in_threadpool(_record, request, code, form, store, user, values)


def _record(request: Request, code: str, form: str, store: Store, user, values: dict[str, Any]):
    parsed = PARSERS[form](values)
    if not parsed.errors:
        try:
            if parsed.entries:
                clinic.record_entries(
                    store,
                    code,
                    parsed.entries,
                    user=user.username,
                    today=today(request),
                    request_id=values.get("request_id") or None,
                )
            if parsed.baseline_tnf_pg_ml is not None:
                clinic.set_baseline_tnf(store, code, parsed.baseline_tnf_pg_ml, user=user.username)
            return RedirectResponse(f"/patients/{code}", status_code=303)
        except InputError as exc:
            parsed.errors[exc.field] = from_input_error(exc)
    return _render_form(request, code, form, status=422, values=values, errors=parsed.errors)


# ------------------------------------------------------------------- corrections
EntryKind = Literal["weights", "infusions", "levels", "ada", "labs", "mtx", "assessments"]
EntryId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
#: Fields shown for correction (lists such as the joints of an assessment are kept as recorded).
_SKIP = {"date", "tender_joints", "swollen_joints"}


def _editable(kind: str) -> list[str]:
    model = ENTRY_KINDS[kind][1]
    return [name for name in model.model_fields if name not in _SKIP]


def _entries_page(request: Request, code: str, kind: str, store: Store, status: int = 200, **context):
    return render(
        request,
        "entries.html",
        status=status,
        code=code,
        kind=kind,
        fields=_editable(kind),
        rows=clinic.list_entries(store, code, kind),
        voided=clinic.list_entries(store, code, kind, voided=True),
        **context,
    )


@router.get("/patients/{code}/entries/{kind}")
def entries_page(request: Request, code: PatientCode, kind: EntryKind, store: StoreDep, user: CurrentUser):
    """The recorded entries of one kind with their corrections (void, amend) and the voided ones."""
    return _entries_page(request, code, kind, store)


@router.post("/patients/{code}/entries/{kind}/{entry_id}/void")
async def void_entry(
    request: Request, code: PatientCode, kind: EntryKind, entry_id: EntryId, store: StoreDep, user: FormWriter
):
    values = form_values(await request.form())

    def run():
        try:
            clinic.void_entry(store, code, kind, entry_id, user=user.username, reason=values.get("reason", ""))
        except InputError as exc:
            return _entries_page(
                request, code, kind, store, status=422, failed=entry_id, errors={exc.field: from_input_error(exc)}
            )
        except Conflict as exc:
            return _entries_page(
                request,
                code,
                kind,
                store,
                status=409,
                failed=entry_id,
                errors={"reason": from_input_error(InputError("id", entry_id, str(exc)))},
            )
        return RedirectResponse(f"/patients/{code}/entries/{kind}", status_code=303)

    return await run_in_threadpool(run)


def _entry_values(entry: dict[str, Any]) -> dict[str, Any]:
    """The stored entry as the amend form's values: the date split into day and time, joint
    lists as lists, everything else as text."""
    values: dict[str, Any] = {k: ("" if v is None else v if isinstance(v, list) else str(v)) for k, v in entry.items()}
    day, _, time = str(entry["date"]).partition("T")
    values["date"], values["time"] = day, time[:5]
    return values


def _amend_page(request: Request, code: str, kind: str, entry_id: int, store: Store, status: int = 200, **context):
    _, entry = clinic.find_entry(store, code, kind, entry_id)
    model = ENTRY_KINDS[kind][1]
    values = context.pop("values", None) or _entry_values(entry)
    t = get_locale(request).t
    return render(
        request,
        "entry_amend.html",
        status=status,
        code=code,
        kind=kind,
        entry_id=entry_id,
        fields=field_specs(model, [n for n in model.model_fields if n != "date"]),
        with_time=_has_time(model),
        # a joint picker when the assessment was recorded joint by joint (the counts follow it)
        joint_lists=kind == "assessments" and bool(entry.get("tender_joints") or entry.get("swollen_joints")),
        joints=JOINTS_28,
        joint_xy=JOINT_XY,
        joint_label=lambda joint: joint_label(joint, t),
        entry=entry,
        values=values,
        **context,
    )


def _has_time(model: type) -> bool:
    """Whether the entry's date may carry a time (infusions, levels: date or datetime)."""
    return "datetime" in str(model.model_fields["date"].annotation)


@router.get("/patients/{code}/entries/{kind}/{entry_id}")
def amend_page(
    request: Request, code: PatientCode, kind: EntryKind, entry_id: EntryId, store: StoreDep, user: CurrentUser
):
    if user.role not in WRITER_ROLES:
        raise Forbidden("role")
    return _amend_page(request, code, kind, entry_id, store)


@router.post("/patients/{code}/entries/{kind}/{entry_id}")
async def amend(
    request: Request, code: PatientCode, kind: EntryKind, entry_id: EntryId, store: StoreDep, user: FormWriter
):
    values = form_values(await request.form(), list_fields=("tender_joints", "swollen_joints"))
    if values.get("time") and values.get("date"):
        values["date"] = f"{values['date']}T{values['time']}"

    def run():
        _, recorded = clinic.find_entry(store, code, kind, entry_id)
        data = {k: v for k, v in recorded.items() if k in _SKIP}
        data.update({k: v for k, v in values.items() if k in _editable(kind) or k == "date"})
        for name in _editable(kind):
            if name not in values:
                data.pop(name, None)  # emptied: back to the field's default
        if kind in ("levels",):
            data["below_lloq"] = values.get("below_lloq") in ("on", "true", "True")
        if kind == "assessments" and values.get("joint_lists"):  # amended joint by joint: counts follow
            for side, count in (("tender", "tjc28"), ("swollen", "sjc28")):
                data[f"{side}_joints"] = values.get(f"{side}_joints", [])
                data[count] = len(data[f"{side}_joints"])
        entry, errors = parse_form(ENTRY_KINDS[kind][1], data)
        if entry is not None:
            try:
                clinic.amend_entry(
                    store,
                    code,
                    kind,
                    entry_id,
                    entry,
                    user=user.username,
                    reason=values.get("reason", ""),
                    today=today(request),
                )
                return RedirectResponse(f"/patients/{code}/entries/{kind}", status_code=303)
            except InputError as exc:
                errors = {exc.field: from_input_error(exc)}
            except Conflict as exc:
                errors = {"reason": from_input_error(InputError("id", entry_id, str(exc)))}
        shown = {**values, "date": str(values.get("date", "")).partition("T")[0]}  # day and time inputs again
        return _amend_page(request, code, kind, entry_id, store, status=422, values=shown, errors=errors)

    return await run_in_threadpool(run)
