"""Patients and their entries: create, record, read back as the canonical history.

Entry tables mirror ``PatientHistory`` field for field (``tables.py``), so one generic
copy serves recording, export and import. Every write locks the patient row (PostgreSQL;
SQLite transactions are already exclusive), checks that the history stays valid, and adds
its audit row in the same transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ifxdose.adapters.store.audit import audit
from ifxdose.adapters.store.checks import check_code, check_model, check_value
from ifxdose.adapters.store.db import Store
from ifxdose.adapters.store.errors import Conflict, NotFound
from ifxdose.adapters.store.tables import (
    AdaRow, AssessmentRow, InfusionRow, LabRow, LevelRow, MtxRow, Patient, WeightRow,
)
from ifxdose.core.errors import InputError, check_range
from ifxdose.domain.clinic import assessment_scores
from ifxdose.domain.patient import (
    AdaResult, Infusion, JointAssessment, LabEntry, Level, MtxEntry, PatientHistory, PatientInfo,
    WeightEntry, as_date,
)
from ifxdose.domain.vials import round_to_vials

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
    return table(patient_id=patient.id, day=as_date(when), when_iso=when.isoformat(), **fields,
                 **_derived(kind, entry, vials))


def _to_entry(kind: str, row) -> dict[str, Any]:
    _, model = _kind(kind)
    data = {name: getattr(row, name) for name in model.model_fields if name != "date"}
    data["date"] = row.when_iso
    return data


def _rows(session: Session, kind: str, patient: Patient) -> list:
    table, _ = _kind(kind)
    return list(session.scalars(select(table).where(table.patient_id == patient.id)
                                .order_by(table.day, table.id)))


def _history_data(session: Session, patient: Patient) -> dict[str, Any]:
    data: dict[str, Any] = {
        "patient": {"id": patient.code, "sex": patient.sex, "birth_year": patient.birth_year},
        "baseline_tnf_pg_ml": patient.baseline_tnf_pg_ml,
    }
    for kind in ENTRY_KINDS:
        data[kind] = [_to_entry(kind, row) for row in _rows(session, kind, patient)]
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
            patient = Patient(code=info.id, sex=info.sex, birth_year=info.birth_year,
                              baseline_tnf_pg_ml=baseline_tnf_pg_ml)
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
    """Patients whose code contains ``search`` (case-insensitive), by code."""
    check_value("search", search)
    counts = (select(InfusionRow.patient_id, func.count().label("n"), func.max(InfusionRow.day).label("last"))
              .group_by(InfusionRow.patient_id).subquery())
    query = (select(Patient, counts.c.n, counts.c.last).outerjoin(counts, counts.c.patient_id == Patient.id)
             .order_by(Patient.code).limit(limit))
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(Patient.code).like(f"%{escaped}%", escape="\\"))
    with store.transaction() as session:
        return [PatientSummary(code=p.code, sex=p.sex, birth_year=p.birth_year, infusions=n or 0, last_infusion=last)
                for p, n, last in session.execute(query)]


def patient_history(store: Store, code: str) -> PatientHistory:
    """The whole patient as the canonical history (what export writes)."""
    with store.transaction() as session:
        return PatientHistory.model_validate(_history_data(session, _patient(session, code)))


def all_histories(store: Store) -> list[PatientHistory]:
    with store.transaction() as session:
        patients = list(session.scalars(select(Patient).order_by(Patient.code)))
        return [PatientHistory.model_validate(_history_data(session, p)) for p in patients]


def entry_rows(store: Store, code: str, kind: str) -> list:
    """The stored rows of one kind (with derived columns: vials, scores), oldest first."""
    with store.transaction() as session:
        return _rows(session, kind, _patient(session, code))


# -------------------------------------------------------------------------- writes
def add_entries(store: Store, code: str, entries: list[tuple[str, BaseModel, int | None]], *, user: str) -> list[int]:
    """Record several entries at once (all or none): ``[(kind, entry, vials), ...]``."""
    checked = []
    for kind, entry, vials in entries:
        _, model = _kind(kind)
        if not isinstance(entry, model):
            entry = model.model_validate(entry.model_dump() if isinstance(entry, BaseModel) else entry)
        check_model(entry)
        checked.append((kind, entry, vials))
    with store.transaction() as session:
        patient = _patient(session, code, lock=True)
        data = _history_data(session, patient)
        ids = []
        for kind, entry, vials in checked:
            data[kind].append(entry.model_dump())
            _validated(data, entry)
            row = _to_row(kind, patient, entry, vials)
            session.add(row)
            session.flush()
            audit(session, user, "create", kind, row.id, code, entry.model_dump(mode="json"))
            ids.append(row.id)
        return ids


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


def import_history(store: Store, history: PatientHistory, *, user: str, replace: bool = False) -> str:
    """Store a whole patient from its canonical history; ``replace`` an existing one's entries."""
    check_model(history)
    code = history.patient.id
    check_code("patient.id", code)
    with store.transaction() as session:
        existing = session.scalars(select(Patient).where(Patient.code == code).with_for_update()).first()
        if existing is not None and not replace:
            raise Conflict("patient.id", code, "exists; import with replace to overwrite its entries")
        if existing is not None:
            for kind, (table, _) in ENTRY_KINDS.items():
                for row in _rows(session, kind, existing):
                    session.delete(row)
            existing.sex, existing.birth_year = history.patient.sex, history.patient.birth_year
            existing.baseline_tnf_pg_ml = history.baseline_tnf_pg_ml
            patient = existing
        else:
            patient = Patient(code=code, sex=history.patient.sex, birth_year=history.patient.birth_year,
                              baseline_tnf_pg_ml=history.baseline_tnf_pg_ml)
            session.add(patient)
        session.flush()
        for kind in ENTRY_KINDS:
            session.add_all(_to_row(kind, patient, entry) for entry in getattr(history, kind))
        audit(session, user, "replace" if existing is not None else "import", "patient", patient.id, code,
              {kind: len(getattr(history, kind)) for kind in ENTRY_KINDS})
    return code
