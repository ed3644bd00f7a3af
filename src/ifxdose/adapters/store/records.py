"""Patients and their entries: create, record, read back as the canonical history.

Entry tables mirror ``PatientHistory`` field for field (``tables.py``), so one generic
copy serves recording, export and import. Every write locks the patient row (PostgreSQL;
SQLite transactions are already exclusive), checks that the history stays valid, and adds
its audit row in the same transaction.

Nothing is hard-deleted: an entry is corrected by voiding it (kept, with who, when and a
required reason; left out of the history) or amending it (the old row voided, a new row
naming it in ``amends_id``); the audit row keeps before and after. At write time an entry
is refused (InputError naming the field) when it is dated after today or before the patient's
birth year, repeats an entry already recorded, puts a second infusion on a day that has one,
or records a weight outside the adult range the decision engine accepts (25-250 kg). A write carrying a
``request_id`` already seen returns the first write's ids (a double-clicked Save).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ifxdose.adapters.store.audit import audit
from ifxdose.adapters.store.checks import check_code, check_model, check_value
from ifxdose.adapters.store.db import Store
from ifxdose.adapters.store.errors import Conflict, NotFound
from ifxdose.adapters.store.tables import (
    AdaRow,
    AssessmentRow,
    InfusionRow,
    LabRow,
    LevelRow,
    MtxRow,
    Patient,
    WeightRow,
    WriteRequest,
)
from ifxdose.core.errors import InputError, check_range
from ifxdose.domain.clinic import assessment_scores
from ifxdose.domain.decisions.plausibility import check_adult_weight
from ifxdose.domain.dosing.vials import round_to_vials
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
    as_date,
)

#: history field -> (table, entry model)
ENTRY_KINDS: dict[str, tuple[type, type[BaseModel]]] = {
    "weights": (WeightRow, WeightEntry),
    "infusions": (InfusionRow, Infusion),
    "levels": (LevelRow, Level),
    "ada": (AdaRow, AdaResult),
    "labs": (LabRow, LabEntry),
    "mtx": (MtxRow, MtxEntry),
    "assessments": (AssessmentRow, JointAssessment),
}


def _kind(kind: str) -> tuple[type, type[BaseModel]]:
    if kind not in ENTRY_KINDS:
        raise InputError("kind", kind, f"allowed kinds are {', '.join(ENTRY_KINDS)}")
    return ENTRY_KINDS[kind]


# ------------------------------------------------------------------ rows <-> entries
def _derived(kind: str, entry: BaseModel, vials: int | None) -> dict[str, Any]:
    """Stored columns that the canonical history does not carry."""
    if kind == "assessments":
        return {"scores": assessment_scores(entry)}  # type: ignore[arg-type]
    if kind == "infusions":
        return {"vials": vials if vials is not None else round_to_vials(entry.dose_mg).vials}  # type: ignore[attr-defined]
    return {}


def _to_row(kind: str, patient: Patient, entry: BaseModel, vials: int | None = None):
    table, _ = _kind(kind)
    fields = entry.model_dump(exclude={"date"})
    when = entry.date  # type: ignore[attr-defined]
    return table(
        patient_id=patient.id, day=as_date(when), when_iso=when.isoformat(), **fields, **_derived(kind, entry, vials)
    )


def _to_entry(kind: str, row) -> dict[str, Any]:
    _, model = _kind(kind)
    data = {name: getattr(row, name) for name in model.model_fields if name != "date"}
    data["date"] = row.when_iso
    return data


def row_entry(kind: str, row) -> dict[str, Any]:
    """The canonical history entry a stored row holds (JSON-ready)."""
    return _to_entry(kind, row)


def _rows(session: Session, kind: str, patient: Patient, *, voided: bool = False) -> list:
    """The patient's rows of ``kind``, oldest first: the current ones, or the voided ones."""
    table, _ = _kind(kind)
    state = table.voided_at.is_not(None) if voided else table.voided_at.is_(None)
    return list(
        session.scalars(select(table).where(table.patient_id == patient.id, state).order_by(table.day, table.id))
    )


def _history_data(session: Session, patient: Patient) -> dict[str, Any]:
    return _history_from_rows(patient, {kind: _rows(session, kind, patient) for kind in ENTRY_KINDS})


def _history_from_rows(patient: Patient, rows: dict[str, list[Any]]) -> dict[str, Any]:
    """The history's data from the patient and its stored rows by kind (oldest first)."""
    data: dict[str, Any] = {
        "patient": {"id": patient.code, "sex": patient.sex, "birth_year": patient.birth_year},
        "baseline_tnf_pg_ml": patient.baseline_tnf_pg_ml,
    }
    for kind in ENTRY_KINDS:
        data[kind] = [_to_entry(kind, row) for row in rows[kind]]
    return data


def _validated(data: dict[str, Any], entry: BaseModel | None = None) -> PatientHistory:
    """The history, or InputError naming the field (the new entry's date for ordering rules)."""
    try:
        return PatientHistory.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        if err["loc"] or entry is None:
            field = ".".join(str(p) for p in err["loc"]) or "history"
            raise InputError(field, err.get("input"), err["msg"]) from None
        raise InputError("date", entry.date.isoformat(), err["msg"]) from None  # type: ignore[attr-defined]


# ------------------------------------------------------------------------- patients
def _patient(session: Session, code: str, *, lock: bool = False) -> Patient:
    query = select(Patient).where(Patient.code == code)
    patient = session.scalars(query.with_for_update() if lock else query).first()
    if patient is None:
        raise NotFound("patient", code)
    return patient


def create_patient(store: Store, info: PatientInfo, *, user: str, baseline_tnf_pg_ml: float | None = None) -> str:
    check_model(info)
    check_code("id", info.id)
    try:
        with store.transaction() as session:
            if session.scalars(select(Patient.id).where(Patient.code == info.id)).first() is not None:
                raise Conflict("id", info.id, "is already used by another patient")
            patient = Patient(
                code=info.id, sex=info.sex, birth_year=info.birth_year, baseline_tnf_pg_ml=baseline_tnf_pg_ml
            )
            session.add(patient)
            session.flush()
            audit(session, user, "create", "patient", patient.id, info.id, info.model_dump(mode="json"))
    except IntegrityError:  # a concurrent create of the same code
        raise Conflict("id", info.id, "is already used by another patient") from None
    return info.id


class PatientSummary(BaseModel):
    code: str
    sex: str
    birth_year: int
    infusions: int
    last_infusion: date | None


def list_patients(store: Store, search: str = "", limit: int = 200) -> list[PatientSummary]:
    """Patients whose code contains ``search`` (case-insensitive), by code, with the number of
    infusions given (voided ones left out) and the last one's day, counted for the listed
    patients only (correlated subqueries on the (patient_id, voided_at, day) index)."""
    check_value("search", search)
    current = (InfusionRow.patient_id == Patient.id) & InfusionRow.voided_at.is_(None)
    n = select(func.count()).where(current).correlate(Patient).scalar_subquery()
    last = select(func.max(InfusionRow.day)).where(current).correlate(Patient).scalar_subquery()
    query = select(Patient, n, last).order_by(Patient.code).limit(limit)
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(Patient.code).like(f"%{escaped}%", escape="\\"))
    with store.transaction() as session:
        return [
            PatientSummary(code=p.code, sex=p.sex, birth_year=p.birth_year, infusions=n or 0, last_infusion=last)
            for p, n, last in session.execute(query)
        ]


def patient_history(store: Store, code: str) -> PatientHistory:
    """The whole patient as the canonical history (what export writes)."""
    with store.transaction() as session:
        return PatientHistory.model_validate(_history_data(session, _patient(session, code)))


def patient_records(store: Store, code: str) -> tuple[PatientHistory, dict[str, list[Any]]]:
    """The history and the stored rows it was built from (with derived columns: vials,
    scores), by kind, oldest first: what the patient page needs, in one transaction."""
    with store.transaction() as session:
        patient = _patient(session, code)
        rows = {kind: _rows(session, kind, patient) for kind in ENTRY_KINDS}
        data: dict[str, Any] = {
            "patient": {"id": patient.code, "sex": patient.sex, "birth_year": patient.birth_year},
            "baseline_tnf_pg_ml": patient.baseline_tnf_pg_ml,
            **{kind: [_to_entry(kind, row) for row in kind_rows] for kind, kind_rows in rows.items()},
        }
        return PatientHistory.model_validate(data), rows


def histories(store: Store, codes: list[str]) -> dict[str, PatientHistory]:
    """Many patients' histories in one query per kind of entry (not one per patient and kind)."""
    out: dict[str, PatientHistory] = {}
    with store.transaction() as session:
        for i in range(0, len(codes), 500):
            patients = list(session.scalars(select(Patient).where(Patient.code.in_(codes[i : i + 500]))))
            data = {
                p.id: {
                    "patient": {"id": p.code, "sex": p.sex, "birth_year": p.birth_year},
                    "baseline_tnf_pg_ml": p.baseline_tnf_pg_ml,
                    **{kind: [] for kind in ENTRY_KINDS},
                }
                for p in patients
            }
            for kind, (table, model) in ENTRY_KINDS.items():
                columns = [getattr(table, name) for name in model.model_fields if name != "date"]
                query = (
                    select(table.patient_id, table.when_iso, *columns)
                    .where(table.patient_id.in_(list(data)), table.voided_at.is_(None))
                    .order_by(table.patient_id, table.day, table.id)
                )
                names = [c.key for c in columns]
                for row in session.execute(query):
                    entry = dict(zip(names, row[2:]))
                    entry["date"] = row[1]
                    data[row[0]][kind].append(entry)
            out.update({d["patient"]["id"]: PatientHistory.model_validate(d) for d in data.values()})
    return out


def all_histories(store: Store) -> list[PatientHistory]:
    with store.transaction() as session:
        patients = list(session.scalars(select(Patient).order_by(Patient.code)))
        return [PatientHistory.model_validate(_history_data(session, p)) for p in patients]


def entry_rows(store: Store, code: str, kind: str, *, voided: bool = False) -> list:
    """The stored rows of one kind (with derived columns: vials, scores), oldest first;
    ``voided``: the voided ones instead (kept for the record, not in the history)."""
    with store.transaction() as session:
        return _rows(session, kind, _patient(session, code), voided=voided)


# ------------------------------------------------------------- write-time checks
_LABELS = {
    "weights": "weight",
    "infusions": "infusion",
    "levels": "drug level",
    "ada": "ADA result",
    "labs": "lab result",
    "mtx": "MTX dose",
    "assessments": "assessment",
}


def _comparable(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in entry.items()}


def check_new_entry(data: dict[str, Any], kind: str, entry: BaseModel, today: date | None) -> None:
    """Refuse, naming the field, an entry dated after ``today`` or before the patient's birth
    year, one identical to an entry already recorded, a second infusion on one day, or a
    weight outside the adult range the decision engine accepts (``data``: the history without
    it). Checked when an entry is written, not when stored rows are read: rows recorded before a
    check existed stay readable (and correctable)."""
    when = entry.date  # type: ignore[attr-defined]
    day = as_date(when)
    if today is not None and day > today:
        raise InputError("date", when.isoformat(), f"a date not after today ({today.isoformat()})")
    birth_year = data.get("patient", {}).get("birth_year")
    if birth_year is not None and day.year < birth_year:
        raise InputError("date", when.isoformat(), f"a date not before the patient's birth year ({birth_year})")
    if kind == "weights":  # the decision engine refuses every recommendation for a weight outside it
        check_adult_weight("weight_kg", entry.weight_kg)  # type: ignore[attr-defined]
    new = _comparable(entry.model_dump())
    if any(_comparable(dict(existing)) == new for existing in data[kind]):
        raise InputError(
            "date",
            when.isoformat(),
            f"this {_LABELS[kind]} is already recorded (amend or void the recorded one instead)",
        )
    if kind == "infusions":
        same_day = [e for e in data[kind] if as_date(_parse_when(e["date"])) == day]
        if same_day:
            raise InputError(
                "date",
                when.isoformat(),
                f"one infusion per day: an infusion is already "
                f"recorded on {day.isoformat()} (amend or void it instead)",
            )


def _parse_when(value: Any) -> date | datetime:
    if isinstance(value, (date, datetime)):
        return value
    text = str(value)
    return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)


def _done_request(session: Session, request_id: str | None) -> list[int] | None:
    if not request_id:
        return None
    done = session.get(WriteRequest, request_id)
    return list(done.result.get("ids", [])) if done is not None else None


# -------------------------------------------------------------------------- writes
def add_entries(
    store: Store,
    code: str,
    entries: list[tuple[str, BaseModel, int | None]],
    *,
    user: str,
    today: date | None = None,
    request_id: str | None = None,
) -> list[int]:
    """Record several entries at once (all or none): ``[(kind, entry, vials), ...]``.
    ``today``: refuse entries dated later; ``request_id``: a repeat returns the first ids."""
    if request_id is not None:
        check_value("request_id", request_id)
        if not 8 <= len(request_id) <= 64:
            raise InputError("request_id", request_id[:20], "8 to 64 characters")
    checked = []
    for kind, entry, vials in entries:
        _, model = _kind(kind)
        if not isinstance(entry, model):
            entry = model.model_validate(entry.model_dump() if isinstance(entry, BaseModel) else entry)
        check_model(entry)
        checked.append((kind, entry, vials))
    with store.transaction() as session:
        patient = _patient(session, code, lock=True)
        done = _done_request(session, request_id)
        if done is not None:
            return done
        data = _history_data(session, patient)
        ids = []
        for kind, entry, vials in checked:
            check_new_entry(data, kind, entry, today)
            data[kind].append(entry.model_dump())
            _validated(data, entry)
            row = _to_row(kind, patient, entry, vials)
            session.add(row)
            session.flush()
            audit(session, user, "create", kind, row.id, code, entry.model_dump(mode="json"))
            ids.append(row.id)
        if request_id:
            session.add(WriteRequest(request_id=request_id, patient_code=code, result={"ids": ids}))
        return ids


def _active_row(session: Session, kind: str, patient: Patient, row_id: int):
    table, _ = _kind(kind)
    row = session.scalars(select(table).where(table.id == row_id, table.patient_id == patient.id)).first()
    if row is None:
        raise NotFound(_LABELS[kind], row_id)
    if row.voided_at is not None:
        raise Conflict("id", row_id, f"was voided by {row.voided_by} on {row.voided_at:%Y-%m-%d}")
    return row


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    check_value("reason", reason)
    if not reason:
        raise InputError("reason", reason, "a reason is required to void or amend an entry")
    return reason


def _void_row(session, kind: str, patient, row_id: int, user: str, reason: str):
    """Mark an active entry row voided (kept, with who, when, why); returns it and its entry before."""
    row = _active_row(session, kind, patient, row_id)
    before = _comparable(_to_entry(kind, row))
    row.voided_at, row.voided_by, row.void_reason = datetime.now(timezone.utc), user, reason
    session.flush()
    return row, before


def void_entry(store: Store, code: str, kind: str, row_id: int, *, user: str, reason: str) -> None:
    """Void an entry: kept with who, when and why, left out of the history from now on."""
    reason = _reason(reason)
    with store.transaction() as session:
        patient = _patient(session, code, lock=True)
        row, before = _void_row(session, kind, patient, row_id, user, reason)
        _validated(_history_data(session, patient))
        audit(session, user, "void", kind, row.id, code, {"reason": reason, "before": before})


def amend_entry(
    store: Store,
    code: str,
    kind: str,
    row_id: int,
    entry: BaseModel,
    *,
    user: str,
    reason: str,
    vials: int | None = None,
    today: date | None = None,
) -> int:
    """Correct an entry: the old row is voided (kept), a new row names it; returns the new id."""
    reason = _reason(reason)
    _, model = _kind(kind)
    if not isinstance(entry, model):
        entry = model.model_validate(entry.model_dump() if isinstance(entry, BaseModel) else entry)
    check_model(entry)
    with store.transaction() as session:
        patient = _patient(session, code, lock=True)
        row, before = _void_row(session, kind, patient, row_id, user, reason)
        data = _history_data(session, patient)
        check_new_entry(data, kind, entry, today)
        data[kind].append(entry.model_dump())
        _validated(data, entry)
        new = _to_row(kind, patient, entry, vials)
        new.amends_id = row.id
        session.add(new)
        session.flush()
        audit(
            session,
            user,
            "amend",
            kind,
            new.id,
            code,
            {"reason": reason, "amends": row.id, "before": before, "after": entry.model_dump(mode="json")},
        )
        return new.id


def add_entry(store: Store, code: str, kind: str, entry: BaseModel, *, user: str, vials: int | None = None) -> int:
    """Record one entry (a weight, infusion, level, ADA result, lab, MTX dose or assessment)."""
    return add_entries(store, code, [(kind, entry, vials)], user=user)[0]


def set_baseline_tnf(store: Store, code: str, tnf_pg_ml: float | None, *, user: str) -> None:
    if tnf_pg_ml is not None:
        check_range("baseline_tnf_pg_ml", tnf_pg_ml, 0, 1000, unit="pg/mL")
    with store.transaction() as session:
        patient = _patient(session, code, lock=True)
        patient.baseline_tnf_pg_ml = tnf_pg_ml
        audit(session, user, "update", "patient", patient.id, code, {"baseline_tnf_pg_ml": tnf_pg_ml})


OnExisting = Literal["refuse", "merge", "replace"]


def import_history(
    store: Store, history: PatientHistory, *, user: str, replace: bool = False, on_existing: OnExisting | None = None
) -> str:
    """Store a whole patient from its canonical history. For a patient already stored:
    ``refuse`` (default; Conflict), ``merge`` (add the imported entries not already recorded,
    keep every recorded one; the patient's sex and birth year must agree) or ``replace``
    (``replace=True``: every recorded entry is voided, not deleted, and the imported ones
    stored; the audit row keeps the replaced history)."""
    mode: OnExisting = on_existing or ("replace" if replace else "refuse")
    check_model(history)
    code = history.patient.id
    check_code("patient.id", code)
    with store.transaction() as session:
        existing = session.scalars(select(Patient).where(Patient.code == code).with_for_update()).first()
        if existing is None:
            patient = Patient(
                code=code,
                sex=history.patient.sex,
                birth_year=history.patient.birth_year,
                baseline_tnf_pg_ml=history.baseline_tnf_pg_ml,
            )
            session.add(patient)
            session.flush()
            for kind in ENTRY_KINDS:
                session.add_all(_to_row(kind, patient, entry) for entry in getattr(history, kind))
            audit(
                session,
                user,
                "import",
                "patient",
                patient.id,
                code,
                {kind: len(getattr(history, kind)) for kind in ENTRY_KINDS},
            )
            return code
        if mode == "refuse":
            raise Conflict(
                "patient.id",
                code,
                "exists; import with merge (add new entries) or replace (void the recorded entries) to change it",
            )
        before = _history_data(session, existing)
        if mode == "merge":
            _merge(session, existing, history, before, user)
        else:
            _replace(session, existing, history, before, user)
    return code


def _merge(session: Session, patient: Patient, history: PatientHistory, before: dict[str, Any], user: str) -> None:
    for name, stored, given in (
        ("patient.sex", patient.sex, history.patient.sex),
        ("patient.birth_year", patient.birth_year, history.patient.birth_year),
    ):
        if stored != given:
            raise Conflict(
                name,
                given,
                f"differs from the stored patient ({stored}); import with replace if the stored value is wrong",
            )
    if history.baseline_tnf_pg_ml is not None and patient.baseline_tnf_pg_ml is None:
        patient.baseline_tnf_pg_ml = history.baseline_tnf_pg_ml
    data = {**before, **{kind: list(before[kind]) for kind in ENTRY_KINDS}}
    added: dict[str, int] = {}
    for kind in ENTRY_KINDS:
        known = [_comparable(dict(e)) for e in before[kind]]
        new = [e for e in getattr(history, kind) if _comparable(e.model_dump()) not in known]
        data[kind].extend(e.model_dump() for e in new)
        session.add_all(_to_row(kind, patient, entry) for entry in new)
        added[kind] = len(new)
    _validated(data)
    session.flush()
    audit(session, user, "merge", "patient", patient.id, patient.code, {"added": added})


def _replace(session: Session, patient: Patient, history: PatientHistory, before: dict[str, Any], user: str) -> None:
    now = datetime.now(timezone.utc)
    for kind in ENTRY_KINDS:
        for row in _rows(session, kind, patient):
            row.voided_at, row.voided_by, row.void_reason = now, user, "replaced by an import"
    patient.sex, patient.birth_year = history.patient.sex, history.patient.birth_year
    patient.baseline_tnf_pg_ml = history.baseline_tnf_pg_ml
    session.flush()
    for kind in ENTRY_KINDS:
        session.add_all(_to_row(kind, patient, entry) for entry in getattr(history, kind))
    audit(
        session,
        user,
        "replace",
        "patient",
        patient.id,
        patient.code,
        {
            "counts": {kind: len(getattr(history, kind)) for kind in ENTRY_KINDS},
            "replaced": PatientHistory.model_validate(before).model_dump(mode="json"),
        },
    )
